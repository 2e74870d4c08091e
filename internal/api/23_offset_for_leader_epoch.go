package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/partition"
)

// OffsetForLeaderEpoch: v0–4 (v0–1 are legacy: Kafka 4 removed them, KIP-896; API.LegacyBelow)
//
// Behavior:
//   - Per partition, by its leader: for the requested LeaderEpoch, the
//     largest epoch at most it that the log knows and the offset where the
//     next epoch began (the log end offset for the current epoch), from the
//     leader epoch cache. Unknown: epoch -1, offset -1 (KIP-101, KIP-279).
//     Consumers use it to detect truncation (KIP-320), followers to find
//     where to truncate.
//   - CurrentLeaderEpoch, when given (not -1), must be current:
//     FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH otherwise.
//   - Only the leader answers, consumers (ReplicaID -1) and followers (a
//     broker id, v3+) alike, even when consumers fetch from followers
//     (KIP-392): NOT_LEADER_OR_FOLLOWER elsewhere. The end offset is not
//     capped at the high watermark, as in Kafka.
//
//   - Authorization: ClusterAction on the cluster (followers) allows every topic; otherwise
//     Describe on each topic, else TOPIC_AUTHORIZATION_FAILED for its partitions.
//
// Version notes:
//   - v0: the end offset only (no leader epoch in the answer); no CurrentLeaderEpoch or
//     ReplicaID (so no epoch check, and only the leader answers). v1: the leader epoch.
//   - v2: CurrentLeaderEpoch. v3: ReplicaID. v4: flexible.

func init() {
	Register(API{Key: 23, MinVersion: 0, LegacyBelow: 2, MaxVersion: 4, Handle: handleOffsetForLeaderEpoch})
}

func handleOffsetForLeaderEpoch(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.OffsetForLeaderEpochRequest)
	resp := r.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	img := env.Metadata.Image()
	replica := env.Authorizer == nil || env.AuthorizeCluster(req, opClusterAction) // brokers: every topic
	for _, rt := range r.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		t, topicOK := img.Topic(rt.Topic)
		described := replica || env.Authorize(req, opDescribe, resTopic, rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition, sp.LeaderEpoch, sp.EndOffset = rp.Partition, -1, -1
			if !described {
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			if !topicOK {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			p, code := hostedPartition(env, t, rp.Partition)
			if code != 0 {
				sp.ErrorCode = code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			current := rp.CurrentLeaderEpoch
			if current < 0 {
				current = partition.NoLeaderEpoch
			}
			epoch, end, err := p.EndOffsetForEpoch(rp.LeaderEpoch, current)
			sp.ErrorCode = ErrorCode(err)
			if err == nil {
				sp.LeaderEpoch, sp.EndOffset = epoch, end
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return Reply(resp), nil
}
