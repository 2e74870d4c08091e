package streams

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/state"
)

// SuppressConfig says what Suppress holds back: UntilWindowCloses or UntilTimeLimit, with an
// unbounded buffer unless WithBuffer bounds it.
type SuppressConfig struct {
	untilWindowCloses bool
	timeLimit         time.Duration // UntilTimeLimit's; untilWindowCloses false
	buffer            BufferConfig
}

// UntilWindowCloses emits only each window's final result, once the window has closed:
// when the stream time seen by the suppression (the largest timestamp of the updates it got)
// reaches window end + grace (Kafka Streams' Suppressed.untilWindowCloses).
var UntilWindowCloses = SuppressConfig{untilWindowCloses: true}

// UntilTimeLimit rate-limits a table's updates (Kafka Streams' Suppressed.untilTimeLimit): a
// key's first update is held, later ones replace it, and the key's latest value is emitted
// once the stream time seen by the suppression reaches the first held update's timestamp +
// limit. A key then starts over with its next update. Deletions are held and emitted the same
// way. Any table can be limited, windowed or not; limit 0 emits every update at once.
func UntilTimeLimit(limit time.Duration) SuppressConfig {
	return SuppressConfig{timeLimit: limit}
}

// WithBuffer bounds the suppression's buffer. UntilWindowCloses takes only a buffer that
// shuts down when full (emitting a window early would break its one-final-result promise).
func (c SuppressConfig) WithBuffer(b BufferConfig) SuppressConfig {
	c.buffer = b
	return c
}

// BufferConfig bounds a suppression buffer (Kafka Streams' Suppressed.BufferConfig). The zero
// value is unbounded. What counts against MaxBytes is each held entry's stored key and value
// bytes: the serialized key and value and 16 (UntilWindowCloses) or 18 (UntilTimeLimit) bytes
// of timestamps and flags.
type BufferConfig struct {
	maxRecords, maxBytes int64 // 0: no bound
	shutDown             bool
	invalid              string
}

// UnboundedBuffer is a buffer without bounds, the default.
func UnboundedBuffer() BufferConfig { return BufferConfig{} }

// MaxRecords is a buffer of at most n held records that emits early when full.
func MaxRecords(n int64) BufferConfig { return BufferConfig{}.WithMaxRecords(n) }

// MaxBytes is a buffer of at most n bytes that emits early when full.
func MaxBytes(n int64) BufferConfig { return BufferConfig{}.WithMaxBytes(n) }

// WithMaxRecords bounds the buffer to n held records (n > 0).
func (b BufferConfig) WithMaxRecords(n int64) BufferConfig {
	if n <= 0 {
		b.invalid = fmt.Sprintf("a buffer of at most %d records", n)
	}
	b.maxRecords = n
	return b
}

// WithMaxBytes bounds the buffer to n bytes (n > 0).
func (b BufferConfig) WithMaxBytes(n int64) BufferConfig {
	if n <= 0 {
		b.invalid = fmt.Sprintf("a buffer of at most %d bytes", n)
	}
	b.maxBytes = n
	return b
}

// EmitEarlyWhenFull: past a bound, the held records due soonest are emitted at once until the
// buffer is within its bounds again (the default for a bounded buffer; UntilTimeLimit only).
func (b BufferConfig) EmitEarlyWhenFull() BufferConfig {
	b.shutDown = false
	return b
}

// ShutDownWhenFull: past a bound, the task fails (and with it the App), as Kafka Streams'
// shutDownWhenFull, rather than emit anything early.
func (b BufferConfig) ShutDownWhenFull() BufferConfig {
	b.shutDown = true
	return b
}

func (b BufferConfig) bounded() bool { return b.maxRecords > 0 || b.maxBytes > 0 }

