package txn

import (
	"context"
	"time"
)

// sweepLoop runs the cleanup sweep every CleanupInterval until Close.
func (c *Coordinator) sweepLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.CleanupInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			c.Sweep(c.ctx)
		}
	}
}

// Sweep aborts transactions Ongoing for longer than their timeout (fencing the producer by
// an epoch bump, as Kafka does) and forgets transactional ids unused for
// transactional.id.expiration.ms (a tombstone in __transaction_state). The sweep goroutine
// calls it every CleanupInterval; tests call it with an injected clock.
func (c *Coordinator) Sweep(ctx context.Context) {
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
			if now > m.startMs+int64(m.timeoutMs) {
				m.pending = true
				timedOut = append(timedOut, m)
			}
		case Empty, CompleteCommit, CompleteAbort:
			if now > m.updateMs+c.cfg.IDExpiration.Milliseconds() {
				m.pending = true
				expired = append(expired, m)
			}
		}
	}
	c.mu.Unlock()
	for _, m := range timedOut {
		c.mu.Lock()
		target := m.value()
		c.mu.Unlock()
		target.State, target.LastUpdateMs = PrepareAbort, now
		if !epochExhausted(target.ProducerEpoch) {
			target.ProducerEpoch++ // fences the producer; an exhausted epoch aborts unbumped
		}
		c.logger.Info("aborting a timed-out transaction", "transactional_id", m.id, "producer_id", m.producerID)
		if err := c.prepareAndComplete(ctx, m, target); err != nil {
			c.logger.Warn("aborting a timed-out transaction", "transactional_id", m.id, "err", err)
		}
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
