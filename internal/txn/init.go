package txn

import (
	"context"
	"time"
)

// InitRequest is an InitProducerId request.
type InitRequest struct {
	// TransactionalID is "" for an idempotent producer without transactions.
	TransactionalID string
	// TransactionTimeoutMs is the producer's transaction.timeout.ms.
	TransactionTimeoutMs int32
	// ProducerID and ProducerEpoch are the producer's current ones (-1 for a new producer;
	// KIP-360 lets an idempotent or transactional producer ask for an epoch bump).
	ProducerID    int64
	ProducerEpoch int16
}

// InitResult is the producer id and epoch a producer is to use.
type InitResult struct {
	ProducerID    int64
	ProducerEpoch int16
}

// InitProducerID answers InitProducerId.
//
// Without a transactional id every call gets a fresh producer id at epoch 0: the partitions'
// idempotence state is keyed by producer id, so a new id is always safe.
//
// With one, the id's producer epoch is bumped (a new id at epoch 0 for a new transactional
// id or an exhausted epoch), which fences every older producer of the id. A transaction left
// Ongoing by an older producer is aborted first under the bumped epoch and the caller gets
// ErrConcurrentTransactions, to retry once the abort completed, as Kafka does. A request
// carrying the producer id and epoch it holds (KIP-360) must name the current ones, or the
// ones the last bump replaced when it retries that bump.
func (c *Coordinator) InitProducerID(ctx context.Context, req InitRequest) (InitResult, error) {
	if req.TransactionalID == "" {
		if c.isClosed() {
			return InitResult{}, ErrCoordinatorNotAvailable
		}
		id, err := c.cfg.ProducerIDs.Next(ctx)
		if err != nil {
			return InitResult{}, err
		}
		return InitResult{ProducerID: id, ProducerEpoch: 0}, nil
	}
	if req.TransactionTimeoutMs <= 0 || time.Duration(req.TransactionTimeoutMs)*time.Millisecond > c.cfg.MaxTimeout {
		return InitResult{}, ErrInvalidTransactionTimeout
	}
	if err := c.ensureMeta(ctx, req.TransactionalID, req.TransactionTimeoutMs); err != nil {
		return InitResult{}, err
	}
	c.waitSettled(ctx, req.TransactionalID)
	fresh, err := c.freshIDIfExhausted(ctx, req.TransactionalID)
	if err != nil {
		return InitResult{}, err
	}

	c.mu.Lock()
	m, retried, err := c.checkInitLocked(req)
	if err != nil || retried != nil {
		c.mu.Unlock()
		if retried != nil {
			return *retried, nil
		}
		return InitResult{}, err
	}
	now := c.nowMs()
	target := m.value()
	target.TimeoutMs, target.LastUpdateMs = req.TransactionTimeoutMs, now
	if fresh >= 0 && epochExhausted(m.epoch) {
		target.ProducerID, target.ProducerEpoch = fresh, 0
	} else {
		target.ProducerEpoch = m.epoch + 1
	}
	switch m.state {
	case PrepareCommit, PrepareAbort:
		c.mu.Unlock()
		return InitResult{}, ErrConcurrentTransactions
	case Ongoing:
		// Fence the old producer (PrepareEpochFence) and abort its transaction under the
		// bumped epoch (the same one when exhausted: the retry then gets a new id); the
		// markers name the producer id the transaction's records carry. The caller retries
		// once the abort is complete.
		target.State, target.ProducerID, target.ProducerEpoch = PrepareAbort, m.producerID, m.epoch
		if !epochExhausted(m.epoch) {
			target.ProducerEpoch++
		}
		m.pending = true
		c.mu.Unlock()
		if err := c.prepareAndComplete(ctx, m, target); err != nil {
			return InitResult{}, err
		}
		return InitResult{}, ErrConcurrentTransactions
	}
	target.State, target.Partitions, target.StartMs = Empty, nil, -1
	m.pending = true
	c.mu.Unlock()
	if err := c.transition(ctx, m, target); err != nil {
		return InitResult{}, err
	}
	return InitResult{ProducerID: target.ProducerID, ProducerEpoch: target.ProducerEpoch}, nil
}

// freshIDIfExhausted allocates a producer id (outside mu) when the id's epoch cannot be
// bumped again; -1 otherwise.
func (c *Coordinator) freshIDIfExhausted(ctx context.Context, id string) (int64, error) {
	c.mu.Lock()
	m := c.mu.txns[id]
	need := m != nil && epochExhausted(m.epoch)
	c.mu.Unlock()
	if !need {
		return -1, nil
	}
	return c.cfg.ProducerIDs.Next(ctx)
}

// checkInitLocked validates an InitProducerId of a transactional id. A KIP-360 request must
// name the current producer id and epoch; one naming those the last bump replaced is a retry
// of that bump and gets its answer again (retried).
func (c *Coordinator) checkInitLocked(req InitRequest) (m *txnMeta, retried *InitResult, err error) {
	if err := c.servesLocked(req.TransactionalID); err != nil {
		return nil, nil, err
	}
	m = c.mu.txns[req.TransactionalID]
	if m == nil || m.pending {
		return nil, nil, ErrConcurrentTransactions
	}
	if req.ProducerID < 0 {
		return m, nil, nil
	}
	current := req.ProducerID == m.producerID && req.ProducerEpoch == m.epoch
	retry := (req.ProducerID == m.producerID || req.ProducerID == m.previousProducerID) && req.ProducerEpoch == m.lastEpoch && m.lastEpoch >= 0
	switch {
	case retry && (m.state == Empty || m.state == CompleteCommit || m.state == CompleteAbort):
		return m, &InitResult{ProducerID: m.producerID, ProducerEpoch: m.epoch}, nil
	case !current:
		return nil, nil, ErrProducerFenced
	}
	return m, nil, nil
}

// ensureMeta creates the state of a new transactional id with a fresh producer id at epoch
// -1 (the bump that follows makes it 0). Nothing is written until that bump.
func (c *Coordinator) ensureMeta(ctx context.Context, id string, timeoutMs int32) error {
	c.mu.Lock()
	err := c.servesLocked(id)
	_, ok := c.mu.txns[id]
	c.mu.Unlock()
	if err != nil || ok {
		return err
	}
	pid, err := c.cfg.ProducerIDs.Next(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.servesLocked(id); err != nil {
		return err // resigned while the producer id was allocated
	}
	if _, ok := c.mu.txns[id]; !ok {
		c.mu.txns[id] = &txnMeta{id: id, producerID: pid, previousProducerID: -1, epoch: -1, lastEpoch: -1,
			nextProducerID: -1, timeoutMs: timeoutMs, state: Empty, startMs: -1, updateMs: c.nowMs()}
	}
	return nil
}

func (c *Coordinator) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.closed
}
