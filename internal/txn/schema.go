package txn

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
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
	return appendString(dst, transactionalID)
}

// DecodeKey decodes a key and returns the transactional id.
func DecodeKey(b []byte) (string, error) {
	r := reader{b: b}
	v := r.int16()
	if r.err == nil && v != txnKeyVersion {
		return "", fmt.Errorf("decode key: %w: version %d", ErrBadRecord, v)
	}
	id := r.string()
	return id, r.done("key")
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
			dst = appendCompactString(dst, t)
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
		dst = appendTag(dst, tagPreviousProducerID, binary.BigEndian.AppendUint64(nil, uint64(v.PreviousProducerID)))
	}
	if v.NextProducerID != -1 {
		dst = appendTag(dst, tagNextProducerID, binary.BigEndian.AppendUint64(nil, uint64(v.NextProducerID)))
	}
	if v.ClientTxnVersion != 0 {
		dst = appendTag(dst, tagClientTransactionVersion, binary.BigEndian.AppendUint16(nil, uint16(v.ClientTxnVersion)))
	}
	return dst
}

func appendTag(dst []byte, tag uint64, data []byte) []byte {
	dst = binary.AppendUvarint(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(data)))
	return append(dst, data...)
}

// DecodeValue decodes a value of version 0 or 1. Unknown tagged fields are skipped, as
// Kafka's readers skip them.
func DecodeValue(b []byte) (LogValue, error) {
	r := reader{b: b}
	v := LogValue{PreviousProducerID: -1, NextProducerID: -1}
	version := r.int16()
	if r.err == nil && version != 0 && version != 1 {
		return v, fmt.Errorf("decode value: %w: version %d", ErrBadRecord, version)
	}
	flexible := version == 1
	v.ProducerID = r.int64()
	v.ProducerEpoch = r.int16()
	v.TimeoutMs = r.int32()
	v.State = State(r.int8())
	if n := r.arrayLen(flexible); n >= 0 {
		v.Partitions = make(TopicPartitions, min(n, 64))
		for i := 0; i < n && r.err == nil; i++ {
			topic := r.str(flexible)
			m := r.arrayLen(flexible)
			for j := 0; j < m && r.err == nil; j++ {
				v.Partitions.add(topic, r.int32())
			}
			if flexible {
				r.skipTags()
			}
		}
	}
	v.LastUpdateMs = r.int64()
	v.StartMs = r.int64()
	if flexible {
		r.tags(func(tag uint64, data []byte) {
			t := reader{b: data}
			switch tag {
			case tagPreviousProducerID:
				v.PreviousProducerID = t.int64()
			case tagNextProducerID:
				v.NextProducerID = t.int64()
			case tagClientTransactionVersion:
				v.ClientTxnVersion = t.int16()
			}
			if t.err != nil && r.err == nil {
				r.err = t.err
			}
		})
	}
	if r.err == nil && !v.State.valid() {
		return v, fmt.Errorf("decode value: %w: state %d", ErrBadRecord, v.State)
	}
	return v, r.done("value")
}

func appendString(dst []byte, s string) []byte {
	if len(s) > math.MaxInt16 {
		s = s[:math.MaxInt16]
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

func appendCompactString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s))+1)
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

func (r *reader) int8() int8 {
	if b := r.need(1); b != nil {
		return int8(b[0])
	}
	return 0
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

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: bad varint", ErrBadRecord)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// string reads a classic non-null string.
func (r *reader) string() string {
	n := r.int16()
	if n < 0 {
		if r.err == nil {
			r.err = fmt.Errorf("%w: null string", ErrBadRecord)
		}
		return ""
	}
	return string(r.need(int(n)))
}

// str reads a string, compact when flexible.
func (r *reader) str(flexible bool) string {
	if !flexible {
		return r.string()
	}
	n := r.uvarint()
	if n == 0 || n-1 > uint64(len(r.b)) {
		if r.err == nil {
			r.err = fmt.Errorf("%w: bad compact string", ErrBadRecord)
		}
		return ""
	}
	return string(r.need(int(n - 1)))
}

// arrayLen reads an array length; -1 is a null array. A length that cannot fit in the rest
// of the bytes (every element takes at least one byte) is an error, so a hostile length
// never allocates.
func (r *reader) arrayLen(flexible bool) int {
	var n int64
	if flexible {
		n = int64(r.uvarint()) - 1
	} else {
		n = int64(r.int32())
	}
	if r.err != nil {
		return -1
	}
	if n < -1 || n > int64(len(r.b)) {
		r.err = fmt.Errorf("%w: array length %d", ErrBadRecord, n)
		return -1
	}
	return int(n)
}

// tags reads a tagged-field section, calling fn for each field.
func (r *reader) tags(fn func(tag uint64, data []byte)) {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		if r.err == nil {
			r.err = fmt.Errorf("%w: %d tagged fields", ErrBadRecord, n)
		}
		return
	}
	for i := uint64(0); i < n && r.err == nil; i++ {
		tag := r.uvarint()
		size := r.uvarint()
		if size > uint64(len(r.b)) {
			if r.err == nil {
				r.err = fmt.Errorf("%w: tagged field of %d bytes", ErrBadRecord, size)
			}
			return
		}
		data := r.need(int(size))
		if r.err == nil {
			fn(tag, data)
		}
	}
}

func (r *reader) skipTags() { r.tags(func(uint64, []byte) {}) }

func (r *reader) done(what string) error {
	if r.err != nil {
		return fmt.Errorf("decode %s: %w", what, r.err)
	}
	if len(r.b) != 0 {
		return fmt.Errorf("decode %s: %w: %d trailing bytes", what, ErrBadRecord, len(r.b))
	}
	return nil
}
