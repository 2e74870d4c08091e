package partition

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/internal/vfs"
)

// gatedFS holds every file Sync until the test opens the gate, so a test
// can see what happens while an append waits for its group commit.
type gatedFS struct {
	vfs.FS
	armed   atomic.Bool // gate only once the partition is set up
	gate    chan struct{}
	waiting chan struct{} // one value per Sync that started waiting
}

type gatedFile struct {
	vfs.File
	fs *gatedFS
}

func (f gatedFile) Sync() error {
	if !f.fs.armed.Load() || !strings.HasSuffix(f.Name(), ".log") {
		return f.File.Sync()
	}
	select {
	case f.fs.waiting <- struct{}{}:
	default:
	}
	<-f.fs.gate
	return f.File.Sync()
}

func (g *gatedFS) Create(name string) (vfs.File, error) {
	f, err := g.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return gatedFile{f, g}, nil
}

func (g *gatedFS) OpenReadWrite(name string) (vfs.File, error) {
	f, err := g.FS.OpenReadWrite(name)
	if err != nil {
		return nil, err
	}
	return gatedFile{f, g}, nil
}

// TestGroupCommitAppendsShareARound checks that an idempotent producer's
// append waiting for its fsync does not hold the partition's producer table:
// a second producer's append is written (the log end moves) while the first
// one's fsync is still held, and both complete after one release.
func TestGroupCommitAppendsShareARound(t *testing.T) {
	gfs := &gatedFS{FS: vfs.NewMem(), gate: make(chan struct{}), waiting: make(chan struct{}, 16)}
	store, err := storage.Open(storage.Options{FS: gfs, Dir: "/data", GroupCommit: true})
	if err != nil {
		t.Fatal(err)
	}
	m := NewManager(ManagerOptions{NodeID: 1, Storage: store})
	p, err := m.Create(TopicPartition{Topic: "t", Partition: 0}, [16]byte{1}, storage.DefaultLogConfig(), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetState(soleLeader()); err != nil {
		t.Fatal(err)
	}
	batch := func(producer int64) []byte {
		b := record.NewBuilder(record.None)
		b.ProducerID, b.ProducerEpoch, b.BaseSequence = producer, 0, 0
		b.Add(time.Now().UnixMilli(), []byte("k"), []byte("v"))
		out, err := b.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	gfs.armed.Store(true)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	appendAsync := func(producer int64) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := p.Append(batch(producer), -1)
			errs <- err
		}()
	}
	appendAsync(1)
	<-gfs.waiting // the first append's round is in fsync
	appendAsync(2)
	deadline := time.Now().Add(20 * time.Second)
	for p.LogEndOffset() < 2 {
		if time.Now().After(deadline) {
			close(gfs.gate)
			wg.Wait()
			t.Fatal("the second producer's append was not written while the first waited for its fsync")
		}
		time.Sleep(time.Millisecond)
	}
	close(gfs.gate)
	wg.Wait()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if p.HighWatermark() != 2 {
		t.Fatalf("high watermark %d, want 2", p.HighWatermark())
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
}
