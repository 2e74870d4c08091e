package streams

import (
	"time"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
)

// ConsumedOptions say how a source topic is read: key and value serdes, the timestamp
// extractor and the source node's name. Made by Consumed.
type ConsumedOptions[K, V any] struct {
	KeySerde   serde.Serde[K]
	ValueSerde serde.Serde[V]
	Timestamp  processor.TimestampExtractor
	Name       string
}

// Consumed reads keys and values with ks and vs.
func Consumed[K, V any](ks serde.Serde[K], vs serde.Serde[V]) ConsumedOptions[K, V] {
	return ConsumedOptions[K, V]{KeySerde: ks, ValueSerde: vs}
}

// WithTimestampExtractor gives each record its event time with fn instead of the Kafka
// record's timestamp (a negative result drops the record).
func (c ConsumedOptions[K, V]) WithTimestampExtractor(fn processor.TimestampExtractor) ConsumedOptions[K, V] {
	c.Timestamp = fn
	return c
}

// WithName names the source node.
func (c ConsumedOptions[K, V]) WithName(name string) ConsumedOptions[K, V] {
	c.Name = name
	return c
}

// ProducedOptions say how a stream is written to a topic. Made by Produced.
type ProducedOptions[K, V any] struct {
	KeySerde    serde.Serde[K]
	ValueSerde  serde.Serde[V]
	Partitioner processor.Partitioner
	Name        string
}

// Produced writes keys and values with ks and vs (nil: the stream's own serdes, known when
// they were given upstream and no operation changed the type since).
func Produced[K, V any](ks serde.Serde[K], vs serde.Serde[V]) ProducedOptions[K, V] {
	return ProducedOptions[K, V]{KeySerde: ks, ValueSerde: vs}
}

// WithPartitioner picks partitions with p.
func (p ProducedOptions[K, V]) WithPartitioner(part processor.Partitioner) ProducedOptions[K, V] {
	p.Partitioner = part
	return p
}

// WithName names the sink node.
func (p ProducedOptions[K, V]) WithName(name string) ProducedOptions[K, V] {
	p.Name = name
	return p
}

// GroupedOptions say how a grouped stream is repartitioned: the serdes of the repartition
// topic and its name ("<application.id>-<Name>-repartition"). Made by Grouped.
type GroupedOptions[K, V any] struct {
	KeySerde   serde.Serde[K]
	ValueSerde serde.Serde[V]
	Name       string
}

// Grouped groups with ks and vs (nil: the stream's own serdes).
func Grouped[K, V any](ks serde.Serde[K], vs serde.Serde[V]) GroupedOptions[K, V] {
	return GroupedOptions[K, V]{KeySerde: ks, ValueSerde: vs}
}

// WithName names the repartition topic and the grouping's nodes.
func (g GroupedOptions[K, V]) WithName(name string) GroupedOptions[K, V] {
	g.Name = name
	return g
}

// MaterializedOptions say how a table's store is kept: its name (queryable, and the
// changelog "<application.id>-<name>-changelog"), the value serde, in memory or on disk,
// logging, caching, and (window and session stores) retention. Made by Materialized.
type MaterializedOptions[V any] struct {
	Name       string
	ValueSerde serde.Serde[V]
	InMemory   bool
	// LoggingDisabled keeps no changelog (the store is lost with the state directory).
	LoggingDisabled bool
	// Retention of a window or session store; 0 is the window's size plus grace (session:
	// gap plus grace), and a shorter one is an error.
	Retention time.Duration
	// ChangelogConfigs are topic configs of the changelog.
	ChangelogConfigs map[string]string
	// CachingDisabled keeps the store out of the record cache (Kafka Streams'
	// withCachingDisabled): every update is written, logged and forwarded at once. The
	// stores of aggregations (windowed ones but session windows) are cached by default.
	CachingDisabled bool
}

// Materialized keeps a store named name ("" generates one) with values in vs (nil: the
// value type's serde is known only for Count and Reduce, where it is the input's).
func Materialized[V any](name string, vs serde.Serde[V]) MaterializedOptions[V] {
	return MaterializedOptions[V]{Name: name, ValueSerde: vs}
}

// WithInMemory keeps the store in memory.
func (m MaterializedOptions[V]) WithInMemory() MaterializedOptions[V] { m.InMemory = true; return m }

// WithLoggingDisabled keeps no changelog.
func (m MaterializedOptions[V]) WithLoggingDisabled() MaterializedOptions[V] {
	m.LoggingDisabled = true
	return m
}

// WithCachingDisabled keeps the store out of the record cache (see CachingDisabled).
func (m MaterializedOptions[V]) WithCachingDisabled() MaterializedOptions[V] {
	m.CachingDisabled = true
	return m
}

// WithCachingEnabled puts the store behind the record cache, the default.
func (m MaterializedOptions[V]) WithCachingEnabled() MaterializedOptions[V] {
	m.CachingDisabled = false
	return m
}

// WithRetention sets a window or session store's retention.
func (m MaterializedOptions[V]) WithRetention(d time.Duration) MaterializedOptions[V] {
	m.Retention = d
	return m
}

func (m MaterializedOptions[V]) spec(name string, kind processor.StoreKind) processor.StoreSpec {
	return processor.StoreSpec{Name: name, Kind: kind, InMemory: m.InMemory, LoggingDisabled: m.LoggingDisabled, ChangelogConfigs: m.ChangelogConfigs}
}

// cachedSpec is spec for a store whose processor forwards through the record cache's flush
// listener (aggregations): cached unless CachingDisabled.
func (m MaterializedOptions[V]) cachedSpec(name string, kind processor.StoreKind) processor.StoreSpec {
	s := m.spec(name, kind)
	s.Caching = !m.CachingDisabled
	return s
}

// first returns the first of its arguments given (an optional trailing argument).
func first[T any](opts []T) (T, bool) {
	if len(opts) == 0 {
		var z T
		return z, false
	}
	return opts[0], true
}
