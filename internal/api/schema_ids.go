package api

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/record"
)

// Schema id validation (issue 16; Confluent Server's broker-side schema validation is the
// model). With sluice.key.schema.id.validation or sluice.value.schema.id.validation on for a
// topic, Produce checks every record's key or value before the partition appends it:
//
//   - a null key or value passes (tombstones of compacted topics carry no schema id), as in
//     Confluent Server;
//   - otherwise it must start with Confluent's wire format: the magic byte 0 and a 4-byte
//     big-endian schema id;
//   - the id must be registered in the built-in schema registry under the subject the topic's
//     sluice.{key,value}.subject.name.strategy names: TopicNameStrategy, "<topic>-key" or
//     "<topic>-value"; TopicRecordNameStrategy, some subject "<topic>-<record name>" (any
//     subject starting "<topic>-": the record name is not read from the schema);
//     RecordNameStrategy, any subject (likewise).
//
// A record that fails refuses the partition's records with INVALID_RECORD, per-record errors
// (KIP-467's record_errors) and an error message naming the first; nothing is appended.
// Compressed batches are decompressed for the check (and again by the partition). Only topics
// with validation on pay for it: others are never decoded here.
//
// Verdicts that an id is registered under a subject are cached (bounded, for
// schemaIDCacheTTL), so a steady stream of records with known ids costs a map read per batch
// and no allocation; an id not registered is asked again at the next record batch, so a
// producer is accepted as soon as its schema is registered. A subject deleted after a verdict
// is noticed within the TTL.

// SchemaSubjects is what schema id validation asks of the schema registry
// (*registry.Service). SubjectsForID returns the subjects (soft-deleted ones excluded) under
// which schema id is registered; an id not registered is no subjects, or an error whose
// Status() is 404. It runs on a connection's read loop (with a timeout): known ids must be
// answered from applied state without waiting.
type SchemaSubjects interface {
	SubjectsForID(ctx context.Context, id int) ([]string, error)
}

const (
	// schemaIDCacheTTL is how long a verdict "id is registered under the topic's subject" is
	// trusted.
	schemaIDCacheTTL = 30 * time.Second
	// schemaIDLookupTimeout bounds one registry lookup (cache misses only).
	schemaIDLookupTimeout = 5 * time.Second
	// schemaIDCacheSize bounds the cached verdicts; when full, the cache starts over.
	schemaIDCacheSize = 10_000
)

// SchemaIDValidator checks produced records' schema ids for topics with schema id validation
// on; Env.SchemaIDs holds the broker's one. It is safe for concurrent use by every
// connection.
type SchemaIDValidator struct {
	// registry is set once the node's registry serves (SetRegistry); until then records that
	// need a check are refused, saying so.
	registry atomic.Pointer[SchemaSubjects]
	now      func() time.Time
	mu       struct {
		sync.RWMutex
		known map[schemaIDKey]int64 // verdicts that passed → expiry (Unix ns)
	}
}

// schemaIDKey names one cached verdict: id is registered under the subject strategy names for
// topic's keys (key) or values.
type schemaIDKey struct {
	topic    string
	strategy string
	key      bool
	id       int32
}

// NewSchemaIDValidator returns a validator asking registry (nil: not yet, see SetRegistry).
func NewSchemaIDValidator(registry SchemaSubjects) *SchemaIDValidator {
	v := &SchemaIDValidator{now: time.Now}
	v.mu.known = make(map[schemaIDKey]int64)
	if registry != nil {
		v.SetRegistry(registry)
	}
	return v
}

// SetRegistry sets the registry to ask: the broker builds Env before its registry starts.
func (v *SchemaIDValidator) SetRegistry(registry SchemaSubjects) {
	if v == nil {
		return // no validator: this node serves no registry
	}
	v.registry.Store(&registry)
}

// subjects is the registry to ask, nil when there is none (yet).
func (v *SchemaIDValidator) subjects() SchemaSubjects {
	if v == nil {
		return nil
	}
	if r := v.registry.Load(); r != nil {
		return *r
	}
	return nil
}

// checkSchemaIDs checks one partition's records (already v2) for topic under settings; nil
// when every record passes, else a *partition.RecordErrors (INVALID_RECORD) wrapped with the
// partition's name. v may be nil (no validator in Env): then records needing a check fail.
func checkSchemaIDs(ctx context.Context, v *SchemaIDValidator, topic string, index int32, settings partition.SchemaIDValidation,
	records []byte, budget *partition.DecompressBudget) error {
	c := &schemaIDCheck{v: v, ctx: ctx, topic: topic, settings: settings, key: schemaIDMemo{id: -1}, value: schemaIDMemo{id: -1}}
	if err := partition.CheckEachRecord(records, budget, c); err != nil {
		return fmt.Errorf("%s-%d: schema id validation: %w", topic, index, err)
	}
	return nil
}

// schemaIDCheck is the partition.RecordCheck of one partition of one request.
type schemaIDCheck struct {
	v        *SchemaIDValidator
	ctx      context.Context
	topic    string
	settings partition.SchemaIDValidation
	// key and value remember the last id checked and its verdict, so that a batch of records
	// with one id asks the cache (or the registry) once.
	key, value schemaIDMemo
	// The last failure, formatted by Problem only when reported.
	failedKey bool
	failedID  int64 // -1: no magic byte and schema id
	failedErr error // the registry's answer, when it did not simply say "not registered"
}

