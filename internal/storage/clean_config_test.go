package storage

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/vfs"
)

// ioRecordingFS records the sizes of reads of segment .log files and of writes to cleaned
// .log files.
type ioRecordingFS struct {
	vfs.FS
	mu            sync.Mutex
	logReads      []int
	cleanedWrites []int
}

type ioRecordingFile struct {
	vfs.File
	fs *ioRecordingFS
}

func (f *ioRecordingFS) wrap(file vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &ioRecordingFile{File: file, fs: f}, nil
}
func (f *ioRecordingFS) Create(name string) (vfs.File, error) { return f.wrap(f.FS.Create(name)) }
func (f *ioRecordingFS) Open(name string) (vfs.File, error)   { return f.wrap(f.FS.Open(name)) }
func (f *ioRecordingFS) OpenReadWrite(name string) (vfs.File, error) {
	return f.wrap(f.FS.OpenReadWrite(name))
}

func (f *ioRecordingFS) reset() (reads, writes []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reads, writes = f.logReads, f.cleanedWrites
	f.logReads, f.cleanedWrites = nil, nil
	return reads, writes
}

func (f *ioRecordingFile) ReadAt(p []byte, off int64) (int, error) {
	if strings.HasSuffix(f.Name(), ".log") {
		f.fs.mu.Lock()
		f.fs.logReads = append(f.fs.logReads, len(p))
		f.fs.mu.Unlock()
	}
	return f.File.ReadAt(p, off)
}

func (f *ioRecordingFile) Write(p []byte) (int, error) {
	if strings.HasSuffix(f.Name(), ".log"+cleanedSuffix) {
		f.fs.mu.Lock()
		f.fs.cleanedWrites = append(f.fs.cleanedWrites, len(p))
		f.fs.mu.Unlock()
	}
	return f.File.Write(p)
}

// TestCleanerIOBufferSize: log.cleaner.io.buffer.size sets the cleaner's read size and how
// much it gathers before a write (half each of one thread's share), and a change through
// SetCleanerConfig applies to the next clean.
func TestCleanerIOBufferSize(t *testing.T) {
	fsys := &ioRecordingFS{FS: vfs.NewMem()}
	m := openManager(t, fsys, func(o *Options) { o.CleanerThreads = -1; o.CleanerIOBufferSize = 64 << 10 })
	cfg := compactConfig()
	cfg.SegmentBytes = 1 << 20
	l := createLog(t, m, cfg)
	rng := rand.New(rand.NewPCG(3, 4))
	maxBatch := 0
	clean := func() (reads, writes []int) {
		t.Helper()
		written := writeKeyed(t, l, rng, "k", 40000, 20000, record.None, 1000)
		for _, r := range written {
			maxBatch = max(maxBatch, 10*(len(r.key)+len(r.value)+32)+record.HeaderSize)
		}
		fsys.reset()
		if _, cleaned, err := m.CleanDirtiest(); err != nil || !cleaned {
			t.Fatalf("CleanDirtiest: %v %v", cleaned, err)
		}
		return fsys.reset()
	}
	const share = 64 << 10 / 2 // one thread: half of the buffer to read, half to write
	reads, writes := clean()
	if len(reads) < 10 || len(writes) < 2 {
		t.Fatalf("%d reads and %d writes for megabytes of log", len(reads), len(writes))
	}
	if r := slicesMax(reads); r > share {
		t.Errorf("cleaner read %d bytes at once with log.cleaner.io.buffer.size 64 KiB (read share %d)", r, share)
	}
	if w := slicesMax(writes); w > share+maxBatch {
		t.Errorf("cleaner wrote %d bytes at once with a write share of %d", w, share)
	}

	m.SetCleanerConfig(CleanerConfig{IOBufferSize: 8 << 20})
	reads, _ = clean()
	if r := slicesMax(reads); r <= share {
		t.Errorf("after raising log.cleaner.io.buffer.size to 8 MiB the largest read is %d bytes", r)
	}
}

func slicesMax(s []int) int {
	out := 0
	for _, v := range s {
		out = max(out, v)
	}
	return out
}

// TestCleanerThreadsAndBackoffChangeAtRunTime: log.cleaner.threads and log.cleaner.backoff.ms
// change while the Manager runs: with 0 threads nothing is cleaned, raised to 1 the log is
// cleaned, and a short backoff makes the running goroutine come back for new dirt.
func TestCleanerThreadsAndBackoffChangeAtRunTime(t *testing.T) {
	m := openManager(t, vfs.NewMem(), func(o *Options) { o.CleanerThreads = 1; o.CleanerBackoff = time.Hour })
	m.SetCleanerConfig(CleanerConfig{Threads: 0, Backoff: time.Hour})
	l := createLog(t, m, compactConfig())
	rng := rand.New(rand.NewPCG(5, 6))
	writeUpdates(t, l, rng, 2000, 40, record.None, 1000)
	time.Sleep(100 * time.Millisecond) // room for a wrongly running goroutine to clean
	if _, ok := m.CleanerCheckpoint(testTP); ok {
		t.Fatal("a clean ran with log.cleaner.threads=0")
	}
	waitCheckpoint := func(what string, beyond int64) int64 {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if off, ok := m.CleanerCheckpoint(testTP); ok && off > beyond {
				return off
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no clean within 10 s", what)
			}
		}
	}
	m.SetCleanerConfig(CleanerConfig{Threads: 1, Backoff: 10 * time.Millisecond})
	first := waitCheckpoint("log.cleaner.threads raised to 1", -1)
	// New dirt: with the old one-hour backoff this would wait an hour.
	writeUpdates(t, l, rng, 2000, 40, record.None, 1000)
	waitCheckpoint("log.cleaner.backoff.ms lowered to 10 ms", first)
	if got := m.CleanerConfig(); got.Threads != 1 || got.Backoff != 10*time.Millisecond {
		t.Fatalf("CleanerConfig() = %+v", got)
	}
}
