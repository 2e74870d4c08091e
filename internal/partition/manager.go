package partition

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/storage"
)

// TopicPartition names a partition.
type TopicPartition = storage.TopicPartition

// ManagerOptions configure a Manager.
type ManagerOptions struct {
	NodeID  int32
	Storage *storage.Manager
	Logger  *slog.Logger     // nil discards
	Now     func() time.Time // nil: time.Now
	// ProducerIDExpirationMs (producer.id.expiration.ms) and
	// ProducerIDExpirationCheckIntervalMs (producer.id.expiration.check.interval.ms):
	// how long an idle producer's state is kept and how often partitions
	// look for expired ones; 0 takes Kafka's defaults. Expiry is lazy (on
	// appends and DescribeProducers), so no goroutine runs per partition.
	ProducerIDExpirationMs              int64
	ProducerIDExpirationCheckIntervalMs int64
}

// Manager holds the partitions hosted on this node. The broker tells it what
// to host as metadata changes (Create, Delete, Partition.SetState,
// Partition.SetConfig); handlers look partitions up.
//
// Concurrency: mu guards the maps and is held only for lookups and
// inserts, never across I/O: a partition being created (log creation with
// its fsyncs, producer-state replay) has a placeholder in creating, so
// lookups of other partitions never wait on it and a lookup of that one
// finds it absent until it is ready. A second Create or a Delete of the
// same partition waits for the placeholder's done channel. A *Partition is
// safe for concurrent use on its own.
type Manager struct {
	nodeID  int32
	storage *storage.Manager
	logger  *slog.Logger
	now     func() time.Time

	// producerExpirationMs is producer.id.expiration.ms, which can change while the broker
	// runs (SetProducerIDExpiration); producerExpiryCheckMs is fixed.
	producerExpirationMs  atomic.Int64
	producerExpiryCheckMs int64

	mu struct {
		sync.RWMutex
		partitions map[TopicPartition]*Partition
		creating   map[TopicPartition]chan struct{} // closed when the creation ends
	}
}

// SetProducerIDExpiration changes producer.id.expiration.ms (a dynamic broker config) for
// every partition of the Manager, hosted now or later: each reads it at its next expiry
// check. ms <= 0 is ignored.
func (m *Manager) SetProducerIDExpiration(ms int64) {
	if ms > 0 {
		m.producerExpirationMs.Store(ms)
	}
}

// ProducerIDExpiration is the producer.id.expiration.ms in force.
func (m *Manager) ProducerIDExpiration() int64 { return m.producerExpirationMs.Load() }

// NewManager returns a Manager with no partitions.
func NewManager(opts ManagerOptions) *Manager {
	m := &Manager{nodeID: opts.NodeID, storage: opts.Storage, logger: opts.Logger, now: opts.Now,
		producerExpiryCheckMs: opts.ProducerIDExpirationCheckIntervalMs}
	m.producerExpirationMs.Store(opts.ProducerIDExpirationMs)
	if opts.ProducerIDExpirationMs <= 0 {
		m.producerExpirationMs.Store(DefaultProducerIDExpirationMs)
	}
	if m.producerExpiryCheckMs <= 0 {
		m.producerExpiryCheckMs = DefaultProducerIDExpirationCheckIntervalMs
	}
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.mu.partitions = make(map[TopicPartition]*Partition)
	m.mu.creating = make(map[TopicPartition]chan struct{})
	return m
}

// NodeID is the id of the node whose partitions these are.
func (m *Manager) NodeID() int32 { return m.nodeID }

// Partition returns the hosted partition.
func (m *Manager) Partition(topic string, partition int32) (*Partition, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.mu.partitions[TopicPartition{Topic: topic, Partition: partition}]
	return p, ok
}

// Partitions returns every hosted partition, ordered by topic and partition.
func (m *Manager) Partitions() []*Partition {
	m.mu.RLock()
	out := make([]*Partition, 0, len(m.mu.partitions))
	for _, p := range m.mu.partitions {
		out = append(out, p)
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Partition) int {
		if c := cmp.Compare(a.topic, b.topic); c != 0 {
			return c
		}
		return cmp.Compare(a.index, b.index)
	})
	return out
}

