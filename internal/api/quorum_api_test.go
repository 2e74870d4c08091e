package api_test

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/quorum"
)

// startObserver starts a second quorum member (node 2) that follows node n's quorum without
// voting, and waits until it has caught up.
func startObserver(t *testing.T, n *adminNode) *quorum.Quorum {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, addr, ok := n.q.LeaderAddr()
	if !ok {
		t.Fatal("no leader address")
	}
	q, err := quorum.Open(quorum.Options{NodeID: 2, Dir: filepath.Join(t.TempDir(), "__cluster_metadata"),
		ControllerAddr: ln.Addr().String(), Listener: ln, Peers: []string{"1@" + addr}, Observer: true})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := q.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return q
}

func quorumRequest[R kmsg.Response](t *testing.T, cl *kgo.Client, req kmsg.Request) R {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The seed broker itself, not the controller kgo would pick: the tests ask a given node.
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.(R)
}

func describeQuorum(t *testing.T, cl *kgo.Client, version int16) *kmsg.DescribeQuorumResponse {
	t.Helper()
	req := kmsg.NewPtrDescribeQuorumRequest()
	req.Version = version
	tp := kmsg.NewDescribeQuorumRequestTopic()
	tp.Topic = "__cluster_metadata"
	tp.Partitions = []kmsg.DescribeQuorumRequestTopicPartition{kmsg.NewDescribeQuorumRequestTopicPartition()}
	req.Topics = append(req.Topics, tp)
	return quorumRequest[*kmsg.DescribeQuorumResponse](t, cl, req)
}

func client(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.MaxVersions(nil)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func TestQuorumAPIs(t *testing.T) {
	n := startAdminNode(t, adminOptions{electionTimeout: quorum.DefaultElectionTimeout})
	obs := startObserver(t, n)
	n.env.Quorum = n.q
	cl := client(t, n.addr)

	// Wait until a poll of the leader found the observer caught up (it may miss the newest
	// entry at one), so that every version below reports its timestamps.
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := n.q.Describe(context.Background())
		if err == nil && len(st.Observers) == 1 && st.Observers[0].LastCaughtUpTimestamp > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("observer never caught up: %+v %v", st, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// DescribeQuorum: node 1 leads and votes, node 2 observes.
	for _, v := range []int16{0, 1, 2} {
		resp := describeQuorum(t, cl, v)
		if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("v%d: %+v", v, resp)
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 || p.LeaderID != 1 || p.LeaderEpoch < 1 || p.HighWatermark < 1 ||
			len(p.CurrentVoters) != 1 || p.CurrentVoters[0].ReplicaID != 1 || len(p.Observers) != 1 || p.Observers[0].ReplicaID != 2 {
			t.Fatalf("v%d partition: %+v", v, p)
		}
		if p.Observers[0].LogEndOffset < 1 {
			t.Fatalf("v%d observer without a log end offset: %+v", v, p.Observers[0])
		}
		if v >= 1 && (p.CurrentVoters[0].LastFetchTimestamp <= 0 || p.Observers[0].LastCaughtUpTimestamp <= 0) {
			t.Fatalf("v%d timestamps: %+v", v, p)
		}
		if v >= 2 {
			if quorum.DirectoryID(p.Observers[0].ReplicaDirectoryID) != obs.Directory() || quorum.DirectoryID(p.CurrentVoters[0].ReplicaDirectoryID) != n.q.Directory() {
				t.Fatalf("directory ids: %+v", p)
			}
			if len(resp.Nodes) != 1 || resp.Nodes[0].NodeID != 1 || len(resp.Nodes[0].Listeners) != 1 || resp.Nodes[0].Listeners[0].Name != "CONTROLLER" {
				t.Fatalf("nodes: %+v", resp.Nodes)
			}
		}
	}
	// Another partition is refused at the top level.
	bad := kmsg.NewPtrDescribeQuorumRequest()
	tp := kmsg.NewDescribeQuorumRequestTopic()
	tp.Topic = "other"
	tp.Partitions = []kmsg.DescribeQuorumRequestTopicPartition{kmsg.NewDescribeQuorumRequestTopicPartition()}
	bad.Topics = append(bad.Topics, tp)
	if resp := quorumRequest[*kmsg.DescribeQuorumResponse](t, cl, bad); resp.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("other topic: %+v", resp)
	}

	obsHost, obsPortText, _ := net.SplitHostPort(obsAddr(t, obs))
	obsPort, _ := strconv.Atoi(obsPortText)
	addVoter := func(id int32, dir quorum.DirectoryID, clusterID *string) *kmsg.AddRaftVoterResponse {
		req := kmsg.NewPtrAddRaftVoterRequest()
		req.ClusterID, req.TimeoutMillis, req.VoterID, req.VoterDirectoryID = clusterID, 20000, id, dir
		l := kmsg.NewAddRaftVoterRequestListener()
		l.Name, l.Host, l.Port = "CONTROLLER", obsHost, uint16(obsPort)
		req.Listeners = append(req.Listeners, l)
		return quorumRequest[*kmsg.AddRaftVoterResponse](t, cl, req)
	}
	removeVoter := func(id int32, dir quorum.DirectoryID, clusterID *string) *kmsg.RemoveRaftVoterResponse {
		req := kmsg.NewPtrRemoveRaftVoterRequest()
		req.ClusterID, req.VoterID, req.VoterDirectoryID = clusterID, id, dir
		return quorumRequest[*kmsg.RemoveRaftVoterResponse](t, cl, req)
	}
	noListener := kmsg.NewPtrAddRaftVoterRequest()
	noListener.VoterID, noListener.VoterDirectoryID = 2, obs.Directory()
	if resp := quorumRequest[*kmsg.AddRaftVoterResponse](t, cl, noListener); resp.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("add without listeners: %+v", resp)
	}
	if resp := addVoter(-5, obs.Directory(), nil); resp.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("add of a negative id: %+v", resp)
	}
	other := "not-this-cluster"
	if resp := addVoter(2, obs.Directory(), &other); resp.ErrorCode != kerr.InconsistentClusterID.Code {
		t.Fatalf("add to another cluster: %+v", resp)
	}
	if resp := addVoter(1, obs.Directory(), nil); resp.ErrorCode != kerr.DuplicateVoter.Code {
		t.Fatalf("add of voter 1: %+v %s", resp, *resp.ErrorMessage)
	}
	if resp := addVoter(2, quorum.NewDirectoryID(), nil); resp.ErrorCode != kerr.RequestTimedOut.Code || resp.ErrorMessage == nil {
		t.Fatalf("add with a wrong directory: %+v", resp)
	}
	clusterID := n.q.Image().ClusterID()
	if resp := addVoter(2, obs.Directory(), &clusterID); resp.ErrorCode != 0 {
		t.Fatalf("add: %+v", resp)
	}
	if p := describeQuorum(t, cl, 2).Topics[0].Partitions[0]; len(p.CurrentVoters) != 2 || len(p.Observers) != 0 {
		t.Fatalf("after add: %+v", p)
	}
	if resp := removeVoter(3, quorum.NewDirectoryID(), nil); resp.ErrorCode != kerr.VoterNotFound.Code {
		t.Fatalf("remove of no voter: %+v", resp)
	}
	if resp := removeVoter(2, obs.Directory(), &other); resp.ErrorCode != kerr.InconsistentClusterID.Code {
		t.Fatalf("remove in another cluster: %+v", resp)
	}
	if resp := removeVoter(2, obs.Directory(), nil); resp.ErrorCode != 0 {
		t.Fatalf("remove: %+v", resp)
	}
	if resp := removeVoter(1, n.q.Directory(), nil); resp.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("remove of the last voter: %+v", resp)
	}
}

