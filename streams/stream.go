package streams

import (
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
)

// Stream is a record stream (Kafka Streams' KStream) of keys K and values V. Operations that
// keep the types are methods; those that change them are functions (Go methods cannot have
// type parameters): Map, MapValues, FlatMap, FlatMapValues, SelectKey, GroupByKey, GroupBy.
//
// A null key or value read from Kafka reaches typed functions as the type's zero value; it is
// written back as null if no function replaced it.
type Stream[K, V any] struct {
	b    *Builder
	node string
	ks   serde.Serde[K]
	vs   serde.Serde[V]
	// keyChanged: an operation upstream may have changed the key since the source, so a
	// grouping or join must repartition first.
	keyChanged bool
	// topics are the source topics the stream's records come from (internal ones
	// unprefixed): the co-partitioning group of a join.
	topics []string
}

// KeyValue is one key and value, as FlatMap returns them.
type KeyValue[K, V any] struct {
	Key   K
	Value V
}

// KV returns a KeyValue.
func KV[K, V any](k K, v V) KeyValue[K, V] { return KeyValue[K, V]{k, v} }

// From reads topics as a stream with the serdes of c.
func From[K, V any](b *Builder, c ConsumedOptions[K, V], topics ...string) *Stream[K, V] {
	if c.KeySerde == nil || c.ValueSerde == nil {
		b.fail("stream of %v: Consumed needs a key and a value serde", topics)
	}
	name := c.Name
	if name == "" {
		name = b.name("KSTREAM-SOURCE")
	}
	opts := processor.SourceOptions{Timestamp: c.Timestamp}
	if c.KeySerde != nil && c.ValueSerde != nil {
		opts.Key, opts.Value = deserializer(c.KeySerde), deserializer(c.ValueSerde)
	}
	b.topo.AddSource(name, opts, topics...)
	return &Stream[K, V]{b: b, node: name, ks: c.KeySerde, vs: c.ValueSerde, topics: union(topics)}
}

// NewStream reads topic as a stream (Kafka Streams' StreamsBuilder.stream).
func NewStream[K, V any](b *Builder, topic string, c ConsumedOptions[K, V]) *Stream[K, V] {
	return From(b, c, topic)
}

// derive returns a stream of node with the same lineage as s.
func derive[K2, V2, K, V any](s *Stream[K, V], node string, ks serde.Serde[K2], vs serde.Serde[V2], keyChanged bool) *Stream[K2, V2] {
	return &Stream[K2, V2]{b: s.b, node: node, ks: ks, vs: vs, keyChanged: keyChanged, topics: s.topics}
}

// add adds a processor node running fn below s.
func (s *Stream[K, V]) add(prefix string, fn processor.Func) string {
	name := s.b.name(prefix)
	s.b.topo.AddProcessor(name, fn.Supplier(), s.node)
	return name
}

// Filter keeps the records for which keep returns true.
func (s *Stream[K, V]) Filter(keep func(K, V) bool) *Stream[K, V] {
	return s.filter("KSTREAM-FILTER", keep, true)
}

// FilterNot drops the records for which drop returns true.
func (s *Stream[K, V]) FilterNot(drop func(K, V) bool) *Stream[K, V] {
	return s.filter("KSTREAM-FILTER", drop, false)
}

func (s *Stream[K, V]) filter(prefix string, pred func(K, V) bool, want bool) *Stream[K, V] {
	node := s.add(prefix, func(ctx processor.Context, rec processor.Record) error {
		k, v, err := kv[K, V](rec)
		if err != nil {
			return err
		}
		if pred(k, v) != want {
			return nil
		}
		return ctx.Forward(rec)
	})
	return derive(s, node, s.ks, s.vs, s.keyChanged)
}

// kv returns rec's key and value as K and V.
func kv[K, V any](rec processor.Record) (K, V, error) {
	k, err := cast[K](rec.Key)
	if err != nil {
		var v V
		return k, v, err
	}
	v, err := cast[V](rec.Value)
	return k, v, err
}

