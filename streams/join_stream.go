package streams

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/state"
)

// JoinWindows say which records of two streams join: a left record at t joins right records
// of the same key with timestamps in [t - before, t + after]. A grace period must be given.
type JoinWindows struct {
	before, after, grace int64
	graceSet             bool
}

// JoinTimeDifference joins records at most d apart (before = after = d).
func JoinTimeDifference(d time.Duration) JoinWindows {
	return JoinWindows{before: d.Milliseconds(), after: d.Milliseconds()}
}

// Before sets how far before a left record a right record may be.
func (w JoinWindows) Before(d time.Duration) JoinWindows { w.before = d.Milliseconds(); return w }

// After sets how far after a left record a right record may be.
func (w JoinWindows) After(d time.Duration) JoinWindows { w.after = d.Milliseconds(); return w }

// Grace accepts records up to d late (in stream time) past their join window.
func (w JoinWindows) Grace(d time.Duration) JoinWindows {
	w.grace, w.graceSet = d.Milliseconds(), true
	return w
}

// StreamJoinedOptions give the serdes of a stream-stream join's stores (and repartition
// topics), and the name its stores are named after. Made by StreamJoined.
type StreamJoinedOptions[K, V, VO any] struct {
	KeySerde        serde.Serde[K]
	ValueSerde      serde.Serde[V]
	OtherValueSerde serde.Serde[VO]
	Name            string
	InMemory        bool
}

// StreamJoined joins with these serdes (nil: the streams' own).
func StreamJoined[K, V, VO any](ks serde.Serde[K], vs serde.Serde[V], vos serde.Serde[VO]) StreamJoinedOptions[K, V, VO] {
	return StreamJoinedOptions[K, V, VO]{KeySerde: ks, ValueSerde: vs, OtherValueSerde: vos}
}

// WithName names the join's stores "<name>-this-join-store", "<name>-other-join-store" and
// "<name>-outer-shared-join-store".
func (o StreamJoinedOptions[K, V, VO]) WithName(name string) StreamJoinedOptions[K, V, VO] {
	o.Name = name
	return o
}

// JoinStreams joins two streams within w (Kafka Streams' KStream.join with JoinWindows): each
// pair of same-key records within the window gives one result, stamped with the later of the
// two timestamps, as soon as the second of them arrives. Both sides are kept in window stores
// (retention before + after + grace); the streams must be co-partitioned (recorded), and a
// rekeyed side is repartitioned first.
func JoinStreams[K, V, VO, VR any](l *Stream[K, V], r *Stream[K, VO], w JoinWindows, joiner func(V, VO) VR, o ...StreamJoinedOptions[K, V, VO]) *Stream[K, VR] {
	return joinStreams[K, V, VO, VR](l, r, w, "KSTREAM-JOIN", false, false, func(lv, rv any) (any, error) {
		a, b, err := both[V, VO](lv, rv)
		if err != nil {
			return nil, err
		}
		return joiner(a, b), nil
	}, o)
}

// LeftJoinStreams is JoinStreams that also emits each left record that joined nothing, with a
// nil right value, once no right record can join it any more: when the stream time passes
// its timestamp + before + after + grace (no spurious early results, as Kafka Streams since
// KIP-633).
func LeftJoinStreams[K, V, VO, VR any](l *Stream[K, V], r *Stream[K, VO], w JoinWindows, joiner func(V, *VO) VR, o ...StreamJoinedOptions[K, V, VO]) *Stream[K, VR] {
	return joinStreams[K, V, VO, VR](l, r, w, "KSTREAM-LEFTJOIN", true, false, func(lv, rv any) (any, error) {
		a, b, err := both[V, VO](lv, rv)
		if err != nil {
			return nil, err
		}
		if rv == nil {
			return joiner(a, nil), nil
		}
		return joiner(a, &b), nil
	}, o)
}

