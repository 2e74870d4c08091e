package streams

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/state"
)

// Foreign-key table-table joins (Kafka Streams' KTable.join(other, foreignKeyExtractor, ...),
// KIP-213). Each left entry subscribes to the right entry its foreign key names:
//
//  1. left changes go to the subscription registration topic, keyed by foreign key
//     ("<name>-subscription-registration-repartition", co-partitioned with the right table);
//  2. the right side keeps the subscriptions in a store, keyed
//     uint32 len(fk) | fk bytes | left key bytes -> hash of the left value, answers each
//     registration with the right value, and answers every subscriber of a right key when that
//     key changes, through the response topic keyed by left key
//     ("<name>-subscription-response-repartition", co-partitioned with the left table);
//  3. the left side joins a response with the current left value only if the hash it carries
//     is the current value's (a response to an older subscription is dropped).
//
// Wire layouts (internal): registration value = instruction byte | hash flag byte | 16-byte
// FNV-1a-128 hash of the serialized left value (when flagged) | left key bytes; response
// value = hash flag | hash | right value flag | right value bytes.

// Subscription instructions, as Kafka Streams' SubscriptionWrapper.Instruction.
const (
	fkDeleteAndPropagate     byte = iota // left deleted: drop the subscription, answer null
	fkDeleteNoPropagate                  // foreign key changed: drop the old subscription quietly
	fkPropagateNullIfNoValue             // answer even when the right key has no value
	fkPropagateOnlyIfValue               // answer only when it has one (inner join, nothing to retract)
)

type fkHash struct {
	ok bool
	h  [16]byte
}

type subscription struct {
	instr   byte
	hash    fkHash
	leftKey []byte
}

type fkResponse struct {
	hash  fkHash
	right []byte // nil: no right value
}

var errFKWire = errors.New("streams: corrupt foreign-key join record")

func hashOf(b []byte) fkHash {
	if b == nil {
		return fkHash{}
	}
	h := fnv.New128a()
	h.Write(b)
	var out fkHash
	out.ok = true
	h.Sum(out.h[:0])
	return out
}

func appendHash(dst []byte, h fkHash) []byte {
	if !h.ok {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	return append(dst, h.h[:]...)
}

func readHash(b []byte) (fkHash, []byte, error) {
	if len(b) < 1 || b[0] > 1 {
		return fkHash{}, nil, errFKWire
	}
	if b[0] == 0 {
		return fkHash{}, b[1:], nil
	}
	if len(b) < 17 {
		return fkHash{}, nil, errFKWire
	}
	var h fkHash
	h.ok = true
	copy(h.h[:], b[1:17])
	return h, b[17:], nil
}

func encodeSubscription(_ string, v any) ([]byte, error) {
	s, ok := v.(subscription)
	if !ok {
		return nil, fmt.Errorf("%w: %T in a subscription topic", errType, v)
	}
	out := appendHash([]byte{s.instr}, s.hash)
	return append(out, s.leftKey...), nil
}

func decodeSubscription(_ string, b []byte) (any, error) {
	if len(b) < 2 || b[0] > fkPropagateOnlyIfValue {
		return nil, errFKWire
	}
	h, rest, err := readHash(b[1:])
	if err != nil {
		return nil, err
	}
	return subscription{instr: b[0], hash: h, leftKey: rest}, nil
}

func encodeResponse(_ string, v any) ([]byte, error) {
	r, ok := v.(fkResponse)
	if !ok {
		return nil, fmt.Errorf("%w: %T in a response topic", errType, v)
	}
	out := appendHash(nil, r.hash)
	if r.right == nil {
		return append(out, 0), nil
	}
	out = append(out, 1)
	return append(out, r.right...), nil
}

func decodeResponse(_ string, b []byte) (any, error) {
	h, rest, err := readHash(b)
	if err != nil {
		return nil, err
	}
	if len(rest) < 1 || rest[0] > 1 {
		return nil, errFKWire
	}
	r := fkResponse{hash: h}
	if rest[0] == 0 && len(rest) != 1 {
		return nil, errFKWire
	}
	if rest[0] == 1 {
		r.right = rest[1:]
	}
	return r, nil
}

func rawKey(_ string, v any) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("%w: %T as a raw key", errType, v)
	}
	return b, nil
}

