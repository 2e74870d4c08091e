package metadata

import (
	"context"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/internal/security/scram"
)

func upsert(name string, mech int8, iterations int32) ScramUpsertion {
	return ScramUpsertion{Name: name, Mechanism: mech, Iterations: iterations, Salt: []byte("salt"), SaltedPassword: []byte("salted-" + name)}
}

func TestAlterUserScramCredentials(t *testing.T) {
	ctl, log := newTestController(t, []int32{1}, nil)
	ctx := context.Background()
	res := ctl.AlterUserScramCredentials(ctx, nil, []ScramUpsertion{upsert("alice", ScramSHA256, 4096), upsert("bob", ScramSHA512, 16384)})
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.User, r.Err)
		}
	}
	c, ok := log.img.ScramCredential("alice", ScramSHA256)
	if !ok || c.Iterations != 4096 || string(c.Salt) != "salt" {
		t.Fatalf("alice: %+v %v", c, ok)
	}
	// The stored keys are derived from the salted password; the salted password is not kept.
	stored, server, _ := scram.Keys(scram.SHA256, []byte("salted-alice"))
	if string(c.StoredKey) != string(stored) || string(c.ServerKey) != string(server) {
		t.Fatal("stored or server key not derived from the salted password")
	}

	cases := []struct {
		name       string
		deletions  []ScramDeletion
		upsertions []ScramUpsertion
		want       map[string]error
	}{
		{"empty user", nil, []ScramUpsertion{upsert("", ScramSHA256, 4096)}, map[string]error{"": ErrUnacceptableCredential}},
		{"too few iterations", nil, []ScramUpsertion{upsert("carol", ScramSHA256, 4095)}, map[string]error{"carol": ErrUnacceptableCredential}},
		{"too many iterations", nil, []ScramUpsertion{upsert("carol", ScramSHA512, 16385)}, map[string]error{"carol": ErrUnacceptableCredential}},
		{"unknown mechanism", nil, []ScramUpsertion{upsert("carol", 3, 4096)}, map[string]error{"carol": ErrUnsupportedSaslMechanism}},
		{"empty salted password", nil, []ScramUpsertion{{Name: "carol", Mechanism: 1, Iterations: 4096, Salt: []byte{1}}}, map[string]error{"carol": ErrUnacceptableCredential}},
		{"delete unknown user", []ScramDeletion{{Name: "dave", Mechanism: ScramSHA256}}, nil, map[string]error{"dave": ErrResourceNotFound}},
		{"delete unknown mechanism", []ScramDeletion{{Name: "alice", Mechanism: ScramSHA512}}, nil, map[string]error{"alice": ErrResourceNotFound}},
		{"user twice", []ScramDeletion{{Name: "alice", Mechanism: ScramSHA256}}, []ScramUpsertion{upsert("alice", ScramSHA512, 4096), upsert("erin", ScramSHA512, 4096)},
			map[string]error{"alice": ErrDuplicateResource, "erin": nil}},
		{"upsert twice", nil, []ScramUpsertion{upsert("frank", ScramSHA256, 4096), upsert("frank", ScramSHA512, 4096), upsert("frank", ScramSHA512, 4096)},
			map[string]error{"frank": ErrDuplicateResource}},
		{"delete and add", []ScramDeletion{{Name: "bob", Mechanism: ScramSHA512}}, []ScramUpsertion{upsert("alice", ScramSHA512, 8192)},
			map[string]error{"bob": nil, "alice": nil}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := ctl.AlterUserScramCredentials(ctx, tc.deletions, tc.upsertions)
			if len(res) != len(tc.want) {
				t.Fatalf("%d results %+v, want %d", len(res), res, len(tc.want))
			}
			for _, r := range res {
				want, ok := tc.want[r.User]
				if !ok {
					t.Fatalf("result for %q not asked", r.User)
				}
				if want == nil && r.Err != nil || want != nil && !errors.Is(r.Err, want) {
					t.Errorf("%s: err %v, want %v", r.User, r.Err, want)
				}
			}
		})
	}
	if _, ok := log.img.ScramCredential("bob", ScramSHA512); ok {
		t.Error("bob's credential not deleted")
	}
	if _, ok := log.img.ScramCredential("frank", ScramSHA256); ok {
		t.Error("a user altered twice was changed")
	}
	if c, _ := log.img.ScramCredential("alice", ScramSHA512); c.Iterations != 8192 {
		t.Errorf("alice's SHA-512 credential: %+v", c)
	}

	log.leader = false
	if res := ctl.AlterUserScramCredentials(ctx, nil, []ScramUpsertion{upsert("x", ScramSHA256, 4096)}); !errors.Is(res[0].Err, ErrNotController) {
		t.Errorf("on a non-leader: %v", res[0].Err)
	}
}

