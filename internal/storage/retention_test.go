package storage

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/vfs"
)

// retentionLog has 5 segments of 2 batches each (offsets 0..9, one record per batch); batch i
// has timestamp 1000*i.
func retentionLog(t *testing.T, cfg LogConfig, clock *testClock) (*Log, *Manager, int64) {
	t.Helper()
	batch := int64(len(makeBatch(t, 1, 100, 0, 0)))
	cfg.SegmentBytes = 2 * batch
	m := openManager(t, vfs.NewMem(), func(o *Options) { o.Now = clock.Now })
	l := createLog(t, m, cfg)
	for i := range 10 {
		mustAppend(t, l, 1, 100, int64(1000*i))
	}
	if l.NumSegments() != 5 {
		t.Fatalf("%d segments", l.NumSegments())
	}
	return l, m, batch
}

func TestRetention(t *testing.T) {
	cases := []struct {
		name        string
		cfg         func(c *LogConfig, batch int64)
		now         int64
		before      func(t *testing.T, l *Log)
		wantStart   int64 // log start offset after the pass
		wantDeleted int
		reason      string
	}{
		{"nothing expired", func(c *LogConfig, _ int64) { c.RetentionMs = 100_000 }, 10_000, nil, 0, 0, ""},
		{"retention.ms deletes segments whose newest record is old", func(c *LogConfig, _ int64) { c.RetentionMs = 5_000 },
			10_000, nil, 4, 2, reasonRetentionMs},
		{"retention.ms never deletes the active segment", func(c *LogConfig, _ int64) { c.RetentionMs = 0 },
			1_000_000, nil, 8, 4, reasonRetentionMs},
		{"retention.bytes deletes while the rest stays above it", func(c *LogConfig, b int64) { c.RetentionMs = -1; c.RetentionBytes = 5 * b },
			0, nil, 4, 2, reasonRetentionBytes},
		{"retention.bytes exact fit deletes nothing", func(c *LogConfig, b int64) { c.RetentionMs = -1; c.RetentionBytes = 10 * b },
			0, nil, 0, 0, ""},
		{"retention.bytes zero keeps the active segment", func(c *LogConfig, b int64) { c.RetentionMs = -1; c.RetentionBytes = 0 },
			0, nil, 8, 4, reasonRetentionBytes},
		{"log start offset deletes wholly-below segments only", func(c *LogConfig, _ int64) { c.RetentionMs = -1 },
			0, func(t *testing.T, l *Log) {
				if err := l.DeleteRecordsBefore(5); err != nil {
					t.Fatal(err)
				}
			}, 5, 2, reasonLogStartOffset},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newTestClock(tc.now)
			cfg := DefaultLogConfig()
			batch := int64(len(makeBatch(t, 1, 100, 0, 0)))
			tc.cfg(&cfg, batch)
			l, m, _ := retentionLog(t, cfg, clock)
			if tc.before != nil {
				tc.before(t, l)
			}
			m.RunRetention()
			if got := 5 - l.NumSegments(); got != tc.wantDeleted {
				t.Fatalf("deleted %d segments, want %d", got, tc.wantDeleted)
			}
			if l.LogStartOffset() != tc.wantStart {
				t.Fatalf("log start offset %d, want %d", l.LogStartOffset(), tc.wantStart)
			}
			if tc.reason != "" && metricValue(m.metrics.SegmentsDeleted.WithLabelValues(tc.reason)) != float64(tc.wantDeleted) {
				t.Fatalf("metric for %s not counted", tc.reason)
			}
			if _, err := l.Read(tc.wantStart-1, 1000, 100, true); tc.wantStart > 0 && !errors.Is(err, ErrOffsetOutOfRange) {
				t.Fatalf("read below the log start: %v", err)
			}
			got := readAll(t, l, tc.wantStart)
			checkContiguous(t, got, got[0].base, 10)
			// file.delete.delay.ms: the deleted segments' files wait renamed *.deleted, then go.
			live, deleted := dirFiles(t, m, "/data/orders-0")
			if want := 3*l.NumSegments() + 2; len(live) != want || len(deleted) != 3*tc.wantDeleted {
				t.Fatalf("partition dir holds %v and %v, want %d live files and %d *.deleted", live, deleted, want, 3*tc.wantDeleted)
			}
			clock.Advance(time.Duration(cfg.FileDeleteDelayMs-1) * time.Millisecond)
			m.removeDueFiles()
			if _, deleted = dirFiles(t, m, "/data/orders-0"); len(deleted) != 3*tc.wantDeleted {
				t.Fatalf("%v removed before file.delete.delay.ms", deleted)
			}
			clock.Advance(time.Millisecond)
			m.removeDueFiles()
			if live2, deleted := dirFiles(t, m, "/data/orders-0"); len(deleted) != 0 || len(live2) != len(live) {
				t.Fatalf("after file.delete.delay.ms the dir holds %v and %v", live2, deleted)
			}
		})
	}
}

