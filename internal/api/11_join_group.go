package api

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
)

// JoinGroup: v0–9
//
// Behavior:
//   - Joins the classic group coordinator's barrier (internal/group): the answer waits (off
//     the read loop, through Finish) until every member has rejoined or the rebalance
//     timeout passes. The leader's answer lists every member's metadata for the selected
//     protocol; followers get an empty list.
//   - Any protocol type ("consumer", "connect", ...) is accepted; members must agree on it
//     and share a protocol, else INCONSISTENT_GROUP_PROTOCOL. Session timeouts outside
//     group.min/max.session.timeout.ms: INVALID_SESSION_TIMEOUT.
//   - Static membership (group.instance.id, KIP-345): no MEMBER_ID_REQUIRED round; a
//     restarted static member takes over its identity and assignment under a new member id
//     without a rebalance (unless it leads or changed its protocols), and its old member id
//     is FENCED_INSTANCE_ID from then on.
//
//   - Authorization: Read on the group, else GROUP_AUTHORIZATION_FAILED.
//
// Version notes:
//   - v0: the rebalance timeout is the session timeout. v4: a first join without a member id
//     gets MEMBER_ID_REQUIRED and an id to join with (KIP-394). v5: group.instance.id.
//     v6: flexible. v7: protocol type in the answer. v8: reason. v9: skip assignment
//     (always false: the leader assigns).

func init() {
	Register(API{Key: 11, MinVersion: 0, MaxVersion: 9, Handle: handleJoinGroup})
}

func handleJoinGroup(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.JoinGroupRequest)
	answer := func(res group.JoinResult) Response {
		resp := r.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode, resp.MemberID, resp.Generation = groupErrorCode(res.Err), res.MemberID, res.Generation
		if res.Err != nil {
			resp.Generation = -1
			return Reply(resp)
		}
		resp.LeaderID = res.LeaderID
		resp.ProtocolType, resp.Protocol = kmsg.StringPtr(res.ProtocolType), kmsg.StringPtr(res.ProtocolName)
		for _, m := range res.Members {
			rm := kmsg.NewJoinGroupResponseMember()
			rm.MemberID, rm.ProtocolMetadata = m.MemberID, m.Metadata
			if m.InstanceID != "" {
				rm.InstanceID = kmsg.StringPtr(m.InstanceID)
			}
			resp.Members = append(resp.Members, rm)
		}
		return Reply(resp)
	}
	if !env.Authorize(req, opRead, resGroup, r.Group) {
		return answer(group.JoinResult{Err: errGroupAuthorization}), nil
	}
	if err := groupStatus(env, r.Group); err != nil {
		return answer(group.JoinResult{Err: err, MemberID: r.MemberID}), nil
	}
	jr := group.JoinRequest{
		Group: r.Group, MemberID: r.MemberID, ProtocolType: r.ProtocolType,
		SessionTimeout:       time.Duration(r.SessionTimeoutMillis) * time.Millisecond,
		RebalanceTimeout:     time.Duration(r.RebalanceTimeoutMillis) * time.Millisecond,
		RequireKnownMemberID: req.Version >= 4,
	}
	if req.Version == 0 {
		jr.RebalanceTimeout = jr.SessionTimeout
	}
	if r.InstanceID != nil {
		jr.InstanceID = *r.InstanceID
	}
	if req.ClientID != nil {
		jr.ClientID = *req.ClientID
	}
	if req.Conn.Remote != nil {
		jr.ClientHost = "/" + hostOf(req.Conn.Remote.String())
	}
	for _, p := range r.Protocols {
		jr.Protocols = append(jr.Protocols, group.Protocol{Name: p.Name, Metadata: p.Metadata})
	}
	return awaitGroup(env.Groups.Join(jr), answer, group.JoinResult{Err: group.ErrRebalanceInProgress, MemberID: r.MemberID}), nil
}

// awaitGroup answers with the coordinator's result: at once if it is ready, otherwise from
// Finish's goroutine, so the connection's read loop never blocks on a barrier. If the
// connection goes away first, gone is answered (and never written).
func awaitGroup[T any](ch <-chan T, answer func(T) Response, gone T) Response {
	select {
	case res := <-ch:
		return answer(res)
	default:
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		select {
		case res := <-ch:
			return answer(res), nil
		case <-ctx.Done():
			return answer(gone), nil
		}
	}}
}

// groupStatus is the error a request for group gid gets before the coordinator acts on it:
// COORDINATOR_NOT_AVAILABLE without a coordinator, NOT_COORDINATOR when the group's
// __consumer_offsets partition is led elsewhere, COORDINATOR_LOAD_IN_PROGRESS while it loads.
func groupStatus(env *Env, gid string) error {
	if env.Groups == nil {
		return group.ErrCoordinatorUnavailable
	}
	return env.Groups.CoordinatorStatus(gid)
}

func hostOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[:i]
		}
	}
	return addr
}

// groupErrorCode maps internal/group's errors to Kafka codes.
func groupErrorCode(err error) int16 {
	table := []struct {
		err  error
		code int16
	}{
		{group.ErrMemberIDRequired, kerr.MemberIDRequired.Code},
		{group.ErrUnknownMemberID, kerr.UnknownMemberID.Code},
		{group.ErrIllegalGeneration, kerr.IllegalGeneration.Code},
		{group.ErrRebalanceInProgress, kerr.RebalanceInProgress.Code},
		{group.ErrInconsistentProtocol, kerr.InconsistentGroupProtocol.Code},
		{group.ErrInvalidSessionTimeout, kerr.InvalidSessionTimeout.Code},
		{group.ErrCoordinatorUnavailable, kerr.CoordinatorNotAvailable.Code},
		{group.ErrNotCoordinator, kerr.NotCoordinator.Code},
		{group.ErrCoordinatorLoadInProgress, kerr.CoordinatorLoadInProgress.Code},
		{group.ErrInvalidGroupID, kerr.InvalidGroupID.Code},
		{group.ErrNonEmptyGroup, kerr.NonEmptyGroup.Code},
		{group.ErrGroupIDNotFound, kerr.GroupIDNotFound.Code},
		{group.ErrGroupSubscribedToTopic, kerr.GroupSubscribedToTopic.Code},
		{group.ErrFencedInstanceID, kerr.FencedInstanceID.Code},
		{group.ErrFencedMemberEpoch, kerr.FencedMemberEpoch.Code},
		{group.ErrStaleMemberEpoch, kerr.StaleMemberEpoch.Code},
		{group.ErrUnsupportedAssignor, kerr.UnsupportedAssignor.Code},
		{group.ErrInvalidRequest, kerr.InvalidRequest.Code},
		{group.ErrInvalidRegex, kerr.InvalidRegularExpression.Code},
		{group.ErrUnreleasedInstanceID, kerr.UnreleasedInstanceID.Code},
		{group.ErrUnsupportedVersion, kerr.UnsupportedVersion.Code},
		{group.ErrGroupMaxSizeReached, kerr.GroupMaxSizeReached.Code},
		{errGroupAuthorization, kerr.GroupAuthorizationFailed.Code},
	}
	if err == nil {
		return 0
	}
	for _, e := range table {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return kerr.UnknownServerError.Code
}
