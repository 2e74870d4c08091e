package storage

import (
	"testing"

	"github.com/sluicehq/sluice/internal/vfs"
)

func TestLeaderEpochCache(t *testing.T) {
	type step struct {
		assign      *EpochEntry
		truncEnd    int64
		truncStart  int64
		wantEntries []EpochEntry
	}
	e := func(epoch int32, off int64) *EpochEntry { return &EpochEntry{Epoch: epoch, StartOffset: off} }
	cases := []struct {
		name  string
		steps []step
	}{
		{"assign in order", []step{
			{assign: e(1, 0), wantEntries: []EpochEntry{{1, 0}}},
			{assign: e(1, 5), wantEntries: []EpochEntry{{1, 0}}},
			{assign: e(3, 10), wantEntries: []EpochEntry{{1, 0}, {3, 10}}},
		}},
		{"lower start for the latest epoch replaces it", []step{
			{assign: e(1, 0)}, {assign: e(2, 10)},
			{assign: e(2, 8), wantEntries: []EpochEntry{{1, 0}, {2, 8}}},
		}},
		{"non-monotonic assign removes newer entries", []step{
			{assign: e(1, 0)}, {assign: e(4, 10)}, {assign: e(5, 20)},
			{assign: e(3, 15), wantEntries: []EpochEntry{{1, 0}, {3, 15}}},
		}},
		{"truncate from end", []step{
			{assign: e(1, 0)}, {assign: e(2, 10)}, {assign: e(3, 20)},
			{truncEnd: 10, wantEntries: []EpochEntry{{1, 0}}},
		}},
		{"truncate from start", []step{
			{assign: e(1, 0)}, {assign: e(2, 10)}, {assign: e(3, 20)},
			{truncStart: 15, wantEntries: []EpochEntry{{2, 15}, {3, 20}}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := vfs.NewMem()
			c := newLeaderEpochCache(fsys, "/leader-epoch-checkpoint", nil)
			for i, s := range tc.steps {
				var err error
				switch {
				case s.assign != nil:
					err = c.Assign(s.assign.Epoch, s.assign.StartOffset)
				case s.truncEnd > 0:
					err = c.TruncateFromEnd(s.truncEnd)
				case s.truncStart > 0:
					err = c.TruncateFromStart(s.truncStart)
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if s.wantEntries != nil && !equalEpochs(c.Entries(), s.wantEntries) {
					t.Fatalf("step %d: entries %v, want %v", i, c.Entries(), s.wantEntries)
				}
			}
			// The checkpoint on disk matches memory.
			loaded, err := loadLeaderEpochCache(fsys, "/leader-epoch-checkpoint")
			if err != nil || !equalEpochs(loaded.Entries(), c.Entries()) {
				t.Fatalf("reloaded %v (%v), want %v", loaded.Entries(), err, c.Entries())
			}
		})
	}
}

func TestEndOffsetFor(t *testing.T) {
	c := newLeaderEpochCache(vfs.NewMem(), "", []EpochEntry{{2, 10}, {4, 30}, {7, 50}})
	const leo = 80
	cases := []struct {
		name      string
		requested int32
		wantEpoch int32
		wantEnd   int64
	}{
		{"undefined", UndefinedEpoch, UndefinedEpoch, UndefinedEpochOffset},
		{"latest epoch ends at the log end", 7, 7, leo},
		{"known epoch ends where the next begins", 4, 4, 50},
		{"unknown epoch between known ones answers the one below", 5, 4, 50},
		{"older than all known", 1, 1, 10},
		{"newer than all known", 8, UndefinedEpoch, UndefinedEpochOffset},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			epoch, end := c.EndOffsetFor(tc.requested, leo)
			if epoch != tc.wantEpoch || end != tc.wantEnd {
				t.Fatalf("EndOffsetFor(%d) = %d, %d; want %d, %d", tc.requested, epoch, end, tc.wantEpoch, tc.wantEnd)
			}
		})
	}
	if got := c.EpochForOffset(35); got != 4 {
		t.Fatalf("EpochForOffset(35) = %d", got)
	}
	if got := c.EpochForOffset(5); got != UndefinedEpoch {
		t.Fatalf("EpochForOffset(5) = %d", got)
	}
}

func equalEpochs(a, b []EpochEntry) bool {
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