func obsAddr(t *testing.T, q *quorum.Quorum) string {
	t.Helper()
	return q.ControllerListener().Addr().String()
}

// TestQuorumAPIsOffTheLeader: a node that is not the leader answers DescribeQuorum with
// NOT_LEADER_OR_FOLLOWER and the voter changes with NOT_CONTROLLER.
func TestQuorumAPIsOffTheLeader(t *testing.T) {
	n := startAdminNode(t, adminOptions{peers: []string{"2@127.0.0.1:1"}})
	n.env.Quorum = n.q
	cl := client(t, n.addr)
	resp := describeQuorum(t, cl, 2)
	if resp.ErrorCode != 0 || resp.Topics[0].Partitions[0].ErrorCode != kerr.NotLeaderForPartition.Code {
		t.Fatalf("describe: %+v", resp)
	}
	add := kmsg.NewPtrAddRaftVoterRequest()
	add.VoterID, add.VoterDirectoryID = 3, quorum.NewDirectoryID()
	l := kmsg.NewAddRaftVoterRequestListener()
	l.Name, l.Host, l.Port = "CONTROLLER", "127.0.0.1", 1
	add.Listeners = append(add.Listeners, l)
	if resp := quorumRequest[*kmsg.AddRaftVoterResponse](t, cl, add); resp.ErrorCode != kerr.NotController.Code {
		t.Fatalf("add: %+v", resp)
	}
	rm := kmsg.NewPtrRemoveRaftVoterRequest()
	rm.VoterID = 1
	if resp := quorumRequest[*kmsg.RemoveRaftVoterResponse](t, cl, rm); resp.ErrorCode != kerr.NotController.Code {
		t.Fatalf("remove: %+v", resp)
	}
}