// Peek calls fn for each record and passes it on unchanged.
func (s *Stream[K, V]) Peek(fn func(K, V)) *Stream[K, V] {
	node := s.add("KSTREAM-PEEK", func(ctx processor.Context, rec processor.Record) error {
		k, v, err := kv[K, V](rec)
		if err != nil {
			return err
		}
		fn(k, v)
		return ctx.Forward(rec)
	})
	return derive(s, node, s.ks, s.vs, s.keyChanged)
}

// Foreach calls fn for each record (a terminal operation).
func (s *Stream[K, V]) Foreach(fn func(K, V)) {
	s.add("KSTREAM-FOREACH", func(ctx processor.Context, rec processor.Record) error {
		k, v, err := kv[K, V](rec)
		if err != nil {
			return err
		}
		fn(k, v)
		return nil
	})
}

// Merge returns the records of s and others as one stream (in the order they are processed).
func (s *Stream[K, V]) Merge(others ...*Stream[K, V]) *Stream[K, V] {
	parents := []string{s.node}
	changed := s.keyChanged
	topics := [][]string{s.topics}
	for _, o := range others {
		parents = append(parents, o.node)
		changed = changed || o.keyChanged
		topics = append(topics, o.topics)
	}
	name := s.b.name("KSTREAM-MERGE")
	s.b.topo.AddProcessor(name, processor.Func(func(ctx processor.Context, rec processor.Record) error {
		return ctx.Forward(rec)
	}).Supplier(), parents...)
	out := derive(s, name, s.ks, s.vs, changed)
	out.topics = union(topics...)
	return out
}

// Branch splits s: each record goes to the stream of the first predicate it satisfies, or
// nowhere (Kafka Streams' split().branch(...)). The result has one stream per predicate; add
// a last predicate that always returns true for a default branch.
func (s *Stream[K, V]) Branch(preds ...func(K, V) bool) []*Stream[K, V] {
	split := s.b.name("KSTREAM-BRANCH")
	children := make([]string, len(preds))
	for i := range preds {
		children[i] = s.b.name("KSTREAM-BRANCHCHILD")
	}
	s.b.topo.AddProcessor(split, processor.Func(func(ctx processor.Context, rec processor.Record) error {
		k, v, err := kv[K, V](rec)
		if err != nil {
			return err
		}
		for i, p := range preds {
			if p(k, v) {
				return ctx.ForwardTo(children[i], rec)
			}
		}
		return nil
	}).Supplier(), s.node)
	out := make([]*Stream[K, V], len(preds))
	for i, c := range children {
		s.b.topo.AddProcessor(c, passThrough, split)
		out[i] = derive(s, c, s.ks, s.vs, s.keyChanged)
	}
	return out
}

var passThrough = processor.Func(func(ctx processor.Context, rec processor.Record) error {
	return ctx.Forward(rec)
}).Supplier()

// To writes the stream to topic with the serdes of p (nil ones: the stream's).
func (s *Stream[K, V]) To(topic string, p ...ProducedOptions[K, V]) {
	opt, _ := first(p)
	ks, vs := opt.KeySerde, opt.ValueSerde
	if ks == nil {
		ks = s.ks
	}
	if vs == nil {
		vs = s.vs
	}
	if ks == nil || vs == nil {
		s.b.fail("To(%q): no key or value serde (give them with Produced)", topic)
		return
	}
	name := opt.Name
	if name == "" {
		name = s.b.name("KSTREAM-SINK")
	}
	s.b.topo.AddSink(name, topic, processor.SinkOptions{Key: serializer(ks), Value: serializer(vs), Partitioner: opt.Partitioner}, s.node)
}

// WithSerdes returns s with its key and value serdes set (for operations after a Map or
// Process, which lose them).
func (s *Stream[K, V]) WithSerdes(ks serde.Serde[K], vs serde.Serde[V]) *Stream[K, V] {
	out := *s
	out.ks, out.vs = ks, vs
	return &out
}

