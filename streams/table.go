package streams

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/state"
)

// change is what flows between a table's processors (Kafka Streams' Change): the key's new
// value and the one it replaces, nil for none (a new key, a delete).
type change struct{ new, old any }

// Table is a changelog stream read as a table (Kafka Streams' KTable): the latest value per
// key, a nil value deleting the key. Tables read from a topic and made by aggregations are
// materialized in a key-value store; Filter and MapValues are computed on read from their
// parent's store (joins look values up through them).
type Table[K, V any] struct {
	b    *Builder
	node string
	ks   serde.Serde[K]
	vs   serde.Serde[V]
	// store holds exactly this table's values ("" when computed from a parent's).
	store  string
	getter *getterSupplier
	topics []string
	// win is set on tables of windowed aggregations (keys serde.Windowed[..]).
	win *windowInfo
}

// getterSupplier looks a table's current value up by key from a processor connected to its
// stores: the value getter of Kafka Streams' KTableValueGetterSupplier.
type getterSupplier struct {
	stores []string
	// make returns the lookup for one processor instance: the value (nil: absent) and its
	// timestamp.
	make func(ctx processor.Context) (func(key any) (any, int64, error), error)
}

// StoreName is the name of the store holding the table ("" for a table computed from
// another's store), for interactive queries.
func (t *Table[K, V]) StoreName() string { return t.store }

// NewTable reads topic as a table (Kafka Streams' StreamsBuilder.table), materialized in a
// key-value store with its own changelog topic. Records with a null key are dropped.
func NewTable[K, V any](b *Builder, topic string, c ConsumedOptions[K, V], m ...MaterializedOptions[V]) *Table[K, V] {
	src := From(b, c, topic)
	mat, _ := first(m)
	store := mat.Name
	if store == "" {
		store = b.name(topic + "-STATE-STORE")
	}
	name := b.name("KTABLE-SOURCE")
	kc, vc := codec[K]{c.KeySerde, storeTopic(store)}, codec[V]{c.ValueSerde, storeTopic(store)}
	if mat.ValueSerde != nil {
		vc.s = mat.ValueSerde
	}
	log := b.logger()
	b.topo.AddProcessor(name, func() processor.Processor {
		return &tableSource[K, V]{store: store, kc: kc, vc: vc, log: log.Debug}
	}, src.node)
	b.topo.AddStore(mat.spec(store, processor.KeyValueStore), name)
	return &Table[K, V]{b: b, node: name, ks: c.KeySerde, vs: c.ValueSerde, store: store,
		getter: kvGetter(store, kc, vc), topics: src.topics}
}

// kvGetter looks values up in a key-value store.
func kvGetter[K, V any](store string, kc codec[K], vc codec[V]) *getterSupplier {
	return &getterSupplier{stores: []string{store}, make: func(ctx processor.Context) (func(any) (any, int64, error), error) {
		kv, err := ctx.KeyValueStore(store)
		if err != nil {
			return nil, err
		}
		return func(key any) (any, int64, error) {
			kb, err := kc.encode(key)
			if err != nil || kb == nil {
				return nil, 0, err
			}
			b, err := kv.Get(kb)
			if err != nil {
				return nil, 0, err
			}
			ts, vb, err := splitTimestamped(b)
			if err != nil {
				return nil, 0, err
			}
			v, err := vc.decode(vb)
			return v, ts, err
		}, nil
	}}
}

// tableSource materializes a topic's records and forwards each as a change.
type tableSource[K, V any] struct {
	store string
	kc    codec[K]
	vc    codec[V]
	ctx   processor.Context
	kv    state.KeyValueStore
	log   func(msg string, args ...any)
	buf   []byte
}

func (p *tableSource[K, V]) Init(ctx processor.Context) (err error) {
	p.ctx = ctx
	p.kv, err = ctx.KeyValueStore(p.store)
	return err
}

func (p *tableSource[K, V]) Process(rec processor.Record) error {
	if rec.Key == nil {
		dropped(p.ctx)
		p.log("skipping a table record with a null key", "topic", p.ctx.Topic(), "partition", p.ctx.Partition(), "offset", p.ctx.Offset())
		return nil
	}
	kb, err := p.kc.encode(rec.Key)
	if err != nil {
		return err
	}
	oldB, err := p.kv.Get(kb)
	if err != nil {
		return err
	}
	if oldB == nil && rec.Value == nil {
		return nil // deleting an absent key changes nothing
	}
	_, oldV, err := splitTimestamped(oldB)
	if err != nil {
		return err
	}
	old, err := p.vc.decode(oldV)
	if err != nil {
		return err
	}
	if err := p.put(kb, rec.Value, rec.Timestamp); err != nil {
		return err
	}
	rec.Value = change{new: rec.Value, old: old}
	return p.ctx.Forward(rec)
}

