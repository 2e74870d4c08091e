package txn

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memStateLog is __transaction_state in memory: one byte slice of batches per partition.
type memStateLog struct {
	mu    sync.Mutex
	parts map[int32][]byte
	fail  error
}

func (l *memStateLog) Append(_ context.Context, p int32, batch []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	if l.parts == nil {
		l.parts = map[int32][]byte{}
	}
	l.parts[p] = append(l.parts[p], batch...)
	return nil
}

func (l *memStateLog) setFail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fail = err
}

// loadInto replays every partition into c, as LoadPartitions does.
func (l *memStateLog) loadInto(t *testing.T, c *Coordinator) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.parts {
		if err := c.Load(b); err != nil {
			t.Fatal(err)
		}
	}
}

// sentMarker is one marker a partition received.
type sentMarker struct {
	topic     string
	partition int32
	Marker
}

// markerLog records the markers written to partitions; hold makes writes fail until released.
type markerLog struct {
	mu   sync.Mutex
	sent []sentMarker
	hold bool
}

func (w *markerLog) WriteTxnMarker(_ context.Context, topic string, p int32, m Marker) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.hold {
		return errors.New("partition offline")
	}
	w.sent = append(w.sent, sentMarker{topic, p, m})
	return nil
}

func (w *markerLog) markers() []sentMarker {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.sent)
}

func (w *markerLog) setHold(h bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hold = h
}

// clock is an injected coordinator clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	c       *Coordinator
	log     *memStateLog
	markers *markerLog
	clock   *clock
	ids     *blockLog
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{log: &memStateLog{}, markers: &markerLog{}, clock: &clock{now: time.UnixMilli(1_700_000_000_000)}, ids: &blockLog{}}
	f.c = f.start(t)
	return f
}

// start returns a started coordinator over the fixture's log, markers and clock, loaded
// from the log; the cleanup sweep never fires by itself (tests call Sweep).
func (f *fixture) start(t *testing.T) *Coordinator {
	t.Helper()
	c := New(Config{ProducerIDs: NewProducerIDs(f.ids, 1, 10), Log: f.log, Markers: f.markers,
		NumPartitions: 5, OffsetsNumPartitions: 5, Now: f.clock.Now, CleanupInterval: time.Hour,
		IDExpiration: 24 * time.Hour, MaxTimeout: time.Minute})
	f.log.loadInto(t, c)
	c.Start()
	t.Cleanup(c.Close)
	return c
}

