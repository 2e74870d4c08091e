package partition

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/storage"
)

// Isolation is a fetch's or ListOffsets' isolation level.
type Isolation int8

const (
	ReadUncommitted Isolation = 0 // up to the high watermark
	ReadCommitted   Isolation = 1 // up to the last stable offset
)

// NoLeaderEpoch in a request means "not given": the epoch is not checked.
const NoLeaderEpoch int32 = -1

// State is a partition's replica state as the metadata log records it.
type State struct {
	Leader         int32 // node id; -1 when there is none
	LeaderEpoch    int32
	PartitionEpoch int32
	Replicas       []int32
	ISR            []int32
}

// followerState is what the leader knows of one follower replica.
type followerState struct {
	logEndOffset     int64     // from the follower's latest fetch
	brokerEpoch      int64     // the follower's broker epoch in that fetch (KIP-903), -1 if not given
	logStartOffset   int64     // the follower's own log start offset in that fetch, -1 until known
	lastCaughtUpTime time.Time // last time it had fetched up to the leader's log end offset

	// lastFetchLeaderLEO and lastFetchTime are the leader's log end offset at the follower's
	// latest fetch and that fetch's time, for Kafka's caught-up rule (isr.go).
	lastFetchLeaderLEO int64
	lastFetchTime      time.Time
}

// Partition is one partition hosted on this node: the log plus the replica
// state Kafka keeps beside it — leader epoch, ISR, follower progress, high
// watermark, last stable offset — and the watchers of fetch long polls.
//
// Concurrency: Append and Read may run concurrently from many connections;
// the log serializes appends. leadership is held shared by Append (and the
// epoch checks of reads) and exclusively by SetState, so an append never
// straddles a leadership change. producers is held across a whole append
// (producer checks, storage append, producer table update) and across
// markers and snapshots, so duplicate detection and sequence checks see
// every earlier append; it serializes appends to this partition, which the
// log does anyway. mu guards the fields under it and is never held across
// storage I/O. Lock order: leadership, then producers, then mu.
type Partition struct {
	topic   string
	topicID [16]byte
	index   int32
	nodeID  int32
	log     *storage.Log
	logger  *slog.Logger
	now     func() time.Time

	// dynamicExpiration is the Manager's producer.id.expiration.ms (nil outside a Manager),
	// kept for rebuilding the producer table after a truncation.
	dynamicExpiration *atomic.Int64

	leadership sync.RWMutex

	producers struct {
		sync.Mutex
		states producerStates
	}

	mu struct {
		sync.Mutex
		config        Config
		state         State
		isLeader      bool
		followers     map[int32]*followerState // replicas other than this node, when leader
		highWatermark int64
		watchers      []*Waiter
		deleted       bool
		// ongoingTxns maps a producer id to the first offset of its open
		// transaction; the last stable offset stops at the smallest. An
		// append registers a transaction before its batch reaches the log,
		// so the high watermark can never expose it.
		ongoingTxns map[int64]int64
		// isr is the leader's ISR change in flight (isr.go).
		isr isrState
	}
}

func newPartition(topic string, topicID [16]byte, index, nodeID int32, log *storage.Log, cfg Config, logger *slog.Logger, now func() time.Time) *Partition {
	p := &Partition{topic: topic, topicID: topicID, index: index, nodeID: nodeID, log: log, logger: logger, now: now}
	p.mu.config = cfg
	p.mu.state = State{Leader: -1, LeaderEpoch: -1, PartitionEpoch: -1}
	p.mu.highWatermark = log.LogStartOffset()
	p.mu.ongoingTxns = make(map[int64]int64)
	p.producers.states = newProducerStates(DefaultProducerIDExpirationMs, DefaultProducerIDExpirationCheckIntervalMs)
	log.SetDurableHook(p.durableAdvanced)
	return p
}

// durableAdvanced runs on the storage syncer after a group-commit round covering this
// partition's log: the high watermark may move, and acks=1 waiters (Durable) and waiters for
// a failed round must re-check even when it does not.
func (p *Partition) durableAdvanced() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.maybeAdvanceHighWatermarkLocked()
	p.notifyLocked()
}

