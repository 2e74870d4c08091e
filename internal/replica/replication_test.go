package replica_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testkit"
)

// replicaEnds returns each running node's log end offset and high watermark of topic-partition.
func replicaEnds(c *testkit.Cluster, topic string, part int32) map[int32][2]int64 {
	out := map[int32][2]int64{}
	for _, id := range c.IDs() {
		if !c.Running(id) {
			continue
		}
		if p, ok := c.Node(id).Partitions().Partition(topic, part); ok {
			out[id] = [2]int64{p.LogEndOffset(), p.HighWatermark()}
		}
	}
	return out
}

func waitEqualEnds(t *testing.T, c *testkit.Cluster, topic string, parts int32, want int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := true
		var last map[int32][2]int64
		for p := range parts {
			last = replicaEnds(c, topic, p)
			for _, e := range last {
				if e[0] != want && want >= 0 {
					ok = false
				}
			}
			if len(last) != 3 {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas of %s did not converge to %d: %v", topic, want, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReplicatedProduceConsume: an RF 3 topic with min.insync.replicas=2 takes acks=all
// produce (which completes only once followers fetched), every replica ends with the same log,
// and a consumer reads every record.
func TestReplicatedProduceConsume(t *testing.T) {
	if testing.Short() {
		t.Skip("three nodes")
	}
	c := testkit.StartCluster(t, testkit.Options{Nodes: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	adm := kadm.NewClient(c.Client())
	const topic = "replicated"
	if err := createTopic(ctx, adm, 1, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic); err != nil {
		t.Fatal(err)
	}
	prod := c.Client(kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))
	const n = 500
	for i := range n {
		if err := prod.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("v%d", i))).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	waitEqualEnds(t, c, topic, 1, n)
	readAllFromStart(ctx, t, c, topic, n)
}

// TestReplicatedFailover: with the leader stopped, another replica leads and takes acks=all
// produce; the old leader, restarted, follows again and ends with the same log as the others
// (it truncates nothing it acknowledged, fetches what it missed).
func TestReplicatedFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("three nodes")
	}
	c := testkit.StartCluster(t, testkit.Options{Nodes: 3, Overrides: map[string]string{
		"broker.heartbeat.interval.ms": "200", "broker.session.timeout.ms": "2000"}})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	adm := kadm.NewClient(c.Client())
	const topic = "failover"
	if err := createTopic(ctx, adm, 1, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic); err != nil {
		t.Fatal(err)
	}
	prod := c.Client(kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))
	next := 0
	produce := func(n int) {
		t.Helper()
		for range n {
			if err := prod.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("v%d", next))).FirstErr(); err != nil {
				t.Fatalf("produce %d: %v", next, err)
			}
			next++
		}
	}
	produce(200)
	leader := partitionLeader(ctx, t, adm, topic)
	c.Stop(leader)
	produce(200)
	c.Restart(leader)
	produce(100)
	waitEqualEnds(t, c, topic, 1, int64(next))
	readAllFromStart(ctx, t, c, topic, next)
}

// readAllFromStart consumes topic from the start until n records were read, each at offset i
// with value "v<i>".
func readAllFromStart(ctx context.Context, t *testing.T, c *testkit.Cluster, topic string, n int) {
	t.Helper()
	cons := c.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	seen := 0
	for seen < n {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if want := fmt.Sprintf("v%d", r.Offset); string(r.Value) != want {
				t.Fatalf("offset %d: %q, want %q", r.Offset, r.Value, want)
			}
			seen++
		})
	}
}

func partitionLeader(ctx context.Context, t *testing.T, adm *kadm.Client, topic string) int32 {
	t.Helper()
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	return md.Topics[topic].Partitions[0].Leader
}

