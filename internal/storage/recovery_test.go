package storage

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/internal/vfs"
)

// recoveryFixture is a closed data directory with one partition of 11 batches of 2 records
// (offsets 0..21) in 3 segments of 4, 4 and 3 batches (base offsets 0, 8, 16).
type recoveryFixture struct {
	fs        *vfs.MemFS
	batchSize int64
	cfg       LogConfig
}

func newRecoveryFixture(t *testing.T) recoveryFixture {
	t.Helper()
	fsys := vfs.NewMem()
	batch := makeBatch(t, 2, 100, 0, 0)
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = int64(4 * len(batch))
	cfg.IndexIntervalBytes = 1
	m := openManager(t, fsys, func(o *Options) { o.DefaultConfig = &cfg })
	l := createLog(t, m, cfg)
	for i := range 11 {
		if _, err := l.Append(makeBatch(t, 2, 100, int64(1000+i), uint64(i)), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	return recoveryFixture{fs: fsys, batchSize: int64(len(batch)), cfg: cfg}
}

// unclean removes the clean-shutdown marker and rewrites the recovery point.
func (f recoveryFixture) unclean(t *testing.T, recoveryPoint int64) {
	t.Helper()
	if err := f.fs.Remove("/data/" + cleanShutdownName); err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.fs, "/data/"+recoveryPointCheckpointName,
		formatOffsetCheckpoint(map[TopicPartition]int64{testTP: recoveryPoint}))
}

func (f recoveryFixture) open(t *testing.T, fsys vfs.FS) (*Manager, *Log, *Metrics) {
	t.Helper()
	metrics := NewMetrics(nil)
	m := openManager(t, fsys, func(o *Options) { o.DefaultConfig = &f.cfg; o.Metrics = metrics })
	l, ok := m.Log(testTP)
	if !ok {
		t.Fatal("partition not loaded")
	}
	return m, l, metrics
}

// rewrite applies fn to a file's bytes.
func rewrite(t *testing.T, fsys *vfs.MemFS, name string, fn func([]byte) []byte) {
	t.Helper()
	writeFile(t, fsys, name, fn(bytes.Clone(memFile(t, fsys, name))))
}

func TestRecovery(t *testing.T) {
	seg8 := segPath(testTP, 8, kindLog)
	seg16 := segPath(testTP, 16, kindLog)
	cases := []struct {
		name          string
		recoveryPoint int64
		damage        func(t *testing.T, f recoveryFixture)
		wantEnd       int64                   // log end offset after recovery
		wantDropped   func(batch int64) int64 // bytes dropped, given the batch size
		wantSegments  int
	}{
		{"intact", 0, func(*testing.T, recoveryFixture) {}, 22, func(int64) int64 { return 0 }, 3},
		{"torn tail", 16, func(t *testing.T, f recoveryFixture) {
			rewrite(t, f.fs, seg16, func(b []byte) []byte { return b[:len(b)-10] })
		}, 20, func(b int64) int64 { return b - 10 }, 3},
		{"bad crc in last batch", 16, func(t *testing.T, f recoveryFixture) {
			rewrite(t, f.fs, seg16, func(b []byte) []byte { b[len(b)-3] ^= 0xff; return b })
		}, 20, func(b int64) int64 { return b }, 3},
		{"zeroed tail", 22, func(t *testing.T, f recoveryFixture) {
			rewrite(t, f.fs, seg16, func(b []byte) []byte { return append(b, make([]byte, 4096)...) })
		}, 22, func(int64) int64 { return 4096 }, 3},
		{"corrupt first batch of the active segment", 16, func(t *testing.T, f recoveryFixture) {
			rewrite(t, f.fs, seg16, func(b []byte) []byte { b[30] ^= 1; return b })
		}, 16, func(b int64) int64 { return 3 * b }, 3},
		{"torn earlier segment past the recovery point", 0, func(t *testing.T, f recoveryFixture) {
			rewrite(t, f.fs, seg8, func(b []byte) []byte { return b[:len(b)-1] })
		}, 14, func(b int64) int64 { return 4*b - 1 }, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newRecoveryFixture(t)
			f.unclean(t, tc.recoveryPoint)
			tc.damage(t, f)
			_, l, metrics := f.open(t, f.fs)
			if l.LogEndOffset() != tc.wantEnd {
				t.Fatalf("log end offset %d, want %d", l.LogEndOffset(), tc.wantEnd)
			}
			checkContiguous(t, readAll(t, l, 0), 0, tc.wantEnd)
			if got, want := int64(metricValue(metrics.RecoveryDroppedBytes)), tc.wantDropped(f.batchSize); got != want {
				t.Fatalf("dropped %d bytes, want %d", got, want)
			}
			if l.NumSegments() != tc.wantSegments {
				t.Fatalf("%d segments, want %d", l.NumSegments(), tc.wantSegments)
			}
			// The recovered log takes appends at its end.
			if info := mustAppend(t, l, 1, 10, 5000); info.FirstOffset != tc.wantEnd {
				t.Fatalf("next append at %d, want %d", info.FirstOffset, tc.wantEnd)
			}
		})
	}
}

