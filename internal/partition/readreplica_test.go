package partition

import (
	"errors"
	"testing"
)

// TestFollowerServesConsumers: a follower serves KIP-392 consumer reads up
// to its own high watermark, with the epoch checks of the leader, and
// nothing to consumers that did not opt in.
func TestFollowerServesConsumers(t *testing.T) {
	state := State{Leader: 1, LeaderEpoch: 0, PartitionEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}
	p := newTestPartition(t, DefaultConfig(), state)
	for _, n := range []int{3, 2} { // batches [0,2] and [3,4]
		if _, err := p.Append(records(t, n), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.UpdateFollowerFetch(2, -1, 3); err != nil {
		t.Fatal(err)
	}
	// Node 2 takes over; this node follows with high watermark 3 and log end 5.
	state.Leader, state.LeaderEpoch, state.PartitionEpoch = 2, 1, 2
	if err := p.SetState(state); err != nil {
		t.Fatal(err)
	}
	if hw, leo := p.HighWatermark(), p.LogEndOffset(); hw != 3 || leo != 5 {
		t.Fatalf("follower hw %d leo %d, want 3 and 5", hw, leo)
	}
	opts := ReadOptions{MaxBytes: 1 << 20, MinOneBatch: true, CurrentLeaderEpoch: NoLeaderEpoch, LastFetchedEpoch: NoLeaderEpoch, Replica: -1, AnyReplica: true}
	cases := []struct {
		name     string
		offset   int64
		epoch    int32
		any      bool
		want     error
		hasBytes bool
	}{
		{"from the start", 0, NoLeaderEpoch, true, nil, true},
		{"current epoch", 0, 1, true, nil, true},
		{"fenced epoch", 0, 0, true, ErrFencedLeaderEpoch, false},
		{"unknown epoch", 0, 2, true, ErrUnknownLeaderEpoch, false},
		{"between hw and log end", 4, NoLeaderEpoch, true, nil, false},
		{"at the log end", 5, NoLeaderEpoch, true, nil, false},
		{"past the log end", 6, NoLeaderEpoch, true, ErrOffsetOutOfRange, false},
		{"leader-only consumer", 0, NoLeaderEpoch, false, ErrNotLeader, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := opts
			o.CurrentLeaderEpoch, o.AnyReplica = c.epoch, c.any
			res, err := p.Read(c.offset, o)
			defer res.Records.Release()
			if !errors.Is(err, c.want) || (err == nil) != (c.want == nil) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if got := res.Records.Bytes() > 0; got != c.hasBytes {
				t.Fatalf("returned bytes: %v, want %v", got, c.hasBytes)
			}
			if err == nil && res.HighWatermark != 3 {
				t.Fatalf("high watermark %d, want the follower's 3", res.HighWatermark)
			}
			if c.hasBytes && res.Records.NextOffset > 3 {
				t.Fatalf("read up to %d, past the follower's high watermark", res.Records.NextOffset)
			}
		})
	}
	// A replica that left the assignment serves nothing.
	state.Replicas, state.ISR, state.PartitionEpoch = []int32{2, 3}, []int32{2, 3}, 3
	if err := p.SetState(state); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Read(0, opts); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("read on a non-replica: %v", err)
	}
}

func TestPreferredReadReplica(t *testing.T) {
	state := State{Leader: 1, LeaderEpoch: 0, PartitionEpoch: 1, Replicas: []int32{1, 2, 3, 4}, ISR: []int32{1, 2, 3, 4}}
	p := newTestPartition(t, DefaultConfig(), state)
	if _, err := p.Append(records(t, 5), 1); err != nil {
		t.Fatal(err)
	}
	racks := map[int32]string{1: "a", 2: "b", 3: "b", 4: "c"}
	reachable := map[int32]bool{1: true, 2: true, 3: true, 4: false}
	rackOf := func(id int32) (string, bool) { return racks[id], reachable[id] }
	for r, leo := range map[int32]int64{2: 5, 3: 4, 4: 5} {
		if err := p.UpdateFollowerFetch(r, -1, leo); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name   string
		offset int64
		rack   string
		want   int32
	}{
		{"no client rack", 0, "", -1},
		{"the leader's rack", 0, "a", -1},
		{"a rack with no replica", 0, "z", -1},
		{"most caught up in the rack", 4, "b", 2},
		{"only one holds the offset", 5, "b", 2},
		{"unreachable follower", 0, "c", -1},
	}
	for _, c := range cases {
		if got := p.PreferredReadReplica(c.offset, c.rack, rackOf); got != c.want {
			t.Errorf("%s: preferred %d, want %d", c.name, got, c.want)
		}
	}
	// The walk is on the fetch path: it allocates nothing.
	if n := testing.AllocsPerRun(100, func() { p.PreferredReadReplica(4, "b", rackOf) }); n != 0 && !raceEnabled {
		t.Errorf("PreferredReadReplica allocates %v times per call", n)
	}
	// Out of the ISR: no longer offered.
	state.ISR, state.PartitionEpoch = []int32{1, 3, 4}, 2
	if err := p.SetState(state); err != nil {
		t.Fatal(err)
	}
	if got := p.PreferredReadReplica(4, "b", rackOf); got != 3 {
		t.Errorf("after 2 left the ISR: preferred %d, want 3", got)
	}
	if got := p.PreferredReadReplica(5, "b", rackOf); got != -1 {
		t.Errorf("no in-sync follower in the rack holds offset 5: preferred %d, want -1", got)
	}
	// The leader's same-rack answer, offsets only, checks the epoch too.
	if _, err := p.LeaderOffsets(1); !errors.Is(err, ErrUnknownLeaderEpoch) {
		t.Errorf("leader offsets at a newer epoch: %v", err)
	}
	res, err := p.LeaderOffsets(0)
	if err != nil || res.LogEndOffset != 5 || res.Records.Bytes() != 0 {
		t.Errorf("leader offsets: %v %+v", err, res)
	}
	// A follower never sends consumers elsewhere.
	state.Leader, state.LeaderEpoch, state.PartitionEpoch = 3, 1, 3
	if err := p.SetState(state); err != nil {
		t.Fatal(err)
	}
	if got := p.PreferredReadReplica(0, "b", rackOf); got != -1 {
		t.Errorf("follower: preferred %d, want -1", got)
	}
}

