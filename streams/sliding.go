package streams

import (
	"math"
	"slices"
	"time"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/state"
)

// SlidingWindows are windows [start, start + timeDifference] (both ends inclusive) defined by
// the records (Kafka Streams' SlidingWindows, KIP-450): each record at t has a window ending
// at t, [t - d, t], and one starting just after it, [t + 1, t + 1 + d], when records fall in
// it. A record updates every window containing it. A grace period must be given.
type SlidingWindows struct {
	diff, grace int64
	graceSet    bool
}

// NewSlidingWindows are sliding windows over records at most diff apart.
func NewSlidingWindows(diff time.Duration) SlidingWindows {
	return SlidingWindows{diff: diff.Milliseconds()}
}

// Grace accepts records up to d after the end of their windows (in stream time).
func (w SlidingWindows) Grace(d time.Duration) SlidingWindows {
	w.grace, w.graceSet = d.Milliseconds(), true
	return w
}

func (w SlidingWindows) check() string {
	switch {
	case w.diff <= 0:
		return "sliding window time difference must be positive"
	case !w.graceSet || w.grace < 0:
		return "sliding windows need an explicit grace period (Grace(d), Grace(0) for none)"
	}
	return ""
}

// SlidingWindowedStream is a grouped stream cut into sliding windows. Its aggregations are
// tables keyed by serde.Windowed[K] with End = Start + time difference, written to topics with
// serde.TimeWindowed(keySerde, diff).
type SlidingWindowedStream[K, V any] struct {
	g *GroupedStream[K, V]
	w SlidingWindows
}

// SlidingWindowedBy cuts g into sliding windows.
func SlidingWindowedBy[K, V any](g *GroupedStream[K, V], w SlidingWindows) *SlidingWindowedStream[K, V] {
	if msg := w.check(); msg != "" {
		g.b.fail("SlidingWindowedBy: %s", msg)
	}
	return &SlidingWindowedStream[K, V]{g: g, w: w}
}

// Count counts each key's records per sliding window.
func (s *SlidingWindowedStream[K, V]) Count(m ...MaterializedOptions[int64]) *Table[serde.Windowed[K], int64] {
	mat, _ := first(m)
	if mat.ValueSerde == nil {
		mat.ValueSerde = serde.Int64()
	}
	return slidingAggregate(s, "KSTREAM-AGGREGATE", mat, func() int64 { return 0 }, func(_ K, _ V, agg int64) int64 { return agg + 1 })
}

// AggregateSliding folds each key's values per sliding window: init() then fn for each record
// of the window, in timestamp order when a window is made, in arrival order as it is updated.
func AggregateSliding[K, V, A any](s *SlidingWindowedStream[K, V], init func() A, fn func(K, V, A) A, m MaterializedOptions[A]) *Table[serde.Windowed[K], A] {
	return slidingAggregate(s, "KSTREAM-AGGREGATE", m, init, fn)
}

func slidingAggregate[K, V, A any](s *SlidingWindowedStream[K, V], prefix string, mat MaterializedOptions[A], init func() A, fn func(K, V, A) A) *Table[serde.Windowed[K], A] {
	g, b := s.g, s.g.b
	if g.ks == nil || g.vs == nil || mat.ValueSerde == nil {
		b.fail("%s: sliding windows need key and value serdes (Grouped) and an aggregate serde (Materialized)", prefix)
		return &Table[serde.Windowed[K], A]{b: b}
	}
	store := mat.Name
	if store == "" {
		store = b.name(prefix + "-STATE-STORE")
	}
	records := store + "-records"
	in, topics, ok := g.input(store)
	if !ok {
		return &Table[serde.Windowed[K], A]{b: b}
	}
	name := b.name(prefix)
	kc, vc, ac := codec[K]{g.ks, storeTopic(store)}, codec[V]{g.vs, storeTopic(records)}, codec[A]{mat.ValueSerde, storeTopic(store)}
	log := b.logger()
	w := s.w
	b.topo.AddProcessor(name, func() processor.Processor {
		return &slidingAggregator[K, V, A]{store: store, records: records, w: w, kc: kc, vc: vc, ac: ac, init: init, fn: fn, log: log.Debug, observed: math.MinInt64}
	}, in)
	ret := retention(b, mat.Retention, w.diff+w.grace+2)
	spec := mat.spec(store, processor.WindowStore)
	spec.Retention = ret
	b.topo.AddStore(spec, name)
	rspec := mat.spec(records, processor.WindowStore)
	rspec.Retention, rspec.RetainDuplicates = ret, true
	b.topo.AddStore(rspec, name)
	return &Table[serde.Windowed[K], A]{b: b, node: name, ks: serde.TimeWindowed(g.ks, w.diff), vs: mat.ValueSerde,
		store: store, topics: topics, win: windowedInfo[K](w.grace)}
}

// slidingAggregator keeps each window's aggregate in a window store by start (as Kafka
// Streams) and the records themselves in a second one ("<store>-records", with duplicates),
// from which windows that come into existence are folded. A record at t:
//   - adds itself to every existing window containing it (starts in [t-d, t]);
//   - makes its left window [t-d, t] and any missing right window [t'+1, t'+1+d] of an
//     earlier record t' that now holds it, folded from the records;
//   - makes its own right window [t+1, t+1+d] if records fall in it.
//
// Windows whose end is at or before stream time - grace are closed: neither updated nor made.
// Results are forwarded in window start order.
type slidingAggregator[K, V, A any] struct {
	store, records string
	w              SlidingWindows
	kc             codec[K]
	vc             codec[V]
	ac             codec[A]
	init           func() A
	fn             func(K, V, A) A
	log            func(string, ...any)
	ctx            processor.Context
	aggs, recs     state.WindowStore
	observed       int64
	dropped        int64
	existing       map[int64][]byte
	recTimes       []int64
	starts         []int64
	buf            []byte
}