// Map replaces each record's key and value with fn's (the key may change: a grouping or join
// after it repartitions).
func Map[K, V, K2, V2 any](s *Stream[K, V], fn func(K, V) (K2, V2)) *Stream[K2, V2] {
	node := s.add("KSTREAM-MAP", func(ctx processor.Context, rec processor.Record) error {
		k, v, err := kv[K, V](rec)
		if err != nil {
			return err
		}
		k2, v2 := fn(k, v)
		rec.Key, rec.Value = k2, v2
		return ctx.Forward(rec)
	})
	return derive[K2, V2](s, node, nil, nil, true)
}

// MapValues replaces each record's value with fn's; the key stays (no repartition).
func MapValues[K, V, V2 any](s *Stream[K, V], fn func(V) V2) *Stream[K, V2] {
	return MapValuesWithKey(s, func(_ K, v V) V2 { return fn(v) })
}

// MapValuesWithKey is MapValues with the (read-only) key.
func MapValuesWithKey[K, V, V2 any](s *Stream[K, V], fn func(K, V) V2) *Stream[K, V2] {
	node := s.add("KSTREAM-MAPVALUES", func(ctx processor.Context, rec processor.Record) error {
		k, v, err := kv[K, V](rec)
		if err != nil {
			return err
		}
		rec.Value = fn(k, v)
		return ctx.Forward(rec)
	})
	return derive[K, V2](s, node, s.ks, nil, s.keyChanged)
}

// SelectKey sets each record's key to fn's.
func SelectKey[K, V, K2 any](s *Stream[K, V], fn func(K, V) K2) *Stream[K2, V] {
	node := s.add("KSTREAM-KEY-SELECT", func(ctx processor.Context, rec processor.Record) error {
		k, v, err := kv[K, V](rec)
		if err != nil {
			return err
		}
		rec.Key = fn(k, v)
		return ctx.Forward(rec)
	})
	return derive[K2, V](s, node, nil, s.vs, true)
}

// FlatMap replaces each record with the records fn returns (timestamp and headers kept).
func FlatMap[K, V, K2, V2 any](s *Stream[K, V], fn func(K, V) []KeyValue[K2, V2]) *Stream[K2, V2] {
	node := s.add("KSTREAM-FLATMAP", func(ctx processor.Context, rec processor.Record) error {
		k, v, err := kv[K, V](rec)
		if err != nil {
			return err
		}
		for _, out := range fn(k, v) {
			rec.Key, rec.Value = out.Key, out.Value
			if err := ctx.Forward(rec); err != nil {
				return err
			}
		}
		return nil
	})
	return derive[K2, V2](s, node, nil, nil, true)
}

// FlatMapValues replaces each record with one record per value fn returns, with its key.
func FlatMapValues[K, V, V2 any](s *Stream[K, V], fn func(V) []V2) *Stream[K, V2] {
	node := s.add("KSTREAM-FLATMAPVALUES", func(ctx processor.Context, rec processor.Record) error {
		_, v, err := kv[K, V](rec)
		if err != nil {
			return err
		}
		for _, out := range fn(v) {
			rec.Value = out
			if err := ctx.Forward(rec); err != nil {
				return err
			}
		}
		return nil
	})
	return derive[K, V2](s, node, s.ks, nil, s.keyChanged)
}

// Process adds a processor made by supplier below s, with access to stores (added with
// Builder.AddStateStore), and returns the stream of what it forwards, which must be keys K2
// and values V2. Its serdes are unknown (set them with WithSerdes), and since it may change
// keys, a grouping or join after it repartitions.
func Process[K, V, K2, V2 any](s *Stream[K, V], supplier processor.Supplier, stores ...string) *Stream[K2, V2] {
	name := s.b.name("KSTREAM-PROCESSOR")
	s.b.topo.AddProcessor(name, supplier, s.node)
	for _, st := range stores {
		s.b.topo.ConnectStore(st, name)
	}
	return derive[K2, V2](s, name, nil, nil, true)
}

// dropped counts a record a processor of the DSL dropped (a null key or value, a record too
// late for its window) in its task's skipped records, as Kafka Streams' dropped-records; the
// engine's context implements it (processor.Context itself does not promise it).
func dropped(ctx processor.Context) {
	if d, ok := ctx.(interface{ RecordDropped() }); ok {
		d.RecordDropped()
	}
}
