package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/share"
)

// WriteShareGroupState: v0–1
//
// Behavior:
//   - A share coordinator RPC (KIP-932): a share-partition leader on another broker persists a
//     change of its delivery state (new start offset, the batches whose state changed) on this
//     node's share coordinator; the answer waits until the ShareUpdate (or, every
//     share.coordinator.snapshot.update.records.per.snapshot updates, ShareSnapshot) is
//     committed in __share_group_state.
//   - Per partition: FENCED_STATE_EPOCH, FENCED_LEADER_EPOCH (older than stored),
//     INVALID_REQUEST (a batch whose last offset is before its first), NOT_COORDINATOR,
//     COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE (the write failed).
//
//   - Authorization: ClusterAction on the cluster, else CLUSTER_AUTHORIZATION_FAILED for every
//     partition.
//
// Version notes:
//   - v1: DeliveryCompleteCount (KIP-1226); v0 writes leave it unknown (-1).

func init() {
	Register(API{Key: 85, MinVersion: 0, MaxVersion: 1, Handle: handleWriteShareGroupState})
}

func handleWriteShareGroupState(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.WriteShareGroupStateRequest)
	resp := r.ResponseKind().(*kmsg.WriteShareGroupStateResponse)
	denied := !env.AuthorizeCluster(req, opClusterAction)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		for _, t := range r.Topics {
			rt := kmsg.NewWriteShareGroupStateResponseTopic()
			rt.TopicID = t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewWriteShareGroupStateResponseTopicPartition()
				rp.Partition = p.Partition
				err := shareStateDenied(env, denied)
				if err == nil {
					w := share.Write{StateEpoch: p.StateEpoch, LeaderEpoch: p.LeaderEpoch, StartOffset: p.StartOffset,
						DeliveryCompleteCount: p.DeliveryCompleteCount}
					if req.Version < 1 {
						w.DeliveryCompleteCount = -1
					}
					for _, b := range p.StateBatches {
						w.Batches = append(w.Batches, share.StateBatch{FirstOffset: b.FirstOffset, LastOffset: b.LastOffset,
							DeliveryState: b.DeliveryState, DeliveryCount: b.DeliveryCount})
					}
					err = env.ShareCoordinator.Write(ctx, share.Key{Group: r.GroupID, TopicID: t.TopicID, Partition: p.Partition}, w)
				}
				rp.ErrorCode, rp.ErrorMessage = ErrorCode(err), ErrorMessage(err)
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return Reply(resp), nil
	}}, nil
}
