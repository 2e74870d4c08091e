package acl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// Names accepted for authorizer.class.name: Kafka's KRaft authorizer class and a short name.
const (
	StandardAuthorizerClass = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
	ShortName               = "sluice"
)

// ErrUnknownAuthorizer: authorizer.class.name names an authorizer Sluice does not have.
var ErrUnknownAuthorizer = errors.New("acl: unknown authorizer.class.name")

// Enabled reports whether className (authorizer.class.name) switches the authorizer on: false
// for "", true for StandardAuthorizerClass or ShortName, and an error wrapping
// ErrUnknownAuthorizer for anything else, so a broker configured for another authorizer does
// not start unprotected.
func Enabled(className string) (bool, error) {
	switch strings.TrimSpace(className) {
	case "":
		return false, nil
	case StandardAuthorizerClass, ShortName:
		return true, nil
	}
	return false, fmt.Errorf("%w: %q; Sluice has %s (also called %q)", ErrUnknownAuthorizer, className, StandardAuthorizerClass, ShortName)
}

// Options configure an Authorizer.
type Options struct {
	// SuperUsers is super.users: principals separated by ';' ("User:admin;User:bob").
	SuperUsers string
	// AllowEveryoneIfNoACLFound is allow.everyone.if.no.acl.found.
	AllowEveryoneIfNoACLFound bool
	// Logger gets every decision at debug level; nil logs nothing.
	Logger *slog.Logger
	// Registerer gets sluice_authorizer_decisions_total; nil registers nothing.
	Registerer prometheus.Registerer
	// Loaded reports whether this node's metadata has caught up with the log (the ACLs are
	// all there); until it first does, only super users are allowed, as Kafka's authorizer
	// refuses everyone else before its initial load. Nil: loaded from the start.
	Loaded func() bool
}

// Authorizer implements api.Authorizer. Safe for concurrent use.
type Authorizer struct {
	superUsers   map[string]bool
	allowIfNoACL bool
	logger       *slog.Logger
	allowed      prometheus.Counter
	denied       prometheus.Counter
	idx          atomic.Pointer[index]
	isLoaded     func() bool
	loaded       atomic.Bool // latched once isLoaded says true
}

// New returns an Authorizer with no ACLs until the first Update.
func New(opts Options) (*Authorizer, error) {
	a := &Authorizer{superUsers: map[string]bool{}, allowIfNoACL: opts.AllowEveryoneIfNoACLFound, logger: opts.Logger,
		isLoaded: opts.Loaded}
	a.loaded.Store(opts.Loaded == nil)
	for _, p := range strings.Split(opts.SuperUsers, ";") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if strings.IndexByte(p, ':') <= 0 {
			return nil, fmt.Errorf("super.users: %q is not a principal (Type:Name, e.g. User:admin)", p)
		}
		a.superUsers[p] = true
	}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_authorizer_decisions_total",
		Help: "Authorization decisions of the ACL authorizer, by result (allowed, denied)."}, []string{"result"})
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(decisions); err != nil {
			return nil, fmt.Errorf("register authorizer metrics: %w", err)
		}
	}
	// Resolved once: Authorize must not allocate.
	a.allowed, a.denied = decisions.WithLabelValues("allowed"), decisions.WithLabelValues("denied")
	a.idx.Store(buildIndex(metadata.Empty()))
	return a, nil
}

// Update makes the ACLs of img the ones Authorize uses. It rebuilds the index only when the
// ACLs changed since the last Update. Call it from one goroutine (the metadata subscriber).
func (a *Authorizer) Update(img *metadata.Image) {
	if cur := a.idx.Load(); cur != nil && cur.changedAt == img.ACLsChangedAt() {
		return
	}
	a.idx.Store(buildIndex(img))
}

// Authorize reports whether principal ("" is User:ANONYMOUS), connecting from host (an IP),
// may perform op on the resource typ/name.
func (a *Authorizer) Authorize(principal, host string, op kmsg.ACLOperation, typ kmsg.ACLResourceType, name string) bool {
	if principal == "" {
		principal = "User:ANONYMOUS"
	}
	allowed, reason := a.decide(principal, host, int8(op), int8(typ), name)
	if allowed {
		a.allowed.Inc()
	} else {
		a.denied.Inc()
	}
	if a.logger.Enabled(context.Background(), slog.LevelDebug) {
		a.logger.Debug("authorization", "principal", principal, "host", host, "operation", op.String(),
			"resource_type", typ.String(), "resource", name, "allowed", allowed, "reason", reason)
	}
	return allowed
}

