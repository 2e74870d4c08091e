package partition

import (
	"context"
	"strings"
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

// TestGroupCommitAppendsDoNotWait checks that in group-commit mode Append
// returns once the records are written, without waiting for their fsync (so
// the Produce handler can append a whole request and wait once, off the
// connection's read loop), and that nothing written but not yet durable is
// committed: the high watermark and the durable offset stay put while the
// round's fsync is held, and both appends are committed after one release.
func TestGroupCommitAppendsDoNotWait(t *testing.T) {
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
	released := false
	release := func() {
		if !released {
			released = true
			close(gfs.gate)
		}
	}
	defer release()
	first, err := p.Append(batch(1), -1)
	if err != nil {
		t.Fatal(err)
	}
	<-gfs.waiting // the first append's round is in fsync
	second, err := p.Append(batch(2), 1)
	if err != nil {
		t.Fatal(err)
	}
	if first.BaseOffset != 0 || second.BaseOffset != 1 || p.LogEndOffset() != 2 {
		t.Fatalf("appended at %d and %d, log end %d; want 0, 1, 2", first.BaseOffset, second.BaseOffset, p.LogEndOffset())
	}
	retry, err := p.Append(batch(1), -1)
	if err != nil || !retry.Duplicate || retry.BaseOffset != 0 {
		t.Fatalf("retry of the first batch: %+v, %v; want a duplicate at 0", retry, err)
	}
	if hw, durable := p.HighWatermark(), p.Log().DurableOffset(); hw != 0 || durable != 0 {
		t.Fatalf("high watermark %d, durable offset %d while the fsync is held; want 0", hw, durable)
	}
	if ok, err := p.Committed(1); ok || err != nil {
		t.Fatalf("committed(1) = %v, %v while the fsync is held", ok, err)
	}
	if ok, err := p.Durable(2); ok || err != nil {
		t.Fatalf("durable(2) = %v, %v while the fsync is held", ok, err)
	}
	release()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.WaitCommitted(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if ok, err := p.Durable(2); !ok || err != nil {
		t.Fatalf("durable(2) = %v, %v after the rounds", ok, err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitMarkerDoesNotWait checks that WriteTxnMarker in group-commit
// mode does not wait for its fsync under the producer table's lock: with the
// fsync held, the marker is written and another producer's append goes
// through; the last stable offset passes the transaction only once the
// marker is durable.
func TestGroupCommitMarkerDoesNotWait(t *testing.T) {
	gfs := &gatedFS{FS: vfs.NewMem(), gate: make(chan struct{}), waiting: make(chan struct{}, 16)}
	h := newProducerHost(t, gfs, true)
	h.mustAppend(pbatch{id: 1, seq: 0, n: 2, txn: true}) // 0-1, committed before the gate is armed
	gfs.armed.Store(true)
	released := false
	release := func() {
		if !released {
			released = true
			close(gfs.gate)
		}
	}
	defer release()
	done := make(chan error, 1)
	var marker int64
	go func() {
		var err error
		marker, err = h.p.WriteTxnMarker(TxnMarker{ProducerID: 1, ProducerEpoch: 0, Commit: true})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		release()
		t.Fatal("WriteTxnMarker waited for the held fsync")
	}
	res, err := h.p.Append(h.records(pbatch{id: 2, seq: 0, n: 1}), 1)
	if err != nil || res.BaseOffset != marker+1 {
		t.Fatalf("append after the marker: %+v, %v; want offset %d", res, err, marker+1)
	}
	if lso := h.p.LastStableOffset(); lso != 2 {
		t.Fatalf("last stable offset %d while the marker at %d is not durable, want 2", lso, marker)
	}
	release()
	h.waitCommitted(marker + 1)
	if lso := h.p.LastStableOffset(); lso <= marker {
		t.Fatalf("last stable offset %d after the marker at %d is durable", lso, marker)
	}
}
