package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// DeleteTopics: v0–6 (v0 is legacy: Kafka 4 removed it, KIP-896; API.LegacyBelow)
//
// Behavior:
//   - Only the active controller deletes topics; other nodes forward the
//     request to it (Envelope, KIP-590); NOT_CONTROLLER only when no
//     controller can be reached.
//   - Topics are named by name (v1–5) or, v6+, by name or by id. An unknown
//     name gets UNKNOWN_TOPIC_OR_PARTITION, an unknown id UNKNOWN_TOPIC_ID, an
//     entry with both or neither INVALID_REQUEST, a topic named twice
//     INVALID_REQUEST. delete.topic.enable=false answers every topic with
//     TOPIC_DELETION_DISABLED.
//   - The deletions commit together; the response is written once they are
//     in this node's metadata (off the read loop), and every broker then
//     removes the partitions' logs as it applies the metadata.
//   - TimeoutMillis > 0 bounds the wait to enter the metadata log.
//
//   - Authorization (on the controller, as the forwarded principal): Delete on the cluster, or
//     Describe and Delete on each topic, else TOPIC_AUTHORIZATION_FAILED (a name without
//     Describe is refused whether it exists or not; an id's name only shown with Describe).
//
//   - controller_mutation_rate (client quotas, KIP-599): each topic's partitions count against the
//     client's rate; from v5 a topic is refused with THROTTLING_QUOTA_EXCEEDED while the client
//     is over it (older versions are only throttled), and throttle_time_ms says how long until
//     it is not. What the controller refuses counts nothing.
//
// Version notes:
//   - v0–2: delete.topic.enable=false is INVALID_REQUEST, not TOPIC_DELETION_DISABLED (which
//     they predate), as in Kafka. v1: throttle time.
//   - v4: flexible. v5: error messages.
//   - v6: topics by id; the response names both the topic and its id (the
//     name null for an unknown id).

func init() {
	Register(API{Key: 20, MinVersion: 0, LegacyBelow: 1, MaxVersion: 6, Handle: handleDeleteTopics, Listeners: BrokerAndController, Forward: true})
}

func handleDeleteTopics(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DeleteTopicsRequest)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		ctx, cancel := withTimeout(ctx, r.TimeoutMillis)
		defer cancel()
		var topics []metadata.DeleteTopic
		if r.Version >= 6 {
			for _, t := range r.Topics {
				dt := metadata.DeleteTopic{ID: metadata.TopicID(t.TopicID)}
				if t.Topic != nil {
					dt.Name = *t.Topic
				}
				topics = append(topics, dt)
			}
		} else {
			for _, name := range r.TopicNames {
				topics = append(topics, metadata.DeleteTopic{Name: name})
			}
		}
		resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
		topics, resp.Topics = authorizeDeleteTopics(env, req, topics)
		mutations := newMutationQuota(env, req, env.Metadata.Image(), 5)
		var partitions []int
		topics, partitions, resp.Topics = admitDeleteTopics(mutations, env.Metadata.Image(), r.Version, topics, resp.Topics)
		defer func() { resp.ThrottleMillis = mutations.throttleMillis() }()
		if len(topics) == 0 {
			return Reply(resp), nil
		}
		for i, res := range env.Controller.DeleteTopics(ctx, topics) {
			if res.Err != nil {
				mutations.refund(partitions[i])
			}
			out := kmsg.NewDeleteTopicsResponseTopic()
			out.TopicID = [16]byte(res.ID)
			if res.Name != "" {
				name := res.Name
				out.Topic = &name
			} else if r.Version < 6 {
				out.Topic = &topics[i].Name
			}
			out.ErrorCode, out.ErrorMessage = ErrorCode(res.Err), ErrorMessage(res.Err)
			if out.ErrorCode == kerr.TopicDeletionDisabled.Code && r.Version < 3 {
				out.ErrorCode = kerr.InvalidRequest.Code
			}
			if out.ErrorCode == kerr.UnknownTopicID.Code {
				out.Topic = nil
			}
			resp.Topics = append(resp.Topics, out)
		}
		return Reply(resp), nil
	}}, nil
}

// authorizeDeleteTopics splits topics into those the principal may delete and the refusals
// (TOPIC_AUTHORIZATION_FAILED), as Kafka's controller: Delete on the cluster allows all; a
// topic named without Describe is refused whether it exists or not; one named with Describe
// but without Delete is refused if it exists; one given by id is refused without Delete,
// with its name only if the principal may Describe it.
func authorizeDeleteTopics(env *Env, req *Request, topics []metadata.DeleteTopic) ([]metadata.DeleteTopic, []kmsg.DeleteTopicsResponseTopic) {
	if env.Authorizer == nil || env.AuthorizeCluster(req, opDelete) {
		return topics, nil
	}
	img := env.Metadata.Image()
	var allowed []metadata.DeleteTopic
	var refused []kmsg.DeleteTopicsResponseTopic
	refuse := func(name *string, id metadata.TopicID) {
		out := kmsg.NewDeleteTopicsResponseTopic()
		out.Topic, out.TopicID, out.ErrorCode = name, [16]byte(id), kerr.TopicAuthorizationFailed.Code
		refused = append(refused, out)
	}
	for _, dt := range topics {
		name := dt.Name
		if dt.Name == "" {
			t, ok := img.TopicByID(dt.ID)
			if !ok {
				allowed = append(allowed, dt) // the controller answers UNKNOWN_TOPIC_ID
				continue
			}
			name = t.Name
		}
		describable := env.Authorize(req, opDescribe, resTopic, name)
		_, exists := img.Topic(name)
		switch {
		case dt.Name == "" && !env.Authorize(req, opDelete, resTopic, name):
			if describable {
				refuse(&name, dt.ID)
			} else {
				refuse(nil, dt.ID)
			}
		case dt.Name != "" && !describable:
			refuse(&name, metadata.TopicID{})
		case dt.Name != "" && exists && !env.Authorize(req, opDelete, resTopic, name):
			refuse(&name, metadata.TopicID{})
		default:
			allowed = append(allowed, dt)
		}
	}
	return allowed, refused
}

// admitDeleteTopics counts each topic's partitions against the client's
// controller_mutation_rate (KIP-599); a topic refused for it is answered
// THROTTLING_QUOTA_EXCEEDED in out. It returns the topics to delete and their admitted
// partition counts.
func admitDeleteTopics(q mutationQuota, img *metadata.Image, version int16, topics []metadata.DeleteTopic,
	out []kmsg.DeleteTopicsResponseTopic) ([]metadata.DeleteTopic, []int, []kmsg.DeleteTopicsResponseTopic) {
	kept := topics[:0]
	var partitions []int
	for _, dt := range topics {
		t, ok := img.Topic(dt.Name)
		if dt.Name == "" {
			t, ok = img.TopicByID(dt.ID)
		}
		n := 0
		if ok {
			n = len(t.Partitions)
		}
		if err := q.admit(n); err != nil {
			rt := kmsg.NewDeleteTopicsResponseTopic()
			rt.TopicID = [16]byte(dt.ID)
			if dt.Name != "" || version < 6 {
				name := dt.Name
				rt.Topic = &name
			}
			rt.ErrorCode, rt.ErrorMessage = ErrorCode(err), ErrorMessage(err)
			out = append(out, rt)
			continue
		}
		kept, partitions = append(kept, dt), append(partitions, n)
	}
	return kept, partitions, out
}
