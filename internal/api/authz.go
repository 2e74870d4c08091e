package api

import (
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Authorizer decides whether a principal may perform an operation on a resource: Kafka's
// authorizer (authorizer.class.name), fed by the ACLs in the metadata Image. Authorize is on
// the request path: it must not block and should not allocate per call.
type Authorizer interface {
	// Authorize reports whether principal ("User:alice"; "" is User:ANONYMOUS), connecting
	// from host (an IP literal), may perform op on the resource typ/name. Implementations
	// apply Kafka's rules: super.users, DENY before ALLOW, LITERAL and PREFIXED patterns,
	// the implied operations, allow.everyone.if.no.acl.found.
	Authorize(principal, host string, op kmsg.ACLOperation, typ kmsg.ACLResourceType, name string) bool
}

// Authorize reports whether req's principal may perform op on typ/name; true when no
// authorizer is configured (authorizer.class.name unset: everything is allowed, as Kafka).
func (e *Env) Authorize(req *Request, op kmsg.ACLOperation, typ kmsg.ACLResourceType, name string) bool {
	if e.Authorizer == nil {
		return true
	}
	return e.Authorizer.Authorize(req.Conn.Principal, connHost(req.Conn.Remote), op, typ, name)
}

// connHost is the IP of a connection's remote address as text ("" if unknown).
func connHost(a net.Addr) string {
	if ip := remoteIP(a); ip.IsValid() {
		return ip.String()
	}
	return ""
}