// waitState waits until id reaches state (markers are written on a goroutine).
func waitState(t *testing.T, c *Coordinator, id string, want State) Description {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := c.Describe(id)
		if err == nil && d.State == want {
			c.mu.Lock()
			pending := c.mu.txns[id].pending
			c.mu.Unlock()
			if !pending {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: state %v (err %v), want %v", id, d.State, err, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func initTxn(t *testing.T, c *Coordinator, id string) InitResult {
	t.Helper()
	res, err := c.InitProducerID(context.Background(), InitRequest{TransactionalID: id, TransactionTimeoutMs: 10000, ProducerID: -1, ProducerEpoch: -1})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestInitProducerIDBumpsAndFences(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := initTxn(t, f.c, "a")
	if first.ProducerEpoch != 0 {
		t.Fatalf("first epoch %d, want 0", first.ProducerEpoch)
	}
	second := initTxn(t, f.c, "a")
	if second.ProducerID != first.ProducerID || second.ProducerEpoch != 1 {
		t.Fatalf("second init %+v, want id %d epoch 1", second, first.ProducerID)
	}
	parts := TopicPartitions{"t": {0}}
	if err := f.c.AddPartitions(ctx, "a", first.ProducerID, first.ProducerEpoch, parts); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("old epoch: %v, want ErrProducerFenced", err)
	}
	if err := f.c.AddPartitions(ctx, "a", first.ProducerID+1, second.ProducerEpoch, parts); !errors.Is(err, ErrInvalidProducerIDMapping) {
		t.Fatalf("other producer id: %v, want ErrInvalidProducerIDMapping", err)
	}
	if err := f.c.AddPartitions(ctx, "nobody", first.ProducerID, 0, parts); !errors.Is(err, ErrInvalidProducerIDMapping) {
		t.Fatalf("unknown id: %v, want ErrInvalidProducerIDMapping", err)
	}

	// KIP-360: the current producer asks for a bump; a retry of that bump gets the same answer.
	bumped, err := f.c.InitProducerID(ctx, InitRequest{TransactionalID: "a", TransactionTimeoutMs: 10000, ProducerID: second.ProducerID, ProducerEpoch: second.ProducerEpoch})
	if err != nil || bumped.ProducerEpoch != 2 {
		t.Fatalf("KIP-360 bump: %+v, %v; want epoch 2", bumped, err)
	}
	retry, err := f.c.InitProducerID(ctx, InitRequest{TransactionalID: "a", TransactionTimeoutMs: 10000, ProducerID: second.ProducerID, ProducerEpoch: second.ProducerEpoch})
	if err != nil || retry != bumped {
		t.Fatalf("KIP-360 retry: %+v, %v; want %+v", retry, err, bumped)
	}
	if _, err := f.c.InitProducerID(ctx, InitRequest{TransactionalID: "a", TransactionTimeoutMs: 10000, ProducerID: first.ProducerID, ProducerEpoch: first.ProducerEpoch}); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("KIP-360 from a fenced epoch: %v, want ErrProducerFenced", err)
	}

	cases := []struct {
		name    string
		timeout int32
	}{{"zero timeout", 0}, {"above transaction.max.timeout.ms", 120000}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.c.InitProducerID(ctx, InitRequest{TransactionalID: "b", TransactionTimeoutMs: tc.timeout, ProducerID: -1, ProducerEpoch: -1})
			if !errors.Is(err, ErrInvalidTransactionTimeout) {
				t.Fatalf("err %v, want ErrInvalidTransactionTimeout", err)
			}
		})
	}
}

func TestCommitAndAbortWriteMarkersAndComplete(t *testing.T) {
	cases := []struct {
		name   string
		commit bool
		final  State
	}{
		{"commit", true, CompleteCommit},
		{"abort", false, CompleteAbort},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			p := initTxn(t, f.c, "a")
			if err := f.c.AddPartitions(ctx, "a", p.ProducerID, p.ProducerEpoch, TopicPartitions{"t": {0, 1}}); err != nil {
				t.Fatal(err)
			}
			if err := f.c.AddOffsets(ctx, "a", p.ProducerID, p.ProducerEpoch, "g"); err != nil {
				t.Fatal(err)
			}
			d, _ := f.c.Describe("a")
			if d.State != Ongoing || len(d.Partitions["t"]) != 2 || len(d.Partitions["__consumer_offsets"]) != 1 {
				t.Fatalf("ongoing: %+v", d)
			}
			if _, err := f.c.EndTxn(ctx, EndRequest{TransactionalID: "a", ProducerID: p.ProducerID, ProducerEpoch: p.ProducerEpoch, Commit: tc.commit}); err != nil {
				t.Fatal(err)
			}
			waitState(t, f.c, "a", tc.final)
			sent := f.markers.markers()
			if len(sent) != 3 {
				t.Fatalf("%d markers, want 3: %+v", len(sent), sent)
			}
			for _, m := range sent {
				if m.Commit != tc.commit || m.ProducerID != p.ProducerID || m.ProducerEpoch != p.ProducerEpoch {
					t.Fatalf("marker %+v", m)
				}
			}
			// The offsets' marker comes last (markerOrder): once OffsetFetch calls them stable,
			// the data partitions' markers are written.
			if last := sent[len(sent)-1]; last.topic != "__consumer_offsets" {
				t.Fatalf("last marker written to %s-%d, want __consumer_offsets: %+v", last.topic, last.partition, sent)
			}
			// A retry of the same EndTxn succeeds; the opposite outcome does not.
			if _, err := f.c.EndTxn(ctx, EndRequest{TransactionalID: "a", ProducerID: p.ProducerID, ProducerEpoch: p.ProducerEpoch, Commit: tc.commit}); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if _, err := f.c.EndTxn(ctx, EndRequest{TransactionalID: "a", ProducerID: p.ProducerID, ProducerEpoch: p.ProducerEpoch, Commit: !tc.commit}); !errors.Is(err, ErrInvalidTxnState) {
				t.Fatalf("opposite outcome: %v, want ErrInvalidTxnState", err)
			}
		})
	}
}

