package group

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// fakeClock is an injected Config.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t
}

func TestOffsetRetention(t *testing.T) {
	const retention = 10 * time.Minute
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: t0}
	log := &memLog{}
	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: log, NumPartitions: 1,
		Now: clock.Now, OffsetsRetention: retention})
	t.Cleanup(c.Close)
	ctx := context.Background()
	commit := func(gid, member string, gen int32, topic string, at time.Time) {
		t.Helper()
		o := []OffsetCommit{{Topic: topic, Offset: 1, LeaderEpoch: -1, CommitTime: at.UnixMilli()}}
		if err := c.CommitOffsets(ctx, gid, member, "", gen, o); err != nil {
			t.Fatalf("commit to %s: %v", gid, err)
		}
	}
	has := func(gid, topic string) bool {
		_, ok := c.FetchOffset(gid, topic, 0)
		return ok
	}
	// A standalone group: each offset expires retention after its commit.
	commit("solo", "", -1, "t", t0)
	// A classic group with members keeps old offsets; once empty they last retention more.
	ids, gen := stableGroup(t, c, 1)
	commit("g", ids[0], gen, "t", t0)
	// A consumer group keeps offsets of subscribed topics and expires the others.
	img := topicsImage(t, map[string]int{"orders": 1})
	cc := newConsumerClient(t, c, "a", "orders")
	cc.group = "cg"
	cc.beat(img)
	commit("cg", "a", cc.epoch, "orders", t0)
	commit("cg", "a", cc.epoch, "gone", t0)

	clock.set(t0.Add(retention - time.Second))
	if n := c.ExpireOffsets(ctx); n != 0 {
		t.Fatalf("expired %d offsets before their retention", n)
	}
	t1 := t0.Add(retention)
	clock.set(t1)
	if n := c.ExpireOffsets(ctx); n != 2 || has("solo", "t") || has("cg", "gone") || !has("cg", "orders") || !has("g", "t") {
		t.Fatalf("sweep at retention expired %d: solo %v, cg gone %v, cg orders %v, g %v", n,
			has("solo", "t"), has("cg", "gone"), has("cg", "orders"), has("g", "t"))
	}
	if l := c.List(); len(l) != 2 {
		t.Fatalf("groups after the sweep: %+v (the standalone group should be gone)", l)
	}
	c.Leave("g", []LeavingMember{{MemberID: ids[0]}}) // g becomes Empty at t1
	clock.set(t1.Add(retention - time.Second))
	if n := c.ExpireOffsets(ctx); n != 0 {
		t.Fatalf("expired %d offsets of a group empty for less than retention", n)
	}
	clock.set(t1.Add(retention))
	if n := c.ExpireOffsets(ctx); n != 1 || has("g", "t") {
		t.Fatalf("sweep after g was empty for retention: %d expired, offset still there: %v", n, has("g", "t"))
	}
	// The tombstones are durable: a reload sees the same offsets.
	c2 := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour})
	t.Cleanup(c2.Close)
	if err := c2.Load(log.bytes()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		gid, topic string
		want       bool
	}{{"solo", "t", false}, {"g", "t", false}, {"cg", "gone", false}, {"cg", "orders", true}} {
		if _, ok := c2.FetchOffset(tc.gid, tc.topic, 0); ok != tc.want {
			t.Fatalf("after reload %s/%s present %v, want %v", tc.gid, tc.topic, ok, tc.want)
		}
	}
}

func TestOffsetRetentionSweepRuns(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := New(Config{Now: clock.Now, OffsetsRetention: time.Minute, RetentionCheckInterval: time.Millisecond})
	t.Cleanup(c.Close)
	if err := c.CommitOffsets(context.Background(), "solo", "", "", -1, []OffsetCommit{{Topic: "t", Offset: 1, CommitTime: clock.Now().UnixMilli()}}); err != nil {
		t.Fatal(err)
	}
	clock.set(clock.Now().Add(time.Hour))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := c.FetchOffset("solo", "t", 0); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the periodic sweep never expired the offset")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestOffsetRetentionOfUnsubscribedTopicsInStableGroups(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Now: clock.Now, OffsetsRetention: time.Minute})
	t.Cleanup(c.Close)
	md := kmsg.ConsumerMemberMetadata{Version: 0, Topics: []string{"orders"}}
	req := joinReq("", "range")
	req.Protocols[0].Metadata = md.AppendTo(nil)
	id := memberID(t, c, req)
	req.MemberID = id
	j := recvJoin(t, c.Join(req))
	if s := recvSync(t, c.Sync(SyncRequest{Group: "g", MemberID: id, Generation: j.Generation, Assignments: map[string][]byte{id: nil}})); s.Err != nil {
		t.Fatal(s.Err)
	}
	now := clock.Now().UnixMilli()
	for _, topic := range []string{"orders", "old"} {
		if err := c.CommitOffsets(context.Background(), "g", id, "", j.Generation, []OffsetCommit{{Topic: topic, Offset: 1, CommitTime: now}}); err != nil {
			t.Fatal(err)
		}
	}
	clock.set(clock.Now().Add(time.Minute))
	if n := c.ExpireOffsets(context.Background()); n != 1 {
		t.Fatalf("expired %d offsets, want the unsubscribed topic's only", n)
	}
	if _, ok := c.FetchOffset("g", "old", 0); ok {
		t.Fatal("offset of an unsubscribed topic kept")
	}
	if _, ok := c.FetchOffset("g", "orders", 0); !ok {
		t.Fatal("offset of a subscribed topic expired")
	}
}
