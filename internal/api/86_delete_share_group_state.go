package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/share"
)

// DeleteShareGroupState: v0
//
// Behavior:
//   - A share coordinator RPC (KIP-932): the group coordinator (DeleteShareGroupOffsets,
//     deleting a share group) removes share-partitions' state from this node's share
//     coordinator: tombstones for the ShareSnapshot and ShareUpdate keys, committed before the
//     answer. A share-partition without state is deleted successfully.
//   - Per partition: NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE.
//
//   - Authorization: ClusterAction on the cluster, else CLUSTER_AUTHORIZATION_FAILED for every
//     partition.

func init() {
	Register(API{Key: 86, MinVersion: 0, MaxVersion: 0, Handle: handleDeleteShareGroupState})
}

func handleDeleteShareGroupState(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DeleteShareGroupStateRequest)
	resp := r.ResponseKind().(*kmsg.DeleteShareGroupStateResponse)
	denied := !env.AuthorizeCluster(req, opClusterAction)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		for _, t := range r.Topics {
			rt := kmsg.NewDeleteShareGroupStateResponseTopic()
			rt.TopicID = t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewDeleteShareGroupStateResponseTopicPartition()
				rp.Partition = p.Partition
				err := shareStateDenied(env, denied)
				if err == nil {
					err = env.ShareCoordinator.Delete(ctx, share.Key{Group: r.GroupID, TopicID: t.TopicID, Partition: p.Partition})
				}
				rp.ErrorCode, rp.ErrorMessage = ErrorCode(err), ErrorMessage(err)
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return Reply(resp), nil
	}}, nil
}