func TestEndTxnWithoutTransactionIsInvalid(t *testing.T) {
	f := newFixture(t)
	p := initTxn(t, f.c, "a")
	_, err := f.c.EndTxn(context.Background(), EndRequest{TransactionalID: "a", ProducerID: p.ProducerID, ProducerEpoch: p.ProducerEpoch, Commit: true})
	if !errors.Is(err, ErrInvalidTxnState) {
		t.Fatalf("err %v, want ErrInvalidTxnState", err)
	}
}

func TestConcurrentTransactionsWhileMarkersPending(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := initTxn(t, f.c, "a")
	f.markers.setHold(true)
	if err := f.c.AddPartitions(ctx, "a", p.ProducerID, p.ProducerEpoch, TopicPartitions{"t": {0}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.EndTxn(ctx, EndRequest{TransactionalID: "a", ProducerID: p.ProducerID, ProducerEpoch: p.ProducerEpoch, Commit: true}); err != nil {
		t.Fatal(err)
	}
	// The request waits for the markers until its context ends, then gives up.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := f.c.AddPartitions(short, "a", p.ProducerID, p.ProducerEpoch, TopicPartitions{"t": {1}}); !errors.Is(err, ErrConcurrentTransactions) {
		t.Fatalf("add while committing: %v, want ErrConcurrentTransactions", err)
	}
	if d, _ := f.c.Describe("a"); d.State != PrepareCommit {
		t.Fatalf("state %v, want PrepareCommit", d.State)
	}
	f.markers.setHold(false)
	waitState(t, f.c, "a", CompleteCommit)
	if err := f.c.AddPartitions(ctx, "a", p.ProducerID, p.ProducerEpoch, TopicPartitions{"t": {1}}); err != nil {
		t.Fatalf("next transaction: %v", err)
	}
}

func TestInitFencesOngoingTransaction(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old := initTxn(t, f.c, "a")
	if err := f.c.AddPartitions(ctx, "a", old.ProducerID, old.ProducerEpoch, TopicPartitions{"t": {0}}); err != nil {
		t.Fatal(err)
	}
	_, err := f.c.InitProducerID(ctx, InitRequest{TransactionalID: "a", TransactionTimeoutMs: 10000, ProducerID: -1, ProducerEpoch: -1})
	if !errors.Is(err, ErrConcurrentTransactions) {
		t.Fatalf("init over an ongoing transaction: %v, want ErrConcurrentTransactions", err)
	}
	waitState(t, f.c, "a", CompleteAbort)
	sent := f.markers.markers()
	if len(sent) != 1 || sent[0].Commit || sent[0].ProducerEpoch != old.ProducerEpoch+1 {
		t.Fatalf("markers %+v, want one abort at the bumped epoch", sent)
	}
	res := initTxn(t, f.c, "a")
	if res.ProducerEpoch != old.ProducerEpoch+2 {
		t.Fatalf("epoch %d after the fence, want %d", res.ProducerEpoch, old.ProducerEpoch+2)
	}
	if _, err := f.c.EndTxn(ctx, EndRequest{TransactionalID: "a", ProducerID: old.ProducerID, ProducerEpoch: old.ProducerEpoch, Commit: true}); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("the fenced producer's commit: %v, want ErrProducerFenced", err)
	}
}