// put stores v (nil deletes) with its timestamp.
func (p *tableSource[K, V]) put(kb []byte, v any, ts int64) error {
	vb, err := p.vc.encode(v)
	if err != nil || vb == nil {
		if err != nil {
			return err
		}
		return p.kv.Delete(kb)
	}
	p.buf = appendTimestamped(p.buf[:0], ts, vb)
	return p.kv.Put(kb, p.buf)
}

func (p *tableSource[K, V]) Close() error { return nil }

// ToStream returns the table's changes as a stream: each update's new value, null for a
// delete.
func (t *Table[K, V]) ToStream() *Stream[K, V] {
	name := t.b.name("KTABLE-TOSTREAM")
	t.b.topo.AddProcessor(name, processor.Func(func(ctx processor.Context, rec processor.Record) error {
		c, ok := rec.Value.(change)
		if !ok {
			return fmt.Errorf("%w: %T in a table", errType, rec.Value)
		}
		rec.Value = c.new
		return ctx.Forward(rec)
	}).Supplier(), t.node)
	return &Stream[K, V]{b: t.b, node: name, ks: t.ks, vs: t.vs, topics: t.topics}
}

// Filter keeps the entries for which keep returns true (others read as deleted: an update
// that makes an entry fail the predicate forwards a delete, as Kafka Streams' KTable filter).
func (t *Table[K, V]) Filter(keep func(K, V) bool) *Table[K, V] { return t.filter(keep, true) }

// FilterNot drops the entries for which drop returns true.
func (t *Table[K, V]) FilterNot(drop func(K, V) bool) *Table[K, V] { return t.filter(drop, false) }

func (t *Table[K, V]) filter(pred func(K, V) bool, want bool) *Table[K, V] {
	apply := func(key, v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		k, err := cast[K](key)
		if err != nil {
			return nil, err
		}
		tv, err := cast[V](v)
		if err != nil {
			return nil, err
		}
		if pred(k, tv) != want {
			return nil, nil
		}
		return v, nil
	}
	return deriveTable[K, V](t, "KTABLE-FILTER", t.vs, apply)
}

// deriveTable adds a processor applying fn to both sides of each change (and to values read
// through the getter); changes that become (nil, nil) are not forwarded.
func deriveTable[K, V2, V any](t *Table[K, V], prefix string, vs serde.Serde[V2], fn func(key, v any) (any, error)) *Table[K, V2] {
	name := t.b.name(prefix)
	t.b.topo.AddProcessor(name, processor.Func(func(ctx processor.Context, rec processor.Record) error {
		c, ok := rec.Value.(change)
		if !ok {
			return fmt.Errorf("%w: %T in a table", errType, rec.Value)
		}
		n, err := fn(rec.Key, c.new)
		if err != nil {
			return err
		}
		o, err := fn(rec.Key, c.old)
		if err != nil {
			return err
		}
		if n == nil && o == nil {
			return nil
		}
		rec.Value = change{new: n, old: o}
		return ctx.Forward(rec)
	}).Supplier(), t.node)
	out := &Table[K, V2]{b: t.b, node: name, ks: t.ks, vs: vs, topics: t.topics, win: t.win}
	if pg := t.getter; pg != nil {
		out.getter = &getterSupplier{stores: pg.stores, make: func(ctx processor.Context) (func(any) (any, int64, error), error) {
			get, err := pg.make(ctx)
			if err != nil {
				return nil, err
			}
			return func(key any) (any, int64, error) {
				v, ts, err := get(key)
				if err != nil {
					return nil, 0, err
				}
				v, err = fn(key, v)
				return v, ts, err
			}, nil
		}}
	}
	return out
}

// MapValuesTable replaces each entry's value with fn's.
func MapValuesTable[K, V, V2 any](t *Table[K, V], fn func(K, V) V2, vs ...serde.Serde[V2]) *Table[K, V2] {
	s, _ := first(vs)
	return deriveTable[K, V2](t, "KTABLE-MAPVALUES", s, func(key, v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		k, err := cast[K](key)
		if err != nil {
			return nil, err
		}
		tv, err := cast[V](v)
		if err != nil {
			return nil, err
		}
		return fn(k, tv), nil
	})
}

var errChange = errors.New("streams: corrupt change record in a repartition topic")

