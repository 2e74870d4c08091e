package connect

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/connect/converter"
)

// taskRunner runs one task in its own goroutine (run); its state is read by Status under mu.
type taskRunner struct {
	cs     *connState
	id     int
	config map[string]string

	mu     sync.Mutex
	state  string
	trace  string
	paused bool
	wake   chan struct{} // signalled when paused changes

	cancel context.CancelFunc
	done   chan struct{}
}

func (t *taskRunner) status() TaskStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	return TaskStatus{ID: t.id, State: t.state, WorkerID: t.cs.w.cfg.ID, Trace: t.trace}
}

func (t *taskRunner) setState(s string, err error) {
	trace := ""
	if err != nil {
		trace = err.Error()
	}
	t.mu.Lock()
	t.state, t.trace = s, trace
	t.mu.Unlock()
	t.cs.w.met.setState(t.cs.name, strconv.Itoa(t.id), s)
	t.cs.w.hooks.state(t.cs.name, t.id, s, trace)
}

// timeCommit records an offset commit that started at start and ended with *err.
func (t *taskRunner) timeCommit(start time.Time, err *error) {
	if *err != nil {
		t.cs.w.met.offsetCommitErr.WithLabelValues(t.labels()...).Inc()
		return
	}
	t.cs.w.met.offsetCommit.WithLabelValues(t.labels()...).Observe(time.Since(start).Seconds())
}

// noteTopic records a topic the task used for the first time (GET /connectors/{c}/topics).
func (t *taskRunner) noteTopic(topic string) {
	t.cs.noteTopic(topic)
	if h := t.cs.w.hooks.onTopic; h != nil {
		h(t.cs.name, topic, t.id)
	}
}

// labels are the task's metric labels.
func (t *taskRunner) labels() []string { return []string{t.cs.name, strconv.Itoa(t.id)} }

func (t *taskRunner) setPaused(p bool) {
	t.mu.Lock()
	t.paused = p
	if t.state == StateRunning || t.state == StatePaused {
		t.state = StateRunning
		if p {
			t.state = StatePaused
		}
	}
	state := t.state
	t.mu.Unlock()
	t.cs.w.met.setState(t.cs.name, strconv.Itoa(t.id), state)
	t.cs.w.hooks.state(t.cs.name, t.id, state, "")
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (t *taskRunner) isPaused() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.paused
}

func (t *taskRunner) start(paused bool) {
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel, t.done, t.wake = cancel, make(chan struct{}), make(chan struct{}, 1)
	t.paused = paused
	t.setState(StateRunning, nil)
	if paused {
		t.setState(StatePaused, nil)
	}
	go func() {
		defer close(t.done)
		var err error
		defer func() {
			// A connector's bug fails its task, not the worker.
			if p := recover(); p != nil {
				t.setState(StateFailed, fmt.Errorf("panic: %v\n%s", p, debug.Stack()))
				t.cs.w.log.Error("task panicked", "connector", t.cs.name, "task", t.id, "panic", p)
			}
		}()
		if t.cs.plugin.Kind == Source {
			err = t.runSource(ctx)
		} else {
			err = t.runSink(ctx)
		}
		if err != nil && ctx.Err() == nil {
			t.setState(StateFailed, err)
			t.cs.w.log.Error("task failed", "connector", t.cs.name, "task", t.id, "err", err)
			return
		}
		t.setState(StateUnassigned, nil)
	}()
}

func (t *taskRunner) stop() {
	if t.cancel == nil {
		return
	}
	t.cancel()
	<-t.done
}

// waitUnpaused blocks while the task is paused; false when ctx ends.
func (t *taskRunner) waitUnpaused(ctx context.Context) bool {
	for t.isPaused() {
		select {
		case <-t.wake:
		case <-ctx.Done():
			return false
		}
	}
	return ctx.Err() == nil
}

type taskConverters struct {
	key, value converter.Converter
}

func (t *taskRunner) converters() (taskConverters, error) {
	var c taskConverters
	var err error
	if c.key, err = t.cs.w.converter(t.config, "key"); err != nil {
		return c, err
	}
	c.value, err = t.cs.w.converter(t.config, "value")
	return c, err
}

// manualPartition marks a record whose partition the source task chose.
type manualPartitionKey struct{}

