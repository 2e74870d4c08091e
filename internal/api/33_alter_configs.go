package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// AlterConfigs: v0–2
//
// Behavior:
//   - Replaces every dynamic config of each resource with the ones given:
//     keys left out are deleted (use IncrementalAlterConfigs to change some).
//   - TOPIC: the topic must exist (UNKNOWN_TOPIC_OR_PARTITION); names and
//     values are checked against the config table (INVALID_CONFIG naming the
//     key and value). BROKER: "" sets cluster-wide defaults, an id sets that
//     broker's; only configs that may change at run time are accepted
//     (INVALID_CONFIG for read-only ones); a name that is not a broker id gets
//     INVALID_REQUEST. Other resource types: INVALID_REQUEST.
//   - A null value, or a key given twice, fails that resource (INVALID_CONFIG,
//     INVALID_REQUEST); a resource named twice fails both (INVALID_REQUEST).
//     Resources are independent otherwise.
//   - Only the active controller commits configs; other nodes forward the
//     request to it (Envelope, KIP-590; NOT_CONTROLLER only when none can be
//     reached); the response is written once they are in the controller's metadata.
//     ValidateOnly validates only.
//
//   - Authorization (on the controller, as the forwarded principal): AlterConfigs on the
//     cluster for broker resources (else CLUSTER_AUTHORIZATION_FAILED), on the topic (else
//     TOPIC_AUTHORIZATION_FAILED) or the group (else GROUP_AUTHORIZATION_FAILED).
//
// Version notes:
//   - v1: same as v0. v2: flexible.

func init() {
	Register(API{Key: 33, MinVersion: 0, MaxVersion: 2, Handle: handleAlterConfigs, Listeners: BrokerAndController, Forward: true})
}

func handleAlterConfigs(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.AlterConfigsRequest)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		errs := make([]error, len(r.Resources))
		var reqs []metadata.AlterConfigs
		var index []int
		for i, res := range r.Resources {
			configs, err := alterConfigsInput(res)
			if code := env.configResourceAuthorized(req, opAlterConfigs, res.ResourceType, res.ResourceName); err == nil && code != nil {
				err = authorizationError(code)
			}
			if err != nil {
				errs[i] = err
				continue
			}
			reqs = append(reqs, metadata.AlterConfigs{
				Resource: metadata.ConfigResource{Type: metadata.ConfigResourceType(res.ResourceType), Name: res.ResourceName},
				Configs:  configs,
			})
			index = append(index, i)
		}
		if len(reqs) > 0 {
			for j, res := range env.Controller.AlterConfigs(ctx, reqs, r.ValidateOnly) {
				errs[index[j]] = res.Err
			}
		}
		resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
		for i, res := range r.Resources {
			out := kmsg.NewAlterConfigsResponseResource()
			out.ResourceType, out.ResourceName = res.ResourceType, res.ResourceName
			out.ErrorCode, out.ErrorMessage = ErrorCode(errs[i]), ErrorMessage(errs[i])
			resp.Resources = append(resp.Resources, out)
		}
		return Reply(resp), nil
	}}, nil
}

func alterConfigsInput(res kmsg.AlterConfigsRequestResource) (map[string]string, error) {
	configs := make(map[string]string, len(res.Configs))
	for _, c := range res.Configs {
		if c.Value == nil {
			return nil, requestErrorf(kerr.InvalidConfig, "null value for config %s; leave the key out to delete it", c.Name)
		}
		if _, dup := configs[c.Name]; dup {
			return nil, requestErrorf(kerr.InvalidRequest, "config %s is given more than once", c.Name)
		}
		configs[c.Name] = *c.Value
	}
	return configs, nil
}
