// Package streams is a stream-processing library for Kafka-compatible clusters, after Kafka
// Streams: a typed DSL builds a topology of processors, and an App runs it in the user's
// process on franz-go, sharing the work with the other instances of the same application id
// through a consumer group, with state stores on Pebble logged to changelog topics and
// at-least-once or exactly-once processing.
//
// # Building a topology
//
// A Builder collects the topology. NewStream reads a topic as a record Stream, NewTable as a
// changelog Table (latest value per key, null deleting), NewGlobalTable as a table every instance holds
// whole:
//
//	b := streams.NewBuilder()
//	lines := streams.NewStream(b, "text-lines", streams.Consumed(serde.String(), serde.String()))
//	words := streams.FlatMapValues(lines, func(l string) []string { return strings.Fields(l) })
//	counts := streams.GroupBy(words, func(_, w string) string { return w }, streams.Grouped(serde.String(), serde.String())).Count()
//	counts.ToStream().To("word-counts", streams.Produced(serde.String(), serde.Int64String()))
//	topo, err := b.Build()
//
// Operations that keep a stream's types are methods (Filter, FilterNot, Peek, Foreach, Merge,
// Branch, To); those that change them are functions, since Go methods cannot have type
// parameters (Map, MapValues, FlatMap, FlatMapValues, SelectKey, Process, GroupByKey, GroupBy,
// Aggregate, the joins). Serdes (package serde) are given where records are read or written
// and where state is kept; they follow a stream until an operation changes its types (then
// WithSerdes, Produced or Grouped give them again). Mistakes (a missing serde, a window
// without grace) are errors from Build.
//
// # Grouping, aggregation and windows
//
// GroupByKey and GroupBy group a stream for Count, Reduce and Aggregate into a Table. A
// grouping (or join) after an operation that may have changed the key first writes the
// stream through a repartition topic, "<application.id>-<name>-repartition", so that each
// key's records meet in one task. Tables regroup with GroupTable (adder and subtractor).
// Cogroup folds several grouped streams into one aggregate.
//
// WindowedBy (TumblingWindows, HoppingWindows), SessionWindowedBy and SlidingWindowedBy
// aggregate per window on event time (the record timestamp, or a TimestampExtractor given with
// Consumed) into tables keyed by serde.Windowed[K], written with serde.TimeWindowed or
// serde.SessionWindowed (Kafka Streams' layouts). Every window needs an explicit grace period:
// a record arriving after its window's end + grace (in stream time) is dropped. Tables emit
// every update (once per commit interval with the record cache below); Suppress(UntilWindowCloses)
// emits each window's final result once it closed, and Suppress(UntilTimeLimit(d)) rate-limits
// any table to a key's latest value d after its first held update; WithBuffer bounds either's
// buffer (MaxRecords, MaxBytes; emit early or shut down when full).
//
// # Record cache
//
// The stores of Count, Reduce and Aggregate (grouped, table-grouped and time-windowed) sit
// behind a record cache, Kafka Streams' statestore.cache.max.bytes (Config.
// StateStoreCacheMaxBytes: 10 MiB shared by the instance's tasks; NoStateStoreCache turns it
// off). Updates stay in the cache until the next commit, or until it is over its budget;
// then each key's latest value is written to the store and its changelog and forwarded once,
// with the value forwarded before it as the old value. So the output of an aggregation has
// one record per key (and window) per commit interval, not one per input record; its final
// values are the same. Materialized(...).WithCachingDisabled keeps one store out of it.
// Session and sliding windows, cogroup and table sources are not cached.
//
// # Joins
//
// JoinTable and LeftJoinTable join a stream with a table (a lookup per record), JoinGlobal and
// LeftJoinGlobal with a global table by a computed key; JoinStreams, LeftJoinStreams and
// OuterJoinStreams join two streams within JoinWindows; JoinTables, LeftJoinTables and
// OuterJoinTables join tables on their key, JoinForeignKey and LeftJoinForeignKey by a key
// taken from the left value. Inputs joined on their key must be co-partitioned (same partition
// count), which the App checks at start.
//
// # Running and testing
//
// NewApp runs a built topology (see Config for application.id, brokers, state directory and
// the processing guarantee); App.Store queries the local state. An instance processes its
// tasks on one goroutine, or on Config.NumStreamThreads goroutines at once (then the functions
// given to the DSL must be safe for concurrent use). Package streamstest runs a
// topology without a broker: pipe records in, read outputs and stores, advance the wall clock.
// Package processor is the low-level API (processors, punctuators, stores) for what the DSL
// cannot say; Stream.Process and Builder.Topology mix the two.
//
// # Examples and guide
//
// The repository's examples/ directory has four runnable programs (fraud-detection,
// word-count, account-balance, enrichment: `go run ./examples/NAME --brokers HOST:PORT`), each
// tested against a broker; docs/streams.md is the guide (windows and grace, joins and
// co-partitioning, state and restore, exactly-once, metrics, what is not supported).
package streams
