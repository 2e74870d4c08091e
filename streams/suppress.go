package streams

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/state"
)

// SuppressConfig says what Suppress holds back: UntilWindowCloses or UntilTimeLimit.
type SuppressConfig struct {
	untilWindowCloses bool
	timeLimit         time.Duration // UntilTimeLimit's; untilWindowCloses false
}

// UntilWindowCloses emits only each window's final result, once the window has closed:
// when the stream time seen by the suppression (the largest timestamp of the updates it got)
// reaches window end + grace (Kafka Streams' Suppressed.untilWindowCloses with an unbounded
// buffer).
var UntilWindowCloses = SuppressConfig{untilWindowCloses: true}

// UntilTimeLimit rate-limits a table's updates (Kafka Streams' Suppressed.untilTimeLimit with
// an unbounded buffer): a key's first update is held, later ones replace it, and the key's
// latest value is emitted once the stream time seen by the suppression reaches the first
// held update's timestamp + limit. A key then starts over with its next update. Deletions
// are held and emitted the same way. Any table can be limited, windowed or not; limit 0
// emits every update at once.
func UntilTimeLimit(limit time.Duration) SuppressConfig {
	return SuppressConfig{timeLimit: limit}
}

// Suppress holds back updates of a table as c says. The buffer is a key-value store (logged,
// so it survives restarts and moves with its task) holding each key's latest value until it is
// emitted. Only windowed tables (from WindowedBy and SessionWindowedBy aggregations) can be
// suppressed until their windows close.
func (t *Table[K, V]) Suppress(c SuppressConfig) *Table[K, V] {
	b := t.b
	if !c.untilWindowCloses && c.timeLimit < 0 {
		b.fail("Suppress: UntilTimeLimit(%v): the limit must not be negative", c.timeLimit)
		return t
	}
	if c.untilWindowCloses && t.win == nil {
		b.fail("Suppress(UntilWindowCloses) needs a windowed table")
		return t
	}
	if t.ks == nil || t.vs == nil {
		b.fail("Suppress: the table's key and value serdes are unknown")
		return t
	}
	if !c.untilWindowCloses {
		name := b.name("KTABLE-SUPPRESS")
		store := b.name("KTABLE-SUPPRESS-STATE-STORE")
		kc, vc := codec[K]{t.ks, storeTopic(store)}, codec[V]{t.vs, storeTopic(store)}
		limit := c.timeLimit.Milliseconds()
		b.topo.AddProcessor(name, func() processor.Processor {
			return &timeLimitSuppressor[K, V]{store: store, kc: kc, vc: vc, limit: limit, observed: math.MinInt64}
		}, t.node)
		b.topo.AddStore(processor.StoreSpec{Name: store, Kind: processor.KeyValueStore}, name)
		return &Table[K, V]{b: b, node: name, ks: t.ks, vs: t.vs, topics: t.topics, win: t.win}
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

// timeLimitSuppressor is UntilTimeLimit's buffer. Two kinds of entries share its store:
//
//	't' | first update's timestamp (ordered, as the window suppressor's) | key bytes
//	    -> latest update's timestamp (8 bytes big-endian) | 1 and the value bytes, or 0 (a deletion)
//	'k' | key bytes -> the first update's timestamp (8 bytes, ordered): the index from a key
//	    to its 't' entry
//
// The 't' entries are in emission order: by the held key's first update, then by key bytes.
type timeLimitSuppressor[K, V any] struct {
	store    string
	kc       codec[K]
	vc       codec[V]
	limit    int64 // milliseconds
	ctx      processor.Context
	kv       state.KeyValueStore
	observed int64
	idx, key []byte
	val      []byte
	due      []state.Record
	// Scratch for emit, as the window suppressor's.
	bound, arena []byte
	lens         []int
}

func (p *timeLimitSuppressor[K, V]) Init(ctx processor.Context) (err error) {
	p.ctx = ctx
	p.kv, err = ctx.KeyValueStore(p.store)
	return err
}

func (p *timeLimitSuppressor[K, V]) Process(rec processor.Record) error {
	c, ok := rec.Value.(change)
	if !ok {
		return fmt.Errorf("%w: %T in a table", errType, rec.Value)
	}
	kb, err := p.kc.encode(rec.Key)
	if err != nil {
		return err
	}
	p.idx = append(append(p.idx[:0], 'k'), kb...)
	first, err := p.kv.Get(p.idx)
	if err != nil {
		return err
	}
	p.key = append(p.key[:0], 't')
	if len(first) == 8 {
		p.key = append(p.key, first...) // held already: the update replaces the held one
	} else {
		p.key = appendOrderedTime(p.key, rec.Timestamp)
		if err := p.kv.Put(p.idx, p.key[1:9]); err != nil {
			return err
		}
	}
	p.key = append(p.key, kb...)
	p.val = binary.BigEndian.AppendUint64(p.val[:0], uint64(rec.Timestamp))
	if c.new == nil {
		p.val = append(p.val, 0)
	} else {
		vb, err := p.vc.encode(c.new)
		if err != nil {
			return err
		}
		p.val = append(append(p.val, 1), vb...)
	}
	if err := p.kv.Put(p.key, p.val); err != nil {
		return err
	}
	p.observed = max(p.observed, rec.Timestamp)
	return p.emit()
}

// emit forwards and deletes every held key whose first update is limit or more before the
// observed stream time.
func (p *timeLimitSuppressor[K, V]) emit() error {
	if p.observed < math.MinInt64+p.limit+1 {
		return nil
	}
	// Due: first update <= observed - limit, i.e. 't' keys below time observed-limit+1.
	p.bound = appendOrderedTime(append(p.bound[:0], 't'), p.observed-p.limit+1)
	p.due, p.arena = p.due[:0], p.arena[:0]
	err := p.kv.Range([]byte{'t'}, p.bound, func(k, v []byte) bool {
		p.due = append(p.due, state.Record{})
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
		if len(r.Key) < 9 || len(r.Value) < 9 {
			return fmt.Errorf("streams: suppression buffer %q: corrupt entry", p.store)
		}
		kb := r.Key[9:]
		key, err := p.kc.decode(kb)
		if err != nil {
			return err
		}
		var val any
		if r.Value[8] == 1 {
			if val, err = p.vc.decode(r.Value[9:]); err != nil {
				return err
			}
		}
		if err := p.kv.Delete(r.Key); err != nil {
			return err
		}
		p.idx = append(append(p.idx[:0], 'k'), kb...)
		if err := p.kv.Delete(p.idx); err != nil {
			return err
		}
		ts := int64(binary.BigEndian.Uint64(r.Value))
		if err := p.ctx.Forward(processor.Record{Key: key, Value: change{new: val}, Timestamp: ts}); err != nil {
			return err
		}
	}
	return nil
}

func (p *timeLimitSuppressor[K, V]) Close() error { return nil }
