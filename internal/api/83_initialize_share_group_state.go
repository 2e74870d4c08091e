package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/share"
)

// InitializeShareGroupState: v0
//
// Behavior:
//   - A share coordinator RPC (KIP-932): another broker's persister, or the group
//     coordinator for AlterShareGroupOffsets, sets share-partitions' state to a start offset at
//     a state epoch on this node's share coordinator (Env.ShareCoordinator), which writes a
//     ShareSnapshot to __share_group_state and answers once it is committed. Never forwarded:
//     the sender routes by the key's state partition.
//   - Per partition: NOT_COORDINATOR (the key's __share_group_state partition is not led
//     here), COORDINATOR_LOAD_IN_PROGRESS, FENCED_STATE_EPOCH (older than the stored state
//     epoch), COORDINATOR_NOT_AVAILABLE (no coordinator here or the write failed).
//
//   - Authorization: ClusterAction on the cluster (brokers only), else
//     CLUSTER_AUTHORIZATION_FAILED for every partition.

func init() {
	Register(API{Key: 83, MinVersion: 0, MaxVersion: 0, Handle: handleInitializeShareGroupState})
}

func handleInitializeShareGroupState(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.InitializeShareGroupStateRequest)
	resp := r.ResponseKind().(*kmsg.InitializeShareGroupStateResponse)
	denied := !env.AuthorizeCluster(req, opClusterAction)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		for _, t := range r.Topics {
			rt := kmsg.NewInitializeShareGroupStateResponseTopic()
			rt.TopicID = t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewInitializeShareGroupStateResponseTopicPartition()
				rp.Partition = p.Partition
				err := shareStateDenied(env, denied)
				if err == nil {
					err = env.ShareCoordinator.Initialize(ctx, share.Key{Group: r.GroupID, TopicID: t.TopicID, Partition: p.Partition}, p.StateEpoch, p.StartOffset)
				}
				rp.ErrorCode, rp.ErrorMessage = ErrorCode(err), ErrorMessage(err)
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return Reply(resp), nil
	}}, nil
}

// shareStateDenied is the error every partition of a share coordinator RPC gets before it is
// served: CLUSTER_AUTHORIZATION_FAILED when the sender may not ClusterAction,
// COORDINATOR_NOT_AVAILABLE when this node runs no share coordinator.
func shareStateDenied(env *Env, denied bool) error {
	switch {
	case denied:
		return kerr.ClusterAuthorizationFailed
	case env.ShareCoordinator == nil:
		return kerr.CoordinatorNotAvailable
	}
	return nil
}
