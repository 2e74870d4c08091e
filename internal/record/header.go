package record

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps exactly one of them, with context
// (which field, which byte), so callers branch with errors.Is and log the message.
var (
	// ErrCorrupt: the bytes are not a well-formed v2 batch (bad CRC, bad framing, counts that
	// disagree, a compressed payload that does not decode).
	ErrCorrupt = errors.New("record: corrupt record batch")
	// ErrUnsupportedMagic: a legacy message set (magic 0 or 1) where a v2 batch must be. Sluice
	// stores only RecordBatch v2: Produce v0–v2 convert legacy sets first (ConvertLegacy).
	ErrUnsupportedMagic = errors.New("record: unsupported message format (magic)")
	// ErrTooLarge: decompressed records would exceed the caller's bound (a compression bomb or
	// a batch larger than the broker is willing to expand).
	ErrTooLarge = errors.New("record: decompressed records exceed the size limit")
	// ErrTruncated: the bytes end inside a batch whose header, as far as it is present, is
	// well-formed. Storage recovery treats this as a torn tail and truncates it; on the network
	// it means a short request.
	ErrTruncated = errors.New("record: truncated record batch")
)

// Magic is the only message format version this package reads or writes.
const Magic = 2

// HeaderSize is the size of the v2 batch header: baseOffset through recordCount. Records
// (or the compressed payload holding them) follow immediately.
const HeaderSize = 61

// Byte offsets of the header fields (see docs/format/record-batch.md).
const (
	offBaseOffset           = 0
	offLength               = 8
	offPartitionLeaderEpoch = 12
	offMagic                = 16
	offCRC                  = 17
	offAttributes           = 21 // first byte the CRC covers
	offLastOffsetDelta      = 23
	offBaseTimestamp        = 27
	offMaxTimestamp         = 35
	offProducerID           = 43
	offProducerEpoch        = 51
	offBaseSequence         = 53
	offNumRecords           = 57

	// lengthFieldEnd is where the bytes counted by Length begin: Size() = lengthFieldEnd + Length.
	lengthFieldEnd = 12
	// minLength is the smallest legal Length: a header with no record bytes.
	minLength = HeaderSize - lengthFieldEnd
	// maxLength keeps Size() representable as an int32, as Kafka requires of any batch.
	maxLength = 1<<31 - 1 - lengthFieldEnd
)

// Attribute bits (the int16 at offAttributes).
const (
	attrCodecMask          = 0x07
	attrLogAppendTime      = 0x08
	attrTransactional      = 0x10
	attrControl            = 0x20
	attrDeleteHorizonIsSet = 0x40
)

// NoProducerID, NoProducerEpoch and NoSequence mark a batch from a producer that is neither
// idempotent nor transactional.
const (
	NoProducerID    int64 = -1
	NoProducerEpoch int16 = -1
	NoSequence      int32 = -1
)

// Header is the decoded 61-byte v2 batch header. It is a copy: changing it does not change the
// batch (use SetBaseOffset, SetPartitionLeaderEpoch, SetLogAppendTime for that).
type Header struct {
	BaseOffset           int64
	Length               int32 // bytes after the Length field: PartitionLeaderEpoch .. end of records
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32 // CRC32C (Castagnoli) of Attributes .. end of records
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	NumRecords           int32
}

