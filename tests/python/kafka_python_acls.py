"""kafka-python's ACL admin (CreateAcls, DescribeAcls, DeleteAcls at the versions it picks)
against a broker with the authorizer on. Prints one JSON object with what it saw."""
import json
import sys

from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                         KafkaAdminClient, ResourcePattern, ResourcePatternFilter, ResourceType)

bootstrap = sys.argv[1]
admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="kp-acls", request_timeout_ms=30000)

def acl(principal, host, op, perm, typ, name, pattern):
    return ACL(principal=principal, host=host, operation=op, permission_type=perm,
               resource_pattern=ResourcePattern(typ, name, pattern))

created = admin.create_acls([
    acl("User:alice", "*", ACLOperation.READ, ACLPermissionType.ALLOW, ResourceType.TOPIC, "orders", ACLResourcePatternType.LITERAL),
    acl("User:bob", "10.0.0.9", ACLOperation.WRITE, ACLPermissionType.DENY, ResourceType.TOPIC, "orders-", ACLResourcePatternType.PREFIXED),
    acl("User:alice", "*", ACLOperation.READ, ACLPermissionType.ALLOW, ResourceType.GROUP, "billing", ACLResourcePatternType.LITERAL),
])

def row(a):
    p = a.resource_pattern
    return [p.resource_type.name, p.resource_name, p.pattern_type.name, a.principal, a.host, a.operation.name, a.permission_type.name]

everything = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                       resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
listed, err = admin.describe_acls(everything)
match, err2 = admin.describe_acls(ACLFilter(principal=None, host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                                            resource_pattern=ResourcePatternFilter(ResourceType.TOPIC, "orders-eu", ACLResourcePatternType.MATCH)))
deleted = admin.delete_acls([ACLFilter(principal="User:alice", host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                                       resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))])
after, err3 = admin.describe_acls(everything)
admin.close()

print(json.dumps({
    "created": len(created["succeeded"]),
    "create_failed": [str(f[1]) for f in created["failed"]],
    "listed": sorted(row(a) for a in listed),
    "describe_error": str(err),
    "match": sorted(row(a) for a in match),
    "deleted": sorted(row(a) for _, matches, _ in deleted for a, _ in matches),
    "delete_errors": [str(e) for _, _, e in deleted],
    "after": sorted(row(a) for a in after),
}))
