package metadata

import (
	"bytes"
	"fmt"
	"strings"
)

// The security records (issue #14): SCRAM credentials and ACLs, Kafka's
// UserScramCredentialRecord, RemoveUserScramCredentialRecord, AccessControlEntryRecord and
// RemoveAccessControlEntryRecord. Their encoding is in docs/format/metadata-records.md.

const (
	TypeUserScramCredential       RecordType = 11
	TypeRemoveUserScramCredential RecordType = 12
	TypeAccessControlEntry        RecordType = 13
	TypeRemoveAccessControlEntry  RecordType = 14
)

// SCRAM mechanisms, Kafka's numbering (ScramMechanism.type()).
const (
	ScramSHA256 int8 = 1
	ScramSHA512 int8 = 2
)

// ScramMechanismName returns Kafka's name of a mechanism ("SCRAM-SHA-256"), or "" when unknown.
func ScramMechanismName(m int8) string {
	switch m {
	case ScramSHA256:
		return "SCRAM-SHA-256"
	case ScramSHA512:
		return "SCRAM-SHA-512"
	}
	return ""
}

// UserScramCredentialRecord sets (adds or replaces) one user's credential for one mechanism
// (RFC 5802: the server stores the salt, StoredKey = H(HMAC(SaltedPassword, "Client Key")),
// ServerKey = HMAC(SaltedPassword, "Server Key") and the iteration count, never the password).
type UserScramCredentialRecord struct {
	Name       string
	Mechanism  int8 // ScramSHA256 or ScramSHA512
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
	Iterations int32
}

// RemoveUserScramCredentialRecord deletes one user's credential for one mechanism.
type RemoveUserScramCredentialRecord struct {
	Name      string
	Mechanism int8
}

// ACLID identifies an ACL (a random UUID chosen by the controller), as Kafka's
// AccessControlEntryRecord.id.
type ACLID [16]byte

// String is the id in the text form of topic ids.
func (id ACLID) String() string { return TopicID(id).String() }

// ACL values, Kafka's numbering (kmsg.ACLResourceType, ACLResourcePatternType, ACLOperation,
// ACLPermissionType). Records hold only concrete values: never UNKNOWN, ANY or MATCH.
const (
	ACLResourceTopic           int8 = 2
	ACLResourceGroup           int8 = 3
	ACLResourceCluster         int8 = 4
	ACLResourceTransactionalID int8 = 5
	ACLResourceDelegationToken int8 = 6
	ACLResourceUser            int8 = 7

	ACLPatternLiteral  int8 = 3
	ACLPatternPrefixed int8 = 4

	ACLOperationAll             int8 = 2
	ACLOperationIdempotentWrite int8 = 12
	ACLOperationDescribeTokens  int8 = 14 // the highest operation Kafka knows

	ACLPermissionDeny  int8 = 2
	ACLPermissionAllow int8 = 3
)

// AccessControlEntryRecord adds one ACL.
type AccessControlEntryRecord struct {
	ID           ACLID
	ResourceType int8
	ResourceName string
	PatternType  int8
	Principal    string // "User:alice", "User:*"
	Host         string // an IP literal or "*"
	Operation    int8
	Permission   int8
}

// RemoveAccessControlEntryRecord deletes one ACL by id.
type RemoveAccessControlEntryRecord struct {
	ID ACLID
}

func (*UserScramCredentialRecord) Type() RecordType       { return TypeUserScramCredential }
func (*RemoveUserScramCredentialRecord) Type() RecordType { return TypeRemoveUserScramCredential }
func (*AccessControlEntryRecord) Type() RecordType        { return TypeAccessControlEntry }
func (*RemoveAccessControlEntryRecord) Type() RecordType  { return TypeRemoveAccessControlEntry }

// securityRecordName names the security record types for RecordType.String.
func securityRecordName(t RecordType) string {
	switch t {
	case TypeUserScramCredential:
		return "UserScramCredential"
	case TypeRemoveUserScramCredential:
		return "RemoveUserScramCredential"
	case TypeAccessControlEntry:
		return "AccessControlEntry"
	case TypeRemoveAccessControlEntry:
		return "RemoveAccessControlEntry"
	}
	return ""
}

