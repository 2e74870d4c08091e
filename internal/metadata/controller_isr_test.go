package metadata

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// isrFixture is a controller with brokers 1, 2, 3 and topic "t" whose partition 0 has replicas
// 1, 2, 3 (leader 1) and partition 1 replicas 2, 3, 1 (leader 2).
func isrFixture(t *testing.T) (*Controller, *memLog) {
	t.Helper()
	ctl, log := newTestController(t, []int32{1, 2, 3}, nil)
	createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: []Assignment{{Partition: 0, Replicas: []int32{1, 2, 3}}, {Partition: 1, Replicas: []int32{2, 3, 1}}}})
	return ctl, log
}

func partitionOf(t *testing.T, img *Image, name string, p int32) Partition {
	t.Helper()
	part, ok := mustTopic(t, img, name).Partition(p)
	if !ok {
		t.Fatalf("%s-%d missing", name, p)
	}
	return *part
}

// members turns ids into ISR members with their current broker epochs.
func members(t *testing.T, img *Image, ids ...int32) []ISRMember {
	out := make([]ISRMember, len(ids))
	for i, id := range ids {
		out[i] = ISRMember{ID: id, BrokerEpoch: mustBroker(t, img, id).Epoch}
	}
	return out
}

// change is an ISRChange of "t"-p at its current epochs.
func change(t *testing.T, img *Image, p int32, isr ...int32) ISRChange {
	part := partitionOf(t, img, "t", p)
	return ISRChange{TopicID: mustTopic(t, img, "t").ID, Partition: p, LeaderEpoch: part.LeaderEpoch,
		PartitionEpoch: part.PartitionEpoch, NewISR: members(t, img, isr...)}
}

func alter(t *testing.T, ctl *Controller, log *memLog, from int32, changes ...ISRChange) []ISRChangeResult {
	t.Helper()
	res, err := ctl.AlterPartition(context.Background(), from, mustBroker(t, log.img, from).Epoch, changes, true)
	if err != nil {
		t.Fatalf("alter partition from %d: %v", from, err)
	}
	return res
}

func TestAlterPartitionShrinksAndExpands(t *testing.T) {
	ctl, log := isrFixture(t)
	before := partitionOf(t, log.img, "t", 0)
	if before.Leader != 1 || !slices.Equal(before.ISR, []int32{1, 2, 3}) {
		t.Fatalf("fixture: %+v", before)
	}
	res := alter(t, ctl, log, 1, change(t, log.img, 0, 1, 2))
	after := partitionOf(t, log.img, "t", 0)
	want := ISRChangeResult{Leader: 1, LeaderEpoch: before.LeaderEpoch, PartitionEpoch: before.PartitionEpoch + 1, ISR: []int32{1, 2}}
	if res[0].Err != nil || res[0].Leader != want.Leader || res[0].LeaderEpoch != want.LeaderEpoch ||
		res[0].PartitionEpoch != want.PartitionEpoch || !slices.Equal(res[0].ISR, want.ISR) {
		t.Fatalf("shrink answered %+v, want %+v", res[0], want)
	}
	if !slices.Equal(after.ISR, []int32{1, 2}) || after.PartitionEpoch != want.PartitionEpoch || after.LeaderEpoch != before.LeaderEpoch {
		t.Fatalf("image after shrink: %+v", after)
	}
	res = alter(t, ctl, log, 1, change(t, log.img, 0, 1, 2, 3))
	if res[0].Err != nil || !slices.Equal(res[0].ISR, []int32{1, 2, 3}) || res[0].PartitionEpoch != before.PartitionEpoch+2 {
		t.Fatalf("expand answered %+v", res[0])
	}
	// Asking for the ISR it already has commits nothing and answers the current state.
	proposed := log.proposed
	res = alter(t, ctl, log, 1, change(t, log.img, 0, 1, 2, 3))
	if res[0].Err != nil || res[0].PartitionEpoch != before.PartitionEpoch+2 || log.proposed != proposed {
		t.Fatalf("no-op answered %+v, %d proposals", res[0], log.proposed-proposed)
	}
}

