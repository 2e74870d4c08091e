package streams

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
)

// Builder builds a processor.Topology from the typed DSL: Stream, Table and GlobalTable
// read topics; the operations on them add processor nodes, stores and repartition topics.
// Errors (a missing serde, a misuse) are recorded and returned by Build. A Builder is not safe
// for concurrent use.
type Builder struct {
	topo *processor.Topology
	next int
	err  error
	// Logger receives the debug lines of skipped records (null keys, late records); nil
	// discards them.
	Logger *slog.Logger
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{topo: processor.NewTopology()}
}

// Build returns the topology built so far, or the first error recorded by the DSL or the
// topology.
func (b *Builder) Build() (*processor.Topology, error) {
	if b.err != nil {
		return nil, b.err
	}
	if err := b.topo.Err(); err != nil {
		return nil, err
	}
	return b.topo, nil
}

// Topology gives access to the topology being built, to add nodes by hand next to the DSL's.
func (b *Builder) Topology() *processor.Topology { return b.topo }

// AddStateStore adds a store for processors added with Process (which name it).
func (b *Builder) AddStateStore(spec processor.StoreSpec) {
	if spec.Name == "" {
		b.fail("AddStateStore: a store needs a name")
		return
	}
	b.topo.AddStore(spec)
}

func (b *Builder) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("streams: "+format, args...)
	}
}

// name returns a Kafka Streams-style node name: PREFIX-0000000007, numbered in order of
// creation.
func (b *Builder) name(prefix string) string {
	n := fmt.Sprintf("%s-%010d", prefix, b.next)
	b.next++
	return n
}

func (b *Builder) logger() *slog.Logger {
	if b.Logger != nil {
		return b.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// errType is a record whose key or value is not of the type its stream declares: a
// processor added by hand forwarded something else.
var errType = errors.New("streams: record of the wrong type")

// cast converts a record's key or value to T; nil (a null key or value) is T's zero value.
func cast[T any](v any) (T, error) {
	if v == nil {
		var z T
		return z, nil
	}
	t, ok := v.(T)
	if !ok {
		var z T
		return z, fmt.Errorf("%w: %T, want %T", errType, v, z)
	}
	return t, nil
}

// deserializer adapts a Serde to a source's Deserializer; null bytes stay nil (a null key, a
// tombstone).
func deserializer[T any](s serde.Serde[T]) processor.Deserializer {
	return func(topic string, data []byte) (any, error) {
		if data == nil {
			return nil, nil
		}
		return s.Deserialize(topic, data)
	}
}

// serializer adapts a Serde to a sink's Serializer; nil stays null.
func serializer[T any](s serde.Serde[T]) processor.Serializer {
	return func(topic string, v any) ([]byte, error) {
		if v == nil {
			return nil, nil
		}
		t, err := cast[T](v)
		if err != nil {
			return nil, err
		}
		return s.Serialize(topic, t)
	}
}

// codec serializes keys and values for stores: the serde with nil for null, and the topic
// name Kafka Streams passes for store serialization (the changelog's).
type codec[T any] struct {
	s     serde.Serde[T]
	topic string
}

func (c codec[T]) encode(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	t, err := cast[T](v)
	if err != nil {
		return nil, err
	}
	return c.s.Serialize(c.topic, t)
}

func (c codec[T]) decode(b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	return c.s.Deserialize(c.topic, b)
}

// storeTopic is the topic name serdes see for a store's keys and values: the changelog's
// name without the application id (the DSL does not know it).
func storeTopic(store string) string { return store + "-changelog" }

// union returns the sorted union of topic lists (without duplicates).
func union(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Table stores (key-value stores of tables and aggregations, window stores of windowed
// aggregations) hold Kafka Streams' ValueAndTimestamp layout: the timestamp of the value
// (int64 big-endian) followed by the serialized value.

var errTimestamped = errors.New("streams: a store value shorter than its 8-byte timestamp")

// appendTimestamped appends ts | value to dst.
func appendTimestamped(dst []byte, ts int64, value []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
	return append(dst, value...)
}

// splitTimestamped splits a stored ts | value; nil (absent) stays nil.
func splitTimestamped(b []byte) (int64, []byte, error) {
	if b == nil {
		return 0, nil, nil
	}
	if len(b) < 8 {
		return 0, nil, errTimestamped
	}
	return int64(binary.BigEndian.Uint64(b)), b[8:], nil
}

// decodeStored reads a stored ts | value: its timestamp, the decoded value (nil when absent)
// and whether there was one.
func (c codec[T]) decodeStored(stored []byte) (ts int64, v any, present bool, err error) {
	ts, b, err := splitTimestamped(stored)
	if err != nil {
		return 0, nil, false, err
	}
	v, err = c.decode(b)
	return ts, v, b != nil, err
}

// appendStored appends v, serialized, to dst as ts | value.
func (c codec[T]) appendStored(dst []byte, ts int64, v any) ([]byte, error) {
	b, err := c.encode(v)
	if err != nil {
		return dst, err
	}
	return appendTimestamped(dst, ts, b), nil
}

// ValueAndTimestamp splits a value read from the store of a DSL table, aggregation or
// windowed aggregation (App.Store, streamstest.Driver's stores; not session stores) into the
// serialized value and its timestamp: Kafka Streams' ValueAndTimestamp layout,
// timestamp int64 big-endian | value. A nil stored value (absent) gives nil.
func ValueAndTimestamp(stored []byte) (value []byte, timestamp int64, err error) {
	ts, v, err := splitTimestamped(stored)
	return v, ts, err
}
