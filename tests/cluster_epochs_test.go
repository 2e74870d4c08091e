package tests

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestClusterConsumerValidatesAfterLeaderChange (KIP-320): a franz-go consumer reads an RF 3
// partition, its leader is SIGKILLed, a new leader is elected at a higher leader epoch, and the
// consumer — which validates its position with OffsetForLeaderEpoch on seeing the new epoch —
// reads on from where it was: every record once, in order, none lost or reset.
func TestClusterConsumerValidatesAfterLeaderChange(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	t.Parallel()
	c := startProcCluster(t, 3, "--override", "broker.session.timeout.ms=3000", "--override", "broker.heartbeat.interval.ms=500")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const topic = "epochs"
	if resp, err := kadm.NewClient(c.node(1).client()).CreateTopic(ctx, 1, 3, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create %s: %v %v", topic, err, resp.Err)
	}
	leader := partitionLeaders(t, c.node(1), topic, 3)[0]
	via := c.node(c.other(leader))
	seeds := kgo.SeedBrokers(via.kafkaAddr, c.node(c.other(leader, via.id)).kafkaAddr)
	producer := via.client(seeds, kgo.DefaultProduceTopic(topic))
	produce := func(prefix string) {
		t.Helper()
		for i := range 20 {
			if err := producer.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("%s-%02d", prefix, i))}).FirstErr(); err != nil {
				t.Fatalf("produce %s-%d: %v", prefix, i, err)
			}
		}
	}
	produce("a")
	consumer := via.client(seeds, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got []string
	poll := func(until int) {
		t.Helper()
		for len(got) < until {
			fetches := consumer.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("read %d of %d records: %v\n%s", len(got), until, got, c.logTails(30))
			}
			fetches.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
		}
	}
	poll(20)

	c.node(leader).kill()
	killedAt := time.Now()
	produce("b")
	produced := time.Since(killedAt)
	poll(21)
	t.Logf("after the leader's SIGKILL (session timeout 3 s): 20 records produced to the new leader in %v, the first read by the consumer at %v",
		produced.Round(time.Millisecond), time.Since(killedAt).Round(time.Millisecond))
	poll(40)
	for i, v := range got {
		want := fmt.Sprintf("a-%02d", i)
		if i >= 20 {
			want = fmt.Sprintf("b-%02d", i-20)
		}
		if v != want {
			t.Fatalf("record %d is %q, want %q (all: %v)", i, v, want, got)
		}
	}
	newLeader := partitionLeaders(t, via, topic, 3)[0]
	if newLeader == leader || newLeader < 0 {
		t.Fatalf("leader %d after killing %d", newLeader, leader)
	}
	validations := scrapeMetrics(t, c.node(newLeader).asNode())[`sluice_requests_total{api="OffsetForLeaderEpoch"}`]
	if validations == 0 {
		t.Errorf("the consumer never validated its position with node %d, the new leader (OffsetForLeaderEpoch)", newLeader)
	}
	t.Logf("OffsetForLeaderEpoch requests answered by the new leader %d: %v", newLeader, validations)
}
