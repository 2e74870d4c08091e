package record

import "fmt"

// Record is one record of a batch. Key, Value and the headers are sub-slices of the batch (or of
// the buffer its payload was decompressed into): valid until that memory is reused, never
// copied. A nil Key or Value is a null one (length -1 on the wire); an empty non-nil slice is an
// empty one.
type Record struct {
	Attributes     int8  // unused by Kafka so far; carried as sent
	TimestampDelta int64 // relative to the batch's BaseTimestamp
	OffsetDelta    int32 // relative to the batch's BaseOffset
	Offset         int64 // BaseOffset + OffsetDelta
	// Timestamp is BaseTimestamp + TimestampDelta, or the batch's MaxTimestamp when the batch
	// carries LogAppendTime (the broker's time then replaces every record's own).
	Timestamp  int64
	Key        []byte
	Value      []byte
	NumHeaders int32
	headers    []byte // the NumHeaders encoded headers, already checked by Records.Next
	createTime int64  // BaseTimestamp + TimestampDelta even under LogAppendTime (for AddRecord)
}

// Headers returns an iterator over the record's headers.
func (r *Record) Headers() RecordHeaders { return RecordHeaders{b: r.headers, n: r.NumHeaders} }

// RecordHeaders iterates a record's headers (key, value pairs; a nil value is a null one). The
// framing was checked when the record was read, so iteration cannot fail.
type RecordHeaders struct {
	b []byte
	n int32
}

// Next returns the next header, or ok=false after the last.
func (h *RecordHeaders) Next() (key, value []byte, ok bool) {
	if h.n <= 0 {
		return nil, nil, false
	}
	key, rest, _ := readBytes(h.b)
	value, rest, _ = readBytes(rest)
	h.b = rest
	h.n--
	return key, value, true
}

// Records iterates the records of one batch without allocating per record. Get one from
// Iterate; the zero value yields nothing.
//
//	recs, buf, err := record.Iterate(batch, buf, limit)
//	var rec record.Record
//	for recs.Next(&rec) { ... }
//	if err := recs.Err(); err != nil { ... }
type Records struct {
	h         Header
	data      []byte // the records, decompressed
	pos       int
	read      int32 // records returned so far
	prevDelta int32
	err       error
}

// Iterate prepares an iterator over the records of batch, which must be one whole batch (it
// checks the header and counts, but not the CRC: call Validate for that). A compressed payload is
// decompressed by appending to buf[:0], expanding at most limit bytes (beyond that: ErrTooLarge);
// the grown buf is returned for reuse, and the records point into it until then. An uncompressed
// batch is read in place and buf is returned untouched.
func Iterate(batch []byte, buf []byte, limit int) (Records, []byte, error) {
	h, err := ReadHeader(batch)
	if err != nil {
		return Records{}, buf, err
	}
	if len(batch) < h.Size() {
		return Records{}, buf, fmt.Errorf("%w: %d bytes of a %d-byte batch", ErrTruncated, len(batch), h.Size())
	}
	if err := checkCounts(h); err != nil {
		return Records{}, buf, err
	}
	payload := batch[HeaderSize:h.Size()]
	codec := h.Compression()
	if codec == None {
		return Records{h: h, data: payload}, buf, nil
	}
	if int64(h.NumRecords)*minRecordSize > int64(limit) {
		return Records{}, buf, fmt.Errorf("%w: %d records need more than the %d-byte limit", ErrTooLarge, h.NumRecords, limit)
	}
	data, err := codec.Decompress(buf[:0], payload, limit)
	if err != nil {
		return Records{}, data, fmt.Errorf("decompress %s records: %w", codec, err)
	}
	return Records{h: h, data: data}, data, nil
}

// Header is the header of the batch being iterated.
func (it *Records) Header() Header { return it.h }

