package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// IncrementalAlterConfigs: v0–1
//
// Behavior:
//   - Applies operations to each resource's dynamic configs: SET (0) a value,
//     DELETE (1) an override (back to the inherited value), APPEND (2) and
//     SUBTRACT (3) comma-separated values to and from a list config (starting
//     from its current value or, if unset, its default).
//   - TOPIC and BROKER resources as in AlterConfigs: the topic must exist,
//     broker "" is the cluster-wide default, read-only broker configs are
//     refused (INVALID_CONFIG). The result of the operations is validated
//     with the config table; names and values are named in the message.
//   - An unknown operation, a key given twice, or a resource named twice
//     gets INVALID_REQUEST; APPEND/SUBTRACT on a non-list config, or SET with
//     a null value, INVALID_CONFIG / INVALID_REQUEST. Resources are
//     independent otherwise.
//   - Only the active controller commits; other nodes forward the request to
//     it (Envelope, KIP-590; NOT_CONTROLLER when none is reachable); the response
//     is written once the change is in the controller's metadata. ValidateOnly
//     validates only.
//
//   - Authorization (on the controller, as the forwarded principal): AlterConfigs on the
//     cluster for broker and broker-logger resources (else CLUSTER_AUTHORIZATION_FAILED), on
//     the topic (else TOPIC_AUTHORIZATION_FAILED) or the group (else GROUP_AUTHORIZATION_FAILED).
//
// Version notes:
//   - v1: flexible.

func init() {
	Register(API{Key: 44, MinVersion: 0, MaxVersion: 1, Handle: handleIncrementalAlterConfigs, Listeners: BrokerAndController, Forward: true})
}

func handleIncrementalAlterConfigs(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.IncrementalAlterConfigsRequest)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		errs := make([]error, len(r.Resources))
		var reqs []metadata.IncrementalAlterConfigs
		var index []int
		for i, res := range r.Resources {
			changes, err := incrementalInput(res)
			if code := env.configResourceAuthorized(req, opAlterConfigs, res.ResourceType, res.ResourceName); err == nil && code != nil {
				err = authorizationError(code)
			}
			if err != nil {
				errs[i] = err
				continue
			}
			reqs = append(reqs, metadata.IncrementalAlterConfigs{
				Resource: metadata.ConfigResource{Type: metadata.ConfigResourceType(res.ResourceType), Name: res.ResourceName},
				Changes:  changes,
			})
			index = append(index, i)
		}
		if len(reqs) > 0 {
			for j, res := range env.Controller.IncrementalAlterConfigs(ctx, reqs, r.ValidateOnly) {
				errs[index[j]] = res.Err
			}
		}
		resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
		for i, res := range r.Resources {
			out := kmsg.NewIncrementalAlterConfigsResponseResource()
			out.ResourceType, out.ResourceName = res.ResourceType, res.ResourceName
			out.ErrorCode, out.ErrorMessage = ErrorCode(errs[i]), ErrorMessage(errs[i])
			resp.Resources = append(resp.Resources, out)
		}
		return Reply(resp), nil
	}}, nil
}

func incrementalInput(res kmsg.IncrementalAlterConfigsRequestResource) ([]metadata.ConfigChange, error) {
	changes := make([]metadata.ConfigChange, 0, len(res.Configs))
	for _, c := range res.Configs {
		ch := metadata.ConfigChange{Name: c.Name, Op: metadata.ConfigOp(c.Op)}
		switch {
		case c.Value != nil:
			ch.Value = *c.Value
		case ch.Op == metadata.OpSet || ch.Op == metadata.OpAppend || ch.Op == metadata.OpSubtract:
			return nil, requestErrorf(kerr.InvalidRequest, "null value for config %s with operation %s", c.Name, c.Op)
		}
		changes = append(changes, ch)
	}
	return changes, nil
}
