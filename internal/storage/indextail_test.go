package storage

import (
	"bytes"
	"testing"

	"github.com/sluicehq/sluice/internal/vfs"
)

// scanOf rebuilds a segment's index entries from its .log, as recovery does.
func scanOf(t *testing.T, s *segment, limit int64) scanResult {
	t.Helper()
	var res scanResult
	err := s.withFile(kindLog, func(f vfs.File) error {
		var err error
		res, err = scanSegment(f, s.size.Load(), s.baseOffset, limit, s.log.config().IndexIntervalBytes)
		return err
	})
	if err != nil || res.stopErr != nil {
		t.Fatalf("scan segment %d: %v %v", s.baseOffset, err, res.stopErr)
	}
	return res
}

// checkLookups compares every offset's index lookup, and every timestamp's search, with the
// answers a rebuilt index gives.
func checkLookups(t *testing.T, l *Log) {
	t.Helper()
	segs := l.segs()
	for i, s := range segs {
		if err := s.ensureLoaded(limitOf(segs, i)); err != nil {
			t.Fatal(err)
		}
		res := scanOf(t, s, limitOf(segs, i))
		if got, want := s.offsetEntries.Load(), int64(len(res.index)/offsetEntrySize); got != want {
			t.Fatalf("segment %d: %d offset entries, a rebuild has %d", s.baseOffset, got, want)
		}
		for off := s.baseOffset; off < res.nextOffset; off++ {
			var want int64
			for e := 0; e < len(res.index); e += offsetEntrySize {
				if en := getOffsetEntry(res.index[e:]); int64(en.relOffset) <= off-s.baseOffset {
					want = int64(en.position)
				}
			}
			got, err := s.lookupPosition(off)
			if err != nil || got != want {
				t.Fatalf("segment %d: lookup of offset %d gave position %d (%v), want %d", s.baseOffset, off, got, err, want)
			}
		}
	}
	// Batch i (one record, offset i) carries timestamp 1000+10*i.
	for off := l.LogStartOffset(); off < l.LogEndOffset(); off++ {
		for _, ts := range []int64{1000 + 10*off - 5, 1000 + 10*off} {
			to, found, err := l.OffsetForTimestamp(ts)
			if err != nil || !found || to.Offset != off {
				t.Fatalf("OffsetForTimestamp(%d) = %+v, %v, %v; want offset %d", ts, to, found, err, off)
			}
		}
	}
}

// checkIndexFiles checks that a segment's index files hold every entry (a roll, flush or
// clean stop wrote the in-memory tail out): the offset index as a rebuild makes it, the time
// index too (the active segment's may lack the final entry a roll or stop adds).
func checkIndexFiles(t *testing.T, fsys vfs.FS, l *Log, i int, final bool) {
	t.Helper()
	segs := l.segs()
	s := segs[i]
	res := scanOf(t, s, limitOf(segs, i))
	if got := memFile(t, fsys, s.path(kindIndex)); !bytes.Equal(got, res.index) {
		t.Fatalf("segment %d: .index holds %d bytes, a rebuild %d (or they differ)", s.baseOffset, len(got), len(res.index))
	}
	times := memFile(t, fsys, s.path(kindTimeIndex))
	want := res.timeIndex
	if !final && len(want) > len(times) {
		want = want[:len(want)-timeEntrySize]
	}
	if !bytes.Equal(times, want) {
		t.Fatalf("segment %d: .timeindex holds %d bytes, want %d (or they differ)", s.baseOffset, len(times), len(want))
	}
}

func appendTimed(t *testing.T, l *Log, n int) {
	t.Helper()
	for range n {
		off := l.LogEndOffset()
		if _, err := l.Append(makeBatch(t, 1, 20, 1000+10*off, uint64(off)), 1); err != nil {
			t.Fatal(err)
		}
	}
}

func tailLen(s *segment) (int, int) {
	s.tail.mu.Lock()
	defer s.tail.mu.Unlock()
	return len(s.tail.offsets) / offsetEntrySize, len(s.tail.times) / timeEntrySize
}

