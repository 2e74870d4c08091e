package tests

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/testkit"
)

// partState is one partition as a node's Metadata shows it.
type partState struct {
	Leader        int32
	Replicas, ISR []int32
}

// topicState returns topic's partitions as node nd's Metadata has them (nil on an error).
func topicState(nd *procNode, topic string) []partState {
	cl, err := kgo.NewClient(kgo.SeedBrokers(nd.kafkaAddr), kgo.RetryTimeout(time.Second))
	if err != nil {
		return nil
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = []kmsg.MetadataRequestTopic{rt}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		return nil
	}
	out := make([]partState, len(resp.Topics[0].Partitions))
	for _, p := range resp.Topics[0].Partitions {
		if int(p.Partition) < len(out) {
			out[p.Partition] = partState{Leader: p.Leader, Replicas: p.Replicas, ISR: p.ISR}
		}
	}
	return out
}

// waitTopic polls node nd until cond holds for topic's partitions.
func waitTopic(t *testing.T, c *procCluster, nd *procNode, topic, what string, timeout time.Duration, cond func([]partState) bool) []partState {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := topicState(nd, topic)
		if st != nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %v for %s: %s is %+v (node %d's view)\n%s", timeout, what, topic, st, nd.id, c.logTails(30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// createAssigned creates a one-partition topic on the given replicas.
func createAssigned(ctx context.Context, t *testing.T, nd *procNode, topic string, replicas []int32, configs map[string]string) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	a.Partition, a.Replicas = 0, replicas
	rt.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{a}
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = []kmsg.CreateTopicsRequestTopic{rt}
	resp, err := req.RequestWith(ctx, nd.client())
	if err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create %s on %v: %v %+v", topic, replicas, err, resp)
	}
}

// readPartition0 reads every record of topic's partition 0 from the start, until n records or
// quiet for a second after at least one poll.
func readPartition0(ctx context.Context, t *testing.T, nd *procNode, topic string, n int) []string {
	t.Helper()
	cl := nd.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got []string
	for len(got) < n {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			t.Fatalf("read %s: %d records of %d: %v", topic, len(got), n, got)
		}
		if pctx.Err() != nil && fs.NumRecords() == 0 {
			break
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got
}

// TestClusterUncleanElection: the KIP scenario unclean.leader.election.enable exists for. A
// partition on brokers A (leader) and B; B pauses past its session and leaves the ISR; records
// are acknowledged by A alone; A dies. The partition stays offline while B is back but out of
// sync — until an unclean election: on one topic by turning the config on (the controller's next
// pass elects), on the other by `sluice topic elect-leaders --type unclean`. B leads with
// what it has: the records only A had are gone, later writes work. When A returns it truncates
// its divergent records and follows B; once in sync it takes its preferred leadership back, and
// every replica agrees.
func TestClusterUncleanElection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	t.Parallel()
	c := startProcCluster(t, 3, "--override", "broker.session.timeout.ms=3000", "--override", "broker.heartbeat.interval.ms=500",
		"--override", "leader.imbalance.check.interval.seconds=1")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ctl := c.controller()
	a := c.node(c.other(ctl))
	b := c.node(c.other(ctl, a.id))
	third := c.node(ctl)
	topics := []string{"by-config", "by-request"}
	for _, topic := range topics {
		createAssigned(ctx, t, third, topic, []int32{a.id, b.id}, map[string]string{"min.insync.replicas": "1"})
	}
	produce := func(topic, prefix string, n int) {
		t.Helper()
		p := third.client(kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordRetries(20))
		for i := range n {
			if err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("%s-%d", prefix, i))).FirstErr(); err != nil {
				t.Fatalf("produce %s %s-%d: %v\n%s", topic, prefix, i, err, c.logTails(30))
			}
		}
	}
	for _, topic := range topics {
		waitTopic(t, c, third, topic, "both replicas in sync", 30*time.Second, func(s []partState) bool { return s[0].Leader == a.id && len(s[0].ISR) == 2 })
		produce(topic, "both", 10)
	}

	b.pause()
	for _, topic := range topics {
		waitTopic(t, c, third, topic, "B out of the ISR", 30*time.Second, func(s []partState) bool { return slices.Equal(s[0].ISR, []int32{a.id}) })
		produce(topic, "a-only", 10)
	}
	a.kill()
	b.resume()
	c.waitFor(fmt.Sprintf("B (%d) active, A (%d) fenced", b.id, a.id), 60*time.Second, func(v testkit.View) bool {
		return slices.Contains(v.Active, b.id) && !slices.Contains(v.Active, a.id)
	})
	for _, topic := range topics {
		waitTopic(t, c, third, topic, "offline", 30*time.Second, func(s []partState) bool { return s[0].Leader == -1 && slices.Equal(s[0].ISR, []int32{a.id}) })
	}
	// B is active but out of sync: nothing elects it on its own (the controller has run its
	// passes since B came back).
	time.Sleep(2 * time.Second)
	for _, topic := range topics {
		if s := topicState(third, topic); s == nil || s[0].Leader != -1 {
			t.Fatalf("%s without unclean election: %+v", topic, s)
		}
	}

	adm := kadm.NewClient(third.client())
	alter, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "unclean.leader.election.enable", Value: kmsg.StringPtr("true")}}, "by-config")
	if err != nil || alter[0].Err != nil {
		t.Fatalf("enable unclean election: %v %+v", err, alter)
	}
	res := runSluice(t, third.asNode(), "", "topic", "elect-leaders", "--topic", "by-request", "--type", "unclean")
	if res.code != 0 || !strings.Contains(res.stdout, "elected a new leader for by-request-0") {
		t.Fatalf("sluice topic elect-leaders --type unclean: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, topic := range topics {
		waitTopic(t, c, third, topic, "B elected uncleanly", 30*time.Second, func(s []partState) bool { return s[0].Leader == b.id && slices.Equal(s[0].ISR, []int32{b.id}) })
		produce(topic, "after", 5)
		got := readPartition0(ctx, t, third, topic, 15)
		want := []string{}
		for i := range 10 {
			want = append(want, fmt.Sprintf("both-%d", i))
		}
		for i := range 5 {
			want = append(want, fmt.Sprintf("after-%d", i))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s after the unclean election: %v, want %v (what only A had is lost)", topic, got, want)
		}
	}

	// A returns: it truncates what B never had, catches up, rejoins the ISR, and auto rebalance
	// (leader.imbalance.check.interval.seconds=1) makes it leader again.
	restarted := time.Now()
	a.restart()
	for _, topic := range topics {
		waitTopic(t, c, third, topic, "A back as preferred leader", 60*time.Second, func(s []partState) bool { return s[0].Leader == a.id && len(s[0].ISR) == 2 })
	}
	t.Logf("A led again %v after its restart (catch-up, ISR expansion, auto rebalance)", time.Since(restarted))
	for _, topic := range topics {
		produce(topic, "back", 5)
		got := readPartition0(ctx, t, third, topic, 20)
		if len(got) != 20 || got[10] != "after-0" || got[15] != "back-0" {
			t.Fatalf("%s after A returned: %v", topic, got)
		}
	}
}

