package streams

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/state"
)

// GroupedStream is a stream grouped by key for an aggregation (Kafka Streams'
// KGroupedStream). If the key may have changed since the source, the aggregation first writes
// the stream to a repartition topic, "<application.id>-<name>-repartition", named after the
// Grouped name or else the aggregation's store, so that each key's records meet in one task.
type GroupedStream[K, V any] struct {
	b           *Builder
	node        string
	ks          serde.Serde[K]
	vs          serde.Serde[V]
	name        string
	repartition bool
	topics      []string
}

// GroupByKey groups s by its key.
func GroupByKey[K, V any](s *Stream[K, V], g ...GroupedOptions[K, V]) *GroupedStream[K, V] {
	opt, _ := first(g)
	ks, vs := opt.KeySerde, opt.ValueSerde
	if ks == nil {
		ks = s.ks
	}
	if vs == nil {
		vs = s.vs
	}
	return &GroupedStream[K, V]{b: s.b, node: s.node, ks: ks, vs: vs, name: opt.Name, repartition: s.keyChanged, topics: s.topics}
}

// GroupBy groups s by the key fn selects (always repartitioned).
func GroupBy[K, V, K2 any](s *Stream[K, V], fn func(K, V) K2, g ...GroupedOptions[K2, V]) *GroupedStream[K2, V] {
	return GroupByKey(SelectKey(s, fn), g...)
}

// repartition writes the records of parent with a non-null key to the internal topic
// base+"-repartition" and reads them back in a new source; it returns the source's name and
// the topic.
func (b *Builder) repartition(parent, base string, sink processor.SinkOptions, src processor.SourceOptions) (string, string) {
	topic := base + "-repartition"
	filter := b.name("KSTREAM-FILTER")
	b.topo.AddProcessor(filter, processor.Func(func(ctx processor.Context, rec processor.Record) error {
		if rec.Key == nil {
			return nil
		}
		return ctx.Forward(rec)
	}).Supplier(), parent)
	sinkName := b.name("KSTREAM-SINK")
	b.topo.AddInternalSink(sinkName, topic, sink, filter)
	srcName := b.name("KSTREAM-SOURCE")
	b.topo.AddInternalSource(srcName, src, topic)
	b.topo.AddRepartitionTopic(processor.InternalTopic{Name: topic})
	return srcName, topic
}

// input returns the node an aggregation with store hangs from: the stream itself, or a
// repartition topic's source.
func (g *GroupedStream[K, V]) input(store string) (string, []string, bool) {
	base := g.name
	if base == "" {
		base = store
	}
	return g.inputNamed(base)
}

// inputNamed is input with the repartition topic named base+"-repartition".
func (g *GroupedStream[K, V]) inputNamed(base string) (string, []string, bool) {
	if !g.repartition {
		return g.node, g.topics, true
	}
	if g.ks == nil || g.vs == nil {
		g.b.fail("grouping after a key change needs key and value serdes for the repartition topic (give them with Grouped)")
		return "", nil, false
	}
	node, topic := g.b.repartition(g.node, base,
		processor.SinkOptions{Key: serializer(g.ks), Value: serializer(g.vs)},
		processor.SourceOptions{Key: deserializer(g.ks), Value: deserializer(g.vs)})
	return node, []string{topic}, true
}

// Count counts the records per key (null keys and values are skipped).
func (g *GroupedStream[K, V]) Count(m ...MaterializedOptions[int64]) *Table[K, int64] {
	mat, _ := first(m)
	if mat.ValueSerde == nil {
		mat.ValueSerde = serde.Int64()
	}
	return aggregate(g, "KSTREAM-AGGREGATE", mat, func(_ K, _ V, agg int64, _ bool) int64 { return agg + 1 })
}

// Reduce combines each key's values with fn, the first value standing as it is.
func (g *GroupedStream[K, V]) Reduce(fn func(agg, v V) V, m ...MaterializedOptions[V]) *Table[K, V] {
	mat, _ := first(m)
	if mat.ValueSerde == nil {
		mat.ValueSerde = g.vs
	}
	return aggregate(g, "KSTREAM-REDUCE", mat, func(_ K, v V, agg V, ok bool) V {
		if !ok {
			return v
		}
		return fn(agg, v)
	})
}