func TestAlterPartitionRequestErrors(t *testing.T) {
	ctl, log := isrFixture(t)
	ctx := context.Background()
	ch := change(t, log.img, 0, 1, 2)
	epoch := mustBroker(t, log.img, 1).Epoch
	if _, err := ctl.AlterPartition(ctx, 1, epoch-1, []ISRChange{ch}, true); !errors.Is(err, ErrStaleBrokerEpoch) {
		t.Errorf("stale sender epoch: %v", err)
	}
	if _, err := ctl.AlterPartition(ctx, 7, 1, []ISRChange{ch}, true); !errors.Is(err, ErrStaleBrokerEpoch) {
		t.Errorf("unregistered sender: %v", err)
	}
	log.leader = false
	if _, err := ctl.AlterPartition(ctx, 1, epoch, []ISRChange{ch}, true); !errors.Is(err, ErrNotController) {
		t.Errorf("not the controller: %v", err)
	}
	log.leader = true
	if p := partitionOf(t, log.img, "t", 0); !slices.Equal(p.ISR, []int32{1, 2, 3}) {
		t.Errorf("a refused request changed the ISR: %+v", p)
	}
}

func TestAlterPartitionPartitionErrors(t *testing.T) {
	ctl, log := isrFixture(t)
	ctx := context.Background()
	// Shrink and expand once, so that partition epoch 1 is a stale one.
	alter(t, ctl, log, 1, change(t, log.img, 0, 1, 2))
	alter(t, ctl, log, 1, change(t, log.img, 0, 1, 2, 3))
	cases := []struct {
		name string
		mod  func(*ISRChange)
		v2   bool
		want error
	}{
		{"unknown topic id", func(c *ISRChange) { c.TopicID = TopicID{9} }, true, ErrUnknownTopicID},
		{"unknown partition", func(c *ISRChange) { c.Partition = 5 }, true, ErrUnknownTopic},
		{"leader epoch ahead", func(c *ISRChange) { c.LeaderEpoch++ }, true, ErrNotController},
		{"partition epoch ahead", func(c *ISRChange) { c.PartitionEpoch++ }, true, ErrNotController},
		{"fenced leader epoch", func(c *ISRChange) { c.LeaderEpoch-- }, true, ErrFencedLeaderEpoch},
		{"stale partition epoch", func(c *ISRChange) { c.PartitionEpoch-- }, true, ErrInvalidUpdateVersion},
		{"not a replica", func(c *ISRChange) { c.NewISR = append(c.NewISR, ISRMember{ID: 4, BrokerEpoch: -1}) }, true, ErrInvalidRequest},
		{"twice", func(c *ISRChange) { c.NewISR = append(c.NewISR, c.NewISR[1]) }, true, ErrInvalidRequest},
		{"without the leader", func(c *ISRChange) { c.NewISR = c.NewISR[1:] }, true, ErrInvalidRequest},
		{"recovering", func(c *ISRChange) { c.LeaderRecoveryState = 1 }, true, ErrInvalidRequest},
		{"other broker epoch", func(c *ISRChange) { c.NewISR[1].BrokerEpoch-- }, true, ErrIneligibleReplica},
		{"other broker epoch v1", func(c *ISRChange) { c.NewISR[1].BrokerEpoch-- }, false, ErrOperationNotAttempted},
	}
	for _, tc := range cases {
		ch := change(t, log.img, 0, 1, 2) // a shrink, valid until tc.mod
		tc.mod(&ch)
		proposed := log.proposed
		res, err := ctl.AlterPartition(ctx, 1, mustBroker(t, log.img, 1).Epoch, []ISRChange{ch}, tc.v2)
		if err != nil {
			t.Fatalf("%s: request error %v", tc.name, err)
		}
		if !errors.Is(res[0].Err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, res[0].Err, tc.want)
		}
		if log.proposed != proposed {
			t.Errorf("%s: a refused change was proposed", tc.name)
		}
	}
	// Only the leader may change the ISR: broker 2 leads partition 1, not 0.
	res := alter(t, ctl, log, 2, change(t, log.img, 0, 1, 2))
	if !errors.Is(res[0].Err, ErrInvalidRequest) {
		t.Errorf("from a follower: %v", res[0].Err)
	}
	if p := partitionOf(t, log.img, "t", 0); !slices.Equal(p.ISR, []int32{1, 2, 3}) {
		t.Errorf("refused changes changed the ISR: %v", p.ISR)
	}
}

