package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/streams/internal/engine"
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/state"
)

// task is one active task: its stores (in one Pebble DB under <state dir>/<task id>, unless
// they are all in memory), their changelogs, the engine task running its processors, and the
// records of the current poll waiting to be processed. It is used under Runtime.mu only.
type task struct {
	r    *Runtime
	id   processor.TaskID
	sub  *processor.Subtopology
	db   *state.DB
	dir  string
	logs []*changelog
	// stores by name, as the engine and interactive queries get them.
	stores map[string]any
	eng    *engine.Task
	queues []queue
	// dirty: the task processed or wrote something since the last commit.
	dirty     bool
	processed prometheus.Counter
	skipped   prometheus.Counter
	// skippedSeen is the engine's skip count already added to skipped.
	skippedSeen int64
}

// queue holds a poll's records of one of the task's input partitions.
type queue struct {
	topic string
	recs  []*kgo.Record
	next  int
}

// changelog logs one store's mutations to its changelog partition and remembers the offset
// after the last record written there (the checkpoint to set at the next commit).
type changelog struct {
	r          *Runtime
	t          *task
	tp         state.TopicPartition
	store      string
	persistent bool
	restorer   state.Restorer
	// next is the offset after the last changelog record known (restored or produced);
	// -1 when none is known yet.
	next    atomic.Int64
	promise func(*kgo.Record, error)
}

// Log copies the mutation (the store's slices are only valid during the call) and produces it
// to the task's changelog partition.
func (c *changelog) Log(key, value []byte) {
	rec := &kgo.Record{Topic: c.tp.Topic, Partition: c.tp.Partition, Key: bytes.Clone(key), Value: bytes.Clone(value)}
	c.t.dirty = true
	c.r.produce(rec, c.promise)
}

func (c *changelog) produced(rec *kgo.Record, err error) {
	if err != nil {
		c.r.promise(rec, err)
		return
	}
	for {
		cur := c.next.Load()
		if rec.Offset+1 <= cur || c.next.CompareAndSwap(cur, rec.Offset+1) {
			return
		}
	}
}

func (r *Runtime) taskDir(id processor.TaskID) string {
	return filepath.Join(r.cfg.StateDir, id.String())
}

// openStores opens a task's DB (if any store is persistent) and its stores, with a changelog
// for each logged store. Under exactly-once a DB that was not closed cleanly may hold
// uncommitted writes and is wiped first.
func (r *Runtime) openStores(id processor.TaskID, sub *processor.Subtopology, t *task, cache *state.Cache) (db *state.DB, stores map[string]any, logs []*changelog, err error) {
	persistent := false
	for _, s := range sub.Stores {
		persistent = persistent || !s.InMemory
	}
	if persistent {
		dir := r.taskDir(id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, nil, fmt.Errorf("runtime: task %v: %w", id, err)
		}
		if db, err = state.Open(dir, nil); err != nil {
			return nil, nil, nil, fmt.Errorf("runtime: task %v: %w", id, err)
		}
		if r.cfg.ExactlyOnce && !db.PreviousCloseClean() {
			r.log.Info("task state was not closed cleanly; wiping it to restore from the changelog (exactly-once)", "task", id)
			if err := db.Wipe(); err != nil {
				db.Close()
				return nil, nil, nil, fmt.Errorf("runtime: task %v: wipe: %w", id, err)
			}
		}
	}
	byName := map[string]*changelog{}
	stores, err = engine.OpenStores(db, sub.Stores, func(spec processor.StoreSpec) state.ChangeLogger {
		c := &changelog{r: r, t: t, store: spec.Name, persistent: !spec.InMemory,
			tp: state.TopicPartition{Topic: engine.ChangelogTopic(r.cfg.AppID, spec.Name), Partition: id.Partition}}
		c.next.Store(-1)
		c.promise = c.produced
		byName[spec.Name] = c
		logs = append(logs, c)
		return c
	}, cache)
	if err != nil {
		if db != nil {
			db.Close()
		}
		return nil, nil, nil, fmt.Errorf("runtime: task %v: %w", id, err)
	}
	for _, c := range logs {
		c.restorer, _ = engine.Restorer(stores[c.store])
	}
	return db, stores, logs, nil
}

