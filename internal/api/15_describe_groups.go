package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
)

// DescribeGroups: v0–6
//
// Behavior:
//   - Each group's state, protocol type, selected protocol (while CompletingRebalance or
//     Stable) and members with their metadata and assignment. An unknown group is "Dead"
//     with no members (GROUP_ID_NOT_FOUND from v6).
//   - Authorized operations (v3+) are all group operations: there is no authorizer yet.
//   - A KIP-848 consumer group or a KIP-932 share group is not a classic group: as in Kafka 4,
//     it reads as "Dead" with no members (GROUP_ID_NOT_FOUND and a message saying so from
//     v6); ConsumerGroupDescribe / ShareGroupDescribe describe it.
//
//   - Authorization: Describe on each group, else GROUP_AUTHORIZATION_FAILED for it;
//     AuthorizedOperations are the group operations the principal may perform.
//
// Version notes:
//   - v3: authorized operations. v4: group.instance.id per member. v5: flexible.
//     v6: error message, GROUP_ID_NOT_FOUND for unknown groups.

func init() {
	Register(API{Key: 15, MinVersion: 0, MaxVersion: 6, Handle: handleDescribeGroups})
}

func handleDescribeGroups(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DescribeGroupsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range r.Groups {
		g := kmsg.NewDescribeGroupsResponseGroup()
		g.Group = id
		if !env.Authorize(req, opDescribe, resGroup, id) {
			g.ErrorCode = kerr.GroupAuthorizationFailed.Code
			resp.Groups = append(resp.Groups, g)
			continue
		}
		if err := groupStatus(env, id); err != nil {
			g.ErrorCode = groupErrorCode(err)
			resp.Groups = append(resp.Groups, g)
			continue
		}
		d := env.Groups.Describe(id)
		g.State, g.ProtocolType, g.Protocol = d.State.String(), d.ProtocolType, d.ProtocolName
		if d.State == group.Dead && req.Version >= 6 {
			g.ErrorCode = kerr.GroupIDNotFound.Code
			if d.Type != "classic" {
				g.ErrorMessage = kmsg.StringPtr("Group " + id + " is not a classic group.")
			}
		}
		if r.IncludeAuthorizedOperations {
			g.AuthorizedOperations = env.authorizedOperations(req, resGroup, id)
		}
		for _, m := range d.Members {
			gm := kmsg.NewDescribeGroupsResponseGroupMember()
			gm.MemberID, gm.ClientID, gm.ClientHost = m.MemberID, m.ClientID, m.ClientHost
			gm.ProtocolMetadata, gm.MemberAssignment = m.Metadata, m.Assignment
			if m.InstanceID != "" {
				gm.InstanceID = kmsg.StringPtr(m.InstanceID)
			}
			g.Members = append(g.Members, gm)
		}
		resp.Groups = append(resp.Groups, g)
	}
	return Reply(resp), nil
}
