package metadata

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
)

func reassign(t *testing.T, ctl *Controller, reqs ...Reassignment) []ReassignmentResult {
	t.Helper()
	res, err := ctl.AlterPartitionReassignments(context.Background(), reqs, true)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func checkReassigning(t *testing.T, img *Image, topic string, p int32, replicas, adding, removing []int32) {
	t.Helper()
	part := partitionOf(t, img, topic, p)
	if !slices.Equal(part.Replicas, replicas) || !slices.Equal(part.AddingReplicas, adding) || !slices.Equal(part.RemovingReplicas, removing) {
		t.Fatalf("%s-%d: replicas %v adding %v removing %v; want %v %v %v", topic, p, part.Replicas, part.AddingReplicas, part.RemovingReplicas,
			replicas, adding, removing)
	}
}

// The whole move: replicas R ∪ R' with adding and removing, listed while in progress, nothing
// completes until the new replica is in the ISR, then replicas = R', ISR ∩ R', and a new leader
// because the old one was removed.
func TestReassignmentLifecycle(t *testing.T) {
	ctl, log, _ := newClockedController(t, []int32{1, 2, 3}, nil)
	ctx := context.Background()
	createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{
		{Partition: 0, Replicas: []int32{1, 2}}, {Partition: 1, Replicas: []int32{1, 2}}}})
	log.sizes = nil
	res := reassign(t, ctl, Reassignment{Topic: "t", Partition: 0, Replicas: []int32{2, 3}})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if !slices.Equal(log.sizes, []int{1}) {
		t.Errorf("proposals %v", log.sizes)
	}
	checkReassigning(t, log.img, "t", 0, []int32{2, 3, 1}, []int32{3}, []int32{1})
	checkLeaderISR(t, log.img, "t", 0, 1, 1, 2)
	for _, topics := range [][]TopicPartition{nil, {{"t", 0}, {"t", 1}, {"x", 0}, {"t", 7}}} {
		list, err := ctl.ListPartitionReassignments(ctx, topics)
		want := []OngoingReassignment{{TopicPartition{"t", 0}, []int32{2, 3, 1}, []int32{3}, []int32{1}}}
		if err != nil || !reflect.DeepEqual(list, want) {
			t.Fatalf("list %v: %+v %v", topics, list, err)
		}
	}
	// Not caught up: the maintenance pass leaves it.
	if err := ctl.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	checkReassigning(t, log.img, "t", 0, []int32{2, 3, 1}, []int32{3}, []int32{1})
	// The same target again changes nothing.
	proposals := log.proposed
	if res := reassign(t, ctl, Reassignment{Topic: "t", Partition: 0, Replicas: []int32{2, 3}}); res[0].Err != nil || log.proposed != proposals {
		t.Fatalf("same target: %v, %d proposals", res[0].Err, log.proposed-proposals)
	}
	// Broker 3 catches up and joins the ISR (AlterPartition); the next pass completes the move.
	before := partitionOf(t, log.img, "t", 0)
	setISR(t, log, "t", 0, 1, 2, 3)
	if err := ctl.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	checkReassigning(t, log.img, "t", 0, []int32{2, 3}, nil, nil)
	checkLeaderISR(t, log.img, "t", 0, 2, 2, 3)
	if p := partitionOf(t, log.img, "t", 0); p.LeaderEpoch != before.LeaderEpoch+1 {
		t.Errorf("leader epoch %d, want %d", p.LeaderEpoch, before.LeaderEpoch+1)
	}
	if list, err := ctl.ListPartitionReassignments(ctx, nil); err != nil || len(list) != 0 {
		t.Fatalf("after completion: %+v %v", list, err)
	}
	log.leader = false
	if _, err := ctl.AlterPartitionReassignments(ctx, nil, true); !errors.Is(err, ErrNotController) {
		t.Errorf("alter, not controller: %v", err)
	}
	if _, err := ctl.ListPartitionReassignments(ctx, nil); !errors.Is(err, ErrNotController) {
		t.Errorf("list, not controller: %v", err)
	}
}