// Aggregate folds each key's values into an aggregate: init() for a new key, then fn.
func Aggregate[K, V, A any](g *GroupedStream[K, V], init func() A, fn func(K, V, A) A, m MaterializedOptions[A]) *Table[K, A] {
	return aggregate(g, "KSTREAM-AGGREGATE", m, func(k K, v V, agg A, ok bool) A {
		if !ok {
			agg = init()
		}
		return fn(k, v, agg)
	})
}

// aggregate adds a stream aggregation; fn gets the current aggregate and whether there is one.
func aggregate[K, V, A any](g *GroupedStream[K, V], prefix string, mat MaterializedOptions[A], fn func(K, V, A, bool) A) *Table[K, A] {
	b := g.b
	if g.ks == nil || mat.ValueSerde == nil {
		b.fail("%s: needs a key serde (Grouped) and a value serde (Materialized)", prefix)
		return &Table[K, A]{b: b}
	}
	store := mat.Name
	if store == "" {
		store = b.name(prefix + "-STATE-STORE")
	}
	in, topics, ok := g.input(store)
	if !ok {
		return &Table[K, A]{b: b}
	}
	name := b.name(prefix)
	kc, ac := codec[K]{g.ks, storeTopic(store)}, codec[A]{mat.ValueSerde, storeTopic(store)}
	log := b.logger()
	b.topo.AddProcessor(name, func() processor.Processor {
		return &streamAggregate[K, V, A]{store: store, kc: kc, ac: ac, fn: fn, log: log.Debug}
	}, in)
	b.topo.AddStore(mat.cachedSpec(store, processor.KeyValueStore), name)
	return &Table[K, A]{b: b, node: name, ks: g.ks, vs: mat.ValueSerde, store: store, getter: kvGetter(store, kc, ac), topics: topics}
}

// streamAggregate is Kafka Streams' KStreamAggregate / KStreamReduce.
type streamAggregate[K, V, A any] struct {
	store string
	kc    codec[K]
	ac    codec[A]
	fn    func(K, V, A, bool) A
	ctx   processor.Context
	kv    state.KeyValueStore
	// cached is kv when it is a caching store: updates are forwarded when it flushes.
	cached state.CachingKeyValueStore
	log    func(string, ...any)
	buf    []byte
}

func (p *streamAggregate[K, V, A]) Init(ctx processor.Context) (err error) {
	p.ctx = ctx
	if p.kv, err = ctx.KeyValueStore(p.store); err != nil {
		return err
	}
	p.cached = cachedKeyValue(p.kv, forwardFlushedAggregate(ctx, p.kc, p.ac))
	return nil
}

func (p *streamAggregate[K, V, A]) Process(rec processor.Record) error {
	if rec.Key == nil || rec.Value == nil {
		dropped(p.ctx)
		p.log("skipping a record with a null key or value", "store", p.store, "topic", p.ctx.Topic(), "partition", p.ctx.Partition(), "offset", p.ctx.Offset())
		return nil
	}
	k, v, err := kv[K, V](rec)
	if err != nil {
		return err
	}
	kb, err := p.kc.encode(k)
	if err != nil {
		return err
	}
	oldStored, err := p.kv.Get(kb)
	if err != nil {
		return err
	}
	oldTs, old, had, err := p.ac.decodeStored(oldStored)
	if err != nil {
		return err
	}
	agg, _ := cast[A](old)
	agg = p.fn(k, v, agg, had)
	ts := rec.Timestamp // the latest timestamp of the values aggregated (Kafka Streams)
	if had {
		ts = max(ts, oldTs)
	}
	if p.buf, err = p.ac.appendStored(p.buf[:0], ts, agg); err != nil {
		return err
	}
	if p.cached != nil {
		return p.cached.PutWithHeaders(kb, p.buf, recordHeaders(rec.Headers))
	}
	if err := p.kv.Put(kb, p.buf); err != nil {
		return err
	}
	rec.Value, rec.Timestamp = change{new: agg, old: old}, ts
	return p.ctx.Forward(rec)
}

func (p *streamAggregate[K, V, A]) Close() error { return nil }

// GroupedTable is a table regrouped by a new key for an aggregation (Kafka Streams'
// KGroupedTable): each update subtracts the old value from its old key's aggregate and adds
// the new one to its new key's, through a repartition topic.
type GroupedTable[K, V any] struct {
	b      *Builder
	node   string
	ks     serde.Serde[K]
	vs     serde.Serde[V]
	name   string
	topics []string
}