func TestTransactionsV2BumpEpochPerTransaction(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := initTxn(t, f.c, "a")
	if err := f.c.AddPartitions(ctx, "a", p.ProducerID, p.ProducerEpoch, TopicPartitions{"t": {0}}); err != nil {
		t.Fatal(err)
	}
	req := EndRequest{TransactionalID: "a", ProducerID: p.ProducerID, ProducerEpoch: p.ProducerEpoch, Commit: true, BumpEpoch: true}
	res, err := f.c.EndTxn(ctx, req)
	if err != nil || res.ProducerID != p.ProducerID || res.ProducerEpoch != p.ProducerEpoch+1 {
		t.Fatalf("v5 end: %+v, %v; want epoch %d", res, err, p.ProducerEpoch+1)
	}
	waitState(t, f.c, "a", CompleteCommit)
	if sent := f.markers.markers(); len(sent) != 1 || sent[0].ProducerEpoch != p.ProducerEpoch+1 {
		t.Fatalf("markers %+v, want the bumped epoch", sent)
	}
	if retry, err := f.c.EndTxn(ctx, req); err != nil || retry != res {
		t.Fatalf("v5 retry: %+v, %v; want %+v", retry, err, res)
	}
	// An abort of a transaction that added nothing is allowed under v2 and bumps again.
	res2, err := f.c.EndTxn(ctx, EndRequest{TransactionalID: "a", ProducerID: res.ProducerID, ProducerEpoch: res.ProducerEpoch, BumpEpoch: true})
	if err != nil || res2.ProducerEpoch != res.ProducerEpoch+1 {
		t.Fatalf("v5 empty abort: %+v, %v", res2, err)
	}
	waitState(t, f.c, "a", CompleteAbort)
}

func TestTimeoutAbortsAndExpiryForgets(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := initTxn(t, f.c, "slow")
	initTxn(t, f.c, "idle")
	if err := f.c.AddPartitions(ctx, "slow", p.ProducerID, p.ProducerEpoch, TopicPartitions{"t": {0}}); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(5 * time.Second)
	f.c.Sweep(ctx)
	if d, _ := f.c.Describe("slow"); d.State != Ongoing {
		t.Fatalf("before the timeout: %v", d.State)
	}
	f.clock.advance(6 * time.Second) // past the 10 s transaction timeout
	f.c.Sweep(ctx)
	d := waitState(t, f.c, "slow", CompleteAbort)
	if d.ProducerEpoch != p.ProducerEpoch+1 {
		t.Fatalf("epoch %d after the timeout abort, want %d (the producer is fenced)", d.ProducerEpoch, p.ProducerEpoch+1)
	}
	if _, err := f.c.EndTxn(ctx, EndRequest{TransactionalID: "slow", ProducerID: p.ProducerID, ProducerEpoch: p.ProducerEpoch, Commit: true}); !errors.Is(err, ErrProducerFenced) {
		t.Fatalf("commit after the timeout: %v, want ErrProducerFenced", err)
	}
	f.clock.advance(25 * time.Hour) // past transactional.id.expiration.ms
	f.c.Sweep(ctx)
	for _, id := range []string{"slow", "idle"} {
		if _, err := f.c.Describe(id); !errors.Is(err, ErrTransactionalIDNotFound) {
			t.Fatalf("%s after expiry: %v, want ErrTransactionalIDNotFound", id, err)
		}
	}
	// The tombstones are in the log: a restarted coordinator does not know the ids either.
	f.c.Close()
	again := f.start(t)
	if list, _ := again.List(ListFilter{}); len(list) != 0 {
		t.Fatalf("after restart: %+v", list)
	}
}

func TestRecoveryCompletesPreparedTransactions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := initTxn(t, f.c, "a")
	if err := f.c.AddPartitions(ctx, "a", p.ProducerID, p.ProducerEpoch, TopicPartitions{"t": {0, 3}}); err != nil {
		t.Fatal(err)
	}
	f.markers.setHold(true) // the broker dies before any marker lands
	if _, err := f.c.EndTxn(ctx, EndRequest{TransactionalID: "a", ProducerID: p.ProducerID, ProducerEpoch: p.ProducerEpoch, Commit: true}); err != nil {
		t.Fatal(err)
	}
	f.c.Close()
	f.markers.setHold(false)
	again := f.start(t)
	waitState(t, again, "a", CompleteCommit)
	sent := f.markers.markers()
	if len(sent) != 2 || !sent[0].Commit || !sent[1].Commit {
		t.Fatalf("markers after recovery %+v, want commits for t-0 and t-3", sent)
	}
	// The id keeps its producer id and epoch across the restart.
	if res := initTxn(t, again, "a"); res.ProducerID != p.ProducerID || res.ProducerEpoch != p.ProducerEpoch+1 {
		t.Fatalf("init after restart %+v", res)
	}
}

