package partition

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/storage"
)

// TxnMarker is one WriteTxnMarkers entry for this partition.
type TxnMarker struct {
	ProducerID       int64
	ProducerEpoch    int16
	Commit           bool
	CoordinatorEpoch int32
}

// WriteTxnMarker appends a control batch (commit or abort) as leader, ends
// the producer's ongoing transaction here, moves the last stable offset and,
// on abort, records the aborted transaction in the segment's .txnindex
// before the last stable offset passes it (so a read_committed fetch that
// can see the records also learns they were aborted). It returns the
// marker's offset; like a produce with acks=all, the caller waits for the
// high watermark to pass it (Committed) before answering.
//
// A marker for a producer with no ongoing transaction here is still written,
// as Kafka does. A marker from an older producer epoch than the partition has
// seen is ErrInvalidProducerEpoch (Kafka's InvalidProducerEpochException,
// INVALID_PRODUCER_EPOCH); from an older coordinator epoch
// ErrTransactionCoordinatorFenced. Other errors: ErrNotLeader, ErrDeleted,
// storage errors (then the transaction stays open; a retried marker ends it).
func (p *Partition) WriteTxnMarker(m TxnMarker) (int64, error) {
	p.leadership.RLock()
	defer p.leadership.RUnlock()
	p.producers.Lock()
	defer p.producers.Unlock()
	p.mu.Lock()
	deleted, leader, leaderEpoch := p.mu.deleted, p.mu.isLeader, p.mu.state.LeaderEpoch
	p.mu.Unlock()
	switch {
	case deleted:
		return -1, fmt.Errorf("%s-%d: %w", p.topic, p.index, ErrDeleted)
	case !leader:
		return -1, fmt.Errorf("%s-%d: %w", p.topic, p.index, ErrNotLeader)
	}
	states := &p.producers.states
	cur := states.entries[m.ProducerID]
	e := newProducerEntry(m.ProducerID)
	if cur != nil {
		e = *cur
	}
	if err := checkMarker(&e, m.ProducerEpoch, m.CoordinatorEpoch, p.log.LogEndOffset()); err != nil {
		return -1, fmt.Errorf("%s-%d: %w", p.topic, p.index, err)
	}
	nowMs := p.now().UnixMilli()
	batch, err := markerBatch(m, nowMs)
	if err != nil {
		return -1, fmt.Errorf("%s-%d: build marker: %w", p.topic, p.index, err)
	}
	// No durability wait here, under the producer table's lock: the caller
	// waits for the high watermark, which in group-commit mode stays below
	// what is not yet durable.
	info, err := p.log.AppendNoWait(batch, leaderEpoch)
	if err != nil {
		return -1, fmt.Errorf("%s-%d: append marker: %w", p.topic, p.index, err)
	}
	if err := p.log.ScheduleSync(info); err != nil {
		return -1, fmt.Errorf("%s-%d: append marker: %w", p.topic, p.index, err)
	}
	offset := info.FirstOffset
	first := e.currentTxnFirstOffset
	if first >= 0 && !m.Commit {
		t := storage.AbortedTxn{ProducerID: m.ProducerID, FirstOffset: first, LastOffset: offset, LastStableOffset: p.stableOffsetAfter(m.ProducerID, offset)}
		if err := p.log.AppendAbortedTxn(t); err != nil {
			return -1, fmt.Errorf("%s-%d: record aborted transaction: %w", p.topic, p.index, err)
		}
	}
	endTxn(&e, m.ProducerEpoch, m.CoordinatorEpoch, nowMs)
	if cur != nil {
		*cur = e
	} else {
		states.entries[m.ProducerID] = &e
	}
	p.mu.Lock()
	delete(p.mu.ongoingTxns, m.ProducerID)
	p.maybeAdvanceHighWatermarkLocked()
	p.notifyLocked() // the last stable offset may have moved
	p.mu.Unlock()
	p.maybeSnapshotAfterRollLocked()
	return offset, nil
}

// checkMarker applies Kafka's checks to a marker for e's producer.
func checkMarker(e *producerEntry, epoch int16, coordinatorEpoch int32, offset int64) error {
	if err := checkProducerEpoch(e, epoch, offset); err != nil {
		return err
	}
	if e.coordinatorEpoch > coordinatorEpoch {
		return fmt.Errorf("%w: marker for producer %d from coordinator epoch %d, last seen %d",
			ErrTransactionCoordinatorFenced, e.producerID, coordinatorEpoch, e.coordinatorEpoch)
	}
	return nil
}

// endTxn applies a marker to e: the transaction is over and the marker's
// producer epoch (bumped by the coordinator on abort) becomes current.
func endTxn(e *producerEntry, epoch int16, coordinatorEpoch int32, timestamp int64) {
	e.maybeUpdateEpoch(epoch)
	e.currentTxnFirstOffset = -1
	e.coordinatorEpoch = coordinatorEpoch
	e.lastTimestamp = timestamp
}

// stableOffsetAfter is the last stable offset once producerID's
// transaction, ended by the marker at markerOffset, is complete: the first
// offset of the earliest other open transaction, else the offset after the
// marker (Kafka records it in the .txnindex entry).
func (p *Partition) stableOffsetAfter(producerID, markerOffset int64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	lso := markerOffset + 1
	for id, first := range p.mu.ongoingTxns {
		if id != producerID {
			lso = min(lso, first)
		}
	}
	return lso
}

// markerBatch builds the control batch of a transaction marker.
func markerBatch(m TxnMarker, nowMs int64) ([]byte, error) {
	b := record.NewBuilder(record.None)
	b.ProducerID, b.ProducerEpoch = m.ProducerID, m.ProducerEpoch
	b.Transactional, b.Control = true, true
	typ := record.ControlAbort
	if m.Commit {
		typ = record.ControlCommit
	}
	if err := b.AddControl(typ, nowMs, m.CoordinatorEpoch); err != nil {
		return nil, err
	}
	return b.Build(nil)
}

// Producers lists the active producers' state here (DescribeProducers),
// ordered by producer id. Producers idle past producer.id.expiration.ms
// without an open transaction are dropped first.
func (p *Partition) Producers() []ProducerState {
	p.producers.Lock()
	defer p.producers.Unlock()
	p.producers.states.maybeRemoveExpired(p.now().UnixMilli())
	out := p.producers.states.list()
	slices.SortFunc(out, func(a, b ProducerState) int { return cmp.Compare(a.ProducerID, b.ProducerID) })
	return out
}