// sourcePartitioner uses the partition a source record names, else murmur2 of the key (or
// sticky for a nil key), as Kafka's default producer partitioner.
type sourcePartitioner struct{ dflt kgo.Partitioner }

func (p sourcePartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return sourceTopicPartitioner{p.dflt.ForTopic(topic)}
}

type sourceTopicPartitioner struct{ dflt kgo.TopicPartitioner }

func (p sourceTopicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return r.Context != nil && r.Context.Value(manualPartitionKey{}) != nil || p.dflt.RequiresConsistency(r)
}

func (p sourceTopicPartitioner) Partition(r *kgo.Record, n int) int {
	if r.Context != nil {
		if v, ok := r.Context.Value(manualPartitionKey{}).(int32); ok {
			return int(v) % n
		}
	}
	return p.dflt.Partition(r, n)
}

// sourceMaxBuffered bounds the records a source task's producer holds unacknowledged.
const sourceMaxBuffered = 10_000

// runSource polls the task, produces what it returns, and every offset.flush.interval.ms
// flushes the producer and commits the source offsets of everything produced before the flush.
func (t *taskRunner) runSource(ctx context.Context) error {
	w := t.cs.w
	conv, err := t.converters()
	if err != nil {
		return err
	}
	eos, err := t.exactlyOnce()
	if err != nil {
		return err
	}
	popts := []kgo.Opt{kgo.RecordPartitioner(sourcePartitioner{kgo.StickyKeyPartitioner(nil)}),
		kgo.ClientID(fmt.Sprintf("connector-producer-%s-%d", t.cs.name, t.id)),
		kgo.ProducerLinger(5 * time.Millisecond),
		// Back-pressure: with this many records not yet acknowledged Produce blocks, and so
		// the task is not polled again until the cluster catches up.
		kgo.MaxBufferedRecords(sourceMaxBuffered),
		// As Kafka's producer: a topic a source writes first is created by the broker
		// (auto.create.topics.enable) with its defaults.
		kgo.AllowAutoTopicCreation()}
	if eos != nil {
		popts = append(popts, eos.opts()...)
	}
	cl, err := kgo.NewClient(w.clientOpts(popts...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	chain, err := NewChain(t.config)
	if err != nil {
		return err
	}
	errs := newErrorHandler(t, false)
	defer errs.close()
	if eos != nil {
		if err := eos.fence(ctx, cl); err != nil {
			return err
		}
	}
	task := t.cs.plugin.NewSourceTask()
	if err := task.Start(sourceTaskContext{t}, maps.Clone(t.config)); err != nil {
		return fmt.Errorf("starting the task: %w", err)
	}
	defer task.Stop()

	var (
		produceErr error
		errMu      sync.Mutex
		pending    = map[string]OffsetEntry{} // latest offset per partition handed to the producer
		lastFlush  = time.Now()
		seenTopics = map[string]bool{}
	)
	met := w.met
	polled, written := met.sourcePolled.WithLabelValues(t.labels()...), met.sourceWritten.WithLabelValues(t.labels()...)
	getProduceErr := func() error {
		errMu.Lock()
		defer errMu.Unlock()
		return produceErr
	}
	var (
		inTxn    bool // exactly-once: a transaction is open
		txnStart time.Time
	)
	commit := func(ctx context.Context) (err error) {
		if eos != nil && !inTxn {
			return nil
		}
		if eos == nil && len(pending) == 0 {
			return nil
		}
		defer t.timeCommit(time.Now(), &err)
		entries := make([]OffsetEntry, 0, len(pending))
		for _, e := range pending {
			entries = append(entries, e)
		}
		if eos != nil {
			inTxn = false
			if err := eos.commit(ctx, cl, t.cs.name, entries, getProduceErr); err != nil {
				return err
			}
		} else {
			if err := cl.Flush(ctx); err != nil {
				return err
			}
			if perr := getProduceErr(); perr != nil {
				return perr
			}
			if err := w.cfg.Offsets.Commit(t.cs.name, entries); err != nil {
				return fmt.Errorf("committing offsets: %w", err)
			}
		}
		clear(pending)
		return task.Commit()
	}
	defer func() {
		// A final commit of what was acknowledged, with a bounded wait.
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := commit(fctx); err != nil {
			w.log.Warn("final offset commit of a source task", "connector", t.cs.name, "task", t.id, "err", err)
		}
	}()
	for {
		if eos != nil && inTxn && (t.isPaused() || time.Since(txnStart) >= eos.interval) {
			// Interval boundary reached, or pausing: commit what is open first.
			if err := commit(ctx); err != nil {
				return err
			}
		}
		if !t.waitUnpaused(ctx) {
			return nil
		}
		if eos == nil && time.Since(lastFlush) >= w.flushInterval() {
			if err := commit(ctx); err != nil {
				return err
			}
			lastFlush = time.Now()
		}
		recs, err := task.Poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("poll: %w", err)
		}
		polled.Add(float64(len(recs)))
		if eos != nil && len(recs) > 0 && !inTxn {
			if err := cl.BeginTransaction(); err != nil {
				return fmt.Errorf("beginning a transaction: %w", err)
			}
			inTxn, txnStart = true, time.Now()
		}
		for i := range recs {
			r := &recs[i]
			if len(chain) > 0 {
				var tr *Record
				err := errs.retry(ctx, func() (err error) {
					tr, err = chain.Apply(sourceToRecord(r))
					return err
				})
				if err != nil {
					if err := errs.tolerate(nil, "TRANSFORMATION", err); err != nil {
						return err
					}
					tr = nil
				}
				if tr != nil {
					recordToSource(tr, r)
				} else {
					r = nil // dropped; its offset still counts
				}
			}
			var kr *kgo.Record
			if r != nil {
				if err = errs.retry(ctx, func() (err error) {
					kr, err = t.toKafka(conv, r)
					return err
				}); err != nil {
					if err := errs.tolerate(nil, "CONVERTER", err); err != nil {
						return err
					}
					r = nil
				}
			}
			if r != nil {
				if !seenTopics[r.Topic] {
					seenTopics[r.Topic] = true
					t.noteTopic(r.Topic)
				}
				topic := r.Topic
				written.Inc()
				cl.Produce(ctx, kr, func(_ *kgo.Record, err error) {
					if err != nil {
						errMu.Lock()
						if produceErr == nil {
							produceErr = fmt.Errorf("producing to %s: %w", topic, err)
						}
						errMu.Unlock()
					}
				})
			}
			if r = &recs[i]; r.SourcePartition != nil {
				k, err := offsetKey(t.cs.name, r.SourcePartition)
				if err != nil {
					return err
				}
				pending[k] = OffsetEntry{Partition: r.SourcePartition, Offset: r.SourceOffset}
			}
		}
		if perr := getProduceErr(); perr != nil {
			return perr
		}
		if eos != nil && inTxn && eos.interval == 0 {
			if err := commit(ctx); err != nil { // transaction.boundary=poll
				return err
			}
		}
	}
}

func (t *taskRunner) toKafka(conv taskConverters, r *SourceRecord) (*kgo.Record, error) {
	if r.Topic == "" {
		return nil, errors.New("a source record without a topic")
	}
	key, err := conv.key.FromConnect(r.Topic, r.KeySchema, r.Key)
	if err != nil {
		return nil, fmt.Errorf("converting a key for %s: %w", r.Topic, err)
	}
	value, err := conv.value.FromConnect(r.Topic, r.ValueSchema, r.Value)
	if err != nil {
		return nil, fmt.Errorf("converting a value for %s: %w", r.Topic, err)
	}
	kr := &kgo.Record{Topic: r.Topic, Key: key, Value: value}
	if r.Timestamp > 0 {
		kr.Timestamp = time.UnixMilli(r.Timestamp)
	}
	for _, h := range r.Headers {
		kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	if r.Partition != nil {
		kr.Context = context.WithValue(context.Background(), manualPartitionKey{}, *r.Partition)
	}
	return kr, nil
}

type sourceTaskContext struct{ t *taskRunner }

func (c sourceTaskContext) Offsets() OffsetReader {
	return offsetReader{store: c.t.cs.w.cfg.Offsets, connector: c.t.cs.name}
}

// sinkGroup is a sink connector's consumer group id, as Kafka Connect names it.
func sinkGroup(connector string) string { return "connect-" + connector }

// runSink consumes the connector's topics in its group and hands the records to the task;
// every offset.flush.interval.ms (and when partitions are revoked) it flushes the task and
// commits the offsets of what it was given.
func (t *taskRunner) runSink(ctx context.Context) error {
	w := t.cs.w
	conv, err := t.converters()
	if err != nil {
		return err
	}
	chain, err := NewChain(t.config)
	if err != nil {
		return err
	}
	errs := newErrorHandler(t, true)
	defer errs.close()
	task := t.cs.plugin.NewSinkTask()
	sctx := &sinkTaskContext{}
	var (
		mu        sync.Mutex
		consumed  = map[TopicPartition]int64{} // next offset to commit per partition
		lastFlush = time.Now()
	)
	var cl *kgo.Client
	met := w.met
	read, sent := met.sinkRead.WithLabelValues(t.labels()...), met.sinkSent.WithLabelValues(t.labels()...)
	flush := func(ctx context.Context, cl *kgo.Client) (err error) {
		mu.Lock()
		offs := maps.Clone(consumed)
		mu.Unlock()
		if len(offs) == 0 {
			return nil
		}
		defer t.timeCommit(time.Now(), &err)
		if err := task.Flush(offs); err != nil {
			return fmt.Errorf("flush: %w", err)
		}
		commit := map[string]map[int32]kgo.EpochOffset{}
		for tp, off := range offs {
			if commit[tp.Topic] == nil {
				commit[tp.Topic] = map[int32]kgo.EpochOffset{}
			}
			commit[tp.Topic][tp.Partition] = kgo.EpochOffset{Epoch: -1, Offset: off}
		}
		var cerr error
		cl.CommitOffsetsSync(ctx, commit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				cerr = err
				return
			}
			for _, topic := range resp.Topics {
				for _, p := range topic.Partitions {
					if p.ErrorCode != 0 && cerr == nil {
						cerr = fmt.Errorf("committing %s-%d: error code %d", topic.Topic, p.Partition, p.ErrorCode)
					}
				}
			}
		})
		if cerr == nil {
			mu.Lock()
			for tp, off := range offs {
				if consumed[tp] == off {
					delete(consumed, tp)
				}
			}
			mu.Unlock()
		}
		return cerr
	}
	opts := []kgo.Opt{kgo.ConsumerGroup(sinkGroup(t.cs.name)), kgo.DisableAutoCommit(),
		kgo.ClientID(fmt.Sprintf("connector-consumer-%s-%d", t.cs.name, t.id)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) { sctx.add(a) }),
		kgo.OnPartitionsRevoked(func(ctx context.Context, c *kgo.Client, r map[string][]int32) {
			if err := flush(ctx, c); err != nil {
				w.log.Warn("flush on revocation", "connector", t.cs.name, "task", t.id, "err", err)
			}
			sctx.remove(r)
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, l map[string][]int32) { sctx.remove(l) }),
	}
	// Kafka Connect passes the worker's consumer.* settings to sink consumers; these two
	// decide how fast a dead worker's sink partitions move to the other tasks.
	if ms, err := intProp(w.cfg.Props, "consumer.session.timeout.ms", 0); err != nil {
		return err
	} else if ms > 0 {
		opts = append(opts, kgo.SessionTimeout(time.Duration(ms)*time.Millisecond))
	}
	if ms, err := intProp(w.cfg.Props, "consumer.heartbeat.interval.ms", 0); err != nil {
		return err
	} else if ms > 0 {
		opts = append(opts, kgo.HeartbeatInterval(time.Duration(ms)*time.Millisecond))
	}
	if re := t.config["topics.regex"]; re != "" {
		if _, err := regexp.Compile(re); err != nil {
			return fmt.Errorf("topics.regex: %w", err)
		}
		opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(re))
	} else {
		var topics []string
		for _, s := range strings.Split(t.config["topics"], ",") {
			if s = strings.TrimSpace(s); s != "" {
				topics = append(topics, s)
			}
		}
		if len(topics) == 0 {
			return errors.New("a sink connector needs topics or topics.regex")
		}
		opts = append(opts, kgo.ConsumeTopics(topics...))
	}
	if cl, err = kgo.NewClient(w.clientOpts(opts...)...); err != nil {
		return err
	}
	defer cl.Close()
	if err := task.Start(sctx, maps.Clone(t.config)); err != nil {
		return fmt.Errorf("starting the task: %w", err)
	}
	defer func() {
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := flush(fctx, cl); err != nil {
			w.log.Warn("final flush of a sink task", "connector", t.cs.name, "task", t.id, "err", err)
		}
		task.Stop()
		cl.LeaveGroup()
	}()
	seenTopics := map[string]bool{}
	paused := false
	for {
		if p := t.isPaused(); p != paused {
			paused = p
			if p {
				cl.PauseFetchTopics(cl.GetConsumeTopics()...)
			} else {
				cl.ResumeFetchTopics(cl.PauseFetchTopics()...)
			}
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fetches := cl.PollRecords(pctx, 500)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err := fetchErr(fetches); err != nil {
			return err
		}
		var batch []SinkRecord
		var convErr error
		next := map[TopicPartition]int64{}
		fetches.EachRecord(func(r *kgo.Record) {
			if convErr != nil {
				return
			}
			next[TopicPartition{r.Topic, r.Partition}] = r.Offset + 1
			var sr *SinkRecord
			var stage string
			err := errs.retry(ctx, func() (err error) {
				sr, stage, err = t.toSink(conv, chain, r)
				return err
			})
			if err != nil {
				// errors.tolerance=all: the record is skipped (and sent to the dead letter
				// queue, if there is one); none: the task fails.
				if convErr = errs.tolerate(r, stage, err); convErr != nil {
					return
				}
				return
			}
			if sr == nil {
				return // dropped by a transform; its offset still counts
			}
			batch = append(batch, *sr)
			if !seenTopics[r.Topic] {
				seenTopics[r.Topic] = true
				t.noteTopic(r.Topic)
			}
		})
		if convErr != nil {
			return convErr
		}
		read.Add(float64(fetches.NumRecords()))
		if len(batch) > 0 {
			if err := task.Put(batch); err != nil {
				return fmt.Errorf("put: %w", err)
			}
			sent.Add(float64(len(batch)))
		}
		mu.Lock()
		for tp, off := range next {
			consumed[tp] = off
		}
		mu.Unlock()
		if time.Since(lastFlush) >= w.flushInterval() {
			if err := flush(ctx, cl); err != nil && ctx.Err() == nil {
				return err
			}
			lastFlush = time.Now()
		}
	}
}