// Suppress holds back updates of a table as c says. The buffer is a key-value store (logged,
// so it survives restarts and moves with its task) holding each key's latest value until it is
// emitted. Only windowed tables (from WindowedBy and SessionWindowedBy aggregations) can be
// suppressed until their windows close.
func (t *Table[K, V]) Suppress(c SuppressConfig) *Table[K, V] {
	b := t.b
	switch {
	case c.buffer.invalid != "":
		b.fail("Suppress: %s", c.buffer.invalid)
		return t
	case !c.untilWindowCloses && c.timeLimit < 0:
		b.fail("Suppress: UntilTimeLimit(%v): the limit must not be negative", c.timeLimit)
		return t
	case c.untilWindowCloses && t.win == nil:
		b.fail("Suppress(UntilWindowCloses) needs a windowed table")
		return t
	case c.untilWindowCloses && c.buffer.bounded() && !c.buffer.shutDown:
		b.fail("Suppress(UntilWindowCloses) takes only an unbounded buffer or one that shuts down when full")
		return t
	case t.ks == nil || t.vs == nil:
		b.fail("Suppress: the table's key and value serdes are unknown")
		return t
	}
	name := b.name("KTABLE-SUPPRESS")
	store := b.name("KTABLE-SUPPRESS-STATE-STORE")
	kc, vc := codec[K]{t.ks, storeTopic(store)}, codec[V]{t.vs, storeTopic(store)}
	buf := suppressBuffer{store: store, cfg: c.buffer}
	if c.untilWindowCloses {
		win := t.win
		b.topo.AddProcessor(name, func() processor.Processor {
			return &suppressor[K, V]{suppressBuffer: buf, kc: kc, vc: vc, win: win, observed: math.MinInt64}
		}, t.node)
	} else {
		limit := c.timeLimit.Milliseconds()
		b.topo.AddProcessor(name, func() processor.Processor {
			return &timeLimitSuppressor[K, V]{suppressBuffer: buf, kc: kc, vc: vc, limit: limit, observed: math.MinInt64}
		}, t.node)
	}
	b.topo.AddStore(processor.StoreSpec{Name: store, Kind: processor.KeyValueStore}, name)
	return &Table[K, V]{b: b, node: name, ks: t.ks, vs: t.vs, topics: t.topics, win: t.win}
}

func appendOrderedTime(dst []byte, t int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(t)^(1<<63))
}

// suppressBuffer is what both suppressors share: the buffer's store, its size against its
// bounds, and scratch for collecting entries.
type suppressBuffer struct {
	store string
	cfg   BufferConfig
	ctx   processor.Context
	kv    state.KeyValueStore
	// The held entries' count and bytes (key and value), counted from the store at the first
	// record after Init (the store is restored by then), and kept after.
	sized          bool
	records, bytes int64
	due            []state.Record
	// Scratch for collect: the range bound, the entries' bytes and their lengths.
	bound, arena []byte
	lens         []int
}

// Init and Close are both suppressors' (processor.Processor).
func (s *suppressBuffer) Init(ctx processor.Context) (err error) {
	s.ctx = ctx
	s.kv, err = ctx.KeyValueStore(s.store)
	return err
}

func (s *suppressBuffer) Close() error { return nil }

// size counts the held entries, [from, to), once, when the buffer is bounded.
func (s *suppressBuffer) size(from, to []byte) error {
	if s.sized || !s.cfg.bounded() {
		return nil
	}
	s.sized = true
	return s.kv.Range(from, to, func(k, v []byte) bool {
		s.records++
		s.bytes += int64(len(k) + len(v))
		return true
	})
}

// held adjusts the size for an entry of key k: old is its previous value (nil: none), new its
// value now (nil: deleted).
func (s *suppressBuffer) held(k, old, new []byte) {
	if old != nil {
		s.records--
		s.bytes -= int64(len(k) + len(old))
	}
	if new != nil {
		s.records++
		s.bytes += int64(len(k) + len(new))
	}
}

// over reports whether the buffer holds more than its bounds allow.
func (s *suppressBuffer) over(records, bytes int64) bool {
	return (s.cfg.maxRecords > 0 && records > s.cfg.maxRecords) || (s.cfg.maxBytes > 0 && bytes > s.cfg.maxBytes)
}

// full returns the error of a buffer that shuts down when full.
func (s *suppressBuffer) full() error {
	return fmt.Errorf("streams: suppression buffer %q is full (%d records, %d bytes; at most %d records, %d bytes) and shuts down when full",
		s.store, s.records, s.bytes, s.cfg.maxRecords, s.cfg.maxBytes)
}