// encodeChange writes a change into a repartition topic's value (an internal layout):
// flags byte (1: new present, 2: old present) | uint32 length of new | new | old.
func encodeChange(topic string, ser processor.Serializer, c change) ([]byte, error) {
	nb, err := ser(topic, c.new)
	if err != nil {
		return nil, err
	}
	ob, err := ser(topic, c.old)
	if err != nil {
		return nil, err
	}
	var flags byte
	if c.new != nil {
		flags |= 1
	}
	if c.old != nil {
		flags |= 2
	}
	out := make([]byte, 0, 5+len(nb)+len(ob))
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, uint32(len(nb)))
	out = append(out, nb...)
	return append(out, ob...), nil
}

func decodeChange(topic string, de processor.Deserializer, b []byte) (change, error) {
	if len(b) < 5 || b[0]&^3 != 0 {
		return change{}, errChange
	}
	n := binary.BigEndian.Uint32(b[1:5])
	rest := b[5:]
	if uint64(n) > uint64(len(rest)) {
		return change{}, errChange
	}
	if (b[0]&1 == 0 && n != 0) || (b[0]&2 == 0 && uint64(len(rest)) != uint64(n)) {
		return change{}, errChange // bytes of a value flagged absent
	}
	var c change
	var err error
	if b[0]&1 != 0 {
		if c.new, err = de(topic, rest[:n:n]); err != nil {
			return change{}, err
		}
	}
	if b[0]&2 != 0 {
		if c.old, err = de(topic, rest[n:]); err != nil {
			return change{}, err
		}
	}
	return c, nil
}

// Materialize keeps the table's values in a key-value store of its own (named by m, else
// generated), so that it can be queried and joined through its store: for tables made by
// Filter, MapValuesTable and joins, which are otherwise computed on read (or, for foreign-key
// joins, cannot be looked up at all). m's value serde is needed unless the table's is known.
func (t *Table[K, V]) Materialize(m MaterializedOptions[V]) *Table[K, V] {
	b := t.b
	vs := m.ValueSerde
	if vs == nil {
		vs = t.vs
	}
	if t.ks == nil || vs == nil {
		b.fail("Materialize: the table's key serde and a value serde (Materialized) are needed")
		return t
	}
	if t.win != nil {
		b.fail("Materialize: windowed tables are already in window or session stores")
		return t
	}
	store := m.Name
	if store == "" {
		store = b.name("KTABLE-MATERIALIZE-STATE-STORE")
	}
	name := b.name("KTABLE-MATERIALIZE")
	kc, vc := codec[K]{t.ks, storeTopic(store)}, codec[V]{vs, storeTopic(store)}
	b.topo.AddProcessor(name, func() processor.Processor {
		return &tableMaterializer[K, V]{store: store, kc: kc, vc: vc}
	}, t.node)
	b.topo.AddStore(m.spec(store, processor.KeyValueStore), name)
	return &Table[K, V]{b: b, node: name, ks: t.ks, vs: vs, store: store, getter: kvGetter(store, kc, vc), topics: t.topics}
}

// tableMaterializer writes each change's new value to its store and forwards the change with
// the old value read from the store (what it replaced).
type tableMaterializer[K, V any] struct {
	store string
	kc    codec[K]
	vc    codec[V]
	ctx   processor.Context
	kv    state.KeyValueStore
	buf   []byte
}

func (p *tableMaterializer[K, V]) Init(ctx processor.Context) (err error) {
	p.ctx = ctx
	p.kv, err = ctx.KeyValueStore(p.store)
	return err
}

func (p *tableMaterializer[K, V]) Process(rec processor.Record) error {
	c, ok := rec.Value.(change)
	if !ok {
		return fmt.Errorf("%w: %T in a table", errType, rec.Value)
	}
	if rec.Key == nil {
		return nil
	}
	kb, err := p.kc.encode(rec.Key)
	if err != nil {
		return err
	}
	oldB, err := p.kv.Get(kb)
	if err != nil {
		return err
	}
	if oldB == nil && c.new == nil {
		return nil
	}
	_, oldV, err := splitTimestamped(oldB)
	if err != nil {
		return err
	}
	old, err := p.vc.decode(oldV)
	if err != nil {
		return err
	}
	vb, err := p.vc.encode(c.new)
	if err != nil {
		return err
	}
	if vb == nil {
		err = p.kv.Delete(kb)
	} else {
		p.buf = appendTimestamped(p.buf[:0], rec.Timestamp, vb)
		err = p.kv.Put(kb, p.buf)
	}
	if err != nil {
		return err
	}
	rec.Value = change{new: c.new, old: old}
	return p.ctx.Forward(rec)
}

func (p *tableMaterializer[K, V]) Close() error { return nil }
