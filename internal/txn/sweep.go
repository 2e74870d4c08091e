package txn

import (
	"context"
	"time"

	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/metadata"
)

// sweepLoop runs, until Close, the abort of timed-out transactions every CleanupInterval
// (transaction.abort.timed.out.transaction.cleanup.interval.ms) and the removal of expired
// transactional ids every ExpiredIDCleanupInterval
// (transaction.remove.expired.transaction.cleanup.interval.ms), as Kafka's two schedules.
func (c *Coordinator) sweepLoop() {
	defer c.wg.Done()
	abort := time.NewTicker(c.cfg.CleanupInterval)
	defer abort.Stop()
	expire := time.NewTicker(c.cfg.ExpiredIDCleanupInterval)
	defer expire.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-abort.C:
			c.sweepOnce(sweepTimedOut)
		case <-expire.C:
			c.sweepOnce(sweepExpired)
		}
	}
}

// sweepKind selects what a sweep looks for.
type sweepKind uint8

const (
	sweepTimedOut sweepKind = 1 << iota // Ongoing past the transaction's timeout: abort
	sweepExpired                        // unused for transactional.id.expiration.ms: forget
)

// sweepOnce runs one sweep; a panic is recovered so the next tick tries again.
func (c *Coordinator) sweepOnce(kind sweepKind) {
	defer c.guard("txn.sweep", nil)
	c.sweep(c.ctx, kind)
}

// Sweep aborts transactions Ongoing for longer than their timeout (fencing the producer by
// an epoch bump, as Kafka does) and forgets transactional ids unused for
// transactional.id.expiration.ms (a tombstone in __transaction_state). The sweep goroutine
// does each on its own interval; tests call Sweep with an injected clock.
func (c *Coordinator) Sweep(ctx context.Context) { c.sweep(ctx, sweepTimedOut|sweepExpired) }

func (c *Coordinator) sweep(ctx context.Context, kind sweepKind) {
	now := c.nowMs()
	var timedOut, expired []*txnMeta
	c.mu.Lock()
	if c.usableLocked() != nil {
		c.mu.Unlock()
		return
	}
	for _, m := range c.mu.txns {
		if m.pending {
			continue
		}
		switch m.state {
		case Ongoing:
			if kind&sweepTimedOut != 0 && now > m.startMs+int64(m.timeoutMs) {
				m.pending = true
				timedOut = append(timedOut, m)
			}
		case Empty, CompleteCommit, CompleteAbort:
			if kind&sweepExpired != 0 && now > m.updateMs+c.cfg.IDExpiration.Milliseconds() {
				m.pending = true
				expired = append(expired, m)
			}
		}
	}
	c.mu.Unlock()
	for _, m := range timedOut {
		c.fenceAndAbort(ctx, m, "aborting a timed-out transaction")
	}
	for _, m := range expired {
		err := c.persist(ctx, m.id, nil)
		c.mu.Lock()
		m.settleLocked()
		if err == nil {
			m.state = Dead
			delete(c.mu.txns, m.id)
		}
		c.mu.Unlock()
		if err != nil {
			c.logger.Warn("expiring a transactional id", "transactional_id", m.id, "err", err)
		}
	}
}

// fenceAndAbort aborts m's ongoing transaction (m marked pending by the caller) under a
// bumped epoch, which fences its producer, and returns once PrepareAbort is durable; the
// markers follow on a goroutine.
func (c *Coordinator) fenceAndAbort(ctx context.Context, m *txnMeta, why string) {
	c.mu.Lock()
	target := m.value()
	c.mu.Unlock()
	target.State, target.LastUpdateMs = PrepareAbort, c.nowMs()
	if !epochExhausted(target.ProducerEpoch) {
		target.ProducerEpoch++ // fences the producer; an exhausted epoch aborts unbumped
	}
	c.logger.Info(why, "transactional_id", m.id, "producer_id", target.ProducerID)
	if err := c.prepareAndComplete(ctx, m, target); err != nil {
		c.logger.Warn(why, "transactional_id", m.id, "err", err)
	}
}

// AbortFencedTxn aborts the ongoing transaction of producerID at producerEpoch when it holds
// offsets of groupID (the group's __consumer_offsets partition is in it), fencing the
// producer as a timeout abort does. The group coordinator calls it when the member that
// committed those offsets left the group or was replaced by a new instance with its
// group.instance.id (group.TxnAborter): the transaction is abandoned, and with
// require_stable it would hold the partitions' next owner until its timeout. It returns at
// once (the caller holds the group coordinator's lock); the abort runs on a goroutine. A
// transaction that has ended, moved to another epoch or is ending meanwhile is left alone.
func (c *Coordinator) AbortFencedTxn(producerID int64, producerEpoch int16, groupID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.usableLocked() != nil {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.guard("txn.abort", nil)
		c.abortFenced(producerID, producerEpoch, groupID)
	}()
}

func (c *Coordinator) abortFenced(producerID int64, producerEpoch int16, groupID string) {
	id, ok := c.transactionalIDOf(producerID)
	if !ok {
		return
	}
	c.waitSettled(c.ctx, id) // an AddOffsetsToTxn or AddPartitionsToTxn may be in flight
	offsets := group.Partition(groupID, c.cfg.OffsetsNumPartitions)
	c.mu.Lock()
	m := c.mu.txns[id]
	if c.usableLocked() != nil || m == nil || m.pending || m.state != Ongoing || m.producerID != producerID ||
		m.epoch != producerEpoch || !m.partitions.contains(metadata.ConsumerOffsetsTopic, offsets) {
		c.mu.Unlock()
		return
	}
	m.pending = true
	c.mu.Unlock()
	c.fenceAndAbort(c.ctx, m, "aborting the transaction of a producer whose group member is gone")
}

// transactionalIDOf finds the transactional id whose current producer id is producerID. It
// scans every id: it serves only the rare abort of an abandoned transaction.
func (c *Coordinator) transactionalIDOf(producerID int64) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, m := range c.mu.txns {
		if m.producerID == producerID {
			return id, true
		}
	}
	return "", false
}
