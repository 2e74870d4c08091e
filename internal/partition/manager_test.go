package partition

import (
	"path"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/internal/vfs"
)

// mkdirGateFS holds MkdirAll of one partition directory until gate is closed.
type mkdirGateFS struct {
	vfs.FS
	dir     string
	waiting chan struct{} // receives once the held MkdirAll has started
	gate    chan struct{}
}

func (g *mkdirGateFS) MkdirAll(dir string) error {
	if path.Base(dir) == g.dir {
		g.waiting <- struct{}{}
		<-g.gate
	}
	return g.FS.MkdirAll(dir)
}

// TestCreateDoesNotBlockOtherPartitions checks that Manager.mu is not held
// across a partition's log creation: while one partition's directory
// creation is held, another partition is created, looked up and listed, and
// the held one is not visible until its creation ends.
func TestCreateDoesNotBlockOtherPartitions(t *testing.T) {
	gfs := &mkdirGateFS{FS: vfs.NewMem(), dir: "slow-0", waiting: make(chan struct{}, 1), gate: make(chan struct{})}
	store, err := storage.Open(storage.Options{FS: gfs, Dir: "/data"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	m := NewManager(ManagerOptions{NodeID: 1, Storage: store})
	slow := TopicPartition{Topic: "slow", Partition: 0}
	type result struct {
		p   *Partition
		err error
	}
	slowDone := make(chan result, 2)
	go func() {
		p, err := m.Create(slow, [16]byte{1}, storage.DefaultLogConfig(), DefaultConfig())
		slowDone <- result{p, err}
	}()
	<-gfs.waiting
	// A second Create of the same partition waits for the first and gets the same partition.
	go func() {
		p, err := m.Create(slow, [16]byte{1}, storage.DefaultLogConfig(), DefaultConfig())
		slowDone <- result{p, err}
	}()

	fast, err := m.Create(TopicPartition{Topic: "fast", Partition: 0}, [16]byte{2}, storage.DefaultLogConfig(), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := fast.SetState(soleLeader()); err != nil {
		t.Fatal(err)
	}
	if p, ok := m.Partition("fast", 0); !ok || p != fast {
		t.Fatal("fast-0 not found while slow-0 is being created")
	}
	if _, ok := m.Partition("slow", 0); ok {
		t.Fatal("slow-0 visible before its log exists")
	}
	if n := len(m.Partitions()); n != 1 {
		t.Fatalf("Partitions() = %d partitions while slow-0 is being created, want 1", n)
	}
	select {
	case r := <-slowDone:
		t.Fatalf("Create of slow-0 returned while its mkdir is held: %v", r.err)
	default:
	}

	close(gfs.gate)
	var got []*Partition
	for range 2 {
		select {
		case r := <-slowDone:
			if r.err != nil {
				t.Fatal(r.err)
			}
			got = append(got, r.p)
		case <-time.After(10 * time.Second):
			t.Fatal("Create of slow-0 did not return after its mkdir was released")
		}
	}
	if got[0] != got[1] {
		t.Fatal("two concurrent Creates of slow-0 returned different partitions")
	}
	if p, ok := m.Partition("slow", 0); !ok || p != got[0] {
		t.Fatal("slow-0 not hosted after its creation")
	}
}
