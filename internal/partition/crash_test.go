package partition

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/internal/vfs"
)

// TestCrashDurableOffsets is the group-commit promise seen through the
// partition layer: idempotent producers append concurrently (acks=1 and
// acks=-1, some batches retried while the original is still in flight) and
// readers fetch up to the high watermark, until the machine loses power at a
// random instant (unsynced tails torn and partly zeroed). Everything
// acknowledged and everything any reader saw before that instant must be in
// the recovered log at the same offset with the same bytes.
func TestCrashDurableOffsets(t *testing.T) {
	seeds := 16
	if testing.Short() {
		seeds = 8
	}
	var acked, seen, lostTails atomic.Int64
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			st := crashPartitionsOnce(t, seed)
			acked.Add(int64(st.acked))
			seen.Add(int64(st.seen))
			if st.lostTail {
				lostTails.Add(1)
			}
		})
	}
	t.Logf("%d seeds: %d acknowledged and %d read batches checked; %d crashes lost a written tail",
		seeds, acked.Load(), seen.Load(), lostTails.Load())
	// The test means something only if there were acknowledgements and reads
	// to check and the crashes took back bytes that were written.
	if acked.Load() == 0 || seen.Load() == 0 || lostTails.Load() == 0 {
		t.Fatalf("%d acknowledged batches, %d batches read, %d crashes lost a written tail: the workload did not exercise durability",
			acked.Load(), seen.Load(), lostTails.Load())
	}
}

// slowSyncMemFS is a MemFS whose fsyncs take a little time, as on a disk, so
// that appends pile up behind a round and the log end offset runs ahead of
// the durable offset.
type slowSyncMemFS struct{ *vfs.MemFS }

type slowSyncMemFile struct{ vfs.File }

type slowSyncAll struct{ vfs.Syncer }

func (f slowSyncMemFile) Sync() error {
	time.Sleep(300 * time.Microsecond)
	return f.File.Sync()
}

func (s slowSyncAll) SyncAll() error {
	time.Sleep(300 * time.Microsecond)
	return s.Syncer.SyncAll()
}

func (s slowSyncMemFS) Create(name string) (vfs.File, error) {
	f, err := s.MemFS.Create(name)
	if err != nil {
		return nil, err
	}
	return slowSyncMemFile{f}, nil
}

func (s slowSyncMemFS) OpenReadWrite(name string) (vfs.File, error) {
	f, err := s.MemFS.OpenReadWrite(name)
	if err != nil {
		return nil, err
	}
	return slowSyncMemFile{f}, nil
}

func (s slowSyncMemFS) OpenSyncer(dir string) (vfs.Syncer, error) {
	sy, err := s.MemFS.OpenSyncer(dir)
	if err != nil {
		return nil, err
	}
	return slowSyncAll{sy}, nil
}

// observed is one batch an acknowledgement or a read vouched for.
type observed struct {
	partition int32
	offset    int64
	batch     []byte
	read      bool // seen by a reader, else acknowledged to a producer
}

// observations collects what producers and readers were told until the
// crash image is taken; anything recorded before freeze happened before it.
type observations struct {
	mu     sync.Mutex
	list   []observed
	frozen bool
}

func (o *observations) add(ob observed) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.frozen {
		o.list = append(o.list, ob)
	}
}

// freeze takes the crash image under the lock, so every observation recorded
// is one that preceded it.
func (o *observations) freeze(crash func()) []observed {
	o.mu.Lock()
	defer o.mu.Unlock()
	crash()
	o.frozen = true
	return o.list
}

type crashStats struct {
	acked, seen int
	lostTail    bool
}

