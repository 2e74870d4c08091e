package broker

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

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
// node: RF 1 as Kafka's server.properties), persists a share-partition's state, prunes the
// records below its last snapshot, and a restarted broker loads it from what is left: the
// same batches, start offset and epochs, and the old leader epoch still fenced.
func TestShareStateSurvivesRestart(t *testing.T) {
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", ControllerAddr: freeAddr(t),
		Overrides: map[string]string{"share.coordinator.snapshot.update.records.per.snapshot": "1",
			"share.coordinator.state.topic.num.partitions": "3", "share.coordinator.state.topic.prune.interval.ms": "50"}}
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
	// Pruning: the records below the last snapshot (the fifth record: snapshot, update,
	// snapshot, update, snapshot) are deleted; the state still loads from what is left.
	idx := sharecoord.PartitionFor(k, 3)
	waitUntil(t, "__share_group_state pruned below the last snapshot", 10*time.Second, func() bool {
		p, ok := b.partitions.Partition(metadata.ShareGroupStateTopic, idx)
		return ok && p.LogStartOffset() == 4
	})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if p, ok := b.partitions.Partition(metadata.ShareGroupStateTopic, idx); !ok || p.LogStartOffset() != 4 {
		t.Fatalf("log start offset after the restart: %v", ok)
	}
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
		// ReadShareGroupState's answer has neither (the summary below checks them).
		got.DeliveryCompleteCount, want.DeliveryCompleteCount = 0, 0
		got.LeaderEpoch, want.LeaderEpoch = 0, 0
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
	if err != nil || s.StartOffset != 102 || s.DeliveryCompleteCount != 2 || s.LeaderEpoch != 1 || s.StateEpoch != 1 {
		t.Fatalf("summary after failover %+v %v", s, err)
	}
}

