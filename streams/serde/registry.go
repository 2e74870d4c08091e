package serde

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
)

// SubjectNameStrategy picks the registry subject a serde registers or looks up its schema
// under: Confluent's subject.name.strategy.
type SubjectNameStrategy int

const (
	// TopicNameStrategy: "<topic>-key" or "<topic>-value" (Confluent's default).
	TopicNameStrategy SubjectNameStrategy = iota
	// RecordNameStrategy: the record's fully qualified name (the Avro record's full name,
	// the Protobuf message's full name, the JSON schema's "title").
	RecordNameStrategy
	// TopicRecordNameStrategy: "<topic>-<record name>".
	TopicRecordNameStrategy
)

// Option configures a schema-registry serde (Avro, JSONSchema, Protobuf).
type Option func(*options)

type options struct {
	isKey          bool
	strategy       SubjectNameStrategy
	noAutoRegister bool
	useLatest      bool
	references     []sr.SchemaReference
	validate       bool
	timeout        time.Duration
}

// Key makes the serde one for record keys: the subject is "<topic>-key" under
// TopicNameStrategy (Confluent's isKey).
func Key() Option { return func(o *options) { o.isKey = true } }

// SubjectNames sets the subject name strategy (default TopicNameStrategy).
func SubjectNames(s SubjectNameStrategy) Option { return func(o *options) { o.strategy = s } }

// NoAutoRegister looks the serde's schema up in its subject (POST /subjects/{subject}) instead
// of registering it: Confluent's auto.register.schemas=false. A schema not registered there
// fails Serialize.
func NoAutoRegister() Option { return func(o *options) { o.noAutoRegister = true } }

// UseLatestVersion serializes with the subject's latest registered version instead of
// registering the serde's own schema: Confluent's use.latest.version=true with
// auto.register.schemas=false. For Avro the latest schema is the one the bytes are written
// with. The latest version is fetched once per topic and cached for the serde's life (a
// version registered later is not seen until a new serde is made).
func UseLatestVersion() Option {
	return func(o *options) { o.useLatest, o.noAutoRegister = true, true }
}

// References declares the schemas the serde's schema refers to (Avro named types or JSON
// Schema $refs defined in other subjects), registered there beforehand; they are sent with
// the schema and fetched to parse it. Protobuf serdes find their references themselves.
func References(refs ...sr.SchemaReference) Option {
	return func(o *options) { o.references = append(o.references, refs...) }
}

// ValidateJSON makes a JSONSchema serde validate every value against the schema on Serialize
// and Deserialize, failing the call when it does not conform: Confluent's
// json.fail.invalid.schema=true. Other serdes ignore it.
func ValidateJSON() Option { return func(o *options) { o.validate = true } }

// RequestTimeout bounds each schema registry request (default 30 s).
func RequestTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

func buildOptions(opts []Option) options {
	o := options{timeout: 30 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// subject names the subject for topic and a record's name under o's strategy.
func (o *options) subject(topic, record string) string {
	return SubjectName(o.strategy, topic, record, o.isKey)
}

// SubjectName is the subject a record of topic, whose schema's record name is record, is
// registered under with strategy (isKey: for the record's key): Confluent's
// TopicNameStrategy ("<topic>-key", "<topic>-value"), RecordNameStrategy and
// TopicRecordNameStrategy. Connect's schema-registry converters use it too.
func SubjectName(strategy SubjectNameStrategy, topic, record string, isKey bool) string {
	switch strategy {
	case RecordNameStrategy:
		return record
	case TopicRecordNameStrategy:
		return topic + "-" + record
	}
	if isKey {
		return topic + "-key"
	}
	return topic + "-value"
}

func (o *options) context() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), o.timeout)
}

// maxIndexDepth bounds the Protobuf message-index array read from a record (the nesting
// depth of the message), so that a record cannot make the reader allocate without bound.
const maxIndexDepth = 64

// ErrWireFormat is wrapped by the errors of registry serdes given data not in the Confluent
// wire format (magic byte 0, a 4-byte big-endian schema id, for Protobuf the message index).
var ErrWireFormat = errors.New("serde: not in the Confluent wire format")