// GroupTable regroups t by the key and value fn selects (Kafka Streams' KTable.groupBy).
// The repartition topic needs g's serdes.
func GroupTable[K, V, K2, V2 any](t *Table[K, V], fn func(K, V) (K2, V2), g GroupedOptions[K2, V2]) *GroupedTable[K2, V2] {
	b := t.b
	if g.KeySerde == nil || g.ValueSerde == nil {
		b.fail("GroupTable: Grouped needs a key and a value serde")
		return &GroupedTable[K2, V2]{b: b}
	}
	name := b.name("KTABLE-SELECT")
	kser := serializer(g.KeySerde)
	b.topo.AddProcessor(name, processor.Func(func(ctx processor.Context, rec processor.Record) error {
		c, ok := rec.Value.(change)
		if !ok {
			return fmt.Errorf("%w: %T in a table", errType, rec.Value)
		}
		k, err := cast[K](rec.Key)
		if err != nil {
			return err
		}
		var ko, kn any
		var vo, vn any
		if c.old != nil {
			v, err := cast[V](c.old)
			if err != nil {
				return err
			}
			ko, vo = fn(k, v)
		}
		if c.new != nil {
			v, err := cast[V](c.new)
			if err != nil {
				return err
			}
			kn, vn = fn(k, v)
		}
		if c.old != nil && c.new != nil {
			ob, err := kser("", ko)
			if err != nil {
				return err
			}
			nb, err := kser("", kn)
			if err != nil {
				return err
			}
			if bytes.Equal(ob, nb) {
				return ctx.Forward(processor.Record{Key: kn, Value: change{new: vn, old: vo}, Timestamp: rec.Timestamp, Headers: rec.Headers})
			}
		}
		if c.old != nil {
			if err := ctx.Forward(processor.Record{Key: ko, Value: change{old: vo}, Timestamp: rec.Timestamp, Headers: rec.Headers}); err != nil {
				return err
			}
		}
		if c.new != nil {
			return ctx.Forward(processor.Record{Key: kn, Value: change{new: vn}, Timestamp: rec.Timestamp, Headers: rec.Headers})
		}
		return nil
	}).Supplier(), t.node)
	return &GroupedTable[K2, V2]{b: b, node: name, ks: g.KeySerde, vs: g.ValueSerde, name: g.Name, topics: t.topics}
}

// input adds the repartition topic carrying changes and returns its source.
func (g *GroupedTable[K, V]) input(store string) (string, []string) {
	base := g.name
	if base == "" {
		base = store
	}
	vser, vde := serializer(g.vs), deserializer(g.vs)
	node, topic := g.b.repartition(g.node, base,
		processor.SinkOptions{Key: serializer(g.ks), Value: func(topic string, v any) ([]byte, error) {
			c, ok := v.(change)
			if !ok {
				return nil, fmt.Errorf("%w: %T in a table", errType, v)
			}
			return encodeChange(topic, vser, c)
		}},
		processor.SourceOptions{Key: deserializer(g.ks), Value: func(topic string, b []byte) (any, error) {
			if b == nil {
				return nil, errChange
			}
			return decodeChange(topic, vde, b)
		}})
	return node, []string{topic}
}

// Count counts each new key's entries.
func (g *GroupedTable[K, V]) Count(m ...MaterializedOptions[int64]) *Table[K, int64] {
	mat, _ := first(m)
	if mat.ValueSerde == nil {
		mat.ValueSerde = serde.Int64()
	}
	return aggregateTable(g, "KTABLE-AGGREGATE", mat,
		func(_ K, _ V, agg int64, _ bool) int64 { return agg + 1 },
		func(_ K, _ V, agg int64) int64 { return agg - 1 })
}

// Reduce combines each new key's values: adder for a new value (the first stands as it is),
// subtractor for one replaced or deleted.
func (g *GroupedTable[K, V]) Reduce(adder, subtractor func(agg, v V) V, m ...MaterializedOptions[V]) *Table[K, V] {
	mat, _ := first(m)
	if mat.ValueSerde == nil {
		mat.ValueSerde = g.vs
	}
	return aggregateTable(g, "KTABLE-REDUCE", mat,
		func(_ K, v V, agg V, ok bool) V {
			if !ok {
				return v
			}
			return adder(agg, v)
		},
		func(_ K, v V, agg V) V { return subtractor(agg, v) })
}

