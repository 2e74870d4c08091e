package metadata

import (
	"errors"
	"reflect"
	"testing"
)

func aclID(b byte) ACLID { return ACLID{0: 0xac, 15: b} }

func sampleACL(id byte) *AccessControlEntryRecord {
	return &AccessControlEntryRecord{ID: aclID(id), ResourceType: ACLResourceTopic, ResourceName: "orders",
		PatternType: ACLPatternLiteral, Principal: "User:alice", Host: "*", Operation: 3, Permission: ACLPermissionAllow}
}

func sampleScram(user string, mech int8) *UserScramCredentialRecord {
	return &UserScramCredentialRecord{Name: user, Mechanism: mech, Salt: []byte("salt-" + user),
		StoredKey: []byte{1, 2, 3}, ServerKey: []byte{4, 5, 6}, Iterations: 4096}
}

// securitySampleRecords has one record of every security type, with edge values.
func securitySampleRecords() []Record {
	return []Record{
		sampleScram("alice", ScramSHA256),
		&UserScramCredentialRecord{Name: "ünïcode user", Mechanism: ScramSHA512, Salt: []byte{0}, StoredKey: make([]byte, 64),
			ServerKey: make([]byte, 64), Iterations: 2147483647},
		&RemoveUserScramCredentialRecord{Name: "alice", Mechanism: ScramSHA256},
		sampleACL(1),
		&AccessControlEntryRecord{ID: aclID(2), ResourceType: ACLResourceCluster, ResourceName: ClusterResourceName,
			PatternType: ACLPatternPrefixed, Principal: "User:*", Host: "::1", Operation: ACLOperationDescribeTokens,
			Permission: ACLPermissionDeny},
		&RemoveAccessControlEntryRecord{ID: aclID(1)},
	}
}

func TestSecurityRecordsRoundTrip(t *testing.T) {
	recs := securitySampleRecords()
	got, err := DecodeBatch(EncodeBatch(recs))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("round trip differs\n got %#v\nwant %#v", got, recs)
	}
	for _, r := range recs {
		if name := r.Type().String(); name == "" || name[0] == 'R' && name[1] == 'e' && name[2] == 'c' {
			t.Errorf("%T has no name: %q", r, name)
		}
	}
	// The batch applies: the removals find what the batch added.
	img, err := Empty().Apply(1, recs)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := img.ScramCredential("alice", ScramSHA256); ok {
		t.Error("alice's credential survived its removal")
	}
	if c, ok := img.ScramCredential("ünïcode user", ScramSHA512); !ok || c.Iterations != 2147483647 || len(c.StoredKey) != 64 {
		t.Errorf("credential %+v %v", c, ok)
	}
	if acls := img.ACLs(); len(acls) != 1 || acls[0].ID != aclID(2) {
		t.Errorf("ACLs %+v", acls)
	}
}

func TestApplyScramCredentials(t *testing.T) {
	img := build(t,
		[]Record{sampleScram("bob", ScramSHA512), sampleScram("alice", ScramSHA256)},
		[]Record{sampleScram("alice", ScramSHA512)},
	)
	if got := img.ScramUsers(); !reflect.DeepEqual(got, []string{"alice", "bob"}) {
		t.Fatalf("users %v", got)
	}
	if creds := img.ScramCredentials("alice"); len(creds) != 2 || creds[0].Mechanism != ScramSHA256 || creds[1].Mechanism != ScramSHA512 {
		t.Fatalf("alice's credentials %+v", creds)
	}
	// Replacing a credential keeps one per mechanism; the old Image is untouched.
	repl := sampleScram("bob", ScramSHA512)
	repl.Iterations = 8192
	next, err := img.Apply(3, []Record{repl, &RemoveUserScramCredentialRecord{Name: "alice", Mechanism: ScramSHA256}})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := next.ScramCredential("bob", ScramSHA512); c.Iterations != 8192 {
		t.Errorf("bob's replaced credential: %d iterations", c.Iterations)
	}
	if c, _ := img.ScramCredential("bob", ScramSHA512); c.Iterations != 4096 {
		t.Errorf("the previous Image changed: %d iterations", c.Iterations)
	}
	if _, ok := next.ScramCredential("alice", ScramSHA256); ok {
		t.Error("alice's SHA-256 credential not removed")
	}
	if _, ok := img.ScramCredential("alice", ScramSHA256); !ok {
		t.Error("the previous Image lost alice's credential")
	}

	bad := []struct {
		name string
		rec  Record
	}{
		{"empty user", sampleScram("", ScramSHA256)},
		{"unknown mechanism", sampleScram("x", 3)},
		{"no salt", &UserScramCredentialRecord{Name: "x", Mechanism: 1, StoredKey: []byte{1}, ServerKey: []byte{1}, Iterations: 4096}},
		{"zero iterations", &UserScramCredentialRecord{Name: "x", Mechanism: 1, Salt: []byte{1}, StoredKey: []byte{1}, ServerKey: []byte{1}}},
		{"remove unknown user", &RemoveUserScramCredentialRecord{Name: "carol", Mechanism: ScramSHA256}},
		{"remove unknown mechanism", &RemoveUserScramCredentialRecord{Name: "bob", Mechanism: ScramSHA256}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := img.Apply(9, []Record{tc.rec}); !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("err %v, want ErrInvalidRecord", err)
			}
		})
	}
}

