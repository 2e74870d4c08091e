package api

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// errSecurityDisabled answers the ACL APIs when no authorizer is configured, as Kafka does.
var errSecurityDisabled = requestErrorf(kerr.SecurityDisabled, "no authorizer is configured (authorizer.class.name)")

// aclPatternType is the pattern type of an ACL request field: v0 has none and means LITERAL.
func aclPatternType(version int16, t kmsg.ACLResourcePatternType) int8 {
	if version == 0 {
		return metadata.ACLPatternLiteral
	}
	return int8(t)
}

// aclFilter converts a DescribeAcls or DeleteAcls filter.
func aclFilter(version int16, typ kmsg.ACLResourceType, name *string, pattern kmsg.ACLResourcePatternType,
	principal, host *string, op kmsg.ACLOperation, perm kmsg.ACLPermissionType) metadata.ACLFilter {
	return metadata.ACLFilter{ResourceType: int8(typ), ResourceName: name, PatternType: aclPatternType(version, pattern),
		Principal: principal, Host: host, Operation: int8(op), Permission: int8(perm)}
}
