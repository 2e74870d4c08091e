package tests

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestISRShrinkAndExpand: three real processes, every link through a proxy, a topic of RF 3
// with min.insync.replicas=2 and replica.lag.time.max.ms=2000 (broker sessions keep Kafka's
// 9 s, so no broker is fenced: every ISR change here is the leader's AlterPartition).
//
//   - One follower's replica fetches are held by the leader's proxy: once the leader has
//     appended past it, it leaves the ISR after replica.lag.time.max.ms; acks=all still works.
//   - The other follower's process is stopped (SIGSTOP): it leaves too, and acks=all gets
//     NOT_ENOUGH_REPLICAS with the ISR at 1, while acks=1 works.
//   - Released (the hold lifted, SIGCONT), both catch up and return to the ISR, and acks=all
//     works again; the leader's /metrics counted the shrinks and expansions.
func TestISRShrinkAndExpand(t *testing.T) {
	if testing.Short() {
		t.Skip("three processes, followers held out of the ISR and back")
	}
	t.Parallel()
	const lag = 2 * time.Second
	c := startProxiedCluster(t, 3, "--override", fmt.Sprintf("replica.lag.time.max.ms=%d", lag.Milliseconds()))
	const topic = "isr"
	cl := c.node(1).client(kgo.SeedBrokers(strings.Split(c.bootstrap(), ",")...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()))
	// franz-go sends raw Produce requests with its client's acks: one client per acks.
	cl1 := c.node(1).client(kgo.SeedBrokers(strings.Split(c.bootstrap(), ",")...), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if resp, err := adm.CreateTopic(ctx, 1, 3, map[string]*string{"min.insync.replicas": kmsg.StringPtr("2")}, topic); err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	// The partition's state as one broker (node 1, then the leader, which is never paused)
	// describes it: a stopped broker would hold a metadata request past its session.
	ask := int32(1)
	var stateID [16]byte
	state := func() (leader int32, isr []int32) {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		resp, err := cl.Broker(int(ask)).Request(rctx, req)
		if err != nil {
			return -1, nil
		}
		md := resp.(*kmsg.MetadataResponse)
		if len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 || len(md.Topics[0].Partitions) != 1 {
			return -1, nil
		}
		p := md.Topics[0].Partitions[0]
		stateID = md.Topics[0].TopicID
		isr = slices.Clone(p.ISR)
		slices.Sort(isr)
		return p.Leader, isr
	}
	waitISR := func(what string, want []int32, timeout time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			_, isr := state()
			if slices.Equal(isr, want) {
				return time.Since(start)
			}
			if time.Since(start) > timeout {
				t.Fatalf("%s: ISR %v after %v, want %v\n%s", what, isr, timeout, want, c.logTails(30))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitISR("all replicas in sync", []int32{1, 2, 3}, 30*time.Second)
	topicID := stateID // from the same broker's metadata that showed the ISR
	produceOnce := func(acks int16, value string) error {
		leader, _ := state()
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = acks, 10000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic, rt.TopicID = topic, topicID // v13+ names topics by id
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = oneRecordBatch(t, value)
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		send := cl
		if acks == 1 {
			send = cl1
		}
		resp, err := send.Broker(int(leader)).Request(ctx, req)
		if err != nil {
			return err
		}
		return kerr.ErrorForCode(resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode)
	}
	// produce retries while the leader the metadata names has not taken over yet.
	produce := func(acks int16, value string) error {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			err := produceOnce(acks, value)
			if (err != kerr.NotLeaderForPartition && err != kerr.UnknownTopicOrPartition && err != kerr.UnknownTopicID) || time.Now().After(deadline) {
				return err
			}
		}
	}
	if err := produce(-1, "all in sync"); err != nil {
		t.Fatalf("acks=all with the full ISR: %v", err)
	}
	leader, _ := state()
	ask = leader
	var followers []int32
	for _, nd := range c.nodes {
		if nd.id != leader {
			followers = append(followers, nd.id)
		}
	}
	// The paused follower is not the controller: stopping the controller would stall every
	// AlterPartition until the quorum elects another, which this test is not about.
	held, paused := followers[0], followers[1]
	ctl := c.controller()
	if paused == ctl {
		held, paused = paused, held
	}
	t.Logf("leader %d, controller %d: holding node %d's fetches, pausing node %d", leader, ctl, held, paused)
	without := func(ids ...int32) []int32 {
		var out []int32
		for _, id := range []int32{1, 2, 3} {
			if !slices.Contains(ids, id) {
				out = append(out, id)
			}
		}
		return out
	}
	before := scrapeMetrics(t, c.node(leader).asNode())

	// Hold the first follower's fetches at the leader's proxy, then append past it.
	hold := c.node(leader).kafkaProxy.Add(holdRule(toBroker, 1).from(fmt.Sprintf("node-%d", held)))
	time.Sleep(200 * time.Millisecond) // its fetch in flight is answered or held
	if err := produce(1, "past the held follower"); err != nil {
		t.Fatal(err)
	}
	shrink1 := waitISR(fmt.Sprintf("node %d out after its fetches were held", held), without(held), 10*lag)
	if err := produce(-1, "two in sync"); err != nil {
		t.Fatalf("acks=all with an ISR of 2 = min.insync.replicas: %v", err)
	}

	// Stop the second follower's process; the leader appends past it and it leaves too.
	// pause returns once the process has stopped: kill(2) only queues SIGSTOP, and on a loaded
	// machine the follower went on to fetch the next append before it stopped.
	c.node(paused).pause()
	defer func() {
		if c.node(paused).paused {
			c.node(paused).resume()
		}
	}()
	if err := produce(1, "past the paused follower"); err != nil {
		t.Fatal(err)
	}
	shrink2 := waitISR(fmt.Sprintf("node %d out after SIGSTOP", paused), []int32{leader}, 10*lag)
	if err := produce(-1, "alone"); err != kerr.NotEnoughReplicas {
		t.Fatalf("acks=all with the ISR at 1 < min.insync.replicas: %v, want NOT_ENOUGH_REPLICAS", err)
	}
	if err := produce(1, "acks=1 alone"); err != nil {
		t.Fatalf("acks=1 with the ISR at 1: %v", err)
	}
	// The shrinks were the leader's, not fencing: every broker is still registered and active.
	if v, err := c.node(leader).describe(); err != nil || len(v.Active) != 3 {
		t.Fatalf("brokers %+v (%v): the shrink fenced a broker", v, err)
	}

	// Release both: they catch up and return.
	start := time.Now()
	c.node(paused).resume()
	c.node(leader).kafkaProxy.Remove(hold)
	waitISR("both followers back", []int32{1, 2, 3}, 30*time.Second)
	rejoin := time.Since(start)
	if err := produce(-1, "all back"); err != nil {
		t.Fatalf("acks=all after the followers returned: %v", err)
	}
	after := scrapeMetrics(t, c.node(leader).asNode())
	// Each shrink is counted as committed, or as failed when the controller lost leadership
	// while committing it (the commit went through; the answer said NOT_CONTROLLER).
	shrinks := after["sluice_isr_shrinks_total"] - before["sluice_isr_shrinks_total"]
	failed := after["sluice_isr_updates_failed_total"] - before["sluice_isr_updates_failed_total"]
	if shrinks < 1 || shrinks > 2 || shrinks+failed < 2 {
		t.Errorf("leader counted %v ISR shrinks and %v failed changes, want 2 shrinks (or 1 and a failure)", shrinks, failed)
	}
	if d := after["sluice_isr_expands_total"] - before["sluice_isr_expands_total"]; d < 1 || d > 2 {
		t.Errorf("leader counted %v ISR expansions, want 1 or 2 (both may join in one change)", d)
	}
	if v := after["sluice_under_min_isr_partitions"]; v != 0 {
		t.Errorf("under-min-ISR partitions %v after the return", v)
	}
	c.waitFor("three active brokers", 30*time.Second, func(v testkit.View) bool { return len(v.Active) == 3 })
	t.Logf("replica.lag.time.max.ms=%v: held follower left the ISR %v after the append past it, paused follower %v after; both back %v after release",
		lag, shrink1.Round(time.Millisecond), shrink2.Round(time.Millisecond), rejoin.Round(time.Millisecond))
}

// oneRecordBatch is an uncompressed batch of one record with value v.
func oneRecordBatch(t *testing.T, v string) []byte {
	t.Helper()
	b := record.NewBuilder(record.None)
	b.Add(time.Now().UnixMilli(), nil, []byte(v))
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
