// Package kschema holds the primitives of Kafka's message schemas as the coordinators' internal
// topics store them (__consumer_offsets, __transaction_state): big-endian integers, classic and
// compact strings and arrays, unsigned varints and tagged-field sections. It has no state and
// starts no goroutines.
//
// A Reader decodes with a sticky error: a decoder reads every field and checks Done once. Every
// failure wraps the Reader's Bad sentinel, so each caller keeps its own error
// (group.ErrBadRecord, txn.ErrBadRecord). Lengths read from the bytes are checked against what
// is left before anything is allocated, so hostile bytes never allocate.
//
//	r := kschema.Reader{B: value, Bad: ErrBadRecord}
//	version, id := r.Int16(), r.Int64()
//	if err := r.Done("value"); err != nil { ... }
package kschema

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Reader reads fields from B, advancing it. Err is the first failure; once set, reads return
// zero values.
type Reader struct {
	B   []byte
	Err error
	Bad error // wrapped by every failure
}

// Fail records a failure (wrapping Bad) unless one is recorded already.
func (r *Reader) Fail(format string, args ...any) {
	if r.Err == nil {
		r.Err = fmt.Errorf("%w: %s", r.Bad, fmt.Sprintf(format, args...))
	}
}

// Need returns the next n bytes (aliasing B), or nil after a failure or when fewer are left.
func (r *Reader) Need(n int) []byte {
	if r.Err != nil {
		return nil
	}
	if n < 0 || len(r.B) < n {
		r.Fail("truncated")
		return nil
	}
	out := r.B[:n]
	r.B = r.B[n:]
	return out
}

func (r *Reader) Int8() int8 {
	if b := r.Need(1); b != nil {
		return int8(b[0])
	}
	return 0
}

func (r *Reader) Int16() int16 {
	if b := r.Need(2); b != nil {
		return int16(binary.BigEndian.Uint16(b))
	}
	return 0
}

func (r *Reader) Int32() int32 {
	if b := r.Need(4); b != nil {
		return int32(binary.BigEndian.Uint32(b))
	}
	return 0
}

func (r *Reader) Int64() int64 {
	if b := r.Need(8); b != nil {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}

func (r *Reader) Uvarint() uint64 {
	if r.Err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.B)
	if n <= 0 {
		r.Fail("bad varint")
		return 0
	}
	r.B = r.B[n:]
	return v
}

// String reads a classic non-null string (int16 length); null is a failure.
func (r *Reader) String() string {
	n := r.Int16()
	if n < 0 {
		r.Fail("null string")
		return ""
	}
	return string(r.Need(int(n)))
}

// NullableString reads a classic nullable string; null reads as "".
func (r *Reader) NullableString() string {
	n := r.Int16()
	if n == -1 {
		return ""
	}
	return string(r.Need(int(n)))
}

// CompactString reads a non-null compact string (uvarint length + 1).
func (r *Reader) CompactString() string {
	n := r.Uvarint()
	if n == 0 || n-1 > uint64(len(r.B)) {
		r.Fail("bad compact string")
		return ""
	}
	return string(r.Need(int(n - 1)))
}

// CompactNullableString reads a compact nullable string; null reads as "".
func (r *Reader) CompactNullableString() string {
	n := r.Uvarint()
	if n == 0 {
		return ""
	}
	if n-1 > uint64(len(r.B)) {
		r.Fail("truncated")
		return ""
	}
	return string(r.Need(int(n - 1)))
}

// Str reads a string, compact when flexible, classic otherwise; null is a failure.
func (r *Reader) Str(flexible bool) string {
	if flexible {
		return r.CompactString()
	}
	return r.String()
}

// Bytes reads classic nullable bytes (int32 length) as a copy; null reads as nil.
func (r *Reader) Bytes() []byte {
	n := r.Int32()
	if n == -1 {
		return nil
	}
	b := r.Need(int(n))
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// ArrayLen reads an array length, compact when flexible; -1 is a null array. A length that
// cannot fit in the rest of the bytes (every element takes at least one) is a failure.
func (r *Reader) ArrayLen(flexible bool) int {
	var n int64
	if flexible {
		n = int64(r.Uvarint()) - 1
	} else {
		n = int64(r.Int32())
	}
	if r.Err != nil {
		return -1
	}
	if n < -1 || n > int64(len(r.B)) {
		r.Fail("array length %d", n)
		return -1
	}
	return int(n)
}

// CompactLen reads a compact array length; null reads as 0.
func (r *Reader) CompactLen() int {
	return max(r.ArrayLen(true), 0)
}

// Tags reads a tagged-field section, calling fn with each field's tag and bytes.
func (r *Reader) Tags(fn func(tag uint64, data []byte)) {
	n := r.Uvarint()
	if n > uint64(len(r.B)) {
		r.Fail("%d tagged fields", n)
		return
	}
	for i := uint64(0); i < n && r.Err == nil; i++ {
		tag := r.Uvarint()
		size := r.Uvarint()
		if size > uint64(len(r.B)) {
			r.Fail("tagged field of %d bytes", size)
			return
		}
		data := r.Need(int(size))
		if r.Err == nil {
			fn(tag, data)
		}
	}
}

// SkipTags reads a tagged-field section and ignores it, as Kafka's readers skip unknown tags.
func (r *Reader) SkipTags() { r.Tags(func(uint64, []byte) {}) }

// Done reports the failure, if any, naming what was decoded. Bytes left over are allowed
// (newer versions may append fields).
func (r *Reader) Done(what string) error {
	if r.Err != nil {
		return fmt.Errorf("decode %s: %w", what, r.Err)
	}
	return nil
}

// DoneExact is Done that also refuses bytes left over.
func (r *Reader) DoneExact(what string) error {
	if err := r.Done(what); err != nil {
		return err
	}
	if len(r.B) != 0 {
		return fmt.Errorf("decode %s: %w: %d trailing bytes", what, r.Bad, len(r.B))
	}
	return nil
}

// AppendString appends a classic string (int16 length), cut at Kafka's limit of MaxInt16
// bytes.
func AppendString(dst []byte, s string) []byte {
	if len(s) > math.MaxInt16 {
		s = s[:math.MaxInt16]
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// AppendNullableString appends a classic nullable string; "" is written as null.
func AppendNullableString(dst []byte, s string) []byte {
	if s == "" {
		return binary.BigEndian.AppendUint16(dst, 0xFFFF)
	}
	return AppendString(dst, s)
}

// AppendCompactString appends a compact string.
func AppendCompactString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s))+1)
	return append(dst, s...)
}

// AppendCompactNullable appends a compact nullable string; "" is written as null.
func AppendCompactNullable(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, 0)
	}
	return AppendCompactString(dst, s)
}

// AppendBytes appends classic bytes (int32 length).
func AppendBytes(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

// AppendTag appends one tagged field.
func AppendTag(dst []byte, tag uint64, data []byte) []byte {
	dst = binary.AppendUvarint(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(data)))
	return append(dst, data...)
}