// JoinForeignKey joins each left entry with the right entry whose key fk extracts from the
// left value (inner: a result only while both exist). Results are updated when either side
// changes; the result table is not materialized (read it as a stream with ToStream).
func JoinForeignKey[K, V, KO, VO, VR any](l *Table[K, V], r *Table[KO, VO], fk func(V) KO, joiner func(V, VO) VR) *Table[K, VR] {
	return joinForeignKey(l, r, fk, false, func(lv V, rv VO, _ bool) VR { return joiner(lv, rv) })
}

// LeftJoinForeignKey is JoinForeignKey with a result for every left entry (the joiner gets
// nil without a right value).
func LeftJoinForeignKey[K, V, KO, VO, VR any](l *Table[K, V], r *Table[KO, VO], fk func(V) KO, joiner func(V, *VO) VR) *Table[K, VR] {
	return joinForeignKey(l, r, fk, true, func(lv V, rv VO, ok bool) VR {
		if !ok {
			return joiner(lv, nil)
		}
		return joiner(lv, &rv)
	})
}

func joinForeignKey[K, V, KO, VO, VR any](l *Table[K, V], r *Table[KO, VO], fk func(V) KO, left bool, joiner func(V, VO, bool) VR) *Table[K, VR] {
	b := l.b
	switch {
	case l.getter == nil || r.getter == nil:
		b.fail("foreign-key join: a table cannot be looked up by key (a windowed or suppressed table)")
		return &Table[K, VR]{b: b}
	case l.ks == nil || l.vs == nil || r.ks == nil || r.vs == nil:
		b.fail("foreign-key join: both tables' key and value serdes must be known")
		return &Table[K, VR]{b: b}
	}
	prefix := "KTABLE-FK-JOIN"
	if left {
		prefix = "KTABLE-FK-LEFTJOIN"
	}
	name := b.name(prefix)
	reg, resp := name+"-subscription-registration-repartition", name+"-subscription-response-repartition"
	subStore := name + "-subscription-store"
	lk, lv := codec[K]{l.ks, ""}, codec[V]{l.vs, ""}
	rk, rv := codec[KO]{r.ks, ""}, codec[VO]{r.vs, ""}

	// 1. Left changes -> registrations keyed by foreign key.
	send := b.name("KTABLE-FK-JOIN-SUBSCRIPTION-SEND")
	b.topo.AddProcessor(send, func() processor.Processor {
		return &fkSubscriber[V, KO]{fk: fk, left: left, lk: lk.encode, lv: lv.encode, rk: rk.encode}
	}, l.node)
	regSink, regSrc := b.name("KTABLE-SINK"), b.name("KTABLE-SOURCE")
	b.topo.AddInternalSink(regSink, reg, processor.SinkOptions{Key: serializer(r.ks), Value: encodeSubscription}, send)
	b.topo.AddInternalSource(regSrc, processor.SourceOptions{Key: deserializer(r.ks), Value: decodeSubscription}, reg)
	b.topo.AddRepartitionTopic(processor.InternalTopic{Name: reg})

	// 2. The right side: subscriptions and right changes -> responses keyed by left key.
	recv := b.name("KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR")
	rgetter := r.getter
	b.topo.AddProcessor(recv, func() processor.Processor {
		return &fkSubscriptions{store: subStore, getter: rgetter, rk: rk.encode, rv: rv.encode}
	}, regSrc)
	b.topo.AddStore(processor.StoreSpec{Name: subStore, Kind: processor.KeyValueStore}, recv)
	for _, st := range rgetter.stores {
		b.topo.ConnectStore(st, recv)
	}
	rightChanges := b.name("KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-SEND")
	b.topo.AddProcessor(rightChanges, func() processor.Processor {
		return &fkRightChanges{store: subStore, rk: rk.encode, rv: rv.encode}
	}, r.node)
	b.topo.ConnectStore(subStore, rightChanges)
	respSink, respSrc := b.name("KTABLE-SINK"), b.name("KTABLE-SOURCE")
	b.topo.AddInternalSink(respSink, resp, processor.SinkOptions{Key: rawKey, Value: encodeResponse}, recv, rightChanges)
	b.topo.AddInternalSource(respSrc, processor.SourceOptions{Key: deserializer(l.ks), Value: decodeResponse}, resp)
	b.topo.AddRepartitionTopic(processor.InternalTopic{Name: resp})

	// 3. Responses joined with the current left value.
	result := b.name("KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-RESOLVER")
	lgetter := l.getter
	b.topo.AddProcessor(result, func() processor.Processor {
		return &fkResolver[V, VO, VR]{getter: lgetter, lv: lv, rv: rv, left: left, joiner: joiner}
	}, respSrc)
	for _, st := range lgetter.stores {
		b.topo.ConnectStore(st, result)
	}
	b.topo.Copartition(union([]string{reg}, r.topics)...)
	b.topo.Copartition(union([]string{resp}, l.topics)...)
	return &Table[K, VR]{b: b, node: result, ks: l.ks, topics: l.topics}
}

