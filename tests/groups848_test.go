package tests

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// KIP-848 consumer groups end to end with franz-go's kgo.ServerSideBalancer(): the broker
// assigns partitions and members reconcile through ConsumerGroupHeartbeat.

// fast848 are broker overrides that keep KIP-848 tests quick: members heartbeat every 250 ms
// and a silent member is dropped after 3 s (their min configs lowered too: as in Kafka, the
// broker does not start with values below them).
var fast848 = []string{"--override", "group.consumer.heartbeat.interval.ms=250", "--override", "group.consumer.session.timeout.ms=3000",
	"--override", "group.consumer.min.heartbeat.interval.ms=250", "--override", "group.consumer.min.session.timeout.ms=3000"}

// severableDialer dials the broker until sever is called; then it closes every connection it
// made and refuses new ones, so the client goes silent as if its process had died.
type severableDialer struct {
	mu      sync.Mutex
	conns   []net.Conn
	severed bool
}

func (d *severableDialer) dial(ctx context.Context, network, host string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.severed {
		return nil, errors.New("severed")
	}
	c, err := (&net.Dialer{}).DialContext(ctx, network, host)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

func (d *severableDialer) sever() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.severed = true
	for _, c := range d.conns {
		c.Close()
	}
}

// describe848 asks ConsumerGroupDescribe about one group.
func describe848(t *testing.T, n *node, group string) (kmsg.ConsumerGroupDescribeResponseGroup, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := kmsg.NewPtrConsumerGroupDescribeRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(ctx, n.client())
	if err != nil {
		return kmsg.ConsumerGroupDescribeResponseGroup{}, err
	}
	if len(resp.Groups) != 1 {
		t.Fatalf("ConsumerGroupDescribe answered %d groups", len(resp.Groups))
	}
	return resp.Groups[0], kerr.ErrorForCode(resp.Groups[0].ErrorCode)
}

// await848 polls ConsumerGroupDescribe until the group is Stable with members members, each
// owning its whole target, and every subscribed partition (partitions) owned by exactly one.
func await848(t *testing.T, n *node, group string, members, partitions int, timeout time.Duration) kmsg.ConsumerGroupDescribeResponseGroup {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		g, err := describe848(t, n, group)
		if err == nil && g.State == "Stable" && len(g.Members) == members {
			owned := 0
			for _, m := range g.Members {
				for _, tp := range m.Assignment.TopicPartitions {
					owned += len(tp.Partitions)
				}
			}
			if owned == partitions {
				return g
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s not Stable with %d members owning %d partitions after %v: %+v %v", group, members, partitions, timeout, g, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestFranzGoServerSideBalancer(t *testing.T) {
	n := startNode(t, fast848...)
	n.createTopic("payments", 6, nil)
	const group = "payments-848"
	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan string, 8192)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	member := func(opts ...kgo.Opt) *kgo.Client {
		cl := n.client(append([]kgo.Opt{kgo.ConsumerGroup(group), kgo.ConsumeTopics("payments"), kgo.ServerSideBalancer(),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AutoCommitInterval(200 * time.Millisecond)}, opts...)...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { seen <- string(r.Value) })
			}
		}()
		return cl
	}
	dead := &severableDialer{}
	member()
	leaver := member()
	member(kgo.Dialer(dead.dial), kgo.RequestRetries(1), kgo.RetryTimeout(time.Second))
	g := await848(t, n, group, 3, 6, 30*time.Second)
	for _, m := range g.Members {
		got := 0
		for _, tp := range m.Assignment.TopicPartitions {
			got += len(tp.Partitions)
		}
		if got != 2 {
			t.Fatalf("member %s owns %d partitions, want 2 (uniform): %+v", m.MemberID, got, g)
		}
	}
	if g.AssignorName != "uniform" {
		t.Fatalf("assignor %q, want uniform", g.AssignorName)
	}
	awaitValues(t, seen, produceValues(t, n, "payments", "first", 300), 30*time.Second)

	// A member that dies goes silent: after its session the other two own everything.
	dead.sever()
	await848(t, n, group, 2, 6, 30*time.Second)
	awaitValues(t, seen, produceValues(t, n, "payments", "second", 300), 30*time.Second)

	// A member that leaves hands its partitions over at once.
	leaver.Close()
	await848(t, n, group, 1, 6, 30*time.Second)
	awaitValues(t, seen, produceValues(t, n, "payments", "third", 300), 30*time.Second)

	// ListGroups names it a consumer group; DescribeGroups (classic) does not describe it.
	adm := n.admin()
	lctx, lcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer lcancel()
	listed, err := adm.ListGroups(lctx)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := listed[group]; !ok || l.ProtocolType != "consumer" || l.State != "Stable" {
		t.Fatalf("ListGroups: %+v", listed)
	}
	req := kmsg.NewPtrListGroupsRequest()
	req.TypesFilter = []string{"consumer"}
	lresp, err := req.RequestWith(lctx, n.client())
	if err != nil || len(lresp.Groups) != 1 || lresp.Groups[0].Group != group || lresp.Groups[0].GroupType != "consumer" {
		t.Fatalf("ListGroups types=consumer: %+v %v", lresp, err)
	}
	req.TypesFilter = []string{"classic"}
	if lresp, err = req.RequestWith(lctx, n.client()); err != nil || len(lresp.Groups) != 0 {
		t.Fatalf("ListGroups types=classic: %+v %v", lresp, err)
	}
	dreq := kmsg.NewPtrDescribeGroupsRequest()
	dreq.Groups = []string{group}
	dresp, err := dreq.RequestWith(lctx, n.client())
	if err != nil || len(dresp.Groups) != 1 || dresp.Groups[0].ErrorCode != kerr.GroupIDNotFound.Code || dresp.Groups[0].State != "Dead" {
		t.Fatalf("DescribeGroups of a consumer group: %+v %v", dresp, err)
	}
}

