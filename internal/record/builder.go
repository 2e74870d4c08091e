package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// RecordHeader is a header to add to a record with a Builder.
type RecordHeader struct {
	Key   string
	Value []byte // nil: a null value
}

// Builder builds one v2 batch at a time: set the header fields, add records, Build. Tests across
// the repository use it to make valid (and, by editing the result, invalid) batches; the broker
// uses it for control batches and for recompression. The records are encoded as they are added
// and compressed once, in Build. A Builder is not safe for concurrent use.
type Builder struct {
	BaseOffset           int64
	PartitionLeaderEpoch int32
	Codec                Codec
	// Level is the codec level (see Codec.CompressLevel); 0 is the codec's default.
	Level int
	// ProducerID, ProducerEpoch and BaseSequence identify an idempotent or transactional
	// producer; NewBuilder sets them to NoProducerID, NoProducerEpoch and NoSequence.
	ProducerID    int64
	ProducerEpoch int16
	BaseSequence  int32
	Transactional bool
	// Control marks a control batch; add its record with AddControl.
	Control bool

	records         []byte // encoded records, uncompressed
	numRecords      int32
	lastOffsetDelta int32
	baseTimestamp   int64
	maxTimestamp    int64
	err             error // first failed Add; Build reports it
}

// NewBuilder returns a Builder for a non-idempotent batch compressed with codec, base offset 0.
func NewBuilder(codec Codec) *Builder {
	return &Builder{
		Codec:         codec,
		ProducerID:    NoProducerID,
		ProducerEpoch: NoProducerEpoch,
		BaseSequence:  NoSequence,
	}
}

// Reset drops the records added so far and keeps the header fields, so one Builder can build
// many batches.
func (b *Builder) Reset() {
	b.records = b.records[:0]
	b.numRecords = 0
	b.lastOffsetDelta = 0
	b.err = nil
}

// NumRecords is the number of records added since the last Reset.
func (b *Builder) NumRecords() int { return int(b.numRecords) }

// Add appends a record at the next offset (offset delta one past the previous record's). A nil
// key or value is a null one.
func (b *Builder) Add(timestamp int64, key, value []byte, headers ...RecordHeader) {
	delta := int32(0)
	if b.numRecords > 0 {
		delta = b.lastOffsetDelta + 1
	}
	b.add(delta, timestamp, key, value, headers, nil, 0)
}

// AddAt appends a record with an explicit offset delta, which must exceed the previous record's:
// gaps are how a compacted batch looks.
func (b *Builder) AddAt(offsetDelta int32, timestamp int64, key, value []byte, headers ...RecordHeader) error {
	if offsetDelta < 0 || (b.numRecords > 0 && offsetDelta <= b.lastOffsetDelta) {
		return fmt.Errorf("record: builder: offset delta %d after %d", offsetDelta, b.lastOffsetDelta)
	}
	b.add(offsetDelta, timestamp, key, value, headers, nil, 0)
	return b.err
}

// AddRecord appends a copy of rec (read from another batch) with its offset delta, key, value,
// headers and own timestamp: how a batch is recompressed or rebuilt without some records. A
// record read from a LogAppendTime batch keeps its create time; call SetLogAppendTime on the
// built batch to carry the append time over. A Record not obtained from Records.Next has
// no headers here and the timestamp it was given.
func (b *Builder) AddRecord(rec *Record) error {
	if rec.OffsetDelta < 0 || (b.numRecords > 0 && rec.OffsetDelta <= b.lastOffsetDelta) {
		return fmt.Errorf("record: builder: offset delta %d after %d", rec.OffsetDelta, b.lastOffsetDelta)
	}
	ts, raw, n := rec.Timestamp, rec.headers, rec.NumHeaders
	if raw != nil {
		ts = rec.createTime // read by Records.Next
	} else {
		n = 0
	}
	b.add(rec.OffsetDelta, ts, rec.Key, rec.Value, nil, raw, n)
	return b.err
}

