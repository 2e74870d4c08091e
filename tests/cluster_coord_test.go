package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/testkit"
)

// coordinatorsFrom asks node nd alone for the coordinators of keys (FindCoordinator v4, key
// type keyType), retrying while any is COORDINATOR_NOT_AVAILABLE (the internal topic being
// created, a leader moving); it returns node id by key.
func coordinatorsFrom(t *testing.T, nd *procNode, keyType int8, keys []string) map[string]int32 {
	t.Helper()
	cl := nd.client(kgo.RetryTimeout(5 * time.Second))
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorType, req.CoordinatorKeys = keyType, keys
		resp, err := req.RequestWith(ctx, cl)
		cancel()
		out := map[string]int32{}
		var last error = err
		if err == nil {
			for _, c := range resp.Coordinators {
				if c.ErrorCode != 0 {
					last = fmt.Errorf("%s: %w", c.Key, kerr.ErrorForCode(c.ErrorCode))
					continue
				}
				out[c.Key] = c.NodeID
			}
			if len(out) == len(keys) {
				return out
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("FindCoordinator (type %d) via node %d: %v\n%s", keyType, nd.id, last, nd.c.logTails(30))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// partitionLeaders returns the leaders of topic's partitions as node nd's Metadata lists them
// (waiting until nd knows the topic), failing the test unless every partition has rf replicas.
func partitionLeaders(t *testing.T, nd *procNode, topic string, rf int) []int32 {
	t.Helper()
	cl := nd.client()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics, req.AllowAutoTopicCreation = []kmsg.MetadataRequestTopic{rt}, false
		resp, err := req.RequestWith(ctx, cl)
		cancel()
		if err == nil && len(resp.Topics) == 1 && resp.Topics[0].ErrorCode == 0 {
			leaders := make([]int32, len(resp.Topics[0].Partitions))
			for _, p := range resp.Topics[0].Partitions {
				leaders[p.Partition] = p.Leader
				if len(p.Replicas) != rf {
					t.Fatalf("%s-%d has replicas %v; want %d", topic, p.Partition, p.Replicas, rf)
				}
			}
			return leaders
		}
		if time.Now().After(deadline) {
			t.Fatalf("metadata of %s via node %d: %v %+v", topic, nd.id, err, resp)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// joinCode sends a first JoinGroup for gid (v5, no member id) to broker id through nd's
// client and returns its error code: MEMBER_ID_REQUIRED from the group's coordinator.
func joinCode(t *testing.T, nd *procNode, id int32, gid string) int16 {
	t.Helper()
	cl := nd.client()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.Ping(ctx); err != nil { // learn the brokers
		t.Fatal(err)
	}
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version, req.Group, req.ProtocolType, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 5, gid, "consumer", 10000, 10000
	req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
	resp, err := req.RequestWith(ctx, cl.Broker(int(id)))
	if err != nil {
		t.Fatalf("JoinGroup %s at broker %d: %v", gid, id, err)
	}
	return resp.ErrorCode
}

// TestClusterCoordinators: in a three-process cluster every node names the same coordinator for
// a group or transactional id, the leader of its partition of __consumer_offsets /
// __transaction_state (both created with replication factor 3 on first lookup); only that node
// serves the group (the others answer NOT_COORDINATOR); after it is killed and fenced, the
// coordination moves with the partition's leadership and the new leader serves the group.
func TestClusterCoordinators(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	t.Parallel()
	c := startProcCluster(t, 3, "--override", "broker.session.timeout.ms=3000", "--override", "broker.heartbeat.interval.ms=500")
	var groups, txnIDs []string
	for i := range 12 {
		groups = append(groups, fmt.Sprintf("group-%d", i))
		txnIDs = append(txnIDs, fmt.Sprintf("txn-%d", i))
	}
	for _, tc := range []struct {
		keyType int8
		topic   string
		keys    []string
	}{{0, "__consumer_offsets", groups}, {1, "__transaction_state", txnIDs}} {
		first := coordinatorsFrom(t, c.node(1), tc.keyType, tc.keys)
		leaders := partitionLeaders(t, c.node(2), tc.topic, 3) // offsets.topic.replication.factor, transaction.state.log.replication.factor
		if len(leaders) != 50 {
			t.Fatalf("%s has %d partitions, want 50", tc.topic, len(leaders))
		}
		for _, k := range tc.keys {
			if want := leaders[group.Partition(k, 50)]; first[k] != want {
				t.Errorf("coordinator of %s is %d; its %s partition's leader is %d", k, first[k], tc.topic, want)
			}
		}
		for _, nd := range c.nodes[1:] {
			if got := coordinatorsFrom(t, nd, tc.keyType, tc.keys); fmt.Sprint(got) != fmt.Sprint(first) {
				t.Errorf("node %d names coordinators %v, node 1 %v", nd.id, got, first)
			}
		}
	}

	coords := coordinatorsFrom(t, c.node(1), 0, groups)
	gid := groups[0]
	coord := coords[gid]
	for _, nd := range c.nodes {
		want := kerr.NotCoordinator.Code
		if nd.id == coord {
			want = kerr.MemberIDRequired.Code
		}
		if code := joinCode(t, c.node(1), nd.id, gid); code != want {
			t.Errorf("JoinGroup %s at broker %d (coordinator %d): %v, want %v", gid, nd.id, coord, kerr.ErrorForCode(code), kerr.ErrorForCode(want))
		}
	}

	// Kill the coordinator: once it is fenced, its partitions' leadership and the group's
	// coordination move to a live node, which serves the group.
	c.node(coord).kill()
	killedAt := time.Now()
	survivor := c.node(c.other(coord))
	c.waitFor(fmt.Sprintf("broker %d fenced", coord), 30*time.Second, func(v testkit.View) bool { return len(v.Active) == 2 })
	deadline := time.Now().Add(30 * time.Second)
	for {
		moved := coordinatorsFrom(t, survivor, 0, []string{gid})[gid]
		if moved != coord {
			code := joinCode(t, survivor, moved, gid)
			if code == kerr.MemberIDRequired.Code {
				t.Logf("SIGKILL of group %s's coordinator → its new coordinator %d serves it: %v (broker.session.timeout.ms=3000)",
					gid, moved, time.Since(killedAt).Round(time.Millisecond))
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("JoinGroup %s at its new coordinator %d: %v", gid, moved, kerr.ErrorForCode(code))
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("coordinator of %s still the killed broker %d", gid, coord)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestClusterTransactionsAcrossBrokers: with the internal topics at their default replication
// factor 3 (transaction.state.log.min.isr 2) and the data topic at 3, a franz-go transactional
// producer writes to partitions led by all three brokers and commits one transaction and aborts
// another: the transaction coordinator, on one broker, writes the markers into the other
// brokers' partitions with WriteTxnMarkers, so a read_committed consumer reads exactly the
// committed records from every partition.
func TestClusterTransactionsAcrossBrokers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	t.Parallel()
	c := startProcCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const topic = "spread"
	if resp, err := kadm.NewClient(c.node(1).client()).CreateTopic(ctx, 3, 3, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create %s: %v %v", topic, err, resp.Err)
	}
	leaders := map[int32]bool{}
	for _, l := range partitionLeaders(t, c.node(1), topic, 3) {
		leaders[l] = true
	}
	if len(leaders) != 3 {
		t.Fatalf("%s's partitions are led by %v; want all three brokers", topic, leaders)
	}
	producer := c.node(2).client(kgo.TransactionalID("spread-producer"), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	write := func(prefix string, commit kgo.TransactionEndTry) {
		t.Helper()
		if err := producer.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := range 9 {
			if err := producer.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("%s-%d", prefix, i))}).FirstErr(); err != nil {
				t.Fatalf("produce %s-%d: %v", prefix, i, err)
			}
		}
		if err := producer.EndTransaction(ctx, commit); err != nil {
			t.Fatalf("end transaction %s: %v", prefix, err)
		}
	}
	write("committed", kgo.TryCommit)
	write("aborted", kgo.TryAbort)
	write("later", kgo.TryCommit)

	seen := map[string]int{}
	consumer := c.node(3).client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	for seen["later"] < 9 {
		fetches := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %v before the deadline (markers missing on some broker?)\n%s", seen, c.logTails(30))
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		fetches.EachRecord(func(r *kgo.Record) { seen[strings.SplitN(string(r.Value), "-", 2)[0]]++ })
	}
	if seen["committed"] != 9 || seen["aborted"] != 0 {
		t.Fatalf("read_committed read %v; want 9 committed, 9 later and no aborted records", seen)
	}

	// confluent-kafka (librdkafka): two partitions on two brokers, the transaction coordinator on
	// the third.
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil || exec.Command("/usr/bin/python3", "-c", "import confluent_kafka").Run() != nil {
		t.Log("confluent-kafka not installed: librdkafka part skipped")
		return
	}
	const ckTopic = "ck-spread"
	if resp, err := kadm.NewClient(c.node(1).client()).CreateTopic(ctx, 2, 3, nil, ckTopic); err != nil || resp.Err != nil {
		t.Fatalf("create %s: %v %v", ckTopic, err, resp.Err)
	}
	ckLeaders := partitionLeaders(t, c.node(1), ckTopic, 3)
	txnID := ""
	for i := 0; txnID == ""; i++ {
		id := fmt.Sprintf("ck-txn-%d", i)
		if coord := coordinatorsFrom(t, c.node(1), 1, []string{id})[id]; coord != ckLeaders[0] && coord != ckLeaders[1] {
			txnID = id
		}
	}
	out := runClient(t, 90*time.Second, "", "/usr/bin/python3", "python/confluent_transactions.py", c.node(ckLeaders[0]).kafkaAddr, ckTopic, txnID, "produce")
	var res struct{ Committed, Uncommitted []string }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("confluent_transactions.py: %v\n%s", err, out)
	}
	committed := map[string]int{}
	for _, v := range res.Committed {
		committed[v[:1]]++
	}
	if committed["a"] != 10 || committed["b"] != 0 || committed["c"] != 10 || len(res.Uncommitted) != 30 {
		t.Fatalf("librdkafka read_committed saw %v, read_uncommitted %d records; want a and c (10 each), 30", committed, len(res.Uncommitted))
	}
}

// TestClusterConsumerGroup: with the internal topics at their default replication factor 3 and
// the data topic at 3, three franz-go consumers of one group, each bootstrapped to another
// node, share a topic whose partitions all three brokers lead, reach the group's coordinator
// wherever it is, and commit; a consumer started afterwards resumes from the committed offsets.
func TestClusterConsumerGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	t.Parallel()
	c := startProcCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const topic, gid = "shared", "cluster-group"
	if resp, err := kadm.NewClient(c.node(1).client()).CreateTopic(ctx, 6, 3, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create %s: %v %v", topic, err, resp.Err)
	}
	partitionLeaders(t, c.node(3), topic, 3)
	producer := c.node(1).client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	produce := func(prefix string, n int) {
		t.Helper()
		for i := range n {
			if err := producer.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("%s-%d", prefix, i))}).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
		}
	}
	produce("first", 60)

	type seenRecord struct{ value string }
	records := make(chan seenRecord, 1000)
	done := make(chan struct{})
	var consumers []*kgo.Client
	for _, nd := range c.nodes {
		cl := nd.client(kgo.ConsumerGroup(gid), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.AutoCommitInterval(200*time.Millisecond))
		consumers = append(consumers, cl)
		go func() {
			for {
				fetches := cl.PollFetches(ctx)
				select {
				case <-done:
					return
				default:
				}
				if ctx.Err() != nil || fetches.IsClientClosed() {
					return
				}
				fetches.EachRecord(func(r *kgo.Record) { records <- seenRecord{string(r.Value)} })
			}
		}()
	}
	seen := map[string]int{}
	for len(seen) < 60 {
		select {
		case r := <-records:
			seen[r.value]++
		case <-ctx.Done():
			t.Fatalf("the group read %d of 60 records\n%s", len(seen), c.logTails(30))
		}
	}
	close(done)
	for _, cl := range consumers {
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatalf("commit: %v", err)
		}
		cl.Close()
	}
	produce("second", 6)
	late := c.node(2).client(kgo.ConsumerGroup(gid), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[string]bool{}
	for len(got) < 6 {
		fetches := late.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("the late consumer read %v before the deadline", got)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if strings.HasPrefix(string(r.Value), "first-") {
				t.Fatalf("the late consumer read %s again: committed offsets were lost", r.Value)
			}
			got[string(r.Value)] = true
		})
	}
}