func TestFailedWriteLeavesStateUnchanged(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := initTxn(t, f.c, "a")
	f.log.setFail(errors.New("disk full"))
	if err := f.c.AddPartitions(ctx, "a", p.ProducerID, p.ProducerEpoch, TopicPartitions{"t": {0}}); !errors.Is(err, ErrCoordinatorNotAvailable) {
		t.Fatalf("err %v, want ErrCoordinatorNotAvailable", err)
	}
	if d, _ := f.c.Describe("a"); d.State != Empty || len(d.Partitions) != 0 {
		t.Fatalf("after a failed write: %+v", d)
	}
	f.log.setFail(nil)
	if err := f.c.AddPartitions(ctx, "a", p.ProducerID, p.ProducerEpoch, TopicPartitions{"t": {0}}); err != nil {
		t.Fatal(err)
	}
}

func TestEpochExhaustionGetsNewProducerID(t *testing.T) {
	f := newFixture(t)
	p := initTxn(t, f.c, "a")
	f.c.mu.Lock()
	f.c.mu.txns["a"].epoch = 32766 // as if bumped that often
	f.c.mu.Unlock()
	res := initTxn(t, f.c, "a")
	if res.ProducerID == p.ProducerID || res.ProducerEpoch != 0 {
		t.Fatalf("after exhaustion %+v, want a new producer id at epoch 0", res)
	}
}

