package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// DeleteAcls: v0–3 (v0 is legacy: Kafka 4 removed it, KIP-896; API.LegacyBelow)
//
// Behavior:
//   - Each filter (DescribeAcls' semantics: ANY, null fields, MATCH) deletes every ACL it
//     selects and lists them in its result; an ACL selected by two filters is listed under
//     both and deleted once. A filter with an UNKNOWN value: INVALID_REQUEST for it.
//   - Only the active controller commits: other nodes forward the request (Envelope,
//     KIP-590). SECURITY_DISABLED when no authorizer is configured, as Kafka.
//   - ALTER on the cluster is required (CLUSTER_AUTHORIZATION_FAILED for every filter).
//
// Version notes:
//   - v0: no pattern type (LITERAL). v1: pattern types. v2: flexible. v3: the USER resource.

func init() {
	Register(API{Key: 31, MinVersion: 0, LegacyBelow: 1, MaxVersion: 3, Handle: handleDeleteAcls, Listeners: BrokerAndController, Forward: true})
}

func handleDeleteAcls(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DeleteACLsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteACLsResponse)
	answerAll := func(err error) (Response, error) {
		for range r.Filters {
			res := kmsg.NewDeleteACLsResponseResult()
			res.ErrorCode, res.ErrorMessage = ErrorCode(err), ErrorMessage(err)
			resp.Results = append(resp.Results, res)
		}
		return Reply(resp), nil
	}
	if !env.Authorize(req, kmsg.ACLOperationAlter, kmsg.ACLResourceTypeCluster, metadata.ClusterResourceName) {
		return answerAll(kerr.ClusterAuthorizationFailed)
	}
	if env.Authorizer == nil {
		return answerAll(errSecurityDisabled)
	}
	filters := make([]metadata.ACLFilter, len(r.Filters))
	for i, f := range r.Filters {
		filters[i] = aclFilter(req.Version, f.ResourceType, f.ResourceName, f.ResourcePatternType, f.Principal, f.Host,
			f.Operation, f.PermissionType)
		if req.Version < 3 && filters[i].ResourceType == metadata.ACLResourceUser {
			filters[i].ResourceType = 0 // not a resource type before v3: refused as unknown
		}
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		for _, res := range env.Controller.DeleteACLs(ctx, filters) {
			out := kmsg.NewDeleteACLsResponseResult()
			out.ErrorCode, out.ErrorMessage = ErrorCode(res.Err), ErrorMessage(res.Err)
			for _, a := range res.Matching {
				m := kmsg.NewDeleteACLsResponseResultMatchingACL()
				m.ResourceType, m.ResourceName = kmsg.ACLResourceType(a.ResourceType), a.ResourceName
				m.ResourcePatternType = kmsg.ACLResourcePatternType(a.PatternType)
				m.Principal, m.Host = a.Principal, a.Host
				m.Operation, m.PermissionType = kmsg.ACLOperation(a.Operation), kmsg.ACLPermissionType(a.Permission)
				out.MatchingACLs = append(out.MatchingACLs, m)
			}
			resp.Results = append(resp.Results, out)
		}
		return Reply(resp), nil
	}}, nil
}