// Next reads the next record into rec. It returns false after the last record or at the first
// framing error (see Err). It checks each record's varint framing, that the record consumes
// exactly its announced length, that offset deltas rise strictly within [0, LastOffsetDelta],
// and, at the end, that there were exactly NumRecords records and no bytes left over.
func (it *Records) Next(rec *Record) bool {
	if it.err != nil {
		return false
	}
	if it.read == it.h.NumRecords {
		if it.pos != len(it.data) {
			it.err = fmt.Errorf("%w: %d bytes after the last of %d records", ErrCorrupt, len(it.data)-it.pos, it.h.NumRecords)
		}
		return false
	}
	if it.pos >= len(it.data) {
		it.err = fmt.Errorf("%w: batch announces %d records, holds %d", ErrCorrupt, it.h.NumRecords, it.read)
		return false
	}
	n, err := it.readRecord(it.data[it.pos:], rec)
	if err != nil {
		it.err = fmt.Errorf("record %d at payload byte %d: %w", it.read, it.pos, err)
		return false
	}
	if rec.OffsetDelta < 0 || rec.OffsetDelta > it.h.LastOffsetDelta || (it.read > 0 && rec.OffsetDelta <= it.prevDelta) {
		it.err = fmt.Errorf("%w: record %d has offset delta %d (previous %d, last offset delta %d)",
			ErrCorrupt, it.read, rec.OffsetDelta, it.prevDelta, it.h.LastOffsetDelta)
		return false
	}
	it.prevDelta = rec.OffsetDelta
	it.pos += n
	it.read++
	rec.Offset = it.h.BaseOffset + int64(rec.OffsetDelta)
	rec.createTime = it.h.BaseTimestamp + rec.TimestampDelta
	rec.Timestamp = rec.createTime
	if it.h.LogAppendTime() {
		rec.Timestamp = it.h.MaxTimestamp
	}
	return true
}

// Err is the framing error that stopped iteration, or nil.
func (it *Records) Err() error { return it.err }

// readRecord decodes the record at the start of b into rec and returns its encoded size.
func (it *Records) readRecord(b []byte, rec *Record) (int, error) {
	length, n := readVarint(b)
	if n <= 0 {
		return 0, fmt.Errorf("%w: bad record length varint", ErrCorrupt)
	}
	if length < minRecordSize-1 || int(length) > len(b)-n {
		return 0, fmt.Errorf("%w: record length %d with %d bytes left", ErrCorrupt, length, len(b)-n)
	}
	body := b[n : n+int(length)]
	rec.Attributes = int8(body[0])
	p := body[1:]
	var m int
	if rec.TimestampDelta, m = readVarlong(p); m <= 0 {
		return 0, fmt.Errorf("%w: bad timestamp delta varlong", ErrCorrupt)
	}
	p = p[m:]
	if rec.OffsetDelta, m = readVarint(p); m <= 0 {
		return 0, fmt.Errorf("%w: bad offset delta varint", ErrCorrupt)
	}
	p = p[m:]
	var err error
	if rec.Key, p, err = readBytes(p); err != nil {
		return 0, fmt.Errorf("key: %w", err)
	}
	if rec.Value, p, err = readBytes(p); err != nil {
		return 0, fmt.Errorf("value: %w", err)
	}
	count, m := readVarint(p)
	if m <= 0 || count < 0 {
		return 0, fmt.Errorf("%w: bad header count", ErrCorrupt)
	}
	p = p[m:]
	rec.NumHeaders = count
	rec.headers = p[:len(p):len(p)] // the rest of the body, checked below to be exactly the headers
	for i := int32(0); i < count; i++ {
		var key []byte
		if key, p, err = readBytes(p); err != nil {
			return 0, fmt.Errorf("header %d key: %w", i, err)
		}
		if key == nil {
			return 0, fmt.Errorf("%w: header %d has a null key", ErrCorrupt, i)
		}
		if _, p, err = readBytes(p); err != nil {
			return 0, fmt.Errorf("header %d value: %w", i, err)
		}
	}
	if len(p) != 0 {
		return 0, fmt.Errorf("%w: record length %d leaves %d bytes unread", ErrCorrupt, length, len(p))
	}
	return n + int(length), nil
}

// readBytes decodes a varint length and that many bytes; length -1 is null (nil).
func readBytes(b []byte) (v, rest []byte, err error) {
	l, n := readVarint(b)
	if n <= 0 {
		return nil, b, fmt.Errorf("%w: bad length varint", ErrCorrupt)
	}
	b = b[n:]
	switch {
	case l == -1:
		return nil, b, nil
	case l < -1 || int(l) > len(b):
		return nil, b, fmt.Errorf("%w: length %d with %d bytes left", ErrCorrupt, l, len(b))
	}
	return b[:l:l], b[l:], nil
}
