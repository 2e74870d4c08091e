package record

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sync"
)

// DownConvertOptions shape DownConvert.
type DownConvertOptions struct {
	// Magic is the message format to write: 0 (Fetch v0–v1) or 1 (Fetch v2–v3).
	Magic int8
	// FetchOffset is the offset the consumer asked for: records of an uncompressed batch below
	// it are left out (a compressed batch goes whole; the consumer skips what it has).
	FetchOffset int64
	// MaxBytes bounds the output: conversion stops before the batch that would take it past
	// MaxBytes, except that the first converted batch is always written whole (so a consumer
	// progresses whatever its fetch size, as Kafka's lazy down-conversion guarantees).
	MaxBytes int
	// MaxDecompressedSize bounds one batch's decompressed records; zero means
	// DefaultMaxDecompressedSize.
	MaxDecompressedSize int
}

// DownConverted describes what DownConvert wrote.
type DownConverted struct {
	Batches    int   // v2 batches converted (control batches not counted)
	Records    int   // records written as messages (inner messages of wrappers included)
	NextOffset int64 // offset after the last batch converted or skipped; -1 if none was
}

// downScratch holds the decompressed records and the uncompressed inner message set of one
// batch being down-converted.
type downScratch struct{ records, inner []byte }

var downScratches = sync.Pool{New: func() any { return new(downScratch) }}

// DownConvert appends to dst the v2 batches in batches (whole batches, as a log read returns
// them) rewritten as a legacy message set of opts.Magic, as Kafka 3's broker down-converted
// for old fetches: control batches are dropped (Fetch v0–v3 know no transactions); an
// uncompressed batch becomes one message per record (headers are dropped), a compressed one a
// wrapper of the same codec holding them; a LogAppendTime batch's messages carry its append
// time (v1). Batches are converted until opts.MaxBytes (see there).
//
// A zstd batch cannot be written in v0/v1: as the first batch it fails with
// ErrUnsupportedCodec; later, conversion stops before it. Likewise a batch that cannot be
// read fails the call only when it is the first (ErrCorrupt, ErrTruncated, ErrTooLarge).
func DownConvert(dst, batches []byte, opts DownConvertOptions) ([]byte, DownConverted, error) {
	res := DownConverted{NextOffset: -1}
	if opts.Magic != 0 && opts.Magic != 1 {
		return dst, res, fmt.Errorf("record: down-convert to magic %d", opts.Magic)
	}
	s := downScratches.Get().(*downScratch)
	defer putDownScratch(s)
	start := len(dst)
	it := NewBatches(batches)
	for batch, h, ok := it.Next(); ok; batch, h, ok = it.Next() {
		if h.IsControl() {
			res.NextOffset = h.NextOffset()
			continue
		}
		before := len(dst)
		out, n, err := downConvertBatch(dst, batch, h, opts, s)
		if err != nil {
			if before == start {
				return dst[:start], res, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
			}
			break
		}
		if before > start && len(out)-start > opts.MaxBytes {
			dst = out[:before]
			break
		}
		dst = out
		res.Batches++
		res.Records += n
		res.NextOffset = h.NextOffset()
	}
	if err := it.Err(); err != nil && len(dst) == start && res.NextOffset < 0 {
		return dst, res, err
	}
	return dst, res, nil
}

func putDownScratch(s *downScratch) {
	if cap(s.records) > maxPooledBuilder {
		s.records = nil
	}
	if cap(s.inner) > maxPooledBuilder {
		s.inner = nil
	}
	downScratches.Put(s)
}

// legacyMessageParams are the fields a legacy message takes from its batch.
type legacyMessageParams struct {
	magic         int8
	logAppendTime bool
	appendTime    int64
}