func crashPartitionsOnce(t *testing.T, seed uint64) crashStats {
	rng := rand.New(rand.NewPCG(seed, 0xd0ab1e))
	mem := vfs.NewMem()
	logCfg := storage.DefaultLogConfig()
	logCfg.SegmentBytes = 2000 + int64(rng.IntN(4000)) // rolls during the run
	numPartitions := 1 + int(seed%3)
	store, mgr, parts := openCrashPartitions(t, slowSyncMemFS{mem}, logCfg, numPartitions)

	var obs observations
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for a := range 4 {
		wg.Go(func() { crashAppender(ctx, t, parts, int64(a+1), seed, &obs) })
	}
	for range 2 {
		wg.Go(func() { crashReader(ctx, t, parts, &obs) })
	}
	time.Sleep(time.Duration(20+rng.IntN(80)) * time.Millisecond)
	var image *vfs.MemFS
	leos := make([]int64, numPartitions)
	list := obs.freeze(func() {
		image = mem.CrashClone(vfs.CrashOptions{Rand: rng, ZeroHoles: true})
		for i, p := range parts {
			leos[i] = p.LogEndOffset()
		}
	})
	cancel()
	wg.Wait()
	if err := mgr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store2, mgr2, recovered := openCrashPartitions(t, image, logCfg, numPartitions)
	defer func() {
		_ = mgr2.Close()
		_ = store2.Close()
	}()
	var st crashStats
	logs := make([]map[int64][]byte, numPartitions)
	for i, p := range recovered {
		logs[i] = replayBatches(t, p)
		if p.LogEndOffset() < leos[i] {
			st.lostTail = true
		}
		// One record per batch: a log without holes has a batch at every offset.
		for o := p.LogStartOffset(); o < p.LogEndOffset(); o++ {
			if _, ok := logs[i][o]; !ok {
				t.Fatalf("partition %d: recovered log (end %d) has no batch at offset %d", i, p.LogEndOffset(), o)
			}
		}
	}
	for _, ob := range list {
		got, ok := logs[ob.partition][ob.offset]
		what := "acknowledged"
		if ob.read {
			what = "read"
			st.seen++
		} else {
			st.acked++
		}
		if !ok || !bytes.Equal(got, ob.batch) {
			t.Fatalf("partition %d: batch at offset %d was %s before the crash, but recovery (log end %d) restored %x",
				ob.partition, ob.offset, what, recovered[ob.partition].LogEndOffset(), got)
		}
	}
	return st
}

