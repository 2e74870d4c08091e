package group

import (
	"context"
	"fmt"
	"time"
)

// OffsetCommit is one partition's committed position.
type OffsetCommit struct {
	Topic       string
	Partition   int32
	Offset      int64
	LeaderEpoch int32 // -1 when unknown
	Metadata    string
	CommitTime  int64 // ms since the epoch
}

type topicPartition struct {
	topic     string
	partition int32
}

// CommitOffsets records offsets for a group. A member id and generation (from a group
// member) are checked against the current generation; an empty member id with generation
// -1 is a "simple" commit, allowed only while the group has no members. With an OffsetLog
// the commit returns once its records are durable in __consumer_offsets, and only then do
// fetches see it.
func (c *Coordinator) CommitOffsets(ctx context.Context, gid, memberID, instanceID string, generation int32, offsets []OffsetCommit) error {
	if err := c.checkCommit(gid, memberID, instanceID, generation); err != nil {
		return err
	}
	if c.cfg.Log != nil && len(offsets) > 0 {
		batch, err := offsetBatch(c.cfg.Compression, gid, offsets, time.Now().UnixMilli())
		if err != nil {
			return fmt.Errorf("commit offsets of %s: %w", gid, err)
		}
		if err := c.appendLog(ctx, Partition(gid, c.cfg.NumPartitions), batch); err != nil {
			return fmt.Errorf("commit offsets of %s: %w: %w", gid, ErrCoordinatorUnavailable, err)
		}
	}
	g := c.lockGroup(gid, true)
	if g == nil {
		return ErrCoordinatorUnavailable // closed meanwhile
	}
	defer g.mu.Unlock()
	for _, o := range offsets {
		g.offsets[topicPartition{o.Topic, o.Partition}] = o
	}
	return nil
}

func (c *Coordinator) checkCommit(gid, memberID, instanceID string, generation int32) error {
	if c.closed.Load() {
		return ErrCoordinatorUnavailable
	}
	if gid == "" {
		return ErrInvalidGroupID
	}
	g := c.lockGroup(gid, memberID == "" && generation < 0)
	if g != nil {
		defer g.mu.Unlock()
	}
	if c.closed.Load() {
		return ErrCoordinatorUnavailable
	}
	if g != nil && g.consumer != nil {
		return g.consumer.checkCommit(memberID, generation)
	}
	if g != nil && g.share != nil {
		return fmt.Errorf("%w: group %s is not a consumer group", ErrGroupIDNotFound, gid)
	}
	switch {
	case g == nil:
		// A generation for a group this coordinator does not know is from an old life of it.
		return ErrIllegalGeneration
	case memberID == "" && generation < 0:
		if len(g.members) > 0 {
			return ErrUnknownMemberID
		}
	default:
		m, err := c.memberLocked(g, memberID, instanceID, generation)
		if err != nil {
			return err
		}
		if g.state == CompletingRebalance {
			// The member already has the new generation but not its assignment yet.
			return ErrRebalanceInProgress
		}
		// Stable, or PreparingRebalance: members of the ending generation commit what they
		// consumed before they rejoin (eager revocation, cooperative handover), as in Kafka.
		c.resetSessionLocked(g, m)
	}
	return nil
}

// FetchOffset returns a group's committed offset for one partition.
func (c *Coordinator) FetchOffset(gid, topic string, partition int32) (OffsetCommit, bool) {
	g := c.lockGroup(gid, false)
	if g == nil {
		return OffsetCommit{}, false
	}
	defer g.mu.Unlock()
	o, ok := g.offsets[topicPartition{topic, partition}]
	return o, ok
}

// FetchAllOffsets returns every committed offset of a group (OffsetFetch with null topics).
func (c *Coordinator) FetchAllOffsets(gid string) []OffsetCommit {
	g := c.lockGroup(gid, false)
	if g == nil {
		return nil
	}
	defer g.mu.Unlock()
	out := make([]OffsetCommit, 0, len(g.offsets))
	for _, o := range g.offsets {
		out = append(out, o)
	}
	return out
}

// DeleteOffsets removes committed offsets (OffsetDelete). An empty group loses every named
// partition's offset. A group with members may lose only offsets of topics none of its members
// subscribes to, and only if it is a "consumer" group whose members' subscriptions
// subscribedTopics can read from their protocol metadata; the other partitions' entries in the
// result are ErrGroupSubscribedToTopic. Other non-empty groups: ErrNonEmptyGroup. With an
// OffsetLog, tombstones are durable before memory changes.
func (c *Coordinator) DeleteOffsets(ctx context.Context, gid string, parts []OffsetCommit, subscribedTopics func(metadata []byte) []string) ([]error, error) {
	errs := make([]error, len(parts))
	var doomed []topicPartition
	g := c.lockGroup(gid, false)
	switch {
	case g == nil:
		return nil, ErrGroupIDNotFound
	case g.state == Dead:
		g.mu.Unlock()
		return nil, ErrGroupIDNotFound
	case g.share != nil:
		g.mu.Unlock()
		return nil, fmt.Errorf("%w: group %s is not a consumer group", ErrGroupIDNotFound, gid)
	case len(g.members) > 0 && g.protocolType != "consumer":
		g.mu.Unlock()
		return nil, ErrNonEmptyGroup
	}
	subscribed := map[string]bool{}
	if cg := g.consumer; cg != nil {
		for _, p := range parts {
			for _, m := range cg.members {
				if m.subscribes(p.Topic) {
					subscribed[p.Topic] = true
				}
			}
		}
	}
	for _, m := range g.members {
		for _, t := range subscribedTopics(m.protocolMetadata(g.protocolName)) {
			subscribed[t] = true
		}
	}
	for i, p := range parts {
		if subscribed[p.Topic] {
			errs[i] = ErrGroupSubscribedToTopic
			continue
		}
		doomed = append(doomed, topicPartition{p.Topic, p.Partition})
	}
	g.mu.Unlock()
	if c.cfg.Log != nil && len(doomed) > 0 {
		batch, err := tombstoneBatch(c.cfg.Compression, gid, doomed, false, false, false)
		if err == nil {
			err = c.appendLog(ctx, Partition(gid, c.cfg.NumPartitions), batch)
		}
		if err != nil {
			return nil, fmt.Errorf("delete offsets of %s: %w: %w", gid, ErrCoordinatorUnavailable, err)
		}
	}
	if g := c.lockGroup(gid, false); g != nil {
		for _, tp := range doomed {
			delete(g.offsets, tp)
		}
		g.mu.Unlock()
	}
	return errs, nil
}
