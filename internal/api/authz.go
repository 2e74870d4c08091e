package api

import (
	"errors"
	"net"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
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
	return e.Authorizer.Authorize(req.Conn.Principal, requestHost(req), op, typ, name)
}

// requestHost is the host req's principal connects from.
func requestHost(req *Request) string {
	if req.Conn.Host != "" {
		return req.Conn.Host
	}
	return connHost(req.Conn.Remote)
}

// RemoteHost is the IP of a connection's remote address as text, as ConnInfo.Host holds it
// ("" if a is not a TCP address).
func RemoteHost(a net.Addr) string { return connHost(a) }

// connHost is the IP of a connection's remote address as text ("" if unknown).
func connHost(a net.Addr) string {
	if ip := remoteIP(a); ip.IsValid() {
		return ip.String()
	}
	return ""
}

// errGroupAuthorization is a group request refused by the authorizer
// (GROUP_AUTHORIZATION_FAILED through groupErrorCode).
var errGroupAuthorization = errors.New("api: group authorization failed")

// ClusterName is the name of the cluster resource ACLs are written for (Kafka's
// CLUSTER_NAME).
const ClusterName = metadata.ClusterResourceName

// ResourceTypeAuthorizer is the optional part of an Authorizer that answers Kafka's
// Authorizer.authorizeByResourceType: whether principal may perform op on at least one
// resource of typ (an ALLOW ACL for op on some resource of typ, LITERAL or PREFIXED, that no
// DENY ACL of the same principal/host covers entirely; super users and
// allow.everyone.if.no.acl.found as for Authorize). InitProducerId of an idempotent producer
// asks it for Write on TOPIC (KIP-679). An Authorizer without it denies such checks.
type ResourceTypeAuthorizer interface {
	AuthorizeByResourceType(principal, host string, op kmsg.ACLOperation, typ kmsg.ACLResourceType) bool
}

// AuthorizeCluster is Authorize on the cluster resource.
func (e *Env) AuthorizeCluster(req *Request, op kmsg.ACLOperation) bool {
	return e.Authorize(req, op, kmsg.ACLResourceTypeCluster, ClusterName)
}

// AuthorizeByResourceType reports whether req's principal may perform op on some resource of
// typ (Kafka's authorizeByResourceType); true without an authorizer.
func (e *Env) AuthorizeByResourceType(req *Request, op kmsg.ACLOperation, typ kmsg.ACLResourceType) bool {
	if e.Authorizer == nil {
		return true
	}
	if a, ok := e.Authorizer.(ResourceTypeAuthorizer); ok {
		return a.AuthorizeByResourceType(req.Conn.Principal, requestHost(req), op, typ)
	}
	return false
}

// The operations Kafka defines on each resource type (AclEntry.supportedOperations), in the
// order authorizedOperations asks about them.
var (
	topicOps = []kmsg.ACLOperation{kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationCreate,
		kmsg.ACLOperationDescribe, kmsg.ACLOperationDelete, kmsg.ACLOperationAlter,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs}
	groupOps = []kmsg.ACLOperation{kmsg.ACLOperationRead, kmsg.ACLOperationDescribe, kmsg.ACLOperationDelete,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs}
	clusterOps = []kmsg.ACLOperation{kmsg.ACLOperationCreate, kmsg.ACLOperationClusterAction,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs, kmsg.ACLOperationIdempotentWrite,
		kmsg.ACLOperationAlter, kmsg.ACLOperationDescribe}
)

// supportedOps is the operations defined on typ.
func supportedOps(typ kmsg.ACLResourceType) []kmsg.ACLOperation {
	switch typ {
	case kmsg.ACLResourceTypeTopic:
		return topicOps
	case kmsg.ACLResourceTypeGroup:
		return groupOps
	case kmsg.ACLResourceTypeCluster:
		return clusterOps
	}
	return nil
}

// authorizedOperations is the bit field (bit n set: operation code n allowed) of the
// operations req's principal may perform on typ/name, among those defined on typ: the
// *AuthorizedOperations fields of Metadata, DescribeGroups, DescribeCluster,
// ConsumerGroupDescribe and DescribeTopicPartitions (Kafka's AuthHelper.authorizedOperations).
func (e *Env) authorizedOperations(req *Request, typ kmsg.ACLResourceType, name string) int32 {
	var bits int32
	for _, op := range supportedOps(typ) {
		if e.Authorize(req, op, typ, name) {
			bits |= 1 << op
		}
	}
	return bits
}

