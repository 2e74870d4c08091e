package txn

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/record"
)

// Config configures a Coordinator. Durations of zero take Kafka's defaults.
type Config struct {
	// ProducerIDs allocates producer ids (blocks through the metadata log).
	ProducerIDs *ProducerIDs
	// Log is __transaction_state; every transition is durable in it before it is acted on.
	Log StateLog
	// NumPartitions is transaction.state.log.num.partitions (50).
	NumPartitions int32
	// OffsetsNumPartitions is offsets.topic.num.partitions (50): AddOffsetsToTxn adds the
	// group's __consumer_offsets partition to the transaction.
	OffsetsNumPartitions int32
	// Markers writes transaction markers into the partitions of a transaction.
	Markers MarkerWriter
	// MaxTimeout is transaction.max.timeout.ms (15 min).
	MaxTimeout time.Duration
	// IDExpiration is transactional.id.expiration.ms (7 days).
	IDExpiration time.Duration
	// CleanupInterval is transaction.abort.timed.out.transaction.cleanup.interval.ms (10 s):
	// how often timed-out transactions are aborted.
	CleanupInterval time.Duration
	// ExpiredIDCleanupInterval is
	// transaction.remove.expired.transaction.cleanup.interval.ms (1 hour): how often
	// transactional ids unused for IDExpiration are removed.
	ExpiredIDCleanupInterval time.Duration
	// CoordinatorEpoch is written into markers (the __transaction_state leader epoch) when
	// not following leadership; following it, each partition's leader epoch at election is.
	CoordinatorEpoch int32
	// FollowLeadership makes the coordinator serve only the transactional ids of the
	// __transaction_state partitions this node leads: those LoadPartitions loaded at start and
	// those Elected since, until Resigned. Others get ErrNotCoordinator, those of a partition
	// still loading ErrCoordinatorLoading. False (a coordinator without a broker, as in most
	// tests): every id is served once Start has run.
	FollowLeadership bool
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Tests inject one to drive timeouts.
	Now func() time.Time
	// PanicRecovered, if set, counts panics recovered in the coordinator's goroutines (where:
	// "txn.markers", "txn.abort", "txn.sweep").
	PanicRecovered func(where string)
}

// StateLog is the __transaction_state topic as the coordinator writes it.
type StateLog interface {
	// Append writes one record batch to the partition and returns once it is as durable as
	// the log makes it (acks=-1: the high watermark passed it).
	Append(ctx context.Context, partition int32, batch []byte) error
}

// Marker is one transaction marker: the control record ending a producer's transaction in a
// partition.
type Marker struct {
	ProducerID       int64
	ProducerEpoch    int16
	Commit           bool
	CoordinatorEpoch int32
}

// MarkerWriter writes markers into partitions. Writing the same marker twice is harmless
// (the second finds no ongoing transaction of that producer and epoch), which recovery
// relies on.
type MarkerWriter interface {
	WriteTxnMarker(ctx context.Context, topic string, partition int32, m Marker) error
}

// txnMeta is one transactional id's state.
type txnMeta struct {
	id                 string
	producerID         int64
	previousProducerID int64 // the id before an epoch exhaustion, for retries; -1 none
	nextProducerID     int64 // while prepared: the id the transaction hands over to (EndTxn v5, exhausted epoch); -1 none
	epoch              int16
	lastEpoch          int16 // the epoch before the last bump, for retries; -1 none
	timeoutMs          int32
	state              State
	partitions         TopicPartitions
	startMs, updateMs  int64
	clientTxnVersion   int16
	// pending is set while a transition is being written or its markers are in flight;
	// requests for the id meanwhile wait (waitSettled) or get ErrConcurrentTransactions.
	pending bool
	// settled, when not nil, is closed when pending is cleared.
	settled chan struct{}
}

// settleLocked clears pending and wakes the requests waiting for it.
func (m *txnMeta) settleLocked() {
	m.pending = false
	if m.settled != nil {
		close(m.settled)
		m.settled = nil
	}
}

// maxSettleWait bounds how long a request waits for the previous transition of its id (the
// markers of the transaction before) instead of answering CONCURRENT_TRANSACTIONS at once:
// a client would retry after a backoff longer than the markers usually take.
const maxSettleWait = time.Second

