package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// AlterPartitionReassignments: v0–1
//
// Behavior:
//   - Runs on the active controller (other nodes forward it; NOT_CONTROLLER
//     when none is reachable). For each partition, Replicas is the target
//     replica list (KIP-455): the partition's replicas become the target
//     followed by the replicas being removed; brokers of the target not yet
//     replicas (adding) start following, and once the ISR holds the whole
//     target the controller completes the move (replicas = target, a new
//     leader if the old one was removed). A target already in sync (a
//     reordering, a shrink) completes at once. A new target replaces one in
//     progress. Null Replicas cancels: the partition reverts to its original
//     replicas.
//   - Errors per partition: UNKNOWN_TOPIC_OR_PARTITION; INVALID_REPLICA_ASSIGNMENT
//     for an empty target, a repeated or unregistered broker, a target whose
//     brokers are all fenced, or a cancel that would need an unclean
//     election while unclean.leader.election.enable is false;
//     NO_REASSIGNMENT_IN_PROGRESS for a cancel with none; INVALID_REQUEST for
//     a partition named twice.
//   - The changes of one request are committed together. TimeoutMillis > 0
//     bounds the wait (REQUEST_TIMED_OUT).
//
//   - Authorization (on the controller): Alter on the cluster, else a top-level
//     CLUSTER_AUTHORIZATION_FAILED.
//
// Version notes:
//   - v1 (KIP-860): AllowReplicationFactorChange; false makes a target of
//     another size than the partition's replication factor
//     INVALID_REPLICATION_FACTOR. v0 allows it. The response echoes it.

func init() {
	Register(API{Key: 45, MinVersion: 0, MaxVersion: 1, Handle: handleAlterPartitionReassignments, Listeners: BrokerAndController, Forward: true})
}

func handleAlterPartitionReassignments(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.AlterPartitionAssignmentsRequest)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		ctx, cancel := withTimeout(ctx, r.TimeoutMillis)
		defer cancel()
		allowRF := r.Version < 1 || r.AllowReplicationFactorChange
		var reqs []metadata.Reassignment
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				reqs = append(reqs, metadata.Reassignment{Topic: t.Topic, Partition: p.Partition, Replicas: p.Replicas})
			}
		}
		resp := r.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
		resp.AllowReplicationFactorChange = allowRF
		var results []metadata.ReassignmentResult
		err := authorizationError(kerr.ClusterAuthorizationFailed)
		if env.AuthorizeCluster(req, opAlter) {
			results, err = env.Controller.AlterPartitionReassignments(ctx, reqs, allowRF)
		}
		if err != nil {
			resp.ErrorCode, resp.ErrorMessage = ErrorCode(err), ErrorMessage(err)
			return Reply(resp), nil
		}
		i := 0
		for _, t := range r.Topics {
			rt := kmsg.NewAlterPartitionAssignmentsResponseTopic()
			rt.Topic = t.Topic
			for range t.Partitions {
				res := results[i]
				i++
				p := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
				p.Partition = res.Partition
				p.ErrorCode, p.ErrorMessage = ErrorCode(res.Err), ErrorMessage(res.Err)
				rt.Partitions = append(rt.Partitions, p)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return Reply(resp), nil
	}}, nil
}
