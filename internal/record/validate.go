package record

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// castagnoli is the CRC32C table. It is computed once and never written: constant data, not
// state.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// minRecordSize is the fewest bytes a record can occupy: one byte each for the length,
// attributes, timestamp delta, offset delta, key length, value length and header count.
const minRecordSize = 7

// DefaultMaxDecompressedSize bounds the records of one compressed batch when ValidateOptions
// leaves MaxDecompressedSize at zero: 64 MiB, far above what a 1 MiB batch (Kafka's default
// message.max.bytes) expands to in practice, far below what would hurt the broker.
const DefaultMaxDecompressedSize = 64 << 20

// ValidateOptions selects how deep Validate looks. The zero value checks the header and the
// CRC only: the produce fast path, where the CRC already proves the producer's bytes arrived
// intact and the broker need not look inside.
type ValidateOptions struct {
	// DecodeRecords also walks every record's framing (see Records.Next), decompressing a
	// compressed batch first. Use it where the broker must read the records anyway (compacted
	// topics need keys, recompression) or distrusts the writer.
	DecodeRecords bool
	// MaxDecompressedSize bounds the decompressed records (ErrTooLarge beyond it); zero means
	// DefaultMaxDecompressedSize.
	MaxDecompressedSize int
	// Buffer, if not nil, is reused for decompression and replaced by the grown buffer, so a
	// caller validating many batches allocates once. Nil: a temporary buffer per batch.
	Buffer *[]byte
}

// checksum computes the CRC32C the header should carry for batch (bytes from Attributes to
// the end). batch must be at least HeaderSize long.
func checksum(batch []byte) uint32 {
	return crc32.Checksum(batch[offAttributes:], castagnoli)
}

// Validate checks one whole batch: batch must be exactly the Size() its header announces. It
// checks the magic, the Length bounds, the CRC32C, the codec, and that NumRecords and
// LastOffsetDelta agree (0 <= NumRecords <= LastOffsetDelta+1, which holds for batches whose
// records compaction has thinned too). opts may ask for more.
//
// Errors wrap ErrCorrupt, ErrUnsupportedMagic, ErrTruncated (batch shorter than its Size) or,
// when records are decoded, ErrTooLarge.
func Validate(batch []byte, opts ValidateOptions) (Header, error) {
	h, err := ReadHeader(batch)
	if err != nil {
		return h, err
	}
	if len(batch) < h.Size() {
		return h, fmt.Errorf("%w: %d bytes of a %d-byte batch", ErrTruncated, len(batch), h.Size())
	}
	if len(batch) > h.Size() {
		return h, fmt.Errorf("%w: %d trailing bytes after a %d-byte batch", ErrCorrupt, len(batch)-h.Size(), h.Size())
	}
	if got := checksum(batch); got != h.CRC {
		return h, fmt.Errorf("%w: crc32c mismatch: header says %#08x, bytes give %#08x", ErrCorrupt, h.CRC, got)
	}
	if err := checkCounts(h); err != nil {
		return h, err
	}
	if opts.DecodeRecords {
		return h, decodeAll(batch, opts)
	}
	return h, nil
}

// decodeAll walks every record of batch (already framed and CRC-checked).
func decodeAll(batch []byte, opts ValidateOptions) error {
	limit := opts.MaxDecompressedSize
	if limit <= 0 {
		limit = DefaultMaxDecompressedSize
	}
	var buf []byte
	if opts.Buffer != nil {
		buf = *opts.Buffer
	}
	recs, buf, err := Iterate(batch, buf, limit)
	if opts.Buffer != nil {
		*opts.Buffer = buf
	}
	if err != nil {
		return err
	}
	var rec Record
	for recs.Next(&rec) {
	}
	return recs.Err()
}

// checkCounts checks what the header alone says about the records: a known codec, a record
// count consistent with the offset span, and (uncompressed) enough bytes for that many records.
func checkCounts(h Header) error {
	if c := h.Compression(); !c.valid() {
		return fmt.Errorf("%w: unknown compression codec %d", ErrCorrupt, c)
	}
	if h.LastOffsetDelta < 0 {
		return fmt.Errorf("%w: negative last offset delta %d", ErrCorrupt, h.LastOffsetDelta)
	}
	if h.NumRecords < 0 || int64(h.NumRecords) > int64(h.LastOffsetDelta)+1 {
		return fmt.Errorf("%w: record count %d does not fit last offset delta %d", ErrCorrupt, h.NumRecords, h.LastOffsetDelta)
	}
	if h.Compression() == None && int64(h.NumRecords)*minRecordSize > int64(h.Size()-HeaderSize) {
		return fmt.Errorf("%w: %d records cannot fit in %d bytes", ErrCorrupt, h.NumRecords, h.Size()-HeaderSize)
	}
	return nil
}

// SetLogAppendTime marks batch as carrying the broker's append time: it sets attributes bit 3
// and MaxTimestamp to ts, then recomputes the CRC (both fields are inside it). The partition
// leader calls it for topics with message.timestamp.type=LogAppendTime. Same precondition as
// SetBaseOffset; batch must be one whole batch.
func SetLogAppendTime(batch []byte, ts int64) {
	attrs := binary.BigEndian.Uint16(batch[offAttributes:])
	binary.BigEndian.PutUint16(batch[offAttributes:], attrs|attrLogAppendTime)
	binary.BigEndian.PutUint64(batch[offMaxTimestamp:], uint64(ts))
	binary.BigEndian.PutUint32(batch[offCRC:], checksum(batch))
}
