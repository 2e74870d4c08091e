package streams

import (
	"fmt"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/state"
)

// GlobalTable is a table every instance holds whole (Kafka Streams' GlobalKTable), read from
// its topic, which is also its changelog. Streams join it by a key they compute, without
// co-partitioning.
type GlobalTable[K, V any] struct {
	b     *Builder
	store string
	kc    codec[K]
	vc    codec[V]
}

// StoreName is the name of the global store.
func (g *GlobalTable[K, V]) StoreName() string { return g.store }

// NewGlobalTable reads topic into a global key-value store (named by m, else generated).
// Records with a null key are skipped; a null value deletes.
func NewGlobalTable[K, V any](b *Builder, topic string, c ConsumedOptions[K, V], m ...MaterializedOptions[V]) *GlobalTable[K, V] {
	if c.KeySerde == nil || c.ValueSerde == nil {
		b.fail("global table of %q: Consumed needs a key and a value serde", topic)
		return &GlobalTable[K, V]{b: b}
	}
	mat, _ := first(m)
	store := mat.Name
	if store == "" {
		store = b.name(topic + "-STATE-STORE")
	}
	vs := c.ValueSerde
	if mat.ValueSerde != nil {
		vs = mat.ValueSerde
	}
	kc, vc := codec[K]{c.KeySerde, topic}, codec[V]{vs, topic}
	spec := mat.spec(store, processor.KeyValueStore)
	b.topo.AddGlobalStore(spec, topic,
		processor.SourceOptions{Key: deserializer(c.KeySerde), Value: deserializer(c.ValueSerde), Timestamp: c.Timestamp},
		func() processor.Processor { return &globalUpdater[K, V]{store: store, kc: kc, vc: vc} })
	return &GlobalTable[K, V]{b: b, store: store, kc: kc, vc: vc}
}

type globalUpdater[K, V any] struct {
	store string
	kc    codec[K]
	vc    codec[V]
	kv    state.KeyValueStore
	buf   []byte
}

func (p *globalUpdater[K, V]) Init(ctx processor.Context) (err error) {
	p.kv, err = ctx.KeyValueStore(p.store)
	return err
}

func (p *globalUpdater[K, V]) Process(rec processor.Record) error {
	if rec.Key == nil {
		return nil
	}
	kb, err := p.kc.encode(rec.Key)
	if err != nil {
		return err
	}
	vb, err := p.vc.encode(rec.Value)
	if err != nil || vb == nil {
		if err != nil {
			return err
		}
		return p.kv.Delete(kb)
	}
	p.buf = appendTimestamped(p.buf[:0], rec.Timestamp, vb)
	return p.kv.Put(kb, p.buf)
}

func (p *globalUpdater[K, V]) Close() error { return nil }

// lookupJoin is the processor of stream-table and stream-global-table joins: each stream
// record looks its key (or the key keyOf computes) up in the table.
type lookupJoin struct {
	getter *getterSupplier
	// keyOf maps a stream record to the table key (nil: the record's key).
	keyOf func(rec processor.Record) (any, error)
	// join returns the result and whether to forward it (inner joins drop records without a
	// match); tv is nil without one.
	join func(rec processor.Record, tv any) (any, bool, error)
	// nullKeyJoins: a left join passes records with a null key to the joiner (KIP-962).
	nullKeyJoins bool
	ctx          processor.Context
	get          func(any) (any, int64, error)
	log          func(string, ...any)
}

func (p *lookupJoin) Init(ctx processor.Context) (err error) {
	p.ctx = ctx
	p.get, err = p.getter.make(ctx)
	return err
}

