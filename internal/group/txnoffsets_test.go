package group

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/record"
)

// markerBatch is the control batch a partition writes for a transaction marker.
func markerBatch(t *testing.T, producerID int64, epoch int16, commit bool) []byte {
	t.Helper()
	b := record.NewBuilder(record.None)
	b.ProducerID, b.ProducerEpoch, b.Transactional, b.Control = producerID, epoch, true, true
	typ := record.ControlAbort
	if commit {
		typ = record.ControlCommit
	}
	if err := b.AddControl(typ, 1, 0); err != nil {
		t.Fatal(err)
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTxnOffsetsVisibleOnlyAfterCommitMarker(t *testing.T) {
	cases := []struct {
		name    string
		commit  bool
		wantOff int64 // -1: no committed offset
	}{
		{"commit", true, 42},
		{"abort", false, 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log := &memLog{}
			c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: log, NumPartitions: 50})
			defer c.Close()
			ctx := context.Background()
			if err := c.CommitOffsets(ctx, "g", "", "", -1, []OffsetCommit{{Topic: "in", Partition: 0, Offset: 7, LeaderEpoch: -1}}); err != nil {
				t.Fatal(err)
			}
			tc2 := TxnCommit{Group: "g", Generation: -1, ProducerID: 9, ProducerEpoch: 3,
				Offsets: []OffsetCommit{{Topic: "in", Partition: 0, Offset: 42, LeaderEpoch: -1}}}
			if err := c.CommitTxnOffsets(ctx, tc2); err != nil {
				t.Fatal(err)
			}
			if o, _ := c.FetchOffset("g", "in", 0); o.Offset != 7 || !c.HasPendingTxnOffsets("g", "in", 0) {
				t.Fatalf("before the marker: offset %d, pending %v; want 7, true", o.Offset, c.HasPendingTxnOffsets("g", "in", 0))
			}
			c.CompleteTxnOffsets(Partition("g", 50), 9, tc.commit)
			if o, _ := c.FetchOffset("g", "in", 0); o.Offset != tc.wantOff || c.HasPendingTxnOffsets("g", "in", 0) {
				t.Fatalf("after the marker: offset %d, pending %v; want %d, false", o.Offset, c.HasPendingTxnOffsets("g", "in", 0), tc.wantOff)
			}

			// The log replays to the same state: the transactional batch stays pending until
			// the marker that follows it.
			log.batches = append(log.batches, markerBatch(t, 9, 3, tc.commit)...)
			reloaded := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, NumPartitions: 50})
			defer reloaded.Close()
			if err := reloaded.Load(log.bytes()); err != nil {
				t.Fatal(err)
			}
			if o, _ := reloaded.FetchOffset("g", "in", 0); o.Offset != tc.wantOff || reloaded.HasPendingTxnOffsets("g", "in", 0) {
				t.Fatalf("reloaded: offset %d, pending %v; want %d, false", o.Offset, reloaded.HasPendingTxnOffsets("g", "in", 0), tc.wantOff)
			}
		})
	}
}

func TestTxnOffsetsWithoutMarkerStayPendingAfterLoad(t *testing.T) {
	log := &memLog{}
	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: log, NumPartitions: 50})
	defer c.Close()
	ctx := context.Background()
	for i, off := range []int64{5, 6} {
		tc := TxnCommit{Group: "g", Generation: -1, ProducerID: 4, ProducerEpoch: 0,
			Offsets: []OffsetCommit{{Topic: "in", Partition: 1, Offset: off, LeaderEpoch: -1}}}
		if err := c.CommitTxnOffsets(ctx, tc); err != nil {
			t.Fatal(err)
		}
		// Sequences continue within an epoch, as the partition's idempotence checks require.
		bs := record.NewBatches(log.bytes())
		var h record.Header
		for _, hh, ok := bs.Next(); ok; _, hh, ok = bs.Next() {
			h = hh
		}
		if h.BaseSequence != int32(i) || !h.IsTransactional() || h.ProducerID != 4 {
			t.Fatalf("batch %d: sequence %d transactional %v producer %d", i, h.BaseSequence, h.IsTransactional(), h.ProducerID)
		}
	}
	reloaded := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, NumPartitions: 50})
	defer reloaded.Close()
	if err := reloaded.Load(log.bytes()); err != nil {
		t.Fatal(err)
	}
	if _, ok := reloaded.FetchOffset("g", "in", 1); ok || !reloaded.HasPendingTxnOffsets("g", "in", 1) {
		t.Fatal("an unended transactional commit must stay pending after a load")
	}
	reloaded.CompleteTxnOffsets(-1, 4, true)
	if o, _ := reloaded.FetchOffset("g", "in", 1); o.Offset != 6 {
		t.Fatalf("offset %d after the commit marker, want 6", o.Offset)
	}
}

// abortRecorder is the TxnAborter of these tests: it records the aborts asked for.
type abortRecorder struct {
	mu    sync.Mutex
	calls []string
}