// fkSubscriber turns left changes into subscription registrations.
type fkSubscriber[V, KO any] struct {
	fk     func(V) KO
	left   bool
	lk, lv func(any) ([]byte, error)
	rk     func(any) ([]byte, error)
	ctx    processor.Context
}

func (p *fkSubscriber[V, KO]) Init(ctx processor.Context) error { p.ctx = ctx; return nil }

func (p *fkSubscriber[V, KO]) Process(rec processor.Record) error {
	c, ok := rec.Value.(change)
	if !ok {
		return fmt.Errorf("%w: %T in a table", errType, rec.Value)
	}
	if rec.Key == nil || (c.new == nil && c.old == nil) {
		return nil
	}
	kb, err := p.lk(rec.Key)
	if err != nil {
		return err
	}
	fkOf := func(v any) (any, []byte, error) {
		tv, err := cast[V](v)
		if err != nil {
			return nil, nil, err
		}
		k := p.fk(tv)
		b, err := p.rk(k)
		return k, b, err
	}
	var newFK, oldFK any
	var newFKb, oldFKb []byte
	if c.new != nil {
		if newFK, newFKb, err = fkOf(c.new); err != nil {
			return err
		}
	}
	if c.old != nil {
		if oldFK, oldFKb, err = fkOf(c.old); err != nil {
			return err
		}
	}
	out := func(fk any, s subscription) error {
		return p.ctx.Forward(processor.Record{Key: fk, Value: s, Timestamp: rec.Timestamp, Headers: rec.Headers})
	}
	if c.new == nil {
		return out(oldFK, subscription{instr: fkDeleteAndPropagate, leftKey: kb})
	}
	if c.old != nil && !bytes.Equal(oldFKb, newFKb) {
		if err := out(oldFK, subscription{instr: fkDeleteNoPropagate, leftKey: kb}); err != nil {
			return err
		}
	}
	vb, err := p.lv(c.new)
	if err != nil {
		return err
	}
	instr := fkPropagateOnlyIfValue
	if p.left || c.old != nil {
		instr = fkPropagateNullIfNoValue // a result may have to be retracted (or a left join made)
	}
	return out(newFK, subscription{instr: instr, hash: hashOf(vb), leftKey: kb})
}

func (p *fkSubscriber[V, KO]) Close() error { return nil }

func subscriptionKey(dst, fk, leftKey []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst[:0], uint32(len(fk)))
	dst = append(dst, fk...)
	return append(dst, leftKey...)
}

// fkSubscriptions keeps the subscriptions and answers registrations.
type fkSubscriptions struct {
	store  string
	getter *getterSupplier
	rk, rv func(any) ([]byte, error)
	ctx    processor.Context
	kv     state.KeyValueStore
	get    func(any) (any, int64, error)
	key    []byte
}

func (p *fkSubscriptions) Init(ctx processor.Context) (err error) {
	p.ctx = ctx
	if p.kv, err = ctx.KeyValueStore(p.store); err != nil {
		return err
	}
	p.get, err = p.getter.make(ctx)
	return err
}

