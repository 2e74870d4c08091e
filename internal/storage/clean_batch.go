package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/sluicehq/sluice/internal/record"
)

// Byte positions in a v2 batch header (docs/format/record-batch.md).
const (
	hdrLength          = 8
	hdrCRC             = 17
	hdrAttributes      = 21 // the CRC covers the bytes from here on
	hdrLastOffsetDelta = 23
	hdrBaseTimestamp   = 27
	hdrMaxTimestamp    = 35
	hdrNumRecords      = 57

	attrCodecMask     = 0x07
	attrDeleteHorizon = 0x40
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// cleanTxns follows transactions through the batches being cleaned, in offset order (Kafka's
// CleanedTransactionMetadata): which data batches belong to aborted transactions (dropped), and
// which markers may go. aborted are the log's aborted transactions overlapping the range, in
// the order their markers were written.
type cleanTxns struct {
	aborted          []AbortedTxn
	next             int                        // aborted[next:] not yet started
	ongoingAborted   map[int64]*abortedProgress // by producer id
	ongoingCommitted map[int64]bool
	kept             []AbortedTxn // aborts whose markers the cleaned segment keeps (its .txnindex)
}

type abortedProgress struct {
	txn         AbortedTxn
	sawBatches  bool // a data batch of the transaction was read in this clean
	lastBatchAt int64
}

func newCleanTxns(aborted []AbortedTxn) *cleanTxns {
	return &cleanTxns{aborted: aborted, ongoingAborted: map[int64]*abortedProgress{}, ongoingCommitted: map[int64]bool{}}
}

// startAbortedUpTo notes every aborted transaction that began at or before offset.
func (t *cleanTxns) startAbortedUpTo(offset int64) {
	for t.next < len(t.aborted) && t.aborted[t.next].FirstOffset <= offset {
		a := t.aborted[t.next]
		if _, ok := t.ongoingAborted[a.ProducerID]; !ok {
			t.ongoingAborted[a.ProducerID] = &abortedProgress{txn: a}
		}
		t.next++
	}
}

// onDataBatch reports whether the data batch belongs to an aborted transaction (so its
// records are dropped).
func (t *cleanTxns) onDataBatch(h record.Header) bool {
	t.startAbortedUpTo(h.LastOffset())
	if !h.IsTransactional() {
		return false
	}
	if p, ok := t.ongoingAborted[h.ProducerID]; ok {
		p.sawBatches, p.lastBatchAt = true, h.LastOffset()
		return true
	}
	t.ongoingCommitted[h.ProducerID] = true
	return false
}

// onMarker reports whether the marker (control batch of type ct) may be removed once its delete
// horizon has passed: an abort marker whose transaction's batches are all gone, a commit
// marker whose transaction left no batch in the range cleaned. An abort marker kept because
// this clean still saw its batches keeps its .txnindex entry.
func (t *cleanTxns) onMarker(h record.Header, ct record.ControlType) bool {
	t.startAbortedUpTo(h.LastOffset())
	switch ct {
	case record.ControlAbort:
		p, ok := t.ongoingAborted[h.ProducerID]
		delete(t.ongoingAborted, h.ProducerID)
		if ok && p.sawBatches {
			t.kept = append(t.kept, p.txn)
			return false
		}
		return true
	case record.ControlCommit:
		saw := t.ongoingCommitted[h.ProducerID]
		delete(t.ongoingCommitted, h.ProducerID)
		return !saw
	default:
		return false
	}
}

// producerLast is what a clean keeps of a producer so that its state survives (Kafka's
// lastRecordsOfActiveProducers): the batch holding its last data offset (its last sequence
// number) or, for a producer that only wrote markers, its markers of its latest epoch.
type producerLast struct {
	dataOffset int64 // last offset of its last data batch, -1 if none
	epoch      int16 // its latest epoch
}

// keeps reports whether h must stay, empty if need be.
func (p producerLast) keeps(h record.Header) bool {
	if p.dataOffset >= 0 {
		return !h.IsControl() && h.LastOffset() == p.dataOffset
	}
	return h.IsControl() && h.ProducerEpoch == p.epoch
}

// batchFilter decides, record by record, what a clean keeps, and writes the batches it keeps.
// One per cleaner goroutine; its buffers are reused from batch to batch.
type batchFilter struct {
	keys        *offsetMap
	txns        *cleanTxns
	lastOfProd  map[int64]producerLast // by producer id
	nowMs       int64
	horizonMs   int64 // delete horizon given to batches that first keep a tombstone or marker
	maxDecoded  int
	view        []byte // an uncompressed copy of a compressed batch being read
	keep        []bool
	enc         []byte // retained records, encoded, uncompressed
	rec         []byte // one record being encoded
	tombstones  int64  // tombstones dropped (stats)
	minHorizon  int64  // smallest delete horizon of the batches written, -1 if none
	recordsRead int64
	recordsKept int64
}

// filter appends to dst what the clean keeps of one batch: nothing, the batch unchanged, a
// rewritten batch holding the retained records (same base and last offset, producer fields,
// leader epoch and codec; a delete horizon when it first keeps a tombstone or marker), or an
// empty batch when a producer's last batch must stay for its sequence numbers.
func (f *batchFilter) filter(dst, batch []byte, h record.Header) ([]byte, error) {
	view := batch
	if c := h.Compression(); c != record.None && h.NumRecords > 0 {
		// Decompress once, after a copy of the header, into an uncompressed view both passes
		// read in place.
		f.view = append(f.view[:0], batch[:record.HeaderSize]...)
		var err error
		if f.view, err = c.Decompress(f.view, batch[record.HeaderSize:h.Size()], f.maxDecoded); err != nil {
			return dst, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
		}
		binary.BigEndian.PutUint16(f.view[hdrAttributes:], uint16(h.Attributes)&^attrCodecMask)
		binary.BigEndian.PutUint32(f.view[hdrLength:], uint32(len(f.view)-12))
		view = f.view
	}
	var canDiscard bool
	if h.IsControl() {
		ct := record.ControlType(-1) // an empty control batch, kept for its producer: no marker left
		if h.NumRecords > 0 {
			var err error
			if ct, err = controlType(view); err != nil {
				return dst, fmt.Errorf("control batch at offset %d: %w", h.BaseOffset, err)
			}
		}
		canDiscard = f.txns.onMarker(h, ct)
	} else {
		canDiscard = f.txns.onDataBatch(h)
	}
	discardRecords := canDiscard
	if h.IsControl() {
		discardRecords = canDiscard && h.HasDeleteHorizon() && h.BaseTimestamp <= f.nowMs
	}
	retainEmpty := h.ProducerID >= 0 && f.lastOfProd[h.ProducerID].keeps(h)
	if discardRecords && !retainEmpty {
		return dst, nil
	}
	kept, tombstones := 0, false
	if h.NumRecords > 0 {
		var err error
		if kept, tombstones, err = f.decide(view, h, discardRecords); err != nil {
			return dst, err
		}
	}
	needHorizon := !h.HasDeleteHorizon() && (tombstones || (h.IsControl() && canDiscard))
	switch {
	case kept == 0 && retainEmpty && h.NumRecords == 0:
		return append(dst, batch...), nil
	case kept == 0 && retainEmpty:
		return appendEmptyBatch(dst, h), nil
	case kept == 0:
		return dst, nil
	case kept == int(h.NumRecords) && !needHorizon:
		f.noteHorizon(h)
		return append(dst, batch...), nil
	}
	horizon, hasHorizon := h.BaseTimestamp, h.HasDeleteHorizon()
	if needHorizon {
		horizon, hasHorizon = f.horizonMs, true
	}
	return f.rewrite(dst, view, h, horizon, hasHorizon)
}

// noteHorizon tracks the earliest future delete horizon of the batches kept: when it passes,
// the log is worth cleaning again even without new dirty bytes.
func (f *batchFilter) noteHorizon(h record.Header) {
	if h.HasDeleteHorizon() {
		f.noteHorizonValue(h.BaseTimestamp)
	}
}

// decide marks which records of the (uncompressed) batch stay and reports how many, and
// whether a kept one is a tombstone.
func (f *batchFilter) decide(view []byte, h record.Header, discardAll bool) (int, bool, error) {
	recs, _, err := record.Iterate(view, nil, 0)
	if err != nil {
		return 0, false, err
	}
	f.keep = f.keep[:0]
	kept, tombstones := 0, false
	var rec record.Record
	for recs.Next(&rec) {
		f.recordsRead++
		k := !discardAll && (h.IsControl() || f.retain(h, &rec))
		f.keep = append(f.keep, k)
		if k {
			kept++
			if !h.IsControl() && rec.Value == nil {
				tombstones = true
			}
		}
	}
	if err := recs.Err(); err != nil {
		return 0, false, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
	}
	f.recordsKept += int64(kept)
	return kept, tombstones, nil
}

// retain is Kafka's rule for one data record: records past the mapped range stay; keyless
// records go; a record stays if it is its key's latest, unless it is a tombstone whose batch's
// delete horizon has passed.
func (f *batchFilter) retain(h record.Header, rec *record.Record) bool {
	if rec.Offset > f.keys.latest {
		return true
	}
	if rec.Key == nil {
		return false
	}
	if found := f.keys.get(rec.Key); found >= 0 && rec.Offset < found {
		return false
	}
	if rec.Value != nil {
		return true
	}
	if h.HasDeleteHorizon() && f.nowMs >= h.BaseTimestamp {
		f.tombstones++
		return false
	}
	return true
}

// rewrite appends a new batch holding the kept records of view (uncompressed), recompressed
// with the original codec.
func (f *batchFilter) rewrite(dst, view []byte, h record.Header, horizon int64, hasHorizon bool) ([]byte, error) {
	recs, _, err := record.Iterate(view, nil, 0)
	if err != nil {
		return dst, err
	}
	f.enc = f.enc[:0]
	var rec record.Record
	base, maxTs, n, first := horizon, int64(-1), int32(0), true
	for i := 0; recs.Next(&rec); i++ {
		if !f.keep[i] {
			continue
		}
		created := h.BaseTimestamp + rec.TimestampDelta
		if first && !hasHorizon {
			base = created
		}
		first = false
		maxTs = max(maxTs, created)
		f.enc = f.encodeRecord(f.enc, &rec, created-base)
		n++
	}
	if err := recs.Err(); err != nil {
		return dst, err
	}
	if h.LogAppendTime() {
		maxTs = h.MaxTimestamp
	}
	start := len(dst)
	dst = append(dst, view[:record.HeaderSize]...)
	if dst, err = h.Compression().Compress(dst, f.enc); err != nil {
		return dst[:start], fmt.Errorf("recompress batch at offset %d: %w", h.BaseOffset, err)
	}
	out := dst[start:]
	attrs := uint16(h.Attributes)
	if hasHorizon {
		attrs |= attrDeleteHorizon
		f.noteHorizonValue(horizon)
	}
	be := binary.BigEndian
	be.PutUint32(out[hdrLength:], uint32(len(out)-12))
	be.PutUint16(out[hdrAttributes:], attrs)
	be.PutUint32(out[hdrLastOffsetDelta:], uint32(h.LastOffsetDelta))
	be.PutUint64(out[hdrBaseTimestamp:], uint64(base))
	be.PutUint64(out[hdrMaxTimestamp:], uint64(maxTs))
	be.PutUint32(out[hdrNumRecords:], uint32(n))
	be.PutUint32(out[hdrCRC:], crc32.Checksum(out[hdrAttributes:], castagnoli))
	return dst, nil
}

func (f *batchFilter) noteHorizonValue(v int64) {
	if v > f.nowMs && (f.minHorizon < 0 || v < f.minHorizon) {
		f.minHorizon = v
	}
}

// encodeRecord appends rec in the v2 record format with a new timestamp delta.
func (f *batchFilter) encodeRecord(dst []byte, rec *record.Record, tsDelta int64) []byte {
	r := append(f.rec[:0], byte(rec.Attributes))
	r = binary.AppendVarint(r, tsDelta)
	r = binary.AppendVarint(r, int64(rec.OffsetDelta))
	r = appendVarBytes(r, rec.Key)
	r = appendVarBytes(r, rec.Value)
	r = binary.AppendVarint(r, int64(rec.NumHeaders))
	hs := rec.Headers()
	for k, v, ok := hs.Next(); ok; k, v, ok = hs.Next() {
		r = appendVarBytes(r, k)
		r = appendVarBytes(r, v)
	}
	f.rec = r
	dst = binary.AppendVarint(dst, int64(len(r)))
	return append(dst, r...)
}

func appendVarBytes(dst, v []byte) []byte {
	if v == nil {
		return binary.AppendVarint(dst, -1)
	}
	return append(binary.AppendVarint(dst, int64(len(v))), v...)
}

// appendEmptyBatch appends a batch with the header fields of h and no records (Kafka keeps a
// producer's last batch this way so its sequence numbers survive compaction): uncompressed, no
// delete horizon, both timestamps the original MaxTimestamp.
func appendEmptyBatch(dst []byte, h record.Header) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, record.HeaderSize)...)
	out := dst[start:]
	be := binary.BigEndian
	be.PutUint64(out, uint64(h.BaseOffset))
	be.PutUint32(out[hdrLength:], uint32(record.HeaderSize-12))
	be.PutUint32(out[12:], uint32(h.PartitionLeaderEpoch))
	out[16] = 2
	be.PutUint16(out[hdrAttributes:], uint16(h.Attributes)&^(attrCodecMask|attrDeleteHorizon))
	be.PutUint32(out[hdrLastOffsetDelta:], uint32(h.LastOffsetDelta))
	be.PutUint64(out[hdrBaseTimestamp:], uint64(h.MaxTimestamp))
	be.PutUint64(out[hdrMaxTimestamp:], uint64(h.MaxTimestamp))
	be.PutUint64(out[43:], uint64(h.ProducerID))
	be.PutUint16(out[51:], uint16(h.ProducerEpoch))
	be.PutUint32(out[53:], uint32(h.BaseSequence))
	be.PutUint32(out[hdrNumRecords:], 0)
	be.PutUint32(out[hdrCRC:], crc32.Checksum(out[hdrAttributes:], castagnoli))
	return dst
}

// controlType reads the type of a control batch's (first) record.
func controlType(view []byte) (record.ControlType, error) {
	recs, _, err := record.Iterate(view, nil, 0)
	if err != nil {
		return 0, err
	}
	var rec record.Record
	if !recs.Next(&rec) {
		if err := recs.Err(); err != nil {
			return 0, err
		}
		return -1, nil
	}
	return record.ControlRecordType(&rec)
}
