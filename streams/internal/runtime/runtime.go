package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/streams/internal/engine"
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/state"
)

// Config is what a Runtime runs. The streams package fills it from the public Config.
type Config struct {
	AppID   string
	Program *processor.Program
	// StateDir is the application's state directory (<state.dir>/<application.id>): one
	// sub-directory per task.
	StateDir       string
	ExactlyOnce    bool
	CommitInterval time.Duration
	// CacheMaxBytes (statestore.cache.max.bytes) is the record cache shared by the active
	// tasks' caching stores; 0: none.
	CacheMaxBytes      int64
	NumStandbyReplicas int
	// NumStreamThreads (num.stream.threads) is how many goroutines process a poll's tasks
	// at once (processTasks); 0 or 1: the loop's goroutine alone.
	NumStreamThreads  int
	ReplicationFactor int16
	// Endpoint is application.server (host:port), "" when not set.
	Endpoint   string
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// ClientOptions are applied to every client (seed brokers, TLS, SASL, ...).
	ClientOptions []kgo.Opt
	Clock         func() time.Time
}

// State is the lifecycle state of an application, Kafka Streams' KafkaStreams.State.
type State int32

const (
	Created State = iota
	Rebalancing
	Running
	PendingShutdown
	NotRunning
	Error
)

func (s State) String() string {
	return [...]string{"CREATED", "REBALANCING", "RUNNING", "PENDING_SHUTDOWN", "NOT_RUNNING", "ERROR"}[s]
}

// Runtime runs a program's tasks in one instance of an application: one group member, one
// producer (transactional under exactly-once), a reader of changelogs for restoring and
// standbys, and an admin client.
//
// Goroutines: Run's (the processing loop) and franz-go's group management goroutine, which
// calls the rebalance callbacks. The loop holds mu while it processes a poll's records and
// (at-least-once) while it commits; the callbacks hold it for their whole run. Under
// at-least-once BlockRebalanceOnPoll also keeps the callbacks between the loop's
// AllowRebalance and its next poll. Under exactly-once the loop ends transactions without
// mu (End waits for the session's callbacks) and drops a poll that a rebalance overtook.
type Runtime struct {
	cfg       Config
	log       *slog.Logger
	met       *metrics
	processID string
	// subTopics are each sub-topology's source topics as read (internal ones prefixed);
	// subOf maps a topic as read to its sub-topology.
	subTopics  [][]string
	subOf      map[string]int32
	readTopics []string

	adminCl *kgo.Client
	admin   *kadm.Client
	cl      *kgo.Client               // the group member and producer
	sess    *kgo.GroupTransactSession // exactly-once: wraps cl
	reader  *changelogReader
	glob    *globals // nil without global stores
	parts   partitionCounts
	// cache is the record cache of the active tasks' caching stores (nil: none); its
	// stores are written under mu.
	cache *state.Cache

	state atomic.Int32

	// promiseFn is r.promise as a func value, made once: a method value made per send would be
	// an allocation per output record.
	promiseFn func(*kgo.Record, error)
	// prodErr is the first error a produce promise reported.
	prodErr struct {
		sync.Mutex
		err error
	}

	mu struct {
		sync.Mutex
		active  map[processor.TaskID]*task
		standby map[processor.TaskID]*standbyTask
		byTP    map[tp]*task
		// assignment is the user data of the last assignment (ParseSyncAssignment), used
		// by the OnPartitionsAssigned that follows it.
		assignment AssignmentData
		// prevActive: the active tasks of the last assignment, reported at the next join.
		prevActive []processor.TaskID
		inTxn      bool
		abortTxn   bool // end the open transaction with an abort
		rebalanced bool
		lastCommit time.Time
		fatal      error
	}

	// iq is what interactive queries read: the stores of the active tasks and the hosts.
	iq struct {
		sync.RWMutex
		stores map[string][]any
		hosts  []HostTasks
		// subPartitions is each sub-topology's task count, known after the topics are
		// prepared.
		subPartitions []int32
	}
}

type tp struct {
	topic     string
	partition int32
}

