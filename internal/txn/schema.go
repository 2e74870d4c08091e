package txn

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/internal/kschema"
)

// The key and value schemas of __transaction_state records, as Kafka writes them (the
// TransactionLogKey and TransactionLogValue messages), so tools reading the topic directly
// understand Sluice's records. docs/format/transaction-state.md is the spec.
//
// Key: int16 version (0), then the transactional id as an int16-length string.
// Value: int16 version; v0 is a classic (non-flexible) struct, v1 a flexible one (compact
// strings and arrays, tagged fields). Sluice writes v1. A record without a value is a
// tombstone: the transactional id expired.

const (
	txnKeyVersion   = 0
	txnValueVersion = 1
)

// Value tags of v1.
const (
	tagPreviousProducerID       = 0
	tagNextProducerID           = 1
	tagClientTransactionVersion = 2
)

// TopicPartitions are a transaction's partitions: topic name → partition ids.
type TopicPartitions map[string][]int32

// add reports whether p of topic was new.
func (tp TopicPartitions) add(topic string, p int32) bool {
	if slices.Contains(tp[topic], p) {
		return false
	}
	tp[topic] = append(tp[topic], p)
	return true
}

func (tp TopicPartitions) contains(topic string, p int32) bool { return slices.Contains(tp[topic], p) }

func (tp TopicPartitions) clone() TopicPartitions {
	out := make(TopicPartitions, len(tp))
	for t, ps := range tp {
		out[t] = slices.Clone(ps)
	}
	return out
}

// Topics returns the topic names in order, so records and answers are deterministic.
func (tp TopicPartitions) Topics() []string {
	names := make([]string, 0, len(tp))
	for t := range tp {
		names = append(names, t)
	}
	slices.SortFunc(names, strings.Compare)
	return names
}

// LogValue is a decoded __transaction_state value: one transactional id's state.
type LogValue struct {
	ProducerID         int64
	PreviousProducerID int64 // -1 when none (v1 tag 0)
	NextProducerID     int64 // -1 when none (v1 tag 1)
	ProducerEpoch      int16
	TimeoutMs          int32
	State              State
	Partitions         TopicPartitions // nil when none
	LastUpdateMs       int64
	StartMs            int64
	ClientTxnVersion   int16 // v1 tag 2
}

// AppendKey appends the key of a transactional id.
func AppendKey(dst []byte, transactionalID string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, txnKeyVersion)
	return kschema.AppendString(dst, transactionalID)
}

// DecodeKey decodes a key and returns the transactional id.
func DecodeKey(b []byte) (string, error) {
	r := reader{B: b, Bad: ErrBadRecord}
	v := r.Int16()
	if r.Err == nil && v != txnKeyVersion {
		return "", fmt.Errorf("decode key: %w: version %d", ErrBadRecord, v)
	}
	id := r.String()
	return id, r.DoneExact("key")
}

// AppendValue appends a value in version 1 (flexible).
func AppendValue(dst []byte, v LogValue) []byte {
	dst = binary.BigEndian.AppendUint16(dst, txnValueVersion)
	dst = binary.BigEndian.AppendUint64(dst, uint64(v.ProducerID))
	dst = binary.BigEndian.AppendUint16(dst, uint16(v.ProducerEpoch))
	dst = binary.BigEndian.AppendUint32(dst, uint32(v.TimeoutMs))
	dst = append(dst, byte(v.State))
	if v.Partitions == nil {
		dst = binary.AppendUvarint(dst, 0) // null compact array
	} else {
		dst = binary.AppendUvarint(dst, uint64(len(v.Partitions))+1)
		for _, t := range v.Partitions.Topics() {
			dst = kschema.AppendCompactString(dst, t)
			ps := v.Partitions[t]
			dst = binary.AppendUvarint(dst, uint64(len(ps))+1)
			for _, p := range ps {
				dst = binary.BigEndian.AppendUint32(dst, uint32(p))
			}
			dst = binary.AppendUvarint(dst, 0) // no tagged fields
		}
	}
	dst = binary.BigEndian.AppendUint64(dst, uint64(v.LastUpdateMs))
	dst = binary.BigEndian.AppendUint64(dst, uint64(v.StartMs))
	var tags int
	if v.PreviousProducerID != -1 {
		tags++
	}
	if v.NextProducerID != -1 {
		tags++
	}
	if v.ClientTxnVersion != 0 {
		tags++
	}
	dst = binary.AppendUvarint(dst, uint64(tags))
	if v.PreviousProducerID != -1 {
		dst = kschema.AppendTag(dst, tagPreviousProducerID, binary.BigEndian.AppendUint64(nil, uint64(v.PreviousProducerID)))
	}
	if v.NextProducerID != -1 {
		dst = kschema.AppendTag(dst, tagNextProducerID, binary.BigEndian.AppendUint64(nil, uint64(v.NextProducerID)))
	}
	if v.ClientTxnVersion != 0 {
		dst = kschema.AppendTag(dst, tagClientTransactionVersion, binary.BigEndian.AppendUint16(nil, uint16(v.ClientTxnVersion)))
	}
	return dst
}

// DecodeValue decodes a value of version 0 or 1. Unknown tagged fields are skipped, as
// Kafka's readers skip them.
func DecodeValue(b []byte) (LogValue, error) {
	r := reader{B: b, Bad: ErrBadRecord}
	v := LogValue{PreviousProducerID: -1, NextProducerID: -1}
	version := r.Int16()
	if r.Err == nil && version != 0 && version != 1 {
		return v, fmt.Errorf("decode value: %w: version %d", ErrBadRecord, version)
	}
	flexible := version == 1
	v.ProducerID = r.Int64()
	v.ProducerEpoch = r.Int16()
	v.TimeoutMs = r.Int32()
	v.State = State(r.Int8())
	if n := r.ArrayLen(flexible); n >= 0 {
		v.Partitions = make(TopicPartitions, min(n, 64))
		for i := 0; i < n && r.Err == nil; i++ {
			topic := r.Str(flexible)
			m := r.ArrayLen(flexible)
			for j := 0; j < m && r.Err == nil; j++ {
				v.Partitions.add(topic, r.Int32())
			}
			if flexible {
				r.SkipTags()
			}
		}
	}
	v.LastUpdateMs = r.Int64()
	v.StartMs = r.Int64()
	if flexible {
		r.Tags(func(tag uint64, data []byte) {
			t := reader{B: data, Bad: ErrBadRecord}
			switch tag {
			case tagPreviousProducerID:
				v.PreviousProducerID = t.Int64()
			case tagNextProducerID:
				v.NextProducerID = t.Int64()
			case tagClientTransactionVersion:
				v.ClientTxnVersion = t.Int16()
			}
			if t.Err != nil && r.Err == nil {
				r.Err = t.Err
			}
		})
	}
	if r.Err == nil && !v.State.valid() {
		return v, fmt.Errorf("decode value: %w: state %d", ErrBadRecord, v.State)
	}
	return v, r.DoneExact("value")
}

// reader decodes Kafka's schemas with a sticky error (internal/kschema).
type reader = kschema.Reader
