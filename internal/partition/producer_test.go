package partition

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/internal/vfs"
)

// testClock is a settable clock for partitions under test.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.UnixMilli(1_700_000_000_000)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// producerHost is a partition over storage on a file system that a test
// can close and reopen (a restart) or crash.
type producerHost struct {
	t     *testing.T
	fs    vfs.FS
	clock *testClock
	store *storage.Manager
	mgr   *Manager
	p     *Partition
	opts  ManagerOptions
	group bool
}

func newProducerHost(t *testing.T, fs vfs.FS, groupCommit bool) *producerHost {
	t.Helper()
	h := &producerHost{t: t, fs: fs, clock: newTestClock(), group: groupCommit}
	h.open()
	t.Cleanup(func() {
		if h.store != nil {
			_ = h.store.Close()
		}
	})
	return h
}

func (h *producerHost) open() {
	h.t.Helper()
	store, err := storage.Open(storage.Options{FS: h.fs, Dir: "/data", GroupCommit: h.group, Now: h.clock.Now})
	if err != nil {
		h.t.Fatal(err)
	}
	opts := h.opts
	opts.NodeID, opts.Storage, opts.Now = 1, store, h.clock.Now
	h.store, h.mgr = store, NewManager(opts)
	p, err := h.mgr.Create(TopicPartition{Topic: "t", Partition: 0}, [16]byte{1}, storage.DefaultLogConfig(), DefaultConfig())
	if err != nil {
		h.t.Fatal(err)
	}
	if err := p.SetState(soleLeader()); err != nil {
		h.t.Fatal(err)
	}
	h.p = p
}

// restart closes cleanly (producer snapshots, storage close) and reopens.
func (h *producerHost) restart() {
	h.t.Helper()
	if err := h.mgr.Close(); err != nil {
		h.t.Fatal(err)
	}
	if err := h.store.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.open()
}

// crash loses everything not fsynced (MemFS only) and reopens.
func (h *producerHost) crash() {
	h.t.Helper()
	mem := h.fs.(*vfs.MemFS)
	clone := mem.CrashClone(vfs.CrashOptions{})
	_ = h.store.Close()
	h.fs = clone
	h.open()
}

type pbatch struct {
	id    int64
	epoch int16
	seq   int32
	n     int
	txn   bool
}