// collect copies into s.due the entries of [from, to) in key order, while more reports that
// another is wanted given the count and bytes of those collected so far.
func (s *suppressBuffer) collect(from, to []byte, more func(n int, bytes int64) bool) error {
	s.due, s.arena = s.due[:0], s.arena[:0]
	var n int
	var bytes int64
	err := s.kv.Range(from, to, func(k, v []byte) bool {
		if !more(n, bytes) {
			return false
		}
		// Keys and values are copied into one arena, sliced once it stops growing.
		s.due = append(s.due, state.Record{})
		s.arena = append(append(s.arena, k...), v...)
		s.lens = append(s.lens, len(k), len(v))
		n++
		bytes += int64(len(k) + len(v))
		return true
	})
	at := 0
	for i := range s.due {
		kl, vl := s.lens[2*i], s.lens[2*i+1]
		s.due[i] = state.Record{Key: s.arena[at : at+kl : at+kl], Value: s.arena[at+kl : at+kl+vl : at+kl+vl]}
		at += kl + vl
	}
	s.lens = s.lens[:0]
	return err
}

func always(int, int64) bool { return true }

// suppressor buffers each window's latest value under
//
//	key:   window end (8 bytes, big-endian, sign bit flipped, so the store's byte order is time order) | windowed key bytes
//	value: record timestamp (8 bytes big-endian) | value bytes
//
// and emits, in window-end order, every window whose end + grace <= the observed stream time.
type suppressor[K, V any] struct {
	suppressBuffer
	kc       codec[K]
	vc       codec[V]
	win      *windowInfo
	observed int64
	key, val []byte
}

func (p *suppressor[K, V]) Process(rec processor.Record) error {
	c, ok := rec.Value.(change)
	if !ok {
		return fmt.Errorf("%w: %T in a table", errType, rec.Value)
	}
	if err := p.size(nil, nil); err != nil {
		return err
	}
	kb, err := p.kc.encode(rec.Key)
	if err != nil {
		return err
	}
	p.key = appendOrderedTime(p.key[:0], p.win.end(rec.Key))
	p.key = append(p.key, kb...)
	var old []byte
	if p.cfg.bounded() {
		if old, err = p.kv.Get(p.key); err != nil {
			return err
		}
	}
	if c.new == nil {
		err = p.kv.Delete(p.key)
		p.held(p.key, old, nil)
	} else {
		vb, verr := p.vc.encode(c.new)
		if verr != nil {
			return verr
		}
		p.val = binary.BigEndian.AppendUint64(p.val[:0], uint64(rec.Timestamp))
		p.val = append(p.val, vb...)
		err = p.kv.Put(p.key, p.val)
		p.held(p.key, old, p.val)
	}
	if err != nil {
		return err
	}
	// The timestamps of the records it gets, not the task's stream time (Kafka Streams'
	// KTableSuppressProcessor): a record cache flushes updates made before stream time
	// moved on, and each must not see its window closed by what came after it.
	p.observed = max(p.observed, rec.Timestamp)
	if err := p.emit(); err != nil {
		return err
	}
	if p.over(p.records, p.bytes) {
		return p.full() // a window buffer only ever shuts down when full
	}
	return nil
}

// emit forwards and deletes every buffered window that has closed.
func (p *suppressor[K, V]) emit() error {
	if p.observed < math.MinInt64+p.win.grace+1 {
		return nil
	}
	// Windows with end <= observed - grace are closed: keys below time observed-grace+1.
	p.bound = appendOrderedTime(p.bound[:0], p.observed-p.win.grace+1)
	if err := p.collect(nil, p.bound, always); err != nil {
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
		p.held(r.Key, r.Value, nil)
		ts := int64(binary.BigEndian.Uint64(r.Value))
		if err := p.ctx.Forward(processor.Record{Key: key, Value: change{new: val}, Timestamp: ts}); err != nil {
			return err
		}
	}
	return nil
}

// timeLimitSuppressor is UntilTimeLimit's buffer. Two kinds of entries share its store:
//
//	't' | first update's timestamp (ordered, as the window suppressor's) | key bytes
//	    -> latest update's timestamp (8 bytes big-endian) | 1 and the value bytes, or 0 (a deletion)
//	'k' | key bytes -> the first update's timestamp (8 bytes, ordered): the index from a key
//	    to its 't' entry
//
// The 't' entries are in emission order: by the held key's first update, then by key bytes.
// Only they count against the buffer's bounds.
type timeLimitSuppressor[K, V any] struct {
	suppressBuffer
	kc       codec[K]
	vc       codec[V]
	limit    int64 // milliseconds
	observed int64
	idx, key []byte
	val      []byte
}

// timeEntries is the range of the 't' entries.
var timeEntries = [2][]byte{{'t'}, {'t' + 1}}

