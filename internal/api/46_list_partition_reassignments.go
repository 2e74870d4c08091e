package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// ListPartitionReassignments: v0
//
// Behavior:
//   - Answered by the active controller from its metadata (other nodes
//     forward it; NOT_CONTROLLER when none is reachable): each partition being
//     reassigned with its replicas, adding and removing replicas (KIP-455).
//   - Null topics list every reassignment in progress; otherwise only the
//     named partitions that are being reassigned (unknown topics and
//     partitions are left out, as in Kafka).
//   - Authorization (on the controller): Describe on the cluster, else a top-level
//     CLUSTER_AUTHORIZATION_FAILED.

func init() {
	Register(API{Key: 46, MinVersion: 0, MaxVersion: 0, Handle: handleListPartitionReassignments, Listeners: BrokerAndController, Forward: true})
}

func handleListPartitionReassignments(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.ListPartitionReassignmentsRequest)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		ctx, cancel := withTimeout(ctx, r.TimeoutMillis)
		defer cancel()
		partitions := requestedPartitions(r.Topics, func(t kmsg.ListPartitionReassignmentsRequestTopic) (string, []int32) { return t.Topic, t.Partitions })
		resp := r.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
		var list []metadata.OngoingReassignment
		err := authorizationError(kerr.ClusterAuthorizationFailed)
		if env.AuthorizeCluster(req, opDescribe) {
			list, err = env.Controller.ListPartitionReassignments(ctx, partitions)
		}
		if err != nil {
			resp.ErrorCode, resp.ErrorMessage = ErrorCode(err), ErrorMessage(err)
			return Reply(resp), nil
		}
		index := map[string]int{}
		seen := map[metadata.TopicPartition]bool{}
		for _, o := range list {
			if seen[o.TopicPartition] {
				continue
			}
			seen[o.TopicPartition] = true
			i, ok := index[o.Topic]
			if !ok {
				i = len(resp.Topics)
				index[o.Topic] = i
				t := kmsg.NewListPartitionReassignmentsResponseTopic()
				t.Topic = o.Topic
				resp.Topics = append(resp.Topics, t)
			}
			p := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
			p.Partition, p.Replicas, p.AddingReplicas, p.RemovingReplicas = o.Partition, o.Replicas, o.AddingReplicas, o.RemovingReplicas
			resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, p)
		}
		return Reply(resp), nil
	}}, nil
}
