package broker

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/share"
	sharecoord "github.com/sluicehq/sluice/internal/share/coordinator"
)

// shareWrites persists a share-partition's state through b's persister: initialized at 100,
// read by a leader at epoch 1, then three writes (the second is a ShareSnapshot with
// share.coordinator.snapshot.update.records.per.snapshot=1). It returns what Read must find.
func shareWrites(t *testing.T, ctx context.Context, p share.Persister, k share.Key) share.PartitionState {
	t.Helper()
	if err := p.Initialize(ctx, k, 1, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Read(ctx, k, 1); err != nil {
		t.Fatal(err)
	}
	for _, w := range []share.Write{
		{StateEpoch: 1, LeaderEpoch: 1, StartOffset: -1, DeliveryCompleteCount: 2, Batches: []share.StateBatch{
			{FirstOffset: 100, LastOffset: 101, DeliveryState: share.StateAcknowledged, DeliveryCount: 1},
			{FirstOffset: 102, LastOffset: 109, DeliveryState: share.StateAvailable, DeliveryCount: 1}}},
		{StateEpoch: 1, LeaderEpoch: 1, StartOffset: 102, DeliveryCompleteCount: 1, Batches: []share.StateBatch{
			{FirstOffset: 103, LastOffset: 103, DeliveryState: share.StateArchived, DeliveryCount: 5}}},
		{StateEpoch: 1, LeaderEpoch: 1, StartOffset: -1, DeliveryCompleteCount: 2, Batches: []share.StateBatch{
			{FirstOffset: 104, LastOffset: 104, DeliveryState: share.StateAcknowledged, DeliveryCount: 2}}},
	} {
		if err := p.Write(ctx, k, w); err != nil {
			t.Fatal(err)
		}
	}
	return share.PartitionState{StateEpoch: 1, LeaderEpoch: 1, StartOffset: 102, DeliveryCompleteCount: 2, Batches: []share.StateBatch{
		{FirstOffset: 102, LastOffset: 102, DeliveryState: share.StateAvailable, DeliveryCount: 1},
		{FirstOffset: 103, LastOffset: 103, DeliveryState: share.StateArchived, DeliveryCount: 5},
		{FirstOffset: 104, LastOffset: 104, DeliveryState: share.StateAcknowledged, DeliveryCount: 2},
		{FirstOffset: 105, LastOffset: 109, DeliveryState: share.StateAvailable, DeliveryCount: 1}}}
}

// readState reads k through p; the leader epoch -1 reads without fencing. Over the RPC the
// answer has no delivery-complete count: compare without it.
func readState(t *testing.T, ctx context.Context, p share.Persister, k share.Key) share.PartitionState {
	t.Helper()
	st, err := p.Read(ctx, k, -1)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestShareStateSurvivesRestart: the share coordinator creates __share_group_state (single
// node: RF 1 as Kafka's server.properties), persists a share-partition's state, and a
// restarted broker loads it from its log: the same batches, start offset and epochs, and
// the old leader epoch still fenced.
func TestShareStateSurvivesRestart(t *testing.T) {
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", ControllerAddr: freeAddr(t),
		Overrides: map[string]string{"share.coordinator.snapshot.update.records.per.snapshot": "1",
			"share.coordinator.state.topic.num.partitions": "3"}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	k := share.Key{Group: "sg", TopicID: [16]byte{9, 9, 9}, Partition: 2}
	want := shareWrites(t, ctx, b.env.SharePersister, k)
	if got := readState(t, ctx, b.env.SharePersister, k); !reflect.DeepEqual(got, want) {
		t.Fatalf("before restart %+v, want %+v", got, want)
	}
	topic, ok := b.quorum.Image().Topic(metadata.ShareGroupStateTopic)
	if !ok || len(topic.Partitions) != 3 || topic.ReplicationFactor() != 1 {
		t.Fatalf("__share_group_state: %+v %v", topic, ok)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := readState(t, ctx, b.env.SharePersister, k); !reflect.DeepEqual(got, want) {
		t.Fatalf("after restart %+v, want %+v", got, want)
	}
	err = b.env.SharePersister.Write(ctx, k, share.Write{StateEpoch: 1, LeaderEpoch: 0, StartOffset: -1})
	if !errors.Is(err, kerr.FencedLeaderEpoch) {
		t.Fatalf("write at an older leader epoch after restart: %v", err)
	}
	s, err := b.env.SharePersister.ReadSummary(ctx, k, -1)
	if err != nil || s.StartOffset != 102 || s.DeliveryCompleteCount != 2 {
		t.Fatalf("summary %+v %v", s, err)
	}
}

// TestShareStateFailover: three nodes, __share_group_state at RF 3. A share-partition's state
// is written through a broker that does not coordinate it (the RPCs to the coordinator), the
// coordinator is stopped, and the new leader of the state partition loads and serves the same
// state, reached through the persisters of both survivors.
func TestShareStateFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("three nodes")
	}
	nodes, _ := threeNodes(t, map[string]string{"broker.heartbeat.interval.ms": "200", "broker.session.timeout.ms": "2000",
		"share.coordinator.state.topic.num.partitions": "3", "share.coordinator.snapshot.update.records.per.snapshot": "2"})
	for _, n := range nodes {
		waitUntil(t, "three active brokers", 30*time.Second, func() bool { return activeBrokers(n) == 3 })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	k := share.Key{Group: "sg", TopicID: [16]byte{7, 7}, Partition: 0}
	// Create the topic through node 1's persister (a summary of nothing), then find k's
	// coordinator and write through another node.
	_, err := nodes[0].env.SharePersister.ReadSummary(ctx, k, -1)
	if !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("summary before any state: %v", err)
	}
	img := nodes[0].quorum.Image()
	topic, _ := img.Topic(metadata.ShareGroupStateTopic)
	idx := sharecoord.PartitionFor(k, int32(len(topic.Partitions)))
	leader := topic.Partitions[idx].Leader
	var coord, via *Broker
	var others []*Broker
	for _, n := range nodes {
		if n.cfg.NodeID == leader {
			coord = n
		} else {
			others = append(others, n)
		}
	}
	if coord == nil || len(others) != 2 {
		t.Fatalf("coordinator %d not found", leader)
	}
	via = others[0]
	want := shareWrites(t, ctx, via.env.SharePersister, k)
	// Every replica has the records before the coordinator goes (acks=all: they are committed).
	if err := coord.Close(); err != nil {
		t.Fatal(err)
	}
	for _, n := range others {
		waitUntil(t, "a new leader of the state partition", 30*time.Second, func() bool {
			t, _ := n.quorum.Image().Topic(metadata.ShareGroupStateTopic)
			l := t.Partitions[idx].Leader
			return l >= 0 && l != coord.cfg.NodeID
		})
	}
	for _, n := range others {
		got := readState(t, ctx, n.env.SharePersister, k)
		got.DeliveryCompleteCount, want.DeliveryCompleteCount = 0, 0 // ReadShareGroupState's answer has none
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("node %d after failover %+v, want %+v", n.cfg.NodeID, got, want)
		}
	}
	// The old leader epoch stays fenced at the new coordinator.
	err = others[1].env.SharePersister.Write(ctx, k, share.Write{StateEpoch: 1, LeaderEpoch: 0, StartOffset: -1})
	if !errors.Is(err, kerr.FencedLeaderEpoch) {
		t.Fatalf("write at an older leader epoch after failover: %v", err)
	}
	s, err := others[1].env.SharePersister.ReadSummary(ctx, k, -1)
	if err != nil || s.StartOffset != 102 || s.DeliveryCompleteCount != 2 {
		t.Fatalf("summary after failover %+v %v", s, err)
	}
}
