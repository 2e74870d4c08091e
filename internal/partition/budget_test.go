package partition

import (
	"errors"
	"runtime"
	"testing"

	"github.com/sluicehq/sluice/internal/record"
)

// bomb builds a zstd batch whose records expand to about n bytes: values of
// zeros compress to almost nothing.
func bomb(t testing.TB, n int, ts int64) []byte {
	t.Helper()
	b := record.NewBuilder(record.Zstd)
	value := make([]byte, 1<<20)
	for i := 0; i < n>>20; i++ {
		b.Add(ts, []byte{byte(i)}, value)
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecompressBudget(t *testing.T) {
	now := int64(1_700_000_000_000)
	cfg := DefaultConfig()
	// Each bomb expands to 5/8 of a small request's budget: one fits, two do not.
	share := MinDecompressBudget * 5 / 8
	oneBomb := bomb(t, share, now)
	if len(oneBomb) > 64<<10 {
		t.Fatalf("bomb is %d bytes compressed; the test wants a small one", len(oneBomb))
	}
	t.Run("one batch within the budget", func(t *testing.T) {
		b := NewDecompressBudget(len(oneBomb))
		if _, err := validateWithin(oneBomb, cfg, now, b); err != nil {
			t.Fatal(err)
		}
		if got, want := b.Remaining(), MinDecompressBudget-share; got > want+(64<<10) || got < want-(64<<10) {
			t.Fatalf("remaining %d, want about %d", got, want)
		}
	})
	t.Run("second partition passes the shared budget", func(t *testing.T) {
		b := NewDecompressBudget(2 * len(oneBomb))
		if _, err := validateWithin(oneBomb, cfg, now, b); err != nil {
			t.Fatal(err)
		}
		_, err := validateWithin(oneBomb, cfg, now, b)
		if !errors.Is(err, ErrDecompressBudget) || !errors.Is(err, record.ErrTooLarge) {
			t.Fatalf("second partition: %v, want ErrDecompressBudget", err)
		}
	})
	t.Run("two batches of one partition", func(t *testing.T) {
		b := NewDecompressBudget(2 * len(oneBomb))
		two := append(append([]byte(nil), oneBomb...), oneBomb...)
		if _, err := validateWithin(two, cfg, now, b); !errors.Is(err, ErrDecompressBudget) {
			t.Fatalf("%v, want ErrDecompressBudget", err)
		}
	})
	t.Run("budget grows with the request", func(t *testing.T) {
		if got := NewDecompressBudget(4 << 20).Remaining(); got != DecompressRatio*(4<<20) {
			t.Fatalf("budget of a 4 MiB request: %d", got)
		}
		if got := NewDecompressBudget(1).Remaining(); got != MinDecompressBudget {
			t.Fatalf("budget of a tiny request: %d", got)
		}
	})
	t.Run("nil budget keeps the per-batch cap only", func(t *testing.T) {
		for range 3 {
			if _, err := validateWithin(oneBomb, cfg, now, nil); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestRequestRecordErrorsBounded: partitions of one request share MaxRequestRecordErrors;
// once spent, a rejected partition still fails but names only its first bad record.
func TestRequestRecordErrorsBounded(t *testing.T) {
	now := int64(1_700_000_000_000)
	cfg := DefaultConfig()
	cfg.TimestampBeforeMaxMs, cfg.TimestampAfterMaxMs = 1000, 1000
	bad := badTimestamps(t, record.Zstd, 2*MaxRecordErrors)
	b := NewDecompressBudget(len(bad))
	reported := 0
	for i := range MaxRequestRecordErrors/MaxRecordErrors + 2 {
		_, err := validateWithin(bad, cfg, now, b)
		var re *RecordErrors
		if !errors.As(err, &re) {
			t.Fatalf("partition %d: %v, want *RecordErrors", i, err)
		}
		want := MaxRecordErrors
		if i >= MaxRequestRecordErrors/MaxRecordErrors {
			want = 1
		}
		if len(re.Records) != want {
			t.Fatalf("partition %d: %d record errors, want %d", i, len(re.Records), want)
		}
		reported += len(re.Records)
	}
	if reported != MaxRequestRecordErrors+2 {
		t.Fatalf("%d record errors in the request", reported)
	}
}

// TestBombsAllocateBounded: a batch of each codec expanding to 32 MiB is refused within its
// request's budget, allocating a bounded multiple of the budget (not tens of bytes per byte
// kept, as growing the output a chunk at a time did).
func TestBombsAllocateBounded(t *testing.T) {
	if raceEnabled {
		t.Skip("counts allocations; the race detector's sync.Pool drops items at random")
	}
	now := int64(1_700_000_000_000)
	cfg := DefaultConfig()
	cfg.MaxMessageBytes = 64 << 20 // the codecs without long matches need room for the test bomb
	for _, codec := range []record.Codec{record.Gzip, record.Snappy, record.LZ4, record.Zstd} {
		t.Run(codec.String(), func(t *testing.T) {
			b := record.NewBuilder(codec)
			value := make([]byte, 1<<20)
			for range 32 {
				b.Add(now, []byte("k"), value)
			}
			batch, err := b.Build(nil)
			if err != nil {
				t.Fatal(err)
			}
			validateWithin(batch, cfg, now, NewDecompressBudget(len(batch))) // warm pools
			budget := NewDecompressBudget(len(batch))
			allowed := uint64(3 * budget.Remaining())
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err = validateWithin(batch, cfg, now, budget)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, record.ErrTooLarge) {
				t.Fatalf("%d-byte %s batch of 32 MiB: %v, want ErrTooLarge", len(batch), codec, err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > allowed {
				t.Fatalf("refusing the bomb allocated %d MiB, budget %d MiB", alloc>>20, allowed/3>>20)
			}
		})
	}
}
