package metadata

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"sync"
)

// ScramKey names one stored SCRAM credential: a user and a mechanism.
type ScramKey struct {
	User      string
	Mechanism int8
}

// ScramCredential is a user's stored SCRAM credential for one mechanism. Its byte slices are
// shared and read-only.
type ScramCredential struct {
	Mechanism  int8
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
	Iterations int32
}

// ACL is one access control entry as the Image holds it (see AccessControlEntryRecord for the
// numbering of its fields).
type ACL struct {
	ID           ACLID
	ResourceType int8
	ResourceName string
	PatternType  int8
	Principal    string
	Host         string
	Operation    int8
	Permission   int8
}

// scramSet is the SCRAM credentials of an Image. Immutable once published; shared by every
// Image until a batch changes a credential.
type scramSet struct {
	creds map[ScramKey]ScramCredential
}

// aclSet is the ACLs of an Image. Immutable once published (the sorted view is built once, on
// first use); shared by every Image until a batch changes an ACL.
type aclSet struct {
	byID map[ACLID]*ACL
	// changedAt is the offset of the batch that made this set.
	changedAt int64

	sortedOnce sync.Once
	sorted     []*ACL
}

// ScramCredential returns user's credential for mechanism (ScramSHA256, ScramSHA512).
func (img *Image) ScramCredential(user string, mechanism int8) (ScramCredential, bool) {
	if img.scram == nil {
		return ScramCredential{}, false
	}
	c, ok := img.scram.creds[ScramKey{User: user, Mechanism: mechanism}]
	return c, ok
}

// ScramUsers returns every user with at least one SCRAM credential, sorted.
func (img *Image) ScramUsers() []string {
	if img.scram == nil {
		return nil
	}
	var users []string
	for k := range img.scram.creds {
		users = append(users, k.User)
	}
	slices.Sort(users)
	return slices.Compact(users)
}

// ScramCredentials returns user's credentials by mechanism (SCRAM-SHA-256 first); none when the
// user has none.
func (img *Image) ScramCredentials(user string) []ScramCredential {
	var out []ScramCredential
	for _, m := range []int8{ScramSHA256, ScramSHA512} {
		if c, ok := img.ScramCredential(user, m); ok {
			out = append(out, c)
		}
	}
	return out
}

// ACLs returns every ACL, sorted by resource type, resource name, pattern type, principal,
// host, operation, permission and id. The slice and the ACLs are shared and read-only.
func (img *Image) ACLs() []*ACL {
	if img.acls == nil {
		return nil
	}
	s := img.acls
	s.sortedOnce.Do(func() {
		sorted := slices.Collect(maps.Values(s.byID))
		slices.SortFunc(sorted, compareACLs)
		s.sorted = sorted
	})
	return s.sorted
}

// ACL returns an ACL by id.
func (img *Image) ACL(id ACLID) (*ACL, bool) {
	if img.acls == nil {
		return nil, false
	}
	a, ok := img.acls.byID[id]
	return a, ok
}

// ACLsChangedAt is the offset of the last batch that changed the ACLs (-1 when none ever did):
// an authorizer rebuilds its index only when it moves.
func (img *Image) ACLsChangedAt() int64 {
	if img.acls == nil {
		return -1
	}
	return img.acls.changedAt
}

func compareACLs(a, b *ACL) int {
	return cmp.Or(
		cmp.Compare(a.ResourceType, b.ResourceType),
		strings.Compare(a.ResourceName, b.ResourceName),
		cmp.Compare(a.PatternType, b.PatternType),
		strings.Compare(a.Principal, b.Principal),
		strings.Compare(a.Host, b.Host),
		cmp.Compare(a.Operation, b.Operation),
		cmp.Compare(a.Permission, b.Permission),
		slices.Compare(a.ID[:], b.ID[:]),
	)
}

// SameBinding reports whether a and b grant or deny the same thing (every field but the id).
func (a *ACL) SameBinding(b *ACL) bool {
	return a.ResourceType == b.ResourceType && a.ResourceName == b.ResourceName && a.PatternType == b.PatternType &&
		a.Principal == b.Principal && a.Host == b.Host && a.Operation == b.Operation && a.Permission == b.Permission
}

// applySecurity applies a security record; handled is false for other records.
func (b *builder) applySecurity(r Record) (handled bool, err error) {
	switch r := r.(type) {
	case *UserScramCredentialRecord:
		return true, b.userScramCredential(r)
	case *RemoveUserScramCredentialRecord:
		return true, b.removeUserScramCredential(r)
	case *AccessControlEntryRecord:
		return true, b.accessControlEntry(r)
	case *RemoveAccessControlEntryRecord:
		return true, b.removeAccessControlEntry(r)
	}
	return false, nil
}

