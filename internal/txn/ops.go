package txn

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/metadata"
)

// checkProducerLocked validates a transactional request's producer id and epoch against the
// id's state and returns the state.
func (c *Coordinator) checkProducerLocked(id string, producerID int64, epoch int16) (*txnMeta, error) {
	if err := c.servesLocked(id); err != nil {
		return nil, err
	}
	m := c.mu.txns[id]
	switch {
	case m == nil || m.producerID != producerID:
		return nil, ErrInvalidProducerIDMapping
	case epoch != m.epoch:
		return nil, ErrProducerFenced
	case m.pending || m.state == PrepareCommit || m.state == PrepareAbort:
		return nil, ErrConcurrentTransactions
	}
	return m, nil
}

// AddPartitions adds partitions to the producer's transaction (AddPartitionsToTxn), starting
// the transaction when none is ongoing. Partitions already in the transaction are not
// written again. While the previous transaction's markers are being written it waits for
// them (up to a second) rather than failing with ErrConcurrentTransactions at once.
func (c *Coordinator) AddPartitions(ctx context.Context, id string, producerID int64, epoch int16, parts TopicPartitions) error {
	c.waitSettled(ctx, id)
	c.mu.Lock()
	m, err := c.checkProducerLocked(id, producerID, epoch)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	target := m.value()
	if m.state != Ongoing {
		target.Partitions, target.StartMs = TopicPartitions{}, c.nowMs()
	} else {
		target.Partitions = m.partitions.clone()
	}
	added := false
	for t, ps := range parts {
		for _, p := range ps {
			added = target.Partitions.add(t, p) || added
		}
	}
	if m.state == Ongoing && !added {
		c.mu.Unlock()
		return nil
	}
	target.State, target.LastUpdateMs = Ongoing, c.nowMs()
	m.pending = true
	c.mu.Unlock()
	return c.transition(ctx, m, target)
}

// AddOffsets adds a group's __consumer_offsets partition to the transaction
// (AddOffsetsToTxn), so that the group's transactional offset commits end with it.
func (c *Coordinator) AddOffsets(ctx context.Context, id string, producerID int64, epoch int16, groupID string) error {
	p := group.Partition(groupID, c.cfg.OffsetsNumPartitions)
	return c.AddPartitions(ctx, id, producerID, epoch, TopicPartitions{metadata.ConsumerOffsetsTopic: {p}})
}

// VerifyPartitions answers a broker's verification (AddPartitionsToTxn v4+ verifyOnly,
// KIP-890): nil for each partition in the producer's ongoing transaction, ErrInvalidTxnState
// for the others; a producer mismatch fails every partition with the returned error.
func (c *Coordinator) VerifyPartitions(id string, producerID int64, epoch int16, parts TopicPartitions) (map[string]map[int32]error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.servesLocked(id); err != nil {
		return nil, err
	}
	m := c.mu.txns[id]
	switch {
	case m == nil || m.producerID != producerID:
		return nil, ErrInvalidProducerIDMapping
	case epoch != m.epoch:
		return nil, ErrProducerFenced
	}
	out := map[string]map[int32]error{}
	for t, ps := range parts {
		out[t] = map[int32]error{}
		for _, p := range ps {
			if m.state == Ongoing && m.partitions.contains(t, p) {
				out[t][p] = nil
			} else {
				out[t][p] = ErrInvalidTxnState
			}
		}
	}
	return out, nil
}

// EndRequest is an EndTxn request.
type EndRequest struct {
	TransactionalID string
	ProducerID      int64
	ProducerEpoch   int16
	Commit          bool
	// BumpEpoch is EndTxn v5+ (KIP-890 transactions v2): every transaction ends under a new
	// epoch, returned to the producer, so a late write of the old one is fenced.
	BumpEpoch bool
}

