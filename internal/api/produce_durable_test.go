package api_test

import (
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/internal/vfs"
)

// heldSyncFS is the real file system with a gate on durability: once armed, every sync of a
// .log file and every syncfs waits until release, as on a disk whose flush never ends.
type heldSyncFS struct {
	vfs.FS
	armed    atomic.Bool
	gate     chan struct{}
	released sync.Once
}

type heldSyncFile struct {
	vfs.File
	fs *heldSyncFS
}

type heldSyncer struct {
	vfs.Syncer
	fs *heldSyncFS
}

func (h *heldSyncFS) hold() {
	if h.armed.Load() {
		<-h.gate
	}
}

func (h *heldSyncFS) release() { h.released.Do(func() { close(h.gate) }) }

func (f heldSyncFile) Sync() error {
	if strings.HasSuffix(f.Name(), ".log") {
		f.fs.hold()
	}
	return f.File.Sync()
}

func (s heldSyncer) SyncAll() error {
	s.fs.hold()
	return s.Syncer.SyncAll()
}

func (h *heldSyncFS) Create(name string) (vfs.File, error) {
	f, err := h.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return heldSyncFile{f, h}, nil
}

func (h *heldSyncFS) OpenReadWrite(name string) (vfs.File, error) {
	f, err := h.FS.OpenReadWrite(name)
	if err != nil {
		return nil, err
	}
	return heldSyncFile{f, h}, nil
}

func (h *heldSyncFS) OpenSyncer(dir string) (vfs.Syncer, error) {
	s, err := h.FS.OpenSyncer(dir)
	if err != nil {
		return nil, err
	}
	return heldSyncer{s, h}, nil
}

// TestProduceGroupCommitPipelined: with sluice.group.commit and the disk's flush held, a
// connection's pipelined produce requests are all read and appended (the first one's wait
// does not stall the read loop), none is answered, and nothing unflushed is visible (the high
// watermark and ListOffsets latest stay at 0). Once the flush completes, both are answered,
// acks=1 and acks=-1 alike.
func TestProduceGroupCommitPipelined(t *testing.T) {
	fsys := &heldSyncFS{FS: vfs.OS, gate: make(chan struct{})}
	b := startBrokerWith(t, func(o *storage.Options) { o.FS, o.GroupCommit = fsys, true })
	t.Cleanup(fsys.release) // before the server's shutdown waits for the held responses
	b.createTopic("t", 2, nil)
	fsys.armed.Store(true)

	c := b.dial()
	produce := func(acks int16, partitions ...int32) {
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks, req.TimeoutMillis = 9, acks, 30_000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "t"
		for _, p := range partitions {
			rp := kmsg.NewProduceRequestTopicPartition()
			rp.Partition, rp.Records = p, oneRecordBatch(t)
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		c.corr++
		if _, err := c.nc.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, req, c.corr)); err != nil {
			t.Fatal(err)
		}
	}
	produce(1, 0, 1)
	produce(-1, 0)

	p0, _ := b.parts.Partition("t", 0)
	p1, _ := b.parts.Partition("t", 1)
	deadline := time.Now().Add(20 * time.Second)
	for p0.LogEndOffset() < 2 || p1.LogEndOffset() < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("log ends %d and %d: the second pipelined request was not appended while the first waited for its flush",
				p0.LogEndOffset(), p1.LogEndOffset())
		}
		time.Sleep(time.Millisecond)
	}
	c.nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	var one [1]byte
	if _, err := c.nc.Read(one[:]); !isTimeout(err) {
		t.Fatalf("a response arrived (or the read failed: %v) while the flush was held", err)
	}
	if p0.HighWatermark() != 0 || p1.HighWatermark() != 0 {
		t.Fatalf("high watermarks %d and %d while nothing is durable", p0.HighWatermark(), p1.HighWatermark())
	}
	lo := kmsg.NewPtrListOffsetsRequest()
	lo.Version, lo.ReplicaID = 7, -1
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = "t"
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Partition, lp.Timestamp, lp.CurrentLeaderEpoch = 0, -1, -1
	lt.Partitions = append(lt.Partitions, lp)
	lo.Topics = append(lo.Topics, lt)
	lr := b.dial().send(lo).(*kmsg.ListOffsetsResponse)
	if got := lr.Topics[0].Partitions[0]; got.ErrorCode != 0 || got.Offset != 0 {
		t.Fatalf("ListOffsets latest while nothing is durable: error %d, offset %d; want 0", got.ErrorCode, got.Offset)
	}

	fsys.release()
	for i, want := range [][]int64{{0, 0}, {1}} {
		frame, err := c.readFrame()
		if err != nil {
			t.Fatal(err)
		}
		resp := kmsg.NewPtrProduceResponse()
		resp.Version = 9
		if err := resp.ReadFrom(frame[5:]); err != nil { // correlation id, flexible header tag
			t.Fatal(err)
		}
		for j, p := range resp.Topics[0].Partitions {
			if p.ErrorCode != 0 || p.BaseOffset != want[j] {
				t.Fatalf("response %d partition %d: error %d, base offset %d; want 0, %d", i, p.Partition, p.ErrorCode, p.BaseOffset, want[j])
			}
		}
	}
	if p0.HighWatermark() != 2 || p1.HighWatermark() != 1 {
		t.Fatalf("high watermarks %d and %d after the flush, want 2 and 1", p0.HighWatermark(), p1.HighWatermark())
	}
}

func oneRecordBatch(t *testing.T) []byte {
	t.Helper()
	bl := record.NewBuilder(record.None)
	bl.Add(time.Now().UnixMilli(), nil, []byte("v"))
	out, err := bl.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}