// AggregateTable aggregates a regrouped table: init() for a new key, adder for each new
// value, subtractor for each value replaced or deleted (Kafka Streams' KGroupedTable.aggregate).
func AggregateTable[K, V, A any](g *GroupedTable[K, V], init func() A, adder, subtractor func(K, V, A) A, m MaterializedOptions[A]) *Table[K, A] {
	return aggregateTable(g, "KTABLE-AGGREGATE", m,
		func(k K, v V, agg A, ok bool) A {
			if !ok {
				agg = init()
			}
			return adder(k, v, agg)
		},
		func(k K, v V, agg A) A { return subtractor(k, v, agg) })
}

func aggregateTable[K, V, A any](g *GroupedTable[K, V], prefix string, mat MaterializedOptions[A], add func(K, V, A, bool) A, sub func(K, V, A) A) *Table[K, A] {
	b := g.b
	if g.ks == nil || mat.ValueSerde == nil {
		b.fail("%s: needs a value serde (Materialized)", prefix)
		return &Table[K, A]{b: b}
	}
	store := mat.Name
	if store == "" {
		store = b.name(prefix + "-STATE-STORE")
	}
	in, topics := g.input(store)
	name := b.name(prefix)
	kc, ac := codec[K]{g.ks, storeTopic(store)}, codec[A]{mat.ValueSerde, storeTopic(store)}
	b.topo.AddProcessor(name, func() processor.Processor {
		return &tableAggregate[K, V, A]{store: store, kc: kc, ac: ac, add: add, sub: sub}
	}, in)
	b.topo.AddStore(mat.cachedSpec(store, processor.KeyValueStore), name)
	return &Table[K, A]{b: b, node: name, ks: g.ks, vs: mat.ValueSerde, store: store, getter: kvGetter(store, kc, ac), topics: topics}
}

// tableAggregate is Kafka Streams' KTableAggregate / KTableReduce: subtract the old value,
// then add the new one.
type tableAggregate[K, V, A any] struct {
	store string
	kc    codec[K]
	ac    codec[A]
	add   func(K, V, A, bool) A
	sub   func(K, V, A) A
	ctx   processor.Context
	kv    state.KeyValueStore
	// cached is kv when it is a caching store: updates are forwarded when it flushes.
	cached state.CachingKeyValueStore
	buf    []byte
}

func (p *tableAggregate[K, V, A]) Init(ctx processor.Context) (err error) {
	p.ctx = ctx
	if p.kv, err = ctx.KeyValueStore(p.store); err != nil {
		return err
	}
	p.cached = cachedKeyValue(p.kv, forwardFlushedAggregate(ctx, p.kc, p.ac))
	return nil
}

var errNullKey = errors.New("streams: a table aggregation got a null key")

func (p *tableAggregate[K, V, A]) Process(rec processor.Record) error {
	c, ok := rec.Value.(change)
	if !ok {
		return fmt.Errorf("%w: %T in a table", errType, rec.Value)
	}
	if rec.Key == nil {
		return errNullKey
	}
	k, err := cast[K](rec.Key)
	if err != nil {
		return err
	}
	kb, err := p.kc.encode(k)
	if err != nil {
		return err
	}
	oldStored, err := p.kv.Get(kb)
	if err != nil {
		return err
	}
	oldTs, old, have, err := p.ac.decodeStored(oldStored)
	if err != nil {
		return err
	}
	agg, _ := cast[A](old)
	if c.old != nil && have {
		v, err := cast[V](c.old)
		if err != nil {
			return err
		}
		agg = p.sub(k, v, agg)
	}
	if c.new != nil {
		v, err := cast[V](c.new)
		if err != nil {
			return err
		}
		agg = p.add(k, v, agg, have)
	}
	if !have && c.new == nil {
		return nil
	}
	ts := rec.Timestamp // the latest timestamp of the values aggregated (Kafka Streams)
	if have {
		ts = max(ts, oldTs)
	}
	if p.buf, err = p.ac.appendStored(p.buf[:0], ts, agg); err != nil {
		return err
	}
	if p.cached != nil {
		return p.cached.PutWithHeaders(kb, p.buf, recordHeaders(rec.Headers))
	}
	if err := p.kv.Put(kb, p.buf); err != nil {
		return err
	}
	rec.Value, rec.Timestamp = change{new: agg, old: old}, ts
	return p.ctx.Forward(rec)
}

func (p *tableAggregate[K, V, A]) Close() error { return nil }