// authorizedTopics caches one decision per topic name for a request that names a topic
// many times (Produce, Fetch: once per topic, not per partition or batch). Without an
// authorizer it allocates nothing and allows everything; with one, a request of up to
// len(small) topics allocates nothing either.
type authorizedTopics struct {
	env   *Env
	req   *Request
	op    kmsg.ACLOperation
	small [4]topicDecision
	n     int
	more  map[string]bool // past len(small) topics
}

type topicDecision struct {
	topic   string
	allowed bool
}

func (e *Env) topicAuthorizer(req *Request, op kmsg.ACLOperation) authorizedTopics {
	return authorizedTopics{env: e, req: req, op: op}
}

// allowed reports whether the request may perform the operation on topic.
func (a *authorizedTopics) allowed(topic string) bool {
	if a.env.Authorizer == nil {
		return true
	}
	for i := range a.small[:a.n] {
		if a.small[i].topic == topic {
			return a.small[i].allowed
		}
	}
	if ok, found := a.more[topic]; found {
		return ok
	}
	ok := a.env.Authorize(a.req, a.op, kmsg.ACLResourceTypeTopic, topic)
	if a.n < len(a.small) {
		a.small[a.n] = topicDecision{topic, ok}
		a.n++
		return ok
	}
	if a.more == nil {
		a.more = make(map[string]bool)
	}
	a.more[topic] = ok
	return ok
}

// Short names for the operations and resource types the handlers check.
const (
	opRead            = kmsg.ACLOperationRead
	opWrite           = kmsg.ACLOperationWrite
	opCreate          = kmsg.ACLOperationCreate
	opDelete          = kmsg.ACLOperationDelete
	opAlter           = kmsg.ACLOperationAlter
	opDescribe        = kmsg.ACLOperationDescribe
	opClusterAction   = kmsg.ACLOperationClusterAction
	opDescribeConfigs = kmsg.ACLOperationDescribeConfigs
	opAlterConfigs    = kmsg.ACLOperationAlterConfigs
	opIdempotentWrite = kmsg.ACLOperationIdempotentWrite

	resTopic         = kmsg.ACLResourceTypeTopic
	resGroup         = kmsg.ACLResourceTypeGroup
	resCluster       = kmsg.ACLResourceTypeCluster
	resTransactionID = kmsg.ACLResourceTypeTransactionalId
)

// configResourceAuthorized reports whether req may perform op (DescribeConfigs or
// AlterConfigs) on a config resource, and the error code when not: the cluster for brokers,
// broker loggers and client metrics (CLUSTER_AUTHORIZATION_FAILED), the topic
// (TOPIC_AUTHORIZATION_FAILED) or the group (GROUP_AUTHORIZATION_FAILED). Other types are
// left to the handler (0).
func (e *Env) configResourceAuthorized(req *Request, op kmsg.ACLOperation, typ kmsg.ConfigResourceType, name string) *kerr.Error {
	switch typ {
	case kmsg.ConfigResourceTypeBroker, kmsg.ConfigResourceTypeBrokerLogger, kmsg.ConfigResourceTypeClientMetrics:
		if !e.AuthorizeCluster(req, op) {
			return kerr.ClusterAuthorizationFailed
		}
	case kmsg.ConfigResourceTypeTopic:
		if !e.Authorize(req, op, resTopic, name) {
			return kerr.TopicAuthorizationFailed
		}
	case kmsg.ConfigResourceTypeGroupConfig:
		if !e.Authorize(req, op, resGroup, name) {
			return kerr.GroupAuthorizationFailed
		}
	}
	return nil
}

// authorizationError is the error a refused resource is answered with, carrying Kafka's
// default message for the code.
func authorizationError(code *kerr.Error) error {
	msg := map[int16]string{
		kerr.TopicAuthorizationFailed.Code:           "Topic authorization failed.",
		kerr.GroupAuthorizationFailed.Code:           "Group authorization failed.",
		kerr.ClusterAuthorizationFailed.Code:         "Cluster authorization failed.",
		kerr.TransactionalIDAuthorizationFailed.Code: "Transactional Id authorization failed.",
	}[code.Code]
	return requestErrorf(code, "%s", msg)
}