// fetchErr is the first fetch error that is not a transient one.
func fetchErr(f kgo.Fetches) error {
	var first error
	f.EachError(func(topic string, p int32, err error) {
		if first != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return
		}
		if errors.Is(err, kgo.ErrClientClosed) {
			first = err
			return
		}
		var ke interface{ Retriable() bool }
		if errors.As(err, &ke) && ke.Retriable() {
			return
		}
		first = fmt.Errorf("fetching %s-%d: %w", topic, p, err)
	})
	return first
}

type sinkTaskContext struct {
	mu sync.Mutex
	a  map[TopicPartition]struct{}
}

func (c *sinkTaskContext) add(m map[string][]int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.a == nil {
		c.a = map[TopicPartition]struct{}{}
	}
	for t, ps := range m {
		for _, p := range ps {
			c.a[TopicPartition{t, p}] = struct{}{}
		}
	}
}

func (c *sinkTaskContext) remove(m map[string][]int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for t, ps := range m {
		for _, p := range ps {
			delete(c.a, TopicPartition{t, p})
		}
	}
}

func (c *sinkTaskContext) Assignment() []TopicPartition {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []TopicPartition
	for tp := range c.a {
		out = append(out, tp)
	}
	return out
}

// sinkOffsets are the committed offsets of a sink connector's consumer group, in KIP-875's
// shape ({"kafka_topic", "kafka_partition"} → {"kafka_offset"}).
func (cs *connState) sinkOffsets() ([]OffsetEntry, error) {
	cl, err := kgo.NewClient(cs.w.clientOpts()...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).FetchOffsets(ctx, sinkGroup(cs.name))
	if err != nil {
		return nil, err
	}
	out := []OffsetEntry{}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.At >= 0 {
			out = append(out, OffsetEntry{
				Partition: map[string]any{"kafka_topic": o.Topic, "kafka_partition": float64(o.Partition)},
				Offset:    map[string]any{"kafka_offset": float64(o.At)},
			})
		}
	})
	return out, nil
}

