package group

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The key and value schemas of __consumer_offsets records, as Kafka writes them, so tools
// that read the topic directly understand Sluice's records. docs/format/consumer-offsets.md
// is the spec. All integers are big-endian; strings are an int16 length and UTF-8 bytes
// (-1 for a null string where nullable); byte fields are an int32 length and the bytes.

// ErrBadRecord is wrapped by every decoding failure of a __consumer_offsets key or value.
var ErrBadRecord = errors.New("group: bad __consumer_offsets record")

// Key versions: 0 and 1 are offset commits, 2 is group metadata.
const (
	offsetCommitKeyVersion  = 1
	groupMetadataKeyVersion = 2
	offsetCommitValueV3     = 3
	groupMetadataValueV3    = 3
)

// RecordKey is a decoded __consumer_offsets key: an offset commit (Kind 0 or 1, Topic set),
// classic group metadata (Kind 2, IsGroup) or a consumer group record (Kind 3–8, Member set
// for the per-member kinds 5, 7 and 8).
type RecordKey struct {
	Kind      int16
	IsGroup   bool
	Group     string
	Topic     string
	Partition int32
	Member    string
}

// AppendOffsetKey appends an offset commit key (version 1).
func AppendOffsetKey(dst []byte, group, topic string, partition int32) []byte {
	dst = binary.BigEndian.AppendUint16(dst, offsetCommitKeyVersion)
	dst = appendString(dst, group)
	dst = appendString(dst, topic)
	return binary.BigEndian.AppendUint32(dst, uint32(partition))
}

// AppendGroupKey appends a group metadata key (version 2).
func AppendGroupKey(dst []byte, group string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, groupMetadataKeyVersion)
	return appendString(dst, group)
}

// AppendOffsetValue appends an offset commit value (version 3).
func AppendOffsetValue(dst []byte, o OffsetCommit) []byte {
	dst = binary.BigEndian.AppendUint16(dst, offsetCommitValueV3)
	dst = binary.BigEndian.AppendUint64(dst, uint64(o.Offset))
	dst = binary.BigEndian.AppendUint32(dst, uint32(o.LeaderEpoch))
	dst = appendString(dst, o.Metadata)
	return binary.BigEndian.AppendUint64(dst, uint64(o.CommitTime))
}

// DecodeKey decodes a key of the record types Kafka's group coordinator writes for classic and
// consumer groups (0–8).
func DecodeKey(b []byte) (RecordKey, error) {
	r := reader{b: b}
	var k RecordKey
	v := r.int16()
	k.Kind = v
	switch v {
	case 0, 1:
		k.Group, k.Topic, k.Partition = r.string(), r.string(), r.int32()
	case 2:
		k.IsGroup, k.Group = true, r.string()
	case keyConsumerGroup, keyPartitionMetadata, keyTargetMetadata:
		k.Group = r.string()
	case keyConsumerMember, keyTargetMember, keyCurrentAssignment:
		k.Group, k.Member = r.string(), r.string()
	default:
		if r.err == nil {
			return k, fmt.Errorf("%w: key version %d", ErrBadRecord, v)
		}
	}
	return k, r.done("key")
}

// DecodeOffsetValue decodes an offset commit value of version 0–3. Versions 0 and 2 carry no
// leader epoch (-1); version 1's expire timestamp is read and dropped.
func DecodeOffsetValue(b []byte) (OffsetCommit, error) {
	r := reader{b: b}
	o := OffsetCommit{LeaderEpoch: -1}
	v := r.int16()
	switch v {
	case 0, 1, 2, 3:
	default:
		if r.err == nil {
			return o, fmt.Errorf("%w: offset value version %d", ErrBadRecord, v)
		}
	}
	o.Offset = r.int64()
	if v == 3 {
		o.LeaderEpoch = r.int32()
	}
	o.Metadata = r.string()
	o.CommitTime = r.int64()
	if v == 1 {
		r.int64() // expire timestamp: retention is the broker's offsets.retention.minutes now
	}
	return o, r.done("offset value")
}

func appendString(dst []byte, s string) []byte {
	if len(s) > math.MaxInt16 {
		s = s[:math.MaxInt16] // Kafka's limit for these strings; longer names never reach here
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// reader decodes with a sticky error: every field is read, the error checked once.
type reader struct {
	b   []byte
	err error
}

func (r *reader) need(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.err = fmt.Errorf("%w: truncated", ErrBadRecord)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) int16() int16 {
	if b := r.need(2); b != nil {
		return int16(binary.BigEndian.Uint16(b))
	}
	return 0
}

func (r *reader) int32() int32 {
	if b := r.need(4); b != nil {
		return int32(binary.BigEndian.Uint32(b))
	}
	return 0
}

func (r *reader) int64() int64 {
	if b := r.need(8); b != nil {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}

// string reads a non-null string; a null (-1 length) reads as "".
func (r *reader) string() string {
	n := r.int16()
	if n == -1 {
		return ""
	}
	return string(r.need(int(n)))
}

func (r *reader) done(what string) error {
	if r.err != nil {
		return fmt.Errorf("decode %s: %w", what, r.err)
	}
	return nil
}
