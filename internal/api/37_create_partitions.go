package api

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// CreatePartitions: v0–3
//
// Behavior:
//   - Only the active controller adds partitions; other nodes forward the
//     request to it (Envelope, KIP-590; NOT_CONTROLLER when none is reachable).
//   - Count is the new total. It must exceed the current count
//     (INVALID_PARTITIONS otherwise: partitions are never removed); an unknown
//     topic gets UNKNOWN_TOPIC_OR_PARTITION, a topic named twice
//     INVALID_REQUEST.
//   - New partitions keep the topic's replication factor. Without an
//     assignment they continue the round-robin of leaders over live brokers;
//     with one, there is one replica list per new partition, each of the
//     topic's replication factor, distinct registered brokers
//     (INVALID_REPLICA_ASSIGNMENT otherwise).
//   - The additions commit together; the response is written once they are in
//     this node's metadata. ValidateOnly validates only.
//
//   - Authorization (on the controller, as the forwarded principal): Alter on each topic,
//     else TOPIC_AUTHORIZATION_FAILED.
//
//   - controller_mutation_rate (client quotas, KIP-599): the partitions each topic gains count against the
//     client's rate; from v3 a topic is refused with THROTTLING_QUOTA_EXCEEDED while the client
//     is over it (older versions are only throttled), and throttle_time_ms says how long until
//     it is not. What the controller refuses counts nothing.
//
// Version notes:
//   - v1: same as v0 (throttling after the response). v2: flexible.
//   - v3: same as v2.

func init() {
	Register(API{Key: 37, MinVersion: 0, MaxVersion: 3, Handle: handleCreatePartitions, Listeners: BrokerAndController, Forward: true})
}

func handleCreatePartitions(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.CreatePartitionsRequest)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		ctx, cancel := withTimeout(ctx, r.TimeoutMillis)
		defer cancel()
		reqs := make([]metadata.CreatePartitions, len(r.Topics))
		for i, t := range r.Topics {
			reqs[i] = metadata.CreatePartitions{Topic: t.Topic, Count: t.Count}
			if t.Assignment != nil {
				reqs[i].Assignments = make([][]int32, len(t.Assignment))
				for j, a := range t.Assignment {
					reqs[i].Assignments[j] = a.Replicas
				}
			}
		}
		resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
		if env.Authorizer != nil {
			reqs = slices.DeleteFunc(reqs, func(c metadata.CreatePartitions) bool {
				if duplicateCreatePartitions(r, c.Topic) || env.Authorize(req, opAlter, resTopic, c.Topic) {
					return false // duplicates: the controller answers INVALID_REQUEST
				}
				out := kmsg.NewCreatePartitionsResponseTopic()
				out.Topic, out.ErrorCode = c.Topic, kerr.TopicAuthorizationFailed.Code
				resp.Topics = append(resp.Topics, out)
				return true
			})
		}
		mutations := newMutationQuota(env, req, env.Metadata.Image(), 3)
		var partitions []int
		reqs, partitions, resp.Topics = admitCreatePartitions(mutations, env.Metadata.Image(), reqs, resp.Topics)
		defer func() { resp.ThrottleMillis = mutations.throttleMillis() }()
		if len(reqs) == 0 {
			return Reply(resp), nil
		}
		for i, res := range env.Controller.CreatePartitions(ctx, reqs, r.ValidateOnly) {
			if res.Err != nil || r.ValidateOnly {
				mutations.refund(partitions[i])
			}
			out := kmsg.NewCreatePartitionsResponseTopic()
			out.Topic = res.Topic
			out.ErrorCode, out.ErrorMessage = ErrorCode(res.Err), ErrorMessage(res.Err)
			resp.Topics = append(resp.Topics, out)
		}
		return Reply(resp), nil
	}}, nil
}

// duplicateCreatePartitions reports whether topic appears more than once in r.
func duplicateCreatePartitions(r *kmsg.CreatePartitionsRequest, topic string) bool {
	n := 0
	for _, t := range r.Topics {
		if t.Topic == topic {
			n++
		}
	}
	return n > 1
}

// admitCreatePartitions counts the partitions each request adds against the client's
// controller_mutation_rate (KIP-599); one refused for it is answered THROTTLING_QUOTA_EXCEEDED
// in out. It returns the requests to pass on and their admitted partition counts.
func admitCreatePartitions(q mutationQuota, img *metadata.Image, reqs []metadata.CreatePartitions,
	out []kmsg.CreatePartitionsResponseTopic) ([]metadata.CreatePartitions, []int, []kmsg.CreatePartitionsResponseTopic) {
	kept := reqs[:0]
	var partitions []int
	for _, c := range reqs {
		n := 0
		if t, ok := img.Topic(c.Topic); ok && int(c.Count) > len(t.Partitions) {
			n = int(c.Count) - len(t.Partitions)
		}
		if err := q.admit(n); err != nil {
			rt := kmsg.NewCreatePartitionsResponseTopic()
			rt.Topic, rt.ErrorCode, rt.ErrorMessage = c.Topic, ErrorCode(err), ErrorMessage(err)
			out = append(out, rt)
			continue
		}
		kept, partitions = append(kept, c), append(partitions, n)
	}
	return kept, partitions, out
}
