package acl

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestAuthorizeByResourceType: Kafka's authorizeByResourceType rules (KIP-679: an idempotent
// producer with WRITE on some topic needs no IDEMPOTENT_WRITE).
func TestAuthorizeByResourceType(t *testing.T) {
	cases := []struct {
		name      string
		acls      *aclSet
		opts      Options
		principal string
		host      string
		op        kmsg.ACLOperation
		want      bool
	}{
		{"no ACLs", &aclSet{}, Options{}, "User:alice", "1.1.1.1", write, false},
		{"no ACLs, allow everyone", &aclSet{}, Options{AllowEveryoneIfNoACLFound: true}, "User:alice", "1.1.1.1", write, true},
		{"super user", &aclSet{}, Options{SuperUsers: "User:admin"}, "User:admin", "1.1.1.1", write, true},
		{"a literal allow", (&aclSet{}).add(topic, "orders", lit, "User:alice", "*", write, allow), Options{}, "User:alice", "1.1.1.1", write, true},
		{"another principal's allow", (&aclSet{}).add(topic, "orders", lit, "User:bob", "*", write, allow), Options{}, "User:alice", "1.1.1.1", write, false},
		{"another operation", (&aclSet{}).add(topic, "orders", lit, "User:alice", "*", read, allow), Options{}, "User:alice", "1.1.1.1", write, false},
		{"operation ALL", (&aclSet{}).add(topic, "orders", lit, "User:alice", "*", all, allow), Options{}, "User:alice", "1.1.1.1", write, true},
		{"another host", (&aclSet{}).add(topic, "orders", lit, "User:alice", "10.0.0.1", write, allow), Options{}, "User:alice", "1.1.1.1", write, false},
		{"wildcard principal", (&aclSet{}).add(topic, "orders", lit, "User:*", "*", write, allow), Options{}, "User:alice", "1.1.1.1", write, true},
		{"a prefixed allow", (&aclSet{}).add(topic, "ord", pre, "User:alice", "*", write, allow), Options{}, "User:alice", "1.1.1.1", write, true},
		{"literal allow, same literal denied",
			(&aclSet{}).add(topic, "orders", lit, "User:alice", "*", write, allow).add(topic, "orders", lit, "User:alice", "*", write, deny),
			Options{}, "User:alice", "1.1.1.1", write, false},
		{"one of two literal allows denied",
			(&aclSet{}).add(topic, "orders", lit, "User:alice", "*", write, allow).add(topic, "orders", lit, "User:alice", "*", write, deny).
				add(topic, "payments", lit, "User:alice", "*", write, allow),
			Options{}, "User:alice", "1.1.1.1", write, true},
		{"prefixed allow dominated by a shorter prefixed deny",
			(&aclSet{}).add(topic, "orders-", pre, "User:alice", "*", write, allow).add(topic, "ord", pre, "User:alice", "*", write, deny),
			Options{}, "User:alice", "1.1.1.1", write, false},
		{"prefixed allow beside a longer prefixed deny",
			(&aclSet{}).add(topic, "ord", pre, "User:alice", "*", write, allow).add(topic, "orders-", pre, "User:alice", "*", write, deny),
			Options{}, "User:alice", "1.1.1.1", write, true},
		{"wildcard allow", (&aclSet{}).add(topic, "*", lit, "User:alice", "*", write, allow), Options{}, "User:alice", "1.1.1.1", write, true},
		{"wildcard deny beats allows",
			(&aclSet{}).add(topic, "orders", lit, "User:alice", "*", write, allow).add(topic, "*", lit, "User:alice", "*", all, deny),
			Options{}, "User:alice", "1.1.1.1", write, false},
		{"implied operations do not count", (&aclSet{}).add(topic, "orders", lit, "User:alice", "*", write, allow), Options{}, "User:alice", "1.1.1.1", describe, false},
	}
	for _, tc := range cases {
		a := newAuthorizer(t, tc.opts, tc.acls.image(t))
		if got := a.AuthorizeByResourceType(tc.principal, tc.host, tc.op, topic); got != tc.want {
			t.Errorf("%s: allowed=%v, want %v", tc.name, got, tc.want)
		}
	}
	// Resource types are separate: a group ACL grants nothing on topics.
	a := newAuthorizer(t, Options{}, (&aclSet{}).add(group, "g", lit, "User:alice", "*", write, allow).image(t))
	if a.AuthorizeByResourceType("User:alice", "1.1.1.1", write, topic) {
		t.Error("a group ACL allowed WRITE on some topic")
	}
}
