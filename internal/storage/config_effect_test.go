package storage

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/vfs"
)

// TestSegmentJitter: segment.jitter.ms takes a per-segment random amount, drawn below
// min(segment.jitter.ms, segment.ms), off segment.ms, as Kafka does.
func TestSegmentJitter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		jitterMs int64
		draw     int64   // what the random source returns
		bases    []int64 // segment bases after appends at t, t+1500, t+1501
		limit    int64   // the bound the random source must be asked for
	}{
		{"no jitter: segment.ms 2000 holds", 0, 0, []int64{0}, 0},
		{"jitter 900 of 1000: rolls after 1100", 1000, 900, []int64{0, 1}, 1000},
		{"jitter above segment.ms is capped at segment.ms", 1 << 40, 1999, []int64{0, 1}, 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := openManager(t, vfs.NewMem(), nil)
			var asked []int64
			m.randInt64N = func(n int64) int64 { asked = append(asked, n); return tc.draw }
			cfg := DefaultLogConfig()
			cfg.SegmentMs, cfg.SegmentJitterMs = 2000, tc.jitterMs
			l := createLog(t, m, cfg)
			mustAppend(t, l, 1, 100, 10_000)
			mustAppend(t, l, 1, 100, 11_500)
			mustAppend(t, l, 1, 100, 11_501)
			var bases []int64
			for _, s := range l.segs() {
				bases = append(bases, s.baseOffset)
			}
			if !slices.Equal(bases, tc.bases) {
				t.Errorf("segments %v, want %v", bases, tc.bases)
			}
			for _, n := range asked {
				if n != tc.limit {
					t.Errorf("jitter drawn below %d, want below %d", n, tc.limit)
				}
			}
			if tc.limit > 0 && len(asked) != len(bases) {
				t.Errorf("jitter drawn %d times for %d segments; want once per segment", len(asked), len(bases))
			}
		})
	}
}

// TestFileDeleteDelayOnDisk: on a real file system and clock, segments deleted by retention are
// renamed *.deleted at once and removed by the maintenance loop after file.delete.delay.ms;
// with a delay of 0 they go at once.
func TestFileDeleteDelayOnDisk(t *testing.T) {
	for _, delayMs := range []int64{0, 50} {
		dir := t.TempDir()
		m := openManager(t, vfs.OS, func(o *Options) { o.Dir = dir })
		cfg := DefaultLogConfig()
		cfg.SegmentBytes = int64(len(makeBatch(t, 1, 100, 0, 0)))
		cfg.RetentionMs, cfg.FileDeleteDelayMs = 1, delayMs
		l := createLog(t, m, cfg)
		for range 3 {
			mustAppend(t, l, 1, 100, 1) // long past retention.ms
		}
		m.RunRetention()
		if l.NumSegments() != 1 {
			t.Fatalf("delay %d: %d segments after retention, want the active one", delayMs, l.NumSegments())
		}
		logDir := filepath.Join(dir, testTP.String())
		deleted, _ := filepath.Glob(filepath.Join(logDir, "*"+deletedSuffix))
		if delayMs == 0 && len(deleted) != 0 {
			t.Fatalf("delay 0: %v left behind", deleted)
		}
		if delayMs > 0 && len(deleted) != 6 {
			t.Fatalf("delay %d: %v renamed, want the .log, .index and .timeindex of 2 segments", delayMs, deleted)
		}
		for deadline := time.Now().Add(10 * time.Second); len(deleted) > 0; {
			if time.Now().After(deadline) {
				t.Fatalf("delay %d ms: %v still on disk after 10 s", delayMs, deleted)
			}
			time.Sleep(10 * time.Millisecond)
			deleted, _ = filepath.Glob(filepath.Join(logDir, "*"+deletedSuffix))
		}
		if _, err := os.Stat(filepath.Join(logDir, segmentFileName(0, kindLog))); !os.IsNotExist(err) {
			t.Fatalf("deleted segment's .log still under its name: %v", err)
		}
	}
}

// TestDeletedFilesRemovedAtLoad: files still waiting out file.delete.delay.ms when the Manager
// closes are removed by the next Open.
func TestDeletedFilesRemovedAtLoad(t *testing.T) {
	fsys := vfs.NewMem()
	m := openManager(t, fsys, nil)
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = int64(len(makeBatch(t, 1, 100, 0, 0)))
	cfg.RetentionMs, cfg.FileDeleteDelayMs = 1, time.Hour.Milliseconds()
	l := createLog(t, m, cfg)
	for range 3 {
		mustAppend(t, l, 1, 100, 1)
	}
	m.RunRetention()
	if _, deleted := dirFiles(t, m, "/data/"+testTP.String()); len(deleted) == 0 {
		t.Fatal("nothing waiting out file.delete.delay.ms")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = openManager(t, fsys, nil)
	if _, deleted := dirFiles(t, m, "/data/"+testTP.String()); len(deleted) != 0 {
		t.Fatalf("%v survived a reopen", deleted)
	}
}

// TestFileDeleteDelayAfterClean: segments a clean merges away wait out file.delete.delay.ms
// as *.deleted too, as in Kafka.
func TestFileDeleteDelayAfterClean(t *testing.T) {
	clock := newTestClock(1_000_000)
	m := openCleanerManager(t, nil, clock)
	cfg := compactConfig()
	cfg.FileDeleteDelayMs = 5000
	l := createLog(t, m, cfg)
	rng := rand.New(rand.NewPCG(7, 8))
	writeUpdates(t, l, rng, 3000, 40, record.None, 1000)
	if _, cleaned, err := m.CleanDirtiest(); err != nil || !cleaned {
		t.Fatalf("first clean: %v %v", cleaned, err)
	}
	writeUpdates(t, l, rng, 1000, 40, record.None, 1000)
	if _, cleaned, err := m.CleanDirtiest(); err != nil || !cleaned { // merges the small cleaned segments
		t.Fatalf("second clean: %v %v", cleaned, err)
	}
	dir := "/data/" + testTP.String()
	if _, deleted := dirFiles(t, m, dir); len(deleted) == 0 {
		t.Fatal("no *.deleted files after cleans that merged segments")
	}
	clock.Advance(5 * time.Second)
	m.removeDueFiles()
	if _, deleted := dirFiles(t, m, dir); len(deleted) != 0 {
		t.Fatalf("%v left after file.delete.delay.ms", deleted)
	}
}
