package metadata

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// rackController is a controller whose brokers 1..n are registered, unfenced, on racks[i].
func rackController(t *testing.T, racks ...string) (*Controller, *memLog) {
	t.Helper()
	ctl, log, _ := newClockedController(t, nil, nil)
	for i, rack := range racks {
		registerUnfenced(t, ctl, log, BrokerRegistration{ID: int32(i + 1), Rack: rack})
	}
	return ctl, log
}

// checkSpread asserts that every partition of topic has distinct brokers and min(rf, racks)
// distinct racks, and that per-broker leader counts differ by at most one.
func checkSpread(t *testing.T, img *Image, topic string, numRacks int) {
	t.Helper()
	leaders := map[int32]int{}
	for _, b := range img.Brokers() {
		if b.Active() {
			leaders[b.ID] = 0
		}
	}
	for _, p := range mustTopic(t, img, topic).Partitions {
		brokers, racks := map[int32]bool{}, map[string]bool{}
		for _, r := range p.Replicas {
			brokers[r] = true
			racks[mustBroker(t, img, r).Rack] = true
		}
		if len(brokers) != len(p.Replicas) || len(racks) != min(len(p.Replicas), numRacks) {
			t.Errorf("%s-%d: replicas %v cover %d rack(s), want %d", topic, p.Partition, p.Replicas, len(racks), min(len(p.Replicas), numRacks))
		}
		if p.Leader != p.Replicas[0] {
			t.Errorf("%s-%d: leader %d is not the first replica of %v", topic, p.Partition, p.Leader, p.Replicas)
		}
		leaders[p.Leader]++
	}
	lo, hi := 1<<30, 0
	for _, n := range leaders {
		lo, hi = min(lo, n), max(hi, n)
	}
	if hi-lo > 1 {
		t.Errorf("%s: leaders per broker %v differ by more than one", topic, leaders)
	}
}

func TestRackAwarePlacement(t *testing.T) {
	cases := []struct {
		name       string
		racks      []string
		partitions int32
		rf         int16
		numRacks   int
	}{
		{"three even racks", []string{"a", "a", "b", "b", "c", "c"}, 60, 3, 3},
		{"uneven racks", []string{"a", "a", "a", "b", "c"}, 50, 2, 3},
		{"uneven racks, rf 3", []string{"a", "a", "a", "a", "b", "c"}, 37, 3, 3},
		{"fewer racks than replicas", []string{"a", "b", "a", "b"}, 20, 3, 2},
		{"some brokers without a rack", []string{"a", "a", "", ""}, 16, 2, 2},
		{"one partition per broker", []string{"x", "y", "z"}, 3, 3, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctl, log := rackController(t, c.racks...)
			createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: c.partitions, ReplicationFactor: c.rf})
			checkSpread(t, log.img, "t", c.numRacks)
			// CreatePartitions continues with the same rules.
			if res := ctl.CreatePartitions(context.Background(), []CreatePartitions{{Topic: "t", Count: 2 * c.partitions}}, false); res[0].Err != nil {
				t.Fatal(res[0].Err)
			}
			checkSpread(t, log.img, "t", c.numRacks)
		})
	}
}

func TestRackUnawareWhenNoBrokerHasARack(t *testing.T) {
	ctl, log := rackController(t, "", "", "", "", "")
	createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: 10, ReplicationFactor: 3})
	top := mustTopic(t, log.img, "t")
	// Kafka's rack-unaware layout for some start and shift: each partition's leader follows the
	// previous one's, and its followers keep the same distance within each round of leaders.
	start := int(top.Partitions[0].Replicas[0] - 1)
	shift := int(top.Partitions[0].Replicas[1]-top.Partitions[0].Replicas[0]+5)%5 - 1
	want := placeReplicas([]int32{1, 2, 3, 4, 5}, 10, 3, 0, start, shift)
	var got [][]int32
	for _, p := range top.Partitions {
		got = append(got, p.Replicas)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

type manualCase struct {
	name    string
	as      []Assignment
	message string
}

func TestPlacementErrors(t *testing.T) {
	ctl, log := rackController(t, "a", "b", "c")
	ctx := context.Background()
	res := ctl.CreateTopics(ctx, []CreateTopic{{Name: "t", NumPartitions: 1, ReplicationFactor: 4}}, false)
	want := "Unable to replicate the partition 4 time(s): The target replication factor of 4 cannot be reached because only 3 broker(s) are registered."
	if !errors.Is(res[0].Err, ErrInvalidReplicationFactor) || res[0].Err.Error() != want {
		t.Errorf("rf 4 on 3 brokers: %v\nwant %s", res[0].Err, want)
	}
	createTopic(t, ctl, CreateTopic{Name: "three", NumPartitions: 1, ReplicationFactor: 3})
	manual := []manualCase{
		{"repeated", []Assignment{{Partition: 0, Replicas: []int32{1, 1}}}, "the manual assignment of partition 0 names broker 1 more than once"},
		{"unknown", []Assignment{{Partition: 0, Replicas: []int32{1, 9}}}, "the manual assignment of partition 0 names broker 9, but no such broker is registered"},
		{"inconsistent", []Assignment{{Partition: 0, Replicas: []int32{1, 2}}, {Partition: 1, Replicas: []int32{3}}},
			"the manual assignment of partition 1 has 1 replica(s), which is not consistent with the other partitions' 2 replica(s)"},
		{"empty", []Assignment{{Partition: 0, Replicas: []int32{}}}, "the manual assignment of partition 0 has an empty replica list"},
	}
	checkManual := func(m manualCase) {
		t.Helper()
		res := ctl.CreateTopics(ctx, []CreateTopic{{Name: "m", NumPartitions: -1, ReplicationFactor: -1, Assignments: m.as}}, true)
		if !errors.Is(res[0].Err, ErrInvalidReplicaAssignment) || res[0].Err.Error() != m.message {
			t.Errorf("%s: %v\nwant %s", m.name, res[0].Err, m.message)
		}
	}
	for _, m := range manual {
		checkManual(m)
	}
	for _, id := range []int32{1, 2, 3} {
		b := mustBroker(t, log.img, id)
		if _, err := ctl.BrokerHeartbeat(ctx, Heartbeat{ID: id, Epoch: b.Epoch, MetadataOffset: log.img.Offset(), WantFence: true}); err != nil {
			t.Fatal(err)
		}
	}
	res = ctl.CreateTopics(ctx, []CreateTopic{{Name: "u", NumPartitions: 1, ReplicationFactor: 1}}, false)
	want = "Unable to replicate the partition 1 time(s): All brokers are currently fenced."
	if !errors.Is(res[0].Err, ErrInvalidReplicationFactor) || res[0].Err.Error() != want {
		t.Errorf("all fenced: %v", res[0].Err)
	}
	if r := ctl.CreatePartitions(ctx, []CreatePartitions{{Topic: "three", Count: 2}}, false); !errors.Is(r[0].Err, ErrInvalidReplicationFactor) {
		t.Errorf("add partitions with every broker fenced: %v", r[0].Err)
	}
	checkManual(manualCase{"all fenced", []Assignment{{Partition: 0, Replicas: []int32{1, 2}}}, "every broker of the manual assignment of partition 0 is fenced or in controlled shutdown"})
}
