package txn

import (
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
)

// ErrNotCoordinator: the transactional id's __transaction_state partition is not led here
// (clients look the coordinator up again with FindCoordinator).
var ErrNotCoordinator = errors.New("txn: not the coordinator of this transactional id")

// ownedPartition is one election of this node for a __transaction_state partition (Config.
// FollowLeadership). A new election replaces the pointer, so a load started for an older one
// can tell it is stale.
type ownedPartition struct {
	loaded bool
	// epoch is the partition's leader epoch at election: the coordinator epoch written into
	// the markers of its transactions, so partitions refuse markers of an older coordinator.
	epoch int32
}

// follows reports whether the coordinator serves only the partitions it was elected for.
func (c *Coordinator) follows() bool { return c.cfg.FollowLeadership }

// servesLocked returns the error a request for transactional id gets: ErrCoordinatorNotAvailable
// once closed, ErrCoordinatorLoading before Start, and, following leadership,
// ErrNotCoordinator when id's partition is led elsewhere or ErrCoordinatorLoading while it
// loads.
func (c *Coordinator) servesLocked(id string) error {
	if err := c.usableLocked(); err != nil || !c.follows() {
		return err
	}
	p := c.mu.owned[c.Partition(id)]
	switch {
	case p == nil:
		return ErrNotCoordinator
	case !p.loaded:
		return ErrCoordinatorLoading
	}
	return nil
}

// anyLoadingLocked reports whether an elected partition is still loading (ListTransactions
// fails with ErrCoordinatorLoading meanwhile rather than answering an incomplete list).
func (c *Coordinator) anyLoadingLocked() bool {
	for _, p := range c.mu.owned {
		if !p.loaded {
			return true
		}
	}
	return false
}

// coordinatorEpochLocked is the coordinator epoch of id's markers: its partition's leader
// epoch at election when following leadership, else Config.CoordinatorEpoch.
func (c *Coordinator) coordinatorEpochLocked(id string) int32 {
	if p := c.mu.owned[c.Partition(id)]; c.follows() && p != nil {
		return p.epoch
	}
	return c.cfg.CoordinatorEpoch
}

// abandoned reports whether m is no longer this coordinator's (its partition was resigned):
// its marker and completion retries stop; the new coordinator completes it.
func (c *Coordinator) abandoned(m *txnMeta) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.txns[m.id] != m
}

// electLocked records a new election for partition index at leader epoch (loading) and
// returns it. (The caller reads the epoch before taking mu, which stays a leaf.)
func (c *Coordinator) electLocked(index, epoch int32) *ownedPartition {
	if c.mu.owned == nil {
		c.mu.owned = map[int32]*ownedPartition{}
	}
	e := &ownedPartition{epoch: epoch}
	c.mu.owned[index] = e
	return e
}

// Elected starts loading a __transaction_state partition this node became the leader of after
// start (the broker's reconcile calls it; the first Image is loaded by LoadPartitions). The
// partition's transactional ids get ErrCoordinatorLoading until its records are read, on a
// goroutine Close waits for; then its prepared transactions are completed (their markers
// written again) and its ids served. A read that fails is logged and retried after a pause,
// as long as the partition is still owned. Without FollowLeadership it does nothing.
func (c *Coordinator) Elected(p *partition.Partition) {
	if !c.follows() {
		return
	}
	epoch := p.State().LeaderEpoch
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.closed {
		return
	}
	e := c.electLocked(p.Index(), epoch)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.guard("txn.loader", nil)
		for {
			txns, err := c.readPartition(p)
			if c.loadedHook != nil {
				c.loadedHook()
			}
			if err == nil || errors.Is(err, ErrBadRecord) {
				if err != nil {
					c.logger.Warn("loading __transaction_state partition", "partition", p.Index(), "err", err)
				}
				c.finishLoad(p.Index(), e, txns)
				return
			}
			c.logger.Warn("loading __transaction_state partition; retrying", "partition", p.Index(), "err", err)
			if !c.sleep(markerRetry) || !c.isElection(p.Index(), e) {
				return
			}
		}
	}()
}

func (c *Coordinator) isElection(index int32, e *ownedPartition) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.owned[index] == e
}

// readPartition reads p from its log start to its high watermark into a new map of ids.
func (c *Coordinator) readPartition(p *partition.Partition) (map[string]*txnMeta, error) {
	txns := map[string]*txnMeta{}
	bad := 0
	var buf []byte
	err := p.Replay(c.ctx, p.LogEndOffset(), 0, func(batches []byte) error {
		n, grown, err := c.applyBatches(txns, batches, buf)
		bad, buf = bad+n, grown
		return err
	})
	if err == nil && bad > 0 {
		err = fmt.Errorf("load %s-%d: %d records skipped: %w", metadata.TransactionStateTopic, p.Index(), bad, ErrBadRecord)
	}
	return txns, err
}

// finishLoad installs the ids read for election e of partition index, if it is still the
// current one, and completes the prepared transactions among them (once Start has run; Start
// completes those loaded before it).
func (c *Coordinator) finishLoad(index int32, e *ownedPartition, txns map[string]*txnMeta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.owned[index] != e || c.mu.closed {
		return
	}
	for id, m := range txns {
		if c.Partition(id) == index {
			c.mu.txns[id] = m
		}
	}
	e.loaded = true
	if !c.mu.started {
		return
	}
	for id, m := range txns {
		if c.Partition(id) == index && (m.state == PrepareCommit || m.state == PrepareAbort) {
			m.pending = true
			c.logger.Info("completing a prepared transaction", "transactional_id", id, "state", m.state)
			c.completeAsyncLocked(m, m.value())
		}
	}
}

// Resigned stops coordinating the transactional ids of a __transaction_state partition whose
// leadership moved away: they are forgotten (no more timeouts or expiry here; marker writers
// of their transactions stop at their next retry) and their requests get ErrNotCoordinator.
// Without FollowLeadership it does nothing.
func (c *Coordinator) Resigned(index int32) {
	if !c.follows() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.mu.owned, index)
	for id, m := range c.mu.txns {
		if c.Partition(id) == index {
			delete(c.mu.txns, id)
			m.settleLocked() // requests waiting for it look again and find it gone
		}
	}
}

// loadLeading is LoadPartitions following leadership: it elects and loads, synchronously, the
// hosted partitions this node leads.
func loadLeading(c *Coordinator, parts *partition.Manager) error {
	var errs []error
	for _, p := range parts.Partitions() {
		if p.Topic() != metadata.TransactionStateTopic || !p.IsLeader() {
			continue
		}
		epoch := p.State().LeaderEpoch
		c.mu.Lock()
		e := c.electLocked(p.Index(), epoch)
		c.mu.Unlock()
		txns, err := c.readPartition(p)
		if err != nil {
			errs = append(errs, err)
		}
		c.finishLoad(p.Index(), e, txns)
	}
	return errors.Join(errs...)
}
