package storage

import (
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice/internal/vfs"
)

// epochWritesFS counts the leader-epoch checkpoints written (their temporary files).
type epochWritesFS struct {
	vfs.FS
	writes atomic.Int64
}

func (f *epochWritesFS) Create(name string) (vfs.File, error) {
	if strings.HasSuffix(name, leaderEpochCheckpointName+tmpSuffix) {
		f.writes.Add(1)
	}
	return f.FS.Create(name)
}

func epochFile(t *testing.T, fsys vfs.FS, l *Log) []EpochEntry {
	t.Helper()
	data, err := readSmallFile(fsys, filepath.Join(l.dir, leaderEpochCheckpointName))
	if err != nil {
		t.Fatal(err)
	}
	es, err := parseEpochCheckpoint(data)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestEpochAtLogEndNotRewrittenAtLoad: a log without records whose leader epoch starts at its
// log end drops the entry at load (as Kafka does) without rewriting the checkpoint, and
// assigning the same epoch again (the partition leads again) writes nothing either; a new
// epoch is written, and what the file holds is what a later load trusts.
func TestEpochAtLogEndNotRewrittenAtLoad(t *testing.T) {
	mem := vfs.NewMem()
	m := openManager(t, mem, nil)
	l := createLog(t, m, DefaultLogConfig())
	if err := l.LeaderEpochs().Assign(3, 0); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	fsys := &epochWritesFS{FS: mem}
	m = openManager(t, fsys, nil)
	l, ok := m.Log(testTP)
	if !ok {
		t.Fatal("log not loaded")
	}
	if es := l.LeaderEpochs().Entries(); len(es) != 0 {
		t.Fatalf("entries after load = %v, want none (the epoch starts at the log end)", es)
	}
	if n := fsys.writes.Load(); n != 0 {
		t.Fatalf("%d checkpoint writes at load, want 0", n)
	}
	changed, err := l.LeaderEpochs().StageAssign(3, l.LogEndOffset())
	if err != nil || !changed {
		t.Fatalf("StageAssign(3, 0) = %v, %v", changed, err)
	}
	if err := l.LeaderEpochs().Persist(); err != nil {
		t.Fatal(err)
	}
	if n := fsys.writes.Load(); n != 0 {
		t.Fatalf("%d checkpoint writes for the same entries, want 0", n)
	}
	want := []EpochEntry{{Epoch: 3, StartOffset: 0}}
	if got := epochFile(t, fsys, l); !slices.Equal(got, want) {
		t.Fatalf("checkpoint %v, want %v", got, want)
	}

	// A new epoch is written at once; truncating it away (a follower's truncation) too.
	if err := l.LeaderEpochs().Assign(4, 0); err != nil {
		t.Fatal(err)
	}
	want = []EpochEntry{{Epoch: 4, StartOffset: 0}}
	if got := epochFile(t, fsys, l); !slices.Equal(got, want) || fsys.writes.Load() != 1 {
		t.Fatalf("checkpoint %v after %d writes, want %v after 1", got, fsys.writes.Load(), want)
	}
	if err := l.LeaderEpochs().TruncateFromEnd(0); err != nil {
		t.Fatal(err)
	}
	if got := epochFile(t, fsys, l); len(got) != 0 || fsys.writes.Load() != 2 {
		t.Fatalf("checkpoint %v after %d writes, want empty after 2", got, fsys.writes.Load())
	}
	// Assigning epoch 4 again after that truncation must write it (the file no longer has it).
	if err := l.LeaderEpochs().Assign(4, 0); err != nil {
		t.Fatal(err)
	}
	if got := epochFile(t, fsys, l); !slices.Equal(got, want) || fsys.writes.Load() != 3 {
		t.Fatalf("checkpoint %v after %d writes, want %v after 3", got, fsys.writes.Load(), want)
	}
}
