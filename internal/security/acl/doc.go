// Package acl is Sluice's authorizer (authorizer.class.name): it decides whether a principal
// may perform an operation on a resource from the ACLs in the metadata Image, with the rules of
// Kafka's StandardAuthorizer:
//
//   - super.users ("User:admin;User:bob") may do everything;
//   - the ACLs that apply to a resource are its LITERAL ACL, the LITERAL wildcard "*" of its
//     type, and every PREFIXED ACL whose prefix its name starts with;
//   - an ACL applies to a request when its principal is the request's or "User:*", its host
//     is the client's IP or "*", and its operation is the request's or ALL (an ALLOW for READ,
//     WRITE, DELETE or ALTER also allows DESCRIBE; ALTER_CONFIGS also allows DESCRIBE_CONFIGS);
//   - a DENY that applies wins over every ALLOW; otherwise an ALLOW that applies allows;
//   - when no ACL at all exists for the resource (for any principal),
//     allow.everyone.if.no.acl.found decides (false by default); otherwise the request is
//     denied.
//
// Concurrency: Authorize runs on every request goroutine. It reads an immutable index through
// an atomic pointer and takes no lock; Update (called for every new metadata Image) builds a
// new index when the ACLs changed and swaps the pointer. Authorize allocates nothing.
//
// Example:
//
//	a, err := acl.New(acl.Options{SuperUsers: "User:admin", Registerer: reg, Logger: log})
//	a.Update(img) // and again for every new Image
//	ok := a.Authorize("User:alice", "10.0.0.7", kmsg.ACLOperationRead, kmsg.ACLResourceTypeTopic, "orders")
package acl