func (p *lookupJoin) Process(rec processor.Record) error {
	if rec.Value == nil {
		dropped(p.ctx)
		p.log("skipping a join record with a null value", "topic", p.ctx.Topic(), "partition", p.ctx.Partition(), "offset", p.ctx.Offset())
		return nil
	}
	key := rec.Key
	if p.keyOf != nil {
		var err error
		if key, err = p.keyOf(rec); err != nil {
			return err
		}
	}
	var tv any
	if key == nil {
		if !p.nullKeyJoins {
			dropped(p.ctx)
			p.log("skipping a join record with a null key", "topic", p.ctx.Topic(), "partition", p.ctx.Partition(), "offset", p.ctx.Offset())
			return nil
		}
	} else {
		var err error
		if tv, _, err = p.get(key); err != nil {
			return err
		}
	}
	out, ok, err := p.join(rec, tv)
	if err != nil || !ok {
		return err
	}
	rec.Value = out
	return p.ctx.Forward(rec)
}

func (p *lookupJoin) Close() error { return nil }

// JoinTable joins each record of s with the table's current value for its key (Kafka Streams'
// KStream.join(KTable)); records without a match are dropped. Table updates trigger nothing.
// The stream and the table must be co-partitioned (recorded for the runtime to check); a
// stream whose key may have changed is repartitioned first, which needs its serdes.
func JoinTable[K, V, VT, VR any](s *Stream[K, V], t *Table[K, VT], joiner func(V, VT) VR) *Stream[K, VR] {
	return joinTable(s, t, false, func(v V, tv VT, _ bool) VR { return joiner(v, tv) })
}

// LeftJoinTable is JoinTable keeping records without a match: the joiner gets nil then.
// Records with a null key are joined with nil too.
func LeftJoinTable[K, V, VT, VR any](s *Stream[K, V], t *Table[K, VT], joiner func(V, *VT) VR) *Stream[K, VR] {
	return joinTable(s, t, true, func(v V, tv VT, ok bool) VR {
		if !ok {
			return joiner(v, nil)
		}
		return joiner(v, &tv)
	})
}

func joinTable[K, V, VT, VR any](s *Stream[K, V], t *Table[K, VT], left bool, joiner func(V, VT, bool) VR) *Stream[K, VR] {
	b := s.b
	if t.getter == nil {
		b.fail("join: the table cannot be looked up by key (a windowed or suppressed table)")
		return &Stream[K, VR]{b: b}
	}
	in, topics := s.node, s.topics
	if s.keyChanged {
		if s.ks == nil || s.vs == nil {
			b.fail("join after a key change needs the stream's serdes for the repartition topic (WithSerdes)")
			return &Stream[K, VR]{b: b}
		}
		var topic string
		in, topic = b.repartition(s.node, b.name("KSTREAM-JOIN")+"-left",
			processor.SinkOptions{Key: serializer(s.ks), Value: serializer(s.vs)},
			processor.SourceOptions{Key: deserializer(s.ks), Value: deserializer(s.vs)})
		topics = []string{topic}
	}
	name := b.name("KSTREAM-LEFTJOIN")
	if !left {
		name = b.name("KSTREAM-JOIN")
	}
	log := b.logger()
	getter := t.getter
	b.topo.AddProcessor(name, func() processor.Processor {
		return &lookupJoin{getter: getter, nullKeyJoins: left, log: log.Debug, join: func(rec processor.Record, tv any) (any, bool, error) {
			if tv == nil && !left {
				return nil, false, nil
			}
			v, err := cast[V](rec.Value)
			if err != nil {
				return nil, false, err
			}
			t, err := cast[VT](tv)
			if err != nil {
				return nil, false, err
			}
			return joiner(v, t, tv != nil), true, nil
		}}
	}, in)
	for _, st := range getter.stores {
		b.topo.ConnectStore(st, name)
	}
	b.topo.Copartition(union(topics, t.topics)...)
	return &Stream[K, VR]{b: b, node: name, ks: s.ks, topics: topics}
}

// JoinGlobal joins each record of s with the global table's value for the key keyOf computes;
// records without a match are dropped. No co-partitioning or repartitioning is needed.
func JoinGlobal[K, V, KG, VG, VR any](s *Stream[K, V], g *GlobalTable[KG, VG], keyOf func(K, V) KG, joiner func(V, VG) VR) *Stream[K, VR] {
	return joinGlobal(s, g, keyOf, false, func(v V, gv VG, _ bool) VR { return joiner(v, gv) })
}

