package acl

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

const (
	topic   = kmsg.ACLResourceTypeTopic
	group   = kmsg.ACLResourceTypeGroup
	cluster = kmsg.ACLResourceTypeCluster
	txnID   = kmsg.ACLResourceTypeTransactionalId

	read            = kmsg.ACLOperationRead
	write           = kmsg.ACLOperationWrite
	create          = kmsg.ACLOperationCreate
	del             = kmsg.ACLOperationDelete
	alter           = kmsg.ACLOperationAlter
	describe        = kmsg.ACLOperationDescribe
	clusterAction   = kmsg.ACLOperationClusterAction
	describeConfigs = kmsg.ACLOperationDescribeConfigs
	alterConfigs    = kmsg.ACLOperationAlterConfigs
	all             = kmsg.ACLOperationAll
	idempotentWrite = kmsg.ACLOperationIdempotentWrite

	allow = metadata.ACLPermissionAllow
	deny  = metadata.ACLPermissionDeny
	lit   = metadata.ACLPatternLiteral
	pre   = metadata.ACLPatternPrefixed
)

// aclRec builds an ACL record; ids are handed out in order.
type aclSet struct{ recs []metadata.Record }

func (s *aclSet) add(typ kmsg.ACLResourceType, name string, pattern int8, principal, host string, op kmsg.ACLOperation, perm int8) *aclSet {
	id := metadata.ACLID{0: 1, 15: byte(len(s.recs) + 1)}
	s.recs = append(s.recs, &metadata.AccessControlEntryRecord{ID: id, ResourceType: int8(typ), ResourceName: name,
		PatternType: pattern, Principal: principal, Host: host, Operation: int8(op), Permission: perm})
	return s
}

