package serde

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"testing"
)

// checkLayout serializes v, compares the bytes with want (hex) and deserializes them back.
func checkLayout[T comparable](t *testing.T, s Serde[T], v T, want string) {
	t.Helper()
	b, err := s.Serialize("t", v)
	if err != nil {
		t.Fatalf("Serialize(%v): %v", v, err)
	}
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("Serialize(%v) = %s, want %s", v, got, want)
	}
	back, err := s.Deserialize("t", b)
	if err != nil {
		t.Fatalf("Deserialize(%s): %v", want, err)
	}
	if back != v {
		t.Fatalf("Deserialize(Serialize(%v)) = %v", v, back)
	}
}

// TestKafkaLayouts: the bytes of Kafka's built-in serializers for the same values.
func TestKafkaLayouts(t *testing.T) {
	t.Run("Int64", func(t *testing.T) {
		checkLayout(t, Int64(), 1, "0000000000000001")
		checkLayout(t, Int64(), -1, "ffffffffffffffff")
		checkLayout(t, Int64(), math.MinInt64, "8000000000000000")
		checkLayout(t, Int64(), 0x0102030405060708, "0102030405060708")
	})
	t.Run("Int32", func(t *testing.T) {
		checkLayout(t, Int32(), 1, "00000001")
		checkLayout(t, Int32(), -2, "fffffffe")
		checkLayout(t, Int32(), math.MaxInt32, "7fffffff")
	})
	t.Run("Int16", func(t *testing.T) {
		checkLayout(t, Int16(), 1, "0001")
		checkLayout(t, Int16(), -1, "ffff")
		checkLayout(t, Int16(), 0x1234, "1234")
	})
	t.Run("Float64", func(t *testing.T) {
		checkLayout(t, Float64(), 1.0, "3ff0000000000000")
		checkLayout(t, Float64(), -2.5, "c004000000000000")
		checkLayout(t, Float64(), math.Inf(1), "7ff0000000000000")
		// Java's doubleToLongBits writes every NaN as the canonical one.
		b, _ := Float64().Serialize("t", math.Float64frombits(0x7ff0000000000abc))
		if hex.EncodeToString(b) != "7ff8000000000000" {
			t.Fatalf("a NaN with a payload serialized as %x, want the canonical 7ff8000000000000", b)
		}
		if v, _ := Float64().Deserialize("t", b); !math.IsNaN(v) {
			t.Fatalf("the canonical NaN deserialized as %v", v)
		}
	})
	t.Run("Float32", func(t *testing.T) {
		checkLayout(t, Float32(), 1.0, "3f800000")
		checkLayout(t, Float32(), -0.5, "bf000000")
		// floatToRawIntBits keeps a NaN's payload.
		b, _ := Float32().Serialize("t", math.Float32frombits(0x7fc00abc))
		if hex.EncodeToString(b) != "7fc00abc" {
			t.Fatalf("a NaN with a payload serialized as %x, want 7fc00abc", b)
		}
	})
	t.Run("Bool", func(t *testing.T) {
		checkLayout(t, Bool(), true, "01")
		checkLayout(t, Bool(), false, "00")
		// Kafka's BooleanDeserializer: only 0x01 is true.
		if v, err := Bool().Deserialize("t", []byte{2}); err != nil || v {
			t.Fatalf("0x02 = %v, %v; want false as Kafka reads it", v, err)
		}
	})
	t.Run("String", func(t *testing.T) {
		checkLayout(t, String(), "héllo", "68c3a96c6c6f")
		checkLayout(t, String(), "", "")
	})
	t.Run("Int64String", func(t *testing.T) {
		checkLayout(t, Int64String(), 42, hex.EncodeToString([]byte("42")))
		checkLayout(t, Int64String(), -9223372036854775808, hex.EncodeToString([]byte("-9223372036854775808")))
	})
	t.Run("UUID", func(t *testing.T) {
		u := [16]byte{0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00}
		checkLayout(t, UUID(), u, hex.EncodeToString([]byte("123e4567-e89b-12d3-a456-426614174000")))
		upper, err := UUID().Deserialize("t", []byte("123E4567-E89B-12D3-A456-426614174000"))
		if err != nil || upper != u {
			t.Fatalf("upper-case UUID: %x, %v", upper, err)
		}
	})
}

// TestEmptyIsNotTombstone: an empty string or byte slice is an empty value, not a tombstone
// (kgo writes a nil Value as a null value).
func TestEmptyIsNotTombstone(t *testing.T) {
	if b, _ := String().Serialize("t", ""); b == nil {
		t.Fatal(`String "" serialized to nil (a tombstone)`)
	}
	if b, _ := Bytes().Serialize("t", []byte{}); b == nil {
		t.Fatal("Bytes of an empty slice serialized to nil")
	}
	if b, _ := Bytes().Serialize("t", nil); b != nil {
		t.Fatal("Bytes of nil serialized to non-nil")
	}
}