func TestApplyACLs(t *testing.T) {
	second := sampleACL(2)
	second.ResourceType, second.ResourceName = ACLResourceGroup, "g"
	img := build(t, []Record{sampleACL(1), second}, []Record{&ClusterIDRecord{ClusterID: "c"}})
	if img.ACLsChangedAt() != 1 {
		t.Errorf("ACLs changed at %d, want 1 (the batch that added them)", img.ACLsChangedAt())
	}
	acls := img.ACLs()
	if len(acls) != 2 || acls[0].ResourceType != ACLResourceTopic || acls[1].ResourceName != "g" {
		t.Fatalf("ACLs not sorted by resource type: %+v %+v", acls[0], acls[1])
	}
	next, err := img.Apply(3, []Record{&RemoveAccessControlEntryRecord{ID: aclID(1)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(next.ACLs()) != 1 || next.ACLsChangedAt() != 3 || len(img.ACLs()) != 2 {
		t.Fatalf("after removal: %d ACLs changed at %d; previous Image has %d", len(next.ACLs()), next.ACLsChangedAt(), len(img.ACLs()))
	}

	mutate := func(f func(r *AccessControlEntryRecord)) *AccessControlEntryRecord {
		r := sampleACL(9)
		f(r)
		return r
	}
	bad := []struct {
		name string
		rec  Record
	}{
		{"duplicate id", sampleACL(1)},
		{"zero id", mutate(func(r *AccessControlEntryRecord) { r.ID = ACLID{} })},
		{"resource type ANY", mutate(func(r *AccessControlEntryRecord) { r.ResourceType = 1 })},
		{"resource type 8", mutate(func(r *AccessControlEntryRecord) { r.ResourceType = 8 })},
		{"pattern MATCH", mutate(func(r *AccessControlEntryRecord) { r.PatternType = 2 })},
		{"empty name", mutate(func(r *AccessControlEntryRecord) { r.ResourceName = "" })},
		{"cluster not kafka-cluster", mutate(func(r *AccessControlEntryRecord) { r.ResourceType = ACLResourceCluster })},
		{"principal without type", mutate(func(r *AccessControlEntryRecord) { r.Principal = "alice" })},
		{"empty host", mutate(func(r *AccessControlEntryRecord) { r.Host = "" })},
		{"operation ANY", mutate(func(r *AccessControlEntryRecord) { r.Operation = 1 })},
		{"operation 15", mutate(func(r *AccessControlEntryRecord) { r.Operation = 15 })},
		{"permission ANY", mutate(func(r *AccessControlEntryRecord) { r.Permission = 1 })},
		{"remove unknown", &RemoveAccessControlEntryRecord{ID: aclID(7)}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := img.Apply(9, []Record{tc.rec}); !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("err %v, want ErrInvalidRecord", err)
			}
		})
	}
}

func TestSnapshotKeepsSecurity(t *testing.T) {
	img := build(t, BootstrapRecords("c"),
		[]Record{sampleScram("bob", ScramSHA512), sampleScram("alice", ScramSHA256), sampleACL(3), sampleACL(1)})
	got, err := DecodeSnapshot(AppendSnapshot(nil, img))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Records(), img.Records()) {
		t.Fatalf("restored Image differs:\n got %v\nwant %v", got.Records(), img.Records())
	}
	if len(got.ACLs()) != 2 || len(got.ScramUsers()) != 2 {
		t.Fatalf("restored %d ACLs, users %v", len(got.ACLs()), got.ScramUsers())
	}
	if c, ok := got.ScramCredential("bob", ScramSHA512); !ok || string(c.Salt) != "salt-bob" {
		t.Fatalf("bob's credential %+v %v", c, ok)
	}
}