func (p *slidingAggregator[K, V, A]) Init(ctx processor.Context) (err error) {
	p.ctx = ctx
	if p.aggs, err = ctx.WindowStore(p.store); err != nil {
		return err
	}
	p.recs, err = ctx.WindowStore(p.records)
	p.existing = map[int64][]byte{}
	return err
}

// fold aggregates key's records in [from, to]; it returns the aggregate, the latest record
// timestamp and whether there was a record.
func (p *slidingAggregator[K, V, A]) fold(k K, kb []byte, from, to int64) (A, int64, bool, error) {
	agg := p.init()
	found := false
	latest := int64(math.MinInt64)
	var ferr error
	err := p.recs.FetchRange(kb, from, to, func(ts int64, value []byte) bool {
		latest = max(latest, ts)
		v, err := p.vc.decode(value)
		if err != nil {
			ferr = err
			return false
		}
		tv, err := cast[V](v)
		if err != nil {
			ferr = err
			return false
		}
		agg = p.fn(k, tv, agg)
		found = true
		return true
	})
	if err == nil {
		err = ferr
	}
	return agg, latest, found, err
}

func (p *slidingAggregator[K, V, A]) Process(rec processor.Record) error {
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
	vb, err := p.vc.encode(rec.Value)
	if err != nil {
		return err
	}
	t, d := rec.Timestamp, p.w.diff
	p.observed = max(p.observed, t, p.ctx.StreamTime())
	closeTime := p.observed - p.w.grace
	open := func(start int64) bool { return start+d > closeTime }
	if !open(t) {
		// Even the window ending latest that holds t, [t, t+d], has closed.
		p.dropped++
		dropped(p.ctx)
		p.log("skipping a record for closed sliding windows", "store", p.store, "timestamp", t, "stream_time", p.observed,
			"topic", p.ctx.Topic(), "partition", p.ctx.Partition(), "offset", p.ctx.Offset())
		return nil
	}
	// The windows that exist before this record, with starts in [t-d-1, t+1].
	clear(p.existing)
	err = p.aggs.FetchRange(kb, t-d-1, t+1, func(start int64, value []byte) bool {
		p.existing[start] = append([]byte(nil), value...)
		return true
	})
	if err != nil {
		return err
	}
	// Earlier records within d + 1 before t, whose right windows may hold t.
	p.recTimes = p.recTimes[:0]
	err = p.recs.FetchRange(kb, t-d-1, t-1, func(start int64, _ []byte) bool {
		if n := len(p.recTimes); n == 0 || p.recTimes[n-1] != start {
			p.recTimes = append(p.recTimes, start)
		}
		return true
	})
	if err != nil {
		return err
	}
	if err := p.recs.Put(kb, t, vb); err != nil {
		return err
	}
	// Windows holding t: existing ones are updated, missing ones folded.
	p.starts = p.starts[:0]
	for start := range p.existing {
		if start >= t-d && start <= t {
			p.starts = append(p.starts, start)
		}
	}
	p.starts = append(p.starts, t-d)
	for _, rt := range p.recTimes {
		p.starts = append(p.starts, rt+1)
	}
	p.starts = append(p.starts, t+1) // the right window of t (does not hold t)
	slices.Sort(p.starts)
	p.starts = slices.Compact(p.starts)
	for _, start := range p.starts {
		if !open(start) || (start == t+1 && p.existing[start] != nil) {
			continue // closed; or the right window of t, which does not hold t: unchanged
		}
		if err := p.updateWindow(rec, k, v, kb, start); err != nil {
			return err
		}
	}
	return nil
}

// updateWindow adds the record at t to the existing window at start, or folds the window from
// the records (t among them, unless it is t's own right window) if it does not exist yet.
func (p *slidingAggregator[K, V, A]) updateWindow(rec processor.Record, k K, v V, kb []byte, start int64) error {
	t, d := rec.Timestamp, p.w.diff
	var agg A
	var old any
	var ts int64
	if stored, exists := p.existing[start]; exists {
		oldTs, oldB, err := splitTimestamped(stored)
		if err != nil {
			return err
		}
		if old, err = p.ac.decode(oldB); err != nil {
			return err
		}
		a, err := cast[A](old)
		if err != nil {
			return err
		}
		agg, ts = p.fn(k, v, a), max(oldTs, t)
	} else {
		var found bool
		var err error
		if agg, ts, found, err = p.fold(k, kb, start, start+d); err != nil || !found {
			return err // no record: an empty right window does not exist
		}
	}
	ab, err := p.ac.encode(agg)
	if err != nil {
		return err
	}
	p.buf = appendTimestamped(p.buf[:0], ts, ab)
	if err := p.aggs.Put(kb, start, p.buf); err != nil {
		return err
	}
	return p.ctx.Forward(processor.Record{Key: serde.Windowed[K]{Key: k, Start: start, End: start + d},
		Value: change{new: agg, old: old}, Timestamp: ts, Headers: rec.Headers})
}

func (p *slidingAggregator[K, V, A]) Close() error { return nil }
