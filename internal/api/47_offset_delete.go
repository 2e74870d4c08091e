package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
)

// OffsetDelete: v0
//
// Behavior:
//   - Deletes a group's committed offsets of the named partitions (tombstones in
//     __consumer_offsets, answered through Finish once durable). Unknown group:
//     GROUP_ID_NOT_FOUND. A "consumer" group with members keeps the offsets of topics a member
//     subscribes to (GROUP_SUBSCRIBED_TO_TOPIC per partition), read from the members'
//     consumer-protocol subscription; other groups with members: NON_EMPTY_GROUP.
//
//   - Authorization: Delete on the group (else GROUP_AUTHORIZATION_FAILED), Read on each
//     topic (else TOPIC_AUTHORIZATION_FAILED for its partitions, not deleted).
//
// Version notes:
//   - v0 only (not flexible).

func init() {
	Register(API{Key: 47, MinVersion: 0, MaxVersion: 0, Handle: handleOffsetDelete})
}

func handleOffsetDelete(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.OffsetDeleteRequest)
	resp := r.ResponseKind().(*kmsg.OffsetDeleteResponse)
	if !env.Authorize(req, opDelete, resGroup, r.Group) {
		resp.ErrorCode = groupErrorCode(errGroupAuthorization)
		return Reply(resp), nil
	}
	if err := groupStatus(env, r.Group); err != nil {
		resp.ErrorCode = groupErrorCode(err)
		return Reply(resp), nil
	}
	var parts []group.OffsetCommit
	readable := make([]bool, len(r.Topics))
	for i, t := range r.Topics {
		if readable[i] = env.Authorize(req, opRead, resTopic, t.Topic); !readable[i] {
			continue
		}
		for _, p := range t.Partitions {
			parts = append(parts, group.OffsetCommit{Topic: t.Topic, Partition: p.Partition})
		}
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		errs, err := env.Groups.DeleteOffsets(ctx, r.Group, parts, subscribedTopics)
		if err != nil {
			resp.ErrorCode = groupErrorCode(err)
			return Reply(resp), nil
		}
		i := 0
		for ti, t := range r.Topics {
			st := kmsg.NewOffsetDeleteResponseTopic()
			st.Topic = t.Topic
			for _, p := range t.Partitions {
				sp := kmsg.NewOffsetDeleteResponseTopicPartition()
				sp.Partition, sp.ErrorCode = p.Partition, kerr.TopicAuthorizationFailed.Code
				if readable[ti] {
					sp.ErrorCode = groupErrorCode(errs[i])
					i++
				}
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return Reply(resp), nil
	}}, nil
}

// subscribedTopics reads the topics of a consumer-protocol subscription; metadata that does
// not parse subscribes to nothing.
func subscribedTopics(metadata []byte) []string {
	var m kmsg.ConsumerMemberMetadata
	if err := m.ReadFrom(metadata); err != nil {
		return nil
	}
	return m.Topics
}