func (h *producerHost) records(b pbatch) []byte {
	h.t.Helper()
	bl := record.NewBuilder(record.None)
	bl.ProducerID, bl.ProducerEpoch, bl.BaseSequence, bl.Transactional = b.id, b.epoch, b.seq, b.txn
	for range b.n {
		bl.Add(h.clock.Now().UnixMilli(), nil, []byte("v"))
	}
	out, err := bl.Build(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// append appends with acks=-1 and, like the Produce handler, returns once
// the records are committed (in group-commit mode: durable).
func (h *producerHost) append(b pbatch) (AppendResult, error) {
	h.t.Helper()
	res, err := h.p.Append(h.records(b), -1)
	if err != nil || res.LastOffset < 0 {
		return res, err
	}
	h.waitCommitted(res.LastOffset + 1)
	return res, nil
}

// waitCommitted waits until the high watermark reaches end.
func (h *producerHost) waitCommitted(end int64) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.p.WaitCommitted(ctx, end); err != nil {
		h.t.Fatalf("wait for the high watermark to reach %d: %v", end, err)
	}
}

func (h *producerHost) mustAppend(b pbatch) AppendResult {
	h.t.Helper()
	res, err := h.append(b)
	if err != nil {
		h.t.Fatalf("append %+v: %v", b, err)
	}
	return res
}

func TestDuplicateReturnsOriginalOffsets(t *testing.T) {
	h := newProducerHost(t, vfs.NewMem(), false)
	first := h.mustAppend(pbatch{id: 7, seq: 0, n: 3})
	second := h.mustAppend(pbatch{id: 7, seq: 3, n: 2})
	h.mustAppend(pbatch{id: 8, seq: 0, n: 1}) // another producer in between
	end := h.p.LogEndOffset()
	for _, tc := range []struct {
		name string
		b    pbatch
		want AppendResult
	}{
		{"first batch retried", pbatch{id: 7, seq: 0, n: 3}, first},
		{"second batch retried", pbatch{id: 7, seq: 3, n: 2}, second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := h.append(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Duplicate || res.BaseOffset != tc.want.BaseOffset || res.LastOffset != tc.want.LastOffset {
				t.Fatalf("got %+v, want duplicate of %+v", res, tc.want)
			}
			if got := h.p.LogEndOffset(); got != end {
				t.Fatalf("log end offset %d after a duplicate, want %d", got, end)
			}
		})
	}
}

func TestProducerSequenceRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		before  []pbatch
		batch   pbatch
		wantErr error
	}{
		{"next in sequence", []pbatch{{id: 1, seq: 0, n: 2}}, pbatch{id: 1, seq: 2, n: 1}, nil},
		{"gap", []pbatch{{id: 1, seq: 0, n: 2}}, pbatch{id: 1, seq: 3, n: 1}, ErrOutOfOrderSequence},
		{"overlapping but not a duplicate", []pbatch{{id: 1, seq: 0, n: 2}}, pbatch{id: 1, seq: 1, n: 2}, ErrOutOfOrderSequence},
		{"older epoch", []pbatch{{id: 1, epoch: 3, seq: 0, n: 1}}, pbatch{id: 1, epoch: 2, seq: 1, n: 1}, ErrInvalidProducerEpoch},
		{"epoch bump starts at zero", []pbatch{{id: 1, epoch: 3, seq: 0, n: 5}}, pbatch{id: 1, epoch: 4, seq: 0, n: 1}, nil},
		{"epoch bump not at zero", []pbatch{{id: 1, epoch: 3, seq: 0, n: 5}}, pbatch{id: 1, epoch: 4, seq: 5, n: 1}, ErrOutOfOrderSequence},
		{"unknown producer at any sequence (KIP-360)", nil, pbatch{id: 1, seq: 42, n: 1}, nil},
		{"wraps past MaxInt32", []pbatch{{id: 1, seq: math.MaxInt32 - 1, n: 2}}, pbatch{id: 1, seq: 0, n: 1}, nil},
		{"retry older than the last five", []pbatch{
			{id: 1, seq: 0, n: 1}, {id: 1, seq: 1, n: 1}, {id: 1, seq: 2, n: 1},
			{id: 1, seq: 3, n: 1}, {id: 1, seq: 4, n: 1}, {id: 1, seq: 5, n: 1},
		}, pbatch{id: 1, seq: 0, n: 1}, ErrOutOfOrderSequence},
		{"non-transactional inside a transaction", []pbatch{{id: 1, seq: 0, n: 1, txn: true}}, pbatch{id: 1, seq: 1, n: 1}, ErrInvalidTxnState},
		{"sequence missing", nil, pbatch{id: 1, seq: -1, n: 1}, ErrInvalidRecord},
		{"transactional without producer id", nil, pbatch{id: -1, epoch: -1, seq: -1, n: 1, txn: true}, ErrInvalidRecord},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newProducerHost(t, vfs.NewMem(), false)
			for _, b := range tc.before {
				h.mustAppend(b)
			}
			end := h.p.LogEndOffset()
			res, err := h.append(tc.batch)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil && h.p.LogEndOffset() != end {
				t.Fatalf("refused batch moved the log end offset to %d", h.p.LogEndOffset())
			}
			if tc.wantErr == nil && (res.Duplicate || res.BaseOffset != end) {
				t.Fatalf("got %+v, want appended at %d", res, end)
			}
		})
	}
}