// LeftJoinGlobal is JoinGlobal keeping records without a match: the joiner gets nil then.
func LeftJoinGlobal[K, V, KG, VG, VR any](s *Stream[K, V], g *GlobalTable[KG, VG], keyOf func(K, V) KG, joiner func(V, *VG) VR) *Stream[K, VR] {
	return joinGlobal(s, g, keyOf, true, func(v V, gv VG, ok bool) VR {
		if !ok {
			return joiner(v, nil)
		}
		return joiner(v, &gv)
	})
}

func joinGlobal[K, V, KG, VG, VR any](s *Stream[K, V], g *GlobalTable[KG, VG], keyOf func(K, V) KG, left bool, joiner func(V, VG, bool) VR) *Stream[K, VR] {
	b := s.b
	if g.store == "" {
		return &Stream[K, VR]{b: b}
	}
	name := b.name("KSTREAM-JOIN-GLOBAL")
	if left {
		name = b.name("KSTREAM-LEFTJOIN-GLOBAL")
	}
	log := b.logger()
	getter := kvGetter(g.store, g.kc, g.vc)
	b.topo.AddProcessor(name, func() processor.Processor {
		return &lookupJoin{getter: getter, log: log.Debug,
			keyOf: func(rec processor.Record) (any, error) {
				k, v, err := kv[K, V](rec)
				if err != nil {
					return nil, err
				}
				return keyOf(k, v), nil
			},
			join: func(rec processor.Record, gv any) (any, bool, error) {
				if gv == nil && !left {
					return nil, false, nil
				}
				v, err := cast[V](rec.Value)
				if err != nil {
					return nil, false, err
				}
				t, err := cast[VG](gv)
				if err != nil {
					return nil, false, err
				}
				return joiner(v, t, gv != nil), true, nil
			}}
	}, s.node)
	return &Stream[K, VR]{b: b, node: name, ks: s.ks, keyChanged: s.keyChanged, topics: s.topics}
}

// JoinTables joins two tables on their key (Kafka Streams' KTable.join): the result has a
// value where both have one, updated when either changes. Both must be co-partitioned.
func JoinTables[K, V, VO, VR any](l *Table[K, V], r *Table[K, VO], joiner func(V, VO) VR) *Table[K, VR] {
	return joinTables[K, V, VO, VR](l, r, "KTABLE-JOIN", func(lv, rv any) (any, error) {
		if lv == nil || rv == nil {
			return nil, nil
		}
		a, b, err := both[V, VO](lv, rv)
		if err != nil {
			return nil, err
		}
		return joiner(a, b), nil
	})
}

// LeftJoinTables has a value wherever the left table has one (the joiner gets nil for a
// missing right value).
func LeftJoinTables[K, V, VO, VR any](l *Table[K, V], r *Table[K, VO], joiner func(V, *VO) VR) *Table[K, VR] {
	return joinTables[K, V, VO, VR](l, r, "KTABLE-LEFTJOIN", func(lv, rv any) (any, error) {
		if lv == nil {
			return nil, nil
		}
		a, b, err := both[V, VO](lv, rv)
		if err != nil {
			return nil, err
		}
		if rv == nil {
			return joiner(a, nil), nil
		}
		return joiner(a, &b), nil
	})
}

// OuterJoinTables has a value wherever either table has one.
func OuterJoinTables[K, V, VO, VR any](l *Table[K, V], r *Table[K, VO], joiner func(*V, *VO) VR) *Table[K, VR] {
	return joinTables[K, V, VO, VR](l, r, "KTABLE-OUTERJOIN", func(lv, rv any) (any, error) {
		if lv == nil && rv == nil {
			return nil, nil
		}
		a, b, err := both[V, VO](lv, rv)
		if err != nil {
			return nil, err
		}
		var ap *V
		var bp *VO
		if lv != nil {
			ap = &a
		}
		if rv != nil {
			bp = &b
		}
		return joiner(ap, bp), nil
	})
}

