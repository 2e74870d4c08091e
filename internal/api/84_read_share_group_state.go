package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/share"
)

// ReadShareGroupState: v0
//
// Behavior:
//   - A share coordinator RPC (KIP-932): a share-partition leader on another broker reads the
//     state it takes over (start offset, state epoch, the in-flight batches) from this node's
//     share coordinator. A leader epoch newer than the stored one is stored first (a ShareUpdate
//     committed before the answer), fencing the previous leader's writes; -1 reads without.
//   - Per partition: UNKNOWN_TOPIC_OR_PARTITION (no state: never initialized or deleted),
//     FENCED_LEADER_EPOCH, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
//     COORDINATOR_NOT_AVAILABLE.
//
//   - Authorization: ClusterAction on the cluster, else CLUSTER_AUTHORIZATION_FAILED for every
//     partition.

func init() {
	Register(API{Key: 84, MinVersion: 0, MaxVersion: 0, Handle: handleReadShareGroupState})
}

func handleReadShareGroupState(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.ReadShareGroupStateRequest)
	resp := r.ResponseKind().(*kmsg.ReadShareGroupStateResponse)
	denied := !env.AuthorizeCluster(req, opClusterAction)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		for _, t := range r.Topics {
			rt := kmsg.NewReadShareGroupStateResponseTopic()
			rt.TopicID = t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewReadShareGroupStateResponseTopicPartition()
				rp.Partition, rp.StartOffset, rp.StateEpoch = p.Partition, -1, 0
				err := shareStateDenied(env, denied)
				if err == nil {
					var st share.PartitionState
					st, err = env.ShareCoordinator.Read(ctx, share.Key{Group: r.GroupID, TopicID: t.TopicID, Partition: p.Partition}, p.LeaderEpoch)
					if err == nil {
						rp.StartOffset, rp.StateEpoch = st.StartOffset, st.StateEpoch
						for _, b := range st.Batches {
							sb := kmsg.NewReadShareGroupStateResponseTopicPartitionStateBatch()
							sb.FirstOffset, sb.LastOffset, sb.DeliveryState, sb.DeliveryCount = b.FirstOffset, b.LastOffset, b.DeliveryState, b.DeliveryCount
							rp.StateBatches = append(rp.StateBatches, sb)
						}
					}
				}
				rp.ErrorCode, rp.ErrorMessage = ErrorCode(err), ErrorMessage(err)
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return Reply(resp), nil
	}}, nil
}