// decodeSecurityRecord decodes the body of a security record; nil for another type.
func decodeSecurityRecord(typ RecordType, d *decoder) Record {
	switch typ {
	case TypeUserScramCredential:
		return &UserScramCredentialRecord{Name: d.str(), Mechanism: d.int8(), Salt: d.blob(),
			StoredKey: d.blob(), ServerKey: d.blob(), Iterations: d.int32()}
	case TypeRemoveUserScramCredential:
		return &RemoveUserScramCredentialRecord{Name: d.str(), Mechanism: d.int8()}
	case TypeAccessControlEntry:
		return &AccessControlEntryRecord{ID: d.uuid(), ResourceType: d.int8(), ResourceName: d.str(),
			PatternType: d.int8(), Principal: d.str(), Host: d.str(), Operation: d.int8(), Permission: d.int8()}
	case TypeRemoveAccessControlEntry:
		return &RemoveAccessControlEntryRecord{ID: d.uuid()}
	}
	return nil
}

// blob reads a length-prefixed byte string; empty decodes as nil, so that re-encoding is
// stable and round trips compare equal.
func (d *decoder) blob() []byte {
	b := d.bytes(d.count(1))
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}

func (e *encoder) blob(b []byte) { e.uvarint(uint64(len(b))); e.buf = append(e.buf, b...) }

func (r *UserScramCredentialRecord) encode(e *encoder) {
	e.str(r.Name)
	e.varint(int64(r.Mechanism))
	e.blob(r.Salt)
	e.blob(r.StoredKey)
	e.blob(r.ServerKey)
	e.varint(int64(r.Iterations))
}

func (r *RemoveUserScramCredentialRecord) encode(e *encoder) {
	e.str(r.Name)
	e.varint(int64(r.Mechanism))
}

func (r *AccessControlEntryRecord) encode(e *encoder) {
	e.uuid(r.ID)
	e.varint(int64(r.ResourceType))
	e.str(r.ResourceName)
	e.varint(int64(r.PatternType))
	e.str(r.Principal)
	e.str(r.Host)
	e.varint(int64(r.Operation))
	e.varint(int64(r.Permission))
}

func (r *RemoveAccessControlEntryRecord) encode(e *encoder) { e.uuid(r.ID) }

// checkACL enforces what every stored ACL satisfies: concrete (not UNKNOWN, ANY or MATCH)
// values, a non-empty resource name (kafka-cluster for the cluster), a "Type:Name" principal
// and a non-empty host.
func checkACL(r *AccessControlEntryRecord) error {
	switch {
	case r.ID == ACLID{}:
		return fmt.Errorf("zero id")
	case r.ResourceType < ACLResourceTopic || r.ResourceType > ACLResourceUser:
		return fmt.Errorf("resource type %d", r.ResourceType)
	case r.PatternType != ACLPatternLiteral && r.PatternType != ACLPatternPrefixed:
		return fmt.Errorf("pattern type %d", r.PatternType)
	case r.ResourceName == "":
		return fmt.Errorf("empty resource name")
	case r.ResourceType == ACLResourceCluster && r.ResourceName != ClusterResourceName:
		return fmt.Errorf("cluster resource named %q, not %s", r.ResourceName, ClusterResourceName)
	case strings.IndexByte(r.Principal, ':') <= 0:
		return fmt.Errorf("principal %q is not Type:Name", r.Principal)
	case r.Host == "":
		return fmt.Errorf("empty host")
	case r.Operation < ACLOperationAll || r.Operation > ACLOperationDescribeTokens:
		return fmt.Errorf("operation %d", r.Operation)
	case r.Permission != ACLPermissionDeny && r.Permission != ACLPermissionAllow:
		return fmt.Errorf("permission %d", r.Permission)
	}
	return nil
}

// ClusterResourceName is the name of the one CLUSTER resource (Kafka's "kafka-cluster").
const ClusterResourceName = "kafka-cluster"

// WildcardResource is the literal resource name that matches every resource of its type.
const WildcardResource = "*"

// WildcardPrincipal is the ACL principal that matches every user.
const WildcardPrincipal = "User:*"

// WildcardHost is the ACL host that matches every host.
const WildcardHost = "*"
