package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
)

// Legacy message sets (message format v0 and v1, "magic 0" and "magic 1") are what Produce
// v0–v2 carry and Fetch v0–v3 expect. Sluice stores only v2 batches, so it converts: a produce
// request's message set becomes one v2 batch (ConvertLegacy) and the v2 batches a fetch reads
// become a message set (DownConvert), as Kafka 3's broker did. The layout is specified in
// docs/format/message-set.md; in short, each entry of a set is
//
//	offset     int64
//	size       int32   bytes that follow: crc .. end of value
//	crc        uint32  CRC-32 (IEEE) of magic .. end of value
//	magic      int8    0 or 1
//	attributes int8    bits 0-2 codec, bit 3 (v1) LogAppendTime
//	timestamp  int64   v1 only
//	key        int32 length (-1: null) + bytes
//	value      int32 length (-1: null) + bytes
//
// A compressed entry (a "wrapper") holds in its value the compressed message set of its inner
// messages; v1 wrappers number their inner messages 0..n-1 relative to the wrapper's offset,
// which is that of the last inner message.

// Legacy sentinel errors. Like the others, every error wraps exactly one sentinel.
var (
	// ErrInvalidRecord: a legacy message set whose bytes are intact (CRCs match) but which
	// breaks the rules of the format: a compressed wrapper next to other entries, nested
	// compression, an inner message of another magic, a wrapper without inner messages.
	ErrInvalidRecord = errors.New("record: invalid legacy message set")
	// ErrInvalidTimestamp: a producer's v1 message claiming LogAppendTime, which only the
	// broker may set.
	ErrInvalidTimestamp = errors.New("record: producer set LogAppendTime")
	// ErrUnsupportedCodec: zstd with message format v0 or v1, which Kafka never allowed.
	ErrUnsupportedCodec = errors.New("record: zstd is not supported by message formats v0 and v1")
)

const (
	legacyLogOverhead = 12 // offset + size
	legacyOffCRC      = 12 // from the start of an entry
	legacyOffMagic    = 16
	legacyOffAttrs    = 17
	legacyOffKeyV0    = 18
	legacyOffKeyV1    = 26
	// The fewest bytes after the size field: crc, magic, attributes, [timestamp], key and value
	// lengths.
	legacyMinSizeV0 = 14
	legacyMinSizeV1 = 22

	legacyAttrLogAppendTime = 0x08
)

// IsLegacy reports whether b starts with a legacy message set entry (magic 0 or 1 at byte 16,
// where a v2 batch keeps its magic too).
func IsLegacy(b []byte) bool {
	return len(b) > offMagic && (b[offMagic] == 0 || b[offMagic] == 1)
}

// legacyMessage is one decoded entry. key and value alias the input.
type legacyMessage struct {
	offset     int64
	magic      int8
	attributes int8
	timestamp  int64 // -1 for v0
	key, value []byte
	size       int // whole entry, log overhead included
}

func (m *legacyMessage) codec() Codec { return Codec(m.attributes & attrCodecMask) }