// TestTombstones: what each serde gives for nil data (a tombstone), and for a nil value.
func TestTombstones(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func() (any, error)
		want any
	}{
		{"Bytes", func() (any, error) { v, err := Bytes().Deserialize("t", nil); return v == nil, err }, true},
		{"String", func() (any, error) { return String().Deserialize("t", nil) }, ""},
		{"Int64", func() (any, error) { return Int64().Deserialize("t", nil) }, int64(0)},
		{"Int32", func() (any, error) { return Int32().Deserialize("t", nil) }, int32(0)},
		{"Int16", func() (any, error) { return Int16().Deserialize("t", nil) }, int16(0)},
		{"Float64", func() (any, error) { return Float64().Deserialize("t", nil) }, float64(0)},
		{"Float32", func() (any, error) { return Float32().Deserialize("t", nil) }, float32(0)},
		{"Bool", func() (any, error) { return Bool().Deserialize("t", nil) }, false},
		{"UUID", func() (any, error) { return UUID().Deserialize("t", nil) }, [16]byte{}},
		{"Int64String", func() (any, error) { return Int64String().Deserialize("t", nil) }, int64(0)},
		{"Void", func() (any, error) { return Void().Deserialize("t", nil) }, struct{}{}},
		{"JSON pointer", func() (any, error) { v, err := JSON[*struct{ A int }]().Deserialize("t", nil); return v == nil, err }, true},
		{"JSON null", func() (any, error) {
			v, err := JSON[*struct{ A int }]().Deserialize("t", []byte("null"))
			return v == nil, err
		}, true},
		{"JSON map", func() (any, error) { v, err := JSON[map[string]int]().Deserialize("t", nil); return v == nil, err }, true},
		{"JSON struct", func() (any, error) { return JSON[struct{ A int }]().Deserialize("t", nil) }, struct{ A int }{}},
		{"Nullable Int64", func() (any, error) { v, err := Nullable(Int64()).Deserialize("t", nil); return v == nil, err }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.fn()
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	for name, fn := range map[string]func() ([]byte, error){
		"JSON nil pointer": func() ([]byte, error) { return JSON[*struct{ A int }]().Serialize("t", nil) },
		"JSON nil map":     func() ([]byte, error) { return JSON[map[string]int]().Serialize("t", nil) },
		"JSON nil any":     func() ([]byte, error) { return JSON[any]().Serialize("t", nil) },
		"Nullable nil":     func() ([]byte, error) { return Nullable(Int64()).Serialize("t", nil) },
		"Void":             func() ([]byte, error) { return Void().Serialize("t", struct{}{}) },
	} {
		if b, err := fn(); b != nil || err != nil {
			t.Errorf("%s serialized to %x, %v; want nil (a tombstone)", name, b, err)
		}
	}
	// An empty map is a value, not a tombstone.
	if b, err := JSON[map[string]int]().Serialize("t", map[string]int{}); string(b) != "{}" || err != nil {
		t.Errorf("JSON empty map: %q, %v", b, err)
	}
	seven := int64(7)
	b, _ := Nullable(Int64()).Serialize("t", &seven)
	if v, err := Nullable(Int64()).Deserialize("t", b); err != nil || v == nil || *v != 7 {
		t.Errorf("Nullable round trip: %v, %v", v, err)
	}
}

// TestWrongSize: fixed-width serdes refuse data of another length with an error wrapping
// ErrSize and naming both lengths.
func TestWrongSize(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func([]byte) error
		size int
	}{
		{"Int64", func(b []byte) error { _, err := Int64().Deserialize("t", b); return err }, 8},
		{"Int32", func(b []byte) error { _, err := Int32().Deserialize("t", b); return err }, 4},
		{"Int16", func(b []byte) error { _, err := Int16().Deserialize("t", b); return err }, 2},
		{"Float64", func(b []byte) error { _, err := Float64().Deserialize("t", b); return err }, 8},
		{"Float32", func(b []byte) error { _, err := Float32().Deserialize("t", b); return err }, 4},
		{"Bool", func(b []byte) error { _, err := Bool().Deserialize("t", b); return err }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range []int{0, tc.size - 1, tc.size + 1} {
				if n < 0 {
					continue
				}
				err := tc.fn(make([]byte, n))
				if !errors.Is(err, ErrSize) {
					t.Fatalf("%d bytes: %v, want ErrSize", n, err)
				}
			}
			if err := tc.fn(make([]byte, tc.size)); err != nil {
				t.Fatalf("%d bytes: %v", tc.size, err)
			}
		})
	}
	_, err := Int64().Deserialize("t", []byte{1, 2, 3})
	if err == nil || err.Error() != "serde: Int64: 3 bytes, want 8: serde: data of the wrong size" {
		t.Fatalf("message: %v", err)
	}
}

func TestBadText(t *testing.T) {
	for _, in := range []string{"", "12x", "99999999999999999999", " 1"} {
		if _, err := Int64String().Deserialize("t", []byte(in)); err == nil {
			t.Errorf("Int64String accepted %q", in)
		}
	}
	for _, in := range []string{"", "123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400g", "123e4567-e89b-12d3-a456_426614174000"} {
		if _, err := UUID().Deserialize("t", []byte(in)); err == nil {
			t.Errorf("UUID accepted %q", in)
		}
	}
	if _, err := Void().Deserialize("t", []byte{}); err == nil {
		t.Error("Void accepted non-nil data")
	}
	if _, err := JSON[struct{ A int }]().Deserialize("t", []byte(`{"A":"x"}`)); err == nil {
		t.Error("JSON accepted a string for an int")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	type tx struct {
		CustomerID string  `json:"customer_id"`
		Amount     float64 `json:"amount"`
	}
	s := JSON[tx]()
	b, err := s.Serialize("t", tx{"c1", 2500})
	if err != nil || string(b) != `{"customer_id":"c1","amount":2500}` {
		t.Fatalf("%s, %v", b, err)
	}
	v, err := s.Deserialize("t", b)
	if err != nil || v != (tx{"c1", 2500}) {
		t.Fatalf("%+v, %v", v, err)
	}
}

func TestBytesAliases(t *testing.T) {
	in := []byte("abc")
	out, _ := Bytes().Deserialize("t", in)
	if !bytes.Equal(out, in) || &out[0] != &in[0] {
		t.Fatal("Bytes copied or changed its data")
	}
}
