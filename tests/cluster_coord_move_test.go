package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/testkit"
)

// TestClusterCoordinatorsMove: the group and transaction coordinators of one node move when it
// stops (SIGSTOP past the session timeout), with the internal topics at replication factor 3.
//   - a group's committed offset (with its leader epoch) is served by the new coordinator;
//   - a transaction whose commit was decided (PrepareCommit durable, EndTxn answered) while the
//     proxy held every WriteTxnMarkers request of the old coordinator is completed by the new
//     one: read_committed consumers see its records, and the partition's producer state carries
//     the new coordinator epoch (the __transaction_state partition's new leader epoch);
//   - the old coordinator's marker, released after it resumes, is refused by the partition with
//     TRANSACTION_COORDINATOR_FENCED, and nothing is read twice.
func TestClusterCoordinatorsMove(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes behind proxies")
	}
	t.Parallel()
	c := startProxiedCluster(t, 3, "--override", "broker.session.timeout.ms=3000", "--override", "broker.heartbeat.interval.ms=500")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	seeds := kgo.SeedBrokers(strings.Split(c.bootstrap(), ",")...)
	adm := kadm.NewClient(c.node(1).client(seeds))
	const topic = "moved"
	if resp, err := adm.CreateTopic(ctx, 1, 3, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create %s: %v %v", topic, err, resp.Err)
	}
	leader := partitionLeaders(t, c.node(1), topic, 3)[0]
	ctrl := c.controller()

	// The node to stop: neither the data partition's leader nor, when possible, the controller.
	x := c.other(leader, ctrl)
	var groups, txnIDs []string
	for i := range 60 {
		groups, txnIDs = append(groups, fmt.Sprintf("g-%d", i)), append(txnIDs, fmt.Sprintf("tx-%d", i))
	}
	pick := func(keyType int8, keys []string) string {
		for k, coord := range coordinatorsFrom(t, c.node(leader), keyType, keys) {
			if coord == x {
				return k
			}
		}
		t.Fatalf("no key of type %d coordinated by node %d", keyType, x)
		return ""
	}
	gid, txid := pick(0, groups), pick(1, txnIDs)
	t.Logf("data leader %d, controller %d, stopping node %d (coordinator of %s and %s)", leader, ctrl, x, gid, txid)

	// A committed offset with its leader epoch.
	// The node asked may not have applied __transaction_state yet (FindCoordinator created it
	// through another node): then it answers the topic with an error and no partitions, as
	// Kafka does, and is asked again.
	var md kadm.Metadata
	for {
		var err error
		if md, err = adm.Metadata(ctx, topic, "__transaction_state"); err != nil {
			t.Fatal(err)
		}
		if len(md.Topics["__transaction_state"].Partitions) > 0 && len(md.Topics[topic].Partitions) > 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("__transaction_state never described: %+v", md.Topics["__transaction_state"])
		}
		time.Sleep(50 * time.Millisecond)
	}
	dataEpoch := md.Topics[topic].Partitions[0].LeaderEpoch
	commit := kadm.Offsets{}
	commit.Add(kadm.Offset{Topic: topic, Partition: 0, At: 3, LeaderEpoch: dataEpoch})
	if resp, err := adm.CommitOffsets(ctx, gid, commit); err != nil || resp.Error() != nil {
		t.Fatalf("commit %s: %v %v", gid, err, resp.Error())
	}
	txnPart := group.Partition(txid, int32(len(md.Topics["__transaction_state"].Partitions)))
	oldCoordEpoch := md.Topics["__transaction_state"].Partitions[txnPart].LeaderEpoch
	if l := md.Topics["__transaction_state"].Partitions[txnPart].Leader; l != x {
		t.Fatalf("__transaction_state-%d is led by %d, want %d", txnPart, l, x)
	}

	// Hold every marker node x sends; commit a transaction of 5 records.
	src := fmt.Sprintf("node-%d", x)
	var holds []func()
	for _, nd := range c.nodes {
		p, id := nd.kafkaProxy, nd.kafkaProxy.Add(holdRule(toBroker, 27).from(src))
		holds = append(holds, func() { p.Remove(id) })
	}
	producer := c.node(leader).client(seeds, kgo.TransactionalID(txid), kgo.DefaultProduceTopic(topic),
		kgo.TransactionTimeout(60*time.Second))
	if err := producer.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := producer.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("t-%d", i))}).FirstErr(); err != nil {
			t.Fatalf("produce t-%d: %v", i, err)
		}
	}
	if err := producer.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit the transaction: %v", err)
	}
	stable, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := stable.Lookup(topic, 0); o.Offset != 0 {
		t.Fatalf("last stable offset %d with the markers held, want 0", o.Offset)
	}

	// The marker must be in the proxy's hold before node x stops: EndTxn is answered once the
	// commit is prepared, and the marker request may still be on its way (a new connection's
	// ApiVersions first). Stopped then, node x would wake to a timed-out connection, no longer
	// the coordinator, and never send the marker whose fencing this test is about.
	for c.node(leader).kafkaProxy.Held.Load() == 0 {
		if ctx.Err() != nil {
			t.Fatalf("node %d's marker for %s never reached node %d's proxy", x, topic, leader)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Node x stops; the others fence it and elect new leaders for its partitions.
	c.node(x).pause()
	pausedAt := time.Now()
	c.waitFor(fmt.Sprintf("node %d fenced", x), 30*time.Second, func(v testkit.View) bool { return len(v.Active) == 2 })

	consumer := c.node(leader).client(seeds, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	var got []string
	for len(got) < 5 {
		fetches := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read_committed read %v after the coordinator moved\n%s", got, c.logTails(30))
		}
		fetches.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	t.Logf("SIGSTOP of the coordinator to its prepared commit readable (session timeout 3 s): %v", time.Since(pausedAt).Round(time.Millisecond))
	producers, err := adm.DescribeProducers(ctx, kadm.TopicsSet{topic: {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	var coordEpoch int32 = -1
	producers.EachProducer(func(p kadm.DescribedProducer) { coordEpoch = p.CoordinatorEpoch })
	if coordEpoch <= oldCoordEpoch {
		t.Errorf("the partition's last marker came from coordinator epoch %d, want above the old coordinator's %d", coordEpoch, oldCoordEpoch)
	}

	// The group's offset, from its new coordinator (asked by a client that never knew the old
	// one, seeded with the survivors).
	survivors := kgo.SeedBrokers(c.node(leader).kafkaProxy.Addr(), c.node(c.other(x, leader)).kafkaProxy.Addr())
	var fetched kadm.OffsetResponses
	for {
		cl, err := kgo.NewClient(survivors, kgo.RetryTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		fetched, err = kadm.NewClient(cl).FetchOffsets(ctx, gid)
		cl.Close()
		if err == nil && fetched.Error() == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("fetch %s's offsets after the move: %v %v", gid, err, fetched.Error())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("SIGSTOP of the coordinator to the group's offsets served by the new one: %v", time.Since(pausedAt).Round(time.Millisecond))
	if o, ok := fetched.Lookup(topic, 0); !ok || o.At != 3 || o.LeaderEpoch != dataEpoch {
		t.Errorf("%s's committed offset after the move: %+v (found %v), want 3 at leader epoch %d", gid, o, ok, dataEpoch)
	}

	// The old coordinator comes back; its held marker reaches the partition and is fenced.
	c.node(x).resume()
	for _, h := range holds {
		h()
	}
	fenced := fmt.Sprintf(`sluice_errors_total{api="WriteTxnMarkers",error="TRANSACTION_COORDINATOR_FENCED"}`)
	for scrapeMetrics(t, c.node(leader).asNode())[fenced] == 0 {
		if ctx.Err() != nil {
			t.Fatalf("node %d never refused the old coordinator's marker", leader)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Nothing more to read: the stale marker changed nothing.
	check := c.node(c.other(x)).client(seeds, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	var again []string
	end, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	last, _ := end.Lookup(topic, 0)
	for pos := int64(0); pos < last.Offset; {
		fetches := check.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("re-read %v up to %d", again, last.Offset)
		}
		fetches.EachRecord(func(r *kgo.Record) { again, pos = append(again, string(r.Value)), r.Offset+1 })
		if len(again) >= 5 {
			break
		}
	}
	if strings.Join(again, ",") != "t-0,t-1,t-2,t-3,t-4" {
		t.Errorf("read_committed after the stale marker: %v", again)
	}
}