// TestIndexTail: the active segment's index entries stay in memory until the tail is long
// enough, a roll, a flush or a clean stop; lookups see them meanwhile; after a process crash
// or a power loss, recovery rebuilds what was only in memory.
func TestIndexTail(t *testing.T) {
	cfg := DefaultLogConfig()
	cfg.IndexIntervalBytes = 1 // an entry for every batch after the first

	t.Run("lookups consult the tail", func(t *testing.T) {
		fsys := vfs.NewMem()
		m := openManager(t, fsys, func(o *Options) { o.DefaultConfig = &cfg })
		l := createLog(t, m, cfg)
		appendTimed(t, l, 50)
		s := l.segs()[0]
		if offs, times := tailLen(s); offs != 49 || times != 49 {
			t.Fatalf("tail holds %d offset and %d time entries, want 49 each", offs, times)
		}
		if n := len(memFile(t, fsys, s.path(kindIndex))); n != 0 {
			t.Fatalf(".index holds %d bytes before any write-out", n)
		}
		checkLookups(t, l)
		// Past the threshold the tail goes to the files in one write; lookups span both.
		appendTimed(t, l, 200)
		offs, _ := tailLen(s)
		if fileN := int64(len(memFile(t, fsys, s.path(kindIndex))) / offsetEntrySize); fileN == 0 || fileN+int64(offs) != s.offsetEntries.Load() {
			t.Fatalf(".index holds %d entries, the tail %d, the count is %d", fileN, offs, s.offsetEntries.Load())
		}
		if offs >= indexTailOffsetBytes/offsetEntrySize {
			t.Fatalf("tail of %d entries not written out", offs)
		}
		checkLookups(t, l)
	})

	t.Run("roll flush and clean stop write the tail", func(t *testing.T) {
		fsys := vfs.NewMem()
		c := cfg
		c.SegmentBytes = 40 * 90 // about 40 batches a segment
		m := openManager(t, fsys, func(o *Options) { o.DefaultConfig = &c })
		l := createLog(t, m, c)
		appendTimed(t, l, 100)
		if l.NumSegments() < 3 {
			t.Fatalf("%d segments, want a roll", l.NumSegments())
		}
		for i := range l.NumSegments() - 1 {
			checkIndexFiles(t, fsys, l, i, true)
			if offs, times := tailLen(l.segs()[i]); offs+times != 0 {
				t.Fatalf("rolled segment %d keeps %d entries in memory", i, offs+times)
			}
		}
		checkLookups(t, l)
		last := l.NumSegments() - 1
		if offs, _ := tailLen(l.segs()[last]); offs == 0 {
			t.Fatal("the active segment's tail is empty; the test needs entries in memory")
		}
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		checkIndexFiles(t, fsys, l, last, false)
		// What the flush made durable survives a power loss right after it, whole.
		crashed := fsys.CrashClone(vfs.CrashOptions{})
		for i := range l.NumSegments() {
			s := l.segs()[i]
			if !bytes.Equal(memFile(t, crashed, s.path(kindIndex)), memFile(t, fsys, s.path(kindIndex))) {
				t.Fatalf("segment %d: the flushed .index is not durable", s.baseOffset)
			}
		}
		appendTimed(t, l, 10)
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		rebuilt := metricValue(m.metrics.IndexesRebuilt)
		// A clean start trusts the files: they must be complete.
		m2 := openManager(t, fsys, func(o *Options) { o.DefaultConfig = &c })
		l2, _ := m2.Log(testTP)
		for i := range l2.NumSegments() {
			checkIndexFiles(t, fsys, l2, i, true)
		}
		checkLookups(t, l2)
		if got := metricValue(m2.metrics.IndexesRebuilt); got != 0 || rebuilt != 0 {
			t.Fatalf("indexes rebuilt after a clean stop: %v, %v", rebuilt, got)
		}
		appendTimed(t, l2, 5)
		checkLookups(t, l2)
	})

	for _, tc := range []struct {
		name        string
		groupCommit bool
		powerLoss   bool
	}{
		{"process crash rebuilds the tail", false, false},
		{"power loss in group-commit mode rebuilds the tail", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := vfs.NewMem()
			c := cfg
			c.SegmentBytes = 40 * 90
			m := openManager(t, fsys, func(o *Options) { o.DefaultConfig = &c; o.GroupCommit = tc.groupCommit })
			l := createLog(t, m, c)
			appendTimed(t, l, 60)
			if err := l.Flush(); err != nil { // the recovery point inside the log
				t.Fatal(err)
			}
			appendTimed(t, l, 70)
			segs := l.segs()
			active := segs[len(segs)-1]
			if offs, _ := tailLen(active); offs == 0 {
				t.Fatal("the active segment's tail is empty; the test needs entries in memory")
			}
			var image *vfs.MemFS
			if tc.powerLoss {
				// Group commit: every acknowledged append's .log bytes are durable, the
				// in-memory index entries are not anywhere.
				image = fsys.CrashClone(vfs.CrashOptions{})
			} else {
				// SIGKILL: the page cache survives, so every write(2) so far is kept.
				sy, err := fsys.OpenSyncer("/")
				if err != nil {
					t.Fatal(err)
				}
				if err := sy.SyncAll(); err != nil {
					t.Fatal(err)
				}
				image = fsys.CrashClone(vfs.CrashOptions{})
			}
			if got := int64(len(memFile(t, image, active.path(kindIndex))) / offsetEntrySize); got >= active.offsetEntries.Load() {
				t.Fatalf("the crash image's .index already holds %d of %d entries", got, active.offsetEntries.Load())
			}
			leo := l.LogEndOffset()
			m2 := openManager(t, image, func(o *Options) { o.DefaultConfig = &c; o.GroupCommit = tc.groupCommit })
			l2, _ := m2.Log(testTP)
			if l2.LogEndOffset() != leo {
				t.Fatalf("recovered log ends at %d, want %d", l2.LogEndOffset(), leo)
			}
			for i := range l2.NumSegments() {
				checkIndexFiles(t, image, l2, i, true)
			}
			checkLookups(t, l2)
			appendTimed(t, l2, 5)
			checkLookups(t, l2)
		})
	}
}