// OuterJoinStreams is LeftJoinStreams for both sides: unjoined records of either side are
// emitted with nil for the other, once their window has closed.
func OuterJoinStreams[K, V, VO, VR any](l *Stream[K, V], r *Stream[K, VO], w JoinWindows, joiner func(*V, *VO) VR, o ...StreamJoinedOptions[K, V, VO]) *Stream[K, VR] {
	return joinStreams[K, V, VO, VR](l, r, w, "KSTREAM-OUTERJOIN", true, true, func(lv, rv any) (any, error) {
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
	}, o)
}

// joinInput returns the node a join side hangs from (after a repartition topic if its key may
// have changed) and its co-partitioning topics.
func joinInput[K, V any](s *Stream[K, V], ks serde.Serde[K], vs serde.Serde[V], base string) (string, []string, bool) {
	if !s.keyChanged {
		return s.node, s.topics, true
	}
	if ks == nil || vs == nil {
		s.b.fail("join after a key change needs serdes for the repartition topic (StreamJoined or WithSerdes)")
		return "", nil, false
	}
	node, topic := s.b.repartition(s.node, base,
		processor.SinkOptions{Key: serializer(ks), Value: serializer(vs)},
		processor.SourceOptions{Key: deserializer(ks), Value: deserializer(vs)})
	return node, []string{topic}, true
}

func joinStreams[K, V, VO, VR any](l *Stream[K, V], r *Stream[K, VO], w JoinWindows, prefix string, leftOuter, rightOuter bool,
	join func(lv, rv any) (any, error), opts []StreamJoinedOptions[K, V, VO]) *Stream[K, VR] {
	b := l.b
	o, _ := first(opts)
	ks, vs, vos := o.KeySerde, o.ValueSerde, o.OtherValueSerde
	if ks == nil {
		ks = l.ks
	}
	if ks == nil {
		ks = r.ks
	}
	if vs == nil {
		vs = l.vs
	}
	if vos == nil {
		vos = r.vs
	}
	switch {
	case !w.graceSet || w.grace < 0:
		b.fail("%s: join windows need an explicit grace period (Grace(d), Grace(0) for none)", prefix)
		return &Stream[K, VR]{b: b}
	case w.before < 0 || w.after < 0 || w.before+w.after < 0:
		b.fail("%s: join windows must not be negative", prefix)
		return &Stream[K, VR]{b: b}
	case ks == nil || vs == nil || vos == nil:
		b.fail("%s: the join's stores need key and value serdes (StreamJoined)", prefix)
		return &Stream[K, VR]{b: b}
	}
	thisName, otherName := b.name(prefix+"THIS"), b.name(prefix+"OTHER")
	base := o.Name
	if base == "" {
		base = thisName
	}
	lin, ltopics, ok := joinInput(l, ks, vs, base+"-left")
	if !ok {
		return &Stream[K, VR]{b: b}
	}
	rin, rtopics, ok := joinInput(r, ks, vos, base+"-right")
	if !ok {
		return &Stream[K, VR]{b: b}
	}
	thisStore, otherStore, outerStore := thisName+"-store", otherName+"-store", ""
	if o.Name != "" {
		thisStore, otherStore = o.Name+"-this-join-store", o.Name+"-other-join-store"
	}
	if leftOuter {
		outerStore = b.name("KSTREAM-OUTERSHARED") + "-store"
		if o.Name != "" {
			outerStore = o.Name + "-outer-shared-join-store"
		}
	}
	kc := codec[K]{ks, ""}
	lc, rc := codec[V]{vs, storeTopic(thisStore)}, codec[VO]{vos, storeTopic(otherStore)}
	log := b.logger()
	b.topo.AddProcessor(thisName, func() processor.Processor {
		return &streamJoinSide{thisStore: thisStore, otherStore: otherStore, outerStore: outerStore, left: true,
			w: w, trackThis: leftOuter, trackOther: rightOuter, join: join, kc: kc.encode, keyOf: kc.decode,
			thisEnc: lc.encode, thisDec: lc.decode, otherDec: rc.decode, otherEnc: rc.encode, log: log.Debug}
	}, lin)
	b.topo.AddProcessor(otherName, func() processor.Processor {
		return &streamJoinSide{thisStore: otherStore, otherStore: thisStore, outerStore: outerStore, left: false,
			w: w, trackThis: rightOuter, trackOther: leftOuter, join: join, kc: kc.encode, keyOf: kc.decode,
			thisEnc: rc.encode, thisDec: rc.decode, otherDec: lc.decode, otherEnc: lc.encode, log: log.Debug}
	}, rin)
	retention := w.before + w.after + w.grace + 1
	for _, st := range []string{thisStore, otherStore} {
		b.topo.AddStore(processor.StoreSpec{Name: st, Kind: processor.WindowStore, Retention: retention, RetainDuplicates: true, InMemory: o.InMemory}, thisName, otherName)
	}
	if outerStore != "" {
		b.topo.AddStore(processor.StoreSpec{Name: outerStore, Kind: processor.KeyValueStore, InMemory: o.InMemory}, thisName, otherName)
	}
	merge := b.name(prefix + "-MERGE")
	b.topo.AddProcessor(merge, passThrough, thisName, otherName)
	b.topo.Copartition(union(ltopics, rtopics)...)
	return &Stream[K, VR]{b: b, node: merge, ks: ks, topics: union(ltopics, rtopics)}
}

