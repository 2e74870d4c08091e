package group

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/record"
)

// OffsetLog is the __consumer_offsets topic as the coordinator writes it.
type OffsetLog interface {
	// Append writes one record batch to the topic's partition and returns once the batch is
	// as durable as the log makes it (acks=-1: the high watermark passed it).
	Append(ctx context.Context, partition int32, batch []byte) error
}

// Partition is the __consumer_offsets partition of a group: abs(Java String.hashCode) modulo
// the partition count, as Kafka places groups.
func Partition(groupID string, numPartitions int32) int32 {
	var h int32
	for _, r := range groupID {
		if r >= 0x10000 { // a surrogate pair in Java's UTF-16
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % numPartitions
}

// offsetBatch builds the record batch of one commit: one record per partition, keyed by
// (group, topic, partition), valued by the offset commit value v3.
func offsetBatch(codec record.Codec, groupID string, offsets []OffsetCommit, now int64) ([]byte, error) {
	b := record.NewBuilder(codec)
	var key, value []byte
	for _, o := range offsets {
		key = AppendOffsetKey(key[:0], groupID, o.Topic, o.Partition)
		value = AppendOffsetValue(value[:0], o)
		b.Add(now, key, value)
	}
	return b.Build(nil)
}

// newBuilder starts a batch in the codec of offsets.topic.compression.codec.
func newBuilder(codec record.Codec) *record.Builder { return record.NewBuilder(codec) }

// tombstoneBatch builds the batch deleting the offsets of keys (records without a value) and,
// with wholeGroup, the group's metadata record (with consumer, a consumer group's epoch and
// target assignment epoch records too: it has no members, so no member records are left).
func tombstoneBatch(codec record.Codec, groupID string, keys []topicPartition, wholeGroup, consumer, isShare bool) ([]byte, error) {
	b := newBuilder(codec)
	now := time.Now().UnixMilli()
	var key []byte
	for _, tp := range keys {
		key = AppendOffsetKey(key[:0], groupID, tp.topic, tp.partition)
		b.Add(now, key, nil)
	}
	if wholeGroup {
		b.Add(now, AppendGroupKey(nil, groupID), nil)
	}
	if consumer {
		b.Add(now, appendConsumerKey(nil, keyTargetMetadata, groupID, ""), nil)
		b.Add(now, appendConsumerKey(nil, keyConsumerGroup, groupID, ""), nil)
	}
	if isShare { // an empty share group: no member records are left
		b.Add(now, appendShareKey(nil, keyShareStatePartitions, groupID, ""), nil)
		b.Add(now, appendShareKey(nil, keyShareTargetMetadata, groupID, ""), nil)
		b.Add(now, appendShareKey(nil, keyShareGroup, groupID, ""), nil)
	}
	return b.Build(nil)
}

// Load applies __consumer_offsets record batches (one partition's log, in offset order) to
// the coordinator's committed offsets. Bad records are skipped and counted in the returned
// error; batches that cannot be read at all stop the load with an error.
func (c *Coordinator) Load(batches []byte) error { return c.loadPartitionBatches(-1, batches) }

// loadPartitionBatches is Load for the log of partition index (-1: unknown); transactional
// and control batches go to loadTxnBatch (txnoffsets.go). Each record is applied under its
// group's mutex alone; requests of the partition's groups wait for the whole load (startLoad),
// those of other partitions' groups go on.
func (c *Coordinator) loadPartitionBatches(index int32, batches []byte) error {
	defer c.startLoad(index)()
	var bad int
	var buf []byte
	bs := record.NewBatches(batches)
	for {
		batch, h, ok := bs.Next()
		if !ok {
			break
		}
		if done, err := c.loadTxnBatch(index, batch, h, &buf, &bad); done {
			if err != nil {
				return fmt.Errorf("load __consumer_offsets: %w", err)
			}
			continue
		}
		recs, grown, err := record.Iterate(batch, buf, maxLoadedBatchBytes)
		buf = grown
		if err != nil {
			return fmt.Errorf("load __consumer_offsets: %w", err)
		}
		var rec record.Record
		for recs.Next(&rec) {
			if !c.applyRecord(rec.Key, rec.Value) {
				bad++
			}
		}
		if err := recs.Err(); err != nil {
			return fmt.Errorf("load __consumer_offsets: %w", err)
		}
	}
	if err := bs.Err(); err != nil {
		return fmt.Errorf("load __consumer_offsets: %w", err)
	}
	if bad > 0 {
		return fmt.Errorf("load __consumer_offsets: %d records skipped: %w", bad, ErrBadRecord)
	}
	return nil
}

// applyRecord applies one record under its group's mutex; false means it could not be
// decoded.
func (c *Coordinator) applyRecord(key, value []byte) bool {
	k, err := DecodeKey(key)
	if err != nil {
		return false
	}
	var o OffsetCommit
	if !k.IsGroup && k.Kind < keyConsumerGroup && value != nil {
		if o, err = DecodeOffsetValue(value); err != nil {
			return false
		}
	}
	// A tombstone never creates its group; nil otherwise means the coordinator is closed.
	g := c.lockGroupAs(k.Group, value != nil, true)
	if g != nil {
		defer g.mu.Unlock()
	} else if value != nil {
		return true
	}
	switch {
	case k.IsGroup:
		return c.restoreLocked(g, value)
	case isShareKind(k.Kind):
		return c.applyShareRecordLocked(g, k, value)
	case k.Kind >= keyConsumerGroup:
		return c.applyConsumerRecordLocked(g, k, value)
	}
	tp := topicPartition{k.Topic, k.Partition}
	if value == nil {
		if g != nil {
			delete(g.offsets, tp)
		}
		return true
	}
	o.Topic, o.Partition = k.Topic, k.Partition
	g.offsets[tp] = o
	return true
}

// PartitionLog is the OffsetLog on this broker's partitions: it creates __consumer_offsets
// through the controller on first need (compacted, offsets.topic.num.partitions partitions)
// and appends as the partition's leader with acks=-1.
type PartitionLog struct {
	Partitions        *partition.Manager
	Controller        TopicCreator
	NumPartitions     int32
	ReplicationFactor int16
	SegmentBytes      int // segment.bytes of the topic (offsets.topic.segment.bytes); 0: the broker's default
}

// CreateTopic is the CreateTopic of __consumer_offsets, as Kafka creates it: compacted, with
// offsets.topic.segment.bytes as its segment.bytes so that segments roll (and compaction and
// loading stay quick) long before the 1 GiB of ordinary topics. FindCoordinator creates it too.
func (l *PartitionLog) CreateTopic() metadata.CreateTopic {
	cfgs := map[string]string{string(config.CleanupPolicy): config.CleanupPolicyCompact}
	if l.SegmentBytes > 0 {
		cfgs[string(config.SegmentBytes)] = strconv.Itoa(l.SegmentBytes)
	}
	return metadata.CreateTopic{Name: metadata.ConsumerOffsetsTopic, NumPartitions: l.NumPartitions,
		ReplicationFactor: l.ReplicationFactor, Configs: cfgs}
}

// TopicCreator creates topics (*metadata.Controller).
type TopicCreator = partition.TopicCreator

// Append implements OffsetLog.
func (l *PartitionLog) Append(ctx context.Context, index int32, batch []byte) error {
	p, err := l.Partitions.InternalPartition(ctx, l.Controller, l.CreateTopic(), index)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCoordinatorUnavailable, err)
	}
	res, err := p.Append(batch, -1)
	if err != nil {
		return fmt.Errorf("append to %s-%d: %w", metadata.ConsumerOffsetsTopic, index, err)
	}
	return p.WaitCommitted(ctx, res.LastOffset+1)
}