// New checks cfg and makes a Runtime; Run starts it.
func New(cfg Config) (*Runtime, error) {
	if cfg.AppID == "" || cfg.Program == nil {
		return nil, errors.New("runtime: an application id and a program are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.CommitInterval <= 0 {
		return nil, errors.New("runtime: the commit interval must be positive")
	}
	r := &Runtime{cfg: cfg, subOf: map[string]int32{}}
	r.promiseFn = r.promise
	if cfg.CacheMaxBytes > 0 {
		r.cache = state.NewCache(cfg.CacheMaxBytes)
	}
	r.log = cfg.Logger.With("application.id", cfg.AppID)
	r.met = newMetrics(cfg.Registerer, cfg.AppID)
	for _, sub := range cfg.Program.Subtopologies {
		var ts []string
		for _, t := range sub.SourceTopics {
			if slices.Contains(sub.InternalSources, t) {
				t = engine.InternalTopic(cfg.AppID, t)
			}
			ts = append(ts, t)
			r.subOf[t] = sub.ID
			r.readTopics = append(r.readTopics, t)
		}
		r.subTopics = append(r.subTopics, ts)
	}
	r.mu.active = map[processor.TaskID]*task{}
	r.mu.standby = map[processor.TaskID]*standbyTask{}
	r.mu.byTP = map[tp]*task{}
	r.iq.stores = map[string][]any{}
	return r, nil
}

// State is the runtime's current state.
func (r *Runtime) State() State { return State(r.state.Load()) }

func (r *Runtime) setState(s State) {
	if old := State(r.state.Swap(int32(s))); old != s {
		r.log.Info("state change", "from", old, "to", s)
	}
}

// Run runs the application until ctx is done or a fatal error, then commits, closes every
// task (its stores closed cleanly) and leaves the group.
func (r *Runtime) Run(ctx context.Context) (err error) {
	r.setState(Rebalancing)
	defer func() {
		if err != nil {
			r.log.Error("stopped on an error", "err", err)
			r.setState(Error)
		} else {
			r.setState(NotRunning)
		}
	}()
	if err := os.MkdirAll(r.cfg.StateDir, 0o755); err != nil {
		return fmt.Errorf("runtime: state dir: %w", err)
	}
	lock, err := lockStateDir(r.cfg.StateDir)
	if err != nil {
		return err
	}
	if lock != nil {
		defer lock.Close()
	}
	if r.processID, err = processID(r.cfg.StateDir); err != nil {
		return err
	}
	r.log = r.log.With("process", r.processID)
	adminCl, err := kgo.NewClient(r.cfg.ClientOptions...)
	if err != nil {
		return fmt.Errorf("runtime: admin client: %w", err)
	}
	r.adminCl, r.admin = adminCl, kadm.NewClient(adminCl)
	defer adminCl.Close()
	r.parts.admin = r.admin
	if err := r.prepareTopics(ctx); err != nil {
		return err
	}
	if len(r.cfg.Program.Globals) > 0 {
		if r.glob, err = r.openGlobals(ctx); err != nil {
			return err
		}
		defer func() {
			if cerr := r.glob.close(); cerr != nil {
				r.log.Warn("closing the global stores", "err", cerr)
			}
		}()
	}
	if r.reader, err = newChangelogReader(r); err != nil {
		return err
	}
	defer r.reader.close()
	if err := r.openGroupClient(); err != nil {
		return err
	}
	loopErr := r.loop(ctx)
	r.setState(PendingShutdown)
	shutErr := r.shutdown(loopErr == nil)
	return errors.Join(loopErr, shutErr)
}

func (r *Runtime) openGroupClient() error {
	bal := &balancer{
		subTopics:    r.subTopics,
		standbys:     r.cfg.NumStandbyReplicas,
		subscription: r.subscription,
		assigned: func(a AssignmentData) {
			r.mu.Lock()
			r.mu.assignment = a
			r.mu.Unlock()
		},
	}
	opts := slices.Clone(r.cfg.ClientOptions)
	opts = append(opts,
		kgo.ConsumerGroup(r.cfg.AppID),
		kgo.ConsumeTopics(r.readTopics...),
		kgo.Balancers(bal),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), // auto.offset.reset=earliest, Kafka Streams' default
		kgo.OnPartitionsAssigned(r.onAssigned),
		kgo.OnPartitionsRevoked(r.onRevoked),
		kgo.OnPartitionsLost(r.onLost),
		kgo.RecordPartitioner(partitioner{}),
		kgo.ProducerLinger(5*time.Millisecond),
	)
	if !r.cfg.ExactlyOnce {
		// Rebalances wait for the loop between polls, so revokes commit exactly what
		// was processed. Not under exactly-once: End waits for the session's revoke
		// and lost callbacks, which BlockRebalanceOnPoll would hold back.
		opts = append(opts, kgo.BlockRebalanceOnPoll())
	}
	if r.cfg.ExactlyOnce {
		opts = append(opts,
			kgo.TransactionalID(r.cfg.AppID+"-"+r.processID),
			kgo.TransactionTimeout(10*time.Second), // Kafka Streams' transaction.timeout.ms under EOS
			kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		)
		sess, err := kgo.NewGroupTransactSession(opts...)
		if err != nil {
			return fmt.Errorf("runtime: transactional client: %w", err)
		}
		r.sess, r.cl = sess, sess.Client()
		return nil
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("runtime: group client: %w", err)
	}
	r.cl = cl
	return nil
}

