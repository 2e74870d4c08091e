package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
)

// SyncGroup: v0–5
//
// Behavior:
//   - Members of the current generation wait (through Finish) for the leader's sync, which
//     carries every member's assignment; each gets its own (empty if the leader gave it
//     none). In a Stable group the answer is immediate. A stale generation is
//     ILLEGAL_GENERATION, an unknown member UNKNOWN_MEMBER_ID, a sync during a new join
//     barrier REBALANCE_IN_PROGRESS.
//
//   - Authorization: Read on the group, else GROUP_AUTHORIZATION_FAILED.
//
// Version notes:
//   - v3: group.instance.id (FENCED_INSTANCE_ID for a replaced static member). v4: flexible. v5: protocol type and
//     name, checked against the group's when present (INCONSISTENT_GROUP_PROTOCOL).

func init() {
	Register(API{Key: 14, MinVersion: 0, MaxVersion: 5, Handle: handleSyncGroup})
}

func handleSyncGroup(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.SyncGroupRequest)
	answer := func(res group.SyncResult) Response {
		resp := r.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = groupErrorCode(res.Err)
		if res.Err == nil {
			resp.ProtocolType, resp.Protocol = kmsg.StringPtr(res.ProtocolType), kmsg.StringPtr(res.ProtocolName)
			resp.MemberAssignment = res.Assignment
		}
		return Reply(resp)
	}
	if !env.Authorize(req, opRead, resGroup, r.Group) {
		return answer(group.SyncResult{Err: errGroupAuthorization}), nil
	}
	if err := groupStatus(env, r.Group); err != nil {
		return answer(group.SyncResult{Err: err}), nil
	}
	sr := group.SyncRequest{Group: r.Group, MemberID: r.MemberID, Generation: r.Generation}
	if r.InstanceID != nil {
		sr.InstanceID = *r.InstanceID
	}
	if r.ProtocolType != nil {
		sr.ProtocolType = *r.ProtocolType
	}
	if r.Protocol != nil {
		sr.ProtocolName = *r.Protocol
	}
	if len(r.GroupAssignment) > 0 {
		sr.Assignments = make(map[string][]byte, len(r.GroupAssignment))
		for _, a := range r.GroupAssignment {
			sr.Assignments[a.MemberID] = a.MemberAssignment
		}
	}
	return awaitGroup(env.Groups.Sync(sr), answer, group.SyncResult{Err: group.ErrRebalanceInProgress}), nil
}
