package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// Options configures a Service.
type Options struct {
	// Log is _schemas: where writes go and what reads wait for. Required.
	Log Log
	// State is the state the store applies _schemas to; nil makes a new one (State() returns
	// it, to be handed to the store).
	State *State
	// Formats parses schemas by type; a type missing here is refused with 42201.
	Formats map[format.SchemaType]format.Format
	// Registerer registers the registry's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger; nil discards.
	Logger *slog.Logger
	// ClusterID is the Kafka cluster id /v1/metadata/id reports.
	ClusterID string
	// HTTPClient forwards writes to the writer (TLS settings of the registry listener); nil
	// uses a plain client with ForwardTimeout.
	HTTPClient *http.Client
	// SyncTimeout bounds how long a request waits for this node to catch up with _schemas
	// (Log.Sync) before it is answered 50002; 0 means 10s.
	SyncTimeout time.Duration
	// ForwardTimeout bounds a forwarded request; 0 means 30s.
	ForwardTimeout time.Duration
	// MaxBodyBytes bounds a request body; 0 means 16 MiB.
	MaxBodyBytes int64
}

// Service is the schema registry: Confluent's operations over State, writing through Log.
type Service struct {
	log        Log
	state      *State
	formats    map[format.SchemaType]format.Format
	metrics    *Metrics
	logger     *slog.Logger
	clusterID  string
	client     *http.Client
	syncTO     time.Duration
	maxBody    int64
	parseCache parseCache

	// syncs coalesces Log.Sync calls (sync).
	syncs struct {
		mu      sync.Mutex
		running bool      // a runSync goroutine is running
		next    *syncCall // the call that starts when the running one ends; nil when none waits
	}

	// writeMu serializes every check-then-append on the writer, so two registrations cannot
	// take the same id or version. Held across Log.Append (the append is the write); never
	// taken by reads.
	writeMu sync.Mutex
}

// New returns a Service.
func New(opts Options) *Service {
	s := &Service{
		log:       opts.Log,
		state:     opts.State,
		formats:   opts.Formats,
		logger:    opts.Logger,
		clusterID: opts.ClusterID,
		client:    opts.HTTPClient,
		syncTO:    opts.SyncTimeout,
		maxBody:   opts.MaxBodyBytes,
	}
	if s.state == nil {
		s.state = NewState()
	}
	if s.formats == nil {
		s.formats = map[format.SchemaType]format.Format{}
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.client == nil {
		to := opts.ForwardTimeout
		if to <= 0 {
			to = 30 * time.Second
		}
		s.client = &http.Client{Timeout: to}
	}
	if s.syncTO <= 0 {
		s.syncTO = 10 * time.Second
	}
	if s.maxBody <= 0 {
		s.maxBody = 16 << 20
	}
	s.metrics = NewMetrics(opts.Registerer, s.state)
	return s
}

// State returns the state the store must apply _schemas to.
func (s *Service) State() *State { return s.state }

// Compatibility levels and modes, as Confluent names them.
const (
	CompatNone               = "NONE"
	CompatBackward           = "BACKWARD"
	CompatBackwardTransitive = "BACKWARD_TRANSITIVE"
	CompatForward            = "FORWARD"
	CompatForwardTransitive  = "FORWARD_TRANSITIVE"
	CompatFull               = "FULL"
	CompatFullTransitive     = "FULL_TRANSITIVE"

	ModeReadWrite        = "READWRITE"
	ModeReadOnly         = "READONLY"
	ModeReadOnlyOverride = "READONLY_OVERRIDE"
	ModeImport           = "IMPORT"
)

// DefaultCompatibility is the global level when none is configured (Confluent's default).
const DefaultCompatibility = CompatBackward

func validLevel(level string) (string, bool) {
	switch l := strings.ToUpper(level); l {
	case CompatNone, CompatBackward, CompatBackwardTransitive, CompatForward,
		CompatForwardTransitive, CompatFull, CompatFullTransitive:
		return l, true
	}
	return "", false
}

func validMode(mode string) (string, bool) {
	switch m := strings.ToUpper(mode); m {
	case ModeReadWrite, ModeReadOnly, ModeReadOnlyOverride, ModeImport:
		return m, true
	}
	return "", false
}

// syncCall is one Log.Sync shared by the requests that joined it.
type syncCall struct {
	done chan struct{}
	err  error
}

// sync waits for this node to have applied _schemas up to its end (50002 after SyncTimeout).
// Concurrent requests share Log.Syncs: a request joins the next Sync to start (never one
// already running, which might have read the end before the request's own predecessor wrote),
// so at most one runs and one waits at any time, however many requests (or produces carrying
// unknown schema ids) arrive.
func (s *Service) sync(ctx context.Context) error {
	s.syncs.mu.Lock()
	c := s.syncs.next
	if c == nil {
		c = &syncCall{done: make(chan struct{})}
		if s.syncs.running {
			s.syncs.next = c
		} else {
			s.syncs.running = true
			go s.runSync(c)
		}
	}
	s.syncs.mu.Unlock()
	select {
	case <-c.done:
	case <-ctx.Done():
		return Errorf(50002, "Timed out waiting for the registry to read %s: %v", TopicName, ctx.Err())
	}
	if err := c.err; err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return Errorf(50002, "Timed out waiting for the registry to read %s: %v", TopicName, err)
		}
		return Errorf(50001, "Error in the backend data store: %v", err)
	}
	return nil
}