// EndTxn commits or aborts the producer's transaction (EndTxn). It returns once PrepareCommit
// or PrepareAbort is durable in __transaction_state: from then on the outcome is decided
// and survives a restart; markers are written afterwards and the transaction completes.
// A retry of an EndTxn that already completed succeeds; a commit after an abort (or the
// reverse) and an EndTxn without a transaction are ErrInvalidTxnState.
func (c *Coordinator) EndTxn(ctx context.Context, req EndRequest) (InitResult, error) {
	c.mu.Lock()
	m, err := c.endTxnMetaLocked(req)
	if err != nil || m == nil {
		res := InitResult{ProducerID: -1, ProducerEpoch: -1}
		if m2 := c.mu.txns[req.TransactionalID]; err == nil && m2 != nil {
			res = InitResult{ProducerID: m2.producerID, ProducerEpoch: m2.epoch}
		}
		c.mu.Unlock()
		return res, err
	}
	target := m.value()
	target.LastUpdateMs = c.nowMs()
	if req.Commit {
		target.State = PrepareCommit
	} else {
		target.State = PrepareAbort
	}
	if req.BumpEpoch {
		target.ClientTxnVersion = 2
		if epochExhausted(m.epoch) {
			c.mu.Unlock()
			pid, err := c.cfg.ProducerIDs.Next(ctx)
			c.mu.Lock()
			if err != nil {
				c.mu.Unlock()
				return InitResult{}, err
			}
			if m2, err := c.endTxnMetaLocked(req); err != nil || m2 != m {
				c.mu.Unlock()
				return InitResult{}, ErrConcurrentTransactions
			}
			// The markers still carry this producer id (at the last epoch); the producer
			// continues with the new one once the transaction completes.
			target.ProducerEpoch, target.NextProducerID = m.epoch+1, pid
		} else {
			target.ProducerEpoch = m.epoch + 1
		}
	}
	m.pending = true
	c.mu.Unlock()
	if err := c.prepareAndComplete(ctx, m, target); err != nil {
		return InitResult{}, err
	}
	if target.NextProducerID >= 0 {
		return InitResult{ProducerID: target.NextProducerID, ProducerEpoch: 0}, nil
	}
	return InitResult{ProducerID: target.ProducerID, ProducerEpoch: target.ProducerEpoch}, nil
}

// endTxnMetaLocked checks an EndTxn; a nil txnMeta with a nil error means the request is a
// retry of a completed EndTxn (success without a write).
func (c *Coordinator) endTxnMetaLocked(req EndRequest) (*txnMeta, error) {
	if err := c.servesLocked(req.TransactionalID); err != nil {
		return nil, err
	}
	m := c.mu.txns[req.TransactionalID]
	if m == nil {
		return nil, ErrInvalidProducerIDMapping
	}
	completed := (req.Commit && m.state == CompleteCommit) || (!req.Commit && m.state == CompleteAbort)
	// A v5 retry carries the epoch (and maybe id) from before the bump its first try made.
	if req.BumpEpoch && completed && !m.pending && ((req.ProducerID == m.producerID && req.ProducerEpoch == m.lastEpoch) ||
		(req.ProducerID == m.previousProducerID && m.epoch == 0)) {
		return nil, nil // (after an exhausted epoch the producer id itself changed)
	}
	switch {
	case m.producerID != req.ProducerID:
		return nil, ErrInvalidProducerIDMapping
	case req.ProducerEpoch != m.epoch:
		return nil, ErrProducerFenced
	case m.pending || m.state == PrepareCommit || m.state == PrepareAbort:
		return nil, ErrConcurrentTransactions
	case m.state == Ongoing:
		return m, nil
	case completed && !req.BumpEpoch:
		return nil, nil
	case !req.Commit && req.BumpEpoch && (m.state == Empty || m.state == CompleteCommit || m.state == CompleteAbort):
		// Transactions v2 may abort a transaction that never added a partition.
		return m, nil
	}
	return nil, ErrInvalidTxnState
}