// header is the Confluent wire format: 0, the schema id as a big-endian uint32, for Protobuf
// the message index as zig-zag varints (a count, then each index; [0] as a single 0).
var header sr.ConfluentHeader

// decodeHeader splits data into its schema id and payload.
func decodeHeader(format string, data []byte) (int, []byte, error) {
	id, rest, err := header.DecodeID(data)
	if err != nil {
		return 0, nil, fmt.Errorf("serde: %s: %d bytes, want magic byte 0 and a 4-byte schema id: %w", format, len(data), ErrWireFormat)
	}
	return id, rest, nil
}

// cache maps subjects or schema ids to what a serde derived from the registry's answer. Only
// successful lookups are kept, so it holds one entry per subject serialized to and per schema
// id deserialized that the registry knows: bounded by the registry's contents, not by the
// data. Safe for concurrent use; two goroutines missing the same key may both load it.
type cache[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

func (c *cache[K, V]) get(k K, load func() (V, error)) (V, error) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[K]V)
	}
	if old, ok := c.m[k]; ok {
		v = old
	} else {
		c.m[k] = v
	}
	c.mu.Unlock()
	return v, nil
}

// resolveSchema gives the id (and the schema, for UseLatestVersion) a serializer writes under
// subject: registered, looked up or the latest version, as o says.
func resolveSchema(cl *sr.Client, o *options, subject string, s sr.Schema) (sr.SubjectSchema, error) {
	ctx, cancel := o.context()
	defer cancel()
	ss, err := ResolveSchema(ctx, cl, subject, s, !o.noAutoRegister, o.useLatest)
	if err != nil {
		return sr.SubjectSchema{}, fmt.Errorf("schema for subject %s: %w", subject, err)
	}
	return ss, nil
}

// ResolveSchema gives the id (and the schema) a Confluent serializer writes a record of schema
// s with under subject: the subject's latest version (useLatest: use.latest.version, which
// must be of s's type), else s registered (autoRegister: auto.register.schemas) or looked up.
// Connect's schema-registry converters use it too.
func ResolveSchema(ctx context.Context, cl *sr.Client, subject string, s sr.Schema, autoRegister, useLatest bool) (sr.SubjectSchema, error) {
	switch {
	case useLatest:
		ss, err := cl.SchemaByVersion(ctx, subject, -1)
		if err == nil && ss.Type != s.Type {
			err = fmt.Errorf("latest version of %s is a %v schema, want %v", subject, ss.Type, s.Type)
		}
		return ss, err
	case autoRegister:
		return cl.CreateSchema(ctx, subject, s)
	}
	return cl.LookupSchema(ctx, subject, s)
}

// namedSchema is a schema's text and the name other schemas refer to it by.
type namedSchema struct {
	name string
	sr.Schema
}

// fetchReferences returns the schemas refs refer to, transitively, each after those it refers
// to (the order a parser needs them in), each subject-version once. depth bounds the
// recursion.
func fetchReferences(ctx context.Context, cl *sr.Client, refs []sr.SchemaReference) ([]namedSchema, error) {
	var (
		out  []namedSchema
		seen = map[string]bool{}
		walk func(refs []sr.SchemaReference, depth int) error
	)
	walk = func(refs []sr.SchemaReference, depth int) error {
		if depth > 32 {
			return errors.New("schema references nest deeper than 32")
		}
		for _, ref := range refs {
			key := fmt.Sprintf("%s\x00%d", ref.Subject, ref.Version)
			if seen[key] {
				continue
			}
			seen[key] = true
			ss, err := cl.SchemaByVersion(ctx, ref.Subject, ref.Version)
			if err != nil {
				return fmt.Errorf("reference %s (subject %s version %d): %w", ref.Name, ref.Subject, ref.Version, err)
			}
			if err := walk(ss.References, depth+1); err != nil {
				return err
			}
			out = append(out, namedSchema{ref.Name, ss.Schema})
		}
		return nil
	}
	return out, walk(refs, 0)
}
