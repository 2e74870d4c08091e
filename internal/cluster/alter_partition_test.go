package cluster_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/metadata"
)

// TestAlterPartitionOverTheWire: a broker that is not the active controller changes an ISR
// through the controller listener (AlterPartition v3): a shrink and an expansion commit, and
// a stale partition epoch, a wrong member broker epoch and a stale sender epoch get Kafka's
// errors back as the metadata errors they stand for.
func TestAlterPartitionOverTheWire(t *testing.T) {
	n := startController(t, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, b := n.lifecycle(t, 1, 9092), n.lifecycle(t, 2, 9093)
	for _, lc := range []*cluster.Broker{a, b} {
		if err := lc.WaitUnfenced(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if res := n.ctl.CreateTopics(ctx, []metadata.CreateTopic{{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: []metadata.Assignment{{Partition: 0, Replicas: []int32{1, 2}}}}}, false); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	remote := cluster.NewClient(cluster.Options{NodeID: 1, Controller: n.q.LeaderAddr, Local: func() bool { return false }})
	t.Cleanup(remote.Close)
	ctl := cluster.NewController(n.ctl, remote, 1, a.Epoch)

	state := func() (metadata.TopicID, metadata.Partition) {
		topic, _ := n.q.Image().Topic("t")
		return topic.ID, topic.Partitions[0]
	}
	changeTo := func(isr ...metadata.ISRMember) metadata.ISRChange {
		id, p := state()
		return metadata.ISRChange{TopicID: id, Partition: 0, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, NewISR: isr}
	}
	one, two := metadata.ISRMember{ID: 1, BrokerEpoch: a.Epoch()}, metadata.ISRMember{ID: 2, BrokerEpoch: b.Epoch()}

	shrink := changeTo(one)
	res, err := ctl.AlterPartition(ctx, 1, a.Epoch(), []metadata.ISRChange{shrink}, true)
	if err != nil || res[0].Err != nil || !slices.Equal(res[0].ISR, []int32{1}) || res[0].Leader != 1 ||
		res[0].PartitionEpoch != shrink.PartitionEpoch+1 {
		t.Fatalf("shrink: %+v %v", res, err)
	}
	waitFor(t, "the shrink in the image", func() bool { _, p := state(); return slices.Equal(p.ISR, []int32{1}) })

	res, err = ctl.AlterPartition(ctx, 1, a.Epoch(), []metadata.ISRChange{shrink}, true)
	if err != nil || !errors.Is(res[0].Err, metadata.ErrInvalidUpdateVersion) {
		t.Fatalf("the same change again: %+v %v", res, err)
	}
	res, err = ctl.AlterPartition(ctx, 1, a.Epoch(), []metadata.ISRChange{changeTo(one, metadata.ISRMember{ID: 2, BrokerEpoch: b.Epoch() + 1})}, true)
	if err != nil || !errors.Is(res[0].Err, metadata.ErrIneligibleReplica) {
		t.Fatalf("another broker epoch: %+v %v", res, err)
	}
	if _, err = ctl.AlterPartition(ctx, 1, a.Epoch()-1, []metadata.ISRChange{changeTo(one, two)}, true); !errors.Is(err, metadata.ErrStaleBrokerEpoch) {
		t.Fatalf("stale sender epoch: %v", err)
	}
	res, err = ctl.AlterPartition(ctx, 1, a.Epoch(), []metadata.ISRChange{changeTo(one, two)}, true)
	if err != nil || res[0].Err != nil || !slices.Equal(res[0].ISR, []int32{1, 2}) {
		t.Fatalf("expand: %+v %v", res, err)
	}
}