// processID returns the instance's process id, kept in the state directory (as Kafka
// Streams' kafka-streams-process-metadata) so that a restarted instance uses the same
// transactional.id: its InitProducerId then aborts what the previous run left open at once,
// instead of the changelogs' last stable offsets waiting for the transaction timeout. Two
// running instances must not share a state directory.
func processID(dir string) (string, error) {
	path := filepath.Join(dir, "process-id")
	if b, err := os.ReadFile(path); err == nil && len(b) == 16 {
		if _, err := hex.DecodeString(string(b)); err == nil {
			return string(b), nil
		}
	}
	id := make([]byte, 8)
	rand.Read(id)
	s := hex.EncodeToString(id)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
		return "", fmt.Errorf("runtime: process id: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("runtime: process id: %w", err)
	}
	return s, nil
}

// subscription is this member's JoinGroup user data.
func (r *Runtime) subscription() Subscription {
	r.mu.Lock()
	prev := slices.Clone(r.mu.prevActive)
	var local []processor.TaskID
	for id := range r.mu.standby {
		local = append(local, id)
	}
	for id := range r.mu.active {
		local = append(local, id)
	}
	r.mu.Unlock()
	local = append(local, r.tasksOnDisk()...)
	slices.SortFunc(local, compareTask)
	local = slices.Compact(local)
	slices.SortFunc(prev, compareTask)
	return Subscription{ProcessID: r.processID, Endpoint: r.cfg.Endpoint, PrevActive: prev, Local: local}
}

// tasksOnDisk lists the task directories in the state dir.
func (r *Runtime) tasksOnDisk() []processor.TaskID {
	entries, _ := os.ReadDir(r.cfg.StateDir)
	var ids []processor.TaskID
	for _, e := range entries {
		var id processor.TaskID
		if _, err := fmt.Sscanf(e.Name(), "%d_%d", &id.Subtopology, &id.Partition); err == nil && e.IsDir() && id.String() == e.Name() {
			ids = append(ids, id)
		}
	}
	return ids
}

// poll returns the next fetches; the caller calls allowRebalance after handling them.
func (r *Runtime) poll(ctx context.Context) kgo.Fetches {
	if r.sess != nil {
		return r.sess.PollFetches(ctx)
	}
	return r.cl.PollFetches(ctx)
}

func (r *Runtime) allowRebalance() {
	if r.sess != nil {
		r.sess.AllowRebalance()
		return
	}
	r.cl.AllowRebalance()
}

// loop polls and processes until ctx is done or an error is fatal.
func (r *Runtime) loop(ctx context.Context) error {
	for ctx.Err() == nil {
		pollCtx, cancel := context.WithTimeout(ctx, r.pollTimeout())
		fetches := r.poll(pollCtx)
		cancel()
		// A step is not interrupted by ctx: a commit under way completes (or fails on
		// its own) and the shutdown that follows commits again.
		stepCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		err := r.step(stepCtx, fetches)
		cancel()
		r.allowRebalance()
		if err != nil {
			return err
		}
	}
	return nil
}

// pollTimeout bounds a poll by the next commit and by 100 ms, so that wall-clock
// punctuators and standbys are served between records.
func (r *Runtime) pollTimeout() time.Duration {
	r.mu.Lock()
	next := r.mu.lastCommit.Add(r.cfg.CommitInterval)
	r.mu.Unlock()
	d := time.Until(next)
	return max(min(d, 100*time.Millisecond), time.Millisecond)
}

// step handles one poll's fetches: routes and processes the records, punctuates, feeds
// standbys, then commits when due.
func (r *Runtime) step(ctx context.Context, fetches kgo.Fetches) error {
	commit, err := r.process(ctx, fetches)
	r.met.cache(r.cache)
	if err != nil || !commit {
		return err
	}
	return r.commit(ctx)
}