func binding(typ int8, name string, pattern int8, principal string, op, perm int8) ACLBinding {
	return ACLBinding{ResourceType: typ, ResourceName: name, PatternType: pattern, Principal: principal, Host: "*", Operation: op, Permission: perm}
}

const (
	opRead     int8 = 3
	opWrite    int8 = 4
	opDescribe int8 = 8
)

func TestCreateAndDeleteACLs(t *testing.T) {
	ctl, log := newTestController(t, []int32{1}, nil)
	ctx := context.Background()
	good := []ACLBinding{
		binding(ACLResourceTopic, "orders", ACLPatternLiteral, "User:alice", opRead, ACLPermissionAllow),
		binding(ACLResourceTopic, "ord", ACLPatternPrefixed, "User:bob", opWrite, ACLPermissionAllow),
		binding(ACLResourceTopic, "*", ACLPatternLiteral, "User:*", opDescribe, ACLPermissionAllow),
		binding(ACLResourceGroup, "g", ACLPatternLiteral, "User:alice", opRead, ACLPermissionDeny),
		binding(ACLResourceCluster, ClusterResourceName, ACLPatternLiteral, "User:admin", ACLOperationAll, ACLPermissionAllow),
	}
	for i, err := range ctl.CreateACLs(ctx, good) {
		if err != nil {
			t.Fatalf("binding %d: %v", i, err)
		}
	}
	if n := len(log.img.ACLs()); n != 5 {
		t.Fatalf("%d ACLs", n)
	}
	// Creating an existing ACL succeeds and adds nothing; a repeat within a request too.
	proposed := log.proposed
	if errs := ctl.CreateACLs(ctx, good[:2]); errs[0] != nil || errs[1] != nil || log.proposed != proposed {
		t.Fatalf("re-create: %v, %d proposals", errs, log.proposed-proposed)
	}

	invalid := map[string]ACLBinding{
		"pattern ANY":      binding(ACLResourceTopic, "t", ACLAny, "User:a", opRead, ACLPermissionAllow),
		"pattern MATCH":    binding(ACLResourceTopic, "t", ACLPatternMatch, "User:a", opRead, ACLPermissionAllow),
		"resource ANY":     binding(ACLAny, "t", ACLPatternLiteral, "User:a", opRead, ACLPermissionAllow),
		"resource unknown": binding(0, "t", ACLPatternLiteral, "User:a", opRead, ACLPermissionAllow),
		"operation ANY":    binding(ACLResourceTopic, "t", ACLPatternLiteral, "User:a", ACLAny, ACLPermissionAllow),
		"permission ANY":   binding(ACLResourceTopic, "t", ACLPatternLiteral, "User:a", opRead, ACLAny),
		"no colon":         binding(ACLResourceTopic, "t", ACLPatternLiteral, "alice", opRead, ACLPermissionAllow),
		"empty name":       binding(ACLResourceTopic, "", ACLPatternLiteral, "User:a", opRead, ACLPermissionAllow),
		"cluster name":     binding(ACLResourceCluster, "c", ACLPatternLiteral, "User:a", opRead, ACLPermissionAllow),
	}
	for name, b := range invalid {
		if errs := ctl.CreateACLs(ctx, []ACLBinding{b}); !errors.Is(errs[0], ErrInvalidRequest) {
			t.Errorf("%s: %v, want ErrInvalidRequest", name, errs[0])
		}
	}

	str := func(s string) *string { return &s }
	res := ctl.DeleteACLs(ctx, []ACLFilter{
		// MATCH on "orders": the literal ACL, the prefixed "ord" and the wildcard.
		{ResourceType: ACLResourceTopic, ResourceName: str("orders"), PatternType: ACLPatternMatch, Operation: ACLAny, Permission: ACLAny},
		// The same ACLs again, by principal: listed again, removed once.
		{ResourceType: ACLAny, PatternType: ACLAny, Principal: str("User:alice"), Operation: ACLAny, Permission: ACLAny},
		{ResourceType: 0, PatternType: ACLAny, Operation: ACLAny, Permission: ACLAny},
	})
	if res[0].Err != nil || len(res[0].Matching) != 3 {
		t.Fatalf("MATCH filter: %v, %d matching", res[0].Err, len(res[0].Matching))
	}
	if res[1].Err != nil || len(res[1].Matching) != 2 {
		t.Fatalf("principal filter: %v, %d matching", res[1].Err, len(res[1].Matching))
	}
	if !errors.Is(res[2].Err, ErrInvalidRequest) {
		t.Fatalf("unknown resource type filter: %v", res[2].Err)
	}
	left := log.img.ACLs()
	if len(left) != 1 || left[0].ResourceType != ACLResourceCluster {
		t.Fatalf("left %+v", left)
	}
}

