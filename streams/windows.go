package streams

import (
	"math"
	"time"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/state"
)

// TimeWindows are fixed-size windows [start, start+size) on event time, advancing by
// advance: tumbling when advance == size, hopping (overlapping) when smaller. Windows are
// aligned to the epoch. A grace period must be given (Grace; Grace(0) for none): a record
// whose window ended grace or more before the stream time is late and dropped.
type TimeWindows struct {
	size, advance, grace int64
	graceSet             bool
}

// TumblingWindows are non-overlapping windows of size.
func TumblingWindows(size time.Duration) TimeWindows {
	return TimeWindows{size: size.Milliseconds(), advance: size.Milliseconds()}
}

// HoppingWindows are windows of size starting every advance.
func HoppingWindows(size, advance time.Duration) TimeWindows {
	return TimeWindows{size: size.Milliseconds(), advance: advance.Milliseconds()}
}

// Grace accepts records up to d after their window's end (in stream time).
func (w TimeWindows) Grace(d time.Duration) TimeWindows {
	w.grace, w.graceSet = d.Milliseconds(), true
	return w
}

// Size is the windows' size in milliseconds.
func (w TimeWindows) Size() int64 { return w.size }

func (w TimeWindows) check() string {
	switch {
	case w.size <= 0:
		return "window size must be positive"
	case w.advance <= 0 || w.advance > w.size:
		return "window advance must be positive and not larger than the size"
	case !w.graceSet || w.grace < 0:
		return "windows need an explicit grace period (Grace(d), Grace(0) for none)"
	}
	return ""
}

// firstWindow is the start of the first window containing ts; the others follow every
// advance up to ts (Kafka Streams' TimeWindows.windowsFor).
func (w TimeWindows) firstWindow(ts int64) int64 {
	return max(0, ts-w.size+w.advance) / w.advance * w.advance
}

// SessionWindows group a key's records into sessions: records less than or equal to gap apart
// belong to one session [first, last] (both ends inclusive). A grace period must be given.
type SessionWindows struct {
	gap, grace int64
	graceSet   bool
}

// NewSessionWindows are sessions with an inactivity gap.
func NewSessionWindows(gap time.Duration) SessionWindows {
	return SessionWindows{gap: gap.Milliseconds()}
}

// Grace accepts records up to d after their session's end (in stream time).
func (w SessionWindows) Grace(d time.Duration) SessionWindows {
	w.grace, w.graceSet = d.Milliseconds(), true
	return w
}

func (w SessionWindows) check() string {
	switch {
	case w.gap <= 0:
		return "session inactivity gap must be positive"
	case !w.graceSet || w.grace < 0:
		return "session windows need an explicit grace period (Grace(d), Grace(0) for none)"
	}
	return ""
}

// windowInfo describes the windows of a windowed table, for Suppress.
type windowInfo struct {
	grace int64
	// end returns the end of the window of a windowed key (serde.Windowed[K]).
	end func(key any) int64
}

func windowedInfo[K any](grace int64) *windowInfo {
	return &windowInfo{grace: grace, end: func(key any) int64 {
		w, _ := key.(serde.Windowed[K])
		return w.End
	}}
}

// TimeWindowedStream is a grouped stream cut into time windows (Kafka Streams'
// TimeWindowedKStream). Its aggregations are tables keyed by serde.Windowed[K], written to
// topics with serde.TimeWindowed.
type TimeWindowedStream[K, V any] struct {
	g *GroupedStream[K, V]
	w TimeWindows
}

// WindowedBy cuts g into time windows.
func WindowedBy[K, V any](g *GroupedStream[K, V], w TimeWindows) *TimeWindowedStream[K, V] {
	if msg := w.check(); msg != "" {
		g.b.fail("WindowedBy: %s", msg)
	}
	return &TimeWindowedStream[K, V]{g: g, w: w}
}

// Count counts each key's records per window.
func (s *TimeWindowedStream[K, V]) Count(m ...MaterializedOptions[int64]) *Table[serde.Windowed[K], int64] {
	mat, _ := first(m)
	if mat.ValueSerde == nil {
		mat.ValueSerde = serde.Int64()
	}
	return windowAggregate(s, "KSTREAM-AGGREGATE", mat, func(_ K, _ V, agg int64, _ bool) int64 { return agg + 1 })
}