// TestReplicationThrottle: a follower that is out of the ISR and named by a topic's
// follower.replication.throttled.replicas (or whose leader's leader.replication.throttled.replicas
// names the partition) catches up no faster than the throttle rate; lifting the rate lets it
// catch up. In-sync followers are never throttled (acks=all keeps completing meanwhile).
func TestReplicationThrottle(t *testing.T) {
	if testing.Short() {
		t.Skip("three nodes")
	}
	for _, side := range []string{"follower", "leader"} {
		t.Run(side, func(t *testing.T) {
			c := testkit.StartCluster(t, testkit.Options{Nodes: 3})
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			adm := kadm.NewClient(c.Client())
			topic := side + "-throttled"
			list := side + ".replication.throttled.replicas"
			rate := side + ".replication.throttled.rate"
			if err := createTopic(ctx, adm, 1, 3, map[string]*string{list: kadm.StringPtr("*"), "min.insync.replicas": kadm.StringPtr("2")}, topic); err != nil {
				t.Fatal(err)
			}
			for _, id := range c.IDs() {
				if _, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: rate, Value: kadm.StringPtr("20000")}}, id); err != nil {
					t.Fatal(err)
				}
			}
			leader := partitionLeader(ctx, t, adm, topic)
			lagging := int32(1)
			for lagging == leader {
				lagging++
			}
			c.Stop(lagging)
			prod := c.Client(kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerBatchMaxBytes(1<<20),
				kgo.ProducerBatchCompression(kgo.NoCompression()))
			value := make([]byte, 10<<10)
			for range 500 { // 5 MB: over 4 minutes at the throttle after a first fetch of up to 1 MB
				if err := prod.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			// At least the 500 records acknowledged with acks=all (the first leader's end alone
			// read 0 once in CI, when leadership had moved meanwhile).
			end := int64(500)
			for id, e := range replicaEnds(c, topic, 0) {
				if id != lagging {
					end = max(end, e[0])
				}
			}
			c.Restart(lagging)
			time.Sleep(3 * time.Second)
			if got := replicaEnds(c, topic, 0)[lagging][0]; got > end/2 {
				t.Fatalf("the throttled %s side let a replica out of the ISR fetch %d of %d records in 3 s", side, got, end)
			}
			// The in-sync follower is not throttled: acks=all still completes.
			if err := prod.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			for _, id := range c.IDs() {
				if _, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: rate, Op: kadm.DeleteConfig}}, id); err != nil {
					t.Fatal(err)
				}
			}
			waitEqualEnds(t, c, topic, 1, end+1)
		})
	}
}

// TestDeleteRecordsWaitsForFollowers: DeleteRecords on a replicated partition answers once
// the low watermark — the smallest log start offset over the leader and its in-sync followers
// — reached the offset, so when it answers every replica has already moved its log start.
func TestDeleteRecordsWaitsForFollowers(t *testing.T) {
	if testing.Short() {
		t.Skip("three nodes")
	}
	c := testkit.StartCluster(t, testkit.Options{Nodes: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(c.Client())
	const topic = "trimmed"
	if err := createTopic(ctx, adm, 1, 3, nil, topic); err != nil {
		t.Fatal(err)
	}
	prod := c.Client(kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))
	for i := range 100 {
		if err := prod.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("v%d", i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	waitEqualEnds(t, c, topic, 1, 100)
	offsets := kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: topic, Partition: 0, At: 60})
	res, err := adm.DeleteRecords(ctx, offsets)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := res.Lookup(topic, 0)
	if r.Err != nil || r.LowWatermark != 60 {
		t.Fatalf("DeleteRecords: low watermark %d, err %v; want 60", r.LowWatermark, r.Err)
	}
	for _, id := range c.IDs() {
		p, ok := c.Node(id).Partitions().Partition(topic, 0)
		if !ok {
			t.Fatalf("node %d does not host %s-0", id, topic)
		}
		if start := p.LogStartOffset(); start != 60 {
			t.Errorf("node %d's log start offset is %d when DeleteRecords answered; want 60", id, start)
		}
	}
}

// createTopic creates a topic in a fresh cluster. TOPIC_ALREADY_EXISTS counts as success: on a
// loaded machine the controller can lose leadership while the creation commits, answer
// NOT_CONTROLLER, and the client's retry then finds the topic it created (as with Kafka).
func createTopic(ctx context.Context, adm *kadm.Client, partitions int32, rf int16, configs map[string]*string, topic string) error {
	_, err := adm.CreateTopic(ctx, partitions, rf, configs, topic)
	if errors.Is(err, kerr.TopicAlreadyExists) {
		return nil
	}
	return err
}
