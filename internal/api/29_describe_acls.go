package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// DescribeAcls: v0–3 (v0 is legacy: Kafka 4 removed it, KIP-896; API.LegacyBelow)
//
// Behavior:
//   - Answered by any broker from its metadata Image, as Kafka's broker answers from its
//     authorizer: the ACLs the filter selects (AclBindingFilter semantics: ANY matches every
//     value, a null name/principal/host every one, pattern type MATCH the ACLs that apply to
//     the named resource: literal, the '*' wildcard and matching prefixes), grouped by
//     resource pattern, ordered by resource type, name and pattern type.
//   - SECURITY_DISABLED when no authorizer is configured (authorizer.class.name), as Kafka.
//   - A filter with an UNKNOWN (or unknown-numbered) value: INVALID_REQUEST.
//   - DESCRIBE on the cluster is required (CLUSTER_AUTHORIZATION_FAILED).
//
// Version notes:
//   - v0: no pattern type: the filter is LITERAL. v1: pattern types (KIP-290).
//   - v2: flexible. v3: adds the USER resource type (KIP-554's ACLs on users).

func init() {
	Register(API{Key: 29, MinVersion: 0, LegacyBelow: 1, MaxVersion: 3, Handle: handleDescribeAcls, Listeners: BrokerAndController})
}

func handleDescribeAcls(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DescribeACLsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeACLsResponse)
	fail := func(err error) (Response, error) {
		resp.ErrorCode, resp.ErrorMessage = ErrorCode(err), ErrorMessage(err)
		return Reply(resp), nil
	}
	if !env.Authorize(req, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeCluster, metadata.ClusterResourceName) {
		return fail(kerr.ClusterAuthorizationFailed)
	}
	if env.Authorizer == nil {
		return fail(errSecurityDisabled)
	}
	f := aclFilter(req.Version, r.ResourceType, r.ResourceName, r.ResourcePatternType, r.Principal, r.Host, r.Operation, r.PermissionType)
	if err := f.Validate(); err != nil {
		return fail(err)
	}
	if req.Version < 3 && f.ResourceType == metadata.ACLResourceUser {
		return fail(requestErrorf(kerr.InvalidRequest, "the USER resource type needs DescribeAcls v3"))
	}
	var cur *kmsg.DescribeACLsResponseResource
	for _, a := range env.Metadata.Image().ACLs() {
		if !f.Matches(a) || req.Version < 3 && a.ResourceType == metadata.ACLResourceUser {
			continue
		}
		if req.Version == 0 && a.PatternType != metadata.ACLPatternLiteral {
			continue
		}
		if cur == nil || int8(cur.ResourceType) != a.ResourceType || cur.ResourceName != a.ResourceName ||
			int8(cur.ResourcePatternType) != a.PatternType {
			res := kmsg.NewDescribeACLsResponseResource()
			res.ResourceType, res.ResourceName = kmsg.ACLResourceType(a.ResourceType), a.ResourceName
			res.ResourcePatternType = kmsg.ACLResourcePatternType(a.PatternType)
			resp.Resources = append(resp.Resources, res)
			cur = &resp.Resources[len(resp.Resources)-1]
		}
		e := kmsg.NewDescribeACLsResponseResourceACL()
		e.Principal, e.Host = a.Principal, a.Host
		e.Operation, e.PermissionType = kmsg.ACLOperation(a.Operation), kmsg.ACLPermissionType(a.Permission)
		cur.ACLs = append(cur.ACLs, e)
	}
	return Reply(resp), nil
}