// ReadHeader decodes the header at the start of b. It checks what the header alone can tell:
// the magic byte and that Length lies in [HeaderSize-12, 2^31-13]. It checks neither the CRC
// nor that b holds the whole batch (Validate does both).
//
// Errors: ErrUnsupportedMagic for magic 0 or 1 (legacy message sets keep the magic byte at the
// same position, byte 16); ErrCorrupt for any other magic or a Length out of bounds;
// ErrTruncated when b is shorter than HeaderSize but every field present is well-formed.
func ReadHeader(b []byte) (Header, error) {
	if len(b) > offMagic {
		switch m := int8(b[offMagic]); {
		case m == 0 || m == 1:
			return Header{}, fmt.Errorf("%w: magic %d (legacy message set); only magic 2 record batches are supported", ErrUnsupportedMagic, m)
		case m != Magic:
			return Header{}, fmt.Errorf("%w: unknown magic %d", ErrCorrupt, m)
		}
	}
	if len(b) >= lengthFieldEnd {
		if n := int32(binary.BigEndian.Uint32(b[offLength:])); n < minLength || n > maxLength {
			return Header{}, fmt.Errorf("%w: batch length %d out of range [%d, %d]", ErrCorrupt, n, minLength, maxLength)
		}
	}
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, a batch header needs %d", ErrTruncated, len(b), HeaderSize)
	}
	return Header{
		BaseOffset:           int64(binary.BigEndian.Uint64(b[offBaseOffset:])),
		Length:               int32(binary.BigEndian.Uint32(b[offLength:])),
		PartitionLeaderEpoch: int32(binary.BigEndian.Uint32(b[offPartitionLeaderEpoch:])),
		Magic:                int8(b[offMagic]),
		CRC:                  binary.BigEndian.Uint32(b[offCRC:]),
		Attributes:           int16(binary.BigEndian.Uint16(b[offAttributes:])),
		LastOffsetDelta:      int32(binary.BigEndian.Uint32(b[offLastOffsetDelta:])),
		BaseTimestamp:        int64(binary.BigEndian.Uint64(b[offBaseTimestamp:])),
		MaxTimestamp:         int64(binary.BigEndian.Uint64(b[offMaxTimestamp:])),
		ProducerID:           int64(binary.BigEndian.Uint64(b[offProducerID:])),
		ProducerEpoch:        int16(binary.BigEndian.Uint16(b[offProducerEpoch:])),
		BaseSequence:         int32(binary.BigEndian.Uint32(b[offBaseSequence:])),
		NumRecords:           int32(binary.BigEndian.Uint32(b[offNumRecords:])),
	}, nil
}

// Size is the number of bytes the whole batch occupies: the 12 bytes up to and including the
// Length field, plus Length.
func (h Header) Size() int { return lengthFieldEnd + int(h.Length) }

// LastOffset is the offset of the batch's last record (as assigned, even if compaction has
// since removed that record).
func (h Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset is the offset just after the batch: where the next batch in the log starts.
func (h Header) NextOffset() int64 { return h.LastOffset() + 1 }

// Compression is the codec of the records payload (attributes bits 0-2). Values above Zstd are
// possible in corrupt input; Validate rejects them.
func (h Header) Compression() Codec { return Codec(h.Attributes & attrCodecMask) }

// LogAppendTime reports attributes bit 3: MaxTimestamp is the broker's append time and
// overrides every record's own timestamp.
func (h Header) LogAppendTime() bool { return h.Attributes&attrLogAppendTime != 0 }

// IsTransactional reports attributes bit 4: the batch belongs to a transaction of ProducerID.
func (h Header) IsTransactional() bool { return h.Attributes&attrTransactional != 0 }

// IsControl reports attributes bit 5: the batch holds a control record (a transaction marker),
// not user data.
func (h Header) IsControl() bool { return h.Attributes&attrControl != 0 }

// HasDeleteHorizon reports attributes bit 6 (KIP-534): the log cleaner has set BaseTimestamp to
// the time after which this batch's tombstones and markers may be removed.
func (h Header) HasDeleteHorizon() bool { return h.Attributes&attrDeleteHorizonIsSet != 0 }

// IsIdempotent reports whether the batch carries a producer id (idempotent or transactional).
func (h Header) IsIdempotent() bool { return h.ProducerID >= 0 }

// SetBaseOffset rewrites the base offset of batch in place. The field lies outside the CRC,
// so the batch stays valid. batch must hold at least a header (a batch that passed Validate
// or ReadHeader); a shorter slice is a programming error and panics.
func SetBaseOffset(batch []byte, off int64) {
	binary.BigEndian.PutUint64(batch[offBaseOffset:offBaseOffset+8], uint64(off))
}

// SetPartitionLeaderEpoch rewrites the partition leader epoch of batch in place; like the base
// offset it lies outside the CRC. Same precondition as SetBaseOffset.
func SetPartitionLeaderEpoch(batch []byte, epoch int32) {
	binary.BigEndian.PutUint32(batch[offPartitionLeaderEpoch:offPartitionLeaderEpoch+4], uint32(epoch))
}
