package serde

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// ErrSize is wrapped by the errors of fixed-width serdes given data of the wrong length.
var ErrSize = errors.New("serde: data of the wrong size")

func sizeError(name string, got, want int) error {
	return fmt.Errorf("serde: %s: %d bytes, want %d: %w", name, got, want, ErrSize)
}

// Func is a Serde made of two functions, for a format this package does not have.
type Func[T any] struct {
	SerializeFn   func(topic string, v T) ([]byte, error)
	DeserializeFn func(topic string, data []byte) (T, error)
}

func (f Func[T]) Serialize(topic string, v T) ([]byte, error) { return f.SerializeFn(topic, v) }
func (f Func[T]) Deserialize(topic string, data []byte) (T, error) {
	return f.DeserializeFn(topic, data)
}

type bytesSerde struct{}

// Bytes passes bytes through as they are (Kafka's ByteArraySerializer): nil stays nil both
// ways. Deserialize returns data itself, not a copy: it is the record's buffer.
func Bytes() Serde[[]byte] { return bytesSerde{} }

func (bytesSerde) Serialize(_ string, v []byte) ([]byte, error)      { return v, nil }
func (bytesSerde) Deserialize(_ string, data []byte) ([]byte, error) { return data, nil }

type stringSerde struct{}

// String is UTF-8 text (Kafka's StringSerializer). "" serializes to empty, non-nil bytes (an
// empty value, not a tombstone); nil data deserializes to "". The bytes are not checked for
// valid UTF-8, as Kafka does not check them.
func String() Serde[string] { return stringSerde{} }

func (stringSerde) Serialize(_ string, v string) ([]byte, error) {
	return append(make([]byte, 0, len(v)), v...), nil
}
func (stringSerde) Deserialize(_ string, data []byte) (string, error) { return string(data), nil }

type int64Serde struct{}

// Int64 is Kafka's LongSerializer: 8 bytes, big-endian two's complement. nil data deserializes
// to 0; any other length than 8 is an error wrapping ErrSize.
func Int64() Serde[int64] { return int64Serde{} }

func (int64Serde) Serialize(_ string, v int64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(v)), nil
}
func (int64Serde) Deserialize(_ string, data []byte) (int64, error) {
	if data == nil {
		return 0, nil
	}
	if len(data) != 8 {
		return 0, sizeError("Int64", len(data), 8)
	}
	return int64(binary.BigEndian.Uint64(data)), nil
}

type int32Serde struct{}

// Int32 is Kafka's IntegerSerializer: 4 bytes, big-endian. nil data deserializes to 0; any
// other length than 4 is an error wrapping ErrSize.
func Int32() Serde[int32] { return int32Serde{} }

func (int32Serde) Serialize(_ string, v int32) ([]byte, error) {
	return binary.BigEndian.AppendUint32(make([]byte, 0, 4), uint32(v)), nil
}
func (int32Serde) Deserialize(_ string, data []byte) (int32, error) {
	if data == nil {
		return 0, nil
	}
	if len(data) != 4 {
		return 0, sizeError("Int32", len(data), 4)
	}
	return int32(binary.BigEndian.Uint32(data)), nil
}

type int16Serde struct{}

// Int16 is Kafka's ShortSerializer: 2 bytes, big-endian. nil data deserializes to 0; any other
// length than 2 is an error wrapping ErrSize.
func Int16() Serde[int16] { return int16Serde{} }

func (int16Serde) Serialize(_ string, v int16) ([]byte, error) {
	return binary.BigEndian.AppendUint16(make([]byte, 0, 2), uint16(v)), nil
}
func (int16Serde) Deserialize(_ string, data []byte) (int16, error) {
	if data == nil {
		return 0, nil
	}
	if len(data) != 2 {
		return 0, sizeError("Int16", len(data), 2)
	}
	return int16(binary.BigEndian.Uint16(data)), nil
}

type float64Serde struct{}

// canonicalNaN is the bit pattern Java's Double.doubleToLongBits gives every NaN.
const canonicalNaN = 0x7ff8000000000000

// Float64 is Kafka's DoubleSerializer: the IEEE-754 bits, big-endian, every NaN written as the
// canonical 0x7ff8000000000000 (Java's doubleToLongBits). nil data deserializes to 0; any
// other length than 8 is an error wrapping ErrSize.
func Float64() Serde[float64] { return float64Serde{} }

func (float64Serde) Serialize(_ string, v float64) ([]byte, error) {
	bits := math.Float64bits(v)
	if v != v {
		bits = canonicalNaN
	}
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), bits), nil
}
func (float64Serde) Deserialize(_ string, data []byte) (float64, error) {
	if data == nil {
		return 0, nil
	}
	if len(data) != 8 {
		return 0, sizeError("Float64", len(data), 8)
	}
	return math.Float64frombits(binary.BigEndian.Uint64(data)), nil
}

type float32Serde struct{}

// Float32 is Kafka's FloatSerializer: the raw IEEE-754 bits, big-endian (Java's
// floatToRawIntBits: NaN payloads kept). nil data deserializes to 0; any other length than 4
// is an error wrapping ErrSize.
func Float32() Serde[float32] { return float32Serde{} }

func (float32Serde) Serialize(_ string, v float32) ([]byte, error) {
	return binary.BigEndian.AppendUint32(make([]byte, 0, 4), math.Float32bits(v)), nil
}
func (float32Serde) Deserialize(_ string, data []byte) (float32, error) {
	if data == nil {
		return 0, nil
	}
	if len(data) != 4 {
		return 0, sizeError("Float32", len(data), 4)
	}
	return math.Float32frombits(binary.BigEndian.Uint32(data)), nil
}