// runSync runs c, then the call that queued meanwhile, until none is waiting.
func (s *Service) runSync(c *syncCall) {
	for c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.syncTO)
		c.err = s.log.Sync(ctx)
		cancel()
		close(c.done)
		s.syncs.mu.Lock()
		c, s.syncs.next = s.syncs.next, nil
		if c == nil {
			s.syncs.running = false
		}
		s.syncs.mu.Unlock()
	}
}

// beginWrite takes the writer mutex after checking that this node is the writer (ErrNotWriter
// otherwise: the HTTP layer forwards) and that its state is up to date. The caller must call
// the returned func.
func (s *Service) beginWrite(ctx context.Context) (func(), error) {
	if _, self, ok := s.log.Writer(); !ok {
		return nil, Errorf(50004, "Unknown leader: no node is writing %s right now", TopicName)
	} else if !self {
		return nil, ErrNotWriter
	}
	s.writeMu.Lock()
	if err := s.sync(ctx); err != nil {
		s.writeMu.Unlock()
		return nil, err
	}
	return s.writeMu.Unlock, nil
}

// append writes recs; it returns ErrNotWriter unchanged (the caller forwards).
func (s *Service) append(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.syncTO)
	defer cancel()
	err := s.log.Append(ctx, recs)
	switch {
	case err == nil, errors.Is(err, ErrNotWriter):
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return Errorf(50002, "Register operation timed out: %v", err)
	default:
		var e *Error
		if errors.As(err, &e) {
			return e
		}
		return Errorf(50001, "Error while writing to %s: %v", TopicName, err)
	}
}

// effectiveConfig returns the config that applies to subject: its own, else its context's,
// else the global one, else the default. Fields set at a more specific level win one by one.
func (s *Service) effectiveConfig(subject string) ConfigValue {
	out := ConfigValue{CompatibilityLevel: DefaultCompatibility}
	keys := []string{""}
	if subject != "" {
		if ctx := contextOf(subject); ctx != DefaultContext {
			keys = append(keys, contextPrefix(ctx))
		}
		keys = append(keys, subject)
	}
	for _, k := range keys {
		c, ok := s.state.config(k)
		if !ok {
			continue
		}
		if c.CompatibilityLevel != "" {
			out.CompatibilityLevel = c.CompatibilityLevel
		}
		if c.Normalize != nil {
			out.Normalize = c.Normalize
		}
		if c.Alias != "" {
			out.Alias = c.Alias
		}
		if c.CompatibilityGroup != "" {
			out.CompatibilityGroup = c.CompatibilityGroup
		}
		if c.DefaultMetadata != nil {
			out.DefaultMetadata = c.DefaultMetadata
		}
		if c.OverrideMetadata != nil {
			out.OverrideMetadata = c.OverrideMetadata
		}
		if c.DefaultRuleSet != nil {
			out.DefaultRuleSet = c.DefaultRuleSet
		}
		if c.OverrideRuleSet != nil {
			out.OverrideRuleSet = c.OverrideRuleSet
		}
	}
	return out
}

