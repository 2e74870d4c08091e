package coordinator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/share"
)

// StateTopic is the share coordinator's internal topic.
const StateTopic = metadata.ShareGroupStateTopic

// Config configures a Coordinator. Zero values take Kafka's defaults.
type Config struct {
	// Log is __share_group_state; every change is committed in it before it is applied or
	// answered.
	Log StateLog
	// NumPartitions is share.coordinator.state.topic.num.partitions (50), or the existing
	// topic's partition count.
	NumPartitions int32
	// SnapshotUpdateRecordsPerSnapshot is
	// share.coordinator.snapshot.update.records.per.snapshot (500): after this many
	// ShareUpdate records of a share-partition the next write is a ShareSnapshot.
	SnapshotUpdateRecordsPerSnapshot int
	// WriteTimeout is share.coordinator.write.timeout.ms (5 s): how long a write waits for
	// its record to be committed.
	WriteTimeout time.Duration
	// LoadBufferSize is share.coordinator.load.buffer.size (5 MiB): the read size when
	// loading a state partition.
	LoadBufferSize int
	// FollowLeadership makes the coordinator serve only the share-partitions of the
	// __share_group_state partitions this node leads (LoadPartitions at start, Elected after,
	// until Resigned); others get NOT_COORDINATOR, those of a partition still loading
	// COORDINATOR_LOAD_IN_PROGRESS. False (tests without a broker): every key is served.
	FollowLeadership bool
	// PruneInterval is share.coordinator.state.topic.prune.interval.ms (5 min): how often
	// each state partition led here loses the records below the oldest snapshot a
	// share-partition still needs (Start runs it; the topic has unlimited retention).
	PruneInterval time.Duration
	// Compression is share.coordinator.state.topic.compression.codec.
	Compression record.Codec
	Logger      *slog.Logger
	// PanicRecovered, if set, counts panics recovered in the coordinator's goroutines
	// ("share.loader", "share.prune").
	PanicRecovered func(where string)
	// Now is the clock (record timestamps); nil means time.Now.
	Now func() time.Time
}

// StateLog is __share_group_state as the coordinator writes it.
type StateLog interface {
	// Append writes one record batch to the partition and returns its base offset once the
	// high watermark passed it (acks=-1).
	Append(ctx context.Context, partition int32, batch []byte) (int64, error)
}

// Pruner deletes a state partition's records below an offset (DeleteRecords as the
// partition's leader); a StateLog that implements it is pruned every PruneInterval.
type Pruner interface {
	DeleteBefore(partition int32, offset int64) error
}

// pstate is what the coordinator keeps of one share-partition: its last snapshot with the
// updates since applied.
type pstate struct {
	snapshotEpoch         int32
	stateEpoch            int32
	leaderEpoch           int32
	startOffset           int64
	deliveryCompleteCount int32
	createTs, writeTs     int64
	batches               []share.StateBatch
	// updates counts the ShareUpdate records since the snapshot.
	updates int
	// snapshotOffset is the offset of the snapshot record in __share_group_state (-1 unknown):
	// records below the smallest of a partition's are no longer needed.
	snapshotOffset int64
}

// entry is one share-partition key. write serializes the writes of the key across their
// append (so its records are applied in log order); st (nil: no state) is guarded by
// Coordinator.mu.
type entry struct {
	write sync.Mutex
	st    *pstate
}

// Coordinator is the share coordinator: it keeps each share-partition's delivery state in
// __share_group_state with Kafka's ShareSnapshot and ShareUpdate records and implements
// share.Persister for the share-partitions whose state partition this node leads.
//
// Concurrency: mu guards the maps and every entry's st and is a leaf lock; it is never held
// across I/O. entry.write is held across one write's append and commit wait (one key's writes
// in order; other keys proceed).
type Coordinator struct {
	cfg    Config
	logger *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu struct {
		sync.Mutex
		keys   map[share.Key]*entry
		owned  map[int32]*ownedPartition
		closed bool
	}
}

// New returns a coordinator.
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
	if cfg.SnapshotUpdateRecordsPerSnapshot < 0 {
		cfg.SnapshotUpdateRecordsPerSnapshot = 0
	} else if cfg.SnapshotUpdateRecordsPerSnapshot == 0 {
		cfg.SnapshotUpdateRecordsPerSnapshot = 500
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 5 * time.Second
	}
	if cfg.PruneInterval <= 0 {
		cfg.PruneInterval = 5 * time.Minute
	}
	c := &Coordinator{cfg: cfg, logger: cfg.Logger}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.mu.keys = map[share.Key]*entry{}
	return c
}