// dirFiles lists a directory's files, those waiting out file.delete.delay.ms apart.
func dirFiles(t *testing.T, m *Manager, dir string) (live, deleted []string) {
	t.Helper()
	names, err := m.fs.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasSuffix(n, deletedSuffix) {
			deleted = append(deleted, n)
		} else {
			live = append(live, n)
		}
	}
	return live, deleted
}

func TestRetentionWithoutTimestampsUsesModTime(t *testing.T) {
	fsys := vfs.NewMem()
	clock := newTestClock(1_000_000)
	fsys.SetClock(clock.Now)
	batch := int64(len(makeBatch(t, 1, 100, -1, 0)))
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 2 * batch
	cfg.RetentionMs = 60_000
	m := openManager(t, fsys, func(o *Options) { o.Now = clock.Now })
	l := createLog(t, m, cfg)
	for range 4 {
		mustAppend(t, l, 1, 100, -1) // no timestamps
	}
	clock.Advance(30 * time.Second)
	m.RunRetention()
	if l.NumSegments() != 2 {
		t.Fatalf("deleted too early: %d segments", l.NumSegments())
	}
	clock.Advance(31 * time.Second)
	m.RunRetention()
	if l.NumSegments() != 1 || l.LogStartOffset() != 2 {
		t.Fatalf("after retention.ms by mtime: %d segments, start %d", l.NumSegments(), l.LogStartOffset())
	}
}

func TestDeleteRecordsBefore(t *testing.T) {
	clock := newTestClock(0)
	l, m, _ := retentionLog(t, DefaultLogConfig(), clock)
	if err := l.DeleteRecordsBefore(11); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("beyond log end: %v", err)
	}
	if err := l.DeleteRecordsBefore(3); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteRecordsBefore(2); err != nil || l.LogStartOffset() != 3 {
		t.Fatalf("moving back: %v, start %d", err, l.LogStartOffset())
	}
	lsos, err := parseOffsetCheckpoint(memFile(t, m.fs, "/data/"+logStartOffsetCheckpointName))
	if err != nil || lsos[testTP] != 3 {
		t.Fatalf("checkpoint %v %v", lsos, err)
	}
}

func TestDeleteLog(t *testing.T) {
	fsys := vfs.NewMem()
	m := openManager(t, fsys, nil)
	l := createLog(t, m, DefaultLogConfig())
	mustAppend(t, l, 1, 10, 0)
	res, err := l.Read(0, 1000, 10, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteLog(testTP); err != nil {
		t.Fatal(err)
	}
	// A fetch in flight keeps its region readable.
	if got := parseBatches(t, regionBytes(t, res)); len(got) != 1 {
		t.Fatalf("in-flight region after delete: %v", got)
	}
	res.Release()
	if _, ok := m.Log(testTP); ok {
		t.Fatal("deleted log still listed")
	}
	if _, err := l.Append(makeBatch(t, 1, 1, 0, 0), 0); !errors.Is(err, ErrLogDeleted) && !errors.Is(err, ErrLogOffline) {
		t.Fatalf("append to a deleted log: %v", err)
	}
	names, _ := fsys.ReadDir("/data")
	for _, n := range names {
		if n != recoveryPointCheckpointName && n != logStartOffsetCheckpointName {
			t.Fatalf("data dir still holds %s", n)
		}
	}
	// Recreating the partition starts from scratch.
	l2, err := m.CreateLog(testTP, [16]byte{4}, DefaultLogConfig())
	if err != nil || l2.LogEndOffset() != 0 {
		t.Fatalf("recreate: %v end %d", err, l2.LogEndOffset())
	}
	if m.OpenFiles() > 3 {
		t.Fatalf("%d files open after delete and recreate", m.OpenFiles())
	}
}