// readLegacyMessage decodes the entry at the start of b and checks its CRC and framing.
func readLegacyMessage(b []byte) (legacyMessage, error) {
	var m legacyMessage
	if len(b) < legacyLogOverhead {
		return m, fmt.Errorf("%w: %d bytes, a message's offset and size need %d", ErrCorrupt, len(b), legacyLogOverhead)
	}
	size := int32(binary.BigEndian.Uint32(b[8:]))
	if size < legacyMinSizeV0 {
		return m, fmt.Errorf("%w: message size %d below the minimum %d", ErrCorrupt, size, legacyMinSizeV0)
	}
	if int64(size) > int64(len(b)-legacyLogOverhead) {
		return m, fmt.Errorf("%w: message of %d bytes with %d left", ErrCorrupt, size, len(b)-legacyLogOverhead)
	}
	e := b[:legacyLogOverhead+int(size)]
	m.offset = int64(binary.BigEndian.Uint64(e))
	m.magic = int8(e[legacyOffMagic])
	m.attributes = int8(e[legacyOffAttrs])
	m.size = len(e)
	keyAt := legacyOffKeyV0
	switch m.magic {
	case 0:
		m.timestamp = -1
	case 1:
		if size < legacyMinSizeV1 {
			return m, fmt.Errorf("%w: v1 message size %d below the minimum %d", ErrCorrupt, size, legacyMinSizeV1)
		}
		m.timestamp = int64(binary.BigEndian.Uint64(e[legacyOffKeyV0:]))
		keyAt = legacyOffKeyV1
	default:
		return m, fmt.Errorf("%w: magic %d in a legacy message set", ErrInvalidRecord, m.magic)
	}
	if want, got := binary.BigEndian.Uint32(e[legacyOffCRC:]), crc32.ChecksumIEEE(e[legacyOffMagic:]); want != got {
		return m, fmt.Errorf("%w: message crc32 mismatch: message says %#08x, bytes give %#08x", ErrCorrupt, want, got)
	}
	var err error
	p := e[keyAt:]
	if m.key, p, err = readLegacyBytes(p); err != nil {
		return m, fmt.Errorf("key: %w", err)
	}
	if m.value, p, err = readLegacyBytes(p); err != nil {
		return m, fmt.Errorf("value: %w", err)
	}
	if len(p) != 0 {
		return m, fmt.Errorf("%w: %d bytes after the message's value", ErrCorrupt, len(p))
	}
	return m, nil
}

// readLegacyBytes reads an int32 length (-1: null) and that many bytes.
func readLegacyBytes(b []byte) (v, rest []byte, err error) {
	if len(b) < 4 {
		return nil, b, fmt.Errorf("%w: length cut short", ErrCorrupt)
	}
	n := int32(binary.BigEndian.Uint32(b))
	b = b[4:]
	switch {
	case n == -1:
		return nil, b, nil
	case n < -1 || int64(n) > int64(len(b)):
		return nil, b, fmt.Errorf("%w: length %d with %d bytes left", ErrCorrupt, n, len(b))
	}
	return b[:n:n], b[n:], nil
}

// LegacyOptions bound ConvertLegacy.
type LegacyOptions struct {
	// MaxDecompressedSize bounds a compressed wrapper's inner messages (ErrTooLarge beyond it);
	// zero means DefaultMaxDecompressedSize.
	MaxDecompressedSize int
	// Buffer, if not nil, is reused for decompression and replaced by the grown buffer.
	Buffer *[]byte
}

// LegacyInfo describes a converted message set.
type LegacyInfo struct {
	Magic        int8  // of the first message
	Codec        Codec // of the wrapper; None for uncompressed messages
	Messages     int   // records in the v2 batch
	Decompressed int   // bytes a wrapper decompressed to (0 if none)
}

// builders are reused by ConvertLegacy so that converting a request allocates only when a
// set is larger than any converted before on that P.
var builders = sync.Pool{New: func() any { return NewBuilder(None) }}

// maxPooledBuilder bounds the records a pooled Builder keeps room for: one large set's
// builder is left to the GC rather than kept per P.
const maxPooledBuilder = 4 << 20

func putBuilder(b *Builder) {
	if cap(b.records) <= maxPooledBuilder {
		builders.Put(b)
	}
}

