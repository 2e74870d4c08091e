package storage

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/vfs"
)

// BenchmarkClean measures the cleaner's throughput in MB of dirty log per second (b.SetBytes
// is the dirty .log bytes one clean covers): a log on disk (vfs.OS, in the page cache) of
// 32 MiB of updates to 20,000 keys with 200-byte random-letter values, in batches of 50, in 8 MiB
// segments, uncompressed and zstd. Each iteration builds a fresh log (not timed) and cleans it
// once: map the keys, rewrite every segment, swap, fsync.
func BenchmarkClean(b *testing.B) {
	for _, codec := range []record.Codec{record.None, record.Zstd} {
		b.Run(codec.String(), func(b *testing.B) {
			var dirty int64
			for i := range b.N {
				b.StopTimer()
				dir := filepath.Join(b.TempDir(), fmt.Sprint(i))
				m, err := Open(Options{FS: vfs.OS, Dir: dir, Logger: testLogger(b), CleanerThreads: -1})
				if err != nil {
					b.Fatal(err)
				}
				cfg := DefaultLogConfig()
				cfg.SegmentBytes = 8 << 20
				cfg.CleanupPolicy = CleanupCompact
				l, err := m.CreateLog(testTP, [16]byte{1}, cfg)
				if err != nil {
					b.Fatal(err)
				}
				fillForClean(b, l, codec, 32<<20)
				if err := l.Flush(); err != nil {
					b.Fatal(err)
				}
				drainWriteBack(b, dir)
				segs := l.segs()
				dirty = 0
				for _, s := range segs[:len(segs)-1] {
					dirty += s.size.Load()
				}
				b.StartTimer()
				if _, cleaned, err := m.CleanDirtiest(); err != nil || !cleaned {
					b.Fatalf("clean: %v %v", cleaned, err)
				}
				b.StopTimer()
				if err := m.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.SetBytes(dirty)
		})
	}
}

// fillForClean appends updates of 20,000 keys until the log holds size bytes.
func fillForClean(b *testing.B, l *Log, codec record.Codec, size int64) {
	rng := rand.New(rand.NewPCG(1, 2))
	val := make([]byte, 200)
	bld := record.NewBuilder(codec)
	var batch []byte
	for l.Size() < size {
		bld.Reset()
		for range 50 {
			for i := range val {
				val[i] = byte('a' + rng.IntN(26)) // compresses about as text does
			}
			key := fmt.Appendf(nil, "key-%05d", rng.IntN(20000))
			bld.Add(1, key, val)
		}
		var err error
		if batch, err = bld.Build(batch[:0]); err != nil {
			b.Fatal(err)
		}
		if _, err := l.Append(batch, 0); err != nil {
			b.Fatal(err)
		}
	}
}
