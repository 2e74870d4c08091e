package storage

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/vfs"
)

func TestOpenFileBudget(t *testing.T) {
	const partitions, budget = 40, 8
	fsys := vfs.NewMem()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 1500
	cfg.IndexIntervalBytes = 1
	metrics := NewMetrics(nil)
	mod := func(o *Options) { o.MaxOpenFiles = budget; o.DefaultConfig = &cfg; o.Metrics = metrics }
	m := openManager(t, fsys, mod)
	var logs []*Log
	for p := range partitions {
		l, err := m.CreateLog(TopicPartition{Topic: "t", Partition: int32(p)}, [16]byte{1}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	for round := range 5 {
		for _, l := range logs {
			mustAppend(t, l, 2, 200, int64(round))
		}
	}
	// Background flushes of rolled segments use files too; let them finish.
	m.bg.wg.Wait()
	// A fetch in flight pins its files beyond the budget.
	held, err := logs[0].Read(0, 1<<20, 1000, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range logs {
		checkContiguous(t, readAll(t, l, 0), 0, 10)
		if n := m.OpenFiles(); n > budget+len(held.Regions) {
			t.Fatalf("%d files open, budget %d plus %d pinned", n, budget, len(held.Regions))
		}
	}
	if got := parseBatches(t, regionBytes(t, held)); len(got) != 5 {
		t.Fatalf("pinned region after evictions: %d batches", len(got))
	}
	held.Release()
	if n := m.OpenFiles(); n > budget {
		t.Fatalf("%d files open after release, budget %d", n, budget)
	}
	if metricValue(metrics.FileEvictions) == 0 {
		t.Fatal("no idle file was ever closed")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// Segments open lazily: a clean start opens nothing.
	m2 := openManager(t, fsys, mod)
	if n := m2.OpenFiles(); n != 0 {
		t.Fatalf("%d files open right after a clean start", n)
	}
	l, _ := m2.Log(TopicPartition{Topic: "t", Partition: 7})
	checkContiguous(t, readAll(t, l, 0), 0, 10)
}

// TestConcurrentReadsDuringAppendsAndRetention runs an appender, readers and retention on one
// log at once (run with -race): every read returns whole, valid, contiguous batches holding
// the requested offset, or ErrOffsetOutOfRange for offsets retention removed meanwhile.
func TestConcurrentReadsDuringAppendsAndRetention(t *testing.T) {
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 4096
	cfg.IndexIntervalBytes = 512
	cfg.RetentionMs = -1
	cfg.RetentionBytes = 16 << 10
	m := openManager(t, vfs.NewMem(), func(o *Options) { o.MaxOpenFiles = 6 })
	l := createLog(t, m, cfg)
	const appends = 1500
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer done.Store(true)
		for i := range appends {
			if _, err := l.Append(makeBatch(t, 1+i%3, 100, int64(i), uint64(i)), 0); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !done.Load() {
			m.RunRetention()
		}
	}()
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			for !done.Load() {
				if err := checkOneRead(l, rng); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// One more pass once appends stopped: retention.bytes then bounds the log (16 KB kept, in
	// segments of about 4 KB, plus the active one).
	m.RunRetention()
	if l.NumSegments() > 7 || l.LogStartOffset() == 0 || metricValue(m.metrics.SegmentsDeleted) == 0 {
		t.Fatalf("retention did not keep up: %d segments, start %d", l.NumSegments(), l.LogStartOffset())
	}
	checkContiguous(t, readAll(t, l, l.LogStartOffset()), firstBase(t, l), l.LogEndOffset())
}

func firstBase(t *testing.T, l *Log) int64 {
	t.Helper()
	res, err := l.Read(l.LogStartOffset(), 1, l.LogEndOffset(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	return res.FirstOffset
}

func checkOneRead(l *Log, rng *rand.Rand) error {
	start, end := l.LogStartOffset(), l.LogEndOffset()
	if end == start {
		return nil
	}
	offset := start + rng.Int64N(end-start)
	res, err := l.Read(offset, int32(1+rng.IntN(8192)), end, true)
	if errors.Is(err, ErrOffsetOutOfRange) && offset < l.LogStartOffset() {
		return nil
	}
	if err != nil {
		return fmt.Errorf("Read(%d): %w", offset, err)
	}
	defer res.Release()
	var buf []byte
	for _, r := range res.Regions {
		b := make([]byte, r.Len())
		if _, err := r.ReadAt(b, 0); err != nil {
			return err
		}
		buf = append(buf, b...)
	}
	batches, err := validBatches(buf)
	if err != nil {
		return fmt.Errorf("Read(%d): %w", offset, err)
	}
	if len(batches) == 0 || batches[0].base > offset || batches[0].last < offset {
		return fmt.Errorf("Read(%d) returned %v", offset, batches)
	}
	for i := 1; i < len(batches); i++ {
		if batches[i].base != batches[i-1].last+1 {
			return fmt.Errorf("Read(%d): gap between %v and %v", offset, batches[i-1], batches[i])
		}
	}
	return nil
}

// gateFS blocks fsyncs of .log files while armed, so a test can pile appends up behind one.
type gateFS struct {
	vfs.FS
	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	release chan struct{}
}

type gateFile struct {
	vfs.File
	g *gateFS
}

func (g *gateFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &gateFile{File: f, g: g}, nil
}

func (g *gateFS) Create(name string) (vfs.File, error) { return g.wrap(g.FS.Create(name)) }
func (g *gateFS) OpenReadWrite(name string) (vfs.File, error) {
	return g.wrap(g.FS.OpenReadWrite(name))
}

func (f *gateFile) Sync() error {
	f.g.mu.Lock()
	armed := f.g.armed && len(f.Name()) > 4 && f.Name()[len(f.Name())-4:] == ".log"
	if armed {
		f.g.armed = false
	}
	f.g.mu.Unlock()
	if armed {
		close(f.g.entered)
		<-f.g.release
	}
	return f.File.Sync()
}

// TestGroupCommitSharesFsyncs: appends that arrive while an fsync runs are all acknowledged
// by the next single fsync.
func TestGroupCommitSharesFsyncs(t *testing.T) {
	g := &gateFS{FS: vfs.NewMem(), entered: make(chan struct{}), release: make(chan struct{})}
	metrics := NewMetrics(nil)
	m := openManager(t, g, func(o *Options) { o.GroupCommit = true; o.Metrics = metrics })
	l := createLog(t, m, DefaultLogConfig())
	fsyncsBefore := metricValue(metrics.Fsyncs)
	g.mu.Lock()
	g.armed = true
	g.mu.Unlock()
	const waiters = 20
	var wg sync.WaitGroup
	offsets := make(chan int64, waiters+1)
	appendOne := func() {
		defer wg.Done()
		info, err := l.Append(makeBatch(t, 1, 10, 0, 0), 0)
		if err != nil {
			t.Error(err)
			return
		}
		offsets <- info.FirstOffset
	}
	wg.Add(1)
	go appendOne()
	<-g.entered // the first round's fsync is running
	wg.Add(waiters)
	for range waiters {
		go appendOne()
	}
	for pendingAppends(m) < waiters {
		time.Sleep(time.Millisecond) // waiting for a condition, not asserting a duration
	}
	close(g.release)
	wg.Wait()
	close(offsets)
	seen := map[int64]bool{}
	for off := range offsets {
		seen[off] = true
	}
	if len(seen) != waiters+1 {
		t.Fatalf("%d distinct offsets acknowledged, want %d", len(seen), waiters+1)
	}
	if got := metricValue(metrics.Fsyncs) - fsyncsBefore; got != 2 {
		t.Fatalf("%v fsyncs for %d appends, want 2 (one per round)", got, waiters+1)
	}
	if got := metricValue(metrics.GroupCommitAppends); got != 2 {
		t.Fatalf("%v group-commit rounds, want 2", got)
	}
}

func pendingAppends(m *Manager) int {
	m.syncer.mu.Lock()
	defer m.syncer.mu.Unlock()
	if m.syncer.mu.pending == nil {
		return 0
	}
	return m.syncer.mu.pending.appends
}
