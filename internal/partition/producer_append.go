package partition

import (
	"fmt"
	"sync/atomic"

	"github.com/sluicehq/sluice/internal/record"
)

// producerStates is a partition's producer table: the state Kafka's
// ProducerStateManager keeps. It is guarded by Partition.producers.
type producerStates struct {
	entries      map[int64]*producerEntry
	expirationMs int64 // producer.id.expiration.ms
	// dynamicExpirationMs, when set, replaces expirationMs: the Manager's value, which
	// changes with the dynamic broker config.
	dynamicExpirationMs *atomic.Int64
	checkIntervalMs     int64 // producer.id.expiration.check.interval.ms
	lastExpiryMs        int64 // when expired producers were last removed
	// snapshotOffset is the offset of the newest snapshot written or
	// loaded, -1 if none; segments the log's segment count when last looked
	// at, so a roll (the count rising) triggers a snapshot.
	snapshotOffset int64
	segments       int
}

func newProducerStates(expirationMs, checkIntervalMs int64) producerStates {
	return producerStates{entries: make(map[int64]*producerEntry), expirationMs: expirationMs,
		checkIntervalMs: checkIntervalMs, snapshotOffset: -1}
}

// expired reports whether e may be forgotten: idle past the expiration and
// not in a transaction (an open transaction pins the last stable offset, so
// it must stay known until its marker).
func (s *producerStates) expired(e *producerEntry, nowMs int64) bool {
	expiration := s.expirationMs
	if s.dynamicExpirationMs != nil {
		expiration = s.dynamicExpirationMs.Load()
	}
	return e.currentTxnFirstOffset < 0 && nowMs-e.lastTimestamp >= expiration
}

// maybeRemoveExpired drops expired producers, at most once per check
// interval. It runs lazily from appends and DescribeProducers rather than
// on a timer, so an idle partition costs nothing; its stale entries are
// also skipped when a snapshot is loaded.
func (s *producerStates) maybeRemoveExpired(nowMs int64) {
	if nowMs-s.lastExpiryMs < s.checkIntervalMs && nowMs >= s.lastExpiryMs {
		return
	}
	s.lastExpiryMs = nowMs
	for id, e := range s.entries {
		if s.expired(e, nowMs) {
			delete(s.entries, id)
		}
	}
}

// plannedProducer is the working state of one producer during an append.
type plannedProducer struct {
	entry     producerEntry
	cur       *producerEntry // the table's entry; nil for a new producer
	curEpoch  int16          // epoch before this request
	added     int            // data batches of this request in entry
	openedTxn bool           // this request began a transaction
}

// appendPlan holds the working copies of an append's producers. Requests
// almost always carry one producer's batches, which fit in fixed without
// allocating.
type appendPlan struct {
	fixed [2]plannedProducer
	n     int
	more  []plannedProducer
}

func (pl *appendPlan) len() int { return pl.n + len(pl.more) }

func (pl *appendPlan) at(i int) *plannedProducer {
	if i < pl.n {
		return &pl.fixed[i]
	}
	return &pl.more[i-pl.n]
}

func (pl *appendPlan) find(id int64) *plannedProducer {
	for i := range pl.len() {
		if pp := pl.at(i); pp.entry.producerID == id {
			return pp
		}
	}
	return nil
}

func (pl *appendPlan) add(id int64, cur *producerEntry) *plannedProducer {
	pp := plannedProducer{cur: cur}
	if cur != nil {
		pp.entry, pp.curEpoch = *cur, cur.epoch
	} else {
		pp.entry, pp.curEpoch = newProducerEntry(id), record.NoProducerEpoch
	}
	if pl.n < len(pl.fixed) {
		pl.fixed[pl.n] = pp
		pl.n++
		return &pl.fixed[pl.n-1]
	}
	pl.more = append(pl.more, pp)
	return &pl.more[len(pl.more)-1]
}

// duplicateBatch is a batch a retry repeats, with the offsets it got.
type duplicateBatch struct {
	found bool
	batchMetadata
}

// plan checks a client's batches against the table, as Kafka's leader
// does, assuming they will be appended from firstOffset on: a batch that
// repeats one of its producer's last five is reported as a duplicate (the
// request is then answered with the original offsets and nothing is
// appended); otherwise epochs, sequences and transaction state must hold.
// The table is not changed: commit applies pl after the append.
func (s *producerStates) plan(records []byte, firstOffset int64, pl *appendPlan) (duplicateBatch, error) {
	it := record.NewBatches(records)
	offset := firstOffset
	for _, h, ok := it.Next(); ok; _, h, ok = it.Next() {
		batchOffset := offset
		offset += int64(h.LastOffsetDelta) + 1
		if h.ProducerID < 0 {
			if h.IsTransactional() {
				return duplicateBatch{}, fmt.Errorf("%w: transactional batch without a producer id", ErrInvalidRecord)
			}
			continue
		}
		if h.BaseSequence < 0 {
			return duplicateBatch{}, fmt.Errorf("%w: batch of producer %d has sequence %d", ErrInvalidRecord, h.ProducerID, h.BaseSequence)
		}
		cur := s.entries[h.ProducerID]
		if cur != nil {
			if b, ok := cur.findDuplicate(h); ok {
				return duplicateBatch{found: true, batchMetadata: b}, nil
			}
		}
		pp := pl.find(h.ProducerID)
		if pp == nil {
			pp = pl.add(h.ProducerID, cur)
		}
		if err := checkProducerEpoch(&pp.entry, h.ProducerEpoch, batchOffset); err != nil {
			return duplicateBatch{}, err
		}
		if err := checkSequence(&pp.entry, pp.curEpoch, h.ProducerEpoch, h.BaseSequence, batchOffset); err != nil {
			return duplicateBatch{}, err
		}
		pp.entry.addBatch(h.ProducerEpoch, batchMetadata{
			lastSeq: incrementSequence(h.BaseSequence, h.LastOffsetDelta), lastOffset: batchOffset + int64(h.LastOffsetDelta),
			offsetDelta: h.LastOffsetDelta, timestamp: h.MaxTimestamp})
		pp.added++
		switch txn := pp.entry.currentTxnFirstOffset >= 0; {
		case txn && !h.IsTransactional():
			return duplicateBatch{}, fmt.Errorf("%w: producer %d wrote a non-transactional batch at %d inside its transaction",
				ErrInvalidTxnState, h.ProducerID, batchOffset)
		case !txn && h.IsTransactional():
			pp.entry.currentTxnFirstOffset = batchOffset
			pp.openedTxn = true
		}
	}
	return duplicateBatch{}, nil
}

// commit applies an append's plan to the table. shift corrects the offsets
// planned from the log end offset to those the log assigned (0 unless
// something appended outside Partition.producers).
func (s *producerStates) commit(pl *appendPlan, shift int64) {
	for i := range pl.len() {
		pp := pl.at(i)
		e := pp.entry
		if shift != 0 {
			for j := max(e.numBatches-pp.added, 0); j < e.numBatches; j++ {
				e.batches[j].lastOffset += shift
			}
			if pp.openedTxn {
				e.currentTxnFirstOffset += shift
			}
		}
		if pp.cur != nil {
			*pp.cur = e
			continue
		}
		ne := e
		s.entries[e.producerID] = &ne
	}
}

// list returns every producer's state (DescribeProducers).
func (s *producerStates) list() []ProducerState {
	out := make([]ProducerState, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, e.state())
	}
	return out
}
