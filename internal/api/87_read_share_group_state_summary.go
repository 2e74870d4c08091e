package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/share"
)

// ReadShareGroupStateSummary: v0–1
//
// Behavior:
//   - A share coordinator RPC (KIP-932): the group coordinator (DescribeShareGroupOffsets)
//     reads share-partitions' start offsets and epochs, without their batches, from this
//     node's share coordinator. Nothing is written.
//   - Per partition: UNKNOWN_TOPIC_OR_PARTITION (no state), FENCED_LEADER_EPOCH (a leader
//     epoch older than stored; -1 is not checked), NOT_COORDINATOR,
//     COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE.
//
//   - Authorization: ClusterAction on the cluster, else CLUSTER_AUTHORIZATION_FAILED for every
//     partition.
//
// Version notes:
//   - v1: DeliveryCompleteCount (KIP-1226), -1 when unknown.

func init() {
	Register(API{Key: 87, MinVersion: 0, MaxVersion: 1, Handle: handleReadShareGroupStateSummary})
}

func handleReadShareGroupStateSummary(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.ReadShareGroupStateSummaryRequest)
	resp := r.ResponseKind().(*kmsg.ReadShareGroupStateSummaryResponse)
	denied := !env.AuthorizeCluster(req, opClusterAction)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		for _, t := range r.Topics {
			rt := kmsg.NewReadShareGroupStateSummaryResponseTopic()
			rt.TopicID = t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewReadShareGroupStateSummaryResponseTopicPartition()
				rp.Partition, rp.StartOffset, rp.LeaderEpoch, rp.StateEpoch, rp.DeliveryCompleteCount = p.Partition, -1, -1, 0, -1
				err := shareStateDenied(env, denied)
				if err == nil {
					var s share.Summary
					s, err = env.ShareCoordinator.ReadSummary(ctx, share.Key{Group: r.GroupID, TopicID: t.TopicID, Partition: p.Partition}, p.LeaderEpoch)
					if err == nil {
						rp.StartOffset, rp.LeaderEpoch, rp.StateEpoch, rp.DeliveryCompleteCount = s.StartOffset, s.LeaderEpoch, s.StateEpoch, s.DeliveryCompleteCount
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
