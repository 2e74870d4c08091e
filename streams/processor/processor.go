// Package processor is the streams library's low-level API: processors that receive records one
// at a time, forward records to their children, use state stores and schedule punctuators, and
// the Topology that wires sources, processors, stores and sinks together. The DSL in package
// streams builds a Topology of such processors; an application can also build one by hand, or
// add a processor to a DSL topology with Stream.Process.
//
// Records carry keys and values as Go values (any): sources deserialize them from Kafka bytes
// with the source's deserializers, sinks serialize them with theirs. State stores hold bytes
// (package streams/state); a processor serializes what it stores.
package processor

import (
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/streams/state"
)

// Header is one record header.
type Header struct {
	Key   string
	Value []byte
}

// Record is what flows between processors.
type Record struct {
	Key, Value any
	// Timestamp is the record's event time in milliseconds since the epoch.
	Timestamp int64
	Headers   []Header
}

// WithValue returns r with v as its value.
func (r Record) WithValue(v any) Record { r.Value = v; return r }

// WithKey returns r with k as its key.
func (r Record) WithKey(k any) Record { r.Key = k; return r }

// TaskID names a task: the sub-topology it runs and the partition of its input topics.
type TaskID struct {
	Subtopology int32
	Partition   int32
}

func (id TaskID) String() string { return fmt.Sprintf("%d_%d", id.Subtopology, id.Partition) }

// PunctuationType says which clock a punctuator follows.
type PunctuationType uint8

const (
	// StreamTime punctuators fire as the task's stream time (the largest record timestamp it
	// has processed) passes each interval; with no new records they do not fire.
	StreamTime PunctuationType = iota
	// WallClockTime punctuators fire as the system clock (the test driver's clock in tests)
	// passes each interval, checked between records and at least every commit interval.
	WallClockTime
)

// Punctuator is called with the time (ms) at which it fired.
type Punctuator func(timestamp int64) error

// Context is a processor's view of its task. It is valid from Init until Close and is used only
// from the task's goroutine (processors are not called concurrently).
type Context interface {
	// ApplicationID is the application's application.id.
	ApplicationID() string
	// TaskID is the task this processor instance belongs to.
	TaskID() TaskID
	// Topic, Partition and Offset locate the input record being processed, as read from its
	// source topic ("" and -1 inside a punctuator or for a record made by a processor).
	Topic() string
	Partition() int32
	Offset() int64
	// StreamTime is the largest timestamp the task has processed (math.MinInt64 before any).
	StreamTime() int64
	// WallClock is the task's wall clock (the system clock; the test driver's mock clock).
	WallClock() time.Time
	// Forward passes rec to every child of this processor, depth first, and returns the first
	// error a child returned.
	Forward(rec Record) error
	// ForwardTo passes rec to the named child only.
	ForwardTo(child string, rec Record) error
	// KeyValueStore, WindowStore and SessionStore return a store connected to this processor
	// (Topology.AddStore) or a global store; an error names a store not connected or of
	// another kind.
	KeyValueStore(name string) (state.KeyValueStore, error)
	WindowStore(name string) (state.WindowStore, error)
	SessionStore(name string) (state.SessionStore, error)
	// Schedule calls p every interval on the given clock until the returned cancel is called
	// or the task closes.
	Schedule(interval time.Duration, typ PunctuationType, p Punctuator) (cancel func())
	// Commit asks for a commit of the task as soon as the current record is done.
	Commit()
}

// Processor processes records one at a time.
type Processor interface {
	// Init is called once before the first record, with the context the processor keeps.
	Init(ctx Context) error
	// Process handles one record; an error stops the task (and the application).
	Process(rec Record) error
	// Close is called once when the task closes (after a final commit on a clean close).
	Close() error
}

// Supplier makes a new Processor for each task.
type Supplier func() Processor

// Func adapts a function to a stateless Processor; Forward is reached through the context
// given to it.
type Func func(ctx Context, rec Record) error

type funcProcessor struct {
	fn  Func
	ctx Context
}

func (f *funcProcessor) Init(ctx Context) error   { f.ctx = ctx; return nil }
func (f *funcProcessor) Process(rec Record) error { return f.fn(f.ctx, rec) }
func (f *funcProcessor) Close() error             { return nil }

// Supplier returns a Supplier of processors that run fn.
func (fn Func) Supplier() Supplier {
	return func() Processor { return &funcProcessor{fn: fn} }
}

// Deserializer turns the bytes of a record's key or value read from topic into a value (data
// is nil for a null key or value).
type Deserializer func(topic string, data []byte) (any, error)

// Serializer turns a key or value into bytes for topic (nil for a null key or value).
type Serializer func(topic string, v any) ([]byte, error)

// Partitioner picks the partition of a sink's record among numPartitions; ok false leaves the
// choice to the default (murmur2 of the serialized key, as Kafka's producers, or sticky for a
// nil key).
type Partitioner func(topic string, key, value any, keyBytes []byte, numPartitions int32) (partition int32, ok bool)

// TimestampExtractor gives a source record its event time (ms) from the deserialized record and
// the Kafka record's own timestamp. A negative result drops the record (logged and counted),
// as Kafka Streams does.
type TimestampExtractor func(rec Record, recordTimestamp int64) int64

// ErrSkip, returned by a Deserializer, drops the record (logged and counted) instead of
// stopping the task: the "log and continue" deserialization handler.
var ErrSkip = errors.New("processor: skip record")
