package converter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/streams/serde"
)

// Subject name strategies, by Confluent's class names (key.subject.name.strategy,
// value.subject.name.strategy).
const (
	TopicNameStrategy       = "io.confluent.kafka.serializers.subject.TopicNameStrategy"
	RecordNameStrategy      = "io.confluent.kafka.serializers.subject.RecordNameStrategy"
	TopicRecordNameStrategy = "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"
)

// registryTimeout bounds each schema registry request.
const registryTimeout = 30 * time.Second

// ErrWireFormat is wrapped by the errors of the schema-registry converters given bytes that
// are not in the Confluent wire format (magic byte 0, a 4-byte big-endian schema id).
var ErrWireFormat = errors.New("converter: not in the Confluent wire format")

// registryConfig is the part of a schema-registry converter's configuration shared by the
// Avro and JSON Schema converters: Confluent's AbstractKafkaSchemaSerDeConfig.
type registryConfig struct {
	client       *sr.Client
	isKey        bool
	autoRegister bool // auto.register.schemas (true)
	useLatest    bool // use.latest.version (false)
	latestStrict bool // latest.compatibility.strict (true)
	strategy     string
	cacheSize    int // schemas.cache.config (1000)
}

// parseBool reads a boolean setting (Kafka's ConfigDef accepts true/false in any case).
func parseBool(cfg map[string]string, key string, dflt bool) (bool, error) {
	v, ok := cfg[key]
	if !ok || strings.TrimSpace(v) == "" {
		return dflt, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("invalid value %q for configuration %s: expected value to be either true or false", v, key)
}

func newRegistryConfig(cfg map[string]string, isKey bool) (registryConfig, error) {
	rc := registryConfig{isKey: isKey}
	rawURLs := strings.TrimSpace(cfg["schema.registry.url"])
	if rawURLs == "" {
		return rc, errors.New(`missing required configuration "schema.registry.url" which has no default value`)
	}
	var urls []string
	for _, u := range strings.Split(rawURLs, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, strings.TrimRight(u, "/"))
		}
	}
	opts := []sr.ClientOpt{sr.URLs(urls...), sr.UserAgent("sluice-connect")}
	switch src := strings.ToUpper(strings.TrimSpace(cfg["basic.auth.credentials.source"])); src {
	case "", "URL":
		// Credentials, if any, are the URLs' user info, which net/http sends as basic auth.
	case "USER_INFO":
		user, pass, ok := strings.Cut(cfg["basic.auth.user.info"], ":")
		if !ok {
			return rc, errors.New(`basic.auth.credentials.source=USER_INFO needs basic.auth.user.info as "user:password"`)
		}
		opts = append(opts, sr.BasicAuth(user, pass))
	default:
		return rc, fmt.Errorf("basic.auth.credentials.source: %q is not supported (URL or USER_INFO)", src)
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return rc, fmt.Errorf("schema.registry.url: %w", err)
	}
	rc.client = cl
	if rc.autoRegister, err = parseBool(cfg, "auto.register.schemas", true); err != nil {
		return rc, err
	}
	if rc.useLatest, err = parseBool(cfg, "use.latest.version", false); err != nil {
		return rc, err
	}
	if rc.latestStrict, err = parseBool(cfg, "latest.compatibility.strict", true); err != nil {
		return rc, err
	}
	strategyKey := "value.subject.name.strategy"
	if isKey {
		strategyKey = "key.subject.name.strategy"
	}
	rc.strategy = TopicNameStrategy
	if s := strings.TrimSpace(cfg[strategyKey]); s != "" {
		switch s {
		case TopicNameStrategy, RecordNameStrategy, TopicRecordNameStrategy:
			rc.strategy = s
		default:
			return rc, fmt.Errorf("%s: unknown subject name strategy %q (known: %s, %s, %s)", strategyKey, s,
				TopicNameStrategy, RecordNameStrategy, TopicRecordNameStrategy)
		}
	}
	rc.cacheSize = 1000
	if v := strings.TrimSpace(cfg["schemas.cache.config"]); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return rc, fmt.Errorf("schemas.cache.config: %q is not a positive integer", v)
		}
		rc.cacheSize = n
	}
	return rc, nil
}