// Create hosts a partition: it opens or creates its log and returns the
// partition with no replica state yet (SetState makes it leader or
// follower). Creating a partition already hosted with the same topic id
// returns it unchanged. The log's creation and the producer-state replay
// run without mu (see Manager); concurrent Creates of one partition create
// it once.
func (m *Manager) Create(tp TopicPartition, topicID [16]byte, logCfg storage.LogConfig, cfg Config) (*Partition, error) {
	p, done, err := m.claim(tp, topicID)
	if p != nil || err != nil {
		return p, err
	}
	defer func() {
		m.mu.Lock()
		delete(m.mu.creating, tp)
		if p != nil {
			m.mu.partitions[tp] = p
		}
		m.mu.Unlock()
		close(done)
	}()
	log, err := m.storage.CreateLog(tp, topicID, logCfg)
	if err != nil {
		return nil, fmt.Errorf("partition %s-%d: %w", tp.Topic, tp.Partition, err)
	}
	p = newPartition(tp.Topic, topicID, tp.Partition, m.nodeID, log, cfg,
		m.logger.With("topic", tp.Topic, "partition", tp.Partition), m.now)
	p.producers.states = newProducerStates(m.producerExpirationMs.Load(), m.producerExpiryCheckMs)
	p.dynamicExpiration = &m.producerExpirationMs
	p.producers.states.dynamicExpirationMs = p.dynamicExpiration
	if err := p.loadProducerState(); err != nil {
		p = nil
		return nil, fmt.Errorf("partition %s-%d: %w", tp.Topic, tp.Partition, err)
	}
	if hw, ok := m.storage.CheckpointedHighWatermark(tp); ok {
		// Kafka's replication-offset-checkpoint: what consumers could read before the restart
		// stays readable on a leader until its followers report in (never past the log end).
		p.mu.highWatermark = max(log.LogStartOffset(), min(hw, log.LogEndOffset()))
	}
	return p, nil
}

// HighWatermarks returns every hosted partition's high watermark, for
// replication-offset-checkpoint.
func (m *Manager) HighWatermarks() map[TopicPartition]int64 {
	parts := m.Partitions()
	out := make(map[TopicPartition]int64, len(parts))
	for _, p := range parts {
		out[TopicPartition{Topic: p.topic, Partition: p.index}] = p.HighWatermark()
	}
	return out
}

// claim returns the hosted partition tp, or registers this caller as its
// creator (done is then the channel to close when the creation ends),
// waiting out another caller's creation of it first.
func (m *Manager) claim(tp TopicPartition, topicID [16]byte) (p *Partition, done chan struct{}, err error) {
	m.mu.Lock()
	for {
		if p, ok := m.mu.partitions[tp]; ok {
			m.mu.Unlock()
			if p.topicID != topicID {
				return nil, nil, fmt.Errorf("partition %s-%d: hosted with another topic id: %w", tp.Topic, tp.Partition, storage.ErrTopicIDMismatch)
			}
			return p, nil, nil
		}
		busy, ok := m.mu.creating[tp]
		if !ok {
			break
		}
		m.mu.Unlock()
		<-busy
		m.mu.Lock()
	}
	done = make(chan struct{})
	m.mu.creating[tp] = done
	m.mu.Unlock()
	return nil, done, nil
}

// waitCreation returns once no Create of tp is in progress.
func (m *Manager) waitCreation(tp TopicPartition) {
	for {
		m.mu.RLock()
		busy, ok := m.mu.creating[tp]
		m.mu.RUnlock()
		if !ok {
			return
		}
		<-busy
	}
}

// Close snapshots every hosted partition's producer state, so the next
// start replays nothing. Call it before closing storage. Partitions stay
// usable; failures are joined. Snapshots are written on up to applyWorkers
// goroutines: each waits on its own fsyncs, and one by one 10,000
// partitions took tens of seconds.
func (m *Manager) Close() error {
	parts := m.Partitions()
	errs := make([]error, len(parts))
	storage.ForEachParallel(len(parts), applyWorkers, func(i int) {
		p := parts[i]
		p.mu.Lock()
		deleted := p.mu.deleted
		p.mu.Unlock()
		if !deleted {
			errs[i] = p.TakeSnapshot()
		}
	})
	return errors.Join(errs...)
}

// Delete stops hosting a partition and deletes its log. Waiters on it are
// woken and calls on it fail with ErrDeleted.
func (m *Manager) Delete(tp TopicPartition) error {
	m.waitCreation(tp)
	m.mu.Lock()
	p, ok := m.mu.partitions[tp]
	delete(m.mu.partitions, tp)
	m.mu.Unlock()
	if !ok {
		return nil
	}
	p.markDeleted()
	if err := m.storage.DeleteLog(tp); err != nil {
		return fmt.Errorf("partition %s-%d: delete log: %w", tp.Topic, tp.Partition, err)
	}
	return nil
}