// TestListOffsetReplicas: who answers ListOffsets and up to where, and the
// lagging high watermark of a new leader (OFFSET_NOT_AVAILABLE).
func TestListOffsetReplicas(t *testing.T) {
	state := State{Leader: 1, LeaderEpoch: 0, PartitionEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}
	p := newTestPartition(t, DefaultConfig(), state)
	if _, err := p.Append(records(t, 3), 1); err != nil {
		t.Fatal(err)
	}
	// Epoch 0 began at 0, at the high watermark: not lagging; the latest
	// offset for a consumer is the high watermark, for brokers the log end.
	if res, err := p.ListOffsetAs(LatestTimestamp, ReadUncommitted, NoLeaderEpoch, ConsumerReplica); err != nil || res.Offset != 0 || res.LeaderEpoch != 0 {
		t.Fatalf("consumer latest: %v %+v", err, res)
	}
	for _, r := range []int32{DebuggingReplica, 2} {
		if res, err := p.ListOffsetAs(LatestTimestamp, ReadUncommitted, NoLeaderEpoch, r); err != nil || res.Offset != 3 {
			t.Fatalf("replica %d latest: %v %+v", r, err, res)
		}
	}
	// A new epoch starts at 3 while the high watermark is 0.
	state.LeaderEpoch, state.PartitionEpoch = 1, 2
	if err := p.SetState(state); err != nil {
		t.Fatal(err)
	}
	for _, ts := range []int64{LatestTimestamp, 0, MaxTimestamp} {
		if _, err := p.ListOffsetAs(ts, ReadUncommitted, 1, ConsumerReplica); !errors.Is(err, ErrOffsetNotAvailable) {
			t.Errorf("timestamp %d with a lagging high watermark: %v", ts, err)
		}
	}
	if res, err := p.ListOffsetAs(EarliestTimestamp, ReadUncommitted, 1, ConsumerReplica); err != nil || res.Offset != 0 {
		t.Errorf("earliest with a lagging high watermark: %v %+v", err, res)
	}
	if res, err := p.ListOffsetAs(LatestTimestamp, ReadUncommitted, 1, DebuggingReplica); err != nil || res.Offset != 3 {
		t.Errorf("debugging latest with a lagging high watermark: %v %+v", err, res)
	}
	if err := p.UpdateFollowerFetch(2, -1, 3); err != nil {
		t.Fatal(err)
	}
	if res, err := p.ListOffsetAs(LatestTimestamp, ReadUncommitted, 1, ConsumerReplica); err != nil || res.Offset != 3 || res.LeaderEpoch != 1 {
		t.Errorf("consumer latest once caught up: %v %+v", err, res)
	}
	if res, err := p.ListOffsetAs(0, ReadUncommitted, 1, ConsumerReplica); err != nil || res.Offset != 0 || res.LeaderEpoch != 0 {
		t.Errorf("timestamp lookup once caught up: %v %+v", err, res)
	}
	// A follower answers only debugging requests.
	state.Leader, state.LeaderEpoch, state.PartitionEpoch = 2, 2, 3
	if err := p.SetState(state); err != nil {
		t.Fatal(err)
	}
	for _, r := range []int32{ConsumerReplica, 2} {
		if _, err := p.ListOffsetAs(LatestTimestamp, ReadUncommitted, NoLeaderEpoch, r); !errors.Is(err, ErrNotLeader) {
			t.Errorf("replica %d on a follower: %v", r, err)
		}
	}
	if res, err := p.ListOffsetAs(LatestTimestamp, ReadUncommitted, 2, DebuggingReplica); err != nil || res.Offset != 3 {
		t.Errorf("debugging on a follower: %v %+v", err, res)
	}
	if _, err := p.ListOffsetAs(LatestTimestamp, ReadUncommitted, 1, DebuggingReplica); !errors.Is(err, ErrFencedLeaderEpoch) {
		t.Errorf("debugging on a follower with an old epoch: %v", err)
	}
}