// subject names the registry subject of a record of topic whose schema's record name is
// record, under the configured strategy.
func (rc *registryConfig) subject(topic, record string) string {
	strategy := serde.TopicNameStrategy
	switch rc.strategy {
	case RecordNameStrategy:
		strategy = serde.RecordNameStrategy
	case TopicRecordNameStrategy:
		strategy = serde.TopicRecordNameStrategy
	}
	return serde.SubjectName(strategy, topic, record, rc.isKey)
}

// resolve gives the schema id (and, under use.latest.version, the schema) that records of
// subject with schema s are written with: registered (auto.register.schemas), looked up, or
// the subject's latest version.
func (rc *registryConfig) resolve(subject string, s sr.Schema) (sr.SubjectSchema, error) {
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	ss, err := serde.ResolveSchema(ctx, rc.client, subject, s, rc.autoRegister, rc.useLatest)
	if err != nil {
		return sr.SubjectSchema{}, fmt.Errorf("converter: schema for subject %s: %w", subject, retriable(err))
	}
	return ss, nil
}

// schemaByID fetches the schema registered with id.
func (rc *registryConfig) schemaByID(id int) (sr.Schema, error) {
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	s, err := rc.client.SchemaByID(ctx, id)
	if err != nil {
		return sr.Schema{}, fmt.Errorf("converter: schema id %d: %w", id, retriable(err))
	}
	return s, nil
}

// version is the version of the schema with id under subject, 0 when it is not registered
// there (a record written under another subject).
func (rc *registryConfig) version(subject string, id int) int {
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	versions, err := rc.client.SchemaVersionsByID(ctx, id)
	if err != nil {
		return 0
	}
	for _, v := range versions {
		if v.Subject == subject {
			return v.Version
		}
	}
	return 0
}

// RetriableError is a schema registry failure a later attempt may not have: the registry
// could not be reached, did not answer in time, or answered with a 5xx status. The worker's
// error handling (errors.retry.timeout) retries a stage whose error wraps one; a 4xx answer
// (an unknown schema id, an incompatible schema) is final and not wrapped.
type RetriableError struct{ Err error }

func (e *RetriableError) Error() string   { return e.Err.Error() }
func (e *RetriableError) Unwrap() error   { return e.Err }
func (e *RetriableError) Retriable() bool { return true }

// retriable wraps err in a RetriableError when a later attempt may succeed.
func retriable(err error) error {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		if re.StatusCode >= 500 {
			return &RetriableError{err}
		}
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return &RetriableError{err}
	}
	return err
}

var wireHeader sr.ConfluentHeader

// splitWire splits Confluent's wire format: magic byte 0, the schema id (4 bytes big-endian),
// the payload.
func splitWire(class string, b []byte) (int, []byte, error) {
	id, rest, err := wireHeader.DecodeID(b)
	if err != nil {
		return 0, nil, fmt.Errorf("converter: %s: %d bytes, want magic byte 0 and a 4-byte schema id: %w", class, len(b), ErrWireFormat)
	}
	return id, rest, nil
}

// boundedCache is a map that is emptied when it reaches its bound (schemas.cache.config):
// the converters' caches hold one entry per schema in use, so the bound is reached only by
// a stream of ever-new schemas, where starting over is cheaper than tracking recency. Safe
// for concurrent use; no lock is held while a value is loaded, so two goroutines missing the
// same key may both load it.
//
// Keys are any comparable values (this package's comparable is a function, not the
// constraint).
type boundedCache[V any] struct {
	max int
	mu  sync.Mutex
	m   map[any]V
}

func (c *boundedCache[V]) get(k any, load func() (V, error)) (V, error) {
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= max(c.max, 1) {
		c.m = make(map[any]V)
	}
	c.m[k] = v
	c.mu.Unlock()
	return v, nil
}
