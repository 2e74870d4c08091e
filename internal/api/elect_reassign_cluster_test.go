package api_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/testkit"
)

// waitPartition polls Metadata until topic-partition has the given replicas and leader.
func waitPartition(ctx context.Context, t *testing.T, adm *kadm.Client, topic string, p int32, replicas []int32, leader int32) {
	t.Helper()
	var last kadm.PartitionDetail
	for ctx.Err() == nil {
		md, err := adm.Metadata(ctx, topic)
		if err == nil {
			last = md.Topics[topic].Partitions[p]
			if slices.Equal(last.Replicas, replicas) && last.Leader == leader {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s-%d: replicas %v leader %d, want %v %d", topic, p, last.Replicas, last.Leader, replicas, leader)
}

// partitionDetail polls Metadata until topic-partition has replicas and a leader.
func partitionDetail(ctx context.Context, t *testing.T, adm *kadm.Client, topic string, p int32) kadm.PartitionDetail {
	t.Helper()
	for ctx.Err() == nil {
		md, err := adm.Metadata(ctx, topic)
		if err == nil {
			if d, ok := md.Topics[topic].Partitions[p]; ok && len(d.Replicas) > 0 && d.Leader >= 0 {
				return d
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s-%d has no leader", topic, p)
	return kadm.PartitionDetail{}
}

// createTopic creates a topic; an answer that it exists already counts as created (the client
// retries a request whose first answer was lost to a controller change, and the first may have
// committed).
func createTopic(ctx context.Context, t *testing.T, adm *kadm.Client, partitions int32, rf int16, configs map[string]*string, topic string) {
	t.Helper()
	resp, err := adm.CreateTopic(ctx, partitions, rf, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatalf("create %s: %v", topic, err)
	}
}

// sendTo sends a request to one node only (not routed to the controller by the client), so
// the node must forward it.
func sendTo(ctx context.Context, t *testing.T, addr string, req kmsg.Request) kmsg.Response {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// ElectLeaders, AlterPartitionReassignments and ListPartitionReassignments through kadm against
// a three-node cluster: results, errors, a move that completes at once (the data follows the
// new leader), one left in progress, listed and cancelled, and forwarding from a node that is
// not the controller.
func TestElectionsAndReassignmentsInACluster(t *testing.T) {
	c := testkit.StartCluster(t, testkit.Options{Nodes: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Metadata answers are not cached for long: the test polls for changes.
	adm := kadm.NewClient(c.Client(kgo.MetadataMinAge(10 * time.Millisecond)))
	controller := c.Controller()

	// Elections: every partition is led by its preferred replica after creation.
	createTopic(ctx, t, adm, 3, 2, nil, "e")
	all, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, nil)
	if err != nil || len(all["e"]) != 0 {
		t.Fatalf("preferred election of all partitions: %v %v (partitions that need none are left out)", all, err)
	}
	res, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, kadm.TopicsSet{"e": {0: {}, 1: {}, 7: {}}, "nope": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	for tp, want := range map[[2]any]error{{"e", int32(0)}: kerr.ElectionNotNeeded, {"e", int32(1)}: kerr.ElectionNotNeeded,
		{"e", int32(7)}: kerr.UnknownTopicOrPartition, {"nope", int32(0)}: kerr.UnknownTopicOrPartition} {
		if got := res[tp[0].(string)][tp[1].(int32)].Err; !errors.Is(got, want) {
			t.Errorf("preferred %v: %v, want %v", tp, got, want)
		}
	}
	res, err = adm.ElectLeaders(ctx, kadm.ElectLiveReplica, kadm.TopicsSet{"e": {2: {}}})
	if err != nil || !errors.Is(res["e"][2].Err, kerr.ElectionNotNeeded) {
		t.Fatalf("unclean election of a led partition: %v %v", res, err)
	}

	// A move to a subset of the replicas completes at once; records acknowledged by both
	// replicas are read from the new leader.
	createTopic(ctx, t, adm, 1, 2, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, "r")
	before := partitionDetail(ctx, t, adm, "r", 0)
	prod := c.Client(kgo.DefaultProduceTopic("r"), kgo.RequiredAcks(kgo.AllISRAcks()))
	for i := range 20 {
		if err := prod.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(i))).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	keep := before.Replicas[1]
	var req kadm.AlterPartitionAssignmentsReq
	req.Assign("r", 0, []int32{keep})
	ares, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil || ares.Error() != nil {
		t.Fatalf("move r-0 to [%d]: %v %v", keep, ares, err)
	}
	waitPartition(ctx, t, adm, "r", 0, []int32{keep}, keep)
	cons := c.Client(kgo.ConsumeTopics("r"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for seen := 0; seen < 20; {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume after the move (%d read): %v", seen, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) != fmt.Sprint(seen) {
				t.Fatalf("record %d is %q", seen, r.Value)
			}
			seen++
		})
	}

	// A whole move to another broker: the new replica copies the log, joins the ISR (the
	// leader's AlterPartition), and the controller completes the move; the old replica's log
	// is gone and every record is read from the new leader.
	createTopic(ctx, t, adm, 1, 1, nil, "m")
	from := partitionDetail(ctx, t, adm, "m", 0).Leader
	to := from%3 + 1
	prod = c.Client(kgo.DefaultProduceTopic("m"), kgo.RequiredAcks(kgo.AllISRAcks()))
	for i := range 50 {
		if err := prod.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(i))).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	req = nil
	req.Assign("m", 0, []int32{to})
	moveStart := time.Now()
	if ares, err = adm.AlterPartitionAssignments(ctx, req); err != nil || ares.Error() != nil {
		t.Fatalf("move m-0 to [%d]: %v %v", to, ares, err)
	}
	waitPartition(ctx, t, adm, "m", 0, []int32{to}, to)
	t.Logf("m-0 moved from broker %d to %d in %v (request to the new leader in Metadata)", from, to, time.Since(moveStart))
	if lres, err := adm.ListPartitionReassignments(ctx, kadm.TopicsSet{"m": {0: {}}}); err != nil || len(lres) != 0 {
		t.Fatalf("m-0 still listed: %+v %v", lres, err)
	}
	for ctx.Err() == nil {
		if _, hosted := c.Node(from).Partitions().Partition("m", 0); !hosted {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cons = c.Client(kgo.ConsumeTopics("m"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for seen := 0; seen < 50; {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume after the move (%d read): %v", seen, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) != fmt.Sprint(seen) || r.Offset != int64(seen) {
				t.Fatalf("record %d is %q at %d", seen, r.Value, r.Offset)
			}
			seen++
		})
	}

	// A move onto a node that is down stays in progress: listed, then cancelled.
	createTopic(ctx, t, adm, 1, 1, nil, "g")
	x := partitionDetail(ctx, t, adm, "g", 0).Leader
	var down int32 = -1
	for _, id := range c.IDs() {
		if id != x && id != controller {
			down = id
			break
		}
	}
	c.Stop(down)
	req = nil
	req.Assign("g", 0, []int32{x, down})
	if ares, err = adm.AlterPartitionAssignments(ctx, req); err != nil || ares.Error() != nil {
		t.Fatalf("move g-0 to [%d %d]: %v %v", x, down, ares, err)
	}
	lres, err := adm.ListPartitionReassignments(ctx, kadm.TopicsSet{"g": {0: {}}, "e": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	got := lres["g"][0]
	if len(lres) != 1 || !slices.Equal(got.Replicas, []int32{x, down}) || !slices.Equal(got.AddingReplicas, []int32{down}) || len(got.RemovingReplicas) != 0 {
		t.Fatalf("listed %+v", lres)
	}
	// All reassignments (null topics), asked of a node that is not the controller.
	other := x
	if other == controller {
		for _, id := range c.IDs() {
			if id != controller && id != down {
				other = id
			}
		}
	}
	list := sendTo(ctx, t, c.KafkaAddr(other), kmsg.NewPtrListPartitionReassignmentsRequest()).(*kmsg.ListPartitionReassignmentsResponse)
	if list.ErrorCode != 0 || len(list.Topics) != 1 || list.Topics[0].Topic != "g" || len(list.Topics[0].Partitions) != 1 {
		t.Fatalf("list all through node %d: %+v", other, list)
	}
	req = nil
	req.CancelAssign("g", 0)
	if ares, err = adm.AlterPartitionAssignments(ctx, req); err != nil || ares.Error() != nil {
		t.Fatalf("cancel: %v %v", ares, err)
	}
	waitPartition(ctx, t, adm, "g", 0, []int32{x}, x)
	if ares, err = adm.AlterPartitionAssignments(ctx, req); err != nil || !errors.Is(ares.Error(), kerr.NoReassignmentInProgress) {
		t.Fatalf("second cancel: %v %v", ares, err)
	}
	req = nil
	req.Assign("g", 0, []int32{99})
	req.Assign("nope", 0, []int32{x})
	ares, err = adm.AlterPartitionAssignments(ctx, req)
	if err != nil || !errors.Is(ares["g"][0].Err, kerr.InvalidReplicaAssignment) || !errors.Is(ares["nope"][0].Err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("invalid requests: %+v %v", ares, err)
	}
	// KIP-860: a replication factor change refused when the request forbids it.
	req = nil
	req.Assign("g", 0, []int32{x, down})
	ares, err = adm.AlterPartitionAssignments(kadm.ForbidAlterRf(ctx), req)
	if err != nil || !errors.Is(ares.Error(), kerr.InvalidReplicationFactor) {
		t.Fatalf("forbidden replication factor change: %+v %v", ares, err)
	}
}

// ElectLeaders' request-wide errors reach the partitions too (as Kafka's error response), and
// v0 elects preferred leaders without the ElectionType field.
func TestElectLeadersRequestErrors(t *testing.T) {
	c := testkit.StartCluster(t, testkit.Options{Nodes: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := kmsg.NewPtrElectLeadersRequest()
	req.Version, req.ElectionType = 1, 5
	rt := kmsg.NewElectLeadersRequestTopic()
	rt.Topic, rt.Partitions = "x", []int32{0, 1}
	req.Topics = append(req.Topics, rt)
	resp := sendTo(ctx, t, c.KafkaAddr(1), req).(*kmsg.ElectLeadersResponse)
	if resp.ErrorCode != kerr.InvalidRequest.Code || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 2 ||
		resp.Topics[0].Partitions[1].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("election type 5: %+v", resp)
	}
	req.Version, req.ElectionType = 0, 1 // v0 has no type: preferred
	resp = sendTo(ctx, t, c.KafkaAddr(1), req).(*kmsg.ElectLeadersResponse)
	if len(resp.Topics) != 1 || resp.Topics[0].Partitions[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("v0: %+v", resp)
	}
}
