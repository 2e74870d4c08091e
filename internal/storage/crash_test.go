package storage

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/vfs"
)

// ack is one acknowledged group-commit append.
type ack struct {
	tp     TopicPartition
	offset int64 // base offset assigned
	last   int64
	tag    uint64
}

// TestCrashGroupCommit: many goroutines append concurrently in group-commit mode to several
// partitions (rolling segments as they go); the machine "loses power" at a random moment
// (with torn, partly zeroed unsynced tails); after recovery every acknowledged append is
// present at its offset and every partition's offsets are contiguous with no duplicates.
func TestCrashGroupCommit(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { crashOnce(t, seed) })
	}
}

func crashOnce(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0xc0ffee))
	fsys := vfs.NewMem()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 3000 + int64(rng.IntN(3000))
	cfg.IndexIntervalBytes = 256
	mod := func(o *Options) { o.GroupCommit = true; o.DefaultConfig = &cfg; o.MaxOpenFiles = 16 }
	m, err := Open(Options{FS: fsys, Dir: "/data", GroupCommit: true, DefaultConfig: &cfg, MaxOpenFiles: 16, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	tps := []TopicPartition{{"a", 0}, {"a", 1}, {"b", 0}}
	for _, tp := range tps {
		if _, err := m.CreateLog(tp, [16]byte{7}, cfg); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu    sync.Mutex
		acks  []ack
		stop  = make(chan struct{})
		wg    sync.WaitGroup
		crash = 50 + rng.IntN(1500) // acknowledged appends before the power fails
		ready = make(chan struct{})
	)
	const writers = 8
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wrng := rand.New(rand.NewPCG(seed, uint64(w)))
			for seq := uint64(0); ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				tp := tps[wrng.IntN(len(tps))]
				l, _ := m.Log(tp)
				tag := uint64(w)<<32 | seq
				info, err := l.Append(makeBatch(t, 1+wrng.IntN(4), 50+wrng.IntN(200), int64(seq), tag), 0)
				if err != nil {
					if errors.Is(err, ErrClosed) {
						return
					}
					t.Errorf("append: %v", err)
					return
				}
				mu.Lock()
				acks = append(acks, ack{tp: tp, offset: info.FirstOffset, last: info.LastOffset, tag: tag})
				if len(acks) == crash {
					close(ready)
				}
				mu.Unlock()
			}
		}()
	}
	<-ready
	// Snapshot the acknowledgements first: each was fsynced before it was recorded, so the
	// crash image taken afterwards must hold all of them.
	mu.Lock()
	acked := append([]ack(nil), acks...)
	mu.Unlock()
	crashed := fsys.CrashClone(vfs.CrashOptions{Rand: rng, ZeroHoles: seed%2 == 0})
	close(stop)
	wg.Wait()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	m2 := openManager(t, crashed, mod)
	byTP := map[TopicPartition]map[int64]batchView{}
	for _, tp := range tps {
		l, ok := m2.Log(tp)
		if !ok {
			t.Fatalf("%s missing after recovery", tp)
		}
		if err := l.checkUsable(); err != nil {
			t.Fatalf("%s offline after recovery: %v", tp, err)
		}
		got := readAll(t, l, 0)
		checkContiguous(t, got, 0, l.LogEndOffset())
		seen := map[uint64]bool{}
		byTP[tp] = map[int64]batchView{}
		for _, b := range got {
			if seen[b.tag] {
				t.Fatalf("%s: append %x stored twice", tp, b.tag)
			}
			seen[b.tag] = true
			byTP[tp][b.base] = b
		}
	}
	for _, a := range acked {
		b, ok := byTP[a.tp][a.offset]
		if !ok || b.tag != a.tag || b.last != a.last {
			t.Fatalf("acknowledged append %x at %s offset %d lost after the crash (found %+v)", a.tag, a.tp, a.offset, b)
		}
	}
	// The recovered logs keep working.
	for _, tp := range tps {
		l, _ := m2.Log(tp)
		end := l.LogEndOffset()
		if info := mustAppend(t, l, 1, 10, 0); info.FirstOffset != end {
			t.Fatalf("%s: append after recovery at %d, want %d", tp, info.FirstOffset, end)
		}
	}
	t.Logf("seed %d: %d acknowledged appends checked, segment.bytes %d", seed, len(acked), cfg.SegmentBytes)
}