func TestListFilters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := initTxn(t, f.c, "a")
	b := initTxn(t, f.c, "b")
	if err := f.c.AddPartitions(ctx, "b", b.ProducerID, b.ProducerEpoch, TopicPartitions{"t": {0}}); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(3 * time.Second)
	cases := []struct {
		name string
		f    ListFilter
		want []string
	}{
		{"all", ListFilter{}, []string{"a", "b"}},
		{"ongoing", ListFilter{States: []State{Ongoing}}, []string{"b"}},
		{"by producer", ListFilter{ProducerIDs: []int64{a.ProducerID}}, []string{"a"}},
		{"running 2 s", ListFilter{MinDurationMs: 2000}, []string{"b"}},
		{"running 5 s", ListFilter{MinDurationMs: 5000}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			list, err := f.c.List(tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range list {
				got = append(got, d.TransactionalID)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestExhaustedEpochKeepsMarkersOnTheOldProducerID(t *testing.T) {
	ctx := context.Background()
	setEpoch := func(f *fixture, id string, epoch int16) {
		f.c.mu.Lock()
		f.c.mu.txns[id].epoch = epoch // as if bumped that often
		f.c.mu.Unlock()
	}
	t.Run("EndTxn v5 hands over to a new producer id", func(t *testing.T) {
		f := newFixture(t)
		p := initTxn(t, f.c, "a")
		setEpoch(f, "a", 32766)
		if err := f.c.AddPartitions(ctx, "a", p.ProducerID, 32766, TopicPartitions{"t": {0}}); err != nil {
			t.Fatal(err)
		}
		req := EndRequest{TransactionalID: "a", ProducerID: p.ProducerID, ProducerEpoch: 32766, Commit: true, BumpEpoch: true}
		res, err := f.c.EndTxn(ctx, req)
		if err != nil || res.ProducerID == p.ProducerID || res.ProducerEpoch != 0 {
			t.Fatalf("end: %+v, %v; want a new producer id at epoch 0", res, err)
		}
		d := waitState(t, f.c, "a", CompleteCommit)
		if d.ProducerID != res.ProducerID || d.ProducerEpoch != 0 {
			t.Fatalf("after completion %+v, want producer %d epoch 0", d, res.ProducerID)
		}
		if sent := f.markers.markers(); len(sent) != 1 || sent[0].ProducerID != p.ProducerID || sent[0].ProducerEpoch != 32767 {
			t.Fatalf("markers %+v, want the old producer id at epoch 32767", sent)
		}
		if retry, err := f.c.EndTxn(ctx, req); err != nil || retry.ProducerID != res.ProducerID {
			t.Fatalf("retry: %+v, %v", retry, err)
		}
		// The new id is durable: a restarted coordinator knows it.
		f.c.Close()
		if d, _ := f.start(t).Describe("a"); d.ProducerID != res.ProducerID {
			t.Fatalf("after restart %+v", d)
		}
	})
	t.Run("InitProducerId over an ongoing transaction", func(t *testing.T) {
		f := newFixture(t)
		p := initTxn(t, f.c, "a")
		setEpoch(f, "a", 32766)
		if err := f.c.AddPartitions(ctx, "a", p.ProducerID, 32766, TopicPartitions{"t": {0}}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.c.InitProducerID(ctx, InitRequest{TransactionalID: "a", TransactionTimeoutMs: 10000, ProducerID: -1, ProducerEpoch: -1}); !errors.Is(err, ErrConcurrentTransactions) {
			t.Fatalf("init: %v", err)
		}
		waitState(t, f.c, "a", CompleteAbort)
		if sent := f.markers.markers(); len(sent) != 1 || sent[0].ProducerID != p.ProducerID || sent[0].Commit {
			t.Fatalf("markers %+v, want an abort for the old producer id", sent)
		}
		if res := initTxn(t, f.c, "a"); res.ProducerID == p.ProducerID || res.ProducerEpoch != 0 {
			t.Fatalf("init after the abort %+v, want a new producer id", res)
		}
	})
}

// TestAbortFencedTxn: the group coordinator's report of a member gone from its group aborts
// the producer's ongoing transaction when it holds that group's offsets, at the epoch they
// were committed under, fencing the producer; any other transaction is left alone.
func TestAbortFencedTxn(t *testing.T) {
	cases := []struct {
		name      string
		group     string
		epochDiff int16 // added to the transaction's epoch in the report
		wantAbort bool
	}{
		{"holds the group's offsets", "g", 0, true},
		{"holds another group's offsets", "other", 0, false},
		{"a report about an earlier epoch", "g", -1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			p := initTxn(t, f.c, "app")
			if err := f.c.AddPartitions(ctx, "app", p.ProducerID, p.ProducerEpoch, TopicPartitions{"out": {0}}); err != nil {
				t.Fatal(err)
			}
			if err := f.c.AddOffsets(ctx, "app", p.ProducerID, p.ProducerEpoch, "g"); err != nil {
				t.Fatal(err)
			}
			if !tc.wantAbort {
				f.c.abortFenced(p.ProducerID, p.ProducerEpoch+tc.epochDiff, tc.group) // synchronously: nothing to wait for
				if d, _ := f.c.Describe("app"); d.State != Ongoing || len(f.markers.markers()) != 0 {
					t.Fatalf("state %v, markers %+v; want Ongoing and none", d.State, f.markers.markers())
				}
				return
			}
			f.c.AbortFencedTxn(p.ProducerID, p.ProducerEpoch+tc.epochDiff, tc.group)
			d := waitState(t, f.c, "app", CompleteAbort)
			if d.ProducerEpoch != p.ProducerEpoch+1 {
				t.Fatalf("epoch %d after the abort, want %d (the producer fenced)", d.ProducerEpoch, p.ProducerEpoch+1)
			}
			sent := f.markers.markers()
			if len(sent) != 2 || sent[0].Commit || sent[1].Commit {
				t.Fatalf("markers %+v, want two aborts (output and __consumer_offsets)", sent)
			}
			if _, err := f.c.EndTxn(ctx, EndRequest{TransactionalID: "app", ProducerID: p.ProducerID, ProducerEpoch: p.ProducerEpoch, Commit: true}); !errors.Is(err, ErrProducerFenced) {
				t.Fatalf("the abandoned producer's commit: %v, want ErrProducerFenced", err)
			}
		})
	}
}