// openTask opens a task's stores, restores them from their changelogs and makes its
// processors.
func (r *Runtime) openTask(ctx context.Context, id processor.TaskID) (*task, error) {
	if int(id.Subtopology) >= len(r.cfg.Program.Subtopologies) {
		return nil, fmt.Errorf("runtime: assigned task %v of an unknown sub-topology", id)
	}
	sub := r.cfg.Program.Subtopologies[id.Subtopology]
	t := &task{r: r, id: id, sub: sub, dir: r.taskDir(id), processed: r.met.processed.WithLabelValues(fmt.Sprint(id.Subtopology)),
		skipped: r.met.skipped.WithLabelValues(fmt.Sprint(id.Subtopology))}
	for _, topic := range r.subTopics[id.Subtopology] {
		t.queues = append(t.queues, queue{topic: topic})
	}
	if err := t.open(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *task) open(ctx context.Context) error {
	r := t.r
	var err error
	if t.db, t.stores, t.logs, err = r.openStores(t.id, t.sub, t, r.cache); err != nil {
		return err
	}
	if err := r.reader.restore(ctx, t.id, t.db, t.logs, false); err != nil {
		t.closeStores(false)
		return err
	}
	t.eng, err = engine.NewTask(engine.Config{
		AppID: r.cfg.AppID, ID: t.id, Sub: t.sub, Stores: t.stores, Globals: r.globalStores(),
		Send: t.send, Partitions: r.parts.get, Clock: r.cfg.Clock, Logger: r.log,
	})
	if err != nil {
		t.closeStores(false)
		return err
	}
	t.dirty = false
	t.skippedSeen = 0
	return nil
}

// reset reopens a task from its changelogs after an aborted transaction: its stores are
// wiped and restored, its processors made again.
func (t *task) reset(ctx context.Context) error {
	t.eng.Close()
	if err := t.closeStores(true); err != nil {
		return err
	}
	return t.open(ctx)
}

// send produces a record a sink wrote.
func (t *task) send(o engine.Output) error {
	rec := &kgo.Record{Topic: o.Topic, Partition: o.Partition, Key: o.Key, Value: o.Value, Timestamp: time.UnixMilli(o.Timestamp)}
	if len(o.Headers) > 0 {
		rec.Headers = make([]kgo.RecordHeader, len(o.Headers))
		for i, h := range o.Headers {
			rec.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	if o.Partition >= 0 {
		n, err := t.r.parts.get(o.Topic)
		if err != nil {
			return err
		}
		if o.Partition >= n {
			return fmt.Errorf("runtime: task %v: partition %d of %s out of range (%d partitions)", t.id, o.Partition, o.Topic, n)
		}
	}
	t.dirty = true
	t.r.produce(rec, t.r.promiseFn)
	return nil
}

// enqueue adds a poll's records of one input partition; it reports whether the task had
// nothing queued before.
func (t *task) enqueue(topic string, recs []*kgo.Record) bool {
	first := true
	for i := range t.queues {
		if t.queues[i].next < len(t.queues[i].recs) {
			first = false
		}
	}
	for i := range t.queues {
		if t.queues[i].topic == topic {
			t.queues[i].recs = append(t.queues[i].recs, recs...)
		}
	}
	return first
}

// processQueued processes every queued record, always the one with the lowest timestamp
// among the heads of the task's partitions next (Kafka Streams' PartitionGroup).
func (t *task) processQueued() error {
	var n int
	for {
		best := -1
		var bestTS int64
		for i := range t.queues {
			q := &t.queues[i]
			if q.next >= len(q.recs) {
				continue
			}
			ts := q.recs[q.next].Timestamp.UnixMilli()
			if best < 0 || ts < bestTS {
				best, bestTS = i, ts
			}
		}
		if best < 0 {
			break
		}
		q := &t.queues[best]
		rec := q.recs[q.next]
		q.recs[q.next] = nil
		q.next++
		in := engine.Input{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Key: rec.Key, Value: rec.Value, Timestamp: bestTS}
		if len(rec.Headers) > 0 {
			in.Headers = make([]processor.Header, len(rec.Headers))
			for i, h := range rec.Headers {
				in.Headers[i] = processor.Header{Key: h.Key, Value: h.Value}
			}
		}
		t.dirty = true
		if err := t.eng.Process(in); err != nil {
			return fmt.Errorf("runtime: task %v: %w", t.id, err)
		}
		n++
	}
	for i := range t.queues {
		t.queues[i].recs, t.queues[i].next = t.queues[i].recs[:0], 0
	}
	t.processed.Add(float64(n))
	if s := t.eng.Skipped(); s != t.skippedSeen {
		t.skipped.Add(float64(s - t.skippedSeen))
		t.skippedSeen = s
	}
	return nil
}

// checkpoint records, after a commit, how far each persistent store's changelog is applied,
// and makes the stores durable.
func (t *task) checkpoint() error {
	if t.db == nil {
		return nil
	}
	for _, c := range t.logs {
		if next := c.next.Load(); c.persistent && next >= 0 {
			if err := t.db.SetCheckpoint(c.tp, next); err != nil {
				return err
			}
		}
	}
	return t.db.Flush()
}

// close closes the processors and the stores, keeping the state on disk for a later
// assignment unless wipe (uncommitted writes under exactly-once).
func (t *task) close(wipe bool) error {
	err := t.eng.Close()
	return errors.Join(err, t.closeStores(wipe))
}

func (t *task) closeStores(wipe bool) error {
	err := engine.CloseStores(t.stores)
	t.stores = nil
	if t.db != nil {
		if wipe {
			err = errors.Join(err, t.db.Wipe())
		}
		err = errors.Join(err, t.db.Close())
		t.db = nil
	}
	return err
}

// standbyTask keeps a copy of a task's persistent stores warm by reading their changelogs.
type standbyTask struct {
	id   processor.TaskID
	db   *state.DB
	logs []*changelog
	r    *Runtime
}

// openStandby opens a standby for id; nil when the task has no persistent logged store.
func (r *Runtime) openStandby(ctx context.Context, id processor.TaskID) (*standbyTask, error) {
	if int(id.Subtopology) >= len(r.cfg.Program.Subtopologies) {
		return nil, fmt.Errorf("runtime: standby task %v of an unknown sub-topology", id)
	}
	sub := *r.cfg.Program.Subtopologies[id.Subtopology]
	sub.Stores = nil
	for _, s := range r.cfg.Program.Subtopologies[id.Subtopology].Stores {
		if !s.InMemory && !s.LoggingDisabled {
			sub.Stores = append(sub.Stores, s)
		}
	}
	if len(sub.Stores) == 0 {
		return nil, nil
	}
	db, stores, logs, err := r.openStores(id, &sub, &task{}, nil)
	if err != nil {
		return nil, err
	}
	s := &standbyTask{id: id, db: db, logs: logs, r: r}
	if err := r.reader.follow(ctx, s); err != nil {
		engine.CloseStores(stores)
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *standbyTask) checkpoint() error {
	for _, c := range s.logs {
		if next := c.next.Load(); next >= 0 {
			if err := s.db.SetCheckpoint(c.tp, next); err != nil {
				return err
			}
		}
	}
	return s.db.Flush()
}

func (s *standbyTask) close() error {
	s.r.reader.unfollow(s)
	err := s.checkpoint()
	for _, c := range s.logs {
		if cl, ok := c.restorer.(interface{ Close() error }); ok {
			err = errors.Join(err, cl.Close())
		}
	}
	return errors.Join(err, s.db.Close())
}

// globalStores are the global stores, by name (nil without any).
func (r *Runtime) globalStores() map[string]any {
	if r.glob == nil {
		return nil
	}
	return r.glob.stores
}