type schemaIDMemo struct {
	id  int64 // -1: none yet
	ok  bool
	err error
}

// Check implements partition.RecordCheck.
func (c *schemaIDCheck) Check(rec *record.Record) bool {
	if c.settings.Key && rec.Key != nil && !c.checkOne(rec.Key, true) {
		return false
	}
	if c.settings.Value && rec.Value != nil && !c.checkOne(rec.Value, false) {
		return false
	}
	return true
}

func (c *schemaIDCheck) checkOne(b []byte, key bool) bool {
	memo, strategy := &c.value, c.settings.ValueStrategy
	if key {
		memo, strategy = &c.key, c.settings.KeyStrategy
	}
	if len(b) < 5 || b[0] != 0 {
		c.failedKey, c.failedID, c.failedErr = key, -1, nil
		return false
	}
	id := int32(binary.BigEndian.Uint32(b[1:5]))
	if int64(id) != memo.id {
		ok, err := c.v.registered(c.ctx, schemaIDKey{topic: c.topic, strategy: strategy, key: key, id: id})
		*memo = schemaIDMemo{id: int64(id), ok: ok, err: err}
	}
	if !memo.ok {
		c.failedKey, c.failedID, c.failedErr = key, int64(id), memo.err
	}
	return memo.ok
}

// Problem implements partition.RecordCheck.
func (c *schemaIDCheck) Problem() string {
	part, strategy := "value", c.settings.ValueStrategy
	if c.failedKey {
		part, strategy = "key", c.settings.KeyStrategy
	}
	switch {
	case c.v == nil:
		return fmt.Sprintf("sluice.%s.schema.id.validation is on for topic %s but this broker serves no schema registry", part, c.topic)
	case c.v.subjects() == nil:
		return fmt.Sprintf("sluice.%s.schema.id.validation is on for topic %s but this broker's schema registry has not started yet", part, c.topic)
	case c.failedID < 0:
		return fmt.Sprintf("%s has no schema id: sluice.%s.schema.id.validation is on for topic %s, so it must start with the magic byte 0 and a 4-byte schema id", part, part, c.topic)
	case c.failedErr != nil:
		return fmt.Sprintf("%s schema id %d could not be checked: %v", part, c.failedID, c.failedErr)
	}
	return fmt.Sprintf("%s schema id %d is not registered under %s", part, c.failedID, describeSubject(c.topic, part, strategy))
}

// describeSubject says which subject strategy requires.
func describeSubject(topic, part, strategy string) string {
	switch strategy {
	case config.RecordNameStrategy:
		return "any subject (RecordNameStrategy)"
	case config.TopicRecordNameStrategy:
		return fmt.Sprintf("a subject %s-<record name> (TopicRecordNameStrategy)", topic)
	}
	return fmt.Sprintf("subject %s-%s (TopicNameStrategy)", topic, part)
}

// registered reports whether k.id is registered under k's subject: from the cache, else from
// the registry. err is set when the registry failed otherwise than "not registered".
func (v *SchemaIDValidator) registered(ctx context.Context, k schemaIDKey) (bool, error) {
	registry := v.subjects()
	if registry == nil {
		return false, nil
	}
	now := v.now().UnixNano()
	v.mu.RLock()
	expiry, ok := v.mu.known[k]
	v.mu.RUnlock()
	if ok && now < expiry {
		return true, nil
	}
	// An id not known here makes the registry read _schemas to its end first, on this
	// connection's read loop: bounded, so a registry that cannot catch up refuses the records
	// rather than stalling the connection.
	ctx, cancel := context.WithTimeout(ctx, schemaIDLookupTimeout)
	subjects, err := registry.SubjectsForID(ctx, int(k.id))
	cancel()
	if err != nil {
		var status interface{ Status() int }
		if errors.As(err, &status) && status.Status() == http.StatusNotFound {
			return false, nil
		}
		return false, err
	}
	if !subjectMatches(subjects, k) {
		return false, nil
	}
	v.mu.Lock()
	if len(v.mu.known) >= schemaIDCacheSize {
		clear(v.mu.known)
	}
	v.mu.known[k] = now + int64(schemaIDCacheTTL)
	v.mu.Unlock()
	return true, nil
}

// subjectMatches reports whether one of subjects is one k's strategy accepts.
func subjectMatches(subjects []string, k schemaIDKey) bool {
	suffix := "-value"
	if k.key {
		suffix = "-key"
	}
	for _, s := range subjects {
		switch k.strategy {
		case config.RecordNameStrategy:
			return true
		case config.TopicRecordNameStrategy:
			if len(s) > len(k.topic)+1 && strings.HasPrefix(s, k.topic) && s[len(k.topic)] == '-' {
				return true
			}
		default:
			if len(s) == len(k.topic)+len(suffix) && strings.HasPrefix(s, k.topic) && strings.HasSuffix(s, suffix) {
				return true
			}
		}
	}
	return false
}

// schemaIDValidationOn is the produce path's cheap test: the validation configs have no broker
// synonym, so they are on only through a topic override (Configs holds canonical values).
// Topics without one skip the partition's config lock and the check altogether.
func schemaIDValidationOn(t *metadata.Topic) bool {
	return len(t.Configs) > 0 && (t.Configs[string(config.SluiceValueSchemaIDValidation)] == "true" ||
		t.Configs[string(config.SluiceKeySchemaIDValidation)] == "true")
}
