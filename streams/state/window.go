package state

import (
	"encoding/binary"
	"math"
	"sync"
)

// Window store key spaces: 'w' time(start) | esc(key) | seq u32 -> value (time-major: FetchAll
// and segment drops); 'x' time(segment) | esc(key) | time(start) | seq u32 -> empty (key-major
// within a segment: FetchRange).
const (
	spaceWin    = 'w'
	spaceWinIdx = 'x'
)

type windowStore struct {
	name      string
	eng       engine
	o         WindowOptions
	mu        sync.Mutex // guards everything below
	st        int64      // observed stream time
	seq       int32
	droppedTo int64 // segments below this id were dropped
	ops       [2]op
	kb, ib    []byte
	lb        []byte
}

func newWindow(name string, e engine, o WindowOptions) (*windowStore, error) {
	w := &windowStore{name: name, eng: e, o: o, st: math.MinInt64, droppedTo: math.MinInt64}
	// The latest window start in the store is the stream time it had observed (at least).
	err := e.iterate(spaceWin, nil, nil, true, func(k, _ []byte) bool {
		if len(k) >= 8 {
			w.st = readTime(k)
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// NewInMemoryWindow returns an in-memory window store with the Pebble one's behaviour.
func NewInMemoryWindow(name string, opts WindowOptions) (WindowStore, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	return newWindow(name, newMemEngine(), opts)
}

func (w *windowStore) Name() string { return w.name }

func (w *windowStore) ObservedStreamTime() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st
}

func (w *windowStore) primaryKey(dst, key []byte, start int64, seq int32) []byte {
	dst = appendTime(dst, start)
	dst = appendEscaped(dst, key)
	return binary.BigEndian.AppendUint32(dst, uint32(seq))
}

func (w *windowStore) indexKey(dst, key []byte, start int64, seq int32) []byte {
	dst = appendTime(dst, segmentOf(start, w.o.SegmentInterval))
	dst = appendEscaped(dst, key)
	dst = appendTime(dst, start)
	return binary.BigEndian.AppendUint32(dst, uint32(seq))
}

// dropOps returns the range deletions of every whole segment expired at stream time st that
// was not dropped yet, and marks them dropped.
func (w *windowStore) dropOps(ops []op) []op {
	live := minLive(w.st, w.o.Retention)
	if live == math.MinInt64 {
		return ops
	}
	seg := segmentOf(live, w.o.SegmentInterval)
	if seg <= w.droppedTo {
		return ops
	}
	w.droppedTo = seg
	return append(ops,
		op{kind: opDelRange, space: spaceWin, k: nil, v: appendTime(nil, seg*w.o.SegmentInterval)},
		op{kind: opDelRange, space: spaceWinIdx, k: nil, v: appendTime(nil, seg)})
}

func (w *windowStore) Put(key []byte, start int64, value []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if value == nil && w.o.RetainDuplicates {
		return nil
	}
	if start > w.st {
		w.st = start
		if drops := w.dropOps(nil); len(drops) > 0 {
			if err := w.eng.apply(drops); err != nil {
				return err
			}
		}
	}
	if start < minLive(w.st, w.o.Retention) {
		return nil // expired: Kafka Streams skips it too
	}
	var seq int32
	if w.o.RetainDuplicates {
		w.seq = (w.seq + 1) & math.MaxInt32
		seq = w.seq
	}
	w.kb = w.primaryKey(w.kb[:0], key, start, seq)
	w.ib = w.indexKey(w.ib[:0], key, start, seq)
	if value == nil {
		w.ops = [2]op{{kind: opDel, space: spaceWin, k: w.kb}, {kind: opDel, space: spaceWinIdx, k: w.ib}}
	} else {
		w.ops = [2]op{{kind: opSet, space: spaceWin, k: w.kb, v: value}, {kind: opSet, space: spaceWinIdx, k: w.ib, v: []byte{}}}
	}
	err := w.eng.apply(w.ops[:])
	w.ops = [2]op{}
	if err != nil {
		return err
	}
	if w.o.Logger != nil {
		w.lb = AppendWindowChangelogKey(w.lb[:0], key, start, seq)
		w.o.Logger.Log(w.lb, value)
	}
	return nil
}

func (w *windowStore) Fetch(key []byte, start int64) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if start < minLive(w.st, w.o.Retention) || start > w.st {
		return nil, nil
	}
	if !w.o.RetainDuplicates {
		w.kb = w.primaryKey(w.kb[:0], key, start, 0)
		return w.eng.get(spaceWin, w.kb)
	}
	lo := appendEscaped(appendTime(nil, start), key)
	var out []byte
	err := w.eng.iterate(spaceWin, lo, prefixEnd(lo), false, func(_, v []byte) bool {
		out = append([]byte{}, v...)
		return false
	})
	return out, err
}

func (w *windowStore) bounds(from, to int64) (int64, int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return max(from, minLive(w.st, w.o.Retention)), min(to, w.st)
}

func (w *windowStore) FetchRange(key []byte, fromStart, toStart int64, fn func(int64, []byte) bool) error {
	from, to := w.bounds(fromStart, toStart)
	if from > to {
		return nil
	}
	var pk []byte
	stop := false
	for seg := segmentOf(from, w.o.SegmentInterval); seg <= segmentOf(to, w.o.SegmentInterval) && !stop; seg++ {
		p := appendEscaped(appendTime(nil, seg), key)
		lo := appendTime(append([]byte{}, p...), from)
		hi := prefixEnd(appendTime(append([]byte{}, p...), to))
		var ierr error
		err := w.eng.iterate(spaceWinIdx, lo, hi, false, func(k, _ []byte) bool {
			rest := k[len(p):]
			if len(rest) != 12 {
				return true
			}
			start := readTime(rest)
			pk = appendTime(pk[:0], start)
			pk = appendEscaped(pk, key)
			pk = append(pk, rest[8:]...)
			v, err := w.eng.get(spaceWin, pk)
			if err != nil {
				ierr = err
				return false
			}
			if v == nil {
				return true
			}
			if !fn(start, v) {
				stop = true
				return false
			}
			return true
		})
		if err == nil {
			err = ierr
		}
		if err != nil {
			return err
		}
		if seg == math.MaxInt64 {
			break
		}
	}
	return nil
}

func (w *windowStore) FetchAll(fromStart, toStart int64, fn func([]byte, int64, []byte) bool) error {
	from, to := w.bounds(fromStart, toStart)
	if from > to {
		return nil
	}
	var kb []byte
	return w.eng.iterate(spaceWin, appendTime(nil, from), prefixEnd(appendTime(nil, to)), false, func(k, v []byte) bool {
		if len(k) < 8 {
			return true
		}
		key, rest, ok := readEscaped(kb[:0], k[8:])
		if !ok || len(rest) != 4 {
			return true
		}
		kb = key
		return fn(key, readTime(k), v)
	})
}

func (w *windowStore) RestoreBatch(recs []Record) error {
	type parsed struct {
		key   []byte
		start int64
		seq   int32
	}
	ps := make([]parsed, len(recs))
	st := int64(math.MinInt64)
	for i, r := range recs {
		k, start, seq, err := ParseWindowChangelogKey(r.Key)
		if err != nil || seq < 0 {
			return ErrCorruptKey
		}
		ps[i] = parsed{k, start, seq}
		st = max(st, start)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	oldST, oldDropped := w.st, w.droppedTo
	w.st = max(w.st, st)
	ops := w.dropOps(make([]op, 0, 2*len(recs)+2))
	live := minLive(w.st, w.o.Retention)
	var arena []byte
	for i, p := range ps {
		if p.start < live {
			continue
		}
		if w.o.RetainDuplicates && p.seq > w.seq {
			w.seq = p.seq
		}
		n := len(arena)
		arena = w.primaryKey(arena, p.key, p.start, p.seq)
		m := len(arena)
		arena = w.indexKey(arena, p.key, p.start, p.seq)
		kind := uint8(opSet)
		if recs[i].Value == nil {
			kind = opDel
		}
		ops = append(ops, op{kind: kind, space: spaceWin, k: arena[n:m:m], v: recs[i].Value},
			op{kind: kind, space: spaceWinIdx, k: arena[m:len(arena):len(arena)], v: []byte{}})
	}
	if err := w.eng.apply(ops); err != nil {
		w.st, w.droppedTo = oldST, oldDropped
		return err
	}
	return nil
}

func (w *windowStore) Flush() error { return w.eng.flush() }
func (w *windowStore) Close() error { return w.eng.close() }