// processTasks processes the queued records of ts on up to NumStreamThreads goroutines (the
// caller's among them), each task on one goroutine, and returns once all are done, with the
// first task's error in ts order. The tasks share nothing that is not safe for concurrent
// use: each has its own engine, stores and queues; the producer, the partition counts, the
// record cache's budget and the metrics are. mu stays with the caller throughout.
func (r *Runtime) processTasks(ts []*task) error {
	n := min(r.cfg.NumStreamThreads, len(ts))
	if n <= 1 {
		for _, t := range ts {
			if err := t.processQueued(); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, len(ts))
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(ts) {
				return
			}
			errs[i] = ts[i].processQueued()
		}
	}
	var wg sync.WaitGroup
	for range n - 1 {
		wg.Add(1)
		go func() { defer wg.Done(); work() }()
	}
	work()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// process runs a poll's records through their tasks under mu and reports whether a commit
// is due.
func (r *Runtime) process(ctx context.Context, fetches kgo.Fetches) (commit bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.fatal != nil {
		return false, r.mu.fatal
	}
	if r.glob != nil {
		if err := r.glob.failed(); err != nil {
			return false, err
		}
	}
	for _, fe := range fetches.Errors() {
		switch {
		case errors.Is(fe.Err, context.DeadlineExceeded), errors.Is(fe.Err, context.Canceled):
		case errors.Is(fe.Err, kgo.ErrClientClosed):
			return false, fe.Err
		default:
			r.log.Warn("fetch error", "topic", fe.Topic, "partition", fe.Partition, "err", fe.Err)
		}
	}
	if r.sess != nil && r.mu.rebalanced {
		// A rebalance since the last poll (exactly-once polls do not block rebalances):
		// these records may have been fetched before it, from positions the new
		// assignment restarts at the committed offsets, so they are dropped and the
		// transaction aborted at once; the abort rewinds the consumer to the committed
		// offsets (a transaction is begun for that if none is open).
		r.mu.rebalanced = false
		if !r.mu.inTxn {
			if err := r.sess.Begin(); err != nil {
				return false, fmt.Errorf("runtime: begin transaction: %w", err)
			}
			r.mu.inTxn = true
		}
		r.mu.abortTxn = true
		return true, nil
	}
	r.mu.rebalanced = false
	if r.sess != nil && !r.mu.inTxn {
		if err := r.sess.Begin(); err != nil {
			return false, fmt.Errorf("runtime: begin transaction: %w", err)
		}
		r.mu.inTxn = true
	}
	var touched []*task
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		t := r.mu.byTP[tp{p.Topic, p.Partition}]
		if t == nil {
			return // not (or no longer) ours
		}
		if len(p.Records) > 0 {
			r.met.lag(p.Topic, p.Partition, p.HighWatermark-p.Records[len(p.Records)-1].Offset-1)
			if t.enqueue(p.Topic, p.Records) {
				touched = append(touched, t)
			}
		}
	})
	if err := r.processTasks(touched); err != nil {
		return false, err
	}
	now := r.cfg.Clock()
	commit = now.Sub(r.mu.lastCommit) >= r.cfg.CommitInterval
	for _, t := range r.mu.active {
		if err := t.eng.Punctuate(now); err != nil {
			return false, fmt.Errorf("runtime: task %v: punctuate: %w", t.id, err)
		}
		if t.eng.CommitRequested() {
			commit = true
		}
	}
	if len(r.mu.standby) > 0 {
		if err := r.reader.pollStandbys(ctx); err != nil {
			return false, err
		}
	}
	return commit, nil
}

