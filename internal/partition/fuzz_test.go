package partition

import (
	"testing"

	"github.com/sluicehq/sluice/internal/record"
)

// FuzzValidate feeds arbitrary bytes through produce validation, as a
// client's produce request would: it must return an error or accept, never
// panic, and accept only bytes that frame into whole v2 batches.
func FuzzValidate(f *testing.F) {
	for _, codec := range []record.Codec{record.None, record.Gzip, record.Snappy, record.LZ4, record.Zstd} {
		f.Add(build(f, codec, []int64{1, 2, 3}, false))
	}
	two := build(f, record.None, []int64{1}, false)
	f.Add(append(two, two...))
	f.Add([]byte{})
	cfg := DefaultConfig()
	cfg.TimestampBeforeMaxMs, cfg.TimestampAfterMaxMs = 1<<62, 1<<62
	compacted := cfg
	compacted.Compacted = true
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range []Config{cfg, compacted} {
			v, err := validate(b, c, 0)
			if err != nil {
				continue
			}
			it := record.NewBatches(b)
			n := 0
			for _, _, ok := it.Next(); ok; _, _, ok = it.Next() {
				n++
			}
			if it.Err() != nil || n != v.batches {
				t.Fatalf("accepted %d batches, framing finds %d (err %v)", v.batches, n, it.Err())
			}
		}
	})
}