// maxLoadedBatchBytes bounds the decompressed size of one __consumer_offsets batch read while
// loading: with offsets.topic.compression.codec the coordinator's batches are compressed, and a
// batch of the coordinator's own (one commit's records) is far below this.
const maxLoadedBatchBytes = 64 << 20

// errCommitTimeout is the cause of the context of a write that ran past CommitTimeout.
var errCommitTimeout = errors.New("group: offsets.commit.timeout.ms passed")

// appendLog writes batch to __consumer_offsets partition index and waits at most
// Config.CommitTimeout (offsets.commit.timeout.ms) for it to be committed. As in Kafka's group
// coordinator, a write that times out is answered with COORDINATOR_NOT_AVAILABLE (Kafka maps
// the append's REQUEST_TIMED_OUT to it), which clients retry: every caller wraps the error in
// ErrCoordinatorUnavailable, and the error returned here does not wrap context.DeadlineExceeded,
// so it is not mistaken for the request's own deadline. The batch may still be committed later;
// memory only changes when a write succeeds, so a retry is applied once.
func (c *Coordinator) appendLog(ctx context.Context, index int32, batch []byte) error {
	if c.cfg.CommitTimeout <= 0 {
		return c.cfg.Log.Append(ctx, index, batch)
	}
	wctx, cancel := context.WithTimeoutCause(ctx, c.cfg.CommitTimeout, errCommitTimeout)
	defer cancel()
	err := c.cfg.Log.Append(wctx, index, batch)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(wctx), errCommitTimeout) {
		return fmt.Errorf("write to %s-%d not committed within offsets.commit.timeout.ms (%v)",
			metadata.ConsumerOffsetsTopic, index, c.cfg.CommitTimeout)
	}
	return err
}