// Reduce combines each key's values per window.
func (s *TimeWindowedStream[K, V]) Reduce(fn func(agg, v V) V, m ...MaterializedOptions[V]) *Table[serde.Windowed[K], V] {
	mat, _ := first(m)
	if mat.ValueSerde == nil {
		mat.ValueSerde = s.g.vs
	}
	return windowAggregate(s, "KSTREAM-REDUCE", mat, func(_ K, v V, agg V, ok bool) V {
		if !ok {
			return v
		}
		return fn(agg, v)
	})
}

// AggregateWindowed folds each key's values per window: init() for a new window, then fn.
func AggregateWindowed[K, V, A any](s *TimeWindowedStream[K, V], init func() A, fn func(K, V, A) A, m MaterializedOptions[A]) *Table[serde.Windowed[K], A] {
	return windowAggregate(s, "KSTREAM-AGGREGATE", m, func(k K, v V, agg A, ok bool) A {
		if !ok {
			agg = init()
		}
		return fn(k, v, agg)
	})
}

// retention is the store retention: Materialized's, or size + grace (Kafka Streams requires
// at least that).
func retention(b *Builder, given time.Duration, minimum int64) int64 {
	r := given.Milliseconds()
	if r == 0 {
		return minimum
	}
	if r < minimum {
		b.fail("store retention %v is shorter than the window size (session: gap) plus grace, %d ms", given, minimum)
	}
	return r
}

func windowAggregate[K, V, A any](s *TimeWindowedStream[K, V], prefix string, mat MaterializedOptions[A], fn func(K, V, A, bool) A) *Table[serde.Windowed[K], A] {
	g, b := s.g, s.g.b
	if g.ks == nil || mat.ValueSerde == nil {
		b.fail("%s: needs a key serde (Grouped) and a value serde (Materialized)", prefix)
		return &Table[serde.Windowed[K], A]{b: b}
	}
	store := mat.Name
	if store == "" {
		store = b.name(prefix + "-STATE-STORE")
	}
	in, topics, ok := g.input(store)
	if !ok {
		return &Table[serde.Windowed[K], A]{b: b}
	}
	name := b.name(prefix)
	kc, ac := codec[K]{g.ks, storeTopic(store)}, codec[A]{mat.ValueSerde, storeTopic(store)}
	log := b.logger()
	w := s.w
	b.topo.AddProcessor(name, func() processor.Processor {
		return &windowAggregator[K, V, A]{store: store, w: w, kc: kc, ac: ac, fn: fn, log: log.Debug, observed: math.MinInt64}
	}, in)
	spec := mat.cachedSpec(store, processor.WindowStore)
	spec.Retention = retention(b, mat.Retention, w.size+w.grace)
	b.topo.AddStore(spec, name)
	return &Table[serde.Windowed[K], A]{b: b, node: name, ks: serde.TimeWindowed(g.ks, w.size), vs: mat.ValueSerde,
		store: store, topics: topics, win: windowedInfo[K](w.grace)}
}

// windowAggregator is Kafka Streams' KStreamWindowAggregate: each record updates every window
// containing it that has not closed (end + grace > observed stream time).
type windowAggregator[K, V, A any] struct {
	store string
	w     TimeWindows
	kc    codec[K]
	ac    codec[A]
	fn    func(K, V, A, bool) A
	log   func(string, ...any)
	ctx   processor.Context
	ws    state.WindowStore
	// cached is ws when it is a caching store: updates are forwarded when it flushes.
	cached   state.CachingWindowStore
	observed int64
	// Dropped counts late records (per window missed).
	dropped int64
	buf     []byte
}

func (p *windowAggregator[K, V, A]) Init(ctx processor.Context) (err error) {
	p.ctx = ctx
	if p.ws, err = ctx.WindowStore(p.store); err != nil {
		return err
	}
	if c, ok := p.ws.(state.CachingWindowStore); ok {
		c.SetFlushListener(forwardFlushedWindow(ctx, p.kc, p.ac, p.w.size))
		p.cached = c
	}
	return nil
}

func (p *windowAggregator[K, V, A]) Process(rec processor.Record) error {
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
	p.observed = max(p.observed, rec.Timestamp, p.ctx.StreamTime())
	closeTime := p.observed - p.w.grace
	for start := p.w.firstWindow(rec.Timestamp); start <= rec.Timestamp; start += p.w.advance {
		if err := p.update(rec, k, v, kb, start, closeTime); err != nil {
			return err
		}
	}
	return nil
}