// streamJoinSide is one side of a stream-stream join (Kafka Streams' KStreamKStreamJoin).
// The outer store (left and outer joins) holds the records that have joined nothing yet:
//
//	key:   timestamp (8 bytes big-endian, sign bit flipped: time order) | side (0 left, 1 right) | key bytes
//	value: (uvarint length | value bytes)*, every such record of that key, side and time
type streamJoinSide struct {
	thisStore, otherStore, outerStore string
	left                              bool
	w                                 JoinWindows
	// trackThis: this side's unjoined records are emitted when their window closes;
	// trackOther: the other side's are, so a match here removes them from the outer store.
	trackThis, trackOther bool
	join                  func(lv, rv any) (any, error)
	kc                    func(any) ([]byte, error)
	keyOf                 func([]byte) (any, error)
	thisEnc, otherEnc     func(any) ([]byte, error)
	thisDec, otherDec     func([]byte) (any, error)
	log                   func(string, ...any)

	ctx          processor.Context
	this, other  state.WindowStore
	outer        state.KeyValueStore
	matches      []match
	okey, due    []byte
	dueRecs      []state.Record
	dropped      int64
	beforeMe, am int64 // the window seen from this side: other records in [t - beforeMe, t + am]
}

type match struct {
	ts    int64
	value []byte
}

func (p *streamJoinSide) Init(ctx processor.Context) (err error) {
	p.ctx = ctx
	if p.this, err = ctx.WindowStore(p.thisStore); err != nil {
		return err
	}
	if p.other, err = ctx.WindowStore(p.otherStore); err != nil {
		return err
	}
	if p.outerStore != "" {
		if p.outer, err = ctx.KeyValueStore(p.outerStore); err != nil {
			return err
		}
	}
	p.beforeMe, p.am = p.w.before, p.w.after
	if !p.left {
		p.beforeMe, p.am = p.w.after, p.w.before
	}
	return nil
}

func (p *streamJoinSide) pair(v, ov any) (any, error) {
	if p.left {
		return p.join(v, ov)
	}
	return p.join(ov, v)
}

func (p *streamJoinSide) side(left bool) byte {
	if left {
		return 0
	}
	return 1
}

func (p *streamJoinSide) outerKey(ts int64, left bool, kb []byte) []byte {
	p.okey = appendOrderedTime(p.okey[:0], ts)
	p.okey = append(p.okey, p.side(left))
	return append(p.okey, kb...)
}

