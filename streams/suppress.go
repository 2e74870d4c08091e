package streams

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/state"
)

// SuppressConfig says what Suppress holds back.
type SuppressConfig struct {
	untilWindowCloses bool
}

// UntilWindowCloses emits only each window's final result, once the window has closed:
// when the stream time seen by the suppression (the largest timestamp of the updates it got)
// reaches window end + grace (Kafka Streams' Suppressed.untilWindowCloses with an unbounded
// buffer).
var UntilWindowCloses = SuppressConfig{untilWindowCloses: true}

// Suppress holds back updates of a windowed table as c says. The buffer is a key-value store
// (logged, so it survives restarts and moves with its task) holding each window's latest value
// until it is emitted. Only windowed tables (from WindowedBy and SessionWindowedBy
// aggregations) can be suppressed until their windows close.
func (t *Table[K, V]) Suppress(c SuppressConfig) *Table[K, V] {
	b := t.b
	if !c.untilWindowCloses {
		b.fail("Suppress: only UntilWindowCloses is supported")
		return t
	}
	if t.win == nil {
		b.fail("Suppress(UntilWindowCloses) needs a windowed table")
		return t
	}
	if t.ks == nil || t.vs == nil {
		b.fail("Suppress: the table's key and value serdes are unknown")
		return t
	}
	name := b.name("KTABLE-SUPPRESS")
	store := b.name("KTABLE-SUPPRESS-STATE-STORE")
	kc, vc := codec[K]{t.ks, storeTopic(store)}, codec[V]{t.vs, storeTopic(store)}
	win := t.win
	b.topo.AddProcessor(name, func() processor.Processor {
		return &suppressor[K, V]{store: store, kc: kc, vc: vc, win: win, observed: math.MinInt64}
	}, t.node)
	b.topo.AddStore(processor.StoreSpec{Name: store, Kind: processor.KeyValueStore}, name)
	return &Table[K, V]{b: b, node: name, ks: t.ks, vs: t.vs, topics: t.topics, win: t.win}
}

// suppressor buffers each window's latest value under
//
//	key:   window end (8 bytes, big-endian, sign bit flipped, so the store's byte order is time order) | windowed key bytes
//	value: record timestamp (8 bytes big-endian) | value bytes
//
// and emits, in window-end order, every window whose end + grace <= the observed stream time.
type suppressor[K, V any] struct {
	store    string
	kc       codec[K]
	vc       codec[V]
	win      *windowInfo
	ctx      processor.Context
	kv       state.KeyValueStore
	observed int64
	key, val []byte
	due      []state.Record
	// Scratch for emit: the range bound, the due entries' bytes and their lengths.
	bound, arena []byte
	lens         []int
}

func (p *suppressor[K, V]) Init(ctx processor.Context) (err error) {
	p.ctx = ctx
	p.kv, err = ctx.KeyValueStore(p.store)
	return err
}

func appendOrderedTime(dst []byte, t int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(t)^(1<<63))
}

func (p *suppressor[K, V]) Process(rec processor.Record) error {
	c, ok := rec.Value.(change)
	if !ok {
		return fmt.Errorf("%w: %T in a table", errType, rec.Value)
	}
	kb, err := p.kc.encode(rec.Key)
	if err != nil {
		return err
	}
	p.key = appendOrderedTime(p.key[:0], p.win.end(rec.Key))
	p.key = append(p.key, kb...)
	if c.new == nil {
		err = p.kv.Delete(p.key)
	} else {
		vb, verr := p.vc.encode(c.new)
		if verr != nil {
			return verr
		}
		p.val = binary.BigEndian.AppendUint64(p.val[:0], uint64(rec.Timestamp))
		p.val = append(p.val, vb...)
		err = p.kv.Put(p.key, p.val)
	}
	if err != nil {
		return err
	}
	// The timestamps of the records it gets, not the task's stream time (Kafka Streams'
	// KTableSuppressProcessor): a record cache flushes updates made before stream time
	// moved on, and each must not see its window closed by what came after it.
	p.observed = max(p.observed, rec.Timestamp)
	return p.emit()
}

// emit forwards and deletes every buffered window that has closed.
func (p *suppressor[K, V]) emit() error {
	if p.observed < math.MinInt64+p.win.grace+1 {
		return nil
	}
	// Windows with end <= observed - grace are closed: keys below time observed-grace+1.
	p.bound = appendOrderedTime(p.bound[:0], p.observed-p.win.grace+1)
	p.due, p.arena = p.due[:0], p.arena[:0]
	err := p.kv.Range(nil, p.bound, func(k, v []byte) bool {
		// Keys and values are copied into one arena, sliced once it stops growing.
		p.due = append(p.due, state.Record{Key: k[:0:0], Value: v[:0:0]})
		p.arena = append(append(p.arena, k...), v...)
		p.lens = append(p.lens, len(k), len(v))
		return true
	})
	at := 0
	for i := range p.due {
		kl, vl := p.lens[2*i], p.lens[2*i+1]
		p.due[i] = state.Record{Key: p.arena[at : at+kl : at+kl], Value: p.arena[at+kl : at+kl+vl : at+kl+vl]}
		at += kl + vl
	}
	p.lens = p.lens[:0]
	if err != nil {
		return err
	}
	for _, r := range p.due {
		if len(r.Key) < 8 || len(r.Value) < 8 {
			return fmt.Errorf("streams: suppression buffer %q: corrupt entry", p.store)
		}
		key, err := p.kc.decode(r.Key[8:])
		if err != nil {
			return err
		}
		val, err := p.vc.decode(r.Value[8:])
		if err != nil {
			return err
		}
		if err := p.kv.Delete(r.Key); err != nil {
			return err
		}
		ts := int64(binary.BigEndian.Uint64(r.Value))
		if err := p.ctx.Forward(processor.Record{Key: key, Value: change{new: val}, Timestamp: ts}); err != nil {
			return err
		}
	}
	return nil
}

func (p *suppressor[K, V]) Close() error { return nil }
