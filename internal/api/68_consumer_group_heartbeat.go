package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
)

// ConsumerGroupHeartbeat: v0–1
//
// Behavior:
//   - The KIP-848 consumer group protocol: a member joins with epoch 0, heartbeats with its
//     epoch and the partitions it owns, and leaves with epoch -1 (-2 for a static member,
//     handled as a leave). The broker computes the target assignment (group.consumer.assignors,
//     default uniform then range; the assignor most members name in ServerAssignor wins) and
//     hands partitions over only after their previous owner stopped listing them.
//   - The answer carries the member epoch, group.consumer.heartbeat.interval.ms, and the
//     member's assignment when it changed or the request was a full one.
//   - Errors: FENCED_MEMBER_EPOCH (epoch ahead of the broker's, or behind it other than the
//     previous epoch with a subset of the assignment), UNKNOWN_MEMBER_ID, INVALID_REQUEST,
//     UNSUPPORTED_ASSIGNOR, INVALID_REGULAR_EXPRESSION, GROUP_ID_NOT_FOUND (a classic group
//     with members). Changes are durable in __consumer_offsets before the answer (Finish).
//
//   - Authorization: Read on the group, else GROUP_AUTHORIZATION_FAILED; Describe on each
//     subscribed topic name, else TOPIC_AUTHORIZATION_FAILED (KAFKA-18813). A regex subscribes
//     the member only to the matching topics it may Describe (asked again whenever the group
//     recomputes its subscriptions, so ACL changes take effect; Kafka 4.0 filters the
//     resolution the refreshing member triggered).
//
// Version notes:
//   - v0: the broker names new members. v1: the client generates its member id (required on
//     every request) and may subscribe with SubscribedTopicRegex (RE2, matched against whole
//     topic names; internal topics never match).

func init() {
	Register(API{Key: 68, MinVersion: 0, MaxVersion: 1, Handle: handleConsumerGroupHeartbeat})
}

func handleConsumerGroupHeartbeat(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.ConsumerGroupHeartbeatRequest)
	resp := r.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
	if code := authorizeConsumerHeartbeat(env, req, r); code != 0 {
		resp.ErrorCode = code
		return Reply(resp), nil
	}
	if err := groupStatus(env, r.Group); err != nil {
		resp.ErrorCode = groupErrorCode(err)
		return Reply(resp), nil
	}
	hr := group.ConsumerHeartbeatRequest{Group: r.Group, MemberID: r.MemberID, MemberEpoch: r.MemberEpoch,
		InstanceID: r.InstanceID, RackID: r.RackID, RebalanceTimeout: -1,
		SubscribedTopicNames: r.SubscribedTopicNames, ServerAssignor: r.ServerAssignor, Image: env.Metadata.Image()}
	if req.Version >= 1 {
		hr.SubscribedTopicRegex = r.SubscribedTopicRegex
		if env.Authorizer != nil {
			member := *req // the coordinator keeps the check past this request
			hr.RegexTopicAllowed = func(topic string) bool { return env.Authorize(&member, opDescribe, resTopic, topic) }
		}
	} else if hr.MemberEpoch == 0 && hr.MemberID == "" {
		hr.MemberID = newUUIDString() // v0: the broker names the member
	}
	if r.RebalanceTimeoutMillis >= 0 {
		hr.RebalanceTimeout = time.Duration(r.RebalanceTimeoutMillis) * time.Millisecond
	}
	if r.Topics != nil {
		hr.Owned = make([]group.TopicPartitions, 0, len(r.Topics))
		for _, t := range r.Topics {
			hr.Owned = append(hr.Owned, group.TopicPartitions{Topic: t.TopicID, Partitions: t.Partitions})
		}
	}
	if req.ClientID != nil {
		hr.ClientID = *req.ClientID
	}
	if req.Conn.Remote != nil {
		hr.ClientHost = "/" + hostOf(req.Conn.Remote.String())
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		res := env.Groups.ConsumerHeartbeat(ctx, hr)
		resp.ErrorCode = groupErrorCode(res.Err)
		if res.Err != nil {
			resp.ErrorMessage = ErrorMessage(res.Err)
			return Reply(resp), nil
		}
		resp.MemberID = kmsg.StringPtr(res.MemberID)
		resp.MemberEpoch = res.MemberEpoch
		resp.HeartbeatIntervalMillis = int32(res.HeartbeatInterval.Milliseconds())
		if res.Assignment != nil {
			a := kmsg.NewConsumerGroupHeartbeatResponseAssignment()
			a.Topics = []kmsg.ConsumerGroupHeartbeatResponseAssignmentTopic{}
			for _, id := range sortedAssignmentTopics(res.Assignment) {
				t := kmsg.NewConsumerGroupHeartbeatResponseAssignmentTopic()
				t.TopicID, t.Partitions = id, res.Assignment[id]
				a.Topics = append(a.Topics, t)
			}
			resp.Assignment = &a
		}
		return Reply(resp), nil
	}}, nil
}

// sortedAssignmentTopics lists an assignment's topics that have partitions, in id order, so
// answers are deterministic.
func sortedAssignmentTopics(a group.Assignment) []group.TopicID {
	ids := make([]group.TopicID, 0, len(a))
	for id, ps := range a {
		if len(ps) > 0 {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(x, y group.TopicID) int { return bytes.Compare(x[:], y[:]) })
	return ids
}

// newUUIDString is a random base64url UUID, the form Kafka gives member ids.
func newUUIDString() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// authorizeConsumerHeartbeat: Read on the group (else GROUP_AUTHORIZATION_FAILED) and, when the
// member names its subscribed topics, Describe on every one of them (else
// TOPIC_AUTHORIZATION_FAILED, KAFKA-18813).
func authorizeConsumerHeartbeat(env *Env, req *Request, r *kmsg.ConsumerGroupHeartbeatRequest) int16 {
	if !env.Authorize(req, opRead, resGroup, r.Group) {
		return kerr.GroupAuthorizationFailed.Code
	}
	for _, name := range r.SubscribedTopicNames {
		if !env.Authorize(req, opDescribe, resTopic, name) {
			return kerr.TopicAuthorizationFailed.Code
		}
	}
	return 0
}