// TestClusterPythonGroups: confluent-kafka (librdkafka) and kafka-python consumers, each
// bootstrapped to a node that does not coordinate its group, find the coordinator, read every
// record of a topic whose partitions all three brokers lead, and commit; the committed offsets
// read back through a third node add up to the records. The internal topics and the data topic
// are at replication factor 3.
func TestClusterPythonGroups(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	requirePython(t, "confluent_kafka")
	requirePython(t, "kafka")
	t.Parallel()
	c := startProcCluster(t, 3, "--override", "group.initial.rebalance.delay.ms=0")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	const topic = "py-shared"
	if resp, err := kadm.NewClient(c.node(1).client()).CreateTopic(ctx, 3, 3, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create %s: %v %v", topic, err, resp.Err)
	}
	partitionLeaders(t, c.node(2), topic, 3)
	producer := c.node(3).client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	for i := range 90 {
		if err := producer.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("py-%d", i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ group, script string }{
		{"librdkafka-group", "python/confluent_group.py"},
		{"kafka-python-group", "python/kafka_python_group_commit.py"},
	} {
		coord := coordinatorsFrom(t, c.node(1), 0, []string{tc.group})[tc.group]
		via := c.node(c.other(coord))
		out := runClient(t, 90*time.Second, "", "/usr/bin/python3", tc.script, via.kafkaAddr, topic, tc.group, "90")
		got := map[string]bool{}
		for _, l := range strings.Fields(out) {
			if strings.HasPrefix(l, "py-") {
				got[l] = true
			}
		}
		if len(got) != 90 {
			t.Fatalf("%s via node %d (coordinator %d): read %d distinct records, want 90", tc.script, via.id, coord, len(got))
		}
		third := c.node(c.other(coord, via.id))
		offsets, err := kadm.NewClient(third.client()).FetchOffsets(ctx, tc.group)
		if err != nil || offsets.Error() != nil {
			t.Fatalf("fetch %s's offsets via node %d: %v %v", tc.group, third.id, err, offsets.Error())
		}
		var sum int64
		offsets.Each(func(o kadm.OffsetResponse) { sum += o.At })
		if sum != 90 {
			t.Errorf("%s's committed offsets sum to %d, want 90", tc.group, sum)
		}
	}
}
