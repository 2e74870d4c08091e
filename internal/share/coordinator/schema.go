package coordinator

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/kschema"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/share"
)

// The key and value schemas of __share_group_state records, as Kafka's share coordinator
// writes them (ShareSnapshotKey/Value and ShareUpdateKey/Value, coordinator records), so tools
// reading the topic directly understand Sluice's records.
//
// Key: int16 record type (0 ShareSnapshot, 1 ShareUpdate), then the group id as an
// int16-length string, the topic id (16 bytes) and the partition (int32) — the same layout for
// both types.
//
// ShareSnapshotValue v0 (flexible): SnapshotEpoch int32, StateEpoch int32, LeaderEpoch int32,
// StartOffset int64, CreateTimestamp int64, WriteTimestamp int64, StateBatches compact array of
// {FirstOffset int64, LastOffset int64, DeliveryState int8, DeliveryCount int16, tags}, tags
// (tag 0: DeliveryCompleteCount int32, default -1, KIP-1226).
//
// ShareUpdateValue v0 (flexible): SnapshotEpoch int32, LeaderEpoch int32, StartOffset int64,
// StateBatches as above, tags (tag 0: DeliveryCompleteCount).
//
// A record without a value is a tombstone: the share-partition's state was deleted.

// Record types (the key's version).
const (
	TypeSnapshot int16 = 0
	TypeUpdate   int16 = 1
)

const valueVersion = 0

const tagDeliveryCompleteCount = 0

// ErrBadRecord: a __share_group_state record that cannot be decoded.
var ErrBadRecord = errors.New("share coordinator: bad __share_group_state record")

// maxBatches bounds the state batches one decoded value may hold (each is 19+ bytes on the
// wire, so a record could not carry more within Kafka's message limits anyway); it keeps a
// corrupt length from allocating without bound.
const maxBatches = 1 << 20

// RecordKey is a decoded key.
type RecordKey struct {
	Type int16
	Key  share.Key
}

// Snapshot is a ShareSnapshotValue: a share-partition's whole state.
type Snapshot struct {
	SnapshotEpoch         int32
	StateEpoch            int32
	LeaderEpoch           int32
	StartOffset           int64
	DeliveryCompleteCount int32 // -1: unknown
	CreateTimestamp       int64
	WriteTimestamp        int64
	Batches               []share.StateBatch
}

// Update is a ShareUpdateValue: the batches that changed since the snapshot of SnapshotEpoch.
type Update struct {
	SnapshotEpoch         int32
	LeaderEpoch           int32
	StartOffset           int64 // -1: unchanged
	DeliveryCompleteCount int32 // -1: unknown
	Batches               []share.StateBatch
}

// AppendKey appends the key of record type typ for k.
func AppendKey(dst []byte, typ int16, k share.Key) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(typ))
	dst = kschema.AppendString(dst, k.Group)
	dst = append(dst, k.TopicID[:]...)
	return binary.BigEndian.AppendUint32(dst, uint32(k.Partition))
}

// DecodeKey decodes a key.
func DecodeKey(b []byte) (RecordKey, error) {
	r := kschema.Reader{B: b, Bad: ErrBadRecord}
	var k RecordKey
	k.Type = r.Int16()
	if r.Err == nil && k.Type != TypeSnapshot && k.Type != TypeUpdate {
		return k, fmt.Errorf("decode key: %w: record type %d", ErrBadRecord, k.Type)
	}
	k.Key.Group = r.String()
	if id := r.Need(16); id != nil {
		copy(k.Key.TopicID[:], id)
	}
	k.Key.Partition = r.Int32()
	return k, r.DoneExact("key")
}

func appendBatches(dst []byte, bs []share.StateBatch) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(bs))+1)
	for _, b := range bs {
		dst = binary.BigEndian.AppendUint64(dst, uint64(b.FirstOffset))
		dst = binary.BigEndian.AppendUint64(dst, uint64(b.LastOffset))
		dst = append(dst, byte(b.DeliveryState))
		dst = binary.BigEndian.AppendUint16(dst, uint16(b.DeliveryCount))
		dst = binary.AppendUvarint(dst, 0)
	}
	return dst
}

func appendCompleteCountTag(dst []byte, n int32) []byte {
	if n == -1 {
		return binary.AppendUvarint(dst, 0)
	}
	dst = binary.AppendUvarint(dst, 1)
	return kschema.AppendTag(dst, tagDeliveryCompleteCount, binary.BigEndian.AppendUint32(nil, uint32(n)))
}

// AppendSnapshot appends a ShareSnapshotValue.
func AppendSnapshot(dst []byte, v Snapshot) []byte {
	dst = binary.BigEndian.AppendUint16(dst, valueVersion)
	dst = binary.BigEndian.AppendUint32(dst, uint32(v.SnapshotEpoch))
	dst = binary.BigEndian.AppendUint32(dst, uint32(v.StateEpoch))
	dst = binary.BigEndian.AppendUint32(dst, uint32(v.LeaderEpoch))
	dst = binary.BigEndian.AppendUint64(dst, uint64(v.StartOffset))
	dst = binary.BigEndian.AppendUint64(dst, uint64(v.CreateTimestamp))
	dst = binary.BigEndian.AppendUint64(dst, uint64(v.WriteTimestamp))
	dst = appendBatches(dst, v.Batches)
	return appendCompleteCountTag(dst, v.DeliveryCompleteCount)
}