// alterSinkOffsets commits (or deletes, for nil offsets) a stopped sink connector's group
// offsets.
func (cs *connState) alterSinkOffsets(entries []OffsetEntry) error {
	cl, err := kgo.NewClient(cs.w.clientOpts()...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	set := kadm.Offsets{}
	del := kadm.TopicsSet{}
	for _, e := range entries {
		topic, _ := e.Partition["kafka_topic"].(string)
		part, ok := e.Partition["kafka_partition"].(float64)
		if topic == "" || !ok {
			return fmt.Errorf("%w: a sink connector's partition is {\"kafka_topic\": ..., \"kafka_partition\": ...}", ErrBadConfig)
		}
		if e.Offset == nil {
			del.Add(topic, int32(part))
			continue
		}
		off, ok := e.Offset["kafka_offset"].(float64)
		if !ok || off < 0 {
			return fmt.Errorf("%w: a sink connector's offset is {\"kafka_offset\": a non-negative number}", ErrBadConfig)
		}
		set.Add(kadm.Offset{Topic: topic, Partition: int32(part), At: int64(off), LeaderEpoch: -1})
	}
	if len(set) > 0 {
		resp, err := adm.CommitOffsets(ctx, sinkGroup(cs.name), set)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return err
		}
	}
	if len(del) > 0 {
		resp, err := adm.DeleteOffsets(ctx, sinkGroup(cs.name), del)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func sourceToRecord(r *SourceRecord) *Record {
	p := int32(-1)
	if r.Partition != nil {
		p = *r.Partition
	}
	return &Record{Topic: r.Topic, Partition: p, KeySchema: r.KeySchema, Key: r.Key, ValueSchema: r.ValueSchema, Value: r.Value,
		Timestamp: r.Timestamp, Headers: r.Headers, Offset: -1}
}

func recordToSource(tr *Record, r *SourceRecord) {
	r.Topic, r.KeySchema, r.Key, r.ValueSchema, r.Value, r.Timestamp, r.Headers = tr.Topic, tr.KeySchema, tr.Key, tr.ValueSchema, tr.Value, tr.Timestamp, tr.Headers
	r.Partition = nil
	if tr.Partition >= 0 {
		p := tr.Partition
		r.Partition = &p
	}
}

func sinkToRecord(r *SinkRecord) *Record {
	return &Record{Topic: r.Topic, Partition: r.Partition, KeySchema: r.KeySchema, Key: r.Key, ValueSchema: r.ValueSchema, Value: r.Value,
		Timestamp: r.Timestamp, Headers: r.Headers, Offset: r.Offset}
}

func recordToSink(tr *Record, r *SinkRecord) {
	r.Topic, r.KeySchema, r.Key, r.ValueSchema, r.Value, r.Timestamp, r.Headers = tr.Topic, tr.KeySchema, tr.Key, tr.ValueSchema, tr.Value, tr.Timestamp, tr.Headers
	if tr.Partition >= 0 {
		r.Partition = tr.Partition
	}
}

// toSink converts one consumed record and runs the transforms; nil with no error means a
// transform dropped it. stage names the step that failed.
func (t *taskRunner) toSink(conv taskConverters, chain Chain, r *kgo.Record) (*SinkRecord, string, error) {
	sr := SinkRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp.UnixMilli()}
	var err error
	if sr.KeySchema, sr.Key, err = conv.key.ToConnect(r.Topic, r.Key); err != nil {
		return nil, "KEY_CONVERTER", fmt.Errorf("converting the key of %s-%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	if sr.ValueSchema, sr.Value, err = conv.value.ToConnect(r.Topic, r.Value); err != nil {
		return nil, "VALUE_CONVERTER", fmt.Errorf("converting the value of %s-%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	for _, h := range r.Headers {
		sr.Headers = append(sr.Headers, Header{Key: h.Key, Value: h.Value})
	}
	if len(chain) > 0 {
		tr, err := chain.Apply(sinkToRecord(&sr))
		if err != nil {
			return nil, "TRANSFORMATION", fmt.Errorf("%s-%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
		}
		if tr == nil {
			return nil, "", nil
		}
		recordToSink(tr, &sr)
	}
	return &sr, "", nil
}