func (p *streamJoinSide) Process(rec processor.Record) error {
	if rec.Key == nil || rec.Value == nil {
		dropped(p.ctx)
		p.log("skipping a join record with a null key or value", "topic", p.ctx.Topic(), "partition", p.ctx.Partition(), "offset", p.ctx.Offset())
		return nil
	}
	ts := rec.Timestamp
	observed := max(p.ctx.StreamTime(), ts)
	if ts+p.am+p.w.grace < observed {
		p.dropped++
		dropped(p.ctx)
		p.log("skipping a join record for a closed window", "timestamp", ts, "stream_time", observed,
			"topic", p.ctx.Topic(), "partition", p.ctx.Partition(), "offset", p.ctx.Offset())
		return nil
	}
	if err := p.emitUnjoined(observed); err != nil {
		return err
	}
	kb, err := p.kc(rec.Key)
	if err != nil {
		return err
	}
	vb, err := p.thisEnc(rec.Value)
	if err != nil {
		return err
	}
	if err := p.this.Put(kb, ts, vb); err != nil {
		return err
	}
	p.matches = p.matches[:0]
	err = p.other.FetchRange(kb, ts-p.beforeMe, ts+p.am, func(start int64, value []byte) bool {
		p.matches = append(p.matches, match{start, append([]byte(nil), value...)})
		return true
	})
	if err != nil {
		return err
	}
	for _, m := range p.matches {
		ov, err := p.otherDec(m.value)
		if err != nil {
			return err
		}
		out, err := p.pair(rec.Value, ov)
		if err != nil {
			return err
		}
		if p.trackOther {
			if err := p.outer.Delete(p.outerKey(m.ts, !p.left, kb)); err != nil {
				return err
			}
		}
		if err := p.ctx.Forward(processor.Record{Key: rec.Key, Value: out, Timestamp: max(ts, m.ts), Headers: rec.Headers}); err != nil {
			return err
		}
	}
	if len(p.matches) == 0 && p.trackThis {
		k := p.outerKey(ts, p.left, kb)
		list, err := p.outer.Get(k)
		if err != nil {
			return err
		}
		list = binary.AppendUvarint(list, uint64(len(vb)))
		list = append(list, vb...)
		if err := p.outer.Put(k, list); err != nil {
			return err
		}
	}
	return nil
}

// emitUnjoined emits (and forgets) the unjoined records no record can join any more: those
// with timestamp + before + after + grace < stream time. A record of the other side that could
// still join one would have to be at most that far from it, and is late by then.
func (p *streamJoinSide) emitUnjoined(observed int64) error {
	if p.outer == nil {
		return nil
	}
	limit := observed - p.w.before - p.w.after - p.w.grace // emit timestamps < limit
	if limit > observed {
		return nil // overflow near math.MinInt64
	}
	p.due = appendOrderedTime(p.due[:0], limit)
	p.dueRecs = p.dueRecs[:0]
	err := p.outer.Range(nil, p.due, func(k, v []byte) bool {
		p.dueRecs = append(p.dueRecs, state.Record{Key: append([]byte(nil), k...), Value: append([]byte(nil), v...)})
		return true
	})
	if err != nil {
		return err
	}
	for _, r := range p.dueRecs {
		if len(r.Key) < 9 {
			return fmt.Errorf("streams: outer join store %q: corrupt key", p.outerStore)
		}
		ts := int64(binary.BigEndian.Uint64(r.Key) ^ (1 << 63))
		wasLeft := r.Key[8] == 0
		key, err := p.keyOf(r.Key[9:])
		if err != nil {
			return err
		}
		dec := p.thisDec
		if wasLeft != p.left {
			dec = p.otherDec
		}
		err = eachListed(r.Value, func(vb []byte) error {
			v, err := dec(vb)
			if err != nil {
				return err
			}
			var out any
			if wasLeft {
				out, err = p.join(v, nil)
			} else {
				out, err = p.join(nil, v)
			}
			if err != nil {
				return err
			}
			return p.ctx.Forward(processor.Record{Key: key, Value: out, Timestamp: ts})
		})
		if err != nil {
			return fmt.Errorf("streams: outer join store %q: %w", p.outerStore, err)
		}
		if err := p.outer.Delete(r.Key); err != nil {
			return err
		}
	}
	return nil
}

func (p *streamJoinSide) Close() error { return nil }

var errCorruptList = errors.New("corrupt value list")

// eachListed calls fn with each value of a list written as (uvarint length | bytes)*.
func eachListed(b []byte, fn func([]byte) error) error {
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return errCorruptList
		}
		if err := fn(b[w : w+int(n) : w+int(n)]); err != nil {
			return err
		}
		b = b[w+int(n):]
	}
	return nil
}