func TestDuplicateWithinFiveAfterWrap(t *testing.T) {
	h := newProducerHost(t, vfs.NewMem(), false)
	orig := h.mustAppend(pbatch{id: 1, seq: math.MaxInt32 - 1, n: 3}) // sequences MaxInt32-1, MaxInt32, 0
	h.mustAppend(pbatch{id: 1, seq: 1, n: 1})
	res, err := h.append(pbatch{id: 1, seq: math.MaxInt32 - 1, n: 3})
	if err != nil || !res.Duplicate || res.BaseOffset != orig.BaseOffset {
		t.Fatalf("retry of a wrapping batch: %+v, %v; want duplicate at %d", res, err, orig.BaseOffset)
	}
}

func TestNonIdempotentBatchesSkipProducerState(t *testing.T) {
	h := newProducerHost(t, vfs.NewMem(), false)
	for range 3 {
		h.mustAppend(pbatch{id: -1, epoch: -1, seq: -1, n: 2})
	}
	if got := h.p.Producers(); len(got) != 0 {
		t.Fatalf("producers %+v after plain batches", got)
	}
	if got := h.p.LogEndOffset(); got != 6 {
		t.Fatalf("log end offset %d, want 6 (identical plain batches are not duplicates)", got)
	}
}

func TestProducersDescribe(t *testing.T) {
	h := newProducerHost(t, vfs.NewMem(), false)
	h.mustAppend(pbatch{id: 9, epoch: 2, seq: 0, n: 4})
	h.mustAppend(pbatch{id: 5, epoch: 1, seq: 0, n: 1, txn: true})
	got := h.p.Producers()
	ts := h.clock.Now().UnixMilli()
	want := []ProducerState{
		{ProducerID: 5, ProducerEpoch: 1, LastSequence: 0, LastTimestamp: ts, CoordinatorEpoch: -1, CurrentTxnStartOffset: 4},
		{ProducerID: 9, ProducerEpoch: 2, LastSequence: 3, LastTimestamp: ts, CoordinatorEpoch: -1, CurrentTxnStartOffset: -1},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("producers\n got %+v\nwant %+v", got, want)
	}
}

func TestProducerExpiry(t *testing.T) {
	h := newProducerHost(t, vfs.NewMem(), false)
	h.opts.ProducerIDExpirationMs, h.opts.ProducerIDExpirationCheckIntervalMs = 60_000, 1_000
	h.restart() // take the short expiration
	h.mustAppend(pbatch{id: 1, seq: 0, n: 1})
	h.mustAppend(pbatch{id: 2, seq: 0, n: 1, txn: true})
	h.clock.Advance(30 * time.Second)
	if got := len(h.p.Producers()); got != 2 {
		t.Fatalf("%d producers before expiry, want 2", got)
	}
	h.clock.Advance(31 * time.Second)
	got := h.p.Producers()
	if len(got) != 1 || got[0].ProducerID != 2 {
		t.Fatalf("after expiry %+v, want only producer 2 (its transaction is open)", got)
	}
	// Producer 1 is unknown again: any sequence is accepted.
	if _, err := h.append(pbatch{id: 1, seq: 17, n: 1}); err != nil {
		t.Fatal(err)
	}
}

func TestProducerSnapshotCodec(t *testing.T) {
	entries := []snapshotEntry{
		{ProducerID: 1, Epoch: 0, LastSequence: 4, LastOffset: 10, OffsetDelta: 4, Timestamp: 99, CoordinatorEpoch: -1, CurrentTxnFirstOffset: -1},
		{ProducerID: 2, Epoch: 3, LastSequence: -1, LastOffset: -1, Timestamp: 5, CoordinatorEpoch: 7, CurrentTxnFirstOffset: 12},
	}
	b := encodeProducerSnapshot(entries)
	if len(b) != snapshotHeaderSize+2*snapshotEntrySize {
		t.Fatalf("encoded %d bytes", len(b))
	}
	got, err := decodeProducerSnapshot(b)
	if err != nil || len(got) != 2 || got[0] != entries[0] || got[1] != entries[1] {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	flip := func(i int) []byte { c := append([]byte(nil), b...); c[i] ^= 1; return c }
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"version", flip(1)},
		{"crc", flip(3)},
		{"entry byte", flip(snapshotHeaderSize + 3)},
		{"short", b[:len(b)-1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeProducerSnapshot(tc.b); !errors.Is(err, ErrCorruptSnapshot) {
				t.Fatalf("err %v, want ErrCorruptSnapshot", err)
			}
		})
	}
}

