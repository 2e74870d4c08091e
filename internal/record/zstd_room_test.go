package record

import (
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// zstdStream compresses src as a stream: no content size in the frame header, so the decoder
// cannot size its output up front (how Java clients' batches arrive).
func zstdStream(t *testing.T, src []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := zstd.NewWriter(&b, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(src)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestZstdRoomGrowsToTheOutput: output of a frame without a content size, from an empty dst,
// comes back whole (the room doubled as needed), and past the limit is ErrTooLarge.
func TestZstdRoomGrowsToTheOutput(t *testing.T) {
	want := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16) // 3 MiB
	for i := range want {
		if i%4099 == 0 {
			want[i] = byte(i >> 8)
		}
	}
	frame := zstdStream(t, want)
	got, err := Zstd.Decompress([]byte("prefix"), frame, 8<<20)
	if err != nil || !bytes.Equal(got[6:], want) || string(got[:6]) != "prefix" {
		t.Fatalf("decompress: err %v, %d bytes, equal %v", err, len(got)-6, bytes.Equal(got[6:], want))
	}
	if _, err := Zstd.Decompress(nil, frame, 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("3 MiB past a 1 MiB limit: %v, want ErrTooLarge", err)
	}
}

// TestZstdBombAllocatesLittle: a bomb (16 MiB of zeros in a few KiB) refused at an 8 MiB limit
// into a dst that already has the room allocates next to nothing: the decoder neither grows
// the output in small steps nor reallocates it to learn that it overflows.
func TestZstdBombAllocatesLittle(t *testing.T) {
	if raceEnabled {
		t.Skip("counts allocations; the race detector's sync.Pool drops items at random")
	}
	const limit = 8 << 20
	frame := zstdStream(t, make([]byte, 16<<20))
	dst := make([]byte, 0, limit+zstdSlack)
	if _, err := Zstd.Decompress(dst, frame, limit); !errors.Is(err, ErrTooLarge) { // warm the decoder pool
		t.Fatalf("bomb: %v, want ErrTooLarge", err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 5 {
		Zstd.Decompress(dst, frame, limit)
	}
	runtime.ReadMemStats(&after)
	if perBomb := (after.TotalAlloc - before.TotalAlloc) / 5; perBomb > 1<<20 {
		t.Fatalf("%d bytes allocated per refused bomb with the room in hand", perBomb)
	}
}