// A target already in sync (a reordering, a shrink) completes in the same proposal.
func TestReassignmentCompletesAtOnce(t *testing.T) {
	ctl, log, _ := newClockedController(t, []int32{1, 2, 3}, nil)
	createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{
		{Partition: 0, Replicas: []int32{1, 2, 3}}, {Partition: 1, Replicas: []int32{1, 2, 3}}}})
	log.sizes = nil
	res := reassign(t, ctl, Reassignment{Topic: "t", Partition: 0, Replicas: []int32{3, 2, 1}},
		Reassignment{Topic: "t", Partition: 1, Replicas: []int32{2, 3}})
	if res[0].Err != nil || res[1].Err != nil {
		t.Fatal(res)
	}
	if !slices.Equal(log.sizes, []int{2}) {
		t.Errorf("proposals %v, want one batch of 2", log.sizes)
	}
	checkReassigning(t, log.img, "t", 0, []int32{3, 2, 1}, nil, nil)
	checkLeaderISR(t, log.img, "t", 0, 1, 1, 2, 3) // the leader stays: preferred elections move it
	checkReassigning(t, log.img, "t", 1, []int32{2, 3}, nil, nil)
	checkLeaderISR(t, log.img, "t", 1, 2, 2, 3)
}

func TestReassignmentCancel(t *testing.T) {
	ctl, log, _ := newClockedController(t, []int32{1, 2, 3, 4}, nil)
	ctx := context.Background()
	createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{
		{Partition: 0, Replicas: []int32{1, 2}}, {Partition: 1, Replicas: []int32{1, 2}}}})
	if res := reassign(t, ctl, Reassignment{Topic: "t", Partition: 0}); !errors.Is(res[0].Err, ErrNoReassignmentInProgress) {
		t.Fatalf("cancel with none in progress: %v", res[0].Err)
	}
	reassign(t, ctl, Reassignment{Topic: "t", Partition: 0, Replicas: []int32{3, 4}})
	setISR(t, log, "t", 0, 1, 2, 3) // 3 caught up, 4 not yet
	checkReassigning(t, log.img, "t", 0, []int32{3, 4, 1, 2}, []int32{3, 4}, []int32{1, 2})
	if res := reassign(t, ctl, Reassignment{Topic: "t", Partition: 0}); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	checkReassigning(t, log.img, "t", 0, []int32{1, 2}, nil, nil)
	checkLeaderISR(t, log.img, "t", 0, 1, 1, 2)

	// Only adding replicas left in the ISR: reverting would be an unclean election.
	reassign(t, ctl, Reassignment{Topic: "t", Partition: 1, Replicas: []int32{3}})
	if _, err := log.Propose(ctx, []Record{&PartitionChangeRecord{TopicID: mustTopic(t, log.img, "t").ID, Partition: 1, Leader: 3, ISR: []int32{3}}}); err != nil {
		t.Fatal(err)
	}
	if res := reassign(t, ctl, Reassignment{Topic: "t", Partition: 1}); !errors.Is(res[0].Err, ErrInvalidReplicaAssignment) {
		t.Fatalf("unclean revert: %v", res[0].Err)
	}
	alterConfig(t, ctl, ConfigResourceTopic, "t", "unclean.leader.election.enable", "true")
	if res := reassign(t, ctl, Reassignment{Topic: "t", Partition: 1}); res[0].Err != nil {
		t.Fatalf("unclean revert allowed: %v", res[0].Err)
	}
	checkReassigning(t, log.img, "t", 1, []int32{1, 2}, nil, nil)
	checkLeaderISR(t, log.img, "t", 1, 1, 1)
}

// A new target for a partition in the middle of a move starts from its current replicas.
func TestReassignmentReplaced(t *testing.T) {
	ctl, log, _ := newClockedController(t, []int32{1, 2, 3, 4}, nil)
	createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{{Partition: 0, Replicas: []int32{1, 2}}}})
	reassign(t, ctl, Reassignment{Topic: "t", Partition: 0, Replicas: []int32{1, 3}})
	checkReassigning(t, log.img, "t", 0, []int32{1, 3, 2}, []int32{3}, []int32{2})
	reassign(t, ctl, Reassignment{Topic: "t", Partition: 0, Replicas: []int32{1, 4}})
	checkReassigning(t, log.img, "t", 0, []int32{1, 4, 3, 2}, []int32{4}, []int32{3, 2})
	setISR(t, log, "t", 0, 1, 2, 4)
	if err := ctl.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkReassigning(t, log.img, "t", 0, []int32{1, 4}, nil, nil)
	checkLeaderISR(t, log.img, "t", 0, 1, 1, 4)
}