// TestProducerStateSurvivesRestart: a clean restart loads the snapshot the
// Manager wrote on Close; duplicates and sequence checks still hold.
func TestProducerStateSurvivesRestart(t *testing.T) {
	h := newProducerHost(t, vfs.NewMem(), false)
	orig := h.mustAppend(pbatch{id: 3, epoch: 1, seq: 0, n: 2})
	h.mustAppend(pbatch{id: 4, epoch: 0, seq: 0, n: 1, txn: true})
	h.restart()
	offs, err := listSnapshots(h.fs, h.p.Log().Dir())
	if err != nil || len(offs) != 1 || offs[0] != 3 {
		t.Fatalf("snapshots %v, %v; want one at 3", offs, err)
	}
	res, err := h.append(pbatch{id: 3, epoch: 1, seq: 0, n: 2})
	if err != nil || !res.Duplicate || res.BaseOffset != orig.BaseOffset {
		t.Fatalf("retry after restart: %+v, %v", res, err)
	}
	if _, err := h.append(pbatch{id: 3, epoch: 1, seq: 5, n: 1}); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("gap after restart: %v", err)
	}
	if got := h.p.LastStableOffset(); got != 2 {
		t.Fatalf("last stable offset %d after restart, want 2 (producer 4's open transaction)", got)
	}

	// A snapshot past the log end (the log was truncated or lost its
	// tail) describes records that are gone: it is deleted at open, and a
	// corrupt one is skipped in favour of the log.
	dir := h.p.Log().Dir()
	h.mustAppend(pbatch{id: 3, epoch: 1, seq: 2, n: 1}) // offset 3
	if err := h.mgr.Close(); err != nil {               // snapshot at 4
		t.Fatal(err)
	}
	if err := writeSnapshotFile(h.fs, dir, 4, []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	if err := writeSnapshotFile(h.fs, dir, 1000, encodeProducerSnapshot(nil)); err != nil {
		t.Fatal(err)
	}
	h.restart()
	offs, err = listSnapshots(h.fs, dir)
	if err != nil || len(offs) != 1 || offs[0] != 3 || h.p.producers.states.snapshotOffset != 3 {
		t.Fatalf("snapshots %v after reopen (loaded %d), want only 3", offs, h.p.producers.states.snapshotOffset)
	}
	if res, err := h.append(pbatch{id: 3, epoch: 1, seq: 2, n: 1}); err != nil || !res.Duplicate || res.BaseOffset != 3 {
		t.Fatalf("retry of the batch replayed past the snapshot: %+v, %v", res, err)
	}
	if _, err := h.append(pbatch{id: 3, epoch: 1, seq: 3, n: 1}); err != nil {
		t.Fatalf("next sequence: %v", err)
	}
}

