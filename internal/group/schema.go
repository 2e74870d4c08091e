package group

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/internal/kschema"
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
// for the per-member kinds 5, 7 and 8), or a share group record (Kind 10–15, Member set for 10,
// 13 and 14).
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
	dst = kschema.AppendString(dst, group)
	dst = kschema.AppendString(dst, topic)
	return binary.BigEndian.AppendUint32(dst, uint32(partition))
}

// AppendGroupKey appends a group metadata key (version 2).
func AppendGroupKey(dst []byte, group string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, groupMetadataKeyVersion)
	return kschema.AppendString(dst, group)
}

// AppendOffsetValue appends an offset commit value (version 3).
func AppendOffsetValue(dst []byte, o OffsetCommit) []byte {
	dst = binary.BigEndian.AppendUint16(dst, offsetCommitValueV3)
	dst = binary.BigEndian.AppendUint64(dst, uint64(o.Offset))
	dst = binary.BigEndian.AppendUint32(dst, uint32(o.LeaderEpoch))
	dst = kschema.AppendString(dst, o.Metadata)
	return binary.BigEndian.AppendUint64(dst, uint64(o.CommitTime))
}

// DecodeKey decodes a key of the record types Kafka's group coordinator writes for classic and
// consumer groups (0–8).
func DecodeKey(b []byte) (RecordKey, error) {
	r := reader{B: b, Bad: ErrBadRecord}
	var k RecordKey
	v := r.Int16()
	k.Kind = v
	switch v {
	case 0, 1:
		k.Group, k.Topic, k.Partition = r.NullableString(), r.NullableString(), r.Int32()
	case 2:
		k.IsGroup, k.Group = true, r.NullableString()
	case keyConsumerGroup, keyPartitionMetadata, keyTargetMetadata:
		k.Group = r.NullableString()
	case keyConsumerMember, keyTargetMember, keyCurrentAssignment, keyShareMember, keyShareTargetMember, keyShareCurrentAssignment:
		k.Group, k.Member = r.NullableString(), r.NullableString()
	case keyShareGroup, keyShareTargetMetadata, keyShareStatePartitions:
		k.Group = r.NullableString()
	default:
		if r.Err == nil {
			return k, fmt.Errorf("%w: key version %d", ErrBadRecord, v)
		}
	}
	return k, r.Done("key")
}

// DecodeOffsetValue decodes an offset commit value of version 0–3. Versions 0 and 2 carry no
// leader epoch (-1); version 1's expire timestamp is read and dropped.
func DecodeOffsetValue(b []byte) (OffsetCommit, error) {
	r := reader{B: b, Bad: ErrBadRecord}
	o := OffsetCommit{LeaderEpoch: -1}
	v := r.Int16()
	switch v {
	case 0, 1, 2, 3:
	default:
		if r.Err == nil {
			return o, fmt.Errorf("%w: offset value version %d", ErrBadRecord, v)
		}
	}
	o.Offset = r.Int64()
	if v == 3 {
		o.LeaderEpoch = r.Int32()
	}
	o.Metadata = r.NullableString()
	o.CommitTime = r.Int64()
	if v == 1 {
		r.Int64() // expire timestamp: retention is the broker's offsets.retention.minutes now
	}
	return o, r.Done("offset value")
}

// reader decodes Kafka's schemas with a sticky error (internal/kschema).
type reader = kschema.Reader
