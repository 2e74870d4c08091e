package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// threeNodes starts three brokers, each a quorum voter, concurrently (as three processes
// would start), and returns them with their configs.
func threeNodes(t *testing.T, overrides map[string]string) ([]*Broker, []Config) {
	t.Helper()
	ctl := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	peers := make([]string, len(ctl))
	for i, a := range ctl {
		peers[i] = fmt.Sprintf("%d@%s", i+1, a)
	}
	cfgs := make([]Config, 3)
	for i := range cfgs {
		cfgs[i] = Config{NodeID: int32(i + 1), DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", ControllerAddr: ctl[i],
			Peers: peers, Overrides: overrides}
	}
	// All at once, as a whole cluster is stopped: controlled shutdowns that cannot complete
	// (no broker left to lead, or no controller) are abandoned, not waited out.
	return startNodes(t, cfgs, closeTogether), cfgs
}

// startNodes starts a broker per config concurrently (as processes would start) and has
// closeAll stop them when the test ends.
func startNodes(t *testing.T, cfgs []Config, closeAll func([]*Broker)) []*Broker {
	t.Helper()
	nodes := make([]*Broker, len(cfgs))
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i], errs[i] = Start(ctx, cfgs[i])
		}()
	}
	wg.Wait()
	t.Cleanup(func() { closeAll(nodes) })
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return nodes
}

// closeTogether closes the running nodes concurrently.
func closeTogether(nodes []*Broker) {
	var wg sync.WaitGroup
	for _, n := range nodes {
		if n != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n.Close()
			}()
		}
	}
	wg.Wait()
}