// waitSettled waits until no transition of id is in flight, ctx ends or maxSettleWait
// passes; the caller then checks the state as usual.
func (c *Coordinator) waitSettled(ctx context.Context, id string) {
	timer := time.NewTimer(maxSettleWait)
	defer timer.Stop()
	for {
		c.mu.Lock()
		m := c.mu.txns[id]
		if m == nil || !m.pending || c.mu.closed {
			c.mu.Unlock()
			return
		}
		if m.settled == nil {
			m.settled = make(chan struct{})
		}
		settled := m.settled
		c.mu.Unlock()
		select {
		case <-settled:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

func (m *txnMeta) value() LogValue {
	return LogValue{ProducerID: m.producerID, PreviousProducerID: m.previousProducerID, NextProducerID: m.nextProducerID,
		ProducerEpoch: m.epoch, TimeoutMs: m.timeoutMs, State: m.state, Partitions: m.partitions,
		LastUpdateMs: m.updateMs, StartMs: m.startMs, ClientTxnVersion: m.clientTxnVersion}
}

// Coordinator is the transaction coordinator: it hands out producer ids and epochs
// (InitProducerId) and drives transactions through Kafka's states, persisting each
// transition in __transaction_state before acting on it or answering.
//
// Concurrency: mu guards the map of transactional ids and each txnMeta in it. A request
// validates and marks its txnMeta pending under mu, appends to the log without mu, then
// applies the new state under mu; a pending txnMeta refuses other requests
// (ErrConcurrentTransactions), so transitions of one id never interleave. Marker writing
// runs on goroutines tracked by wg; the cleanup sweep is one goroutine. Close stops both.
type Coordinator struct {
	cfg    Config
	logger *slog.Logger
	wg     sync.WaitGroup
	ctx    context.Context // canceled by Close: stops marker retries and the sweep
	cancel context.CancelFunc
	// loadedHook, set by tests before Elected, runs on a loader after its read and before the
	// partition's ids are installed.
	loadedHook func()

	mu struct {
		sync.Mutex
		txns map[string]*txnMeta
		// owned is the __transaction_state partitions this node coordinates
		// (Config.FollowLeadership), by index.
		owned   map[int32]*ownedPartition
		loaded  bool
		started bool
		closed  bool
	}
}

// New returns a coordinator. It answers only InitProducerId without a transactional id
// until Start (after Load) has run.
func New(cfg Config) *Coordinator {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NumPartitions <= 0 {
		cfg.NumPartitions = 50
	}
	if cfg.OffsetsNumPartitions <= 0 {
		cfg.OffsetsNumPartitions = 50
	}
	if cfg.MaxTimeout <= 0 {
		cfg.MaxTimeout = 15 * time.Minute
	}
	if cfg.IDExpiration <= 0 {
		cfg.IDExpiration = 7 * 24 * time.Hour
	}
	if cfg.ExpiredIDCleanupInterval <= 0 {
		cfg.ExpiredIDCleanupInterval = time.Hour
	}
	if cfg.CleanupInterval <= 0 {
		cfg.CleanupInterval = 10 * time.Second
	}
	c := &Coordinator{cfg: cfg, logger: cfg.Logger}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.mu.txns = map[string]*txnMeta{}
	return c
}

// Start ends loading: prepared transactions found by Load get their markers written and
// complete, and the cleanup sweep begins. Call it once, after Load.
func (c *Coordinator) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.closed || c.mu.started {
		return
	}
	c.mu.started, c.mu.loaded = true, true
	for _, m := range c.mu.txns {
		if m.state == PrepareCommit || m.state == PrepareAbort {
			m.pending = true
			c.logger.Info("completing a prepared transaction", "transactional_id", m.id, "state", m.state)
			c.completeAsyncLocked(m, m.value())
		}
	}
	c.wg.Add(1)
	go c.sweepLoop()
}

// Close stops the sweep and marker writers and waits for them. Transactions whose markers
// were not all written stay prepared in __transaction_state and complete after a restart.
func (c *Coordinator) Close() {
	c.mu.Lock()
	c.mu.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// nowMs is the coordinator clock in milliseconds.
func (c *Coordinator) nowMs() int64 { return c.cfg.Now().UnixMilli() }

// Partition is the __transaction_state partition of a transactional id.
func (c *Coordinator) Partition(transactionalID string) int32 {
	return group.Partition(transactionalID, c.cfg.NumPartitions)
}

// usableLocked returns the error a request gets while the coordinator is not serving
// transactional ids.
func (c *Coordinator) usableLocked() error {
	switch {
	case c.mu.closed:
		return ErrCoordinatorNotAvailable
	case !c.mu.loaded:
		return ErrCoordinatorLoading
	}
	return nil
}

// persist appends the state of id to __transaction_state and waits until it is durable.
func (c *Coordinator) persist(ctx context.Context, id string, v *LogValue) error {
	if c.cfg.Log == nil {
		return nil
	}
	b := newBuilder()
	key := AppendKey(nil, id)
	if v == nil {
		b.Add(c.nowMs(), key, nil)
	} else {
		b.Add(c.nowMs(), key, AppendValue(nil, *v))
	}
	batch, err := b.Build(nil)
	if err != nil {
		return fmt.Errorf("%w: build %s record: %w", ErrCoordinatorNotAvailable, metadata.TransactionStateTopic, err)
	}
	if err := c.cfg.Log.Append(ctx, c.Partition(id), batch); err != nil {
		return fmt.Errorf("%w: write %s: %w", ErrCoordinatorNotAvailable, metadata.TransactionStateTopic, err)
	}
	return nil
}

// transition writes target for m (marked pending by the caller under mu) and then applies
// it; on a failed write m is left as it was. It takes mu itself.
func (c *Coordinator) transition(ctx context.Context, m *txnMeta, target LogValue) error {
	err := c.persist(ctx, m.id, &target)
	c.mu.Lock()
	defer c.mu.Unlock()
	m.settleLocked()
	if err != nil {
		return err
	}
	c.applyLocked(m, target)
	return nil
}

// applyLocked sets m to v, remembering the epoch it replaces.
func (c *Coordinator) applyLocked(m *txnMeta, v LogValue) {
	if v.ProducerID != m.producerID || v.ProducerEpoch != m.epoch {
		m.lastEpoch = m.epoch
		if v.ProducerID != m.producerID {
			m.previousProducerID, m.lastEpoch = m.producerID, -1
		}
	}
	m.producerID, m.epoch, m.timeoutMs, m.state = v.ProducerID, v.ProducerEpoch, v.TimeoutMs, v.State
	m.nextProducerID = v.NextProducerID
	m.partitions, m.startMs, m.updateMs, m.clientTxnVersion = v.Partitions, v.StartMs, v.LastUpdateMs, v.ClientTxnVersion
}

// epochExhausted reports whether an epoch cannot be bumped: the producer then gets a fresh
// producer id at epoch 0, as in Kafka.
func epochExhausted(epoch int16) bool { return epoch >= math.MaxInt16-1 }

func newBuilder() *record.Builder { return record.NewBuilder(record.None) }