// ConvertLegacy appends to dst one v2 batch holding the records of the legacy message set set,
// as Kafka 3's broker converted them on produce: uncompressed messages, however many, become
// one uncompressed batch; a compressed wrapper (which must then be the set's only entry)
// becomes one batch compressed with the same codec. Offsets the producer wrote are ignored
// (the batch is numbered from 0, as producers send v2 batches); v1 timestamps are kept as
// CreateTime, v0 messages get no timestamp (-1); the batch has no producer id.
//
// Every message's CRC is checked, inner messages' too (ErrCorrupt). Errors wrap ErrCorrupt,
// ErrInvalidRecord, ErrInvalidTimestamp, ErrUnsupportedCodec or ErrTooLarge; dst is then
// returned unchanged.
func ConvertLegacy(dst, set []byte, opts LegacyOptions) ([]byte, LegacyInfo, error) {
	var info LegacyInfo
	if len(set) == 0 {
		return dst, info, fmt.Errorf("%w: empty message set", ErrInvalidRecord)
	}
	b := builders.Get().(*Builder)
	defer putBuilder(b)
	b.Reset()
	b.Codec = None
	for p := set; len(p) > 0; {
		m, err := readLegacyMessage(p)
		if err != nil {
			return dst, info, fmt.Errorf("message at byte %d: %w", len(set)-len(p), err)
		}
		if len(p) == len(set) {
			info.Magic = m.magic
		}
		if m.codec() != None {
			if m.size != len(set) {
				return dst, info, fmt.Errorf("%w: a compressed message must be the only one of its message set", ErrInvalidRecord)
			}
			if err := addWrapped(b, m, opts, &info); err != nil {
				return dst, info, err
			}
			break
		}
		if err := checkProducerTimestamp(m); err != nil {
			return dst, info, err
		}
		b.Add(m.timestamp, m.key, m.value)
		p = p[m.size:]
	}
	info.Messages = b.NumRecords()
	out, err := b.Build(dst)
	if err != nil {
		return dst, info, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	return out, info, nil
}

// checkProducerTimestamp refuses LogAppendTime from a producer, as Kafka's LogValidator does.
func checkProducerTimestamp(m legacyMessage) error {
	if m.magic == 1 && m.attributes&legacyAttrLogAppendTime != 0 {
		return fmt.Errorf("%w: message with offset %d has timestamp type LogAppendTime", ErrInvalidTimestamp, m.offset)
	}
	return nil
}

// addWrapped decompresses a wrapper and adds its inner messages to b, which takes the
// wrapper's codec.
func addWrapped(b *Builder, w legacyMessage, opts LegacyOptions, info *LegacyInfo) error {
	codec := w.codec()
	switch {
	case codec == Zstd:
		return fmt.Errorf("%w (magic %d)", ErrUnsupportedCodec, w.magic)
	case !codec.valid():
		return fmt.Errorf("%w: unknown compression codec %d", ErrCorrupt, codec)
	case w.value == nil:
		return fmt.Errorf("%w: compressed message with a null value", ErrInvalidRecord)
	}
	if err := checkProducerTimestamp(w); err != nil {
		return err
	}
	limit := opts.MaxDecompressedSize
	if limit <= 0 {
		limit = DefaultMaxDecompressedSize
	}
	var buf []byte
	if opts.Buffer != nil {
		buf = *opts.Buffer
	}
	payload := w.value
	if codec == LZ4 && w.magic == 0 {
		payload = fixLegacyLZ4(payload)
	}
	inner, err := codec.Decompress(buf[:0], payload, limit)
	if opts.Buffer != nil {
		*opts.Buffer = inner
	}
	if err != nil {
		return fmt.Errorf("decompress %s message set: %w", codec, err)
	}
	info.Codec, info.Decompressed = codec, len(inner)
	if len(inner) == 0 {
		return fmt.Errorf("%w: compressed message set with no inner messages", ErrInvalidRecord)
	}
	b.Codec = codec
	for p := inner; len(p) > 0; {
		m, err := readLegacyMessage(p)
		switch {
		case err != nil:
			return fmt.Errorf("inner message at byte %d: %w", len(inner)-len(p), err)
		case m.magic != w.magic:
			return fmt.Errorf("%w: inner message of magic %d in a magic %d wrapper", ErrInvalidRecord, m.magic, w.magic)
		case m.codec() != None:
			return fmt.Errorf("%w: compressed inner message (nested compression)", ErrInvalidRecord)
		}
		if err := checkProducerTimestamp(m); err != nil {
			return err
		}
		b.Add(m.timestamp, m.key, m.value)
		p = p[m.size:]
	}
	return nil
}
