package api

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestAuthorizeWithoutAuthorizerAllocatesNothing: the hot paths (Produce, Fetch) pay nothing
// for authorization when no authorizer is configured.
func TestAuthorizeWithoutAuthorizerAllocatesNothing(t *testing.T) {
	env := &Env{}
	req := &Request{Conn: ConnInfo{Principal: "User:alice"}}
	allocs := testing.AllocsPerRun(100, func() {
		if !env.Authorize(req, opWrite, resTopic, "orders") {
			t.Fatal("refused without an authorizer")
		}
		topics := env.topicAuthorizer(req, opRead)
		if !topics.allowed("orders") || !topics.allowed("orders") {
			t.Fatal("refused without an authorizer")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per check without an authorizer, want 0", allocs)
	}
}

// countingAuthorizer allows everything and counts the calls.
type countingAuthorizer struct{ calls int }

func (c *countingAuthorizer) Authorize(string, string, kmsg.ACLOperation, kmsg.ACLResourceType, string) bool {
	c.calls++
	return true
}

// TestTopicAuthorizerAsksOncePerTopic: a fetch naming a topic's partitions many times (and a
// long poll reading them again) asks the authorizer once per topic.
func TestTopicAuthorizerAsksOncePerTopic(t *testing.T) {
	c := &countingAuthorizer{}
	env := &Env{Authorizer: c}
	topics := env.topicAuthorizer(&Request{}, opRead)
	for range 3 {
		for _, name := range []string{"a", "a", "b", "a", "b"} {
			topics.allowed(name)
		}
	}
	if c.calls != 2 {
		t.Fatalf("%d authorizer calls for two topics, want 2", c.calls)
	}
}
