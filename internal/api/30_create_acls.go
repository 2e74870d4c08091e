package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// CreateAcls: v0–3 (v0 is legacy: Kafka 4 removed it, KIP-896; API.LegacyBelow)
//
// Behavior:
//   - Each creation is validated on its own (Kafka's AclControlManager and broker checks):
//     LITERAL or PREFIXED pattern (ANY and MATCH are for filters), a known resource type,
//     operation and permission (not UNKNOWN or ANY), a non-empty resource name,
//     "kafka-cluster" for the CLUSTER resource, a "Type:Name" principal, a non-empty host;
//     otherwise INVALID_REQUEST for that creation.
//   - Creating an ACL that exists succeeds and changes nothing. The new ACLs of the request
//     are committed together, each with a fresh id.
//   - Only the active controller commits ACLs: other nodes forward the request (Envelope,
//     KIP-590). SECURITY_DISABLED when no authorizer is configured, as Kafka.
//   - ALTER on the cluster is required (CLUSTER_AUTHORIZATION_FAILED for every creation).
//
// Version notes:
//   - v0: no pattern type (LITERAL). v1: pattern types. v2: flexible. v3: the USER resource.

func init() {
	Register(API{Key: 30, MinVersion: 0, LegacyBelow: 1, MaxVersion: 3, Handle: handleCreateAcls, Listeners: BrokerAndController, Forward: true})
}

func handleCreateAcls(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.CreateACLsRequest)
	resp := r.ResponseKind().(*kmsg.CreateACLsResponse)
	answerAll := func(err error) (Response, error) {
		for range r.Creations {
			res := kmsg.NewCreateACLsResponseResult()
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
	bindings := make([]metadata.ACLBinding, len(r.Creations))
	for i, c := range r.Creations {
		bindings[i] = metadata.ACLBinding{ResourceType: int8(c.ResourceType), ResourceName: c.ResourceName,
			PatternType: aclPatternType(req.Version, c.ResourcePatternType), Principal: c.Principal, Host: c.Host,
			Operation: int8(c.Operation), Permission: int8(c.PermissionType)}
		if req.Version < 3 && bindings[i].ResourceType == metadata.ACLResourceUser {
			bindings[i].ResourceType = 0 // not a resource type before v3: refused as unknown
		}
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		for _, err := range env.Controller.CreateACLs(ctx, bindings) {
			res := kmsg.NewCreateACLsResponseResult()
			res.ErrorCode, res.ErrorMessage = ErrorCode(err), ErrorMessage(err)
			resp.Results = append(resp.Results, res)
		}
		return Reply(resp), nil
	}}, nil
}
