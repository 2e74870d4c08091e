package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// AlterClientQuotas: v0–1
//
// Behavior:
//   - Sets or removes quota values of client quota entities (KIP-546): user, client-id,
//     both, or ip, a null name meaning the type's default entity. Keys are Kafka's:
//     producer_byte_rate, consumer_byte_rate (integral), request_percentage,
//     controller_mutation_rate for user/client-id entities; connection_creation_rate
//     (integral) for ip entities.
//   - Per entity: an unknown key, a key given twice, a value that is not positive or is
//     fractional for an integral key, an empty name, an entity type given twice, ip combined
//     with user or client-id, an IP that does not parse, or an entity given twice in the
//     request, or an unknown entity type: INVALID_REQUEST (Kafka's codes and, mostly, its
//     messages). Entities are independent: the valid ones are committed together. An entity
//     named twice fails both times and commits nothing (Kafka commits the first occurrence
//     and reports the error for both).
//   - Only the active controller commits; other nodes forward the request (Envelope,
//     KIP-590). validate_only validates only.
//   - Needs ALTER_CONFIGS on the cluster (CLUSTER_AUTHORIZATION_FAILED for every entity).
//   - Sluice accepts IP literals only where Kafka also accepts host names it can resolve:
//     application of metadata must not depend on DNS.
//
// Version notes:
//   - v1: flexible.

func init() {
	Register(API{Key: 49, MinVersion: 0, MaxVersion: 1, Handle: handleAlterClientQuotas, Listeners: BrokerAndController, Forward: true})
}

func handleAlterClientQuotas(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.AlterClientQuotasRequest)
	authorized := env.Authorize(req, kmsg.ACLOperationAlterConfigs, kmsg.ACLResourceTypeCluster, clusterResourceName)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		errs := make([]error, len(r.Entries))
		if !authorized {
			for i := range errs {
				errs[i] = kerr.ClusterAuthorizationFailed
			}
		} else if len(r.Entries) > 0 {
			alts := make([]metadata.QuotaAlteration, len(r.Entries))
			for i, e := range r.Entries {
				for _, p := range e.Entity {
					part := metadata.QuotaEntityPart{Type: p.Type, Default: p.Name == nil}
					if p.Name != nil {
						part.Name = *p.Name
					}
					alts[i].Entity = append(alts[i].Entity, part)
				}
				for _, op := range e.Ops {
					alts[i].Ops = append(alts[i].Ops, metadata.QuotaOp{Key: op.Key, Value: op.Value, Remove: op.Remove})
				}
			}
			errs = env.Controller.AlterClientQuotas(ctx, alts, r.ValidateOnly)
		}
		resp := r.ResponseKind().(*kmsg.AlterClientQuotasResponse)
		for i, e := range r.Entries {
			out := kmsg.NewAlterClientQuotasResponseEntry()
			for _, p := range e.Entity {
				ent := kmsg.NewAlterClientQuotasResponseEntryEntity()
				ent.Type, ent.Name = p.Type, p.Name
				out.Entity = append(out.Entity, ent)
			}
			out.ErrorCode, out.ErrorMessage = ErrorCode(errs[i]), ErrorMessage(errs[i])
			resp.Entries = append(resp.Entries, out)
		}
		return Reply(resp), nil
	}}, nil
}