// Topic is the partition's topic name.
func (p *Partition) Topic() string { return p.topic }

// TopicID is the partition's topic id.
func (p *Partition) TopicID() [16]byte { return p.topicID }

// Index is the partition number.
func (p *Partition) Index() int32 { return p.index }

// Log is the partition's storage log.
func (p *Partition) Log() *storage.Log { return p.log }

// SetConfig replaces the produce-time settings (AlterConfigs).
func (p *Partition) SetConfig(cfg Config) {
	p.mu.Lock()
	p.mu.config = cfg
	p.mu.Unlock()
}

// Config returns the produce-time settings.
func (p *Partition) Config() Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.config
}

// SetState applies the partition's replica state from the metadata log.
// An update with an older partition epoch than the one applied is ignored.
// Becoming leader records the new epoch's start offset in the leader epoch
// cache and resets follower progress; the high watermark never moves back.
// The epoch entry is visible when the locks are released; its checkpoint
// is written (and fsynced) after them, so appends, fetches and HW reads of
// this partition never wait on that fsync (the caller, reconcile on the
// FSM goroutine, runs many partitions' SetState in parallel).
func (p *Partition) SetState(s State) error {
	staged, err := p.setStateLocked(s)
	if err != nil || !staged {
		return err
	}
	if err := p.log.LeaderEpochs().Persist(); err != nil {
		return fmt.Errorf("partition %s-%d: record leader epoch %d: %w", p.topic, p.index, s.LeaderEpoch, err)
	}
	return nil
}

// setStateLocked applies s under leadership and mu; staged reports a leader
// epoch entry waiting for its checkpoint write.
func (p *Partition) setStateLocked(s State) (staged bool, err error) {
	p.leadership.Lock()
	defer p.leadership.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.deleted {
		return false, ErrDeleted
	}
	if s.PartitionEpoch < p.mu.state.PartitionEpoch {
		return false, nil
	}
	wasLeader, oldEpoch := p.mu.isLeader, p.mu.state.LeaderEpoch
	if s.PartitionEpoch != p.mu.state.PartitionEpoch || s.Leader != p.mu.state.Leader {
		p.isrResetLocked() // a pending ISR change was based on the old state
	}
	p.mu.state = State{Leader: s.Leader, LeaderEpoch: s.LeaderEpoch, PartitionEpoch: s.PartitionEpoch,
		Replicas: slices.Clone(s.Replicas), ISR: slices.Clone(s.ISR)}
	p.mu.isLeader = s.Leader == p.nodeID
	if p.mu.isLeader && (!wasLeader || s.LeaderEpoch != oldEpoch) {
		if staged, err = p.log.LeaderEpochs().StageAssign(s.LeaderEpoch, p.log.LogEndOffset()); err != nil {
			return false, fmt.Errorf("partition %s-%d: record leader epoch %d: %w", p.topic, p.index, s.LeaderEpoch, err)
		}
		p.mu.followers = make(map[int32]*followerState)
		now := p.now()
		for _, r := range s.Replicas {
			if r != p.nodeID {
				// Until a follower fetches, assume it is as far as the HW.
				p.mu.followers[r] = &followerState{logEndOffset: p.mu.highWatermark, brokerEpoch: -1, logStartOffset: -1, lastCaughtUpTime: now}
			}
		}
	} else if p.mu.isLeader {
		p.syncFollowersLocked() // a reassignment may add or remove replicas under the same leader
	}
	if !p.mu.isLeader {
		p.mu.followers = nil
	}
	p.maybeAdvanceHighWatermarkLocked()
	p.notifyLocked()
	return staged, nil
}

// State returns the applied replica state.
func (p *Partition) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.state
}

// IsLeader reports whether this node leads the partition.
func (p *Partition) IsLeader() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.isLeader
}