// update adds the record to the window starting at start, unless it has closed.
func (p *windowAggregator[K, V, A]) update(rec processor.Record, k K, v V, kb []byte, start, closeTime int64) error {
	end := start + p.w.size
	if end <= closeTime {
		p.dropped++
		dropped(p.ctx)
		p.log("skipping a record for a closed window", "store", p.store, "window_start", start, "window_end", end,
			"timestamp", rec.Timestamp, "stream_time", p.observed, "topic", p.ctx.Topic(), "partition", p.ctx.Partition(), "offset", p.ctx.Offset())
		return nil
	}
	oldStored, err := p.ws.Fetch(kb, start)
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
		return p.cached.PutWithHeaders(kb, start, p.buf, recordHeaders(rec.Headers))
	}
	if err := p.ws.Put(kb, start, p.buf); err != nil {
		return err
	}
	return p.ctx.Forward(processor.Record{Key: serde.Windowed[K]{Key: k, Start: start, End: end},
		Value: change{new: agg, old: old}, Timestamp: ts, Headers: rec.Headers})
}

func (p *windowAggregator[K, V, A]) Close() error { return nil }

// SessionWindowedStream is a grouped stream cut into sessions (Kafka Streams'
// SessionWindowedKStream). Its aggregations are tables keyed by serde.Windowed[K] (both ends
// inclusive), written to topics with serde.SessionWindowed.
type SessionWindowedStream[K, V any] struct {
	g *GroupedStream[K, V]
	w SessionWindows
}

// SessionWindowedBy cuts g into sessions.
func SessionWindowedBy[K, V any](g *GroupedStream[K, V], w SessionWindows) *SessionWindowedStream[K, V] {
	if msg := w.check(); msg != "" {
		g.b.fail("SessionWindowedBy: %s", msg)
	}
	return &SessionWindowedStream[K, V]{g: g, w: w}
}

// Count counts each key's records per session.
func (s *SessionWindowedStream[K, V]) Count(m ...MaterializedOptions[int64]) *Table[serde.Windowed[K], int64] {
	mat, _ := first(m)
	if mat.ValueSerde == nil {
		mat.ValueSerde = serde.Int64()
	}
	return sessionAggregate(s, "KSTREAM-AGGREGATE", mat, func() int64 { return 0 },
		func(_ K, _ V, agg int64) int64 { return agg + 1 },
		func(_ K, a, b int64) int64 { return a + b })
}

// Reduce combines each key's values per session (merged sessions are reduced together).
func (s *SessionWindowedStream[K, V]) Reduce(fn func(agg, v V) V, m ...MaterializedOptions[V]) *Table[serde.Windowed[K], V] {
	mat, _ := first(m)
	if mat.ValueSerde == nil {
		mat.ValueSerde = s.g.vs
	}
	return sessionAggregateFn(s, "KSTREAM-REDUCE", mat, func(_ K, v V, agg V, ok bool) V {
		if !ok {
			return v
		}
		return fn(agg, v)
	}, func(_ K, a, b V, aok bool) V {
		if !aok {
			return b
		}
		return fn(a, b)
	})
}

// AggregateSessions folds each key's values per session: init() for a new session, fn for each
// value, merger when a record joins two sessions into one.
func AggregateSessions[K, V, A any](s *SessionWindowedStream[K, V], init func() A, fn func(K, V, A) A, merger func(K, A, A) A, m MaterializedOptions[A]) *Table[serde.Windowed[K], A] {
	return sessionAggregate(s, "KSTREAM-AGGREGATE", m, init, fn, merger)
}

func sessionAggregate[K, V, A any](s *SessionWindowedStream[K, V], prefix string, mat MaterializedOptions[A], init func() A, fn func(K, V, A) A, merger func(K, A, A) A) *Table[serde.Windowed[K], A] {
	return sessionAggregateFn(s, prefix, mat,
		func(k K, v V, agg A, ok bool) A {
			if !ok {
				agg = init()
			}
			return fn(k, v, agg)
		},
		func(k K, a, b A, aok bool) A {
			if !aok {
				a = init()
			}
			return merger(k, a, b)
		})
}

