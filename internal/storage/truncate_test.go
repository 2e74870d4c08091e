package storage

import (
	"testing"

	"github.com/sluicehq/sluice/internal/vfs"
)

func TestTruncateTo(t *testing.T) {
	// 11 batches of 2 records in segments at 0, 8, 16 (see newRecoveryFixture).
	cases := []struct {
		name         string
		offset       int64
		wantEnd      int64
		wantSegments int
	}{
		{"at the end is a no-op", 22, 22, 3},
		{"past the end is a no-op", 30, 22, 3},
		{"batch boundary in the active segment", 18, 18, 3},
		{"inside a batch drops the whole batch", 19, 18, 3},
		{"base of the active segment keeps it empty", 16, 16, 3},
		{"inside an earlier segment deletes later ones", 11, 10, 2},
		{"segment boundary", 8, 8, 2},
		{"below the first segment empties the log", 0, 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newRecoveryFixture(t)
			m, l, _ := f.open(t, f.fs)
			if err := l.LeaderEpochs().Assign(3, 12); err != nil {
				t.Fatal(err)
			}
			if err := l.TruncateTo(tc.offset); err != nil {
				t.Fatal(err)
			}
			if l.LogEndOffset() != tc.wantEnd || l.NumSegments() != tc.wantSegments {
				t.Fatalf("end %d segments %d, want %d and %d", l.LogEndOffset(), l.NumSegments(), tc.wantEnd, tc.wantSegments)
			}
			if l.RecoveryPoint() > tc.wantEnd {
				t.Fatalf("recovery point %d above the log end %d", l.RecoveryPoint(), tc.wantEnd)
			}
			if e, ok := l.LeaderEpochs().Latest(); ok && e.StartOffset >= tc.wantEnd {
				t.Fatalf("epoch %v survived truncation to %d", e, tc.wantEnd)
			}
			if tc.wantEnd > 0 {
				checkContiguous(t, readAll(t, l, 0), 0, tc.wantEnd)
			}
			// Appends continue at the new end and the indexes stay consistent: an unclean
			// restart finds nothing to drop and nothing to rebuild.
			for i := range 6 {
				if info := mustAppend(t, l, 2, 100, int64(2000+i)); info.FirstOffset != tc.wantEnd+int64(2*i) {
					t.Fatalf("append after truncation at %d", info.FirstOffset)
				}
			}
			end := l.LogEndOffset()
			if to, found, err := l.OffsetForTimestamp(2003); err != nil || !found || to.Offset != tc.wantEnd+6 {
				t.Fatalf("timestamp lookup after truncation: %+v %v %v", to, found, err)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			mustRemove(t, f.fs, "/data/"+cleanShutdownName)
			_, l2, metrics := f.open(t, f.fs)
			if l2.LogEndOffset() != end || metricValue(metrics.RecoveryDroppedBytes) != 0 {
				t.Fatalf("after restart: end %d (want %d), dropped %v", l2.LogEndOffset(), end, metricValue(metrics.RecoveryDroppedBytes))
			}
			checkContiguous(t, readAll(t, l2, l2.LogStartOffset()), l2.LogStartOffset(), end)
		})
	}
}

// TestTruncateLowersRecoveryPointFirst: the recovery point in the checkpoint never exceeds
// what is on disk, even if the truncation is interrupted.
func TestTruncateLowersRecoveryPointFirst(t *testing.T) {
	f := newRecoveryFixture(t)
	in := vfs.NewInjector(f.fs)
	_, l, _ := f.open(t, in)
	in.SetRules(vfs.Rule{Op: vfs.OpTruncate, Path: "*.log"})
	if err := l.TruncateTo(10); err == nil {
		t.Fatal("truncation succeeded despite the injected fault")
	}
	rp, err := parseOffsetCheckpoint(memFile(t, f.fs, "/data/"+recoveryPointCheckpointName))
	if err != nil || rp[testTP] != 8 {
		t.Fatalf("recovery point checkpoint %v %v, want 8 (the base of the segment being cut)", rp, err)
	}
	mustBeOffline(t, l, vfs.ErrInjected)
}