func (b *builder) ownScram() map[ScramKey]ScramCredential {
	if !b.scramCopied {
		next := &scramSet{creds: map[ScramKey]ScramCredential{}}
		if b.next.scram != nil {
			next.creds = maps.Clone(b.next.scram.creds)
		}
		b.next.scram = next
		b.scramCopied = true
	}
	return b.next.scram.creds
}

func (b *builder) ownACLs() map[ACLID]*ACL {
	if !b.aclsCopied {
		next := &aclSet{byID: map[ACLID]*ACL{}, changedAt: b.offset}
		if b.next.acls != nil {
			next.byID = maps.Clone(b.next.acls.byID)
		}
		b.next.acls = next
		b.aclsCopied = true
	}
	return b.next.acls.byID
}

func (b *builder) userScramCredential(r *UserScramCredentialRecord) error {
	switch {
	case r.Name == "":
		return errorf(ErrInvalidRecord, "SCRAM credential without a user name")
	case ScramMechanismName(r.Mechanism) == "":
		return errorf(ErrInvalidRecord, "SCRAM credential of %s: mechanism %d", r.Name, r.Mechanism)
	case r.Iterations <= 0 || len(r.Salt) == 0 || len(r.StoredKey) == 0 || len(r.ServerKey) == 0:
		return errorf(ErrInvalidRecord, "SCRAM credential of %s: empty salt or key, or %d iterations", r.Name, r.Iterations)
	}
	b.ownScram()[ScramKey{User: r.Name, Mechanism: r.Mechanism}] = ScramCredential{
		Mechanism: r.Mechanism, Salt: slices.Clone(r.Salt), StoredKey: slices.Clone(r.StoredKey),
		ServerKey: slices.Clone(r.ServerKey), Iterations: r.Iterations,
	}
	return nil
}

func (b *builder) removeUserScramCredential(r *RemoveUserScramCredentialRecord) error {
	key := ScramKey{User: r.Name, Mechanism: r.Mechanism}
	if b.next.scram == nil {
		return errorf(ErrInvalidRecord, "remove unknown %s credential of %q", ScramMechanismName(r.Mechanism), r.Name)
	}
	if _, ok := b.next.scram.creds[key]; !ok {
		return errorf(ErrInvalidRecord, "remove unknown %s credential of %q", ScramMechanismName(r.Mechanism), r.Name)
	}
	delete(b.ownScram(), key)
	return nil
}

func (b *builder) accessControlEntry(r *AccessControlEntryRecord) error {
	if err := checkACL(r); err != nil {
		return errorf(ErrInvalidRecord, "ACL %s: %v", r.ID, err)
	}
	if _, ok := b.next.ACL(r.ID); ok {
		return errorf(ErrInvalidRecord, "ACL id %s exists", r.ID)
	}
	b.ownACLs()[r.ID] = &ACL{ID: r.ID, ResourceType: r.ResourceType, ResourceName: r.ResourceName,
		PatternType: r.PatternType, Principal: r.Principal, Host: r.Host, Operation: r.Operation, Permission: r.Permission}
	return nil
}

func (b *builder) removeAccessControlEntry(r *RemoveAccessControlEntryRecord) error {
	if _, ok := b.next.ACL(r.ID); !ok {
		return errorf(ErrInvalidRecord, "remove unknown ACL id %s", r.ID)
	}
	delete(b.ownACLs(), r.ID)
	return nil
}

// appendSecurityRecords appends the records that rebuild img's credentials and ACLs, in a
// fixed order (users, then mechanisms; ACLs as ACLs() sorts them).
func (img *Image) appendSecurityRecords(out []Record) []Record {
	if img.scram != nil {
		keys := slices.SortedFunc(maps.Keys(img.scram.creds), func(a, b ScramKey) int {
			return cmp.Or(strings.Compare(a.User, b.User), cmp.Compare(a.Mechanism, b.Mechanism))
		})
		for _, k := range keys {
			c := img.scram.creds[k]
			out = append(out, &UserScramCredentialRecord{Name: k.User, Mechanism: k.Mechanism, Salt: c.Salt,
				StoredKey: c.StoredKey, ServerKey: c.ServerKey, Iterations: c.Iterations})
		}
	}
	for _, a := range img.ACLs() {
		out = append(out, &AccessControlEntryRecord{ID: a.ID, ResourceType: a.ResourceType, ResourceName: a.ResourceName,
			PatternType: a.PatternType, Principal: a.Principal, Host: a.Host, Operation: a.Operation, Permission: a.Permission})
	}
	return out
}
