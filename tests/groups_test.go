package tests

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupMember is one external consumer process of a group; its record lines arrive on seen.
type groupMember struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// startGroupMember runs a consumer script and forwards every "partition offset value" line it
// prints to seen. The process is killed when the test ends.
func startGroupMember(t *testing.T, seen chan<- string, script string, args ...string) *groupMember {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", append([]string{script}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m := &groupMember{cmd: cmd, exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 3 {
				seen <- f[2]
			}
		}
		cmd.Wait()
		close(m.exited)
	}()
	t.Cleanup(func() {
		m.kill()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", script, tail(stderr.String(), 30))
		}
	})
	return m
}

func (m *groupMember) kill() {
	m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.exited
}

// produceValues writes values "<prefix>-<i>" round-robin over the topic's partitions.
func produceValues(t *testing.T, n *node, topic, prefix string, count int) map[string]bool {
	t.Helper()
	cl := n.client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression())) // Debian's kafka-python has no snappy
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want := map[string]bool{}
	for i := range count {
		v := fmt.Sprintf("%s-%d", prefix, i)
		want[v] = true
		cl.Produce(ctx, kgo.StringRecord(v), func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return want
}

// awaitValues reads seen until every wanted value arrived (duplicates are fine: at least once).
func awaitValues(t *testing.T, seen <-chan string, want map[string]bool, timeout time.Duration) {
	t.Helper()
	missing := len(want)
	got := map[string]bool{}
	deadline := time.After(timeout)
	for missing > 0 {
		select {
		case v := <-seen:
			if want[v] && !got[v] {
				got[v] = true
				missing--
			}
		case <-deadline:
			t.Fatalf("%d of %d records never consumed", missing, len(want))
		}
	}
}

// awaitGroup polls DescribeGroups until the group is Stable with members members and returns
// how long that took.
func awaitGroup(t *testing.T, n *node, group string, members int, timeout time.Duration) time.Duration {
	t.Helper()
	adm := n.admin()
	began := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		described, err := adm.DescribeGroups(ctx, group)
		cancel()
		if err == nil {
			if d := described[group]; d.State == "Stable" && len(d.Members) == members {
				return time.Since(began)
			}
		}
		if time.Since(began) > timeout {
			t.Fatalf("group %s not Stable with %d members after %v: %+v %v", group, members, timeout, described, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestKafkaPythonGroupSurvivesSIGKILL is the classic email-service group: three kafka-python
// consumer processes share a topic; one is killed with SIGKILL; the other two take over its
// partitions once its session times out, and every record is consumed at least once.
func TestKafkaPythonGroupSurvivesSIGKILL(t *testing.T) {
	requirePython(t, "kafka")
	const sessionMs = 3000
	n := startNode(t, "--override", "group.initial.rebalance.delay.ms=0", "--override", "group.min.session.timeout.ms=1000")
	n.createTopic("emails", 6, nil)
	seen := make(chan string, 4096)
	var members []*groupMember
	for range 3 {
		members = append(members, startGroupMember(t, seen, "python/kafka_python_group_member.py",
			n.kafkaAddr, "emails", "email-service", fmt.Sprint(sessionMs)))
	}
	awaitGroup(t, n, "email-service", 3, 60*time.Second)
	awaitValues(t, seen, produceValues(t, n, "emails", "before", 300), 60*time.Second)

	members[1].kill()
	// Records produced now land on every partition, the dead member's too.
	want := produceValues(t, n, "emails", "after", 300)
	took := awaitGroup(t, n, "email-service", 2, 60*time.Second)
	t.Logf("group Stable with 2 members %v after the SIGKILL (session timeout %dms)", took, sessionMs)
	if took > sessionMs*time.Millisecond+10*time.Second {
		t.Errorf("survivors took over after %v, session timeout is %dms", took, sessionMs)
	}
	awaitValues(t, seen, want, 60*time.Second)
}

// TestFranzGoGroupBalancers runs two franz-go group members per balancer (eager range and
// cooperative-sticky); together they consume every record, and a third joining member gets a
// share without anyone losing records.
func TestFranzGoGroupBalancers(t *testing.T) {
	n := startNode(t, "--override", "group.initial.rebalance.delay.ms=0", "--override", "group.min.session.timeout.ms=1000")
	n.createTopic("orders", 6, nil)
	for _, tc := range []struct {
		name     string
		balancer kgo.GroupBalancer
	}{{"eager-range", kgo.RangeBalancer()}, {"cooperative-sticky", kgo.CooperativeStickyBalancer()}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			seen := make(chan string, 4096)
			var wg sync.WaitGroup
			t.Cleanup(func() { cancel(); wg.Wait() })
			member := func() {
				cl := n.client(kgo.ConsumerGroup("orders-"+tc.name), kgo.ConsumeTopics("orders"), kgo.Balancers(tc.balancer),
					kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.SessionTimeout(3*time.Second),
					kgo.HeartbeatInterval(500*time.Millisecond), kgo.AutoCommitInterval(200*time.Millisecond))
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ctx.Err() == nil {
						cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { seen <- string(r.Value) })
					}
				}()
			}
			member()
			member()
			awaitGroup(t, n, "orders-"+tc.name, 2, 60*time.Second)
			awaitValues(t, seen, produceValues(t, n, "orders", tc.name+"-first", 300), 60*time.Second)
			member()
			awaitGroup(t, n, "orders-"+tc.name, 3, 60*time.Second)
			awaitValues(t, seen, produceValues(t, n, "orders", tc.name+"-second", 300), 60*time.Second)
		})
	}
}

