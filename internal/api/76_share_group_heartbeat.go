package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
)

// ShareGroupHeartbeat: v0–1
//
// Behavior:
//   - The KIP-932 share group protocol: a member joins with epoch 0 and its subscribed topic
//     names (required then), heartbeats with its epoch (the current one or the one before,
//     else FENCED_MEMBER_EPOCH), and leaves with epoch -1. The coordinator assigns the
//     subscribed topics' partitions with Kafka's simple share assignor (a partition may go
//     to several members when there are more members than partitions); there is no
//     revocation, a member gets its target at the group's assignment epoch.
//   - The answer carries the member epoch, the heartbeat interval (the group's
//     share.heartbeat.interval.ms, else group.share.heartbeat.interval.ms) and the member's
//     assignment when it changed or the request was a full one (epoch 0, or topics given).
//     A member not heard from for share.session.timeout.ms (group config, else
//     group.share.session.timeout.ms) is removed.
//   - Errors: INVALID_REQUEST (empty group or member id, a member id over 36 characters, an
//     empty rack id, epoch below -1, no topics at epoch 0), UNKNOWN_MEMBER_ID,
//     FENCED_MEMBER_EPOCH, GROUP_ID_NOT_FOUND (an unknown group at epoch > 0, or a group id
//     used by a classic or consumer group), GROUP_MAX_SIZE_REACHED (group.share.max.size),
//     UNSUPPORTED_VERSION (share groups off: the share.version feature finalized at 0, as with
//     kafka-features.sh downgrade --feature share.version=0; a new cluster finalizes 1). Changes are
//     durable in __consumer_offsets (Kafka's share group records) before the answer.
//
//   - Authorization: Read on the group, else GROUP_AUTHORIZATION_FAILED; Describe on every
//     subscribed topic, else TOPIC_AUTHORIZATION_FAILED.
//
// Version notes:
//   - v0 (Kafka 4.0's early access) and v1 (Kafka 4.1+) have the same fields.

func init() {
	Register(API{Key: 76, MinVersion: 0, MaxVersion: 1, Handle: handleShareGroupHeartbeat})
}

func handleShareGroupHeartbeat(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.ShareGroupHeartbeatRequest)
	resp := r.ResponseKind().(*kmsg.ShareGroupHeartbeatResponse)
	if code := authorizeShareHeartbeat(env, req, r); code != 0 {
		resp.ErrorCode = code
		return Reply(resp), nil
	}
	if err := groupStatus(env, r.GroupID); err != nil {
		resp.ErrorCode = groupErrorCode(err)
		return Reply(resp), nil
	}
	hr := group.ShareHeartbeatRequest{Group: r.GroupID, MemberID: r.MemberID, MemberEpoch: r.MemberEpoch,
		RackID: r.RackID, SubscribedTopicNames: r.SubscribedTopicNames, Image: env.Metadata.Image()}
	if req.ClientID != nil {
		hr.ClientID = *req.ClientID
	}
	if req.Conn.Remote != nil {
		hr.ClientHost = "/" + hostOf(req.Conn.Remote.String())
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		res := env.Groups.ShareHeartbeat(ctx, hr)
		resp.ErrorCode = groupErrorCode(res.Err)
		if res.Err != nil {
			resp.ErrorMessage = ErrorMessage(res.Err)
			return Reply(resp), nil
		}
		resp.MemberID = kmsg.StringPtr(res.MemberID)
		resp.MemberEpoch = res.MemberEpoch
		resp.HeartbeatIntervalMillis = int32(res.HeartbeatInterval.Milliseconds())
		if res.Assignment != nil {
			a := kmsg.NewShareGroupHeartbeatResponseAssignment()
			a.TopicPartitions = []kmsg.ShareGroupHeartbeatResponseAssignmentTopicPartition{}
			for _, id := range sortedAssignmentTopics(res.Assignment) {
				t := kmsg.NewShareGroupHeartbeatResponseAssignmentTopicPartition()
				t.TopicID, t.Partitions = id, res.Assignment[id]
				a.TopicPartitions = append(a.TopicPartitions, t)
			}
			resp.Assignment = &a
		}
		return Reply(resp), nil
	}}, nil
}

// authorizeShareHeartbeat: Read on the group (else GROUP_AUTHORIZATION_FAILED), Describe on
// every subscribed topic (else TOPIC_AUTHORIZATION_FAILED), as Kafka's KafkaApis checks.
func authorizeShareHeartbeat(env *Env, req *Request, r *kmsg.ShareGroupHeartbeatRequest) int16 {
	if !env.Authorize(req, opRead, resGroup, r.GroupID) {
		return kerr.GroupAuthorizationFailed.Code
	}
	for _, name := range r.SubscribedTopicNames {
		if !env.Authorize(req, opDescribe, resTopic, name) {
			return kerr.TopicAuthorizationFailed.Code
		}
	}
	return 0
}