// TestShareStateRawAPIs: FindCoordinator key type SHARE and the share coordinator's RPCs
// (InitializeShareGroupState … ReadShareGroupStateSummary) at each version, over the wire.
func TestShareStateRawAPIs(t *testing.T) {
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", ControllerAddr: freeAddr(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	nc, err := net.Dial("tcp", b.KafkaAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	send := func(req kmsg.Request) kmsg.Response { t.Helper(); return rawExchange(t, nc, req) }
	k := share.Key{Group: "raw", TopicID: [16]byte{5, 4, 3}, Partition: 1}

	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.Version, fc.CoordinatorType, fc.CoordinatorKeys = 6, 2, []string{sharecoord.CoordinatorKey(k), "no-colons", "g:notbase64!:1", "g:" + metadata.TopicID(k.TopicID).String() + ":x"}
	fr := send(fc).(*kmsg.FindCoordinatorResponse)
	if len(fr.Coordinators) != 4 || fr.Coordinators[0].ErrorCode != 0 || fr.Coordinators[0].NodeID != 1 {
		t.Fatalf("find share coordinator: %+v", fr.Coordinators)
	}
	for _, c := range fr.Coordinators[1:] {
		if c.ErrorCode != kerr.InvalidRequest.Code {
			t.Fatalf("malformed key %q: %v", c.Key, kerr.ErrorForCode(c.ErrorCode))
		}
	}
	topic, ok := b.quorum.Image().Topic(metadata.ShareGroupStateTopic)
	if !ok || topic.Configs["cleanup.policy"] != "delete" || topic.Configs["retention.ms"] != "-1" || len(topic.Partitions) != 50 {
		t.Fatalf("FindCoordinator did not create %s as Kafka does: %+v", metadata.ShareGroupStateTopic, topic)
	}
	fc.Version = 5
	if fr := send(fc).(*kmsg.FindCoordinatorResponse); fr.Coordinators[0].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("key type SHARE at v5: %+v", fr.Coordinators[0])
	}

	readReq := func(leaderEpoch int32) *kmsg.ReadShareGroupStateResponseTopicPartition {
		r := kmsg.NewPtrReadShareGroupStateRequest()
		r.GroupID = k.Group
		r.Topics = []kmsg.ReadShareGroupStateRequestTopic{{TopicID: k.TopicID, Partitions: []kmsg.ReadShareGroupStateRequestTopicPartition{{Partition: k.Partition, LeaderEpoch: leaderEpoch}}}}
		return &send(r).(*kmsg.ReadShareGroupStateResponse).Topics[0].Partitions[0]
	}
	// The state partitions FindCoordinator just created load first (a persister retries).
	waitUntil(t, "the state partition loaded", 10*time.Second, func() bool {
		p := readReq(-1)
		switch p.ErrorCode {
		case kerr.CoordinatorLoadInProgress.Code, kerr.NotCoordinator.Code:
			return false
		case kerr.UnknownTopicOrPartition.Code:
			return true
		}
		t.Fatalf("read before initialize: %v", kerr.ErrorForCode(p.ErrorCode))
		return false
	})
	ini := kmsg.NewPtrInitializeShareGroupStateRequest()
	ini.GroupID = k.Group
	ini.Topics = []kmsg.InitializeShareGroupStateRequestTopic{{TopicID: k.TopicID, Partitions: []kmsg.InitializeShareGroupStateRequestTopicPartition{{Partition: k.Partition, StateEpoch: 2, StartOffset: 40}}}}
	if p := send(ini).(*kmsg.InitializeShareGroupStateResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 {
		t.Fatalf("initialize: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	ini.Topics[0].Partitions[0].StateEpoch = 1
	if p := send(ini).(*kmsg.InitializeShareGroupStateResponse).Topics[0].Partitions[0]; p.ErrorCode != kerr.FencedStateEpoch.Code {
		t.Fatalf("initialize at an older state epoch: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	if p := readReq(3); p.ErrorCode != 0 || p.StartOffset != 40 || p.StateEpoch != 2 || len(p.StateBatches) != 0 {
		t.Fatalf("read: %+v", p)
	}
	for _, version := range []int16{0, 1} {
		w := kmsg.NewPtrWriteShareGroupStateRequest()
		w.Version, w.GroupID = version, k.Group
		w.Topics = []kmsg.WriteShareGroupStateRequestTopic{{TopicID: k.TopicID, Partitions: []kmsg.WriteShareGroupStateRequestTopicPartition{{
			Partition: k.Partition, StateEpoch: 2, LeaderEpoch: 3, StartOffset: 40 + int64(version), DeliveryCompleteCount: 1,
			StateBatches: []kmsg.WriteShareGroupStateRequestTopicPartitionStateBatch{{FirstOffset: 42, LastOffset: 43, DeliveryState: 2, DeliveryCount: 1}}}}}}
		if p := send(w).(*kmsg.WriteShareGroupStateResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 {
			t.Fatalf("write v%d: %v", version, kerr.ErrorForCode(p.ErrorCode))
		}
		w.Topics[0].Partitions[0].LeaderEpoch = 2
		if p := send(w).(*kmsg.WriteShareGroupStateResponse).Topics[0].Partitions[0]; p.ErrorCode != kerr.FencedLeaderEpoch.Code {
			t.Fatalf("write v%d at an older leader epoch: %v", version, kerr.ErrorForCode(p.ErrorCode))
		}
		w.Topics[0].Partitions[0].LeaderEpoch = 3
		w.Topics[0].Partitions[0].StateBatches[0].LastOffset = 41
		if p := send(w).(*kmsg.WriteShareGroupStateResponse).Topics[0].Partitions[0]; p.ErrorCode != kerr.InvalidRequest.Code {
			t.Fatalf("write v%d with an inverted batch: %v", version, kerr.ErrorForCode(p.ErrorCode))
		}
	}
	if p := readReq(-1); p.ErrorCode != 0 || p.StartOffset != 41 || len(p.StateBatches) != 1 || p.StateBatches[0].FirstOffset != 42 || p.StateBatches[0].LastOffset != 43 {
		t.Fatalf("read after writes: %+v", p)
	}
	for _, version := range []int16{0, 1} {
		s := kmsg.NewPtrReadShareGroupStateSummaryRequest()
		s.Version, s.GroupID = version, k.Group
		s.Topics = []kmsg.ReadShareGroupStateSummaryRequestTopic{{TopicID: k.TopicID, Partitions: []kmsg.ReadShareGroupStateSummaryRequestTopicPartition{{Partition: k.Partition, LeaderEpoch: -1}}}}
		p := send(s).(*kmsg.ReadShareGroupStateSummaryResponse).Topics[0].Partitions[0]
		if p.ErrorCode != 0 || p.StartOffset != 41 || p.LeaderEpoch != 3 || p.StateEpoch != 2 || (version == 1 && p.DeliveryCompleteCount != 1) {
			t.Fatalf("summary v%d: %+v", version, p)
		}
	}
	del := kmsg.NewPtrDeleteShareGroupStateRequest()
	del.GroupID = k.Group
	del.Topics = []kmsg.DeleteShareGroupStateRequestTopic{{TopicID: k.TopicID, Partitions: []kmsg.DeleteShareGroupStateRequestTopicPartition{{Partition: k.Partition}}}}
	if p := send(del).(*kmsg.DeleteShareGroupStateResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 {
		t.Fatalf("delete: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	if p := readReq(-1); p.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("read after delete: %v", kerr.ErrorForCode(p.ErrorCode))
	}
}

// rawExchange sends req at exactly its version on nc and decodes the answer (flexible
// response headers only: every request it is used with is flexible).
func rawExchange(t *testing.T, nc net.Conn, req kmsg.Request) kmsg.Response {
	t.Helper()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := nc.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, req, 7)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	var size [4]byte
	if _, err := io.ReadFull(br, size[:]); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatal(err)
	}
	if !req.IsFlexible() || binary.BigEndian.Uint32(body) != 7 || body[4] != 0 {
		t.Fatalf("response header % x", body[:min(len(body), 8)])
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if err := resp.ReadFrom(body[5:]); err != nil {
		t.Fatal(err)
	}
	return resp
}

// BenchmarkShareStateWrite: one share-partition's WriteShareGroupState through the persister
// on a single node (a ShareUpdate of two batches committed in __share_group_state, a
// ShareSnapshot every 500), and the same from 16 share-partitions at once.
func BenchmarkShareStateWrite(b *testing.B) {
	cfg := Config{NodeID: 1, DataDir: b.TempDir(), KafkaAddr: "127.0.0.1:0", ControllerAddr: freeAddrB(b)}
	ctx := context.Background()
	br, err := Start(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	p := br.env.SharePersister
	write := func(k share.Key, i int) error {
		off := int64(i * 10)
		return p.Write(ctx, k, share.Write{StateEpoch: 0, LeaderEpoch: 0, StartOffset: off, DeliveryCompleteCount: 5, Batches: []share.StateBatch{
			{FirstOffset: off, LastOffset: off + 4, DeliveryState: share.StateAcknowledged, DeliveryCount: 1},
			{FirstOffset: off + 5, LastOffset: off + 9, DeliveryState: share.StateAvailable, DeliveryCount: 1}}})
	}
	for _, keys := range []int{1, 16} {
		b.Run(fmt.Sprintf("share-partitions=%d", keys), func(b *testing.B) {
			var wg sync.WaitGroup
			per := b.N/keys + 1
			b.ResetTimer()
			for j := range keys {
				wg.Add(1)
				go func() {
					defer wg.Done()
					k := share.Key{Group: fmt.Sprintf("bench-%d", j), TopicID: [16]byte{1}, Partition: int32(j)}
					for i := range per {
						if err := write(k, i); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}

func freeAddrB(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestShareStateOfDeletedTopic: deleting a topic deletes its share-partitions' state, as
// Kafka's share coordinator does; other topics' state stays.
func TestShareStateOfDeletedTopic(t *testing.T) {
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", ControllerAddr: freeAddr(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	adm := newAdmin(t, b)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "kept"); err != nil {
		t.Fatal(err)
	}
	img := b.quorum.Image()
	gone, _ := img.Topic("gone")
	kept, _ := img.Topic("kept")
	kg := share.Key{Group: "sg", TopicID: [16]byte(gone.ID)}
	kk := share.Key{Group: "sg", TopicID: [16]byte(kept.ID)}
	for _, k := range []share.Key{kg, kk} {
		if err := b.env.SharePersister.Initialize(ctx, k, 0, 3); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := adm.DeleteTopic(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the deleted topic's share state gone", 10*time.Second, func() bool {
		_, err := b.env.SharePersister.ReadSummary(ctx, kg, -1)
		return errors.Is(err, kerr.UnknownTopicOrPartition)
	})
	if s, err := b.env.SharePersister.ReadSummary(ctx, kk, -1); err != nil || s.StartOffset != 3 {
		t.Fatalf("kept topic's state: %+v %v", s, err)
	}
}