type boolSerde struct{}

// Bool is Kafka's BooleanSerializer: one byte, 0x01 for true, 0x00 for false. Deserialize
// reads 0x01 as true and any other byte as false, as Kafka's BooleanDeserializer does; nil
// data is false; any other length than 1 is an error wrapping ErrSize.
func Bool() Serde[bool] { return boolSerde{} }

func (boolSerde) Serialize(_ string, v bool) ([]byte, error) {
	if v {
		return []byte{1}, nil
	}
	return []byte{0}, nil
}
func (boolSerde) Deserialize(_ string, data []byte) (bool, error) {
	if data == nil {
		return false, nil
	}
	if len(data) != 1 {
		return false, sizeError("Bool", len(data), 1)
	}
	return data[0] == 1, nil
}

type uuidSerde struct{}

// UUID is Kafka's UUIDSerializer: the UUID as its 36-character text form
// (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, lowercase hex; Deserialize accepts either case), not
// 16 raw bytes. nil data deserializes to the zero UUID; anything not in that form is an error.
func UUID() Serde[[16]byte] { return uuidSerde{} }

// uuidDashes are the positions of the dashes in a UUID's text form.
var uuidDashes = [4]int{8, 13, 18, 23}

func (uuidSerde) Serialize(_ string, v [16]byte) ([]byte, error) {
	b := make([]byte, 36)
	hex.Encode(b[0:8], v[0:4])
	hex.Encode(b[9:13], v[4:6])
	hex.Encode(b[14:18], v[6:8])
	hex.Encode(b[19:23], v[8:10])
	hex.Encode(b[24:36], v[10:16])
	for _, i := range uuidDashes {
		b[i] = '-'
	}
	return b, nil
}

func (uuidSerde) Deserialize(_ string, data []byte) ([16]byte, error) {
	var u [16]byte
	if data == nil {
		return u, nil
	}
	if len(data) != 36 || data[8] != '-' || data[13] != '-' || data[18] != '-' || data[23] != '-' {
		return u, fmt.Errorf("serde: UUID: %q is not a UUID's text form", truncate(data))
	}
	var digits [32]byte
	n := 0
	for i, c := range data {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			continue
		}
		digits[n] = c
		n++
	}
	if _, err := hex.Decode(u[:], digits[:]); err != nil {
		return [16]byte{}, fmt.Errorf("serde: UUID: %q is not a UUID's text form", truncate(data))
	}
	return u, nil
}

// truncate bounds how much of bad input goes into an error message.
func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

type int64StringSerde struct{}

// Int64String writes an int64 as base-10 text ("42", "-7"), as the word-count example writes
// its counts. nil data deserializes to 0; text that is not a base-10 int64 is an error.
func Int64String() Serde[int64] { return int64StringSerde{} }

func (int64StringSerde) Serialize(_ string, v int64) ([]byte, error) {
	return strconv.AppendInt(make([]byte, 0, 20), v, 10), nil
}
func (int64StringSerde) Deserialize(_ string, data []byte) (int64, error) {
	if data == nil {
		return 0, nil
	}
	n, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("serde: Int64String: %q: %w", truncate(data), err)
	}
	return n, nil
}

type voidSerde struct{}

// Void is Kafka's VoidSerializer, for keys (or values) that are always null: Serialize returns
// nil, and Deserialize accepts only nil data.
func Void() Serde[struct{}] { return voidSerde{} }

func (voidSerde) Serialize(string, struct{}) ([]byte, error) { return nil, nil }
func (voidSerde) Deserialize(_ string, data []byte) (struct{}, error) {
	if data != nil {
		return struct{}{}, fmt.Errorf("serde: Void: %d bytes, want none (a null key or value)", len(data))
	}
	return struct{}{}, nil
}

type jsonSerde[T any] struct{}

// JSON encodes T with encoding/json. A nil T (nil pointer, map, slice or interface)
// serializes to nil (a tombstone), as Kafka's JSON serializers write null for null; nil data
// and the JSON literal null deserialize to T's zero value.
func JSON[T any]() Serde[T] { return jsonSerde[T]{} }

func (jsonSerde[T]) Serialize(_ string, v T) ([]byte, error) {
	if isNil(v) {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("serde: JSON: %w", err)
	}
	return b, nil
}

func (jsonSerde[T]) Deserialize(_ string, data []byte) (T, error) {
	var v T
	if data == nil {
		return v, nil
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("serde: JSON: %w", err)
	}
	return v, nil
}

// isNil reports whether v is a nil pointer, map, slice, interface, channel or function.
func isNil[T any](v T) bool {
	rv := reflect.ValueOf(&v).Elem()
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Chan, reflect.Func:
		return rv.IsNil()
	}
	return false
}

type nullableSerde[T any] struct{ inner Serde[T] }

// Nullable wraps a serde of a value type so that a tombstone is visible: a nil *T serializes
// to nil data, and nil data deserializes to a nil *T (where the serdes of value types give
// their zero value). Other data goes through inner.
func Nullable[T any](inner Serde[T]) Serde[*T] { return nullableSerde[T]{inner} }

func (s nullableSerde[T]) Serialize(topic string, v *T) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return s.inner.Serialize(topic, *v)
}

func (s nullableSerde[T]) Deserialize(topic string, data []byte) (*T, error) {
	if data == nil {
		return nil, nil
	}
	v, err := s.inner.Deserialize(topic, data)
	if err != nil {
		return nil, err
	}
	return &v, nil
}