func sessionAggregateFn[K, V, A any](s *SessionWindowedStream[K, V], prefix string, mat MaterializedOptions[A], fn func(K, V, A, bool) A, merge func(K, A, A, bool) A) *Table[serde.Windowed[K], A] {
	g, b := s.g, s.g.b
	if g.ks == nil || mat.ValueSerde == nil {
		b.fail("%s: needs a key serde (Grouped) and a value serde (Materialized)", prefix)
		return &Table[serde.Windowed[K], A]{b: b}
	}
	store := mat.Name
	if store == "" {
		store = b.name(prefix + "-STATE-STORE")
	}
	in, topics, ok := g.input(store)
	if !ok {
		return &Table[serde.Windowed[K], A]{b: b}
	}
	name := b.name(prefix)
	kc, ac := codec[K]{g.ks, storeTopic(store)}, codec[A]{mat.ValueSerde, storeTopic(store)}
	log := b.logger()
	w := s.w
	b.topo.AddProcessor(name, func() processor.Processor {
		return &sessionAggregator[K, V, A]{store: store, w: w, kc: kc, ac: ac, fn: fn, merge: merge, log: log.Debug, observed: math.MinInt64}
	}, in)
	spec := mat.spec(store, processor.SessionStore)
	spec.Retention = retention(b, mat.Retention, w.gap+w.grace)
	b.topo.AddStore(spec, name)
	return &Table[serde.Windowed[K], A]{b: b, node: name, ks: serde.SessionWindowed(g.ks), vs: mat.ValueSerde,
		store: store, topics: topics, win: windowedInfo[K](w.grace)}
}

// sessionAggregator is Kafka Streams' KStreamSessionWindowAggregate: a record merges with
// every session of its key within gap of it; the merged session replaces them (each replaced
// one is forwarded as a delete).
type sessionAggregator[K, V, A any] struct {
	store    string
	w        SessionWindows
	kc       codec[K]
	ac       codec[A]
	fn       func(K, V, A, bool) A
	merge    func(K, A, A, bool) A
	log      func(string, ...any)
	ctx      processor.Context
	ss       state.SessionStore
	observed int64
	dropped  int64
	found    []foundSession
}

type foundSession struct {
	start, end int64
	value      []byte
}

func (p *sessionAggregator[K, V, A]) Init(ctx processor.Context) (err error) {
	p.ctx = ctx
	p.ss, err = ctx.SessionStore(p.store)
	return err
}

func (p *sessionAggregator[K, V, A]) Process(rec processor.Record) error {
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
	ts := rec.Timestamp
	p.observed = max(p.observed, ts, p.ctx.StreamTime())
	closeTime := p.observed - p.w.grace
	p.found = p.found[:0]
	err = p.ss.FindSessions(kb, ts-p.w.gap, ts+p.w.gap, func(start, end int64, value []byte) bool {
		p.found = append(p.found, foundSession{start, end, append([]byte(nil), value...)})
		return true
	})
	if err != nil {
		return err
	}
	start, end := ts, ts
	var agg A
	have := false
	for _, f := range p.found {
		start, end = min(start, f.start), max(end, f.end)
		fv, err := p.ac.decode(f.value)
		if err != nil {
			return err
		}
		fa, err := cast[A](fv)
		if err != nil {
			return err
		}
		agg = p.merge(k, agg, fa, have)
		have = true
	}
	agg = p.fn(k, v, agg, have)
	if end < closeTime {
		p.dropped++
		dropped(p.ctx)
		p.log("skipping a record for a closed session", "store", p.store, "session_start", start, "session_end", end,
			"timestamp", ts, "stream_time", p.observed, "topic", p.ctx.Topic(), "partition", p.ctx.Partition(), "offset", p.ctx.Offset())
		return nil
	}
	var old any
	for _, f := range p.found {
		fv, err := p.ac.decode(f.value)
		if err != nil {
			return err
		}
		if f.start == start && f.end == end {
			old = fv
			continue
		}
		if err := p.ss.Remove(kb, f.start, f.end); err != nil {
			return err
		}
		if err := p.ctx.Forward(processor.Record{Key: serde.Windowed[K]{Key: k, Start: f.start, End: f.end},
			Value: change{old: fv}, Timestamp: ts, Headers: rec.Headers}); err != nil {
			return err
		}
	}
	ab, err := p.ac.encode(agg)
	if err != nil {
		return err
	}
	if err := p.ss.Put(kb, start, end, ab); err != nil {
		return err
	}
	return p.ctx.Forward(processor.Record{Key: serde.Windowed[K]{Key: k, Start: start, End: end},
		Value: change{new: agg, old: old}, Timestamp: ts, Headers: rec.Headers})
}

func (p *sessionAggregator[K, V, A]) Close() error { return nil }