// AppendUpdate appends a ShareUpdateValue.
func AppendUpdate(dst []byte, v Update) []byte {
	dst = binary.BigEndian.AppendUint16(dst, valueVersion)
	dst = binary.BigEndian.AppendUint32(dst, uint32(v.SnapshotEpoch))
	dst = binary.BigEndian.AppendUint32(dst, uint32(v.LeaderEpoch))
	dst = binary.BigEndian.AppendUint64(dst, uint64(v.StartOffset))
	dst = appendBatches(dst, v.Batches)
	return appendCompleteCountTag(dst, v.DeliveryCompleteCount)
}

func readBatches(r *kschema.Reader) []share.StateBatch {
	n := r.CompactLen()
	if n > maxBatches {
		r.Fail("%d state batches", n)
		return nil
	}
	var out []share.StateBatch
	for i := 0; i < n && r.Err == nil; i++ {
		b := share.StateBatch{FirstOffset: r.Int64(), LastOffset: r.Int64(), DeliveryState: r.Int8(), DeliveryCount: r.Int16()}
		r.SkipTags()
		if r.Err == nil && b.LastOffset < b.FirstOffset {
			r.Fail("state batch %d..%d", b.FirstOffset, b.LastOffset)
		}
		out = append(out, b)
	}
	return out
}

func readCompleteCountTag(r *kschema.Reader) int32 {
	n := int32(-1)
	r.Tags(func(tag uint64, data []byte) {
		if tag != tagDeliveryCompleteCount {
			return
		}
		t := kschema.Reader{B: data, Bad: ErrBadRecord}
		n = t.Int32()
		if t.Err != nil && r.Err == nil {
			r.Err = t.Err
		}
	})
	return n
}

func readVersion(r *kschema.Reader) error {
	if v := r.Int16(); r.Err == nil && v != valueVersion {
		return fmt.Errorf("decode value: %w: version %d", ErrBadRecord, v)
	}
	return nil
}

// DecodeSnapshot decodes a ShareSnapshotValue. Unknown tagged fields are skipped.
func DecodeSnapshot(b []byte) (Snapshot, error) {
	r := kschema.Reader{B: b, Bad: ErrBadRecord}
	var v Snapshot
	if err := readVersion(&r); err != nil {
		return v, err
	}
	v.SnapshotEpoch, v.StateEpoch, v.LeaderEpoch = r.Int32(), r.Int32(), r.Int32()
	v.StartOffset, v.CreateTimestamp, v.WriteTimestamp = r.Int64(), r.Int64(), r.Int64()
	v.Batches = readBatches(&r)
	v.DeliveryCompleteCount = readCompleteCountTag(&r)
	return v, r.DoneExact("snapshot value")
}

// DecodeUpdate decodes a ShareUpdateValue. Unknown tagged fields are skipped.
func DecodeUpdate(b []byte) (Update, error) {
	r := kschema.Reader{B: b, Bad: ErrBadRecord}
	var v Update
	if err := readVersion(&r); err != nil {
		return v, err
	}
	v.SnapshotEpoch, v.LeaderEpoch, v.StartOffset = r.Int32(), r.Int32(), r.Int64()
	v.Batches = readBatches(&r)
	v.DeliveryCompleteCount = readCompleteCountTag(&r)
	return v, r.DoneExact("update value")
}

// CoordinatorKey is Kafka's share coordinator key of k, "group:topicId:partition" with the
// topic id in Kafka's base64 form: abs(Java hashCode) of it modulo the partition count of
// __share_group_state is k's state partition, and FindCoordinator (key type SHARE) takes it.
func CoordinatorKey(k share.Key) string {
	return fmt.Sprintf("%s:%s:%d", k.Group, metadata.TopicID(k.TopicID).String(), k.Partition)
}

// ParseCoordinatorKey parses a key CoordinatorKey wrote (FindCoordinator key type SHARE):
// the group is everything before the last two colons.
func ParseCoordinatorKey(s string) (share.Key, error) {
	var k share.Key
	j := strings.LastIndexByte(s, ':')
	if j < 0 {
		return k, fmt.Errorf("share coordinator key %q: want group:topicId:partition", s)
	}
	i := strings.LastIndexByte(s[:j], ':')
	if i <= 0 {
		return k, fmt.Errorf("share coordinator key %q: want group:topicId:partition", s)
	}
	p, err := strconv.ParseInt(s[j+1:], 10, 32)
	if err != nil || p < 0 {
		return k, fmt.Errorf("share coordinator key %q: bad partition", s)
	}
	id, err := base64.RawURLEncoding.Strict().DecodeString(s[i+1 : j])
	if err != nil || len(id) != 16 {
		return k, fmt.Errorf("share coordinator key %q: bad topic id", s)
	}
	k.Group, k.Partition = s[:i], int32(p)
	copy(k.TopicID[:], id)
	return k, nil
}
