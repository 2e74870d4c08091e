package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
)

// LeaveGroup: v0–5
//
// Behavior:
//   - Removes members at once (no wait for the session timeout); the rest of the group
//     rebalances. Unknown members: UNKNOWN_MEMBER_ID (the top-level code before v3, per
//     member from v3).
//   - From v3 a member may be named by group.instance.id (static membership, KIP-345); with
//     both ids, a member id that is not the instance's current one is FENCED_INSTANCE_ID.
//
//   - Authorization: Read on the group, else GROUP_AUTHORIZATION_FAILED.
//
// Version notes:
//   - v3: a batch of members, each with its own error (KIP-345). v4: flexible. v5: reason.

func init() {
	Register(API{Key: 13, MinVersion: 0, MaxVersion: 5, Handle: handleLeaveGroup})
}

func handleLeaveGroup(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.LeaveGroupRequest)
	resp := r.ResponseKind().(*kmsg.LeaveGroupResponse)
	if !env.Authorize(req, opRead, resGroup, r.Group) {
		resp.ErrorCode = groupErrorCode(errGroupAuthorization)
		return Reply(resp), nil
	}
	if err := groupStatus(env, r.Group); err != nil {
		resp.ErrorCode = groupErrorCode(err)
		return Reply(resp), nil
	}
	if req.Version < 3 {
		resp.ErrorCode = groupErrorCode(env.Groups.Leave(r.Group, []group.LeavingMember{{MemberID: r.MemberID}})[0])
		return Reply(resp), nil
	}
	leaving := make([]group.LeavingMember, len(r.Members))
	for i, m := range r.Members {
		leaving[i].MemberID = m.MemberID
		if m.InstanceID != nil {
			leaving[i].InstanceID = *m.InstanceID
		}
	}
	errs := env.Groups.Leave(r.Group, leaving)
	for i, m := range r.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ErrorCode = m.MemberID, m.InstanceID, groupErrorCode(errs[i])
		resp.Members = append(resp.Members, rm)
	}
	return Reply(resp), nil
}
