package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Heartbeat: v0–4
//
// Behavior:
//   - Resets the member's session timer. REBALANCE_IN_PROGRESS while the group waits for
//     members to rejoin; ILLEGAL_GENERATION for a stale generation; UNKNOWN_MEMBER_ID for a
//     member the group dropped (its session expired or it left).
//
//   - Authorization: Read on the group, else GROUP_AUTHORIZATION_FAILED.
//
// Version notes:
//   - v3: group.instance.id; a static member's old member id is FENCED_INSTANCE_ID.
//     v4: flexible.

func init() {
	Register(API{Key: 12, MinVersion: 0, MaxVersion: 4, Handle: handleHeartbeat})
}

func handleHeartbeat(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.HeartbeatRequest)
	resp := r.ResponseKind().(*kmsg.HeartbeatResponse)
	err := groupStatus(env, r.Group)
	if !env.Authorize(req, opRead, resGroup, r.Group) {
		err = errGroupAuthorization
	} else if err == nil {
		instance := ""
		if r.InstanceID != nil {
			instance = *r.InstanceID
		}
		err = env.Groups.Heartbeat(r.Group, r.MemberID, instance, r.Generation)
	}
	resp.ErrorCode = groupErrorCode(err)
	return Reply(resp), nil
}
