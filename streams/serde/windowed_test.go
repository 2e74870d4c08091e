package serde

import (
	"encoding/hex"
	"errors"
	"math"
	"testing"

	"github.com/sluicehq/sluice/streams/state"
)

// TestTimeWindowedLayout: key bytes | start, Kafka Streams' TimeWindowedSerializer, the same
// bytes as state.AppendTimeWindowedKey; the end comes from the window size.
func TestTimeWindowedLayout(t *testing.T) {
	s := TimeWindowed(String(), 60_000)
	w := Windowed[string]{Key: "c1", Start: 1_700_000_000_000, End: 1_700_000_060_000}
	b, err := s.Serialize("t", w)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(b), "6331"+"0000018bcfe56800"; got != want {
		t.Fatalf("bytes %s, want %s", got, want)
	}
	if want := state.AppendTimeWindowedKey(nil, []byte("c1"), w.Start); string(b) != string(want) {
		t.Fatalf("bytes %x differ from state.AppendTimeWindowedKey's %x", b, want)
	}
	back, err := s.Deserialize("t", b)
	if err != nil || back != w {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	// An end past the largest int64 is clamped, as Kafka Streams does.
	huge := TimeWindowed(Int64(), math.MaxInt64)
	b, _ = huge.Serialize("t", Windowed[int64]{Key: 5, Start: 10})
	back2, err := huge.Deserialize("t", b)
	if err != nil || back2.End != math.MaxInt64 || back2.Start != 10 || back2.Key != 5 {
		t.Fatalf("overflowing end: %+v, %v", back2, err)
	}
}

// TestSessionWindowedLayout: key bytes | end | start, Kafka Streams' SessionWindowedSerializer.
func TestSessionWindowedLayout(t *testing.T) {
	s := SessionWindowed(Int32())
	w := Windowed[int32]{Key: 7, Start: 1000, End: 5000}
	b, err := s.Serialize("t", w)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(b), "00000007"+"0000000000001388"+"00000000000003e8"; got != want {
		t.Fatalf("bytes %s, want %s", got, want)
	}
	if want := state.AppendSessionKey(nil, []byte{0, 0, 0, 7}, 1000, 5000); string(b) != string(want) {
		t.Fatalf("bytes %x differ from state.AppendSessionKey's %x", b, want)
	}
	back, err := s.Deserialize("t", b)
	if err != nil || back != w {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

func TestWindowedBadInput(t *testing.T) {
	tw := TimeWindowed(String(), 10)
	sw := SessionWindowed(String())
	for _, n := range []int{1, 7} {
		if _, err := tw.Deserialize("t", make([]byte, n)); !errors.Is(err, state.ErrCorruptKey) {
			t.Errorf("TimeWindowed of %d bytes: %v", n, err)
		}
	}
	for _, n := range []int{1, 15} {
		if _, err := sw.Deserialize("t", make([]byte, n)); !errors.Is(err, state.ErrCorruptKey) {
			t.Errorf("SessionWindowed of %d bytes: %v", n, err)
		}
	}
	endBeforeStart := state.AppendSessionKey(nil, []byte("k"), 100, 50)
	if _, err := sw.Deserialize("t", endBeforeStart); !errors.Is(err, state.ErrCorruptKey) {
		t.Errorf("session ending before it starts: %v", err)
	}
	// The inner serde's error comes through: a key of the wrong size for Int64.
	if _, err := TimeWindowed(Int64(), 10).Deserialize("t", make([]byte, 11)); !errors.Is(err, ErrSize) {
		t.Errorf("3-byte Int64 key: %v", err)
	}
	for _, data := range [][]byte{nil, {}} {
		if w, err := tw.Deserialize("t", data); err != nil || w != (Windowed[string]{}) {
			t.Errorf("TimeWindowed of %v: %+v, %v", data, w, err)
		}
		if w, err := sw.Deserialize("t", data); err != nil || w != (Windowed[string]{}) {
			t.Errorf("SessionWindowed of %v: %+v, %v", data, w, err)
		}
	}
}