// KIP-841: a fenced broker or one in controlled shutdown cannot join the ISR.
func TestAlterPartitionIneligibleBrokers(t *testing.T) {
	for _, state := range []string{"fenced", "shutting down"} {
		ctl, log := isrFixture(t)
		ctx := context.Background()
		b3 := mustBroker(t, log.img, 3)
		hb := Heartbeat{ID: 3, Epoch: b3.Epoch, MetadataOffset: log.img.Offset()}
		if state == "fenced" {
			hb.WantFence = true
		} else {
			hb.WantShutDown = true
		}
		if _, err := ctl.BrokerHeartbeat(ctx, hb); err != nil {
			t.Fatal(err)
		}
		if p := partitionOf(t, log.img, "t", 0); !slices.Equal(p.ISR, []int32{1, 2}) {
			t.Fatalf("%s: broker 3 still in the ISR %v", state, p.ISR)
		}
		for _, v2 := range []bool{true, false} {
			res, err := ctl.AlterPartition(ctx, 1, mustBroker(t, log.img, 1).Epoch, []ISRChange{change(t, log.img, 0, 1, 2, 3)}, v2)
			want := ErrIneligibleReplica
			if !v2 {
				want = ErrOperationNotAttempted
			}
			if err != nil || !errors.Is(res[0].Err, want) {
				t.Errorf("%s v2=%v: %v %v, want %v", state, v2, err, res[0].Err, want)
			}
		}
	}
}

// Several partitions of one request are checked one by one and committed together; a
// partition named twice is changed once.
func TestAlterPartitionSeveralPartitions(t *testing.T) {
	ctl, log := isrFixture(t)
	createTopic(t, ctl, CreateTopic{Name: "u", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: []Assignment{{Partition: 0, Replicas: []int32{1, 3}}}})
	u := partitionOf(t, log.img, "u", 0)
	uch := ISRChange{TopicID: mustTopic(t, log.img, "u").ID, Partition: 0, LeaderEpoch: u.LeaderEpoch,
		PartitionEpoch: u.PartitionEpoch, NewISR: members(t, log.img, 1)}
	bad := change(t, log.img, 0, 2, 3) // without the leader
	dup := change(t, log.img, 0, 1, 3)
	proposed := log.proposed
	res := alter(t, ctl, log, 1, change(t, log.img, 0, 1, 2), bad, uch, dup)
	if log.proposed != proposed+1 {
		t.Errorf("%d proposals, want one", log.proposed-proposed)
	}
	if res[0].Err != nil || !errors.Is(res[1].Err, ErrInvalidRequest) || res[2].Err != nil || !errors.Is(res[3].Err, ErrInvalidUpdateVersion) {
		t.Fatalf("results %+v", res)
	}
	if p := partitionOf(t, log.img, "t", 0); !slices.Equal(p.ISR, []int32{1, 2}) {
		t.Errorf("t-0 ISR %v", p.ISR)
	}
	if p := partitionOf(t, log.img, "u", 0); !slices.Equal(p.ISR, []int32{1}) {
		t.Errorf("u-0 ISR %v", p.ISR)
	}
}

// A request changing more partitions than one batch holds is proposed in batches of
// MaxRecordsPerBatch.
func TestAlterPartitionIsBatched(t *testing.T) {
	ctl, log := newTestController(t, []int32{1, 2}, nil)
	for _, tc := range []struct {
		name string
		n    int
	}{{"big", MaxPartitionsPerRequest}, {"more", 5}} {
		as := make([]Assignment, tc.n)
		for i := range as {
			as[i] = Assignment{Partition: int32(i), Replicas: []int32{1, 2}}
		}
		createTopic(t, ctl, CreateTopic{Name: tc.name, NumPartitions: -1, ReplicationFactor: -1, Assignments: as})
	}
	var changes []ISRChange
	for _, name := range []string{"big", "more"} {
		topic := mustTopic(t, log.img, name)
		for _, p := range topic.Partitions {
			changes = append(changes, ISRChange{TopicID: topic.ID, Partition: p.Partition, LeaderEpoch: p.LeaderEpoch,
				PartitionEpoch: p.PartitionEpoch, NewISR: []ISRMember{{ID: 1, BrokerEpoch: -1}}})
		}
	}
	log.sizes = nil
	res := alter(t, ctl, log, 1, changes...)
	if !slices.Equal(log.sizes, []int{MaxRecordsPerBatch, 5}) {
		t.Fatalf("batches of %v records", log.sizes)
	}
	for i, r := range res {
		if r.Err != nil || !slices.Equal(r.ISR, []int32{1}) {
			t.Fatalf("change %d: %+v", i, r)
		}
	}
}
