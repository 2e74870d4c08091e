package partition

import (
	"errors"
	"fmt"
	"io"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/storage"
)

const (
	// replayReadBytes is how much log one replay read covers.
	replayReadBytes = 1 << 20
	// maxControlBatchSize bounds a control batch read during replay; a
	// marker is under 100 bytes.
	maxControlBatchSize = 1 << 16
)

// loadProducerState rebuilds the producer table when the partition is
// opened: from the newest readable snapshot at or below the log end offset
// (newer ones describe records the log no longer has and are deleted;
// corrupt ones are logged and deleted), then by replaying every batch from
// there (or from the log start) to the log end offset, as Kafka does. The
// replay re-adds aborted transactions missing from the .txnindex (storage
// does not rebuild it after a crash). It runs before the partition is
// visible to anyone, or (a follower's truncation) under leadership and producers.
func (p *Partition) loadProducerState() error {
	states := &p.producers.states
	fsys, dir := p.log.FS(), p.log.Dir()
	logEnd, logStart := p.log.LogEndOffset(), p.log.LogStartOffset()
	nowMs := p.now().UnixMilli()
	offs, err := listSnapshots(fsys, dir)
	if err != nil {
		return err
	}
	from := logStart
	for i := len(offs) - 1; i >= 0; i-- {
		off := offs[i]
		if off > logEnd {
			if err := removeSnapshot(fsys, dir, off); err != nil {
				return err
			}
			continue
		}
		b, err := readSnapshotFile(fsys, dir, off)
		var entries []snapshotEntry
		if err == nil {
			entries, err = decodeProducerSnapshot(b)
		}
		if err != nil {
			p.logger.Warn("producer snapshot unusable; deleting it", "offset", off, "err", err)
			if err := removeSnapshot(fsys, dir, off); err != nil {
				return err
			}
			continue
		}
		states.load(entries, nowMs)
		states.snapshotOffset = off
		from = max(from, off)
		break
	}
	if err := p.replayProducerState(from, logEnd); err != nil {
		return fmt.Errorf("%s-%d: rebuild producer state from %d: %w", p.topic, p.index, from, err)
	}
	states.segments = p.log.NumSegments()
	states.lastExpiryMs = nowMs
	p.mu.Lock()
	clear(p.mu.ongoingTxns)
	for id, e := range states.entries {
		if e.currentTxnFirstOffset >= 0 {
			p.mu.ongoingTxns[id] = e.currentTxnFirstOffset
		}
	}
	p.mu.Unlock()
	return nil
}

// replayer applies logged batches to the producer table with the rules
// Kafka uses for replicated appends: no sequence checks and no refusals
// (the leader checked them when they were written).
type replayer struct {
	p       *Partition
	header  [record.HeaderSize]byte
	control []byte
	scratch []byte
}

// replayProducerState applies every batch in [from, to) to the table.
func (p *Partition) replayProducerState(from, to int64) error {
	r := &replayer{p: p}
	for offset := from; offset < to; {
		rr, err := p.log.Read(offset, replayReadBytes, to, true)
		if err != nil {
			return fmt.Errorf("read at %d: %w", offset, err)
		}
		for _, rg := range rr.Regions {
			if err := r.region(rg, from); err != nil {
				rr.Release()
				return err
			}
		}
		rr.Release()
		if rr.NextOffset <= offset {
			break // no batch left below to (a gap at the end of the log)
		}
		offset = rr.NextOffset
	}
	return nil
}

// region replays the batches of one region whose records reach from.
func (r *replayer) region(rg storage.Region, from int64) error {
	for pos := int64(0); pos < rg.Len(); {
		if _, err := rg.ReadAt(r.header[:], pos); err != nil {
			return fmt.Errorf("%s at %d: batch header: %w", rg.File(), rg.Position()+pos, err)
		}
		h, err := record.ReadHeader(r.header[:])
		if err != nil {
			return fmt.Errorf("%s at %d: %w", rg.File(), rg.Position()+pos, err)
		}
		size := int64(h.Size())
		if pos+size > rg.Len() {
			return fmt.Errorf("%s at %d: %w: batch of %d bytes past the region", rg.File(), rg.Position()+pos, record.ErrCorrupt, size)
		}
		if h.LastOffset() >= from && h.ProducerID >= 0 {
			if err := r.batch(rg, pos, h); err != nil {
				return err
			}
		}
		pos += size
	}
	return nil
}

// batch applies one batch of a producer read from a log region.
func (r *replayer) batch(rg storage.Region, pos int64, h record.Header) error {
	return r.apply(h, func() (record.ControlType, int32, int64, bool, error) { return r.readMarker(rg, pos, h) })
}