// LoadPartitions reads every hosted __consumer_offsets partition this node leads from its log
// start to its high watermark into c (following leadership, it then coordinates them). The
// broker calls it once after its first reconcile; later leadership changes come through
// Elected and Resigned.
func LoadPartitions(c *Coordinator, parts *partition.Manager) error {
	var errs []error
	for _, p := range parts.Partitions() {
		if p.Topic() != metadata.ConsumerOffsetsTopic || (c.follows() && !p.IsLeader()) {
			continue
		}
		var e *ownedPartition
		if c.follows() {
			c.mu.Lock()
			e = c.electLocked(p.Index())
			c.mu.Unlock()
		}
		if err := loadPartition(c, p); err != nil {
			errs = append(errs, err)
		}
		if e != nil {
			c.finishLoad(p.Index(), e)
		}
	}
	return errors.Join(errs...)
}

// loadPartition applies p from its log start to its log end offset as of the call, past a
// high watermark that may lag on a new leader (Kafka's coordinators load to the log end too):
// later records were appended by this coordinator as the partition's leader, so memory has
// them already (re-applying them could roll back newer state).
func loadPartition(c *Coordinator, p *partition.Partition) error {
	return p.Replay(c.ctx, p.LogEndOffset(), int(c.cfg.LoadBufferSize), func(batches []byte) error {
		return c.loadPartitionBatches(p.Index(), batches)
	})
}

// finishLoad ends the load of election e of partition index: its groups are served from now
// on, unless the partition was resigned meanwhile, whose groups the load may have recreated
// and which are dropped again. (Elected again meanwhile: the newer load finishes it.)
func (c *Coordinator) finishLoad(index int32, e *ownedPartition) {
	if !c.loaded(index, e) && !c.stillOwned(index) {
		c.dropPartition(index)
	}
}

// Elected starts loading a __consumer_offsets partition this node became the leader of after
// start (the broker's reconcile calls it; the first Image is loaded by LoadPartitions). The
// read runs on its own goroutine, which Close stops (between reads) and waits for. Following
// leadership, the partition's groups get ErrCoordinatorLoadInProgress until it is loaded. A
// failed read is logged and the partition served with what was read, as at start.
func (c *Coordinator) Elected(p *partition.Partition) {
	c.loaders.mu.Lock()
	defer c.loaders.mu.Unlock()
	if c.loaders.closed {
		return // the broker is stopping
	}
	var e *ownedPartition
	if c.follows() {
		c.mu.Lock()
		e = c.electLocked(p.Index())
		c.mu.Unlock()
	}
	c.loaders.wg.Add(1)
	go func() {
		defer c.loaders.wg.Done()
		defer c.guard("group.loader", nil)
		err := loadPartition(c, p)
		if e != nil {
			c.finishLoad(p.Index(), e)
		}
		if err != nil {
			c.cfg.Logger.Warn("loading __consumer_offsets partition", "partition", p.Index(), "err", err)
			return
		}
		c.cfg.Logger.Info("loaded __consumer_offsets partition", "partition", p.Index())
	}()
}

// Resigned forgets every group stored in a __consumer_offsets partition whose leadership moved
// away: their timers stop and waiting joins and syncs fail with ErrNotCoordinator (the new
// leader's coordinator owns them now); following leadership, the partition's groups get
// ErrNotCoordinator from now on, so their members look the coordinator up again.
func (c *Coordinator) Resigned(index int32) {
	if c.cfg.NumPartitions <= 0 {
		return
	}
	c.mu.Lock()
	delete(c.mu.owned.partitions, index)
	c.mu.Unlock()
	c.dropPartition(index)
}

// dropPartition forgets the groups of partition index, one group locked at a time.
func (c *Coordinator) dropPartition(index int32) {
	for _, g := range c.snapshotGroups() {
		if Partition(g.id, c.cfg.NumPartitions) != index {
			continue
		}
		if c.lockListed(g) {
			g.shutdownLocked(ErrNotCoordinator)
			c.removeLocked(g)
		}
		g.mu.Unlock()
	}
}
