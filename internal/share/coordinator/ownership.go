package coordinator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/share"
)

// ownedPartition is one election of this node for a __share_group_state partition
// (Config.FollowLeadership). A new election replaces the pointer, so a load started for an
// older one can tell it is stale.
type ownedPartition struct {
	loaded bool
}

// loadRetry is the pause before a failed load of a state partition is tried again.
const loadRetry = 500 * time.Millisecond

// Elected starts loading a __share_group_state partition this node became the leader of
// (restart, failover, reassignment): its share-partitions get COORDINATOR_LOAD_IN_PROGRESS
// until its records are read, on a goroutine Close waits for; then they are served. A read
// that fails is logged and retried while the partition is still owned. Without
// FollowLeadership it does nothing.
func (c *Coordinator) Elected(p *partition.Partition) {
	if !c.cfg.FollowLeadership {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.closed {
		return
	}
	e := c.electLocked(p.Index())
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.guard("share.loader")
		for {
			states, err := c.readPartition(p)
			if err == nil || errors.Is(err, ErrBadRecord) {
				if err != nil {
					c.logger.Warn("loading __share_group_state partition", "partition", p.Index(), "err", err)
				}
				c.finishLoad(p.Index(), e, states)
				return
			}
			c.logger.Warn("loading __share_group_state partition; retrying", "partition", p.Index(), "err", err)
			select {
			case <-c.ctx.Done():
				return
			case <-time.After(loadRetry):
			}
			if !c.isElection(p.Index(), e) {
				return
			}
		}
	}()
}

func (c *Coordinator) electLocked(index int32) *ownedPartition {
	if c.mu.owned == nil {
		c.mu.owned = map[int32]*ownedPartition{}
	}
	e := &ownedPartition{}
	c.mu.owned[index] = e
	return e
}

func (c *Coordinator) isElection(index int32, e *ownedPartition) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.owned[index] == e
}

// Resigned stops coordinating the share-partitions of a __share_group_state partition no
// longer led here: their state is forgotten and their requests get NOT_COORDINATOR. Writes in
// flight finish but apply nothing here. Without FollowLeadership it does nothing.
func (c *Coordinator) Resigned(index int32) {
	if !c.cfg.FollowLeadership {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.mu.owned, index)
	for k := range c.mu.keys {
		if c.Partition(k) == index {
			delete(c.mu.keys, k)
		}
	}
}

// finishLoad installs the states read for election e of partition index, if it is still the
// current one.
func (c *Coordinator) finishLoad(index int32, e *ownedPartition, states map[share.Key]*pstate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.owned[index] != e || c.mu.closed {
		return
	}
	for k, st := range states {
		if c.Partition(k) == index {
			c.mu.keys[k] = &entry{st: st}
		}
	}
	e.loaded = true
}

// readPartition reads p from its log start to its log end into a new map of states.
func (c *Coordinator) readPartition(p *partition.Partition) (map[share.Key]*pstate, error) {
	states := map[share.Key]*pstate{}
	bad := 0
	var buf []byte
	err := p.Replay(c.ctx, p.LogEndOffset(), c.cfg.LoadBufferSize, func(batches []byte) error {
		n, grown, err := applyBatches(states, batches, buf)
		bad, buf = bad+n, grown
		return err
	})
	if err == nil && bad > 0 {
		err = fmt.Errorf("load %s-%d: %d records skipped: %w", StateTopic, p.Index(), bad, ErrBadRecord)
	}
	return states, err
}

// Load applies __share_group_state record batches (one partition's log in offset order) to
// the coordinator's states, for a coordinator not following leadership (tests).
func (c *Coordinator) Load(batches []byte) error {
	states := map[share.Key]*pstate{}
	c.mu.Lock()
	for k, e := range c.mu.keys {
		if e.st != nil {
			states[k] = e.st
		}
	}
	c.mu.Unlock()
	bad, _, err := applyBatches(states, batches, nil)
	c.mu.Lock()
	for k := range c.mu.keys {
		if states[k] == nil {
			delete(c.mu.keys, k)
		}
	}
	for k, st := range states {
		c.mu.keys[k] = &entry{st: st}
	}
	c.mu.Unlock()
	if err == nil && bad > 0 {
		err = fmt.Errorf("load %s: %d records skipped: %w", StateTopic, bad, ErrBadRecord)
	}
	return err
}

