package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// The registry keeps all of its state in the compacted topic _schemas, in the record format
// Confluent's registry writes there, so that a _schemas topic copied from a Kafka cluster is
// served as is. Every node reads _schemas from the start and applies each record to its
// in-memory state (Applier); one node at a time, the writer, appends (Log). The store that reads
// and writes the topic lives in internal/registry/store; the service and its REST API in this
// package.

// TopicName is the topic the registry keeps its state in (Confluent's kafkastore.topic default).
const TopicName = "_schemas"

// KeyType is a _schemas record key's "keytype".
type KeyType string

// Confluent's key types.
const (
	KeySchema        KeyType = "SCHEMA"         // one version of a subject
	KeyConfig        KeyType = "CONFIG"         // the compatibility config of a subject, or global when Subject is nil
	KeyMode          KeyType = "MODE"           // the mode of a subject, or global when Subject is nil
	KeyDeleteSubject KeyType = "DELETE_SUBJECT" // a soft delete of a subject's versions up to Version
	KeyClearSubject  KeyType = "CLEAR_SUBJECT"  // a permanent delete of a subject's soft-deleted versions
	KeyNoop          KeyType = "NOOP"           // written by a new writer to find the log's end
)

// Key is a _schemas record key. Subject names carry their context (":.ctx:name"); the default
// context has no prefix.
type Key struct {
	KeyType KeyType `json:"keytype"`
	Subject *string `json:"subject"`
	Version int     `json:"version,omitempty"` // SCHEMA keys only
	Magic   int     `json:"magic"`             // 1 for SCHEMA keys, 0 for the others
}

// SchemaValue is a SCHEMA record's value. Metadata and RuleSet are kept as the client sent them.
type SchemaValue struct {
	Subject    string             `json:"subject"`
	Version    int                `json:"version"`
	ID         int                `json:"id"`
	SchemaType format.SchemaType  `json:"schemaType,omitempty"` // empty means AVRO
	References []format.Reference `json:"references,omitempty"`
	Metadata   map[string]any     `json:"metadata,omitempty"`
	RuleSet    map[string]any     `json:"ruleSet,omitempty"`
	Schema     string             `json:"schema"`
	Deleted    bool               `json:"deleted"`
}

// ConfigValue is a CONFIG record's value (Confluent names the level compatibilityLevel in the
// log and compatibility in the REST API).
type ConfigValue struct {
	CompatibilityLevel string         `json:"compatibilityLevel,omitempty"`
	Alias              string         `json:"alias,omitempty"`
	Normalize          *bool          `json:"normalize,omitempty"`
	CompatibilityGroup string         `json:"compatibilityGroup,omitempty"`
	DefaultMetadata    map[string]any `json:"defaultMetadata,omitempty"`
	OverrideMetadata   map[string]any `json:"overrideMetadata,omitempty"`
	DefaultRuleSet     map[string]any `json:"defaultRuleSet,omitempty"`
	OverrideRuleSet    map[string]any `json:"overrideRuleSet,omitempty"`
}

// ModeValue is a MODE record's value.
type ModeValue struct {
	Mode string `json:"mode"`
}

// DeleteSubjectValue is a DELETE_SUBJECT record's value: versions up to Version are soft-deleted.
type DeleteSubjectValue struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// ClearSubjectValue is a CLEAR_SUBJECT record's value.
type ClearSubjectValue struct {
	Subject string `json:"subject"`
}

// Record is one _schemas record, decoded. Value is nil for a tombstone (a permanent delete of a
// version, or the removal of a subject's config or mode); otherwise it holds the value type
// that matches Key.KeyType (*SchemaValue, *ConfigValue, *ModeValue, *DeleteSubjectValue,
// *ClearSubjectValue; nil for NOOP).
type Record struct {
	Key   Key
	Value any
}

// Applier receives every _schemas record in log order, from one goroutine (the store's
// reader). The registry's state implements it. Records it cannot use (unknown key types,
// values that do not decode) never reach it: the store skips them, logs and counts them.
type Applier interface {
	Apply(offset int64, r Record)
}

// ErrNotWriter is returned by Log.Append on a node that is not the writer; the REST layer then
// forwards the request to Log.Writer's URL.
var ErrNotWriter = errors.New("registry: this node is not the _schemas writer")

// Log is _schemas as the registry service sees it. internal/registry/store implements it over
// the cluster's topic.
type Log interface {
	// Append writes recs to _schemas in order, as one produce with acks=all, if this node is
	// the writer, and returns once the Applier has applied them (so a writer reads its own
	// writes). It returns ErrNotWriter on another node, and a context error or the produce's
	// error otherwise.
	Append(ctx context.Context, recs []Record) error
	// Sync returns once every record in _schemas up to its end at the time of the call has
	// been applied: what a read on a node that is not the writer waits for to be up to date.
	Sync(ctx context.Context) error
	// Writer returns the base URL (scheme://host:port) of the writer's registry listener,
	// self when this node is the writer, and ok false when no writer is known right now.
	Writer() (url string, self bool, ok bool)
}

// Error is an error with Confluent's error code; the HTTP status is the code's first three
// digits (40401 → 404).
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (error code %d)", e.Message, e.Code) }

// Status is the HTTP status the REST API answers e with.
func (e *Error) Status() int {
	s := e.Code
	for s >= 1000 {
		s /= 10
	}
	if s < 400 || s > 599 {
		return http.StatusInternalServerError
	}
	return s
}

// Errorf returns an *Error with Confluent's code and a formatted message.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