// TestProducerStateRebuiltAfterCrash: without a snapshot covering the
// tail, the state is replayed from the log; an abort whose .txnindex entry
// was lost in the crash is re-added, so read_committed still drops it.
func TestProducerStateRebuiltAfterCrash(t *testing.T) {
	h := newProducerHost(t, vfs.NewMem(), true)                                  // group commit: every append is fsynced
	h.mustAppend(pbatch{id: 1, seq: 0, n: 2, txn: true})                         // 0-1
	retry := h.mustAppend(pbatch{id: 2, seq: 0, n: 1})                           // 2
	abort, err := h.p.WriteTxnMarker(TxnMarker{ProducerID: 1, ProducerEpoch: 0}) // 3
	if err != nil {
		t.Fatal(err)
	}
	h.waitCommitted(abort + 1)                           // as the WriteTxnMarkers handler does
	h.mustAppend(pbatch{id: 5, seq: 0, n: 1, txn: true}) // 4, left open
	h.crash()
	if got := h.p.LogEndOffset(); got != 5 {
		t.Fatalf("log end offset %d after crash, want 5", got)
	}
	res, err := h.append(pbatch{id: 2, seq: 0, n: 1})
	if err != nil || !res.Duplicate || res.BaseOffset != retry.BaseOffset {
		t.Fatalf("retry after crash: %+v, %v", res, err)
	}
	if got := h.p.LastStableOffset(); got != 4 {
		t.Fatalf("last stable offset %d, want 4", got)
	}
	rr, err := h.p.Read(0, ReadOptions{MaxBytes: 1 << 20, Isolation: ReadCommitted, CurrentLeaderEpoch: NoLeaderEpoch, LastFetchedEpoch: NoLeaderEpoch, Replica: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Records.Release()
	want := storage.AbortedTxn{ProducerID: 1, FirstOffset: 0, LastOffset: abort, LastStableOffset: 4}
	if len(rr.AbortedTxns) != 1 || rr.AbortedTxns[0] != want {
		t.Fatalf("aborted %+v, want [%+v]", rr.AbortedTxns, want)
	}
	if rr.Records.NextOffset != 4 {
		t.Fatalf("read_committed read to %d, want the last stable offset 4", rr.Records.NextOffset)
	}
}

// TestSnapshotOnRollAndPruning: rolls snapshot the state, old snapshots are
// pruned, and recovery replays only past the newest.
func TestSnapshotOnRollAndPruning(t *testing.T) {
	h := newProducerHost(t, vfs.NewMem(), true)
	cfg := storage.DefaultLogConfig()
	cfg.SegmentBytes = 1 << 20
	if err := h.p.Log().SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 300<<10)
	seq := int32(0)
	for i := range 20 {
		bl := record.NewBuilder(record.None)
		bl.ProducerID, bl.ProducerEpoch, bl.BaseSequence = 11, 0, seq
		bl.Add(h.clock.Now().UnixMilli(), nil, big)
		b, err := bl.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := h.p.Append(b, 1)
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		h.waitCommitted(res.LastOffset + 1)
		seq++
	}
	offs, err := listSnapshots(h.fs, h.p.Log().Dir())
	if err != nil {
		t.Fatal(err)
	}
	if h.p.Log().NumSegments() < 5 || len(offs) != snapshotsKept {
		t.Fatalf("%d segments, snapshots %v; want several segments and %d snapshots", h.p.Log().NumSegments(), offs, snapshotsKept)
	}
	h.crash() // group commit: nothing acknowledged is lost
	if got := h.p.LogEndOffset(); got != 20 {
		t.Fatalf("log end offset %d after the crash, want 20", got)
	}
	if got := h.p.producers.states.snapshotOffset; got != offs[len(offs)-1] {
		t.Fatalf("recovery started from snapshot %d, want the newest, %d", got, offs[len(offs)-1])
	}
	if _, err := h.append(pbatch{id: 11, seq: 20, n: 1}); err != nil {
		t.Fatalf("next sequence after recovery: %v", err)
	}
}

// TestConcurrentRetriesAppendOnce: the same batch sent at once on several
// connections (a retry racing its original) is appended once; every sender
// gets the same offsets.
func TestConcurrentRetriesAppendOnce(t *testing.T) {
	h := newProducerHost(t, vfs.NewMem(), false)
	const senders, rounds, perBatch = 4, 30, 3
	for r := range rounds {
		batch := h.records(pbatch{id: 5, seq: int32(r * perBatch), n: perBatch})
		results := make([]AppendResult, senders)
		errs := make([]error, senders)
		var wg sync.WaitGroup
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Each connection has its own copy of the request bytes.
				results[s], errs[s] = h.p.Append(append([]byte(nil), batch...), -1)
			}()
		}
		wg.Wait()
		dups := 0
		for s := range senders {
			if errs[s] != nil {
				t.Fatalf("round %d sender %d: %v", r, s, errs[s])
			}
			if results[s].BaseOffset != int64(r*perBatch) || results[s].LastOffset != int64(r*perBatch+perBatch-1) {
				t.Fatalf("round %d sender %d: offsets %+v", r, s, results[s])
			}
			if results[s].Duplicate {
				dups++
			}
		}
		if dups != senders-1 {
			t.Fatalf("round %d: %d duplicates among %d senders, want %d", r, dups, senders, senders-1)
		}
	}
	if got := h.p.LogEndOffset(); got != rounds*perBatch {
		t.Fatalf("log end offset %d, want %d", got, rounds*perBatch)
	}
}

