package coordinator

import (
	"context"
	"fmt"
	"math"
	"runtime/debug"
	"time"

	"github.com/sluicehq/sluice/internal/share"
)

// Start begins pruning: every PruneInterval each loaded state partition led here (each
// partition, not following leadership) loses its records below the oldest snapshot one of
// its share-partitions still needs — Kafka's share coordinator prunes __share_group_state the
// same way, which is why the topic has unlimited retention and no compaction. Close stops
// it. Without a Log that implements Pruner it does nothing.
func (c *Coordinator) Start() {
	pr, ok := c.cfg.Log.(Pruner)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.closed {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.guard("share.prune")
		t := time.NewTicker(c.cfg.PruneInterval)
		defer t.Stop()
		for {
			select {
			case <-c.ctx.Done():
				return
			case <-t.C:
				c.PruneOnce(pr)
			}
		}
	}()
}

// PruneOnce deletes, in each state partition served here, the records below PrunePoints.
func (c *Coordinator) PruneOnce(pr Pruner) {
	for index, offset := range c.PrunePoints() {
		if err := pr.DeleteBefore(index, offset); err != nil {
			c.logger.Warn("pruning __share_group_state", "partition", index, "before", offset, "err", err)
		}
	}
}

// PrunePoints returns, per state partition served here, the offset below which no record is
// needed any more: the smallest snapshot offset of its share-partitions, or MaxInt64 (up to
// the high watermark) for a partition without any. A partition with a write in flight for a
// share-partition that has no state yet (its first snapshot's offset is not known) is left
// out.
func (c *Coordinator) PrunePoints() map[int32]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int32]int64{}
	if c.cfg.FollowLeadership {
		for index, p := range c.mu.owned {
			if p.loaded {
				out[index] = math.MaxInt64
			}
		}
	} else {
		for i := range c.cfg.NumPartitions {
			out[i] = math.MaxInt64
		}
	}
	blocked := map[int32]bool{}
	for k, e := range c.mu.keys {
		index := c.Partition(k)
		cur, ok := out[index]
		if !ok {
			continue
		}
		if e.st == nil || e.st.snapshotOffset < 0 {
			blocked[index] = true
			continue
		}
		out[index] = min(cur, e.st.snapshotOffset)
	}
	for index := range blocked {
		delete(out, index)
	}
	return out
}

// guard ends a goroutine of the coordinator that panicked: the panic is logged with its
// stack and counted (Config.PanicRecovered); the process goes on (a loader's partition stays
// loading: its share-partitions answer COORDINATOR_LOAD_IN_PROGRESS until the next election).
// Use it only deferred directly.
func (c *Coordinator) guard(where string) {
	p := recover()
	if p == nil {
		return
	}
	c.logger.Error("recovered panic", "where", where, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	if c.cfg.PanicRecovered != nil {
		c.cfg.PanicRecovered(where)
	}
}

// TopicsDeleted deletes, on a goroutine Close waits for, the state of every share-partition
// served here whose topic was deleted (tombstones, as Kafka's share coordinator does when
// topics go), so that no state outlives its topic — nor holds back pruning.
func (c *Coordinator) TopicsDeleted(ids map[[16]byte]bool) {
	if len(ids) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.closed {
		return
	}
	var keys []share.Key
	for k, e := range c.mu.keys {
		if e.st != nil && ids[k.TopicID] {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.guard("share.topics-deleted")
		for _, k := range keys {
			ctx, cancel := context.WithTimeout(c.ctx, c.cfg.WriteTimeout)
			err := c.Delete(ctx, k)
			cancel()
			if err != nil {
				c.logger.Warn("deleting the share state of a deleted topic", "key", CoordinatorKey(k), "err", err)
			}
		}
	}()
}