func TestReassignmentErrors(t *testing.T) {
	ctl, log, _ := newClockedController(t, []int32{1, 2, 3}, nil)
	ctx := context.Background()
	createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{
		{Partition: 0, Replicas: []int32{1, 2}}, {Partition: 1, Replicas: []int32{1, 2}}}})
	fenceBroker(t, ctl, log, 3)
	proposals := log.proposed
	res, err := ctl.AlterPartitionReassignments(ctx, []Reassignment{
		{Topic: "nope", Partition: 0, Replicas: []int32{1}},
		{Topic: "t", Partition: 5, Replicas: []int32{1}},
		{Topic: "t", Partition: 0, Replicas: []int32{}},
		{Topic: "t", Partition: 0, Replicas: []int32{1, 1}},
		{Topic: "t", Partition: 1, Replicas: []int32{1, 9}},
		{Topic: "t", Partition: 1, Replicas: []int32{3}},
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []error{ErrUnknownTopic, ErrUnknownTopic, ErrInvalidRequest, ErrInvalidRequest, ErrInvalidRequest, ErrInvalidRequest}
	for i, w := range want {
		if !errors.Is(res[i].Err, w) {
			t.Errorf("request %d: %v, want %v", i, res[i].Err, w)
		}
	}
	// One at a time, the invalid assignments get INVALID_REPLICA_ASSIGNMENT.
	for _, replicas := range [][]int32{{}, {1, 1}, {1, 9}, {3}, {-1}} {
		if res := reassign(t, ctl, Reassignment{Topic: "t", Partition: 1, Replicas: replicas}); !errors.Is(res[0].Err, ErrInvalidReplicaAssignment) {
			t.Errorf("replicas %v: %v", replicas, res[0].Err)
		}
	}
	// KIP-860: the replication factor may only change when the request allows it.
	res, _ = ctl.AlterPartitionReassignments(ctx, []Reassignment{{Topic: "t", Partition: 1, Replicas: []int32{1}}}, false)
	if !errors.Is(res[0].Err, ErrInvalidReplicationFactor) {
		t.Errorf("replication factor change not allowed: %v", res[0].Err)
	}
	if log.proposed != proposals {
		t.Errorf("%d proposals for invalid requests", log.proposed-proposals)
	}
}

// Completion never takes a partition offline: if no target replica could lead, the move waits.
func TestReassignmentCompletionKeepsALeader(t *testing.T) {
	ctl, log, _ := newClockedController(t, []int32{1, 2}, nil)
	createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{{Partition: 0, Replicas: []int32{1}}}})
	reassign(t, ctl, Reassignment{Topic: "t", Partition: 0, Replicas: []int32{2}})
	setISR(t, log, "t", 0, 1, 2)
	fenceBroker(t, ctl, log, 2) // leaves the ISR; and it could not lead anyway
	checkReassigning(t, log.img, "t", 0, []int32{2, 1}, []int32{2}, []int32{1})
	setISR(t, log, "t", 0, 1, 2) // as if the fence raced with an expansion
	if err := ctl.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := partitionOf(t, log.img, "t", 0)
	if p.Leader != 1 || !p.Reassigning() {
		t.Fatalf("completed onto a fenced replica: %+v", p)
	}
}

// While partition 0 is being moved to more replicas, partitions added to the topic keep its
// replication factor.
func TestCreatePartitionsDuringReassignment(t *testing.T) {
	ctl, log, _ := newClockedController(t, []int32{1, 2, 3}, nil)
	createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{{Partition: 0, Replicas: []int32{1}}}})
	reassign(t, ctl, Reassignment{Topic: "t", Partition: 0, Replicas: []int32{2, 3}})
	if rf := mustTopic(t, log.img, "t").ReplicationFactor(); rf != 1 {
		t.Fatalf("replication factor during the move: %d", rf)
	}
	if r := ctl.CreatePartitions(context.Background(), []CreatePartitions{{Topic: "t", Count: 2}}, false); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	if p := partitionOf(t, log.img, "t", 1); len(p.Replicas) != 1 {
		t.Fatalf("new partition's replicas %v", p.Replicas)
	}
}