// TestManyProducersInOneRequest: batches of several producers (and a plain
// one) in one request are all checked and recorded.
func TestManyProducersInOneRequest(t *testing.T) {
	h := newProducerHost(t, vfs.NewMem(), false)
	var req []byte
	for id := int64(1); id <= 4; id++ {
		req = append(req, h.records(pbatch{id: id, seq: 0, n: int(id)})...)
	}
	req = append(req, h.records(pbatch{id: -1, epoch: -1, seq: -1, n: 2})...)
	req = append(req, h.records(pbatch{id: 2, seq: 2, n: 1})...) // producer 2 again, in sequence
	if _, err := h.p.Append(req, -1); err != nil {
		t.Fatal(err)
	}
	wantLast := map[int64]int32{1: 0, 2: 2, 3: 2, 4: 3}
	got := h.p.Producers()
	if len(got) != len(wantLast) {
		t.Fatalf("producers %+v", got)
	}
	for _, ps := range got {
		if ps.LastSequence != wantLast[ps.ProducerID] {
			t.Fatalf("producer %d last sequence %d, want %d", ps.ProducerID, ps.LastSequence, wantLast[ps.ProducerID])
		}
	}
	// A request whose third producer is out of order appends nothing, and
	// the producers before it in the request are not advanced.
	end := h.p.LogEndOffset()
	bad := append(h.records(pbatch{id: 1, seq: 1, n: 1}), h.records(pbatch{id: 3, seq: 9, n: 1})...)
	if _, err := h.p.Append(bad, -1); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("err %v, want ErrOutOfOrderSequence", err)
	}
	if h.p.LogEndOffset() != end {
		t.Fatal("a refused request was appended")
	}
	if _, err := h.append(pbatch{id: 1, seq: 1, n: 1}); err != nil {
		t.Fatalf("producer 1 was advanced by the refused request: %v", err)
	}
}

// TestProducerExpiryChangesAtRunTime: producer.id.expiration.ms is a dynamic broker config;
// SetProducerIDExpiration applies it to an already hosted partition from its next check.
func TestProducerExpiryChangesAtRunTime(t *testing.T) {
	h := newProducerHost(t, vfs.NewMem(), false)
	h.opts.ProducerIDExpirationMs, h.opts.ProducerIDExpirationCheckIntervalMs = time.Hour.Milliseconds(), 1_000
	h.restart()
	h.mustAppend(pbatch{id: 1, seq: 0, n: 1})
	h.clock.Advance(2 * time.Minute)
	if got := len(h.p.Producers()); got != 1 {
		t.Fatalf("%d producers 2 minutes into a 1-hour expiration, want 1", got)
	}
	h.mgr.SetProducerIDExpiration(time.Minute.Milliseconds())
	h.clock.Advance(2 * time.Second) // past the check interval
	if got := h.p.Producers(); len(got) != 0 {
		t.Fatalf("after lowering producer.id.expiration.ms to 1 minute: %+v, want none", got)
	}
}
