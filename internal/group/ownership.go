package group

import (
	"errors"
)

var (
	// ErrNotCoordinator: the group's __consumer_offsets partition is not led here (clients
	// look the coordinator up again with FindCoordinator).
	ErrNotCoordinator = errors.New("group: not the coordinator of this group")
	// ErrCoordinatorLoadInProgress: this node leads the group's partition but is still
	// loading it (clients retry).
	ErrCoordinatorLoadInProgress = errors.New("group: coordinator load in progress")
)

// ownership is what a coordinator that follows leadership (Config.FollowLeadership) knows of
// the __consumer_offsets partitions: the ones it was elected for, loading or loaded. A partition
// absent from the map is coordinated elsewhere. Guarded by Coordinator.mu.
type ownership struct {
	partitions map[int32]*ownedPartition
}

// ownedPartition is one election of this node for a partition. A new election replaces the
// pointer, so a load started for an older one can tell it is stale.
type ownedPartition struct {
	loaded bool
}

// follows reports whether the coordinator serves only the partitions it was elected for.
func (c *Coordinator) follows() bool { return c.cfg.FollowLeadership && c.cfg.NumPartitions > 0 }

// CoordinatorStatus is nil when this coordinator serves group gid now; else ErrNotCoordinator
// (its __consumer_offsets partition is led elsewhere) or ErrCoordinatorLoadInProgress (led
// here, still loading). A coordinator that does not follow leadership serves every group.
// Every group request checks it first, as Kafka's coordinator does.
func (c *Coordinator) CoordinatorStatus(gid string) error {
	if !c.follows() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.statusLocked(Partition(gid, c.cfg.NumPartitions))
}

func (c *Coordinator) statusLocked(index int32) error {
	p := c.mu.owned.partitions[index]
	switch {
	case p == nil:
		return ErrNotCoordinator
	case !p.loaded:
		return ErrCoordinatorLoadInProgress
	}
	return nil
}

// ListStatus is nil when List covers every group this node coordinates; while one of its
// partitions is still loading, ErrCoordinatorLoadInProgress (ListGroups fails with it, as in
// Kafka, rather than answering an incomplete list).
func (c *Coordinator) ListStatus() error {
	if !c.follows() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.mu.owned.partitions {
		if !p.loaded {
			return ErrCoordinatorLoadInProgress
		}
	}
	return nil
}

// ownsLocked reports whether a group of partition index may exist here: always without
// following leadership, else while the partition is owned (loading or loaded).
func (c *Coordinator) ownsLocked(id string) bool {
	return !c.follows() || c.mu.owned.partitions[Partition(id, c.cfg.NumPartitions)] != nil
}

// electLocked records a new election for partition index (loading) and returns it.
func (c *Coordinator) electLocked(index int32) *ownedPartition {
	if c.mu.owned.partitions == nil {
		c.mu.owned.partitions = map[int32]*ownedPartition{}
	}
	p := &ownedPartition{}
	c.mu.owned.partitions[index] = p
	return p
}

// loaded marks election e of partition index loaded, if it is still the current one; false
// when the partition was resigned (or elected again) meanwhile.
func (c *Coordinator) loaded(index int32, e *ownedPartition) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.owned.partitions[index] != e {
		return false
	}
	e.loaded = true
	return true
}

// stillOwned reports whether partition index is owned (by any election).
func (c *Coordinator) stillOwned(index int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.owned.partitions[index] != nil
}