func waitUntil(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func activeBrokers(b *Broker) int {
	n := 0
	for _, br := range b.quorum.Image().Brokers() {
		if !br.Fenced && !br.InControlledShutdown {
			n++
		}
	}
	return n
}

// TestThreeNodeControlPlane: three nodes form one cluster; every broker registers over the
// network and is unfenced; admin requests sent to a node that is not the controller are
// forwarded to it; when the controller stops (controlled shutdown, then its quorum member
// leaves) another takes over and serves admin requests; a restarted node rejoins.
func TestThreeNodeControlPlane(t *testing.T) {
	if testing.Short() {
		t.Skip("three nodes")
	}
	nodes, cfgs := threeNodes(t, map[string]string{"broker.heartbeat.interval.ms": "200", "broker.session.timeout.ms": "2000"})
	for _, n := range nodes {
		waitUntil(t, "three active brokers", 20*time.Second, func() bool { return activeBrokers(n) == 3 })
		if err := n.Ready(); err != nil {
			t.Fatalf("node %d not ready: %v", n.cfg.NodeID, err)
		}
	}
	ids := map[string]bool{}
	for _, n := range nodes {
		ids[n.quorum.Image().ClusterID()] = true
	}
	if len(ids) != 1 {
		t.Fatalf("cluster ids %v", ids)
	}

	var follower *Broker
	for _, n := range nodes {
		if !n.quorum.Active() {
			follower = n
			break
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(follower.KafkaAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// A request pinned to the follower (kadm would send it to the controller Metadata
	// names): the follower forwards it in an Envelope.
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "replicated", 6, 3
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 30000
	resp, err := cl.Broker(int(follower.cfg.NodeID)).Request(ctx, req)
	if err != nil {
		t.Fatalf("create through node %d: %v", follower.cfg.NodeID, err)
	}
	if got := resp.(*kmsg.CreateTopicsResponse).Topics[0]; got.ErrorCode != 0 || got.NumPartitions != 6 {
		t.Fatalf("create through node %d: error %d, %d partitions", follower.cfg.NodeID, got.ErrorCode, got.NumPartitions)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "replicated"); !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatalf("second create: %v, want TOPIC_ALREADY_EXISTS", err)
	}
	waitUntil(t, "the topic on every node", 10*time.Second, func() bool {
		for _, n := range nodes {
			if _, ok := n.quorum.Image().Topic("replicated"); !ok {
				return false
			}
		}
		return true
	})
	topic, _ := follower.quorum.Image().Topic("replicated")
	leaders := map[int32]int{}
	for _, p := range topic.Partitions {
		if len(p.Replicas) != 3 {
			t.Fatalf("partition replicas %v", p.Replicas)
		}
		leaders[p.Leader]++
	}
	if len(leaders) != 3 {
		t.Fatalf("leaders not spread over the brokers: %v", leaders)
	}

	// Stop the controller: its leaderships move first (controlled shutdown).
	var ctlIdx int
	for i, n := range nodes {
		if n.quorum.Active() {
			ctlIdx = i
		}
	}
	old := nodes[ctlIdx]
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	nodes[ctlIdx] = nil
	var survivor *Broker
	for _, n := range nodes {
		if n != nil {
			survivor = n
		}
	}
	waitUntil(t, "a new controller", 20*time.Second, func() bool {
		id, ok := survivor.quorum.Leader()
		return ok && id != old.cfg.NodeID
	})
	topic, _ = survivor.quorum.Image().Topic("replicated")
	for _, p := range topic.Partitions {
		if p.Leader == old.cfg.NodeID {
			t.Fatalf("partition %d still led by the stopped node", p.Partition)
		}
	}
	if _, err := kadm.NewClient(mustClient(t, survivor.KafkaAddr())).CreateTopic(ctx, 1, 1, nil, "after-failover"); err != nil {
		t.Fatalf("create after failover: %v", err)
	}

	// The stopped node restarts on its data directory and rejoins.
	cfg := cfgs[ctlIdx]
	restarted, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	nodes[ctlIdx] = restarted
	waitUntil(t, "three active brokers again", 20*time.Second, func() bool { return activeBrokers(survivor) == 3 })
	if _, ok := restarted.quorum.Image().Topic("after-failover"); !ok {
		t.Fatal("the restarted node missed metadata")
	}
}

func mustClient(t *testing.T, addr string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// TestDedicatedControllers: process.roles splits the roles: two controller-only nodes and a
// combined one form the quorum; a broker-only node follows the metadata log as an observer,
// registers and serves; Metadata lists the two brokers only.
func TestDedicatedControllers(t *testing.T) {
	if testing.Short() {
		t.Skip("four nodes")
	}
	ctl := []string{freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)}
	peers := []string{"1@" + ctl[0], "2@" + ctl[1], "3@" + ctl[2]}
	roles := []string{"controller", "controller", "broker,controller", "broker"}
	cfgs := make([]Config, len(roles))
	for i := range cfgs {
		cfgs[i] = Config{NodeID: int32(i + 1), DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0",
			ControllerAddr: ctl[i], Peers: peers, Overrides: map[string]string{"process.roles": roles[i]}, Logger: testLogger(t, i+1)}
	}
	nodes := startNodes(t, cfgs, func(nodes []*Broker) {
		// Brokers first: a controlled shutdown needs the controllers' quorum.
		for _, n := range slices.Backward(nodes) {
			if n != nil {
				n.Close()
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	waitUntil(t, "two active brokers", 20*time.Second, func() bool { return activeBrokers(nodes[3]) == 2 })
	if _, ok := nodes[0].quorum.Image().Broker(1); ok {
		t.Fatal("a controller-only node registered as a broker")
	}
	adm := kadm.NewClient(mustClient(t, nodes[3].KafkaAddr()))
	md, err := adm.BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := md.Brokers.NodeIDs(); len(got) != 2 || got[0] != 3 || got[1] != 4 {
		t.Fatalf("brokers %v, want [3 4]", got)
	}
	if _, err := adm.CreateTopic(ctx, 4, 2, nil, "on-brokers"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the topic on the observer", 10*time.Second, func() bool {
		_, ok := nodes[3].quorum.Image().Topic("on-brokers")
		return ok
	})
	if err := nodes[3].Ready(); err != nil {
		t.Fatalf("broker-only node not ready: %v", err)
	}

	// KIP-919: a controller-only node's controller listener describes the controllers.
	ctlClient := mustClient(t, ctl[0])
	dc := kmsg.NewPtrDescribeClusterRequest()
	dc.EndpointType = 2
	dcResp, err := ctlClient.SeedBrokers()[0].Request(ctx, dc)
	if err != nil {
		t.Fatal(err)
	}
	d := dcResp.(*kmsg.DescribeClusterResponse)
	leader, _ := nodes[0].quorum.Leader()
	var got []string
	for _, b := range d.Brokers {
		got = append(got, fmt.Sprintf("%d@%s:%d", b.NodeID, b.Host, b.Port))
	}
	if d.ErrorCode != 0 || d.ControllerID != leader || strings.Join(got, ",") != strings.Join(peers, ",") {
		t.Fatalf("controllers: error %d, controller %d (leader %d), %v, want %v", d.ErrorCode, d.ControllerID, leader, got, peers)
	}
	dc.EndpointType = 1
	if resp, err := ctlClient.SeedBrokers()[0].Request(ctx, dc); err != nil || resp.(*kmsg.DescribeClusterResponse).ErrorCode != kerr.MismatchedEndpointType.Code {
		t.Fatalf("brokers asked of a controller listener: %v %+v", err, resp)
	}
	// DescribeQuorum asked of the broker-only node (forwarded to the active controller): the
	// three controllers vote, the broker-only node observes.
	req := kmsg.NewPtrDescribeQuorumRequest()
	tp := kmsg.NewDescribeQuorumRequestTopic()
	tp.Topic = "__cluster_metadata"
	tp.Partitions = []kmsg.DescribeQuorumRequestTopicPartition{kmsg.NewDescribeQuorumRequestTopicPartition()}
	req.Topics = append(req.Topics, tp)
	resp, err := req.RequestWith(ctx, mustClient(t, nodes[3].KafkaAddr()))
	if err != nil || resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("describe quorum: %+v %v", resp, err)
	}
	p := resp.Topics[0].Partitions[0]
	var voters []int32
	for _, v := range p.CurrentVoters {
		voters = append(voters, v.ReplicaID)
	}
	slices.Sort(voters)
	if p.ErrorCode != 0 || !slices.Equal(voters, []int32{1, 2, 3}) || len(p.Observers) != 1 || p.Observers[0].ReplicaID != 4 {
		t.Fatalf("describe quorum: %+v", p)
	}
}

func testLogger(t *testing.T, node int) *slog.Logger {
	if os.Getenv("SLUICE_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", node)
}
