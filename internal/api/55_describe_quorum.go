package api

import (
	"context"
	"errors"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/quorum"
)

// DescribeQuorum: v0–2
//
// Behavior:
//   - Describes the metadata quorum (KIP-595, KIP-853): the only partition is
//     __cluster_metadata-0; any other topic or partition in the request gets
//     UNKNOWN_TOPIC_OR_PARTITION at the top level, as from Kafka.
//   - Answered by the active controller (the Raft leader): the leader id, the
//     epoch (the Raft term), the high watermark (the offset after the last
//     committed entry; offsets are Raft log indexes), and each voter's and
//     observer's log end offset and the times the leader last heard from it
//     and last saw it caught up (-1 when unknown: a member that did not
//     answer). Observers are the Raft non-voters: broker-only nodes, replaced
//     disks and removed voters that follow the log.
//   - Forwarded from a broker listener to the active controller (KIP-590); on
//     the controller listener of another node NOT_LEADER_OR_FOLLOWER, as
//     Kafka's non-leader answers.
//
//   - Authorization (on the controller): Describe on the cluster, else a top-level
//     CLUSTER_AUTHORIZATION_FAILED.
//
// Version notes:
//   - v1: LastFetchTimestamp, LastCaughtUpTimestamp. v2: ErrorMessage, each
//     replica's directory id, and Nodes (every voter's CONTROLLER endpoint).

func init() {
	Register(API{Key: 55, MinVersion: 0, MaxVersion: 2, Handle: handleDescribeQuorum, Listeners: BrokerAndController, Forward: true})
}

func handleDescribeQuorum(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DescribeQuorumRequest)
	resp := r.ResponseKind().(*kmsg.DescribeQuorumResponse)
	if !env.AuthorizeCluster(req, opDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return Reply(resp), nil
	}
	if len(r.Topics) != 1 || r.Topics[0].Topic != metadata.ClusterMetadataTopic ||
		len(r.Topics[0].Partitions) != 1 || r.Topics[0].Partitions[0].Partition != 0 {
		resp.ErrorCode = kerr.UnknownTopicOrPartition.Code
		if r.Version >= 2 {
			resp.ErrorMessage = kmsg.StringPtr("the quorum's only partition is __cluster_metadata-0")
		}
		return Reply(resp), nil
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		p := kmsg.NewDescribeQuorumResponseTopicPartition()
		var st quorum.State
		err := errNoQuorum
		if env.Quorum != nil {
			st, err = env.Quorum.Describe(ctx)
		}
		if err != nil {
			p.ErrorCode = ErrorCode(err)
			if errors.Is(err, metadata.ErrNotController) {
				p.ErrorCode = kerr.NotLeaderForPartition.Code
			}
			if r.Version >= 2 {
				p.ErrorMessage = ErrorMessage(err)
			}
			p.LeaderID, p.LeaderEpoch, p.HighWatermark = -1, -1, -1
		} else {
			p.LeaderID, p.LeaderEpoch, p.HighWatermark = st.LeaderID, st.LeaderEpoch, st.HighWatermark
			p.CurrentVoters = replicaStates(st.Voters)
			p.Observers = replicaStates(st.Observers)
			if r.Version >= 2 {
				resp.Nodes = quorumNodes(st.Voters)
			}
		}
		t := kmsg.NewDescribeQuorumResponseTopic()
		t.Topic = metadata.ClusterMetadataTopic
		t.Partitions = append(t.Partitions, p)
		resp.Topics = append(resp.Topics, t)
		return Reply(resp), nil
	}}, nil
}

// errNoQuorum answers quorum requests on a node built without one (tests).
var errNoQuorum = requestErrorf(kerr.NotController, "this node runs no metadata quorum")

func replicaStates(rs []quorum.ReplicaState) []kmsg.DescribeQuorumResponseTopicPartitionReplicaState {
	out := make([]kmsg.DescribeQuorumResponseTopicPartitionReplicaState, 0, len(rs))
	for _, r := range rs {
		s := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
		s.ReplicaID, s.ReplicaDirectoryID, s.LogEndOffset = r.NodeID, r.DirectoryID, r.LogEndOffset
		s.LastFetchTimestamp, s.LastCaughtUpTimestamp = r.LastFetchTimestamp, r.LastCaughtUpTimestamp
		out = append(out, s)
	}
	return out
}

func quorumNodes(voters []quorum.ReplicaState) []kmsg.DescribeQuorumResponseNode {
	var out []kmsg.DescribeQuorumResponseNode
	for _, v := range voters {
		host, portText, err := net.SplitHostPort(v.Addr)
		port, perr := strconv.ParseUint(portText, 10, 16)
		if err != nil || perr != nil {
			continue
		}
		n := kmsg.NewDescribeQuorumResponseNode()
		n.NodeID = v.NodeID
		l := kmsg.NewDescribeQuorumResponseNodeListener()
		l.Name, l.Host, l.Port = ControllerListenerName, host, uint16(port)
		n.Listeners = append(n.Listeners, l)
		out = append(out, n)
	}
	return out
}