func (s *aclSet) image(t testing.TB) *metadata.Image {
	t.Helper()
	img, err := metadata.Empty().Apply(1, s.recs)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func newAuthorizer(t testing.TB, opts Options, img *metadata.Image) *Authorizer {
	t.Helper()
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	a.Update(img)
	return a
}

type request struct {
	principal, host string
	op              kmsg.ACLOperation
	typ             kmsg.ACLResourceType
	name            string
}

func TestAuthorizeRules(t *testing.T) {
	acls := (&aclSet{}).
		add(topic, "orders", lit, "User:alice", "*", read, allow).
		add(topic, "orders", lit, "User:alice", "10.0.0.66", read, deny).
		add(topic, "pay", pre, "User:bob", "*", write, allow).
		add(topic, "payments-secret", lit, "User:bob", "*", all, deny).
		add(topic, "*", lit, "User:*", "*", describe, allow).
		add(topic, "*", lit, "User:mallory", "*", all, deny).
		add(group, "g1", lit, "User:alice", "*", read, allow).
		add(group, "g", pre, "User:carol", "192.168.1.1", all, allow).
		add(cluster, metadata.ClusterResourceName, lit, "User:broker", "*", clusterAction, allow).
		add(cluster, metadata.ClusterResourceName, lit, "User:ops", "*", alterConfigs, allow).
		add(txnID, "tx", lit, "User:dave", "*", alter, allow).
		add(txnID, "tx", lit, "User:erin", "*", del, allow)
	a := newAuthorizer(t, Options{SuperUsers: "User:admin; User:root"}, acls.image(t))
	cases := []struct {
		name string
		req  request
		want bool
	}{
		{"literal allow", request{"User:alice", "10.0.0.1", read, topic, "orders"}, true},
		{"other operation denied", request{"User:alice", "10.0.0.1", write, topic, "orders"}, false},
		{"other principal denied", request{"User:eve", "10.0.0.1", read, topic, "orders"}, false},
		{"deny from one host wins", request{"User:alice", "10.0.0.66", read, topic, "orders"}, false},
		{"literal is not a prefix", request{"User:alice", "10.0.0.1", read, topic, "orders2"}, false},
		{"prefixed allow", request{"User:bob", "10.0.0.1", write, topic, "payments"}, true},
		{"prefix equal to name", request{"User:bob", "10.0.0.1", write, topic, "pay"}, true},
		{"shorter than prefix", request{"User:bob", "10.0.0.1", write, topic, "pa"}, false},
		{"deny ALL beats prefixed allow", request{"User:bob", "10.0.0.1", write, topic, "payments-secret"}, false},
		{"wildcard resource and principal", request{"User:eve", "10.0.0.1", describe, topic, "anything"}, true},
		{"wildcard grants only its operation", request{"User:eve", "10.0.0.1", read, topic, "anything"}, false},
		{"wildcard deny", request{"User:mallory", "10.0.0.1", describe, topic, "orders"}, false},
		{"READ implies DESCRIBE", request{"User:alice", "10.0.0.1", describe, group, "g1"}, true},
		{"WRITE implies DESCRIBE", request{"User:bob", "1.1.1.1", describe, topic, "payx"}, true},
		{"ALTER implies DESCRIBE", request{"User:dave", "1.1.1.1", describe, txnID, "tx"}, true},
		{"DELETE implies DESCRIBE", request{"User:erin", "1.1.1.1", describe, txnID, "tx"}, true},
		{"READ does not imply WRITE", request{"User:alice", "10.0.0.1", write, group, "g1"}, false},
		{"ALTER_CONFIGS implies DESCRIBE_CONFIGS", request{"User:ops", "1.1.1.1", describeConfigs, cluster, metadata.ClusterResourceName}, true},
		{"ALTER_CONFIGS does not imply DESCRIBE", request{"User:ops", "1.1.1.1", describe, cluster, metadata.ClusterResourceName}, false},
		{"ALL on a prefix from the right host", request{"User:carol", "192.168.1.1", create, group, "g-anything"}, true},
		{"ALL on a prefix from another host", request{"User:carol", "192.168.1.2", create, group, "g-anything"}, false},
		{"cluster action", request{"User:broker", "1.1.1.1", clusterAction, cluster, metadata.ClusterResourceName}, true},
		{"resource types are separate", request{"User:alice", "10.0.0.1", read, txnID, "orders"}, false},
		{"super user", request{"User:admin", "1.1.1.1", idempotentWrite, cluster, metadata.ClusterResourceName}, true},
		{"super user despite a deny", request{"User:root", "1.1.1.1", read, topic, "payments-secret"}, true},
		{"super users are whole principals", request{"User:admi", "1.1.1.1", read, topic, "x"}, false},
		{"no ACL for the resource: denied by default", request{"User:alice", "10.0.0.1", read, group, "zzz"}, false},
		{"anonymous", request{"", "10.0.0.1", describe, topic, "t"}, true},
	}
	for _, tc := range cases {
		r := tc.req
		if got := a.Authorize(r.principal, r.host, r.op, r.typ, r.name); got != tc.want {
			t.Errorf("%s: %+v allowed=%v, want %v", tc.name, r, got, tc.want)
		}
	}
}

func TestAllowEveryoneIfNoACLFound(t *testing.T) {
	img := (&aclSet{}).add(topic, "orders", lit, "User:alice", "*", read, allow).
		add(topic, "logs-", pre, "User:alice", "*", read, allow).image(t)
	on := newAuthorizer(t, Options{AllowEveryoneIfNoACLFound: true}, img)
	off := newAuthorizer(t, Options{}, img)
	cases := []struct {
		name    string
		req     request
		wantOn  bool
		wantOff bool
	}{
		{"resource without ACLs", request{"User:eve", "1.1.1.1", write, topic, "other"}, true, false},
		{"resource with an ACL for someone else", request{"User:eve", "1.1.1.1", read, topic, "orders"}, false, false},
		{"resource covered by a prefix", request{"User:eve", "1.1.1.1", read, topic, "logs-app"}, false, false},
		{"other resource type", request{"User:eve", "1.1.1.1", read, group, "orders"}, true, false},
	}
	for _, tc := range cases {
		r := tc.req
		if got := on.Authorize(r.principal, r.host, r.op, r.typ, r.name); got != tc.wantOn {
			t.Errorf("%s with allow.everyone.if.no.acl.found: %v", tc.name, got)
		}
		if got := off.Authorize(r.principal, r.host, r.op, r.typ, r.name); got != tc.wantOff {
			t.Errorf("%s without: %v", tc.name, got)
		}
	}
}

func TestUpdateFollowsTheImage(t *testing.T) {
	set := (&aclSet{}).add(topic, "t", lit, "User:alice", "*", read, allow)
	img := set.image(t)
	a := newAuthorizer(t, Options{}, img)
	if !a.Authorize("User:alice", "1.1.1.1", read, topic, "t") {
		t.Fatal("not allowed before the change")
	}
	next, err := img.Apply(2, []metadata.Record{&metadata.RemoveAccessControlEntryRecord{ID: metadata.ACLID{0: 1, 15: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	a.Update(next)
	if a.Authorize("User:alice", "1.1.1.1", read, topic, "t") {
		t.Fatal("still allowed after the ACL was removed")
	}
}

func TestEnabledAndOptions(t *testing.T) {
	for name, want := range map[string]bool{"": false, StandardAuthorizerClass: true, "sluice": true} {
		if got, err := Enabled(name); err != nil || got != want {
			t.Errorf("%q: %v %v", name, got, err)
		}
	}
	if _, err := Enabled("kafka.security.authorizer.AclAuthorizer"); !errors.Is(err, ErrUnknownAuthorizer) {
		t.Errorf("ZooKeeper's AclAuthorizer: %v", err)
	}
	if _, err := New(Options{SuperUsers: "admin"}); err == nil {
		t.Error("a super user without a principal type was accepted")
	}
}

func TestDecisionsCountedAndLogged(t *testing.T) {
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	a := newAuthorizer(t, Options{SuperUsers: "User:admin", Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}, metadata.Empty())
	a.Authorize("User:admin", "1.1.1.1", read, topic, "t")
	a.Authorize("User:eve", "1.1.1.1", read, topic, "t")
	a.Authorize("User:eve", "1.1.1.1", write, topic, "t")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "sluice_authorizer_decisions_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	if got["allowed"] != 1 || got["denied"] != 2 {
		t.Errorf("decisions %v, want allowed 1, denied 2", got)
	}
	if s := logs.String(); !strings.Contains(s, "principal=User:eve") || !strings.Contains(s, "operation=WRITE") ||
		!strings.Contains(s, "allowed=false") || !strings.Contains(s, "resource=t") {
		t.Errorf("debug log lacks the decision:\n%s", s)
	}
}

func TestAuthorizeDoesNotAllocate(t *testing.T) {
	a := newAuthorizer(t, Options{Registerer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler)}, benchACLs(t).image(t))
	n := testing.AllocsPerRun(100, func() {
		a.Authorize("User:user-7", "10.0.0.7", read, topic, "prefix-3-orders")
		a.Authorize("User:nobody", "10.0.0.7", write, topic, "unknown-topic")
	})
	if n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}

func benchACLs(t testing.TB) *aclSet {
	s := &aclSet{}
	for i := 0; i < 200; i++ {
		n := string(rune('a'+i%26)) + "-" + string(rune('0'+i%10))
		s.add(topic, "topic-"+n, lit, "User:user-"+string(rune('0'+i%10)), "*", read, allow)
		if i < 20 {
			s.add(topic, "prefix-"+string(rune('0'+i%10))+strings.Repeat("x", i/10), pre, "User:user-"+string(rune('0'+i%10)), "*", read, allow)
		}
	}
	return s
}

// BenchmarkAuthorize: one decision against 220 ACLs (literal and prefixed), on a hit and on a
// miss. Reports allocations: there must be none.
func BenchmarkAuthorize(b *testing.B) {
	a := newAuthorizer(b, Options{Registerer: prometheus.NewRegistry()}, benchACLs(b).image(b))
	b.ReportAllocs()
	for b.Loop() {
		a.Authorize("User:user-7", "10.0.0.7", read, topic, "prefix-7-orders")
		a.Authorize("User:nobody", "10.0.0.7", write, topic, "unknown-topic")
	}
}

// TestNotLoadedAllowsOnlySuperUsers: until the node's metadata has caught up, only super users
// pass, even with allow.everyone.if.no.acl.found and an ALLOW already applied; the first
// "loaded" is latched.
func TestNotLoadedAllowsOnlySuperUsers(t *testing.T) {
	var caughtUp atomic.Bool
	img := (&aclSet{}).add(topic, "t", lit, "User:alice", "*", read, allow).image(t)
	a := newAuthorizer(t, Options{SuperUsers: "User:admin", AllowEveryoneIfNoACLFound: true, Loaded: caughtUp.Load}, img)
	if a.Authorize("User:alice", "1.1.1.1", read, topic, "t") || a.Authorize("User:eve", "1.1.1.1", read, topic, "other") {
		t.Fatal("allowed before the ACLs are loaded")
	}
	if a.AuthorizeByResourceType("User:alice", "1.1.1.1", read, topic) {
		t.Fatal("allowed by resource type before the ACLs are loaded")
	}
	if !a.Authorize("User:admin", "1.1.1.1", read, topic, "t") {
		t.Fatal("a super user refused before the ACLs are loaded")
	}
	caughtUp.Store(true)
	if !a.Authorize("User:alice", "1.1.1.1", read, topic, "t") || !a.Authorize("User:eve", "1.1.1.1", read, topic, "other") {
		t.Fatal("refused once loaded")
	}
	caughtUp.Store(false) // a node falling behind later keeps its ACLs, as Kafka's authorizer
	if !a.Authorize("User:alice", "1.1.1.1", read, topic, "t") {
		t.Fatal("the loaded state was not latched")
	}
}
