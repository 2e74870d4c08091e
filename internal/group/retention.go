package group

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Offset retention (offsets.retention.minutes, checked every
// offsets.retention.check.interval.ms), by Kafka's rules (KIP-211, KIP-848):
//   - a classic group with a protocol type keeps its offsets while it has members (a Stable
//     "consumer" group only those of topics some member subscribes to; the others expire
//     retention after their commit, KIP-496); once Empty, they expire retention after the group
//     became empty;
//   - a group that never had members (standalone commits, protocol type "") expires each
//     offset retention after its commit;
//   - a consumer group (KIP-848) expires an offset retention after its commit once no member
//     subscribes to its topic;
//   - a group left with no offsets and no members is deleted.
// Expired offsets get tombstones in __consumer_offsets before memory forgets them.

// startRetention runs the periodic sweep when both durations are set; Close stops it.
func (c *Coordinator) startRetention() {
	if c.cfg.OffsetsRetention <= 0 || c.cfg.RetentionCheckInterval <= 0 {
		return
	}
	c.sweeper.Add(1)
	go func() {
		defer c.sweeper.Done()
		t := time.NewTicker(c.cfg.RetentionCheckInterval)
		defer t.Stop()
		for {
			select {
			case <-c.ctx.Done():
				return
			case <-t.C:
				c.sweepOnce()
			}
		}
	}()
}

// sweepOnce runs one retention sweep; a panic is recovered so the next tick tries again.
func (c *Coordinator) sweepOnce() {
	defer c.guard("group.retention", nil)
	if n := c.ExpireOffsets(c.ctx); n > 0 {
		c.cfg.Logger.Info("expired committed offsets", "count", n)
	}
}

// expiry is one group's share of a sweep.
type expiry struct {
	gid       string
	doomed    []OffsetCommit // with the commit time seen, so a newer commit is kept
	dropGroup bool
	consumer  bool
}

// ExpireOffsets runs one retention sweep at Config.Now and returns how many offsets expired.
// The periodic sweep calls it; tests call it with an injected clock.
func (c *Coordinator) ExpireOffsets(ctx context.Context) int {
	now := c.now().UnixMilli()
	retention := c.cfg.OffsetsRetention.Milliseconds()
	if c.closed.Load() {
		return 0
	}
	var work []expiry
	for _, g := range c.snapshotGroups() { // one group locked at a time
		if c.lockListed(g) {
			if e, ok := g.expiredLocked(now, retention); ok {
				work = append(work, e)
			}
		}
		g.mu.Unlock()
	}
	expired := 0
	for _, e := range work {
		keys := make([]topicPartition, len(e.doomed))
		for i, o := range e.doomed {
			keys[i] = topicPartition{o.Topic, o.Partition}
		}
		if c.cfg.Log != nil {
			batch, err := tombstoneBatch(c.cfg.Compression, e.gid, keys, e.dropGroup, e.dropGroup && e.consumer, false)
			if err == nil {
				err = c.appendLog(ctx, Partition(e.gid, c.cfg.NumPartitions), batch)
			}
			if err != nil {
				c.cfg.Logger.Warn("expiring offsets", "group", e.gid, "err", err)
				continue
			}
		}
		g := c.lockGroup(e.gid, false)
		if g == nil {
			continue
		}
		for _, o := range e.doomed {
			tp := topicPartition{o.Topic, o.Partition}
			if g.offsets[tp].CommitTime == o.CommitTime { // not re-committed meanwhile
				delete(g.offsets, tp)
				expired++
			}
		}
		if e.dropGroup && g.emptyLocked() && len(g.offsets) == 0 {
			g.stopTimersLocked()
			g.state = Dead
			c.removeLocked(g)
		}
		g.mu.Unlock()
	}
	return expired
}

// emptyLocked reports whether the group has no members of either protocol and no rebalance.
func (g *group) emptyLocked() bool {
	if g.share != nil {
		return len(g.share.members) == 0
	}
	if g.consumer != nil {
		return len(g.consumer.members) == 0
	}
	return g.state == Empty && len(g.members) == 0
}

// expiredLocked finds the group's offsets past retention at now (ms).
func (g *group) expiredLocked(now, retention int64) (expiry, bool) {
	e := expiry{gid: g.id, consumer: g.consumer != nil}
	switch {
	case g.share != nil:
		return e, false // share groups have no offsets here, and stay until deleted
	case g.consumer != nil:
		for _, o := range g.offsets {
			subscribed := false
			for _, m := range g.consumer.members {
				if m.subscribes(o.Topic) {
					subscribed = true
					break
				}
			}
			if !subscribed && o.CommitTime+retention <= now {
				e.doomed = append(e.doomed, o)
			}
		}
	case g.state == Stable && g.protocolType == "consumer":
		// KIP-496: a Stable classic consumer group loses offsets of topics none of its members
		// subscribes to, retention after their commit.
		subscribed, ok := g.subscribedTopicsLocked()
		if !ok {
			return e, false
		}
		for _, o := range g.offsets {
			if !subscribed[o.Topic] && o.CommitTime+retention <= now {
				e.doomed = append(e.doomed, o)
			}
		}
		return e, len(e.doomed) > 0
	case g.state != Empty || len(g.members) > 0:
		return e, false // other classic groups with members keep every offset
	default:
		for _, o := range g.offsets {
			base := o.CommitTime
			if g.protocolType != "" && g.emptySince > 0 {
				base = g.emptySince // counted from when the group became empty
			}
			if base+retention <= now {
				e.doomed = append(e.doomed, o)
			}
		}
	}
	// A group left with neither members nor offsets is deleted, as Kafka does (a member-id
	// round in flight keeps it).
	e.dropGroup = g.emptyLocked() && len(g.pending) == 0 && len(e.doomed) == len(g.offsets)
	return e, len(e.doomed) > 0 || e.dropGroup
}

// subscribedTopicsLocked reads the topics a classic "consumer" group's members subscribe to
// from their consumer protocol metadata; ok is false if any member's metadata cannot be read.
func (g *group) subscribedTopicsLocked() (map[string]bool, bool) {
	out := map[string]bool{}
	for _, m := range g.members {
		var md kmsg.ConsumerMemberMetadata
		if err := md.ReadFrom(m.protocolMetadata(g.protocolName)); err != nil {
			return nil, false
		}
		for _, t := range md.Topics {
			out[t] = true
		}
	}
	return out, true
}