// commit commits every task. Under at-least-once (commitLocked) the producer is flushed,
// then the consumed offsets committed, then each task's stores checkpointed and flushed.
// Under exactly-once the transaction (outputs, changelogs and offsets) is ended, without mu:
// the session's rebalance callbacks, which End waits for, take mu in ours; after an abort the
// tasks that wrote in it are wiped and restored.
func (r *Runtime) commit(ctx context.Context) error {
	if r.sess == nil {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.commitLocked(ctx)
	}
	start := time.Now()
	r.mu.Lock()
	inTxn, abort := r.mu.inTxn, r.mu.abortTxn
	r.mu.inTxn, r.mu.abortTxn = false, false
	r.mu.lastCommit = r.cfg.Clock()
	var flushErr error
	if inTxn && !abort {
		// The caches' changelog and output records go in this transaction, with the
		// offsets of the records that made them.
		flushErr = r.flushTasks()
	}
	r.mu.Unlock()
	if !inTxn {
		return nil
	}
	if flushErr != nil {
		r.sess.End(ctx, kgo.TryAbort)
		return flushErr
	}
	if err := r.produceError(); err != nil {
		r.sess.End(ctx, kgo.TryAbort)
		return err
	}
	committed, err := r.sess.End(ctx, kgo.TransactionEndTry(!abort))
	if err != nil {
		return fmt.Errorf("runtime: end transaction: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !committed {
		r.log.Info("transaction aborted; the tasks that wrote in it restart from the last commit")
		r.met.aborts.Inc()
		for _, t := range r.mu.active {
			if t.dirty {
				if err := t.reset(ctx); err != nil {
					return err
				}
			}
		}
		return nil
	}
	r.checkpointAll()
	r.met.commitLatency.Observe(time.Since(start).Seconds())
	return nil
}

// commitLocked is the at-least-once commit.
func (r *Runtime) commitLocked(ctx context.Context) error {
	start := time.Now()
	r.mu.lastCommit = r.cfg.Clock()
	if err := r.flushTasks(); err != nil {
		return err
	}
	if err := r.cl.Flush(ctx); err != nil {
		return fmt.Errorf("runtime: flush: %w", err)
	}
	if err := r.produceError(); err != nil {
		return err
	}
	if err := r.cl.CommitUncommittedOffsets(ctx); err != nil {
		// The group moved on (a rebalance): the records are processed again by their
		// next owner, as at-least-once allows.
		r.log.Warn("commit of offsets failed", "err", err)
	}
	r.checkpointAll()
	r.met.commitLatency.Observe(time.Since(start).Seconds())
	return nil
}

// flushTasks flushes the active tasks' caches (engine.Task.Flush): what they hold goes to
// the stores, the changelogs and downstream, to be produced before the commit. Under mu.
func (r *Runtime) flushTasks() error {
	if r.cache == nil {
		return nil
	}
	for _, t := range r.mu.active {
		if err := t.eng.Flush(); err != nil {
			return fmt.Errorf("runtime: task %v: %w", t.id, err)
		}
	}
	return nil
}

func (r *Runtime) checkpointAll() {
	for _, t := range r.mu.active {
		if err := t.checkpoint(); err != nil {
			r.log.Warn("checkpoint failed", "task", t.id, "err", err)
		}
		t.dirty = false
	}
	for _, s := range r.mu.standby {
		if err := s.checkpoint(); err != nil {
			r.log.Warn("standby checkpoint failed", "task", s.id, "err", err)
		}
	}
}

func (r *Runtime) produceError() error {
	r.prodErr.Lock()
	defer r.prodErr.Unlock()
	return r.prodErr.err
}

// promise records the first failed produce; the next commit fails with it, as Kafka
// Streams' default production exception handler does.
func (r *Runtime) promise(rec *kgo.Record, err error) {
	if err == nil {
		return
	}
	r.prodErr.Lock()
	if r.prodErr.err == nil {
		r.prodErr.err = fmt.Errorf("runtime: produce to %s-%d: %w", rec.Topic, rec.Partition, err)
	}
	r.prodErr.Unlock()
}

func (r *Runtime) produce(rec *kgo.Record, promise func(*kgo.Record, error)) {
	if r.sess != nil {
		r.sess.Produce(context.Background(), rec, promise)
		return
	}
	r.cl.Produce(context.Background(), rec, promise)
}

// shutdown commits (if clean), closes every task and leaves the group.
func (r *Runtime) shutdown(clean bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	if clean {
		if err := r.commit(ctx); err != nil {
			errs = append(errs, err)
			clean = false
		}
	} else if r.sess != nil {
		r.mu.Lock()
		inTxn := r.mu.inTxn
		r.mu.inTxn = false
		r.mu.Unlock()
		if inTxn {
			r.sess.End(ctx, kgo.TryAbort)
		}
	}
	r.mu.Lock()
	for id, t := range r.mu.active {
		if err := t.close(!clean && t.dirty && r.sess != nil); err != nil {
			errs = append(errs, err)
		}
		delete(r.mu.active, id)
	}
	for id, s := range r.mu.standby {
		if err := s.close(); err != nil {
			errs = append(errs, err)
		}
		delete(r.mu.standby, id)
	}
	clear(r.mu.byTP)
	r.mu.Unlock()
	r.publishStores()
	// Leave the group at once (Kafka Streams members leave on close), then close.
	if r.sess != nil {
		r.sess.Close()
	} else {
		r.cl.LeaveGroupContext(ctx)
		r.cl.Close()
	}
	return errors.Join(errs...)
}

func (r *Runtime) fail(err error) {
	if r.mu.fatal == nil {
		r.mu.fatal = err
	}
}