// effectiveMode returns the mode that applies to subject: READONLY_OVERRIDE globally (or on
// the subject's context) wins over everything; otherwise the subject's own mode, its context's,
// the global one, READWRITE.
func (s *Service) effectiveMode(subject string) string {
	global, _ := s.state.mode("")
	ctxMode := ""
	if subject != "" {
		if ctx := contextOf(subject); ctx != DefaultContext {
			ctxMode, _ = s.state.mode(contextPrefix(ctx))
		}
	}
	if global == ModeReadOnlyOverride || ctxMode == ModeReadOnlyOverride {
		return ModeReadOnlyOverride
	}
	if subject != "" {
		if m, ok := s.state.mode(subject); ok {
			return m
		}
	}
	if ctxMode != "" {
		return ctxMode
	}
	if global != "" {
		return global
	}
	return ModeReadWrite
}

// checkWritable refuses writes to subject in a read-only mode (42205).
func (s *Service) checkWritable(subject string) error {
	switch s.effectiveMode(subject) {
	case ModeReadOnly, ModeReadOnlyOverride:
		if subject == "" {
			return Errorf(42205, "The registry is in read-only mode")
		}
		return Errorf(42205, "Subject %s is in read-only mode", subject)
	}
	return nil
}

// parseCache keeps parsed schemas by their content key, so compatibility checks do not parse
// every earlier version on every registration. Bounded: it is emptied when full.
type parseCache struct {
	mu sync.Mutex
	m  map[string]format.Schema
}

const parseCacheSize = 4096

func (c *parseCache) get(key string) (format.Schema, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[key]
	return p, ok
}

func (c *parseCache) put(key string, p format.Schema) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= parseCacheSize {
		c.m = make(map[string]format.Schema)
	}
	c.m[key] = p
}

// maxReferenceDepth bounds how deep references are followed (a cycle, or a hostile chain).
const maxReferenceDepth = 64

// resolve turns references (relative to ctx) into dependencies, following each referenced
// version's own references.
func (s *Service) resolve(ctx string, refs []format.Reference, depth int) ([]format.Dependency, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	if depth > maxReferenceDepth {
		return nil, fmt.Errorf("references nest deeper than %d", maxReferenceDepth)
	}
	deps := make([]format.Dependency, 0, len(refs))
	for _, ref := range refs {
		subject := qualify(ctx, ref.Subject)
		v, ok := s.findVersion(subject, ref.Version, true)
		if !ok {
			return nil, fmt.Errorf("reference '%s' to subject '%s' version %d not found", ref.Name, ref.Subject, ref.Version)
		}
		sub, err := s.resolve(contextOf(subject), v.References, depth+1)
		if err != nil {
			return nil, err
		}
		deps = append(deps, format.Dependency{Name: ref.Name, Schema: v.Schema, Deps: sub})
	}
	return deps, nil
}

// findVersion returns subject's version v (-1: the latest), soft-deleted ones only if deleted.
func (s *Service) findVersion(subject string, version int, deleted bool) (SchemaValue, bool) {
	versions := s.state.versions(subject)
	if version == -1 {
		for i := len(versions) - 1; i >= 0; i-- {
			if deleted || !versions[i].Deleted {
				return versions[i], true
			}
		}
		return SchemaValue{}, false
	}
	for _, v := range versions {
		if v.Version == version && (deleted || !v.Deleted) {
			return v, true
		}
	}
	return SchemaValue{}, false
}

// parsed is a schema from a request, parsed, in the form it is stored.
type parsed struct {
	value  SchemaValue // Subject, SchemaType, References, Metadata, RuleSet, Schema (stored text)
	schema format.Schema
}

