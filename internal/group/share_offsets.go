package group

import (
	"context"
	"fmt"
	"slices"
)

// The group coordinator's part of DescribeShareGroupOffsets, AlterShareGroupOffsets and
// DeleteShareGroupOffsets (KIP-932): which share-partitions a share group has state for (the
// ShareGroupStatePartitionMetadata record's topics) and the changes to that set; the state
// itself is the share coordinator's, reached through the Persister by the API handlers.

// ShareTopicPartitions names one topic's share-partitions of a group.
type ShareTopicPartitions struct {
	Name       string
	Partitions []int32 // sorted
}

// SharePartitions returns the share-partitions share group gid has state for, by topic id.
// ErrGroupIDNotFound (wrapped) when there is no such share group.
func (c *Coordinator) SharePartitions(gid string) (map[TopicID]ShareTopicPartitions, error) {
	g := c.lockGroup(gid, false)
	if g == nil {
		return nil, fmt.Errorf("%w: group %s not found", ErrGroupIDNotFound, gid)
	}
	defer g.mu.Unlock()
	if g.share == nil {
		if g.isFreshLocked() {
			return nil, fmt.Errorf("%w: group %s not found", ErrGroupIDNotFound, gid)
		}
		return nil, fmt.Errorf("%w: group %s is not a share group", ErrGroupNotShareGroup, gid)
	}
	out := make(map[TopicID]ShareTopicPartitions, len(g.share.initialized))
	for tid, info := range g.share.initialized {
		out[tid] = ShareTopicPartitions{Name: info.name, Partitions: slices.Clone(info.partitions)}
	}
	return out, nil
}

// checkEmptyShareGroupLocked is the error an offsets change of g gets: ErrGroupNotShareGroup
// for another type of group, ErrNonEmptyGroup while it has members.
func checkEmptyShareGroupLocked(g *group) error {
	switch {
	case g.share == nil && !g.isFreshLocked():
		return fmt.Errorf("%w: group %s is not a share group", ErrGroupNotShareGroup, g.id)
	case g.share != nil && len(g.share.members) > 0:
		return fmt.Errorf("%w: share group %s has %d members", ErrNonEmptyGroup, g.id, len(g.share.members))
	}
	return nil
}

// AlterShareOffsets runs AlterShareGroupOffsets' change for an empty share group gid (created
// empty when it does not exist, as Kafka does): with the group locked — no member can join
// meanwhile — init is called (the handler initializes each share-partition's state through
// the Persister at its new start offset); then the share-partitions init succeeded for are
// recorded as the group's (a ShareGroupStatePartitionMetadata record), so describing and
// deleting the group find them. ErrNonEmptyGroup while the group has members.
func (c *Coordinator) AlterShareOffsets(ctx context.Context, gid string, parts map[TopicID]ShareTopicPartitions,
	init func(ctx context.Context) map[TopicID][]int32) error {
	if err := c.CoordinatorStatus(gid); err != nil {
		return err
	}
	g := c.lockGroup(gid, true)
	if g == nil {
		return ErrCoordinatorUnavailable
	}
	if err := checkEmptyShareGroupLocked(g); err != nil {
		g.mu.Unlock()
		return err
	}
	var recs []kv
	if g.share == nil {
		g.share = newShareGroup()
		g.state, g.protocolType = Empty, "share"
		recs = append(recs, kv{appendShareKey(nil, keyShareGroup, g.id, ""), AppendShareGroupValue(nil, 0, 0)})
	}
	// The Persister calls wait on the network with the group locked: only this group's
	// requests wait meanwhile (members cannot join halfway through an alter).
	done := init(ctx)
	sg := g.share
	grown := false
	now := c.now().UnixMilli()
	for tid, ps := range done {
		info, ok := sg.initialized[tid]
		if !ok {
			info = shareTopicInfo{name: parts[tid].Name, created: now}
		}
		for _, p := range ps {
			if _, found := slices.BinarySearch(info.partitions, p); !found {
				info.partitions = append(info.partitions, p)
				slices.Sort(info.partitions)
				grown = true
			}
		}
		sg.initialized[tid] = info
	}
	if grown {
		recs = append(recs, kv{appendShareKey(nil, keyShareStatePartitions, g.id, ""), AppendShareStatePartitionsValue(nil, sg.initialized)})
	}
	seq := c.enqueueLocked(g, recs)
	g.mu.Unlock()
	if seq > 0 {
		return c.flushRecords(ctx, g, seq)
	}
	return nil
}

// DeleteShareOffsets runs DeleteShareGroupOffsets' change for empty share group gid: with the
// group locked, del is called with the share-partitions of each requested topic the group
// has (the handler deletes their state through the Persister) and returns the topics it
// deleted; those are dropped from the group's share-partitions (a
// ShareGroupStatePartitionMetadata record). It returns, per requested topic, whether the
// group had it. ErrGroupIDNotFound for no such share group, ErrNonEmptyGroup while it has
// members.
func (c *Coordinator) DeleteShareOffsets(ctx context.Context, gid string, topics []TopicID,
	del func(ctx context.Context, parts map[TopicID]ShareTopicPartitions) []TopicID) (map[TopicID]bool, error) {
	if err := c.CoordinatorStatus(gid); err != nil {
		return nil, err
	}
	g := c.lockGroup(gid, false)
	if g == nil {
		return nil, fmt.Errorf("%w: group %s not found", ErrGroupIDNotFound, gid)
	}
	if g.share == nil && g.isFreshLocked() {
		g.mu.Unlock()
		return nil, fmt.Errorf("%w: group %s not found", ErrGroupIDNotFound, gid)
	}
	if err := checkEmptyShareGroupLocked(g); err != nil {
		g.mu.Unlock()
		return nil, err
	}
	sg := g.share
	had := map[TopicID]bool{}
	parts := map[TopicID]ShareTopicPartitions{}
	for _, tid := range topics {
		if info, ok := sg.initialized[tid]; ok {
			had[tid] = true
			parts[tid] = ShareTopicPartitions{Name: info.name, Partitions: slices.Clone(info.partitions)}
		}
	}
	deleted := del(ctx, parts)
	var recs []kv
	for _, tid := range deleted {
		delete(sg.initialized, tid)
	}
	if len(deleted) > 0 {
		recs = append(recs, kv{appendShareKey(nil, keyShareStatePartitions, g.id, ""), AppendShareStatePartitionsValue(nil, sg.initialized)})
	}
	seq := c.enqueueLocked(g, recs)
	g.mu.Unlock()
	if seq > 0 {
		if err := c.flushRecords(ctx, g, seq); err != nil {
			return nil, err
		}
	}
	return had, nil
}
