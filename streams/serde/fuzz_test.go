package serde

import (
	"bytes"
	"testing"
)

// FuzzPlain: every plain Deserialize takes any bytes without panicking, and what it accepts
// serializes back to the same bytes where the format is canonical.
func FuzzPlain(f *testing.F) {
	for _, seed := range []string{"", "\x00", "\x01", "\x00\x01", "\x00\x00\x00\x01", "\x7f\xf8\x00\x00\x00\x00\x00\x00",
		"42", "-1", "123e4567-e89b-12d3-a456-426614174000", `{"a":1}`, "null"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		roundTrip(t, Int64(), data)
		roundTrip(t, Int32(), data)
		roundTrip(t, Int16(), data)
		roundTrip(t, Float32(), data)
		roundTrip(t, Bytes(), data)
		roundTrip(t, String(), data)
		if _, err := Float64().Deserialize("t", data); err != nil && len(data) == 8 {
			t.Fatalf("Float64 refused 8 bytes: %v", err)
		}
		if _, err := Bool().Deserialize("t", data); err != nil && len(data) == 1 {
			t.Fatalf("Bool refused 1 byte: %v", err)
		}
		if u, err := UUID().Deserialize("t", data); err == nil {
			b, _ := UUID().Serialize("t", u)
			if !bytes.EqualFold(b, data) {
				t.Fatalf("UUID %q came back as %q", data, b)
			}
		}
		_, _ = Int64String().Deserialize("t", data)
		_, _ = JSON[map[string]any]().Deserialize("t", data)
		_, _ = Void().Deserialize("t", data)
	})
}

func roundTrip[T any](t *testing.T, s Serde[T], data []byte) {
	t.Helper()
	v, err := s.Deserialize("t", data)
	if err != nil {
		return
	}
	b, err := s.Serialize("t", v)
	if err != nil {
		t.Fatalf("Serialize of a deserialized %x: %v", data, err)
	}
	if !bytes.Equal(b, data) && len(data) != 0 {
		t.Fatalf("%x came back as %x", data, b)
	}
}

// FuzzWindowed: windowed keys of any bytes decode or fail cleanly, and what decodes encodes
// back to the same bytes.
func FuzzWindowed(f *testing.F) {
	f.Add([]byte("c1\x00\x00\x01\x8b\xcf\xe5\x68\x00"))
	f.Add([]byte("k\x00\x00\x00\x00\x00\x00\x13\x88\x00\x00\x00\x00\x00\x00\x03\xe8"))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		roundTrip(t, TimeWindowed(Bytes(), 60_000), data)
		roundTrip(t, SessionWindowed(Bytes()), data)
		w, err := TimeWindowed(Int64(), 60_000).Deserialize("t", data)
		if err == nil && len(data) > 0 && w.End < w.Start {
			t.Fatalf("window %+v ends before it starts", w)
		}
		s, err := SessionWindowed(String()).Deserialize("t", data)
		if err == nil && s.End < s.Start {
			t.Fatalf("session %+v ends before it starts", s)
		}
	})
}