func TestRecoveryIsIdempotent(t *testing.T) {
	f := newRecoveryFixture(t)
	f.unclean(t, 0)
	rewrite(t, f.fs, segPath(testTP, 16, kindLog), func(b []byte) []byte { return b[:len(b)-7] })
	m, l, _ := f.open(t, f.fs)
	mustAppend(t, l, 3, 10, 6000)
	end := l.LogEndOffset()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	f.unclean(t, 0)
	_, l, metrics := f.open(t, f.fs)
	if l.LogEndOffset() != end || metricValue(metrics.RecoveryDroppedBytes) != 0 {
		t.Fatalf("second recovery: end %d (want %d), dropped %v", l.LogEndOffset(), end, metricValue(metrics.RecoveryDroppedBytes))
	}
	checkContiguous(t, readAll(t, l, 0), 0, end)
}

func TestRecoveryOffline(t *testing.T) {
	cases := []struct {
		name          string
		recoveryPoint int64
		damage        func(t *testing.T, f recoveryFixture)
		wantFile      string
	}{
		{"corrupt batch below the recovery point", 22, func(t *testing.T, f recoveryFixture) {
			rewrite(t, f.fs, segPath(testTP, 16, kindLog), func(b []byte) []byte { b[40] ^= 1; return b })
		}, segPath(testTP, 16, kindLog)},
		{"log shorter than its recovery point", 22, func(t *testing.T, f recoveryFixture) {
			rewrite(t, f.fs, segPath(testTP, 16, kindLog), func(b []byte) []byte { return b[:f.batchSize] })
		}, segPath(testTP, 16, kindLog)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newRecoveryFixture(t)
			f.unclean(t, tc.recoveryPoint)
			tc.damage(t, f)
			_, l, metrics := f.open(t, f.fs)
			mustBeOffline(t, l, ErrCorruptLog)
			_, err := l.Append(makeBatch(t, 1, 1, 0, 0), 0)
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.File != tc.wantFile {
				t.Fatalf("append error %v does not name %s", err, tc.wantFile)
			}
			if metricValue(metrics.OfflineLogs) != 1 {
				t.Fatal("offline log not counted")
			}
		})
	}
}

// TestRecoveryOtherPartitionsUnaffected: one partition's unreadable log takes only it offline.
func TestRecoveryOtherPartitionsUnaffected(t *testing.T) {
	fsys := vfs.NewMem()
	m := openManager(t, fsys, nil)
	other := TopicPartition{Topic: "payments", Partition: 2}
	for _, tp := range []TopicPartition{testTP, other} {
		l, err := m.CreateLog(tp, [16]byte{9}, DefaultLogConfig())
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, l, 2, 10, 1)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Remove("/data/" + cleanShutdownName); err != nil {
		t.Fatal(err)
	}
	in := vfs.NewInjector(fsys, vfs.Rule{Op: vfs.OpRead, Path: "/data/orders-0/*.log"})
	m2 := openManager(t, in, nil)
	l, _ := m2.Log(testTP)
	mustBeOffline(t, l, vfs.ErrInjected)
	ok, _ := m2.Log(other)
	if got := readAll(t, ok, 0); len(got) != 1 {
		t.Fatalf("healthy partition: %v", got)
	}
}

// TestCleanRestartReadsNoSegment: after a clean stop Open trusts the checkpoints, so a
// failing .log read cannot affect it.
func TestCleanRestartReadsNoSegment(t *testing.T) {
	f := newRecoveryFixture(t)
	in := vfs.NewInjector(f.fs, vfs.Rule{Op: vfs.OpRead, Path: "*.log"}, vfs.Rule{Op: vfs.OpRead, Path: "*index"})
	_, l, metrics := f.open(t, in)
	if l.LogEndOffset() != 22 || l.checkUsable() != nil {
		t.Fatalf("clean restart: end %d, usable %v", l.LogEndOffset(), l.checkUsable())
	}
	if metricValue(metrics.IndexesRebuilt) != 0 {
		t.Fatal("clean restart rebuilt indexes")
	}
	in.SetRules()
	checkContiguous(t, readAll(t, l, 0), 0, 22)
}