// TestConfluentKafkaSubscribe runs librdkafka's balanced consumer (confluent-kafka's subscribe)
// and checks it consumes every record and commits its position.
func TestConfluentKafkaSubscribe(t *testing.T) {
	requirePython(t, "confluent_kafka")
	n := startNode(t, "--override", "group.initial.rebalance.delay.ms=0")
	n.createTopic("invoices", 3, nil)
	want := produceValues(t, n, "invoices", "inv", 200)
	out := runClient(t, 90*time.Second, "", "/usr/bin/python3", "python/confluent_group.py", n.kafkaAddr, "invoices", "billing", "200")
	lines := strings.Fields(out)
	got := map[string]bool{}
	for _, l := range lines {
		if strings.HasPrefix(l, "inv-") {
			got[l] = true
		}
	}
	if len(got) != len(want) {
		t.Fatalf("consumed %d distinct records, want %d", len(got), len(want))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offsets, err := n.admin().FetchOffsets(ctx, "billing")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	offsets.Each(func(o kadm.OffsetResponse) { sum += o.At })
	if sum != int64(len(want)) {
		t.Fatalf("committed offsets sum to %d, want %d", sum, len(want))
	}
}

// TestCommittedOffsetsSurviveRestart commits a group's position, restarts the broker cleanly,
// and checks a new member of the group resumes after the committed records.
func TestCommittedOffsetsSurviveRestart(t *testing.T) {
	n := startNode(t, "--override", "group.initial.rebalance.delay.ms=0", "--override", "offsets.topic.num.partitions=5")
	n.createTopic("ledger", 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	consume := func(want map[string]bool) map[string]bool {
		return consumeCommitted(t, ctx, n, want, kgo.ConsumerGroup("ledger-readers"), kgo.ConsumeTopics("ledger"))
	}
	consume(produceValues(t, n, "ledger", "first", 100))
	n.stop()
	n.start()
	offsets, err := n.admin().FetchOffsets(ctx, "ledger-readers")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	offsets.Each(func(o kadm.OffsetResponse) { sum += o.At })
	if sum != 100 {
		t.Fatalf("committed offsets after restart sum to %d, want 100", sum)
	}
	// The group's metadata record came back too: it is a known, empty consumer group.
	described, err := n.admin().DescribeGroups(ctx, "ledger-readers")
	if err != nil {
		t.Fatal(err)
	}
	if d := described["ledger-readers"]; d.State != "Empty" || d.ProtocolType != "consumer" {
		t.Fatalf("group after restart: state %q protocol type %q, want Empty consumer", d.State, d.ProtocolType)
	}
	got := consume(produceValues(t, n, "ledger", "second", 50))
	for v := range got {
		if strings.HasPrefix(v, "first-") {
			t.Fatalf("record %s consumed again after the restart: the committed offsets were lost", v)
		}
	}
}

// TestFranzGoStaticMembership: two static members (group.instance.id); one is closed and
// restarted under the same instance id before its session ends. It takes its place back
// without the group losing a member, and the group keeps consuming every record.
func TestFranzGoStaticMembership(t *testing.T) {
	n := startNode(t, "--override", "group.initial.rebalance.delay.ms=0", "--override", "group.min.session.timeout.ms=1000")
	n.createTopic("static", 4, nil)
	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan string, 4096)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	member := func(instance string) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(n.kafkaAddr), kgo.ConsumerGroup("static-group"), kgo.ConsumeTopics("static"),
			kgo.InstanceID(instance), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.SessionTimeout(30*time.Second),
			kgo.AutoCommitInterval(200*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				fs := cl.PollFetches(ctx)
				if fs.IsClientClosed() {
					return
				}
				fs.EachRecord(func(r *kgo.Record) { seen <- string(r.Value) })
			}
		}()
		return cl
	}
	member("s1")
	b := member("s2")
	awaitGroup(t, n, "static-group", 2, 60*time.Second)
	awaitValues(t, seen, produceValues(t, n, "static", "first", 200), 60*time.Second)
	b.Close() // a static member does not leave on close: its session keeps its place
	described, err := n.admin().DescribeGroups(context.Background(), "static-group")
	if err != nil || len(described["static-group"].Members) != 2 {
		t.Fatalf("after closing a static member: %+v %v, want both members still there", described, err)
	}
	member("s2")
	want := produceValues(t, n, "static", "second", 200)
	awaitGroup(t, n, "static-group", 2, 60*time.Second)
	awaitValues(t, seen, want, 60*time.Second)
	described, err = n.admin().DescribeGroups(context.Background(), "static-group")
	if err != nil {
		t.Fatal(err)
	}
	instances := map[string]bool{}
	for _, m := range described["static-group"].Members {
		if m.InstanceID != nil {
			instances[*m.InstanceID] = true
		}
	}
	if !instances["s1"] || !instances["s2"] {
		t.Fatalf("instances %v, want s1 and s2", instances)
	}
}