// applyBatches applies the records of __share_group_state batches to states, skipping
// control batches, and returns how many records could not be decoded; buf is the
// decompression buffer, returned grown.
func applyBatches(states map[share.Key]*pstate, batches, buf []byte) (bad int, _ []byte, _ error) {
	bs := record.NewBatches(batches)
	for {
		batch, h, ok := bs.Next()
		if !ok {
			break
		}
		if h.IsControl() {
			continue
		}
		recs, grown, err := record.Iterate(batch, buf, 0)
		buf = grown
		if err != nil {
			return bad, buf, fmt.Errorf("load %s: %w", StateTopic, err)
		}
		var rec record.Record
		for recs.Next(&rec) {
			if !applyRecord(states, rec.Offset, rec.Key, rec.Value) {
				bad++
			}
		}
		if err := recs.Err(); err != nil {
			return bad, buf, fmt.Errorf("load %s: %w", StateTopic, err)
		}
	}
	if err := bs.Err(); err != nil {
		return bad, buf, fmt.Errorf("load %s: %w", StateTopic, err)
	}
	return bad, buf, nil
}

// applyRecord replays one record: a snapshot replaces the state, an update of the current
// snapshot epoch is merged into it (updates of another epoch, or without a snapshot, are
// ignored as Kafka's shard ignores them), a tombstone forgets the share-partition. False if it
// cannot be decoded.
func applyRecord(states map[share.Key]*pstate, offset int64, key, value []byte) bool {
	rk, err := DecodeKey(key)
	if err != nil {
		return false
	}
	if value == nil {
		delete(states, rk.Key)
		return true
	}
	switch rk.Type {
	case TypeSnapshot:
		v, err := DecodeSnapshot(value)
		if err != nil {
			return false
		}
		states[rk.Key] = &pstate{snapshotEpoch: v.SnapshotEpoch, stateEpoch: v.StateEpoch, leaderEpoch: v.LeaderEpoch,
			startOffset: v.StartOffset, deliveryCompleteCount: v.DeliveryCompleteCount, createTs: v.CreateTimestamp,
			writeTs: v.WriteTimestamp, batches: prune(v.Batches, v.StartOffset), snapshotOffset: offset}
	default:
		v, err := DecodeUpdate(value)
		if err != nil {
			return false
		}
		st := states[rk.Key]
		if st == nil || st.snapshotEpoch != v.SnapshotEpoch {
			return true
		}
		n := *st
		n.leaderEpoch = v.LeaderEpoch
		if v.StartOffset >= 0 {
			n.startOffset = v.StartOffset
		}
		if v.DeliveryCompleteCount >= 0 {
			n.deliveryCompleteCount = v.DeliveryCompleteCount
		}
		n.batches = mergeBatches(st.batches, v.Batches, n.startOffset)
		n.updates++
		states[rk.Key] = &n
	}
	return true
}

// LoadPartitions loads, synchronously, every hosted __share_group_state partition this node
// leads (following leadership; else every hosted one). The broker calls it once after its
// first reconcile.
func LoadPartitions(c *Coordinator, parts *partition.Manager) error {
	var errs []error
	for _, p := range parts.Partitions() {
		if p.Topic() != StateTopic || (c.cfg.FollowLeadership && !p.IsLeader()) {
			continue
		}
		if !c.cfg.FollowLeadership {
			if err := p.Replay(context.Background(), p.LogEndOffset(), c.cfg.LoadBufferSize, c.Load); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		c.mu.Lock()
		e := c.electLocked(p.Index())
		c.mu.Unlock()
		states, err := c.readPartition(p)
		if err != nil {
			errs = append(errs, err)
		}
		c.finishLoad(p.Index(), e, states)
	}
	return errors.Join(errs...)
}