func (p *timeLimitSuppressor[K, V]) Process(rec processor.Record) error {
	c, ok := rec.Value.(change)
	if !ok {
		return fmt.Errorf("%w: %T in a table", errType, rec.Value)
	}
	if err := p.size(timeEntries[0], timeEntries[1]); err != nil {
		return err
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
	e := heldEntry{first: rec.Timestamp, ts: rec.Timestamp, key: kb, present: c.new != nil}
	held := len(first) == 8
	if held { // the update replaces the held one, keeping its first timestamp
		e.first = int64(binary.BigEndian.Uint64(first) ^ (1 << 63))
	}
	if e.present {
		if e.value, err = p.vc.encode(c.new); err != nil {
			return err
		}
	}
	p.key, p.val = appendHeldEntry(p.key[:0], p.val[:0], e)
	if !held {
		if err := p.kv.Put(p.idx, p.key[1:9]); err != nil {
			return err
		}
	}
	var old []byte
	if held && p.cfg.bounded() {
		if old, err = p.kv.Get(p.key); err != nil {
			return err
		}
	}
	if err := p.kv.Put(p.key, p.val); err != nil {
		return err
	}
	p.held(p.key, old, p.val)
	p.observed = max(p.observed, rec.Timestamp)
	if err := p.emit(); err != nil {
		return err
	}
	if !p.over(p.records, p.bytes) {
		return nil
	}
	if p.cfg.shutDown {
		return p.full()
	}
	// Emit early: the entries due soonest, until what is left is within the bounds.
	records, bytes := p.records, p.bytes
	if err := p.collect(timeEntries[0], timeEntries[1], func(n int, b int64) bool {
		return p.over(records-int64(n), bytes-b)
	}); err != nil {
		return err
	}
	return p.forwardDue()
}

// emit forwards and deletes every held key whose first update is limit or more before the
// observed stream time.
func (p *timeLimitSuppressor[K, V]) emit() error {
	if p.observed < math.MinInt64+p.limit+1 {
		return nil
	}
	// Due: first update <= observed - limit, i.e. 't' keys below time observed-limit+1.
	p.bound = appendOrderedTime(append(p.bound[:0], 't'), p.observed-p.limit+1)
	if err := p.collect(timeEntries[0], p.bound, always); err != nil {
		return err
	}
	return p.forwardDue()
}

// forwardDue forwards and deletes the collected entries.
func (p *timeLimitSuppressor[K, V]) forwardDue() error {
	for _, r := range p.due {
		e, err := parseHeldEntry(r.Key, r.Value)
		if err != nil {
			return fmt.Errorf("streams: suppression buffer %q: %w", p.store, err)
		}
		kb := e.key
		key, err := p.kc.decode(kb)
		if err != nil {
			return err
		}
		var val any
		if e.present {
			if val, err = p.vc.decode(e.value); err != nil {
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
		p.held(r.Key, r.Value, nil)
		if err := p.ctx.Forward(processor.Record{Key: key, Value: change{new: val}, Timestamp: e.ts}); err != nil {
			return err
		}
	}
	return nil
}

// heldEntry is a parsed 't' entry of an UntilTimeLimit buffer.
type heldEntry struct {
	first, ts int64 // the first held update's timestamp, the latest's
	key       []byte
	present   bool // false: a deletion is held
	value     []byte
}

// parseHeldEntry parses a 't' entry read back from the store (and so from its changelog).
func parseHeldEntry(k, v []byte) (heldEntry, error) {
	if len(k) < 9 || k[0] != 't' || len(v) < 9 || v[8] > 1 || (v[8] == 0 && len(v) != 9) {
		return heldEntry{}, fmt.Errorf("corrupt entry (key %d bytes, value %d bytes)", len(k), len(v))
	}
	return heldEntry{first: int64(binary.BigEndian.Uint64(k[1:9]) ^ (1 << 63)), ts: int64(binary.BigEndian.Uint64(v)),
		key: k[9:], present: v[8] == 1, value: v[9:]}, nil
}

// appendHeldEntry is parseHeldEntry's inverse.
func appendHeldEntry(k, v []byte, e heldEntry) ([]byte, []byte) {
	k = append(appendOrderedTime(append(k, 't'), e.first), e.key...)
	v = binary.BigEndian.AppendUint64(v, uint64(e.ts))
	if !e.present {
		return k, append(v, 0)
	}
	return k, append(append(v, 1), e.value...)
}