func TestACLFilterMatches(t *testing.T) {
	str := func(s string) *string { return &s }
	lit := &ACL{ResourceType: ACLResourceTopic, ResourceName: "orders", PatternType: ACLPatternLiteral, Principal: "User:a", Host: "*", Operation: opRead, Permission: ACLPermissionAllow}
	pre := &ACL{ResourceType: ACLResourceTopic, ResourceName: "ord", PatternType: ACLPatternPrefixed, Principal: "User:a", Host: "10.0.0.1", Operation: opWrite, Permission: ACLPermissionDeny}
	wild := &ACL{ResourceType: ACLResourceTopic, ResourceName: "*", PatternType: ACLPatternLiteral, Principal: "User:*", Host: "*", Operation: ACLOperationAll, Permission: ACLPermissionAllow}
	any := ACLFilter{ResourceType: ACLAny, PatternType: ACLAny, Operation: ACLAny, Permission: ACLAny}
	with := func(f func(*ACLFilter)) ACLFilter { c := any; f(&c); return c }
	cases := []struct {
		name   string
		filter ACLFilter
		want   [3]bool // lit, pre, wild
	}{
		{"everything", any, [3]bool{true, true, true}},
		{"ANY pattern exact name", with(func(f *ACLFilter) { f.ResourceName = str("orders") }), [3]bool{true, false, false}},
		{"LITERAL exact name", with(func(f *ACLFilter) { f.ResourceName, f.PatternType = str("orders"), ACLPatternLiteral }), [3]bool{true, false, false}},
		{"PREFIXED exact prefix", with(func(f *ACLFilter) { f.ResourceName, f.PatternType = str("ord"), ACLPatternPrefixed }), [3]bool{false, true, false}},
		{"MATCH resource", with(func(f *ACLFilter) { f.ResourceName, f.PatternType = str("orders"), ACLPatternMatch }), [3]bool{true, true, true}},
		{"MATCH other", with(func(f *ACLFilter) { f.ResourceName, f.PatternType = str("payments"), ACLPatternMatch }), [3]bool{false, false, true}},
		{"MATCH without name", with(func(f *ACLFilter) { f.PatternType = ACLPatternMatch }), [3]bool{true, true, true}},
		{"group type", with(func(f *ACLFilter) { f.ResourceType = ACLResourceGroup }), [3]bool{}},
		{"principal", with(func(f *ACLFilter) { f.Principal = str("User:*") }), [3]bool{false, false, true}},
		{"host", with(func(f *ACLFilter) { f.Host = str("10.0.0.1") }), [3]bool{false, true, false}},
		{"operation", with(func(f *ACLFilter) { f.Operation = opRead }), [3]bool{true, false, false}},
		{"operation ALL is not a wildcard in filters", with(func(f *ACLFilter) { f.Operation = ACLOperationAll }), [3]bool{false, false, true}},
		{"permission", with(func(f *ACLFilter) { f.Permission = ACLPermissionDeny }), [3]bool{false, true, false}},
	}
	for _, tc := range cases {
		got := [3]bool{tc.filter.Matches(lit), tc.filter.Matches(pre), tc.filter.Matches(wild)}
		if got != tc.want {
			t.Errorf("%s: got %v want %v", tc.name, got, tc.want)
		}
	}
}