func both[A, B any](a, b any) (A, B, error) {
	x, err := cast[A](a)
	if err != nil {
		var y B
		return x, y, err
	}
	y, err := cast[B](b)
	return x, y, err
}

// joinTables wires Kafka Streams' KTableKTableJoin: a processor under each table looks the
// other side up and forwards the change of the joined value (new and old), and the result is
// looked up by joining both sides' values.
func joinTables[K, V, VO, VR any](l *Table[K, V], r *Table[K, VO], prefix string, join func(lv, rv any) (any, error)) *Table[K, VR] {
	b := l.b
	if l.getter == nil || r.getter == nil {
		b.fail("%s: a table cannot be looked up by key (a windowed or suppressed table)", prefix)
		return &Table[K, VR]{b: b}
	}
	this, other, merge := b.name(prefix), b.name(prefix+"-OTHER"), b.name(prefix+"-MERGE")
	side := func(getter *getterSupplier, thisIsLeft bool) processor.Supplier {
		return func() processor.Processor {
			return &tableJoinSide{getter: getter, thisIsLeft: thisIsLeft, join: join}
		}
	}
	b.topo.AddProcessor(this, side(r.getter, true), l.node)
	b.topo.AddProcessor(other, side(l.getter, false), r.node)
	for _, st := range r.getter.stores {
		b.topo.ConnectStore(st, this)
	}
	for _, st := range l.getter.stores {
		b.topo.ConnectStore(st, other)
	}
	b.topo.AddProcessor(merge, passThrough, this, other)
	b.topo.Copartition(union(l.topics, r.topics)...)
	lg, rg := l.getter, r.getter
	getter := &getterSupplier{stores: union(lg.stores, rg.stores), make: func(ctx processor.Context) (func(any) (any, int64, error), error) {
		lget, err := lg.make(ctx)
		if err != nil {
			return nil, err
		}
		rget, err := rg.make(ctx)
		if err != nil {
			return nil, err
		}
		return func(key any) (any, int64, error) {
			lv, lts, err := lget(key)
			if err != nil {
				return nil, 0, err
			}
			rv, rts, err := rget(key)
			if err != nil {
				return nil, 0, err
			}
			v, err := join(lv, rv)
			return v, max(lts, rts), err
		}, nil
	}}
	return &Table[K, VR]{b: b, node: merge, ks: l.ks, getter: getter, topics: union(l.topics, r.topics)}
}

// tableJoinSide processes one table's changes in a table-table join.
type tableJoinSide struct {
	getter     *getterSupplier
	thisIsLeft bool
	join       func(lv, rv any) (any, error)
	ctx        processor.Context
	get        func(any) (any, int64, error)
}

func (p *tableJoinSide) Init(ctx processor.Context) (err error) {
	p.ctx = ctx
	p.get, err = p.getter.make(ctx)
	return err
}

func (p *tableJoinSide) Process(rec processor.Record) error {
	c, ok := rec.Value.(change)
	if !ok {
		return fmt.Errorf("%w: %T in a table", errType, rec.Value)
	}
	if rec.Key == nil {
		return nil
	}
	ov, ots, err := p.get(rec.Key)
	if err != nil {
		return err
	}
	pair := func(v any) (any, error) {
		if p.thisIsLeft {
			return p.join(v, ov)
		}
		return p.join(ov, v)
	}
	n, err := pair(c.new)
	if err != nil {
		return err
	}
	o, err := pair(c.old)
	if err != nil {
		return err
	}
	if n == nil && o == nil {
		return nil
	}
	rec.Value = change{new: n, old: o}
	if ov != nil {
		rec.Timestamp = max(rec.Timestamp, ots) // the later of the two values joined
	}
	return p.ctx.Forward(rec)
}

func (p *tableJoinSide) Close() error { return nil }
