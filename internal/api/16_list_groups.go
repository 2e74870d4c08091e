package api

import (
	"context"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
)

// ListGroups: v0–5
//
// Behavior:
//   - Every group the coordinator holds, with its protocol type; from v4 its state, from v5
//     its type: "classic", or "consumer" for KIP-848 groups (protocol type "consumer", states
//     Empty, Assigning, Reconciling, Stable).
//   - The states filter (v4+) and types filter (v5+) keep groups whose state / type matches
//     one of the given names, case-insensitively; an empty filter keeps all.
//
//   - Authorization: Describe on the cluster lists every group; without it, only the groups
//     the principal may Describe (never an error).
//
// Version notes:
//   - v3: flexible. v4: states filter and state. v5: types filter and type (KIP-848).

func init() {
	Register(API{Key: 16, MinVersion: 0, MaxVersion: 5, Handle: handleListGroups})
}

func handleListGroups(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.ListGroupsRequest)
	resp := r.ResponseKind().(*kmsg.ListGroupsResponse)
	if env.Groups == nil {
		resp.ErrorCode = groupErrorCode(group.ErrCoordinatorUnavailable)
		return Reply(resp), nil
	}
	if err := env.Groups.ListStatus(); err != nil {
		resp.ErrorCode = groupErrorCode(err)
		return Reply(resp), nil
	}
	matches := func(filter []string, v string) bool {
		return len(filter) == 0 || slices.ContainsFunc(filter, func(f string) bool { return strings.EqualFold(f, v) })
	}
	listed := env.Groups.List()
	// Describe on the cluster lists every group; otherwise only those it may Describe.
	if env.Authorizer != nil && !env.AuthorizeCluster(req, opDescribe) {
		listed = slices.DeleteFunc(listed, func(l group.Listing) bool { return !env.Authorize(req, opDescribe, resGroup, l.Group) })
	}
	slices.SortFunc(listed, func(a, b group.Listing) int { return strings.Compare(a.Group, b.Group) })
	for _, l := range listed {
		if !matches(r.StatesFilter, l.StateName) || !matches(r.TypesFilter, l.Type) {
			continue
		}
		g := kmsg.NewListGroupsResponseGroup()
		g.Group, g.ProtocolType, g.GroupState, g.GroupType = l.Group, l.ProtocolType, l.StateName, l.Type
		resp.Groups = append(resp.Groups, g)
	}
	return Reply(resp), nil
}