// Close stops loaders and fails later requests with COORDINATOR_NOT_AVAILABLE.
func (c *Coordinator) Close() {
	c.mu.Lock()
	c.mu.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// Partition is k's __share_group_state partition: abs(Java hashCode) of Kafka's coordinator
// key "group:topicId:partition" modulo the partition count.
func (c *Coordinator) Partition(k share.Key) int32 {
	return PartitionFor(k, c.cfg.NumPartitions)
}

// PartitionFor is k's __share_group_state partition among n.
func PartitionFor(k share.Key, n int32) int32 { return group.Partition(CoordinatorKey(k), n) }

// servesLocked is the error a request for k gets: COORDINATOR_NOT_AVAILABLE once closed;
// following leadership NOT_COORDINATOR when k's partition is not led here and
// COORDINATOR_LOAD_IN_PROGRESS while it loads.
func (c *Coordinator) servesLocked(k share.Key) error {
	if c.mu.closed {
		return fmt.Errorf("%w: share coordinator closed", kerr.CoordinatorNotAvailable)
	}
	if !c.cfg.FollowLeadership {
		return nil
	}
	p := c.mu.owned[c.Partition(k)]
	switch {
	case p == nil:
		return fmt.Errorf("%w: %s-%d is not led here", kerr.NotCoordinator, StateTopic, c.Partition(k))
	case !p.loaded:
		return fmt.Errorf("%w: %s-%d", kerr.CoordinatorLoadInProgress, StateTopic, c.Partition(k))
	}
	return nil
}

// lockEntry returns k's entry with its write lock held, or the error k gets.
func (c *Coordinator) lockEntry(k share.Key) (*entry, error) {
	for {
		c.mu.Lock()
		if err := c.servesLocked(k); err != nil {
			c.mu.Unlock()
			return nil, err
		}
		e := c.mu.keys[k]
		if e == nil {
			e = &entry{}
			c.mu.keys[k] = e
		}
		c.mu.Unlock()
		e.write.Lock()
		c.mu.Lock()
		current := c.mu.keys[k] == e
		c.mu.Unlock()
		if current {
			return e, nil
		}
		e.write.Unlock() // resigned or deleted meanwhile: look again
	}
}

// unlockEntry releases e; an entry left without state is dropped from the map.
func (c *Coordinator) unlockEntry(k share.Key, e *entry) {
	c.mu.Lock()
	if e.st == nil && c.mu.keys[k] == e {
		delete(c.mu.keys, k)
	}
	c.mu.Unlock()
	e.write.Unlock()
}

func (c *Coordinator) nowMs() int64 { return c.cfg.Now().UnixMilli() }

// append writes one batch of (key, value) records to k's partition, waits until it is
// committed and returns its base offset.
func (c *Coordinator) append(ctx context.Context, k share.Key, recs ...[2][]byte) (int64, error) {
	if c.cfg.Log == nil {
		return -1, nil
	}
	b := record.NewBuilder(c.cfg.Compression)
	now := c.nowMs()
	for _, r := range recs {
		b.Add(now, r[0], r[1])
	}
	batch, err := b.Build(nil)
	if err != nil {
		return -1, fmt.Errorf("%w: build %s record: %w", kerr.CoordinatorNotAvailable, StateTopic, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.WriteTimeout)
	defer cancel()
	offset, err := c.cfg.Log.Append(ctx, c.Partition(k), batch)
	if err != nil {
		if errors.Is(err, partition.ErrNotLeader) {
			return -1, fmt.Errorf("%w: write %s: %w", kerr.NotCoordinator, StateTopic, err)
		}
		return -1, fmt.Errorf("%w: write %s: %w", kerr.CoordinatorNotAvailable, StateTopic, err)
	}
	return offset, nil
}

// snapshotRecord is the ShareSnapshot of st for k.
func snapshotRecord(k share.Key, st *pstate) [2][]byte {
	return [2][]byte{AppendKey(nil, TypeSnapshot, k), AppendSnapshot(nil, Snapshot{SnapshotEpoch: st.snapshotEpoch,
		StateEpoch: st.stateEpoch, LeaderEpoch: st.leaderEpoch, StartOffset: st.startOffset,
		DeliveryCompleteCount: st.deliveryCompleteCount, CreateTimestamp: st.createTs, WriteTimestamp: st.writeTs,
		Batches: st.batches})}
}

// Initialize implements share.Persister: a ShareSnapshot at stateEpoch and startOffset with
// no batches. An older stateEpoch than the stored one is FENCED_STATE_EPOCH.
func (c *Coordinator) Initialize(ctx context.Context, k share.Key, stateEpoch int32, startOffset int64) error {
	e, err := c.lockEntry(k)
	if err != nil {
		return err
	}
	defer c.unlockEntry(k, e)
	c.mu.Lock()
	old := e.st
	c.mu.Unlock()
	if old != nil && stateEpoch < old.stateEpoch {
		return fmt.Errorf("%w: state epoch %d, the state is at %d", kerr.FencedStateEpoch, stateEpoch, old.stateEpoch)
	}
	now := c.nowMs()
	st := &pstate{stateEpoch: stateEpoch, leaderEpoch: -1, startOffset: startOffset, deliveryCompleteCount: 0, createTs: now, writeTs: now}
	if old != nil {
		st.snapshotEpoch = old.snapshotEpoch + 1
	}
	offset, err := c.append(ctx, k, snapshotRecord(k, st))
	if err != nil {
		return err
	}
	st.snapshotOffset = offset
	c.mu.Lock()
	e.st = st
	c.mu.Unlock()
	return nil
}

// Read implements share.Persister. leaderEpoch -1 reads without fencing; an older one than
// stored is FENCED_LEADER_EPOCH; a newer one is stored (written) before the answer, fencing
// the older leader's writes. No state: UNKNOWN_TOPIC_OR_PARTITION.
func (c *Coordinator) Read(ctx context.Context, k share.Key, leaderEpoch int32) (share.PartitionState, error) {
	e, err := c.lockEntry(k)
	if err != nil {
		return share.PartitionState{}, err
	}
	defer c.unlockEntry(k, e)
	c.mu.Lock()
	st := e.st
	c.mu.Unlock()
	if st == nil {
		return share.PartitionState{}, fmt.Errorf("%w: no state for share-partition %s", kerr.UnknownTopicOrPartition, CoordinatorKey(k))
	}
	if leaderEpoch >= 0 && leaderEpoch < st.leaderEpoch {
		return share.PartitionState{}, fmt.Errorf("%w: leader epoch %d, the state is at %d", kerr.FencedLeaderEpoch, leaderEpoch, st.leaderEpoch)
	}
	if leaderEpoch > st.leaderEpoch {
		if st, err = c.writeLocked(ctx, k, e, share.Write{StateEpoch: st.stateEpoch, LeaderEpoch: leaderEpoch, StartOffset: -1,
			DeliveryCompleteCount: st.deliveryCompleteCount}); err != nil {
			return share.PartitionState{}, err
		}
	}
	return share.PartitionState{StateEpoch: st.stateEpoch, LeaderEpoch: st.leaderEpoch, StartOffset: st.startOffset,
		DeliveryCompleteCount: st.deliveryCompleteCount, Batches: slices.Clone(st.batches)}, nil
}

// ReadSummary implements share.Persister (no write: a newer leaderEpoch is not stored).
func (c *Coordinator) ReadSummary(_ context.Context, k share.Key, leaderEpoch int32) (share.Summary, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.servesLocked(k); err != nil {
		return share.Summary{}, err
	}
	e := c.mu.keys[k]
	if e == nil || e.st == nil {
		return share.Summary{}, fmt.Errorf("%w: no state for share-partition %s", kerr.UnknownTopicOrPartition, CoordinatorKey(k))
	}
	st := e.st
	if leaderEpoch >= 0 && leaderEpoch < st.leaderEpoch {
		return share.Summary{}, fmt.Errorf("%w: leader epoch %d, the state is at %d", kerr.FencedLeaderEpoch, leaderEpoch, st.leaderEpoch)
	}
	return share.Summary{StateEpoch: st.stateEpoch, LeaderEpoch: st.leaderEpoch, StartOffset: st.startOffset,
		DeliveryCompleteCount: st.deliveryCompleteCount}, nil
}

// Write implements share.Persister: an older state epoch is FENCED_STATE_EPOCH, an older
// leader epoch FENCED_LEADER_EPOCH. The record is a ShareSnapshot for a share-partition
// without state and after SnapshotUpdateRecordsPerSnapshot updates, else a ShareUpdate; it
// returns once the record is committed.
func (c *Coordinator) Write(ctx context.Context, k share.Key, w share.Write) error {
	e, err := c.lockEntry(k)
	if err != nil {
		return err
	}
	defer c.unlockEntry(k, e)
	_, err = c.writeLocked(ctx, k, e, w)
	return err
}

// writeLocked is Write with e.write held; it returns the new state.
func (c *Coordinator) writeLocked(ctx context.Context, k share.Key, e *entry, w share.Write) (*pstate, error) {
	for _, b := range w.Batches {
		if b.LastOffset < b.FirstOffset || b.FirstOffset < 0 {
			return nil, fmt.Errorf("%w: state batch %d..%d", kerr.InvalidRequest, b.FirstOffset, b.LastOffset)
		}
	}
	c.mu.Lock()
	old := e.st
	c.mu.Unlock()
	if old != nil {
		if w.StateEpoch < old.stateEpoch {
			return nil, fmt.Errorf("%w: state epoch %d, the state is at %d", kerr.FencedStateEpoch, w.StateEpoch, old.stateEpoch)
		}
		if w.LeaderEpoch < old.leaderEpoch {
			return nil, fmt.Errorf("%w: leader epoch %d, the state is at %d", kerr.FencedLeaderEpoch, w.LeaderEpoch, old.leaderEpoch)
		}
	}
	now := c.nowMs()
	st := &pstate{stateEpoch: w.StateEpoch, leaderEpoch: w.LeaderEpoch, startOffset: w.StartOffset,
		deliveryCompleteCount: w.DeliveryCompleteCount, createTs: now, writeTs: now}
	if old != nil {
		*st = *old
		st.leaderEpoch, st.writeTs = w.LeaderEpoch, now
		if w.StartOffset >= 0 {
			st.startOffset = w.StartOffset
		}
		if w.DeliveryCompleteCount >= 0 {
			st.deliveryCompleteCount = w.DeliveryCompleteCount
		}
	}
	st.batches = mergeBatches(st.batches, w.Batches, st.startOffset)
	var rec [2][]byte
	snapshot := old == nil || old.updates >= c.cfg.SnapshotUpdateRecordsPerSnapshot
	if snapshot {
		if old != nil {
			st.snapshotEpoch = old.snapshotEpoch + 1
		}
		st.updates = 0
		rec = snapshotRecord(k, st)
	} else {
		st.updates = old.updates + 1
		rec = [2][]byte{AppendKey(nil, TypeUpdate, k), AppendUpdate(nil, Update{SnapshotEpoch: st.snapshotEpoch,
			LeaderEpoch: st.leaderEpoch, StartOffset: w.StartOffset, DeliveryCompleteCount: w.DeliveryCompleteCount,
			Batches: w.Batches})}
	}
	offset, err := c.append(ctx, k, rec)
	if err != nil {
		return nil, err
	}
	if snapshot {
		st.snapshotOffset = offset
	}
	c.mu.Lock()
	e.st = st
	c.mu.Unlock()
	return st, nil
}

// Delete implements share.Persister: tombstones for k's ShareSnapshot and ShareUpdate keys,
// then k is forgotten. Deleting a share-partition without state succeeds.
func (c *Coordinator) Delete(ctx context.Context, k share.Key) error {
	e, err := c.lockEntry(k)
	if err != nil {
		return err
	}
	defer c.unlockEntry(k, e)
	c.mu.Lock()
	had := e.st != nil
	c.mu.Unlock()
	if !had {
		return nil
	}
	if _, err := c.append(ctx, k, [2][]byte{AppendKey(nil, TypeSnapshot, k), nil}, [2][]byte{AppendKey(nil, TypeUpdate, k), nil}); err != nil {
		return err
	}
	c.mu.Lock()
	e.st = nil
	c.mu.Unlock()
	return nil
}

// Keys returns the share-partitions with state of group (every group when group is ""), for
// the admin APIs and tests.
func (c *Coordinator) Keys(group string) []share.Key {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []share.Key
	for k, e := range c.mu.keys {
		if e.st != nil && (group == "" || k.Group == group) {
			out = append(out, k)
		}
	}
	return out
}

var _ share.Persister = (*Coordinator)(nil)