// prepareAndComplete writes the PrepareCommit/PrepareAbort target of m (pending), then
// writes markers and completes on a goroutine. It returns once the prepare is durable.
func (c *Coordinator) prepareAndComplete(ctx context.Context, m *txnMeta, target LogValue) error {
	err := c.persist(ctx, m.id, &target)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		m.settleLocked()
		return err
	}
	c.applyLocked(m, target)
	if c.mu.closed {
		m.settleLocked() // prepared in the log: the next start completes it
		return nil
	}
	c.completeAsyncLocked(m, target)
	return nil
}

// completeAsyncLocked writes the markers of a prepared transaction and then its complete
// state, on a goroutine. m stays pending until done.
func (c *Coordinator) completeAsyncLocked(m *txnMeta, prepared LogValue) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.guard("txn.markers", m)
		c.complete(m, prepared)
	}()
}

// markerRetry is the pause between attempts to write a marker that failed.
const markerRetry = 100 * time.Millisecond

// markerOrder is the order complete writes a transaction's markers in: its data partitions
// (by name), then __consumer_offsets. A consumer offset committed in a transaction is
// reported stable (OffsetFetch with require_stable, KIP-447) once its marker is written, so
// with this order everything else the transaction wrote is readable by read_committed
// consumers by then: the member that takes over a read-process-write task (Kafka Streams
// restoring a store from its changelog up to the last stable offset) never resumes from the
// committed offsets with the transaction's changelog records still hidden.
func markerOrder(tp TopicPartitions) []string {
	topics := tp.Topics()
	if i := slices.Index(topics, metadata.ConsumerOffsetsTopic); i >= 0 {
		topics = append(slices.Delete(topics, i, i+1), metadata.ConsumerOffsetsTopic)
	}
	return topics
}

func (c *Coordinator) complete(m *txnMeta, prepared LogValue) {
	c.mu.Lock()
	epoch := c.coordinatorEpochLocked(m.id)
	c.mu.Unlock()
	marker := Marker{ProducerID: prepared.ProducerID, ProducerEpoch: prepared.ProducerEpoch,
		Commit: prepared.State == PrepareCommit, CoordinatorEpoch: epoch}
	for _, topic := range markerOrder(prepared.Partitions) {
		for _, p := range prepared.Partitions[topic] {
			if !c.writeMarker(m, topic, p, marker) {
				c.release(m)
				return
			}
		}
	}
	done := prepared
	done.State, done.Partitions, done.LastUpdateMs = CompleteAbort, nil, c.nowMs()
	if prepared.NextProducerID >= 0 { // the producer continues under a new id (EndTxn v5)
		done.PreviousProducerID, done.ProducerID, done.ProducerEpoch, done.NextProducerID = prepared.ProducerID, prepared.NextProducerID, 0, -1
	}
	if marker.Commit {
		done.State = CompleteCommit
	}
	for {
		err := c.persist(c.ctx, m.id, &done)
		if err == nil {
			break
		}
		c.logger.Warn("completing a transaction", "transactional_id", m.id, "err", err)
		if !c.sleep(markerRetry) || c.abandoned(m) {
			c.release(m)
			return
		}
	}
	c.mu.Lock()
	c.applyLocked(m, done)
	m.settleLocked()
	c.mu.Unlock()
}

// writeMarker writes one marker of m's transaction, retrying until it is written, the
// partition is gone, or the coordinator closes or resigned m's partition (false).
func (c *Coordinator) writeMarker(m *txnMeta, topic string, p int32, marker Marker) bool {
	for {
		err := c.cfg.Markers.WriteTxnMarker(c.ctx, topic, p, marker)
		if err == nil || errors.Is(err, ErrUnknownPartition) || errors.Is(err, ErrMarkerRejected) {
			return true
		}
		c.logger.Warn("writing a transaction marker", "topic", topic, "partition", p, "producer_id", marker.ProducerID, "err", err)
		if !c.sleep(markerRetry) || c.abandoned(m) {
			return false
		}
	}
}

func (c *Coordinator) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// release clears pending of a transaction left prepared by Close.
func (c *Coordinator) release(m *txnMeta) {
	c.mu.Lock()
	m.settleLocked()
	c.mu.Unlock()
}