// downConvertBatch appends the legacy form of one v2 batch and says how many records it wrote.
func downConvertBatch(dst, batch []byte, h Header, opts DownConvertOptions, s *downScratch) ([]byte, int, error) {
	codec := h.Compression()
	if codec == Zstd {
		return dst, 0, fmt.Errorf("%w (down-conversion to magic %d)", ErrUnsupportedCodec, opts.Magic)
	}
	limit := opts.MaxDecompressedSize
	if limit <= 0 {
		limit = DefaultMaxDecompressedSize
	}
	recs, buf, err := Iterate(batch, s.records, limit)
	s.records = buf
	if err != nil {
		return dst, 0, err
	}
	mp := legacyMessageParams{magic: opts.Magic, logAppendTime: h.LogAppendTime(), appendTime: h.MaxTimestamp}
	var rec Record
	if codec == None {
		out, n := dst, 0
		for recs.Next(&rec) {
			if rec.Offset >= opts.FetchOffset {
				out = appendLegacyMessage(out, rec.Offset, mp, 0, rec.Timestamp, rec.Key, rec.Value)
				n++
			}
		}
		if err := recs.Err(); err != nil {
			return dst, 0, err
		}
		return out, n, nil
	}
	// A wrapper: inner messages first (v1: offsets relative to the first record's), then
	// compressed into the wrapper's value.
	inner := s.inner[:0]
	var first, last int64
	maxTimestamp := int64(-1)
	n := 0
	for recs.Next(&rec) {
		if n == 0 {
			first = rec.Offset
		}
		last = rec.Offset
		off := rec.Offset
		if opts.Magic == 1 {
			off -= first
		}
		inner = appendLegacyMessage(inner, off, mp, 0, rec.Timestamp, rec.Key, rec.Value)
		maxTimestamp = max(maxTimestamp, rec.Timestamp)
		n++
	}
	s.inner = inner
	if err := recs.Err(); err != nil {
		return dst, 0, err
	}
	if n == 0 {
		return dst, 0, nil // compaction emptied the batch
	}
	if mp.logAppendTime {
		maxTimestamp = mp.appendTime
	}
	out, err := appendLegacyWrapper(dst, last, mp, codec, maxTimestamp, inner)
	if err != nil {
		return dst, 0, err
	}
	return out, n, nil
}

// appendLegacyWrapper appends a compressed message at offset whose value is inner compressed
// with codec.
func appendLegacyWrapper(dst []byte, offset int64, mp legacyMessageParams, codec Codec, timestamp int64, inner []byte) ([]byte, error) {
	at := len(dst)
	keyAt := legacyOffKeyV0
	if mp.magic == 1 {
		keyAt = legacyOffKeyV1
	}
	// Header and null key, then the value's length once the compressed size is known.
	dst = append(dst, make([]byte, keyAt+8)...)
	valueAt := len(dst)
	out, err := codec.Compress(dst, inner)
	if err != nil {
		return dst[:at], err
	}
	dst = out
	if codec == LZ4 && mp.magic == 0 {
		breakLegacyLZ4(dst[valueAt:])
	}
	e := dst[at:]
	binary.BigEndian.PutUint32(e[keyAt:], ^uint32(0)) // null key
	binary.BigEndian.PutUint32(e[keyAt+4:], uint32(len(dst)-valueAt))
	writeLegacyHeader(e, offset, mp, int8(codec), timestamp)
	return dst, nil
}

// appendLegacyMessage appends one uncompressed message.
func appendLegacyMessage(dst []byte, offset int64, mp legacyMessageParams, attrs int8, timestamp int64, key, value []byte) []byte {
	at := len(dst)
	keyAt := legacyOffKeyV0
	if mp.magic == 1 {
		keyAt = legacyOffKeyV1
	}
	dst = append(dst, make([]byte, keyAt)...)
	dst = appendLegacyBytes(dst, key)
	dst = appendLegacyBytes(dst, value)
	writeLegacyHeader(dst[at:], offset, mp, attrs, timestamp)
	return dst
}

// writeLegacyHeader fills in the entry e (whose key and value are in place): offset, size,
// magic, attributes, timestamp (v1) and, last, the CRC over them.
func writeLegacyHeader(e []byte, offset int64, mp legacyMessageParams, attrs int8, timestamp int64) {
	binary.BigEndian.PutUint64(e, uint64(offset))
	binary.BigEndian.PutUint32(e[8:], uint32(len(e)-legacyLogOverhead))
	e[legacyOffMagic] = byte(mp.magic)
	if mp.magic == 1 {
		if mp.logAppendTime {
			attrs |= legacyAttrLogAppendTime
			timestamp = mp.appendTime
		}
		binary.BigEndian.PutUint64(e[legacyOffKeyV0:], uint64(timestamp))
	}
	e[legacyOffAttrs] = byte(attrs)
	binary.BigEndian.PutUint32(e[legacyOffCRC:], crc32.ChecksumIEEE(e[legacyOffMagic:]))
}

func appendLegacyBytes(dst, v []byte) []byte {
	if v == nil {
		return binary.BigEndian.AppendUint32(dst, ^uint32(0))
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
	return append(dst, v...)
}
