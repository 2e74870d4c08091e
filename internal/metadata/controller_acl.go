package metadata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sluicehq/sluice/internal/security/scram"
)

// Errors of the SCRAM and ACL operations (internal/api maps them, codes in brackets).
var (
	ErrUnacceptableCredential   = errors.New("metadata: unacceptable credential")    // UNACCEPTABLE_CREDENTIAL
	ErrDuplicateResource        = errors.New("metadata: duplicate resource")         // DUPLICATE_RESOURCE
	ErrResourceNotFound         = errors.New("metadata: resource not found")         // RESOURCE_NOT_FOUND
	ErrUnsupportedSaslMechanism = errors.New("metadata: unsupported SASL mechanism") // UNSUPPORTED_SASL_MECHANISM
)

// ScramDeletion removes a user's credential for one mechanism (AlterUserScramCredentials).
type ScramDeletion struct {
	Name      string
	Mechanism int8
}

// ScramUpsertion sets a user's credential for one mechanism. The client salts the password
// (KIP-554): the controller never sees it.
type ScramUpsertion struct {
	Name           string
	Mechanism      int8
	Iterations     int32
	Salt           []byte
	SaltedPassword []byte
}

// ScramResult is the outcome for one user of AlterUserScramCredentials.
type ScramResult struct {
	User string
	Err  error
}

// scramAlteration is the one change a request makes to a user.
type scramAlteration struct {
	deletion  *ScramDeletion
	upsertion *ScramUpsertion
	err       error
}

// AlterUserScramCredentials applies deletions and upsertions with KIP-554's rules (Kafka's
// ScramControlManager): one result per user named, in the order users first appear (deletions
// first); a user altered twice in one request gets DUPLICATE_RESOURCE and no change; an empty
// name UNACCEPTABLE_CREDENTIAL; an unknown mechanism UNSUPPORTED_SASL_MECHANISM; iterations
// outside 4096..16384 UNACCEPTABLE_CREDENTIAL; deleting a credential that does not exist
// RESOURCE_NOT_FOUND. The valid changes are committed together.
func (c *Controller) AlterUserScramCredentials(ctx context.Context, deletions []ScramDeletion, upsertions []ScramUpsertion) []ScramResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	var order []string
	users := map[string]*scramAlteration{}
	add := func(name string, alt scramAlteration) {
		prev, seen := users[name]
		if !seen {
			order = append(order, name)
			users[name] = &alt
			return
		}
		if prev.err == nil || !errors.Is(prev.err, ErrDuplicateResource) {
			*prev = scramAlteration{err: errorf(ErrDuplicateResource, "a user credential cannot be altered twice in the same request")}
		}
	}
	for i := range deletions {
		add(deletions[i].Name, scramAlteration{deletion: &deletions[i]})
	}
	for i := range upsertions {
		add(upsertions[i].Name, scramAlteration{upsertion: &upsertions[i]})
	}
	img, err := c.log.LeaderImage(ctx)
	results := make([]ScramResult, len(order))
	if err != nil {
		for i, name := range order {
			results[i] = ScramResult{User: name, Err: err}
		}
		return results
	}
	var records []Record
	for i, name := range order {
		alt := users[name]
		results[i].User = name
		if alt.err != nil {
			results[i].Err = alt.err
			continue
		}
		rec, err := planScram(img, alt)
		if err != nil {
			results[i].Err = err
			continue
		}
		records = append(records, rec)
	}
	if len(records) == 0 {
		return results
	}
	if _, err := c.log.Propose(ctx, records); err != nil {
		for i := range results {
			if results[i].Err == nil {
				results[i].Err = err
			}
		}
	}
	return results
}

