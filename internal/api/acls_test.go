package api_test

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/security/acl"
)

// startSecuredAdminNode is an admin node with the ACL authorizer on; the test client connects
// as User:ANONYMOUS, a super user, so the cluster-level checks pass. The authorizer follows the
// node's Images as the broker wires it.
func startSecuredAdminNode(t *testing.T) (*adminNode, *acl.Authorizer) {
	t.Helper()
	a, err := acl.New(acl.Options{SuperUsers: "User:ANONYMOUS"})
	if err != nil {
		t.Fatal(err)
	}
	n := startAdminNode(t, adminOptions{authorizer: a})
	t.Cleanup(n.q.Subscribe(func(_, next *metadata.Image) { a.Update(next) }))
	return n, a
}

func TestACLAPIs(t *testing.T) {
	n, authz := startSecuredAdminNode(t)
	adm := n.admin()
	ctx := context.Background()

	created, err := adm.CreateACLs(ctx, kadm.NewACLs().Allow("User:alice").AllowHosts().
		Topics("orders").Groups("g1").Operations(kadm.OpRead, kadm.OpDescribe).ResourcePatternType(kadm.ACLPatternLiteral))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range created {
		if c.Err != nil {
			t.Fatalf("create %+v: %v", c, c.Err)
		}
	}
	if _, err := adm.CreateACLs(ctx, kadm.NewACLs().Deny("User:bob").DenyHosts("10.0.0.9").
		Topics("pay").Operations(kadm.OpWrite).ResourcePatternType(kadm.ACLPatternPrefixed)); err != nil {
		t.Fatal(err)
	}
	if got := len(n.q.Image().ACLs()); got != 5 {
		t.Fatalf("%d ACLs in the metadata, want 5", got)
	}
	// The authorizer sees them.
	if !authz.Authorize("User:alice", "127.0.0.1", kmsg.ACLOperationRead, kmsg.ACLResourceTypeTopic, "orders") {
		t.Error("alice may not read orders after the ACL was created")
	}

	// Describe with MATCH on a topic name finds the literal and the prefixed ACLs that apply.
	described, err := adm.DescribeACLs(ctx, kadm.NewACLs().Topics("payments").ResourcePatternType(kadm.ACLPatternMatch).
		Operations(kadm.OpAny).AllowHosts().DenyHosts().Allow().Deny())
	if err != nil {
		t.Fatal(err)
	}
	var got []kadm.DescribedACL
	for _, d := range described {
		if d.Err != nil {
			t.Fatalf("describe: %v", d.Err)
		}
		got = append(got, d.Described...)
	}
	if len(got) != 1 || got[0].Principal != "User:bob" || got[0].Pattern != kadm.ACLPatternPrefixed || got[0].Host != "10.0.0.9" ||
		got[0].Permission != kmsg.ACLPermissionTypeDeny {
		t.Fatalf("described %+v", got)
	}

	// Delete alice's topic ACLs: the result lists what the filter matched.
	deleted, err := adm.DeleteACLs(ctx, kadm.NewACLs().Allow("User:alice").AllowHosts().Topics("orders").
		Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternLiteral))
	if err != nil {
		t.Fatal(err)
	}
	var n2 int
	for _, d := range deleted {
		if d.Err != nil {
			t.Fatalf("delete: %v", d.Err)
		}
		n2 += len(d.Deleted)
	}
	if n2 != 2 || len(n.q.Image().ACLs()) != 3 {
		t.Fatalf("deleted %d, %d left", n2, len(n.q.Image().ACLs()))
	}
}