// add encodes one record. Headers come either as values (headers) or already encoded (raw, n).
func (b *Builder) add(delta int32, ts int64, key, value []byte, headers []RecordHeader, raw []byte, n int32) {
	if b.err != nil {
		return
	}
	if b.numRecords == math.MaxInt32 || len(key) > math.MaxInt32 || len(value) > math.MaxInt32 {
		b.err = errors.New("record: builder: record or batch too large")
		return
	}
	if b.numRecords == 0 {
		b.baseTimestamp, b.maxTimestamp = ts, ts
	}
	b.maxTimestamp = max(b.maxTimestamp, ts)
	tsDelta := ts - b.baseTimestamp
	if raw == nil {
		n = int32(len(headers))
	}
	size := 1 + varlongSize(tsDelta) + varintSize(delta) + bytesSize(key) + bytesSize(value) + varintSize(n)
	if raw != nil {
		size += len(raw)
	}
	for _, h := range headers {
		size += varintSize(int32(len(h.Key))) + len(h.Key) + bytesSize(h.Value)
	}
	if size > math.MaxInt32-len(b.records) {
		b.err = errors.New("record: builder: batch too large")
		return
	}
	r := appendVarint(b.records, int32(size))
	r = append(r, 0) // attributes
	r = appendVarlong(r, tsDelta)
	r = appendVarint(r, delta)
	r = appendBytes(r, key)
	r = appendBytes(r, value)
	r = appendVarint(r, n)
	r = append(r, raw...)
	for _, h := range headers {
		r = appendVarint(r, int32(len(h.Key)))
		r = append(r, h.Key...)
		r = appendBytes(r, h.Value)
	}
	b.records = r
	b.numRecords++
	b.lastOffsetDelta = delta
}

// Build appends the finished batch to dst: header, CRC and (compressed) records. It fails if no
// record was added or an Add failed. The Builder keeps its records; call Reset to start anew.
func (b *Builder) Build(dst []byte) ([]byte, error) {
	if b.err != nil {
		return dst, b.err
	}
	if b.numRecords == 0 {
		return dst, errors.New("record: builder: a batch needs at least one record")
	}
	if !b.Codec.valid() {
		return dst, fmt.Errorf("record: builder: unknown compression codec %d", b.Codec)
	}
	start := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	var err error
	if dst, err = b.Codec.CompressLevel(dst, b.records, b.Level); err != nil {
		return dst[:start], err
	}
	batch := dst[start:]
	if len(batch)-lengthFieldEnd > maxLength {
		return dst[:start], errors.New("record: builder: batch too large")
	}
	attrs := uint16(b.Codec)
	if b.Transactional {
		attrs |= attrTransactional
	}
	if b.Control {
		attrs |= attrControl
	}
	be := binary.BigEndian
	be.PutUint64(batch[offBaseOffset:], uint64(b.BaseOffset))
	be.PutUint32(batch[offLength:], uint32(len(batch)-lengthFieldEnd))
	be.PutUint32(batch[offPartitionLeaderEpoch:], uint32(b.PartitionLeaderEpoch))
	batch[offMagic] = Magic
	be.PutUint16(batch[offAttributes:], attrs)
	be.PutUint32(batch[offLastOffsetDelta:], uint32(b.lastOffsetDelta))
	be.PutUint64(batch[offBaseTimestamp:], uint64(b.baseTimestamp))
	be.PutUint64(batch[offMaxTimestamp:], uint64(b.maxTimestamp))
	be.PutUint64(batch[offProducerID:], uint64(b.ProducerID))
	be.PutUint16(batch[offProducerEpoch:], uint16(b.ProducerEpoch))
	be.PutUint32(batch[offBaseSequence:], uint32(b.BaseSequence))
	be.PutUint32(batch[offNumRecords:], uint32(b.numRecords))
	be.PutUint32(batch[offCRC:], checksum(batch))
	return dst, nil
}

func appendBytes(b, v []byte) []byte {
	if v == nil {
		return appendVarint(b, -1)
	}
	return append(appendVarint(b, int32(len(v))), v...)
}

func bytesSize(v []byte) int {
	if v == nil {
		return 1
	}
	return varintSize(int32(len(v))) + len(v)
}

func varlongSize(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}