// openCrashPartitions opens storage in group-commit mode on fsys and hosts
// n partitions of topic "t" led by this node.
func openCrashPartitions(t *testing.T, fsys vfs.FS, logCfg storage.LogConfig, n int) (*storage.Manager, *Manager, []*Partition) {
	t.Helper()
	store, err := storage.Open(storage.Options{FS: fsys, Dir: "/data", GroupCommit: true, DefaultConfig: &logCfg})
	if err != nil {
		t.Fatal(err)
	}
	mgr := NewManager(ManagerOptions{NodeID: 1, Storage: store})
	var parts []*Partition
	for i := range n {
		p, err := mgr.Create(TopicPartition{Topic: "t", Partition: int32(i)}, [16]byte{1}, logCfg, DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		if err := p.SetState(soleLeader()); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}
	return store, mgr, parts
}

// crashAppender is an idempotent producer appending one-record batches to
// random partitions, as the Produce handler does: append, sometimes retry
// the same batch at once (a duplicate answered with the original's offsets),
// then wait until the batch may be acknowledged (acks=1: durable; acks=-1:
// committed) and record the acknowledgement.
func crashAppender(ctx context.Context, t *testing.T, parts []*Partition, producerID int64, seed uint64, obs *observations) {
	rng := rand.New(rand.NewPCG(seed, uint64(producerID)))
	seqs := make([]int32, len(parts))
	w := NewWaiter()
	for ctx.Err() == nil {
		pi := rng.IntN(len(parts))
		p := parts[pi]
		seq := seqs[pi]
		value := bytes.Repeat(fmt.Appendf(nil, "p%d-s%d;", producerID, seq), 1+rng.IntN(40))
		build := func() []byte {
			b := record.NewBuilder(record.None)
			b.ProducerID, b.ProducerEpoch, b.BaseSequence = producerID, 0, seq
			b.Add(1_700_000_000_000, nil, value)
			out, err := b.Build(nil)
			if err != nil {
				t.Error(err)
			}
			return out
		}
		acks := int16(1)
		if rng.IntN(2) == 0 {
			acks = -1
		}
		batch := build()
		res, err := p.Append(batch, acks)
		if err != nil {
			t.Errorf("append: %v", err)
			return
		}
		seqs[pi]++
		if rng.IntN(3) == 0 {
			retry, err := p.Append(build(), acks)
			if err != nil || !retry.Duplicate || retry.BaseOffset != res.BaseOffset {
				t.Errorf("retry of the batch at %d: %+v, %v; want a duplicate", res.BaseOffset, retry, err)
				return
			}
		}
		if ok, err := waitAcknowledged(ctx, p, w, res.LastOffset+1, acks); !ok {
			if err != nil {
				t.Errorf("wait for the batch at %d: %v", res.BaseOffset, err)
			}
			return
		}
		obs.add(observed{partition: int32(pi), offset: res.BaseOffset, batch: batch})
	}
}

// waitAcknowledged waits as the Produce handler's Finish does; false when
// ctx ended first or the partition failed.
func waitAcknowledged(ctx context.Context, p *Partition, w *Waiter, end int64, acks int16) (bool, error) {
	defer p.Unwatch(w)
	for {
		p.Watch(w)
		ok, err := p.Committed(end)
		if acks == 1 {
			ok, err = p.Durable(end)
		}
		if err != nil || ok {
			return err == nil, err
		}
		select {
		case <-w.C():
		case <-ctx.Done():
			return false, nil
		}
	}
}

// crashReader fetches every partition up to its high watermark, as a
// read_uncommitted consumer does, recording each batch it is handed.
func crashReader(ctx context.Context, t *testing.T, parts []*Partition, obs *observations) {
	next := make([]int64, len(parts))
	w := NewWaiter()
	defer func() {
		for _, p := range parts {
			p.Unwatch(w)
		}
	}()
	for ctx.Err() == nil {
		got := 0
		for pi, p := range parts {
			p.Watch(w)
			batches, nextOffset, err := readBatches(p, next[pi])
			if err != nil {
				t.Errorf("read partition %d at %d: %v", pi, next[pi], err)
				return
			}
			for _, b := range batches {
				h, _ := record.ReadHeader(b)
				obs.add(observed{partition: int32(pi), offset: h.BaseOffset, batch: b, read: true})
			}
			got += len(batches)
			next[pi] = nextOffset
		}
		if got == 0 {
			select {
			case <-w.C():
			case <-ctx.Done():
			}
		}
	}
}

// readBatches fetches from offset as a consumer and copies the whole
// batches out of the regions returned.
func readBatches(p *Partition, offset int64) ([][]byte, int64, error) {
	res, err := p.Read(offset, ReadOptions{MaxBytes: 32 << 10, MinOneBatch: true,
		CurrentLeaderEpoch: NoLeaderEpoch, LastFetchedEpoch: NoLeaderEpoch, Replica: -1})
	if err != nil {
		return nil, offset, err
	}
	defer res.Records.Release()
	var out [][]byte
	for _, rg := range res.Records.Regions {
		buf := make([]byte, rg.Len())
		if _, err := rg.ReadAt(buf, 0); err != nil {
			return nil, offset, err
		}
		it := record.NewBatches(buf)
		for b, h, ok := it.Next(); ok; b, h, ok = it.Next() {
			if h.LastOffset() >= res.HighWatermark {
				return nil, offset, fmt.Errorf("batch %d..%d handed out past the high watermark %d", h.BaseOffset, h.LastOffset(), res.HighWatermark)
			}
			out = append(out, slices.Clone(b))
			offset = h.LastOffset() + 1
		}
		if err := it.Err(); err != nil && !errors.Is(err, record.ErrTruncated) {
			return nil, offset, err
		}
	}
	return out, offset, nil
}

// replayBatches reads a recovered partition whole: base offset -> batch.
func replayBatches(t *testing.T, p *Partition) map[int64][]byte {
	t.Helper()
	out := map[int64][]byte{}
	if p.HighWatermark() != p.LogEndOffset() {
		t.Fatalf("after recovery the high watermark is %d, the log end %d: recovered records are durable", p.HighWatermark(), p.LogEndOffset())
	}
	err := p.Replay(context.Background(), p.LogEndOffset(), 0, func(batches []byte) error {
		it := record.NewBatches(batches)
		for b, h, ok := it.Next(); ok; b, h, ok = it.Next() {
			out[h.BaseOffset] = slices.Clone(b)
		}
		return it.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
