package api

import (
	"context"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// DescribeClientQuotas: v0–1
//
// Behavior:
//   - Answered from this broker's metadata Image (as Kafka's brokers answer from their
//     metadata cache), not forwarded to the controller.
//   - Each filter component names an entity type (user, client-id, ip) and a match:
//     EXACT (0) a name, DEFAULT (1) the type's default entity, SPECIFIED (2) any entity
//     having the type. Every component must match; with strict, entities having other
//     types too are left out.
//   - An empty type, a type given twice, a match string with DEFAULT or SPECIFIED, a null
//     one with EXACT, or ip combined with user or client-id: INVALID_REQUEST; an unknown
//     entity type or match type: UNSUPPORTED_VERSION (Kafka's codes), with a message and
//     null entries.
//   - Needs DESCRIBE_CONFIGS on the cluster (CLUSTER_AUTHORIZATION_FAILED).
//
// Version notes:
//   - v1: flexible.

func init() {
	Register(API{Key: 48, MinVersion: 0, MaxVersion: 1, Handle: handleDescribeClientQuotas})
}

// clusterResourceName is the name of Kafka's one CLUSTER resource.
const clusterResourceName = "kafka-cluster"

// quotaFilter is a validated DescribeClientQuotas filter.
type quotaFilter struct {
	exact     map[string]metadata.QuotaName // type → name (or default)
	specified map[string]bool
	strict    bool
}

func handleDescribeClientQuotas(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DescribeClientQuotasRequest)
	resp := r.ResponseKind().(*kmsg.DescribeClientQuotasResponse)
	if !env.Authorize(req, kmsg.ACLOperationDescribeConfigs, kmsg.ACLResourceTypeCluster, clusterResourceName) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return Reply(resp), nil
	}
	f, err := newQuotaFilter(r)
	if err != nil {
		resp.ErrorCode, resp.ErrorMessage = ErrorCode(err), ErrorMessage(err)
		return Reply(resp), nil
	}
	q := env.Metadata.Image().ClientQuotas()
	resp.Entries = []kmsg.DescribeClientQuotasResponseEntry{}
	for _, e := range q.Entities() {
		if !f.matches(e) {
			continue
		}
		entry := kmsg.NewDescribeClientQuotasResponseEntry()
		for _, p := range e.Parts() {
			ent := kmsg.NewDescribeClientQuotasResponseEntryEntity()
			ent.Type = p.Type
			if !p.Default {
				ent.Name = kmsg.StringPtr(p.Name)
			}
			entry.Entity = append(entry.Entity, ent)
		}
		values := q.Get(e)
		for _, k := range slices.Sorted(maps.Keys(values)) {
			v := kmsg.NewDescribeClientQuotasResponseEntryValue()
			v.Key, v.Value = k, values[k]
			entry.Values = append(entry.Values, v)
		}
		resp.Entries = append(resp.Entries, entry)
	}
	return Reply(resp), nil
}

// Kafka's DescribeClientQuotas match types.
const (
	quotaMatchExact     = 0
	quotaMatchDefault   = 1
	quotaMatchSpecified = 2
)

func newQuotaFilter(r *kmsg.DescribeClientQuotasRequest) (*quotaFilter, error) {
	f := &quotaFilter{exact: map[string]metadata.QuotaName{}, specified: map[string]bool{}, strict: r.Strict}
	for _, c := range r.Components {
		_, dupExact := f.exact[c.EntityType]
		switch {
		case c.EntityType == "":
			return nil, requestErrorf(kerr.InvalidRequest, "invalid empty entity type")
		case dupExact || f.specified[c.EntityType]:
			return nil, requestErrorf(kerr.InvalidRequest, "entity type %s cannot appear more than once in the filter", c.EntityType)
		case c.EntityType != metadata.QuotaEntityUser && c.EntityType != metadata.QuotaEntityClientID && c.EntityType != metadata.QuotaEntityIP:
			return nil, requestErrorf(kerr.UnsupportedVersion, "unsupported entity type %s", c.EntityType)
		}
		switch c.MatchType {
		case quotaMatchExact:
			if c.Match == nil {
				return nil, requestErrorf(kerr.InvalidRequest, "request specified MATCH_TYPE_EXACT, but set match string to null")
			}
			f.exact[c.EntityType] = metadata.QuotaName{Name: *c.Match}
		case quotaMatchDefault:
			if c.Match != nil {
				return nil, requestErrorf(kerr.InvalidRequest, "request specified MATCH_TYPE_DEFAULT, but also specified a match string")
			}
			f.exact[c.EntityType] = metadata.QuotaName{Default: true}
		case quotaMatchSpecified:
			if c.Match != nil {
				return nil, requestErrorf(kerr.InvalidRequest, "request specified MATCH_TYPE_SPECIFIED, but also specified a match string")
			}
			f.specified[c.EntityType] = true
		default:
			return nil, requestErrorf(kerr.UnsupportedVersion, "unsupported match type %d", c.MatchType)
		}
	}
	has := func(typ string) bool { _, ok := f.exact[typ]; return ok || f.specified[typ] }
	if has(metadata.QuotaEntityIP) && (has(metadata.QuotaEntityUser) || has(metadata.QuotaEntityClientID)) {
		return nil, requestErrorf(kerr.InvalidRequest, "invalid entity filter component combination: an ip component cannot be used with user or client-id components")
	}
	return f, nil
}

// matches applies Kafka's rule: every exact component names the entity's name of that type,
// every specified type is present, and with strict the entity has no other type.
func (f *quotaFilter) matches(e metadata.ClientQuotaEntity) bool {
	parts := e.Parts()
	if f.strict && len(parts) != len(f.exact)+len(f.specified) {
		return false
	}
	names := make(map[string]metadata.QuotaName, len(parts))
	for _, p := range parts {
		names[p.Type] = metadata.QuotaName{Name: p.Name, Default: p.Default}
	}
	for typ, want := range f.exact {
		if got, ok := names[typ]; !ok || got != want {
			return false
		}
	}
	for typ := range f.specified {
		if _, ok := names[typ]; !ok {
			return false
		}
	}
	return true
}
