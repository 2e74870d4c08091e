package api_test

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/metadata"
)

// groupBroker is the in-process test broker with a real group coordinator: a second server
// whose Env carries the coordinator, registered in metadata as the node's endpoint so that
// Metadata and FindCoordinator send clients to it.
type groupBroker struct {
	*testBroker
	groupAddr string
}

func startGroupBroker(t *testing.T) *groupBroker {
	t.Helper()
	b := startBroker(t)
	coord := group.New(group.Config{MinSessionTimeout: time.Second, MaxSessionTimeout: time.Hour, InitialRebalanceDelay: 0})
	env := *b.env
	env.Groups = coord
	return &groupBroker{testBroker: b, groupAddr: b.serveAsNode(&env, coord.Close)}
}

func (g *groupBroker) groupClient(opts ...kgo.Opt) *kgo.Client {
	g.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(g.groupAddr), kgo.DisableIdempotentWrite()}, opts...)...)
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(cl.Close)
	return cl
}

func (g *groupBroker) groupConn() *rawConn {
	g.t.Helper()
	nc, err := net.Dial("tcp", g.groupAddr)
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { nc.Close() })
	return &rawConn{t: g.t, nc: nc, br: bufio.NewReader(nc)}
}

// TestClassicGroupRawVersions walks one member through FindCoordinator, JoinGroup,
// SyncGroup, Heartbeat, OffsetCommit, OffsetFetch and LeaveGroup at every version pairing
// old clients (kafka-python 2.0, librdkafka 2.0) and new ones send.
func TestClassicGroupRawVersions(t *testing.T) {
	g := startGroupBroker(t)
	g.createTopic("t", 1, nil)
	cases := []struct {
		name                                                        string
		find, join, sync, heartbeat, commit, fetch, leave, describe int16
	}{
		{"oldest (legacy, KIP-896)", 0, 0, 0, 0, 1, 0, 0, 0},
		{"kafka-python 2.0", 1, 2, 1, 1, 2, 1, 1, 1},
		{"librdkafka 2.0", 2, 5, 3, 3, 7, 7, 3, 4},
		{"newest", 4, 9, 5, 4, 9, 8, 5, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := g.groupConn()
			gid := "g-" + tc.name
			fc := kmsg.NewPtrFindCoordinatorRequest()
			fc.Version, fc.CoordinatorKey, fc.CoordinatorKeys = tc.find, gid, []string{gid}
			fr := c.send(fc).(*kmsg.FindCoordinatorResponse)
			if tc.find < 4 && (fr.ErrorCode != 0 || fr.NodeID != 1 || net.JoinHostPort(fr.Host, strconv.Itoa(int(fr.Port))) != g.groupAddr) {
				t.Fatalf("find coordinator: %+v", fr)
			}
			if tc.find >= 4 && (len(fr.Coordinators) != 1 || fr.Coordinators[0].ErrorCode != 0 || fr.Coordinators[0].NodeID != 1) {
				t.Fatalf("find coordinators: %+v", fr.Coordinators)
			}
			if topic, ok := g.Image().Topic(metadata.ConsumerOffsetsTopic); !ok || len(topic.Partitions) != 50 || topic.Configs["cleanup.policy"] != "compact" {
				t.Fatalf("FindCoordinator did not create a compacted 50-partition %s: %+v", metadata.ConsumerOffsetsTopic, topic)
			}
			jr := kmsg.NewPtrJoinGroupRequest()
			jr.Version, jr.Group, jr.ProtocolType = tc.join, gid, "consumer"
			jr.SessionTimeoutMillis, jr.RebalanceTimeoutMillis = 10000, 10000
			jr.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte("meta")}}
			resp := c.send(jr).(*kmsg.JoinGroupResponse)
			if tc.join >= 4 {
				if resp.ErrorCode != kerr.MemberIDRequired.Code || resp.MemberID == "" {
					t.Fatalf("first join: code %d member %q", resp.ErrorCode, resp.MemberID)
				}
				jr.MemberID = resp.MemberID
				resp = c.send(jr).(*kmsg.JoinGroupResponse)
			}
			if resp.ErrorCode != 0 || resp.Generation != 1 || resp.LeaderID != resp.MemberID || len(resp.Members) != 1 || string(resp.Members[0].ProtocolMetadata) != "meta" {
				t.Fatalf("join: %+v", resp)
			}
			member := resp.MemberID
			sr := kmsg.NewPtrSyncGroupRequest()
			sr.Version, sr.Group, sr.Generation, sr.MemberID = tc.sync, gid, 1, member
			sr.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: member, MemberAssignment: []byte("p0")}}
			if s := c.send(sr).(*kmsg.SyncGroupResponse); s.ErrorCode != 0 || string(s.MemberAssignment) != "p0" {
				t.Fatalf("sync: %+v", s)
			}
			hb := kmsg.NewPtrHeartbeatRequest()
			hb.Version, hb.Group, hb.Generation, hb.MemberID = tc.heartbeat, gid, 1, member
			if h := c.send(hb).(*kmsg.HeartbeatResponse); h.ErrorCode != 0 {
				t.Fatalf("heartbeat: code %d", h.ErrorCode)
			}
			hb.Generation = 0
			if h := c.send(hb).(*kmsg.HeartbeatResponse); h.ErrorCode != kerr.IllegalGeneration.Code {
				t.Fatalf("stale heartbeat: code %d", h.ErrorCode)
			}
			commitAndFetch(t, c, gid, member, tc.commit, tc.fetch)
			dg := kmsg.NewPtrDescribeGroupsRequest()
			dg.Version, dg.Groups = tc.describe, []string{gid}
			if d := c.send(dg).(*kmsg.DescribeGroupsResponse); len(d.Groups) != 1 || d.Groups[0].State != "Stable" || len(d.Groups[0].Members) != 1 || string(d.Groups[0].Members[0].MemberAssignment) != "p0" {
				t.Fatalf("describe: %+v", d.Groups)
			}
			lr := kmsg.NewPtrLeaveGroupRequest()
			lr.Version, lr.Group, lr.MemberID = tc.leave, gid, member
			lr.Members = []kmsg.LeaveGroupRequestMember{{MemberID: member}}
			l := c.send(lr).(*kmsg.LeaveGroupResponse)
			if l.ErrorCode != 0 || (tc.leave >= 3 && (len(l.Members) != 1 || l.Members[0].ErrorCode != 0)) {
				t.Fatalf("leave: %+v", l)
			}
			if d := c.send(dg).(*kmsg.DescribeGroupsResponse); d.Groups[0].State != "Empty" {
				t.Fatalf("state after leave: %s", d.Groups[0].State)
			}
		})
	}
}