func TestACLAPIValidation(t *testing.T) {
	n, _ := startSecuredAdminNode(t)
	c := n.dial()
	creation := func(f func(*kmsg.CreateACLsRequestCreation)) kmsg.CreateACLsRequestCreation {
		cr := kmsg.NewCreateACLsRequestCreation()
		cr.ResourceType, cr.ResourceName, cr.ResourcePatternType = kmsg.ACLResourceTypeTopic, "t", kmsg.ACLResourcePatternTypeLiteral
		cr.Principal, cr.Host, cr.Operation, cr.PermissionType = "User:a", "*", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow
		f(&cr)
		return cr
	}
	cases := []struct {
		name string
		c    kmsg.CreateACLsRequestCreation
		want int16
	}{
		{"valid", creation(func(*kmsg.CreateACLsRequestCreation) {}), 0},
		{"pattern MATCH", creation(func(c *kmsg.CreateACLsRequestCreation) { c.ResourcePatternType = kmsg.ACLResourcePatternTypeMatch }), kerr.InvalidRequest.Code},
		{"pattern ANY", creation(func(c *kmsg.CreateACLsRequestCreation) { c.ResourcePatternType = kmsg.ACLResourcePatternTypeAny }), kerr.InvalidRequest.Code},
		{"unknown resource type", creation(func(c *kmsg.CreateACLsRequestCreation) { c.ResourceType = 42 }), kerr.InvalidRequest.Code},
		{"operation ANY", creation(func(c *kmsg.CreateACLsRequestCreation) { c.Operation = kmsg.ACLOperationAny }), kerr.InvalidRequest.Code},
		{"bad principal", creation(func(c *kmsg.CreateACLsRequestCreation) { c.Principal = "alice" }), kerr.InvalidRequest.Code},
		{"cluster name", creation(func(c *kmsg.CreateACLsRequestCreation) { c.ResourceType = kmsg.ACLResourceTypeCluster }), kerr.InvalidRequest.Code},
	}
	req := kmsg.NewPtrCreateACLsRequest()
	req.Version = 3
	for _, tc := range cases {
		req.Creations = append(req.Creations, tc.c)
	}
	resp := c.send(req).(*kmsg.CreateACLsResponse)
	if len(resp.Results) != len(cases) {
		t.Fatalf("%d results for %d creations", len(resp.Results), len(cases))
	}
	for i, tc := range cases {
		if resp.Results[i].ErrorCode != tc.want {
			t.Errorf("%s: error %d, want %d", tc.name, resp.Results[i].ErrorCode, tc.want)
		}
	}

	// v0 has no pattern type: LITERAL.
	v0 := kmsg.NewPtrCreateACLsRequest()
	v0.Version = 0
	v0.Creations = []kmsg.CreateACLsRequestCreation{creation(func(c *kmsg.CreateACLsRequestCreation) { c.ResourceName = "v0" })}
	if r := c.send(v0).(*kmsg.CreateACLsResponse); r.Results[0].ErrorCode != 0 {
		t.Fatalf("v0 create: %d", r.Results[0].ErrorCode)
	}
	found := false
	for _, a := range n.q.Image().ACLs() {
		found = found || a.ResourceName == "v0" && a.PatternType == metadata.ACLPatternLiteral
	}
	if !found {
		t.Error("the v0 ACL is not a LITERAL one")
	}

	// A filter with an UNKNOWN value: INVALID_REQUEST.
	d := kmsg.NewPtrDescribeACLsRequest()
	d.Version = 3
	d.ResourceType, d.ResourcePatternType, d.Operation, d.PermissionType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny, kmsg.ACLOperationUnknown, kmsg.ACLPermissionTypeAny
	if r := c.send(d).(*kmsg.DescribeACLsResponse); r.ErrorCode != kerr.InvalidRequest.Code {
		t.Errorf("describe with an UNKNOWN operation: %d", r.ErrorCode)
	}
}

func TestACLAPIsWithoutAuthorizer(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	_, err := n.admin().CreateACLs(context.Background(), kadm.NewACLs().Allow("User:a").AllowHosts().Topics("t").
		Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral))
	var results kadm.CreateACLsResults
	if err == nil {
		results, _ = n.admin().CreateACLs(context.Background(), kadm.NewACLs().Allow("User:a").AllowHosts().Topics("t").
			Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral))
		if len(results) == 0 || !errors.Is(results[0].Err, kerr.SecurityDisabled) {
			t.Fatalf("create without an authorizer: %+v", results)
		}
	} else if !errors.Is(err, kerr.SecurityDisabled) {
		t.Fatalf("create without an authorizer: %v", err)
	}
	if len(n.q.Image().ACLs()) != 0 {
		t.Fatal("an ACL was created without an authorizer")
	}
}

func TestUserScramAPIs(t *testing.T) {
	n := startAdminNode(t, adminOptions{}) // the SCRAM APIs need no authorizer
	adm := n.admin()
	ctx := context.Background()
	altered, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{
		{User: "alice", Mechanism: kadm.ScramSha256, Iterations: 8192, Password: "alice-secret"},
		{User: "alice", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "alice-secret"},
		{User: "bob", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "bob-secret"},
		{User: "", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]error{"alice": kerr.DuplicateResource, "bob": nil, "": kerr.UnacceptableCredential}
	for user, w := range want {
		if got := altered[user].Err; w == nil && got != nil || w != nil && !errors.Is(got, w) {
			t.Errorf("%q: %v, want %v", user, got, w)
		}
	}
	if _, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{
		{User: "alice", Mechanism: kadm.ScramSha256, Iterations: 8192, Password: "alice-secret"}}); err != nil {
		t.Fatal(err)
	}

	described, err := adm.DescribeUserSCRAMs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(described) != 2 || len(described["alice"].CredInfos) != 1 || described["alice"].CredInfos[0].Iterations != 8192 ||
		described["bob"].CredInfos[0].Mechanism != kadm.ScramSha512 {
		t.Fatalf("described %+v", described)
	}
	one, err := adm.DescribeUserSCRAMs(ctx, "bob", "nobody")
	if err != nil {
		t.Fatal(err)
	}
	if one["bob"].Err != nil || !errors.Is(one["nobody"].Err, kerr.ResourceNotFound) {
		t.Fatalf("describe bob, nobody: %+v", one)
	}

	deleted, err := adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: "bob", Mechanism: kadm.ScramSha512},
		{User: "dave", Mechanism: kadm.ScramSha256}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if deleted["bob"].Err != nil || !errors.Is(deleted["dave"].Err, kerr.ResourceNotFound) {
		t.Fatalf("delete: %+v", deleted)
	}
	if users := n.q.Image().ScramUsers(); len(users) != 1 || users[0] != "alice" {
		t.Fatalf("users left %v", users)
	}

	// A user named twice in one describe: DUPLICATE_RESOURCE.
	c := n.dial()
	req := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
	for _, u := range []string{"alice", "alice"} {
		ru := kmsg.NewDescribeUserSCRAMCredentialsRequestUser()
		ru.Name = u
		req.Users = append(req.Users, ru)
	}
	resp := c.send(req).(*kmsg.DescribeUserSCRAMCredentialsResponse)
	if len(resp.Results) != 1 || resp.Results[0].ErrorCode != kerr.DuplicateResource.Code {
		t.Fatalf("duplicate describe: %+v", resp.Results)
	}
}