func (p *fkSubscriptions) Process(rec processor.Record) error {
	s, ok := rec.Value.(subscription)
	if !ok || rec.Key == nil {
		return fmt.Errorf("%w: %T in a subscription topic", errType, rec.Value)
	}
	fkb, err := p.rk(rec.Key)
	if err != nil {
		return err
	}
	p.key = subscriptionKey(p.key, fkb, s.leftKey)
	respond := func(right []byte) error {
		return p.ctx.Forward(processor.Record{Key: bytes.Clone(s.leftKey), Value: fkResponse{hash: s.hash, right: right},
			Timestamp: rec.Timestamp, Headers: rec.Headers})
	}
	switch s.instr {
	case fkDeleteAndPropagate:
		if err := p.kv.Delete(p.key); err != nil {
			return err
		}
		return respond(nil)
	case fkDeleteNoPropagate:
		return p.kv.Delete(p.key)
	}
	if !s.hash.ok {
		return errFKWire
	}
	if err := p.kv.Put(p.key, s.hash.h[:]); err != nil {
		return err
	}
	rval, _, err := p.get(rec.Key)
	if err != nil {
		return err
	}
	if rval == nil && s.instr == fkPropagateOnlyIfValue {
		return nil
	}
	rb, err := p.rv(rval)
	if err != nil {
		return err
	}
	return respond(rb)
}

func (p *fkSubscriptions) Close() error { return nil }

// fkRightChanges answers every subscriber of a right key when it changes.
type fkRightChanges struct {
	store  string
	rk, rv func(any) ([]byte, error)
	ctx    processor.Context
	kv     state.KeyValueStore
	prefix []byte
	subs   []state.Record
}

func (p *fkRightChanges) Init(ctx processor.Context) (err error) {
	p.ctx = ctx
	p.kv, err = ctx.KeyValueStore(p.store)
	return err
}

func (p *fkRightChanges) Process(rec processor.Record) error {
	c, ok := rec.Value.(change)
	if !ok {
		return fmt.Errorf("%w: %T in a table", errType, rec.Value)
	}
	if rec.Key == nil {
		return nil
	}
	fkb, err := p.rk(rec.Key)
	if err != nil {
		return err
	}
	rb, err := p.rv(c.new)
	if err != nil {
		return err
	}
	p.prefix = subscriptionKey(p.prefix, fkb, nil)
	end := prefixEnd(p.prefix)
	p.subs = p.subs[:0]
	err = p.kv.Range(p.prefix, end, func(k, v []byte) bool {
		p.subs = append(p.subs, state.Record{Key: bytes.Clone(k[len(p.prefix):]), Value: bytes.Clone(v)})
		return true
	})
	if err != nil {
		return err
	}
	for _, s := range p.subs {
		if len(s.Value) != 16 {
			return fmt.Errorf("streams: subscription store %q: corrupt hash", p.store)
		}
		var h fkHash
		h.ok = true
		copy(h.h[:], s.Value)
		if err := p.ctx.Forward(processor.Record{Key: s.Key, Value: fkResponse{hash: h, right: rb}, Timestamp: rec.Timestamp, Headers: rec.Headers}); err != nil {
			return err
		}
	}
	return nil
}

func (p *fkRightChanges) Close() error { return nil }

// prefixEnd is the smallest key greater than every key starting with p (nil: none).
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// fkResolver joins responses with the current left value, dropping stale ones.
type fkResolver[V, VO, VR any] struct {
	getter *getterSupplier
	lv     codec[V]
	rv     codec[VO]
	left   bool
	joiner func(V, VO, bool) VR
	ctx    processor.Context
	get    func(any) (any, int64, error)
}

func (p *fkResolver[V, VO, VR]) Init(ctx processor.Context) (err error) {
	p.ctx = ctx
	p.get, err = p.getter.make(ctx)
	return err
}

func (p *fkResolver[V, VO, VR]) Process(rec processor.Record) error {
	r, ok := rec.Value.(fkResponse)
	if !ok || rec.Key == nil {
		return fmt.Errorf("%w: %T in a response topic", errType, rec.Value)
	}
	cur, _, err := p.get(rec.Key)
	if err != nil {
		return err
	}
	cb, err := p.lv.encode(cur)
	if err != nil {
		return err
	}
	if hashOf(cb) != r.hash {
		return nil // an answer to a subscription the left value has since replaced
	}
	var result any
	if cur != nil && (r.right != nil || p.left) {
		lval, err := cast[V](cur)
		if err != nil {
			return err
		}
		rval, err := p.rv.decode(r.right)
		if err != nil {
			return err
		}
		rt, err := cast[VO](rval)
		if err != nil {
			return err
		}
		result = p.joiner(lval, rt, r.right != nil)
	}
	rec.Value = change{new: result}
	return p.ctx.Forward(rec)
}

func (p *fkResolver[V, VO, VR]) Close() error { return nil }