// TestClusterAutoLeaderRebalance: a broker SIGKILLed and restarted loses its leaderships to the
// others and, with auto.leader.rebalance.enable (Kafka's default) and a short
// leader.imbalance.check.interval.seconds, gets every partition it is the preferred replica of
// back once it is in sync again; ElectLeaders then finds nothing to do.
func TestClusterAutoLeaderRebalance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	t.Parallel()
	c := startProcCluster(t, 3, "--override", "broker.session.timeout.ms=3000", "--override", "broker.heartbeat.interval.ms=500",
		"--override", "leader.imbalance.check.interval.seconds=1")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctl := c.controller()
	x := c.node(c.other(ctl))
	via := c.node(ctl)
	adm := kadm.NewClient(via.client())
	const topic = "balanced"
	if resp, err := adm.CreateTopic(ctx, 6, 3, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create: %v %v", err, resp.Err)
	}
	preferredByX := func(s []partState) (n int) {
		for _, p := range s {
			if len(p.Replicas) > 0 && p.Replicas[0] == x.id {
				n++
			}
		}
		return n
	}
	st := waitTopic(t, c, via, topic, "every partition led by its preferred replica", 30*time.Second, func(s []partState) bool {
		for _, p := range s {
			if len(p.Replicas) != 3 || p.Leader != p.Replicas[0] || len(p.ISR) != 3 {
				return false
			}
		}
		return true
	})
	if preferredByX(st) == 0 {
		t.Fatalf("broker %d is preferred for no partition: %+v", x.id, st)
	}
	x.kill()
	waitTopic(t, c, via, topic, fmt.Sprintf("no partition led by %d", x.id), 30*time.Second, func(s []partState) bool {
		for _, p := range s {
			if p.Leader == x.id || p.Leader < 0 {
				return false
			}
		}
		return true
	})
	restarted := time.Now()
	x.restart()
	waitTopic(t, c, via, topic, fmt.Sprintf("broker %d leading its preferred partitions again", x.id), 60*time.Second, func(s []partState) bool {
		for _, p := range s {
			if p.Leader != p.Replicas[0] {
				return false
			}
		}
		return true
	})
	t.Logf("broker %d led its %d preferred partitions again %v after its restart", x.id, preferredByX(st), time.Since(restarted))
	res, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, nil)
	if err != nil || len(res[topic]) != 0 {
		t.Fatalf("preferred election after the rebalance: %v %v", res, err)
	}
	one, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, kadm.TopicsSet{topic: {0: {}}})
	if err != nil || !errors.Is(one[topic][0].Err, kerr.ElectionNotNeeded) {
		t.Fatalf("preferred election of %s-0: %v %v", topic, one, err)
	}
}
