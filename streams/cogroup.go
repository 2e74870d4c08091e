package streams

import (
	"strconv"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/state"
)

// CogroupedStream aggregates several grouped streams of the same key into one table (Kafka
// Streams' CogroupedKStream, KIP-150): each stream has its own aggregator, all update the same
// aggregate in one store. The streams must be co-partitioned (recorded); a stream whose key
// may have changed is repartitioned first ("<Grouped name or store>-<i>-repartition").
type CogroupedStream[K, A any] struct {
	b     *Builder
	ks    serde.Serde[K]
	parts []cogroupPart[A]
}

type cogroupPart[A any] struct {
	// input returns the node the part's aggregation hangs from and its topics.
	input func(store string, i int) (string, []string, bool)
	add   func(key, value any, agg A) (A, error)
}

// Cogroup starts a cogrouped aggregation with g's records folded by fn.
func Cogroup[K, V, A any](g *GroupedStream[K, V], fn func(K, V, A) A) *CogroupedStream[K, A] {
	return CogroupWith(&CogroupedStream[K, A]{b: g.b, ks: g.ks}, g, fn)
}

// CogroupWith adds g's records, folded by fn, to the cogrouped aggregation.
func CogroupWith[K, V, A any](c *CogroupedStream[K, A], g *GroupedStream[K, V], fn func(K, V, A) A) *CogroupedStream[K, A] {
	c.parts = append(c.parts, cogroupPart[A]{
		input: func(store string, i int) (string, []string, bool) {
			if g.name != "" {
				return g.inputNamed(g.name)
			}
			return g.inputNamed(store + "-" + strconv.Itoa(i))
		},
		add: func(key, value any, agg A) (A, error) {
			k, v, err := kv[K, V](processor.Record{Key: key, Value: value})
			if err != nil {
				return agg, err
			}
			return fn(k, v, agg), nil
		},
	})
	return c
}

// Aggregate makes the table of the aggregates: init() for a new key, then each stream's
// aggregator for its records.
func (c *CogroupedStream[K, A]) Aggregate(init func() A, m MaterializedOptions[A]) *Table[K, A] {
	b := c.b
	if c.ks == nil || m.ValueSerde == nil {
		b.fail("cogroup: needs a key serde (Grouped) and a value serde (Materialized)")
		return &Table[K, A]{b: b}
	}
	store := m.Name
	if store == "" {
		store = b.name("COGROUPKSTREAM-AGGREGATE-STATE-STORE")
	}
	kc, ac := codec[K]{c.ks, storeTopic(store)}, codec[A]{m.ValueSerde, storeTopic(store)}
	var nodes []string
	var topics [][]string
	for i, part := range c.parts {
		in, ts, ok := part.input(store, i)
		if !ok {
			return &Table[K, A]{b: b}
		}
		name := b.name("COGROUPKSTREAM-AGGREGATE")
		add := part.add
		log := b.logger()
		b.topo.AddProcessor(name, func() processor.Processor {
			return &cogroupAggregate[A]{store: store, kc: kc.encode, ac: ac, init: init, add: add, log: log.Debug}
		}, in)
		if i == 0 {
			b.topo.AddStore(m.spec(store, processor.KeyValueStore), name)
		} else {
			b.topo.ConnectStore(store, name)
		}
		nodes = append(nodes, name)
		topics = append(topics, ts)
	}
	merge := b.name("COGROUPKSTREAM-MERGE")
	b.topo.AddProcessor(merge, passThrough, nodes...)
	all := union(topics...)
	if len(c.parts) > 1 {
		b.topo.Copartition(all...)
	}
	return &Table[K, A]{b: b, node: merge, ks: c.ks, vs: m.ValueSerde, store: store, getter: kvGetter(store, kc, ac), topics: all}
}

// cogroupAggregate is one stream's part of a cogrouped aggregation (Kafka Streams'
// KStreamAggregate over the shared store).
type cogroupAggregate[A any] struct {
	store string
	kc    func(any) ([]byte, error)
	ac    codec[A]
	init  func() A
	add   func(key, value any, agg A) (A, error)
	log   func(string, ...any)
	ctx   processor.Context
	kv    state.KeyValueStore
	buf   []byte
}

func (p *cogroupAggregate[A]) Init(ctx processor.Context) (err error) {
	p.ctx = ctx
	p.kv, err = ctx.KeyValueStore(p.store)
	return err
}

func (p *cogroupAggregate[A]) Process(rec processor.Record) error {
	if rec.Key == nil || rec.Value == nil {
		dropped(p.ctx)
		p.log("skipping a record with a null key or value", "store", p.store, "topic", p.ctx.Topic(), "partition", p.ctx.Partition(), "offset", p.ctx.Offset())
		return nil
	}
	kb, err := p.kc(rec.Key)
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
	agg := p.init()
	if had {
		if agg, err = cast[A](old); err != nil {
			return err
		}
	}
	if agg, err = p.add(rec.Key, rec.Value, agg); err != nil {
		return err
	}
	ts := rec.Timestamp // the latest timestamp of the values aggregated (Kafka Streams)
	if had {
		ts = max(ts, oldTs)
	}
	if p.buf, err = p.ac.appendStored(p.buf[:0], ts, agg); err != nil {
		return err
	}
	if err := p.kv.Put(kb, p.buf); err != nil {
		return err
	}
	rec.Value, rec.Timestamp = change{new: agg, old: old}, ts
	return p.ctx.Forward(rec)
}

func (p *cogroupAggregate[A]) Close() error { return nil }