// apply applies one batch of a producer; marker reads a control batch's marker (see
// readMarker) and is called for control batches only.
func (r *replayer) apply(h record.Header, marker func() (record.ControlType, int32, int64, bool, error)) error {
	states := &r.p.producers.states
	e := states.entries[h.ProducerID]
	if e == nil {
		ne := newProducerEntry(h.ProducerID)
		e = &ne
		states.entries[h.ProducerID] = e
	}
	if !h.IsControl() {
		e.addBatch(h.ProducerEpoch, batchMetadata{lastSeq: incrementSequence(h.BaseSequence, h.LastOffsetDelta),
			lastOffset: h.LastOffset(), offsetDelta: h.LastOffsetDelta, timestamp: h.MaxTimestamp})
		if h.IsTransactional() && e.currentTxnFirstOffset < 0 {
			e.currentTxnFirstOffset = h.BaseOffset
		}
		return nil
	}
	typ, coordinatorEpoch, ts, ok, err := marker()
	if err != nil || !ok {
		return err
	}
	if first := e.currentTxnFirstOffset; first >= 0 && typ == record.ControlAbort {
		t := storage.AbortedTxn{ProducerID: h.ProducerID, FirstOffset: first, LastOffset: h.BaseOffset,
			LastStableOffset: states.stableOffsetAfter(h.ProducerID, h.BaseOffset)}
		if err := r.p.ensureAbortIndexed(t); err != nil {
			return err
		}
	}
	endTxn(e, h.ProducerEpoch, coordinatorEpoch, ts)
	return nil
}

// readMarker reads a control batch's marker from a log region; ok is false for an empty
// control batch (cleaned away) or a control record that is not a marker.
func (r *replayer) readMarker(rg storage.Region, pos int64, h record.Header) (typ record.ControlType, coordinatorEpoch int32, ts int64, ok bool, err error) {
	size := h.Size()
	if size > maxControlBatchSize {
		return 0, 0, 0, false, fmt.Errorf("%s at %d: %w: control batch of %d bytes", rg.File(), rg.Position()+pos, record.ErrCorrupt, size)
	}
	if cap(r.control) < size {
		r.control = make([]byte, size)
	}
	r.control = r.control[:size]
	if _, err := rg.ReadAt(r.control, pos); err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, 0, false, fmt.Errorf("%s at %d: control batch: %w", rg.File(), rg.Position()+pos, err)
	}
	typ, coordinatorEpoch, ts, ok, err = r.markerOf(r.control)
	if err != nil {
		return 0, 0, 0, false, fmt.Errorf("%s at %d: %w", rg.File(), rg.Position()+pos, err)
	}
	return typ, coordinatorEpoch, ts, ok, nil
}

// markerOf reads the marker of a whole control batch in memory; ok as readMarker.
func (r *replayer) markerOf(batch []byte) (typ record.ControlType, coordinatorEpoch int32, ts int64, ok bool, err error) {
	if len(batch) > maxControlBatchSize {
		return 0, 0, 0, false, fmt.Errorf("%w: control batch of %d bytes", record.ErrCorrupt, len(batch))
	}
	recs, buf, err := record.Iterate(batch, r.scratch, maxControlBatchSize)
	r.scratch = buf
	if err != nil {
		return 0, 0, 0, false, fmt.Errorf("control batch: %w", err)
	}
	var rec record.Record
	if !recs.Next(&rec) {
		return 0, 0, 0, false, recs.Err()
	}
	if typ, err = record.ControlRecordType(&rec); err != nil {
		return 0, 0, 0, false, err
	}
	if typ != record.ControlAbort && typ != record.ControlCommit {
		return 0, 0, 0, false, nil
	}
	if coordinatorEpoch, err = record.EndTxnCoordinatorEpoch(&rec); err != nil {
		return 0, 0, 0, false, err
	}
	return typ, coordinatorEpoch, rec.Timestamp, true, nil
}

// stableOffsetAfter is Partition.stableOffsetAfter over the table itself,
// for replay (where the ongoing transactions are the table's).
func (s *producerStates) stableOffsetAfter(producerID, markerOffset int64) int64 {
	lso := markerOffset + 1
	for id, e := range s.entries {
		if id != producerID && e.currentTxnFirstOffset >= 0 {
			lso = min(lso, e.currentTxnFirstOffset)
		}
	}
	return lso
}

// ensureAbortIndexed re-adds an aborted transaction the .txnindex lost in
// a crash. Storage accepts entries only for markers in the active segment;
// one lost from an older segment (possible only after a power loss in
// page-cache mode) is logged, and read_committed fetches of it would not
// see that abort.
func (p *Partition) ensureAbortIndexed(t storage.AbortedTxn) error {
	have, err := p.log.AbortedTxns(t.LastOffset, t.LastOffset+1)
	if err != nil {
		return fmt.Errorf("aborted transactions at %d: %w", t.LastOffset, err)
	}
	for _, a := range have {
		if a.ProducerID == t.ProducerID && a.LastOffset == t.LastOffset {
			return nil
		}
	}
	if err := p.log.AppendAbortedTxn(t); err != nil {
		p.logger.Warn("aborted transaction missing from the transaction index and not re-added",
			"producer_id", t.ProducerID, "first_offset", t.FirstOffset, "marker_offset", t.LastOffset, "err", err)
		return nil
	}
	p.logger.Info("re-added aborted transaction to the transaction index", "producer_id", t.ProducerID, "marker_offset", t.LastOffset)
	return nil
}
