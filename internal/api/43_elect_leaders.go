package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// ElectLeaders: v0–2
//
// Behavior:
//   - Runs on the active controller (other nodes forward it; NOT_CONTROLLER
//     when none is reachable). ElectionType PREFERRED (0) makes each named
//     partition's first replica its leader when that replica is active and in
//     the ISR (ELECTION_NOT_NEEDED when it leads already,
//     PREFERRED_LEADER_NOT_AVAILABLE otherwise). UNCLEAN (1) elects a leader
//     for a partition that has none: an active ISR member if any, else the
//     first active replica with an ISR of itself, whatever
//     unclean.leader.election.enable says (ELECTION_NOT_NEEDED when it has a
//     leader, ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica is active).
//   - Unknown topics and partitions get UNKNOWN_TOPIC_OR_PARTITION; a
//     partition named twice is answered once.
//   - Null topics mean every partition; then partitions that need no
//     election are left out of the response, as in Kafka.
//   - The elections of one request are committed in as few metadata batches
//     as the controller's batch bound allows. TimeoutMillis > 0 bounds the
//     wait (REQUEST_TIMED_OUT).
//
//   - Authorization (on the controller): Alter on the cluster, else CLUSTER_AUTHORIZATION_FAILED
//     (top-level, v1+, and on every named partition).
//
// Version notes:
//   - A request-wide failure (NOT_CONTROLLER, an unknown election type's
//     INVALID_REQUEST) is reported on every named partition, and from v1 also
//     as the top-level ErrorCode.
//   - v0: preferred only. v1: ElectionType, the top-level ErrorCode.
//     v2: flexible.

func init() {
	Register(API{Key: 43, MinVersion: 0, MaxVersion: 2, Handle: handleElectLeaders, Listeners: BrokerAndController, Forward: true})
}

func handleElectLeaders(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.ElectLeadersRequest)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		ctx, cancel := withTimeout(ctx, r.TimeoutMillis)
		defer cancel()
		typ := metadata.ElectPreferred
		if r.Version >= 1 {
			typ = metadata.ElectionType(r.ElectionType)
		}
		partitions := requestedPartitions(r.Topics, func(t kmsg.ElectLeadersRequestTopic) (string, []int32) { return t.Topic, t.Partitions })
		resp := r.ResponseKind().(*kmsg.ElectLeadersResponse)
		var results []metadata.ElectionResult
		err := authorizationError(kerr.ClusterAuthorizationFailed)
		if env.AuthorizeCluster(req, opAlter) {
			results, err = env.Controller.ElectLeaders(ctx, typ, partitions)
		}
		if err != nil {
			// As Kafka's error response: the top-level code (v1+) and the same error on every
			// named partition, so clients that read only the partitions see it too.
			if r.Version >= 1 {
				resp.ErrorCode = ErrorCode(err)
			}
			results = make([]metadata.ElectionResult, 0, len(partitions))
			seen := map[metadata.TopicPartition]bool{}
			for _, tp := range partitions {
				if !seen[tp] {
					seen[tp] = true
					results = append(results, metadata.ElectionResult{TopicPartition: tp, Err: err})
				}
			}
		}
		index := map[string]int{}
		for _, res := range results {
			i, ok := index[res.Topic]
			if !ok {
				i = len(resp.Topics)
				index[res.Topic] = i
				t := kmsg.NewElectLeadersResponseTopic()
				t.Topic = res.Topic
				resp.Topics = append(resp.Topics, t)
			}
			p := kmsg.NewElectLeadersResponseTopicPartition()
			p.Partition = res.Partition
			p.ErrorCode, p.ErrorMessage = ErrorCode(res.Err), ErrorMessage(res.Err)
			resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, p)
		}
		return Reply(resp), nil
	}}, nil
}

// requestedPartitions flattens a request's topics into partitions, keeping Kafka's distinction
// between a null list (nil: every partition) and an empty one (no partition).
func requestedPartitions[T any](topics []T, of func(T) (string, []int32)) []metadata.TopicPartition {
	if topics == nil {
		return nil
	}
	out := []metadata.TopicPartition{}
	for _, t := range topics {
		name, parts := of(t)
		for _, p := range parts {
			out = append(out, metadata.TopicPartition{Topic: name, Partition: p})
		}
	}
	return out
}