func planScram(img *Image, alt *scramAlteration) (Record, error) {
	if d := alt.deletion; d != nil {
		if err := checkScramUser(d.Name, d.Mechanism); err != nil {
			return nil, err
		}
		if _, ok := img.ScramCredential(d.Name, d.Mechanism); !ok {
			return nil, errorf(ErrResourceNotFound, "attempt to delete a user credential that does not exist")
		}
		return &RemoveUserScramCredentialRecord{Name: d.Name, Mechanism: d.Mechanism}, nil
	}
	u := alt.upsertion
	if err := checkScramUser(u.Name, u.Mechanism); err != nil {
		return nil, err
	}
	switch {
	case u.Iterations < scram.MinIterations:
		return nil, errorf(ErrUnacceptableCredential, "too few iterations: %d (at least %d)", u.Iterations, scram.MinIterations)
	case u.Iterations > scram.MaxIterations:
		return nil, errorf(ErrUnacceptableCredential, "too many iterations: %d (at most %d)", u.Iterations, scram.MaxIterations)
	case len(u.Salt) == 0:
		return nil, errorf(ErrUnacceptableCredential, "the salt must not be empty")
	case len(u.SaltedPassword) == 0:
		return nil, errorf(ErrUnacceptableCredential, "the salted password must not be empty")
	}
	stored, server, err := scram.Keys(u.Mechanism, u.SaltedPassword)
	if err != nil {
		return nil, errorf(ErrUnsupportedSaslMechanism, "%v", err)
	}
	return &UserScramCredentialRecord{Name: u.Name, Mechanism: u.Mechanism, Salt: u.Salt, StoredKey: stored,
		ServerKey: server, Iterations: u.Iterations}, nil
}

func checkScramUser(name string, mechanism int8) error {
	if name == "" {
		return errorf(ErrUnacceptableCredential, "username must not be empty")
	}
	if ScramMechanismName(mechanism) == "" {
		return errorf(ErrUnsupportedSaslMechanism, "unknown SCRAM mechanism %d", mechanism)
	}
	return nil
}

// ACLBinding is an ACL without its id: what CreateAcls asks for.
type ACLBinding struct {
	ResourceType int8
	ResourceName string
	PatternType  int8
	Principal    string
	Host         string
	Operation    int8
	Permission   int8
}

// ValidateACLBinding applies Kafka's checks of a new ACL (AclControlManager.validateNewAcl and
// the broker's CreateAcls checks); the error wraps ErrInvalidRequest.
func ValidateACLBinding(b ACLBinding) error {
	switch {
	case b.ResourceType < ACLResourceTopic || b.ResourceType > ACLResourceUser:
		return errorf(ErrInvalidRequest, "invalid resource type %d", b.ResourceType)
	case b.PatternType != ACLPatternLiteral && b.PatternType != ACLPatternPrefixed:
		return errorf(ErrInvalidRequest, "invalid pattern type %d: an ACL is LITERAL or PREFIXED", b.PatternType)
	case b.Operation < ACLOperationAll || b.Operation > ACLOperationDescribeTokens:
		return errorf(ErrInvalidRequest, "invalid operation %d", b.Operation)
	case b.Permission != ACLPermissionDeny && b.Permission != ACLPermissionAllow:
		return errorf(ErrInvalidRequest, "invalid permission type %d", b.Permission)
	case b.ResourceName == "":
		return errorf(ErrInvalidRequest, "invalid empty resource name")
	case b.ResourceType == ACLResourceCluster && b.ResourceName != ClusterResourceName:
		return errorf(ErrInvalidRequest, "the only valid name for the CLUSTER resource is %s", ClusterResourceName)
	case strings.IndexByte(b.Principal, ':') < 0:
		return errorf(ErrInvalidRequest, "could not parse principal from `%s` (no colon is present separating the principal type from the principal name)", b.Principal)
	case strings.IndexByte(b.Principal, ':') == 0:
		return errorf(ErrInvalidRequest, "principal `%s` has an empty type", b.Principal)
	case b.Host == "":
		return errorf(ErrInvalidRequest, "invalid empty host (use * for every host)")
	}
	return nil
}

func (b ACLBinding) acl(id ACLID) *ACL {
	return &ACL{ID: id, ResourceType: b.ResourceType, ResourceName: b.ResourceName, PatternType: b.PatternType,
		Principal: b.Principal, Host: b.Host, Operation: b.Operation, Permission: b.Permission}
}

