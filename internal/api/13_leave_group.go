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
//   - Members named only by group.instance.id are UNKNOWN_MEMBER_ID: static membership is
//     not implemented yet.
//
// Version notes:
//   - v3: a batch of members, each with its own error (KIP-345). v4: flexible. v5: reason.

func init() {
	Register(API{Key: 13, MinVersion: 0, MaxVersion: 5, Handle: handleLeaveGroup})
}

func handleLeaveGroup(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.LeaveGroupRequest)
	resp := r.ResponseKind().(*kmsg.LeaveGroupResponse)
	if env.Groups == nil {
		resp.ErrorCode = groupErrorCode(group.ErrCoordinatorUnavailable)
		return Reply(resp), nil
	}
	if req.Version < 3 {
		resp.ErrorCode = groupErrorCode(env.Groups.Leave(r.Group, []string{r.MemberID})[0])
		return Reply(resp), nil
	}
	ids := make([]string, len(r.Members))
	for i, m := range r.Members {
		ids[i] = m.MemberID
	}
	errs := env.Groups.Leave(r.Group, ids)
	for i, m := range r.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ErrorCode = m.MemberID, m.InstanceID, groupErrorCode(errs[i])
		resp.Members = append(resp.Members, rm)
	}
	return Reply(resp), nil
}