func TestFranzGoServerSideRegexSubscription(t *testing.T) {
	n := startNode(t, fast848...)
	n.createTopic("events-a", 2, nil)
	n.createTopic("audit", 1, nil)
	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan string, 4096)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	cl := n.client(kgo.ConsumerGroup("events-848"), kgo.ConsumeRegex(), kgo.ConsumeTopics("^events-.*"), kgo.ServerSideBalancer(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.MetadataMaxAge(time.Second), kgo.MetadataMinAge(100*time.Millisecond))
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { seen <- r.Topic + "/" + string(r.Value) })
		}
	}()
	prefixed := func(topic string, values map[string]bool) map[string]bool {
		out := map[string]bool{}
		for v := range values {
			out[topic+"/"+v] = true
		}
		return out
	}
	awaitValues(t, seen, prefixed("events-a", produceValues(t, n, "events-a", "a", 50)), 30*time.Second)
	produceValues(t, n, "audit", "x", 10)
	// A topic created later that matches the regex is assigned to the group.
	n.createTopic("events-b", 3, nil)
	awaitValues(t, seen, prefixed("events-b", produceValues(t, n, "events-b", "b", 60)), 30*time.Second)
	g := await848(t, n, "events-848", 1, 5, 30*time.Second)
	if g.Members[0].SubscribedTopicRegex == nil {
		t.Fatalf("member has no regex: %+v", g.Members[0])
	}
	for _, tp := range g.Members[0].Assignment.TopicPartitions {
		if !strings.HasPrefix(tp.Topic, "events-") {
			t.Fatalf("assigned %s, which the regex does not match", tp.Topic)
		}
	}
}

func TestFranzGoServerSideCommitsSurviveRestart(t *testing.T) {
	n := startNode(t, append([]string{"--override", "offsets.topic.num.partitions=5"}, fast848...)...)
	n.createTopic("ledger848", 3, nil)
	const group = "ledger-848"
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	consume := func(want map[string]bool) map[string]bool {
		return consumeCommitted(t, ctx, n, want, kgo.ConsumerGroup(group), kgo.ConsumeTopics("ledger848"), kgo.ServerSideBalancer())
	}
	consume(produceValues(t, n, "ledger848", "first", 100))
	n.stop()
	n.start()
	offsets, err := n.admin().FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	offsets.Each(func(o kadm.OffsetResponse) { sum += o.At })
	if sum != 100 {
		t.Fatalf("committed offsets after restart sum to %d, want 100", sum)
	}
	// The consumer group itself came back from __consumer_offsets (empty: its member left).
	g, err := describe848(t, n, group)
	if err != nil || g.State != "Empty" || g.Epoch == 0 {
		t.Fatalf("group after restart: %+v %v", g, err)
	}
	got := consume(produceValues(t, n, "ledger848", "second", 50))
	for v := range got {
		if strings.HasPrefix(v, "first-") {
			t.Fatalf("record %s consumed again after the restart: the committed offsets were lost", v)
		}
	}
}