func TestIndexRebuild(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, fsys *vfs.MemFS, path string)
		kind   fileKind
	}{
		{"missing index", func(t *testing.T, fsys *vfs.MemFS, p string) { mustRemove(t, fsys, p) }, kindIndex},
		{"missing time index", func(t *testing.T, fsys *vfs.MemFS, p string) { mustRemove(t, fsys, p) }, kindTimeIndex},
		{"truncated index", func(t *testing.T, fsys *vfs.MemFS, p string) {
			rewrite(t, fsys, p, func(b []byte) []byte { return b[:len(b)-3] })
		}, kindIndex},
		{"truncated time index", func(t *testing.T, fsys *vfs.MemFS, p string) {
			rewrite(t, fsys, p, func(b []byte) []byte { return b[:len(b)-5] })
		}, kindTimeIndex},
		{"index entries out of order", func(t *testing.T, fsys *vfs.MemFS, p string) {
			rewrite(t, fsys, p, func(b []byte) []byte { copy(b[8:16], b[0:8]); return b })
		}, kindIndex},
		{"index position past the log", func(t *testing.T, fsys *vfs.MemFS, p string) {
			rewrite(t, fsys, p, func(b []byte) []byte { b[len(b)-4] = 0x7f; return b })
		}, kindIndex},
		{"garbage time index", func(t *testing.T, fsys *vfs.MemFS, p string) {
			rewrite(t, fsys, p, func(b []byte) []byte { return bytes.Repeat([]byte{0xee}, len(b)) })
		}, kindTimeIndex},
	}
	for _, tc := range cases {
		for _, base := range []int64{0, 16} { // a non-active and the active segment
			t.Run(tc.name+segmentFileName(base, tc.kind), func(t *testing.T) {
				f := newRecoveryFixture(t)
				path := segPath(testTP, base, tc.kind)
				original := bytes.Clone(memFile(t, f.fs, path))
				tc.damage(t, f.fs, path)
				_, l, metrics := f.open(t, f.fs)
				checkContiguous(t, readAll(t, l, 0), 0, 22)
				if _, found, err := l.OffsetForTimestamp(1005); err != nil || !found {
					t.Fatalf("timestamp lookup after rebuild: %v %v", found, err)
				}
				if metricValue(metrics.IndexesRebuilt) != 1 {
					t.Fatalf("rebuilt %v index sets, want 1", metricValue(metrics.IndexesRebuilt))
				}
				if got := memFile(t, f.fs, path); !bytes.Equal(got, original) {
					t.Fatalf("rebuilt %s differs from the original:\n%x\n%x", path, got, original)
				}
			})
		}
	}
}

func mustRemove(t *testing.T, fsys vfs.FS, p string) {
	t.Helper()
	if err := fsys.Remove(p); err != nil {
		t.Fatal(err)
	}
}

func TestLoadRemovesLeftovers(t *testing.T) {
	f := newRecoveryFixture(t)
	leftovers := []string{
		"/data/" + recoveryPointCheckpointName + ".tmp",
		"/data/orders-0/" + segmentFileName(99, kindIndex), // orphan index
		"/data/orders-0/" + segmentFileName(0, kindIndex) + ".tmp",
	}
	for _, p := range leftovers {
		writeFile(t, f.fs, p, []byte("x"))
	}
	if err := f.fs.MkdirAll("/data/orders-1.abc-delete"); err != nil {
		t.Fatal(err)
	}
	// The metadata quorum's directory is left alone, whatever its name's suffix.
	if err := f.fs.MkdirAll("/data/__cluster_metadata-0"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.fs, "/data/__cluster_metadata-0/raft.db", []byte("raft"))
	// So is the quorum's meta.properties temporary: the quorum may be writing it meanwhile.
	writeFile(t, f.fs, "/data/meta.properties.tmp", []byte("cluster.id=x\n"))
	m, _, _ := f.open(t, f.fs)
	if _, err := f.fs.Stat("/data/meta.properties.tmp"); err != nil {
		t.Fatalf("the quorum's meta.properties.tmp removed: %v", err)
	}
	if len(m.Logs()) != 1 {
		t.Fatalf("loaded %d logs, want only orders-0", len(m.Logs()))
	}
	if names, _ := f.fs.ReadDir("/data/__cluster_metadata-0"); len(names) != 1 {
		t.Fatalf("metadata dir touched: %v", names)
	}
	for _, p := range append(leftovers, "/data/orders-1.abc-delete") {
		if _, err := f.fs.Stat(p); !isNotExist(err) {
			t.Fatalf("%s survived Open: %v", p, err)
		}
	}
}

func TestCleanShutdownLayout(t *testing.T) {
	f := newRecoveryFixture(t)
	names, err := f.fs.ReadDir("/data/orders-0")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"00000000000000000000.index", "00000000000000000000.log", "00000000000000000000.timeindex",
		"00000000000000000008.index", "00000000000000000008.log", "00000000000000000008.timeindex",
		"00000000000000000016.index", "00000000000000000016.log", "00000000000000000016.timeindex",
		"leader-epoch-checkpoint", "partition.metadata",
	}
	if !equalStrings(names, want) {
		t.Fatalf("partition dir holds %v, want %v", names, want)
	}
	top, _ := f.fs.ReadDir("/data")
	if !equalStrings(top, []string{cleanShutdownName, logStartOffsetCheckpointName, "orders-0", recoveryPointCheckpointName}) {
		t.Fatalf("data dir holds %v", top)
	}
	rp, err := parseOffsetCheckpoint(memFile(t, f.fs, "/data/"+recoveryPointCheckpointName))
	if err != nil || rp[testTP] != 22 {
		t.Fatalf("recovery point checkpoint %v %v", rp, err)
	}
	// Opening removes the marker before anything else can happen.
	f.open(t, f.fs)
	if _, err := f.fs.Stat("/data/" + cleanShutdownName); !isNotExist(err) {
		t.Fatal("clean shutdown marker survived Open")
	}
}

func equalStrings(a, b []string) bool {
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
