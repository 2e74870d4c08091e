package storage

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/vfs"
)

func TestRoll(t *testing.T) {
	batch := int64(len(makeBatch(t, 1, 100, 0, 0)))
	cases := []struct {
		name    string
		cfg     func(*LogConfig)
		appends func(t *testing.T, l *Log, clock *testClock)
		bases   []int64 // segment base offsets afterwards
	}{
		{"segment.bytes: exact fit stays", func(c *LogConfig) { c.SegmentBytes = 3 * batch }, func(t *testing.T, l *Log, _ *testClock) {
			for range 3 {
				mustAppend(t, l, 1, 100, 0)
			}
		}, []int64{0}},
		{"segment.bytes: one byte over rolls", func(c *LogConfig) { c.SegmentBytes = 3*batch - 1 }, func(t *testing.T, l *Log, _ *testClock) {
			for range 3 {
				mustAppend(t, l, 1, 100, 0)
			}
		}, []int64{0, 2}},
		{"segment.ms by record timestamps", func(c *LogConfig) { c.SegmentMs = 1000 }, func(t *testing.T, l *Log, _ *testClock) {
			mustAppend(t, l, 1, 100, 10_000)
			mustAppend(t, l, 1, 100, 11_000) // exactly segment.ms later: stays
			mustAppend(t, l, 1, 100, 11_001) // later than that: rolls
			mustAppend(t, l, 1, 100, 11_002)
		}, []int64{0, 2}},
		{"segment.ms by wall clock without timestamps", func(c *LogConfig) { c.SegmentMs = 1000 }, func(t *testing.T, l *Log, clock *testClock) {
			mustAppend(t, l, 1, 100, -1)
			clock.Advance(2 * time.Second)
			mustAppend(t, l, 1, 100, -1)
		}, []int64{0, 1}},
		{"full offset index", func(c *LogConfig) { c.SegmentIndexBytes = 3 * timeEntrySize; c.IndexIntervalBytes = 0 }, func(t *testing.T, l *Log, _ *testClock) {
			// With interval 0 every batch after the first gets index entries; 36 bytes hold
			// 3 time-index entries, so the fourth batch fills it and the fifth rolls.
			for i := range 6 {
				mustAppend(t, l, 1, 100, int64(i))
			}
		}, []int64{0, 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newTestClock(1_000_000)
			m := openManager(t, vfs.NewMem(), func(o *Options) { o.Now = clock.Now })
			cfg := DefaultLogConfig()
			tc.cfg(&cfg)
			l := createLog(t, m, cfg)
			tc.appends(t, l, clock)
			var bases []int64
			for _, s := range l.segs() {
				bases = append(bases, s.baseOffset)
			}
			if !equalInt64s(bases, tc.bases) {
				t.Fatalf("segments %v, want %v", bases, tc.bases)
			}
			checkContiguous(t, readAll(t, l, 0), 0, l.LogEndOffset())
			if metricValue(m.metrics.SegmentsRolled) != float64(len(tc.bases)-1) {
				t.Fatalf("rolled metric %v", metricValue(m.metrics.SegmentsRolled))
			}
		})
	}
}

func TestRollOnRelativeOffsetOverflow(t *testing.T) {
	m := openManager(t, vfs.NewMem(), nil)
	l := createLog(t, m, DefaultLogConfig())
	b := makeBatch(t, 1, 10, 0, 0)
	setHeader(b, 5, 0)
	if _, err := l.AppendAsFollower(b); err != nil {
		t.Fatal(err)
	}
	far := int64(5 + math.MaxUint32 + 10)
	b = makeBatch(t, 1, 10, 0, 0)
	setHeader(b, far, 0)
	if _, err := l.AppendAsFollower(b); err != nil {
		t.Fatal(err)
	}
	segs := l.segs()
	if len(segs) != 2 || segs[1].baseOffset != far {
		t.Fatalf("segments %v", segs)
	}
	got := readAll(t, l, 5)
	if len(got) != 2 || got[1].base != far {
		t.Fatalf("batches %v", got)
	}
}

// TestRollSurvivesRestart: a rolled log reloads (cleanly and uncleanly) with the same layout.
func TestRollSurvivesRestart(t *testing.T) {
	for _, clean := range []bool{true, false} {
		name := map[bool]string{true: "clean", false: "unclean"}[clean]
		t.Run(name, func(t *testing.T) {
			fsys := vfs.NewMem()
			cfg := DefaultLogConfig()
			cfg.SegmentBytes = 2000
			m := openManager(t, fsys, func(o *Options) { o.DefaultConfig = &cfg })
			l := createLog(t, m, cfg)
			for i := range 40 {
				mustAppend(t, l, 3, 100, int64(i))
			}
			segments := l.NumSegments()
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if !clean {
				mustRemove(t, fsys, "/data/"+cleanShutdownName)
			}
			m2 := openManager(t, fsys, func(o *Options) { o.DefaultConfig = &cfg })
			l2, _ := m2.Log(testTP)
			if l2.NumSegments() != segments || l2.LogEndOffset() != 120 {
				t.Fatalf("reloaded %d segments, end %d", l2.NumSegments(), l2.LogEndOffset())
			}
			if info := mustAppend(t, l2, 1, 10, 99); info.FirstOffset != 120 {
				t.Fatalf("append after reload at %d", info.FirstOffset)
			}
			checkContiguous(t, readAll(t, l2, 0), 0, 121)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*LogConfig)
	}{
		{"segment.bytes too small", func(c *LogConfig) { c.SegmentBytes = 13 }},
		{"segment.bytes above int32", func(c *LogConfig) { c.SegmentBytes = math.MaxInt32 + 1 }},
		{"segment.ms zero", func(c *LogConfig) { c.SegmentMs = 0 }},
		{"index too small", func(c *LogConfig) { c.SegmentIndexBytes = 8 }},
		{"negative interval", func(c *LogConfig) { c.IndexIntervalBytes = -1 }},
		{"retention.ms below -1", func(c *LogConfig) { c.RetentionMs = -2 }},
		{"retention.bytes below -1", func(c *LogConfig) { c.RetentionBytes = -2 }},
		{"flush.messages zero", func(c *LogConfig) { c.FlushMessages = 0 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultLogConfig()
			tc.mod(&c)
			if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate = %v", err)
			}
		})
	}
	if err := DefaultLogConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

func equalInt64s(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