// TestConnectProtocolGroup drives a group of protocol type "connect" (Kafka Connect's worker
// protocol) with raw requests through franz-go: workers agree on the protocol both support,
// the leader sees both workers' metadata and hands out assignments, and a "consumer" member
// cannot join the group.
func TestConnectProtocolGroup(t *testing.T) {
	n := startNode(t, "--override", "group.initial.rebalance.delay.ms=0")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := n.client()
	join := func(member string, protocols ...string) *kmsg.JoinGroupResponse {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID, req.ProtocolType = "connect-cluster", member, "connect"
		req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 10000
		for _, p := range protocols {
			req.Protocols = append(req.Protocols, kmsg.JoinGroupRequestProtocol{Name: p, Metadata: []byte("worker-" + p)})
		}
		// Runs on other goroutines too: report with Errorf, and the caller stops on nil.
		resp, err := req.RequestWith(ctx, cl)
		if err == nil && resp.ErrorCode == kerr.MemberIDRequired.Code {
			req.MemberID = resp.MemberID
			resp, err = req.RequestWith(ctx, cl)
		}
		if err == nil && resp.ErrorCode != 0 {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if err != nil {
			t.Errorf("join: %v", err)
			return nil
		}
		return resp
	}
	first := join("", "sessioned", "default")
	if first == nil {
		t.FailNow()
	}
	if first.Protocol == nil || *first.Protocol != "sessioned" {
		t.Fatalf("first worker's protocol %v", first.Protocol)
	}
	secondDone := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { secondDone <- join("", "default", "sessioned") }()
	// The first worker learns of the rebalance through its heartbeat and rejoins.
	for {
		hb := kmsg.NewPtrHeartbeatRequest()
		hb.Group, hb.MemberID, hb.Generation = "connect-cluster", first.MemberID, first.Generation
		resp, err := hb.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ErrorCode == kerr.RebalanceInProgress.Code {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	leader := join(first.MemberID, "sessioned", "default")
	second := <-secondDone
	if leader == nil || second == nil {
		t.FailNow()
	}
	if leader.Generation != second.Generation || leader.LeaderID != first.MemberID || len(leader.Members) != 2 || len(second.Members) != 0 {
		t.Fatalf("rebalance: leader %+v, follower %+v", leader, second)
	}
	if *leader.Protocol != *second.Protocol {
		t.Fatalf("members disagree on the protocol: %s vs %s", *leader.Protocol, *second.Protocol)
	}
	sync := func(member string, assignments map[string]string) string {
		req := kmsg.NewPtrSyncGroupRequest()
		req.Group, req.MemberID, req.Generation = "connect-cluster", member, leader.Generation
		for m, a := range assignments {
			req.GroupAssignment = append(req.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: m, MemberAssignment: []byte(a)})
		}
		resp, err := req.RequestWith(ctx, cl) // on other goroutines too: Errorf, not Fatal
		if err == nil && resp.ErrorCode != 0 {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if err != nil {
			t.Errorf("sync: %v", err)
			return ""
		}
		return string(resp.MemberAssignment)
	}
	followerSync := make(chan string, 1)
	go func() { followerSync <- sync(second.MemberID, nil) }()
	if got := sync(leader.MemberID, map[string]string{leader.MemberID: "connectors: a", second.MemberID: "connectors: b"}); got != "connectors: a" {
		t.Fatalf("leader's assignment %q", got)
	}
	if got := <-followerSync; got != "connectors: b" {
		t.Fatalf("follower's assignment %q", got)
	}
	consumerJoin := kmsg.NewPtrJoinGroupRequest()
	consumerJoin.Group, consumerJoin.ProtocolType, consumerJoin.SessionTimeoutMillis = "connect-cluster", "consumer", 10000
	consumerJoin.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
	resp, err := consumerJoin.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("consumer joining a connect group: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
}

// consumeCommitted consumes with a new group member built from opts until every value in want was
// seen, commits what it consumed, and returns every value it saw (a restart test checks that
// nothing before the committed offsets comes back).
func consumeCommitted(t *testing.T, ctx context.Context, n *node, want map[string]bool, opts ...kgo.Opt) map[string]bool {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(n.kafkaAddr),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string]bool{}
	for missing := len(want); missing > 0; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d records never consumed", missing)
		}
		fs.EachRecord(func(r *kgo.Record) {
			v := string(r.Value)
			if want[v] && !got[v] {
				missing--
			}
			got[v] = true
		})
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	return got
}