// schemaRequest is the body of register, lookup and compatibility requests. Unknown fields
// are ignored.
type schemaRequest struct {
	Schema     string             `json:"schema"`
	SchemaType format.SchemaType  `json:"schemaType"`
	References []format.Reference `json:"references"`
	Metadata   map[string]any     `json:"metadata"`
	RuleSet    map[string]any     `json:"ruleSet"`
	ID         int                `json:"id"`
	Version    int                `json:"version"`
}

// parse checks req's schema for subject and returns it in its stored form (42201 when it does
// not parse).
func (s *Service) parse(subject string, req *schemaRequest, normalize bool) (*parsed, error) {
	t := format.SchemaType(strings.ToUpper(string(req.SchemaType)))
	if t == "" {
		t = format.Avro
	}
	switch t {
	case format.Avro, format.JSON, format.Protobuf:
	default:
		return nil, Errorf(42201, "Invalid schema type %s", req.SchemaType)
	}
	f := s.formats[t]
	if f == nil {
		return nil, Errorf(42201, "Invalid schema: schema type %s is not supported by this registry", t)
	}
	if strings.TrimSpace(req.Schema) == "" {
		return nil, Errorf(42201, "Empty schema")
	}
	ctx := contextOf(subject)
	deps, err := s.resolve(ctx, req.References, 0)
	if err != nil {
		return nil, Errorf(42201, "Invalid schema of type %s, details: %v", t, err)
	}
	p, err := f.Parse(req.Schema, deps)
	if err != nil {
		return nil, Errorf(42201, "Invalid schema of type %s, details: %v", t, err)
	}
	text := p.Canonical()
	if normalize {
		text = p.Normalized()
	}
	out := &parsed{schema: p, value: SchemaValue{
		Subject: subject, SchemaType: t, References: req.References,
		Metadata: req.Metadata, RuleSet: req.RuleSet, Schema: text,
	}}
	if out.value.References == nil {
		out.value.References = []format.Reference{}
	}
	return out, nil
}

// parseStored parses a stored version (for compatibility checks), cached by content.
func (s *Service) parseStored(v *SchemaValue) (format.Schema, error) {
	key := contentKey(contextOf(v.Subject), v)
	if p, ok := s.parseCache.get(key); ok {
		return p, nil
	}
	f := s.formats[v.SchemaType]
	if f == nil {
		return nil, fmt.Errorf("schema type %s is not supported by this registry", v.SchemaType)
	}
	deps, err := s.resolve(contextOf(v.Subject), v.References, 0)
	if err != nil {
		return nil, err
	}
	p, err := f.Parse(v.Schema, deps)
	if err != nil {
		return nil, err
	}
	s.parseCache.put(key, p)
	return p, nil
}

// formatted is v's schema in the format Confluent's format parameter names (Avro's
// "resolved", Protobuf's "serialized"): the stored text for no format, for a format v's type
// does not have (as "default" is), and should the stored schema no longer parse.
func (s *Service) formatted(v *SchemaValue, name string) string {
	if name == "" {
		return v.Schema
	}
	p, err := s.parseStored(v)
	if err != nil {
		return v.Schema
	}
	if f, ok := p.(format.Formatter); ok {
		if text, ok := f.Formatted(name); ok {
			return text
		}
	}
	return v.Schema
}

// sameSchema reports whether the stored version v is the schema req asks about: same type,
// references and text; metadata and ruleSet compared only when the request gives them.
func sameSchema(v *SchemaValue, p *SchemaValue) bool {
	if v.SchemaType != p.SchemaType || v.Schema != p.Schema || len(v.References) != len(p.References) {
		return false
	}
	ctx := contextOf(v.Subject)
	for i := range v.References {
		a, b := v.References[i], p.References[i]
		if a.Name != b.Name || a.Version != b.Version || qualify(ctx, a.Subject) != qualify(ctx, b.Subject) {
			return false
		}
	}
	if p.Metadata != nil || p.RuleSet != nil {
		return contentKey(ctx, v) == contentKey(ctx, p)
	}
	return true
}
