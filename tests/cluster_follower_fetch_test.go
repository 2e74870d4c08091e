package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestClusterFollowerFetching (KIP-392): three processes in racks rack-1..3 with
// replica.selector.class=RackAwareReplicaSelector. A franz-go consumer whose client.rack is a
// follower's rack is sent by the leader to that follower and reads from it: it keeps reading
// while the leader is stopped (SIGSTOP), and only that follower's /metrics count the topic's
// bytes out among the followers. kcat and confluent-kafka consumers with client.rack read from
// that follower too, and a read_committed consumer gets only committed records from it.
func TestClusterFollowerFetching(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	t.Parallel()
	rack := func(id int32) string { return fmt.Sprintf("rack-%d", id) }
	c := startProcClusterEach(t, 3, false, func(id int32) []string {
		return []string{"--override", "broker.rack=" + rack(id)}
	}, "--override", "replica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	const topic, n = "near", 60
	if resp, err := kadm.NewClient(c.node(1).client()).CreateTopic(ctx, 1, 3, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create %s: %v %v", topic, err, resp.Err)
	}
	leader := partitionLeaders(t, c.node(1), topic, 3)[0]
	follower, other := leader%3+1, (leader+1)%3+1
	producer := c.node(leader).client(kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))
	for i := range n { // one batch each
		if err := producer.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("v-%03d", i))}).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}

	// The follower learns the high watermark from its next fetch.
	// (franz-go picks the version, so the request names the topic by id as well.)
	probe := c.node(follower).client()
	topics, err := kadm.NewClient(probe).ListTopics(ctx, topic)
	if err != nil || topics[topic].Err != nil {
		t.Fatalf("list %s: %v %v", topic, err, topics[topic].Err)
	}
	for attempt := 0; ; attempt++ {
		req := kmsg.NewPtrFetchRequest()
		req.Version, req.ReplicaID, req.MaxBytes, req.SessionEpoch, req.Rack = 11, -1, 1<<20, -1, rack(follower)
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = topic, topics[topic].ID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.PartitionMaxBytes, rp.FetchOffset = 1<<20, n
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := req.RequestWith(rctx, probe.Broker(int(follower)))
		rcancel()
		if err != nil && ctx.Err() == nil {
			t.Logf("fetch from the follower: %v", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("fetch from the follower: %v", err)
		}
		p := resp.Topics[0].Partitions[0]
		if attempt%20 == 0 {
			t.Logf("follower %d: error %d, high watermark %d", follower, p.ErrorCode, p.HighWatermark)
		}
		if p.ErrorCode == 0 && p.HighWatermark == n {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the follower's high watermark: %d (error %d)", p.HighWatermark, p.ErrorCode)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// One batch per fetch, so the consumer is still reading when the leader stops.
	consumer := c.node(leader).client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.Rack(rack(follower)), kgo.FetchMaxBytes(1), kgo.FetchMaxPartitionBytes(1))
	var got []string
	poll := func(until int) {
		t.Helper()
		for len(got) < until {
			fetches := consumer.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("read %d of %d records\n%s", len(got), until, c.logTails(30))
			}
			fetches.EachError(func(topic string, p int32, err error) { t.Logf("fetch %s-%d: %v", topic, p, err) })
			fetches.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
		}
	}
	bytesOut := func(id int32) float64 {
		return scrapeMetrics(t, c.node(id).asNode())[fmt.Sprintf("sluice_topic_bytes_out_total{topic=%q}", topic)]
	}
	poll(5)
	// The leader answered the first fetch with the follower (no records): every record so far
	// came from the follower in the consumer's rack, none from the other one.
	if b := bytesOut(follower); b == 0 {
		t.Errorf("node %d (the consumer's rack) sent no bytes of %s", follower, topic)
	}
	if b := bytesOut(other); b != 0 {
		t.Errorf("node %d (another rack) sent %v bytes of %s", other, b, topic)
	}
	c.node(leader).pause()
	poll(n)
	c.node(leader).resume()
	for i, v := range got {
		if want := fmt.Sprintf("v-%03d", i); v != want {
			t.Fatalf("record %d is %q, want %q", i, v, want)
		}
	}
	// Read while the leader was stopped, and before any failover: still the same leader.
	if now := partitionLeaders(t, c.node(follower), topic, 3)[0]; now != leader {
		t.Fatalf("leader moved from %d to %d while the leader was stopped: the reads did not prove follower fetching", leader, now)
	}

	// librdkafka's client.rack, through kcat and confluent-kafka, each reading the whole
	// partition via the leader: the bytes come from the follower in their rack.
	checkClient := func(t *testing.T, name string, read func() string) {
		before := bytesOut(follower)
		var values []string
		for _, l := range strings.Split(strings.TrimSpace(read()), "\n") {
			values = append(values, strings.TrimSpace(l))
		}
		if len(values) != n || values[0] != "v-000" || values[n-1] != fmt.Sprintf("v-%03d", n-1) {
			t.Fatalf("%s read %d records (%.40q...)", name, len(values), values)
		}
		if after := bytesOut(follower); after <= before {
			t.Errorf("%s: node %d (its rack) sent no bytes of %s (%v before, %v after)", name, follower, topic, before, after)
		}
		if b := bytesOut(other); b != 0 {
			t.Errorf("%s: node %d (another rack) sent %v bytes of %s", name, other, b, topic)
		}
	}
	t.Run("read_committed", func(t *testing.T) {
		// A follower serves read_committed consumers up to its last stable offset, with the
		// aborted transactions it replicated: committed records only.
		const txTopic = "near-tx"
		if resp, err := kadm.NewClient(c.node(1).client()).CreateTopic(ctx, 1, 3, nil, txTopic); err != nil || resp.Err != nil {
			t.Fatalf("create %s: %v %v", txTopic, err, resp.Err)
		}
		txLeader := partitionLeaders(t, c.node(1), txTopic, 3)[0]
		txFollower, txOther := txLeader%3+1, (txLeader+1)%3+1
		tx := c.node(txLeader).client(kgo.TransactionalID("near-tx-producer"), kgo.DefaultProduceTopic(txTopic))
		for _, step := range []struct {
			prefix string
			commit kgo.TransactionEndTry
		}{{"c1", kgo.TryCommit}, {"ab", kgo.TryAbort}, {"c2", kgo.TryCommit}} {
			if err := tx.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if err := tx.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("%s-%d", step.prefix, i))}).FirstErr(); err != nil {
					t.Fatalf("produce %s-%d: %v", step.prefix, i, err)
				}
			}
			if err := tx.EndTransaction(ctx, step.commit); err != nil {
				t.Fatalf("end transaction %s: %v", step.prefix, err)
			}
		}
		rc := c.node(txLeader).client(kgo.ConsumeTopics(txTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.Rack(rack(txFollower)), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		var read []string
		for len(read) < 6 {
			fetches := rc.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("read_committed via node %d's rack read %v", txFollower, read)
			}
			fetches.EachRecord(func(r *kgo.Record) { read = append(read, string(r.Value)) })
		}
		if got := strings.Join(read, ","); got != "c1-0,c1-1,c1-2,c2-0,c2-1,c2-2" {
			t.Fatalf("read_committed from the follower: %s", got)
		}
		txBytes := func(id int32) float64 {
			return scrapeMetrics(t, c.node(id).asNode())[fmt.Sprintf("sluice_topic_bytes_out_total{topic=%q}", txTopic)]
		}
		if b := txBytes(txFollower); b == 0 {
			t.Errorf("node %d (the consumer's rack) sent no bytes of %s", txFollower, txTopic)
		}
		if b := txBytes(txOther); b != 0 {
			t.Errorf("node %d (another rack) sent %v bytes of %s", txOther, b, txTopic)
		}
	})
	t.Run("kcat", func(t *testing.T) {
		requireKcat(t)
		checkClient(t, "kcat", func() string {
			return runClient(t, 60*time.Second, "", "kcat", "-b", c.node(leader).kafkaAddr, "-C", "-t", topic, "-p", "0",
				"-o", "beginning", "-c", fmt.Sprint(n), "-f", "%s\n", "-X", "client.rack="+rack(follower))
		})
	})
	t.Run("confluent-kafka", func(t *testing.T) {
		requirePython(t, "confluent_kafka")
		checkClient(t, "confluent-kafka", func() string {
			return runClient(t, 60*time.Second, "", "/usr/bin/python3", "python/confluent_rack_consumer.py",
				c.node(leader).kafkaAddr, topic, rack(follower), fmt.Sprint(n))
		})
	})
}
