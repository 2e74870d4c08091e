package acl

import (
	"context"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// AuthorizeByResourceType reports whether principal, connecting from host, may perform op on
// at least one resource of typ: Kafka's Authorizer.authorizeByResourceType, which
// InitProducerId asks for WRITE on TOPIC when an idempotent producer lacks IDEMPOTENT_WRITE on
// the cluster (KIP-679). Kafka's rules: a check against a made-up resource name first (super
// users pass, and allow.everyone.if.no.acl.found with no ACL on it); then, among the ACLs of
// typ that match the principal (or User:*), the host (or *) and op (or ALL): a DENY on the
// literal "*" refuses; an ALLOW on the literal "*" allows; otherwise some other ALLOW must
// remain that no DENY dominates (a literal DENY of the same name, a PREFIXED DENY that is a
// prefix of it). Implied operations do not count here, as in Kafka. It allocates (it is
// asked once per producer, not per request).
func (a *Authorizer) AuthorizeByResourceType(principal, host string, op kmsg.ACLOperation, typ kmsg.ACLResourceType) bool {
	if principal == "" {
		principal = "User:ANONYMOUS"
	}
	allowed, reason := a.decide(principal, host, int8(op), int8(typ), "hardcode")
	if !allowed && reason != reasonNotLoaded {
		allowed, reason = a.anyResourceAllowed(principal, host, int8(op), int8(typ))
	}
	if allowed {
		a.allowed.Inc()
	} else {
		a.denied.Inc()
	}
	if a.logger.Enabled(context.Background(), slog.LevelDebug) {
		a.logger.Debug("authorization by resource type", "principal", principal, "host", host, "operation", op.String(),
			"resource_type", typ.String(), "allowed", allowed, "reason", reason)
	}
	return allowed
}

func (a *Authorizer) anyResourceAllowed(principal, host string, op, typ int8) (bool, string) {
	ix := a.idx.Load()
	if typ < 0 || int(typ) >= len(ix.byType) {
		return false, reasonNoMatch
	}
	t := &ix.byType[typ]
	applies := func(e *entry) bool {
		return (e.principal == principal || e.principal == metadata.WildcardPrincipal) &&
			(e.host == metadata.WildcardHost || e.host == host) &&
			(e.operation == op || e.operation == metadata.ACLOperationAll)
	}
	deniedLiteral, deniedPrefix := map[string]bool{}, map[string]bool{}
	var allowLiteral, allowPrefix []string
	wildcardAllow := false
	for name, entries := range t.literal {
		for i := range entries {
			e := &entries[i]
			switch {
			case !applies(e):
			case e.permission == metadata.ACLPermissionDeny && name == metadata.WildcardResource:
				return false, reasonDeny
			case e.permission == metadata.ACLPermissionDeny:
				deniedLiteral[name] = true
			case name == metadata.WildcardResource:
				wildcardAllow = true
			default:
				allowLiteral = append(allowLiteral, name)
			}
		}
	}
	for prefix, entries := range t.prefixed {
		for i := range entries {
			e := &entries[i]
			switch {
			case !applies(e):
			case e.permission == metadata.ACLPermissionDeny:
				deniedPrefix[prefix] = true
			default:
				allowPrefix = append(allowPrefix, prefix)
			}
		}
	}
	if wildcardAllow {
		return true, reasonAllow
	}
	dominated := func(name string) bool {
		for n := 1; n <= len(name); n++ {
			if deniedPrefix[name[:n]] {
				return true
			}
		}
		return false
	}
	for _, name := range allowLiteral {
		if !deniedLiteral[name] && !dominated(name) {
			return true, reasonAllow
		}
	}
	for _, prefix := range allowPrefix {
		if !dominated(prefix) {
			return true, reasonAllow
		}
	}
	return false, reasonNoMatch
}