func commitAndFetch(t *testing.T, c *rawConn, gid, member string, commitVersion, fetchVersion int16) {
	t.Helper()
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Version, oc.Group, oc.Generation, oc.MemberID = commitVersion, gid, 1, member
	oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 17, LeaderEpoch: -1, Metadata: kmsg.StringPtr("m")}}}}
	if r := c.send(oc).(*kmsg.OffsetCommitResponse); len(r.Topics) != 1 || r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("commit: %+v", r.Topics)
	}
	oc.Generation = 7
	if r := c.send(oc).(*kmsg.OffsetCommitResponse); r.Topics[0].Partitions[0].ErrorCode != kerr.IllegalGeneration.Code {
		t.Fatalf("commit with a wrong generation: %+v", r.Topics)
	}
	of := kmsg.NewPtrOffsetFetchRequest()
	of.Version = fetchVersion
	if fetchVersion < 8 {
		of.Group, of.Topics = gid, []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{0, 1}}}
		r := c.send(of).(*kmsg.OffsetFetchResponse)
		if len(r.Topics) != 1 || r.Topics[0].Partitions[0].Offset != 17 || *r.Topics[0].Partitions[0].Metadata != "m" || r.Topics[0].Partitions[1].Offset != -1 {
			t.Fatalf("fetch: %+v", r.Topics)
		}
		return
	}
	of.Groups = []kmsg.OffsetFetchRequestGroup{{Group: gid, Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}}, {Group: "other"}}
	r := c.send(of).(*kmsg.OffsetFetchResponse)
	if len(r.Groups) != 2 || r.Groups[0].Topics[0].Partitions[0].Offset != 17 || len(r.Groups[1].Topics) != 0 {
		t.Fatalf("fetch: %+v", r.Groups)
	}
}

// TestConsumerGroupsShareATopic runs two franz-go group consumers: together they read every
// record once, commit, and the committed offsets cover the topic.
func TestConsumerGroupsShareATopic(t *testing.T) {
	g := startGroupBroker(t)
	g.createTopic("orders", 4, nil)
	producer := g.groupClient(kgo.DefaultProduceTopic("orders"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 200
	for i := range n {
		if err := producer.ProduceSync(ctx, kgo.StringRecord(strconv.Itoa(i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	for _, balancer := range []struct {
		name string
		b    kgo.GroupBalancer
	}{{"eager range", kgo.RangeBalancer()}, {"cooperative sticky", kgo.CooperativeStickyBalancer()}} {
		t.Run(balancer.name, func(t *testing.T) {
			gid := "shared-" + balancer.name
			seen := make(chan string, 2*n)
			subCtx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			t.Cleanup(func() { stop(); wg.Wait() })
			got := map[string]bool{}
			for range 2 {
				cl, err := kgo.NewClient(kgo.SeedBrokers(g.groupAddr), kgo.ConsumerGroup(gid), kgo.ConsumeTopics("orders"),
					kgo.Balancers(balancer.b), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
					kgo.SessionTimeout(6*time.Second), kgo.AutoCommitInterval(100*time.Millisecond))
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer cl.Close()
					for subCtx.Err() == nil {
						// Autocommit commits polled records, and before partitions are revoked.
						cl.PollFetches(subCtx).EachRecord(func(r *kgo.Record) { seen <- string(r.Value) })
					}
				}()
			}
			for len(got) < n {
				select {
				case v := <-seen:
					got[v] = true
				case <-ctx.Done():
					t.Fatalf("read %d distinct records of %d", len(got), n)
				}
			}
			waitCommitted(ctx, t, g, gid, n)
		})
	}
}

// waitCommitted polls OffsetFetch until the group's commits cover want records.
func waitCommitted(ctx context.Context, t *testing.T, g *groupBroker, gid string, want int64) {
	t.Helper()
	c := g.groupConn()
	for {
		of := kmsg.NewPtrOffsetFetchRequest()
		of.Version, of.Group = 7, gid
		r := c.send(of).(*kmsg.OffsetFetchResponse)
		var sum int64
		for _, tp := range r.Topics {
			for _, p := range tp.Partitions {
				sum += p.Offset
			}
		}
		if sum == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("committed offsets sum to %d, want %d", sum, want)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var _ api.Groups = (*group.Coordinator)(nil)