func (a *abortRecorder) AbortFencedTxn(producerID int64, producerEpoch int16, group string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, fmt.Sprintf("%d/%d/%s", producerID, producerEpoch, group))
}

func (a *abortRecorder) taken() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

// TestAbandonedTxnOffsetsAborted: a transaction whose pending offsets were committed by a
// member that then left the group, or whose static instance was taken over by a new process,
// is handed to the transaction coordinator to abort; one ended by its marker, or whose member
// is still there, is not.
func TestAbandonedTxnOffsetsAborted(t *testing.T) {
	cases := []struct {
		name string
		then func(t *testing.T, c *Coordinator, member string)
		want []string
	}{
		{"static instance taken over by a new process", func(t *testing.T, c *Coordinator, _ string) {
			if r := recvJoin(t, c.Join(staticJoin("a", ""))); r.Err != nil {
				t.Fatalf("rejoin: %v", r.Err)
			}
		}, []string{"9/3/g"}},
		{"member leaves", func(t *testing.T, c *Coordinator, member string) {
			if err := c.Leave("g", []LeavingMember{{MemberID: member}})[0]; err != nil {
				t.Fatal(err)
			}
		}, []string{"9/3/g"}},
		{"member stays", func(*testing.T, *Coordinator, string) {}, nil},
		{"transaction committed before the member leaves", func(t *testing.T, c *Coordinator, member string) {
			c.CompleteTxnOffsets(Partition("g", 50), 9, true)
			c.Leave("g", []LeavingMember{{MemberID: member}})
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, NumPartitions: 50})
			defer c.Close()
			aborter := &abortRecorder{}
			c.SetTxnAborter(aborter)
			join := c.Join(staticJoin("a", ""))
			endInitialDelay(c)
			r := recvJoin(t, join)
			if s := recvSync(t, c.Sync(SyncRequest{Group: "g", MemberID: r.MemberID, InstanceID: "a", Generation: r.Generation,
				Assignments: map[string][]byte{r.MemberID: []byte("A")}})); s.Err != nil {
				t.Fatalf("sync: %v", s.Err)
			}
			err := c.CommitTxnOffsets(context.Background(), TxnCommit{Group: "g", MemberID: r.MemberID, InstanceID: "a",
				Generation: r.Generation, ProducerID: 9, ProducerEpoch: 3,
				Offsets: []OffsetCommit{{Topic: "in", Partition: 0, Offset: 42, LeaderEpoch: -1}}})
			if err != nil {
				t.Fatal(err)
			}
			tc.then(t, c, r.MemberID)
			if got := aborter.taken(); !slices.Equal(got, tc.want) {
				t.Fatalf("aborts asked for: %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAbandonedTxnOffsetsAbortedConsumerGroup: the same for a KIP-848 consumer group: a
// member leaving (epoch -1) or a static member taken over after its temporary leave (-2).
func TestAbandonedTxnOffsetsAbortedConsumerGroup(t *testing.T) {
	inst := "instance-1"
	cases := []struct {
		name   string
		static bool
		then   func(t *testing.T, c *Coordinator, a *consumerClient)
		want   []string
	}{
		{"member leaves", false, func(_ *testing.T, _ *Coordinator, a *consumerClient) { a.leave() }, []string{"9/3/g"}},
		{"static member taken over", true, func(t *testing.T, c *Coordinator, a *consumerClient) {
			ctx := context.Background()
			if res := c.ConsumerHeartbeat(ctx, ConsumerHeartbeatRequest{Group: "g", MemberID: a.id, MemberEpoch: -2, InstanceID: &inst}); res.Err != nil {
				t.Fatal(res.Err)
			}
			req := newConsumerClient(t, c, "a2", "in").request(nil)
			req.InstanceID = &inst
			if res := c.ConsumerHeartbeat(ctx, req); res.Err != nil {
				t.Fatal(res.Err)
			}
		}, []string{"9/3/g"}},
		{"member stays", false, func(*testing.T, *Coordinator, *consumerClient) {}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newConsumerCoordinator(t, Config{NumPartitions: 50})
			aborter := &abortRecorder{}
			c.SetTxnAborter(aborter)
			img := topicsImage(t, map[string]int{"in": 1})
			a := newConsumerClient(t, c, "a", "in")
			req := a.request(img)
			if tc.static {
				req.InstanceID = &inst
			}
			res := c.ConsumerHeartbeat(context.Background(), req)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			a.epoch = res.MemberEpoch
			err := c.CommitTxnOffsets(context.Background(), TxnCommit{Group: "g", MemberID: "a", Generation: a.epoch, ProducerID: 9, ProducerEpoch: 3,
				Offsets: []OffsetCommit{{Topic: "in", Partition: 0, Offset: 42, LeaderEpoch: -1}}})
			if err != nil {
				t.Fatal(err)
			}
			tc.then(t, c, a)
			if got := aborter.taken(); !slices.Equal(got, tc.want) {
				t.Fatalf("aborts asked for: %v, want %v", got, tc.want)
			}
		})
	}
}
