package metadata

import "strings"

// Filter values that only filters have (Kafka's numbering).
const (
	ACLAny          int8 = 1 // resource type, pattern type, operation or permission ANY
	ACLPatternMatch int8 = 2 // pattern type MATCH
)

// ACLFilter selects ACLs, with Kafka's AclBindingFilter semantics (DescribeAcls, DeleteAcls):
// ANY matches every value; a nil name, principal or host matches every one; pattern type MATCH
// selects the ACLs that apply to the named resource: the literal one, the literal wildcard '*'
// and every prefixed ACL whose prefix the name starts with.
type ACLFilter struct {
	ResourceType int8
	ResourceName *string
	PatternType  int8
	Principal    *string
	Host         *string
	Operation    int8
	Permission   int8
}

// Validate refuses filters with an UNKNOWN (or out of range) value, as Kafka does; the error
// wraps ErrInvalidRequest.
func (f ACLFilter) Validate() error {
	switch {
	case f.ResourceType < ACLAny || f.ResourceType > ACLResourceUser:
		return errorf(ErrInvalidRequest, "invalid resource type filter %d", f.ResourceType)
	case f.PatternType < ACLAny || f.PatternType > ACLPatternPrefixed:
		return errorf(ErrInvalidRequest, "invalid pattern type filter %d", f.PatternType)
	case f.Operation < ACLAny || f.Operation > ACLOperationDescribeTokens:
		return errorf(ErrInvalidRequest, "invalid operation filter %d", f.Operation)
	case f.Permission < ACLAny || f.Permission > ACLPermissionAllow:
		return errorf(ErrInvalidRequest, "invalid permission type filter %d", f.Permission)
	}
	return nil
}

// Matches reports whether a passes the filter.
func (f ACLFilter) Matches(a *ACL) bool {
	return f.matchesPattern(a) && f.matchesEntry(a)
}

func (f ACLFilter) matchesPattern(a *ACL) bool {
	if f.ResourceType != ACLAny && f.ResourceType != a.ResourceType {
		return false
	}
	if f.PatternType != ACLAny && f.PatternType != ACLPatternMatch && f.PatternType != a.PatternType {
		return false
	}
	if f.ResourceName == nil {
		return true
	}
	name := *f.ResourceName
	if f.PatternType == ACLAny || f.PatternType == a.PatternType {
		return name == a.ResourceName
	}
	// MATCH: does the ACL apply to the resource called name?
	switch a.PatternType {
	case ACLPatternLiteral:
		return name == a.ResourceName || a.ResourceName == WildcardResource
	case ACLPatternPrefixed:
		return strings.HasPrefix(name, a.ResourceName)
	}
	return false
}

func (f ACLFilter) matchesEntry(a *ACL) bool {
	if f.Principal != nil && *f.Principal != a.Principal {
		return false
	}
	if f.Host != nil && *f.Host != a.Host {
		return false
	}
	if f.Operation != ACLAny && f.Operation != a.Operation {
		return false
	}
	return f.Permission == ACLAny || f.Permission == a.Permission
}
