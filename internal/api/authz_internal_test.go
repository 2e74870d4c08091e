package api

import (
	"fmt"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/security/acl"
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
	names := []string{"a", "a", "b", "a", "b", "c", "d", "e", "f", "e", "a", "f"} // six topics: past the small cache
	for range 3 {
		for _, name := range names {
			topics.allowed(name)
		}
	}
	if c.calls != 6 {
		t.Fatalf("%d authorizer calls for six topics, want 6", c.calls)
	}
	few := env.topicAuthorizer(&Request{}, opRead)
	if allocs := testing.AllocsPerRun(100, func() {
		for _, name := range names[:5] {
			few.allowed(name)
		}
	}); allocs != 0 {
		t.Fatalf("%v allocations per request of two topics with an authorizer, want 0", allocs)
	}
}

// BenchmarkProduceAuthorization is the authorization a one-topic, six-partition produce
// request pays in the handler: the transactional-records scan and one Write check, with no
// authorizer and with the ACL authorizer holding 1,000 ACLs.
func BenchmarkProduceAuthorization(b *testing.B) {
	var recs []metadata.Record
	for i := range 1000 {
		recs = append(recs, &metadata.AccessControlEntryRecord{ID: metadata.ACLID{0: 1, 14: byte(i >> 8), 15: byte(i)},
			ResourceType: int8(resTopic), ResourceName: fmt.Sprintf("topic-%d", i), PatternType: metadata.ACLPatternLiteral,
			Principal: fmt.Sprintf("User:u%d", i), Host: "*", Operation: int8(opWrite), Permission: metadata.ACLPermissionAllow})
	}
	recs = append(recs, &metadata.AccessControlEntryRecord{ID: metadata.ACLID{13: 1}, ResourceType: int8(resTopic),
		ResourceName: "orders", PatternType: metadata.ACLPatternLiteral, Principal: "User:alice", Host: "*",
		Operation: int8(opWrite), Permission: metadata.ACLPermissionAllow})
	img, err := metadata.Empty().Apply(1, recs)
	if err != nil {
		b.Fatal(err)
	}
	az, err := acl.New(acl.Options{})
	if err != nil {
		b.Fatal(err)
	}
	az.Update(img)
	r := kmsg.NewPtrProduceRequest()
	rt := kmsg.ProduceRequestTopic{Topic: "orders"}
	batch := record.NewBuilder(record.None)
	batch.Add(0, nil, []byte("v"))
	records, err := batch.Build(nil)
	if err != nil {
		b.Fatal(err)
	}
	for p := range int32(6) {
		rt.Partitions = append(rt.Partitions, kmsg.ProduceRequestTopicPartition{Partition: p, Records: records})
	}
	r.Topics = []kmsg.ProduceRequestTopic{rt}
	remote := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1)}
	req := &Request{Msg: r, Conn: ConnInfo{Principal: "User:alice", Remote: remote, Host: RemoteHost(remote)}}
	for _, bc := range []struct {
		name string
		env  *Env
	}{{"none", &Env{}}, {"acl", &Env{Authorizer: az}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if authorizeTransactionalProduce(bc.env, req, r) != 0 || !bc.env.Authorize(req, opWrite, resTopic, "orders") {
					b.Fatal("refused")
				}
			}
		})
	}
}

// TestAuthorizeWithTheACLAuthorizerAllocatesNothing: a check through Env with the connection's
// host resolved once (ConnInfo.Host, as the server sets it) allocates nothing.
func TestAuthorizeWithTheACLAuthorizerAllocatesNothing(t *testing.T) {
	az, err := acl.New(acl.Options{SuperUsers: "User:admin"})
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Authorizer: az}
	remote := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1)}
	req := &Request{Conn: ConnInfo{Principal: "User:alice", Remote: remote, Host: RemoteHost(remote)}}
	if allocs := testing.AllocsPerRun(100, func() { env.Authorize(req, opWrite, resTopic, "orders") }); allocs != 0 {
		t.Fatalf("%v allocations per check, want 0", allocs)
	}
}
