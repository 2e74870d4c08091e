package storage

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	var syncAlls, fileSyncs atomic.Int64
	for seed := range uint64(12) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			a, f := crashOnce(t, seed)
			syncAlls.Add(a)
			fileSyncs.Add(f)
		})
	}
	if syncAlls.Load() == 0 || fileSyncs.Load() == 0 {
		t.Fatalf("rounds used syncfs %d times and per-file fsync %d times; both paths must be exercised",
			syncAlls.Load(), fileSyncs.Load())
	}
}

// slowSyncFS makes fsyncs take a little time, as on a disk, so that appends pile up into
// rounds covering several logs.
type slowSyncFS struct {
	*vfs.MemFS
	syncAlls, fileSyncs atomic.Int64
}

type slowSyncFile struct {
	vfs.File
	fs *slowSyncFS
}

type slowSyncer struct {
	vfs.Syncer
	fs *slowSyncFS
}

func (s *slowSyncFS) Create(name string) (vfs.File, error) {
	f, err := s.MemFS.Create(name)
	return &slowSyncFile{f, s}, err
}

func (s *slowSyncFS) OpenReadWrite(name string) (vfs.File, error) {
	f, err := s.MemFS.OpenReadWrite(name)
	if err != nil {
		return nil, err
	}
	return &slowSyncFile{f, s}, nil
}

func (s *slowSyncFS) OpenSyncer(dir string) (vfs.Syncer, error) {
	sy, err := s.MemFS.OpenSyncer(dir)
	return &slowSyncer{sy, s}, err
}

func (f *slowSyncFile) Sync() error {
	time.Sleep(200 * time.Microsecond)
	f.fs.fileSyncs.Add(1)
	return f.File.Sync()
}

func (s *slowSyncer) SyncAll() error {
	time.Sleep(200 * time.Microsecond)
	s.fs.syncAlls.Add(1)
	return s.Syncer.SyncAll()
}

func crashOnce(t *testing.T, seed uint64) (syncAlls, fileSyncs int64) {
	rng := rand.New(rand.NewPCG(seed, 0xc0ffee))
	mem := vfs.NewMem()
	fsys := &slowSyncFS{MemFS: mem}
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 3000 + int64(rng.IntN(3000))
	cfg.IndexIntervalBytes = 256
	m, err := Open(Options{FS: fsys, Dir: "/data", GroupCommit: true, DefaultConfig: &cfg, MaxOpenFiles: 16, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	// 2 to 7 partitions: rounds of few logs fsync each log, rounds of many use one syncfs.
	var tps []TopicPartition
	for p := range 2 + int(seed%6) {
		tps = append(tps, TopicPartition{Topic: "t", Partition: int32(p)})
		if _, err := m.CreateLog(tps[p], [16]byte{7}, cfg); err != nil {
			t.Fatal(err)
		}
	}
	acked, crashed := appendUntilCrash(t, m, mem, tps, rng, seed)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	var logbuf bytes.Buffer
	m2 := openManager(t, crashed, func(o *Options) {
		o.GroupCommit = true
		o.DefaultConfig = &cfg
		o.MaxOpenFiles = 16
		o.Logger = slog.New(slog.NewTextHandler(&logbuf, nil))
	})
	defer func() {
		if t.Failed() {
			describeFailure(t, m2, tps, acked, logbuf.String())
		}
	}()
	checkAcked(t, m2, tps, acked)
	t.Logf("seed %d: %d acknowledged appends checked over %d partitions, segment.bytes %d, %d syncfs, %d fsyncs",
		seed, len(acked), len(tps), cfg.SegmentBytes, fsys.syncAlls.Load(), fsys.fileSyncs.Load())
	return fsys.syncAlls.Load(), fsys.fileSyncs.Load()
}

// appendUntilCrash runs 8 appenders on m until a random number of appends were acknowledged,
// takes the crash image of mem, stops the appenders and returns the acknowledgements that
// preceded the crash with the image.
func appendUntilCrash(t *testing.T, m *Manager, mem *vfs.MemFS, tps []TopicPartition, rng *rand.Rand, seed uint64) ([]ack, *vfs.MemFS) {
	var (
		mu    sync.Mutex
		acks  []ack
		stop  = make(chan struct{})
		wg    sync.WaitGroup
		crash = 50 + rng.IntN(1500) // acknowledged appends before the power fails
		ready = make(chan struct{})
	)
	for w := range 8 {
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
					if !errors.Is(err, ErrClosed) {
						t.Errorf("append: %v", err)
					}
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
	crashed := mem.CrashClone(vfs.CrashOptions{Rand: rng, ZeroHoles: seed%2 == 0})
	close(stop)
	wg.Wait()
	return acked, crashed
}

// checkAcked verifies the recovered logs: contiguous offsets from 0, no append stored twice,
// every acknowledged append at its offset, and appends continuing at the log end.
func checkAcked(t *testing.T, m *Manager, tps []TopicPartition, acked []ack) {
	t.Helper()
	byTP := map[TopicPartition]map[int64]batchView{}
	for _, tp := range tps {
		l, ok := m.Log(tp)
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
	for _, tp := range tps {
		l, _ := m.Log(tp)
		end := l.LogEndOffset()
		if info := mustAppend(t, l, 1, 10, 0); info.FirstOffset != end {
			t.Fatalf("%s: append after recovery at %d, want %d", tp, info.FirstOffset, end)
		}
	}
}

// describeFailure logs what a failed crash test needs for diagnosis: what recovery dropped,
// the recovered segments, and the newest acknowledged offset per partition.
func describeFailure(t *testing.T, m *Manager, tps []TopicPartition, acked []ack, recoveryLog string) {
	t.Logf("recovery log:\n%s", recoveryLog)
	for _, tp := range tps {
		l, _ := m.Log(tp)
		var bases []int64
		for _, s := range l.segs() {
			bases = append(bases, s.baseOffset)
		}
		t.Logf("%s: end %d, segments %v", tp, l.LogEndOffset(), bases)
	}
	newest := map[TopicPartition]int64{}
	for _, a := range acked {
		newest[a.tp] = max(newest[a.tp], a.last)
	}
	t.Logf("newest acknowledged offsets: %v", newest)
}