// HighWatermark is the offset below which records are committed: replicated
// to every member of the ISR and, in group-commit mode, durable on this node.
func (p *Partition) HighWatermark() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.highWatermark
}

// LastStableOffset is the offset below which no transaction is open: the
// high watermark, or the first offset of the earliest ongoing transaction
// if that is lower. read_committed consumers read up to it.
func (p *Partition) LastStableOffset() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastStableOffsetLocked()
}

func (p *Partition) lastStableOffsetLocked() int64 {
	lso := p.mu.highWatermark
	for _, first := range p.mu.ongoingTxns {
		lso = min(lso, first)
	}
	return lso
}

// LogStartOffset is the first offset still in the log.
func (p *Partition) LogStartOffset() int64 { return p.log.LogStartOffset() }

// LogEndOffset is the offset the next record will get.
func (p *Partition) LogEndOffset() int64 { return p.log.LogEndOffset() }

// maybeAdvanceHighWatermarkLocked sets the high watermark to
// committedEndLocked, if that is higher, and wakes watchers when it moves.
func (p *Partition) maybeAdvanceHighWatermarkLocked() {
	if !p.mu.isLeader {
		return
	}
	hw := p.committedEndLocked()
	if hw > p.mu.highWatermark {
		p.mu.highWatermark = hw
		p.notifyLocked()
	}
}

// committedEndLocked is the offset every source of the high watermark has
// reached, the minimum over: the leader's durable offset (the log end offset
// in page-cache mode; in group-commit mode what the last completed fsync
// covered, so nothing a power loss can take back is ever visible or
// acknowledged) and the log end offset of each follower in the ISR.
func (p *Partition) committedEndLocked() int64 {
	end := min(p.log.LogEndOffset(), p.log.DurableOffset())
	for _, r := range p.mu.state.ISR {
		if f, ok := p.mu.followers[r]; ok && f.logEndOffset < end {
			end = f.logEndOffset
		}
	}
	for _, r := range p.mu.isr.pending { // KIP-497's maximal ISR (isr.go)
		if f, ok := p.mu.followers[r]; ok && f.logEndOffset < end {
			end = f.logEndOffset
		}
	}
	return end
}

// UpdateFollowerFetch records that follower replica (of broker epoch brokerEpoch, -1 if
// unknown) fetched from fetchOffset (so holds everything below it) and advances the high
// watermark. It is the hook replication uses; ISR changes themselves go through the
// controller.
func (p *Partition) UpdateFollowerFetch(replica int32, brokerEpoch int64, fetchOffset int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.mu.isLeader {
		return ErrNotLeader
	}
	f, ok := p.mu.followers[replica]
	if !ok {
		return fmt.Errorf("%w: replica %d is not a follower of %s-%d", ErrNotFollower, replica, p.topic, p.index)
	}
	f.logEndOffset, f.brokerEpoch = fetchOffset, brokerEpoch
	if fetchOffset >= p.log.LogEndOffset() {
		f.lastCaughtUpTime = p.now()
	}
	p.isrFetchedLocked(f, fetchOffset)
	p.maybeAdvanceHighWatermarkLocked()
	return nil
}

// checkEpochLocked validates a request's current leader epoch (KIP-320).
func (p *Partition) checkEpochLocked(requested int32) error {
	switch {
	case requested == NoLeaderEpoch:
		return nil
	case requested < p.mu.state.LeaderEpoch:
		return fmt.Errorf("%w: request epoch %d, partition epoch %d", ErrFencedLeaderEpoch, requested, p.mu.state.LeaderEpoch)
	case requested > p.mu.state.LeaderEpoch:
		return fmt.Errorf("%w: request epoch %d, partition epoch %d", ErrUnknownLeaderEpoch, requested, p.mu.state.LeaderEpoch)
	}
	return nil
}

// markDeleted fails later calls and wakes every waiter.
func (p *Partition) markDeleted() {
	p.leadership.Lock()
	defer p.leadership.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.deleted = true
	p.mu.isLeader = false
	p.notifyLocked()
}