// Reasons of a decision, for the debug log.
const (
	reasonSuperUser = "super user"
	reasonDeny      = "a DENY ACL applies"
	reasonAllow     = "an ALLOW ACL applies"
	reasonNoACL     = "no ACL for the resource (allow.everyone.if.no.acl.found)"
	reasonNoMatch   = "no ACL applies to the principal, host and operation"
	reasonNotLoaded = "the ACLs are not loaded yet (metadata catching up)"
)

func (a *Authorizer) decide(principal, host string, op, typ int8, name string) (bool, string) {
	if a.superUsers[principal] {
		return true, reasonSuperUser
	}
	if !a.loaded.Load() {
		if !a.isLoaded() {
			return false, reasonNotLoaded
		}
		a.loaded.Store(true)
	}
	ix := a.idx.Load()
	if typ < 0 || int(typ) >= len(ix.byType) {
		return false, reasonNoMatch
	}
	t := &ix.byType[typ]
	m := matcher{principal: principal, host: host, op: op}
	if m.check(t.literal[name]) {
		return false, reasonDeny
	}
	if name != metadata.WildcardResource && m.check(t.literal[metadata.WildcardResource]) {
		return false, reasonDeny
	}
	for _, n := range t.prefixLens {
		if n > len(name) {
			break
		}
		if m.check(t.prefixed[name[:n]]) {
			return false, reasonDeny
		}
	}
	switch {
	case m.allow:
		return true, reasonAllow
	case !m.found && a.allowIfNoACL:
		return true, reasonNoACL
	}
	return false, reasonNoMatch
}

// matcher walks the ACLs of a resource for one request.
type matcher struct {
	principal, host string
	op              int8
	found           bool // some ACL exists for the resource
	allow           bool // an ALLOW applies
}

// check looks at entries and reports whether a DENY applies.
func (m *matcher) check(entries []entry) bool {
	for i := range entries {
		e := &entries[i]
		m.found = true
		if e.principal != m.principal && e.principal != metadata.WildcardPrincipal {
			continue
		}
		if e.host != metadata.WildcardHost && e.host != m.host {
			continue
		}
		if e.permission == metadata.ACLPermissionDeny {
			if e.operation == metadata.ACLOperationAll || e.operation == m.op {
				return true
			}
			continue
		}
		if e.operation == metadata.ACLOperationAll || e.operation == m.op || implies(e.operation, m.op) {
			m.allow = true
		}
	}
	return false
}

// Kafka's operation codes the implications need.
const (
	opRead            = int8(kmsg.ACLOperationRead)
	opWrite           = int8(kmsg.ACLOperationWrite)
	opDelete          = int8(kmsg.ACLOperationDelete)
	opAlter           = int8(kmsg.ACLOperationAlter)
	opDescribe        = int8(kmsg.ACLOperationDescribe)
	opDescribeConfigs = int8(kmsg.ACLOperationDescribeConfigs)
	opAlterConfigs    = int8(kmsg.ACLOperationAlterConfigs)
)

// implies reports whether an ALLOW for granted also allows requested: READ, WRITE, DELETE and
// ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS.
func implies(granted, requested int8) bool {
	switch requested {
	case opDescribe:
		return granted == opRead || granted == opWrite || granted == opDelete || granted == opAlter
	case opDescribeConfigs:
		return granted == opAlterConfigs
	}
	return false
}

// entry is one ACL of a resource pattern.
type entry struct {
	principal, host       string
	operation, permission int8
}

// index is the ACLs of one Image, by resource type and pattern; immutable once built.
type index struct {
	changedAt int64
	byType    [metadata.ACLResourceUser + 1]typeIndex
}

type typeIndex struct {
	literal  map[string][]entry // by resource name, "*" included
	prefixed map[string][]entry // by prefix
	// prefixLens are the distinct lengths of the prefixes, ascending: a lookup tries each
	// prefix of the resource name that some ACL could have.
	prefixLens []int
}

func buildIndex(img *metadata.Image) *index {
	ix := &index{changedAt: img.ACLsChangedAt()}
	for _, a := range img.ACLs() {
		t := &ix.byType[a.ResourceType] // ACL records hold types 2..7 (metadata.checkACL)
		e := entry{principal: a.Principal, host: a.Host, operation: a.Operation, permission: a.Permission}
		if a.PatternType == metadata.ACLPatternPrefixed {
			if t.prefixed == nil {
				t.prefixed = map[string][]entry{}
			}
			t.prefixed[a.ResourceName] = append(t.prefixed[a.ResourceName], e)
			if !slices.Contains(t.prefixLens, len(a.ResourceName)) {
				t.prefixLens = append(t.prefixLens, len(a.ResourceName))
			}
			continue
		}
		if t.literal == nil {
			t.literal = map[string][]entry{}
		}
		t.literal[a.ResourceName] = append(t.literal[a.ResourceName], e)
	}
	for i := range ix.byType {
		slices.Sort(ix.byType[i].prefixLens)
	}
	return ix
}