// Binding returns the ACL without its id.
func (a *ACL) Binding() ACLBinding {
	return ACLBinding{ResourceType: a.ResourceType, ResourceName: a.ResourceName, PatternType: a.PatternType,
		Principal: a.Principal, Host: a.Host, Operation: a.Operation, Permission: a.Permission}
}

// MaxACLChangesPerRequest bounds the ACLs one CreateAcls or DeleteAcls may add or remove, as
// Kafka bounds the records of one controller operation.
const MaxACLChangesPerRequest = 10000

// CreateACLs adds ACLs; the result for each binding is in request order (nil: created, or
// already present — creating an existing ACL succeeds and changes nothing, as in Kafka).
func (c *Controller) CreateACLs(ctx context.Context, bindings []ACLBinding) []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs := make([]error, len(bindings))
	img, err := c.log.LeaderImage(ctx)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	existing := map[ACLBinding]bool{}
	for _, a := range img.ACLs() {
		existing[a.Binding()] = true
	}
	var records []Record
	for i, b := range bindings {
		if err := ValidateACLBinding(b); err != nil {
			errs[i] = err
			continue
		}
		if existing[b] {
			continue
		}
		if len(records) >= MaxACLChangesPerRequest {
			errs[i] = errorf(ErrPolicyViolation, "one request may create at most %d ACLs", MaxACLChangesPerRequest)
			continue
		}
		id, err := c.newACLID(img)
		if err != nil {
			errs[i] = err
			continue
		}
		existing[b] = true
		a := b.acl(id)
		records = append(records, &AccessControlEntryRecord{ID: a.ID, ResourceType: a.ResourceType, ResourceName: a.ResourceName,
			PatternType: a.PatternType, Principal: a.Principal, Host: a.Host, Operation: a.Operation, Permission: a.Permission})
	}
	if len(records) == 0 {
		return errs
	}
	if _, err := c.log.Propose(ctx, records); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return errs
}

func (c *Controller) newACLID(img *Image) (ACLID, error) {
	for {
		var id ACLID
		if _, err := io.ReadFull(c.opts.Random, id[:]); err != nil {
			return ACLID{}, fmt.Errorf("generate ACL id: %w", err)
		}
		if _, taken := img.ACL(id); !taken && id != (ACLID{}) {
			return id, nil
		}
	}
}

// DeletedACLs is the outcome of one DeleteAcls filter: the ACLs it matched (and deleted).
type DeletedACLs struct {
	Matching []*ACL
	Err      error
}

// DeleteACLs deletes every ACL each filter matches; an ACL matched by several filters is listed
// under each (Kafka's AclControlManager). Results are in filter order.
func (c *Controller) DeleteACLs(ctx context.Context, filters []ACLFilter) []DeletedACLs {
	c.mu.Lock()
	defer c.mu.Unlock()
	results := make([]DeletedACLs, len(filters))
	img, err := c.log.LeaderImage(ctx)
	if err != nil {
		for i := range results {
			results[i].Err = err
		}
		return results
	}
	deleting := map[ACLID]bool{}
	var records []Record
	for i, f := range filters {
		if err := f.Validate(); err != nil {
			results[i].Err = err
			continue
		}
		var matching []*ACL
		var recs []Record
		for _, a := range img.ACLs() {
			if !f.Matches(a) {
				continue
			}
			matching = append(matching, a)
			if !deleting[a.ID] {
				recs = append(recs, &RemoveAccessControlEntryRecord{ID: a.ID})
			}
		}
		if len(records)+len(recs) > MaxACLChangesPerRequest {
			results[i].Err = errorf(ErrPolicyViolation, "one request may delete at most %d ACLs", MaxACLChangesPerRequest)
			continue
		}
		for _, a := range matching {
			deleting[a.ID] = true
		}
		results[i].Matching = matching
		records = append(records, recs...)
	}
	if len(records) == 0 {
		return results
	}
	if _, err := c.log.Propose(ctx, records); err != nil {
		for i := range results {
			if results[i].Err == nil {
				results[i].Err, results[i].Matching = err, nil
			}
		}
	}
	return results
}