// TestFranzGoServerSideStaticMember: a static member (group.instance.id) closes, leaving with
// epoch -2, and a new client with the same instance id takes its place and its partitions
// without a new group epoch; the group keeps consuming every record.
func TestFranzGoServerSideStaticMember(t *testing.T) {
	n := startNode(t, fast848...)
	n.createTopic("static848", 4, nil)
	const group = "static-848"
	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan string, 4096)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	member := func(instance string) (*kgo.Client, context.CancelFunc) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(n.kafkaAddr), kgo.ConsumerGroup(group), kgo.ConsumeTopics("static848"),
			kgo.ServerSideBalancer(), kgo.InstanceID(instance), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.AutoCommitInterval(200*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		mctx, mcancel := context.WithCancel(ctx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for mctx.Err() == nil {
				cl.PollFetches(mctx).EachRecord(func(r *kgo.Record) { seen <- string(r.Value) })
			}
		}()
		return cl, mcancel
	}
	first, stopFirst := member("reader-1")
	_, stopSecond := member("reader-2")
	defer stopSecond()
	before := await848(t, n, group, 2, 4, 30*time.Second)
	awaitValues(t, seen, produceValues(t, n, "static848", "first", 200), 30*time.Second)
	stopFirst()
	first.Close() // leaves with epoch -2: its place is kept
	_, stopAgain := member("reader-1")
	defer stopAgain()
	after := await848(t, n, group, 2, 4, 30*time.Second)
	if after.Epoch != before.Epoch {
		t.Fatalf("group epoch moved from %d to %d across a static member's restart", before.Epoch, after.Epoch)
	}
	awaitValues(t, seen, produceValues(t, n, "static848", "second", 200), 30*time.Second)
}

// TestFranzGoGroupConvertsBetweenProtocols: a classic group that became empty turns into a
// consumer group when a ServerSideBalancer client joins it, and back into a classic group when a
// classic client joins it empty again; each run resumes from the offsets the last one committed.
func TestFranzGoGroupConvertsBetweenProtocols(t *testing.T) {
	n := startNode(t, append([]string{"--override", "group.initial.rebalance.delay.ms=0"}, fast848...)...)
	n.createTopic("convert", 2, nil)
	const group = "converting"
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	run := func(serverSide bool, want map[string]bool) {
		t.Helper()
		opts := []kgo.Opt{kgo.SeedBrokers(n.kafkaAddr), kgo.ConsumerGroup(group), kgo.ConsumeTopics("convert"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit()}
		if serverSide {
			opts = append(opts, kgo.ServerSideBalancer())
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		for missing := len(want); missing > 0; {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("%d records never consumed", missing)
			}
			fs.EachRecord(func(r *kgo.Record) {
				v := string(r.Value)
				if !want[v] {
					t.Errorf("record %s read again: the committed offsets were not kept across the conversion", v)
				}
				if want[v] {
					delete(want, v)
					missing--
				}
			})
		}
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatalf("commit: %v", err)
		}
		_, err = describe848(t, n, group)
		if isConsumer := err == nil; isConsumer != serverSide {
			t.Fatalf("after a run with ServerSideBalancer=%v the group is a consumer group: %v (%v)", serverSide, isConsumer, err)
		}
	}
	run(false, produceValues(t, n, "convert", "classic", 40))
	run(true, produceValues(t, n, "convert", "consumer", 40))
	run(false, produceValues(t, n, "convert", "classic-again", 40))
}

// TestFranzGoServerSideMemberSurvivesRestart: a broker restart does not end a consumer group's
// membership: the member carries on with its member id and epoch (restored from
// __consumer_offsets) and keeps consuming.
func TestFranzGoServerSideMemberSurvivesRestart(t *testing.T) {
	n := startNode(t, fast848...)
	n.createTopic("durable848", 2, nil)
	const group = "durable-848"
	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan string, 4096)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	cl := n.client(kgo.ConsumerGroup(group), kgo.ConsumeTopics("durable848"), kgo.ServerSideBalancer(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AutoCommitInterval(200*time.Millisecond))
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { seen <- string(r.Value) })
		}
	}()
	before := await848(t, n, group, 1, 2, 30*time.Second)
	awaitValues(t, seen, produceValues(t, n, "durable848", "before", 50), 30*time.Second)
	n.stop()
	n.start()
	awaitValues(t, seen, produceValues(t, n, "durable848", "after", 50), 30*time.Second)
	after := await848(t, n, group, 1, 2, 30*time.Second)
	if after.Members[0].MemberID != before.Members[0].MemberID || after.Epoch != before.Epoch {
		t.Fatalf("member %s at group epoch %d before the restart, %s at %d after", before.Members[0].MemberID, before.Epoch,
			after.Members[0].MemberID, after.Epoch)
	}
}
