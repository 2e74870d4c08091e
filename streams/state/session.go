package state

import (
	"math"
	"sync"
)

// Session store key spaces: 'p' time(end) | esc(key) | time(start) -> value (time-major by end:
// FetchAll and segment drops); 'y' time(segment of end) | esc(key) | time(end) | time(start) ->
// empty (key-major within a segment: FindSessions).
const (
	spaceSes    = 'p'
	spaceSesIdx = 'y'
)

type sessionStore struct {
	name      string
	eng       engine
	o         SessionOptions
	mu        sync.Mutex // guards everything below
	st        int64
	droppedTo int64
	ops       [2]op
	kb, ib    []byte
	lb        []byte
}

func newSession(name string, e engine, o SessionOptions) (*sessionStore, error) {
	s := &sessionStore{name: name, eng: e, o: o, st: math.MinInt64, droppedTo: math.MinInt64}
	err := e.iterate(spaceSes, nil, nil, true, func(k, _ []byte) bool {
		if len(k) >= 8 {
			s.st = readTime(k)
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// NewInMemorySession returns an in-memory session store with the Pebble one's behaviour.
func NewInMemorySession(name string, opts SessionOptions) (SessionStore, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	return newSession(name, newMemEngine(), opts)
}

func (s *sessionStore) Name() string { return s.name }

func (s *sessionStore) ObservedStreamTime() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *sessionStore) primaryKey(dst, key []byte, start, end int64) []byte {
	dst = appendTime(dst, end)
	dst = appendEscaped(dst, key)
	return appendTime(dst, start)
}

func (s *sessionStore) indexKey(dst, key []byte, start, end int64) []byte {
	dst = appendTime(dst, segmentOf(end, s.o.SegmentInterval))
	dst = appendEscaped(dst, key)
	dst = appendTime(dst, end)
	return appendTime(dst, start)
}

func (s *sessionStore) dropOps(ops []op) []op {
	live := minLive(s.st, s.o.Retention)
	if live == math.MinInt64 {
		return ops
	}
	seg := segmentOf(live, s.o.SegmentInterval)
	if seg <= s.droppedTo {
		return ops
	}
	s.droppedTo = seg
	return append(ops,
		op{kind: opDelRange, space: spaceSes, v: appendTime(nil, seg*s.o.SegmentInterval)},
		op{kind: opDelRange, space: spaceSesIdx, v: appendTime(nil, seg)})
}

func (s *sessionStore) Put(key []byte, start, end int64, value []byte) error {
	if end < start {
		return ErrInvalid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if end > s.st {
		s.st = end
		if drops := s.dropOps(nil); len(drops) > 0 {
			if err := s.eng.apply(drops); err != nil {
				return err
			}
		}
	}
	if end < minLive(s.st, s.o.Retention) {
		return nil
	}
	s.kb = s.primaryKey(s.kb[:0], key, start, end)
	s.ib = s.indexKey(s.ib[:0], key, start, end)
	if value == nil {
		s.ops = [2]op{{kind: opDel, space: spaceSes, k: s.kb}, {kind: opDel, space: spaceSesIdx, k: s.ib}}
	} else {
		s.ops = [2]op{{kind: opSet, space: spaceSes, k: s.kb, v: value}, {kind: opSet, space: spaceSesIdx, k: s.ib, v: []byte{}}}
	}
	err := s.eng.apply(s.ops[:])
	s.ops = [2]op{}
	if err != nil {
		return err
	}
	if s.o.Logger != nil {
		s.lb = AppendSessionKey(s.lb[:0], key, start, end)
		s.o.Logger.Log(s.lb, value)
	}
	return nil
}

func (s *sessionStore) Remove(key []byte, start, end int64) error { return s.Put(key, start, end, nil) }

func (s *sessionStore) FindSessions(key []byte, earliestSessionEnd, latestSessionStart int64, fn func(int64, int64, []byte) bool) error {
	s.mu.Lock()
	from, to := max(earliestSessionEnd, minLive(s.st, s.o.Retention)), s.st
	s.mu.Unlock()
	if from > to {
		return nil
	}
	var pk []byte
	stop := false
	for seg := segmentOf(from, s.o.SegmentInterval); seg <= segmentOf(to, s.o.SegmentInterval) && !stop; seg++ {
		p := appendEscaped(appendTime(nil, seg), key)
		lo := appendTime(append([]byte{}, p...), from)
		var ierr error
		err := s.eng.iterate(spaceSesIdx, lo, prefixEnd(p), false, func(k, _ []byte) bool {
			rest := k[len(p):]
			if len(rest) != 16 {
				return true
			}
			end, start := readTime(rest), readTime(rest[8:])
			if start > latestSessionStart {
				return true
			}
			pk = s.primaryKey(pk[:0], key, start, end)
			v, err := s.eng.get(spaceSes, pk)
			if err != nil {
				ierr = err
				return false
			}
			if v == nil {
				return true
			}
			if !fn(start, end, v) {
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

func (s *sessionStore) Fetch(key []byte, fn func(int64, int64, []byte) bool) error {
	return s.FindSessions(key, math.MinInt64, math.MaxInt64, fn)
}

func (s *sessionStore) FetchAll(earliestEnd, latestEnd int64, fn func([]byte, int64, int64, []byte) bool) error {
	s.mu.Lock()
	from, to := max(earliestEnd, minLive(s.st, s.o.Retention)), min(latestEnd, s.st)
	s.mu.Unlock()
	if from > to {
		return nil
	}
	var kb []byte
	return s.eng.iterate(spaceSes, appendTime(nil, from), prefixEnd(appendTime(nil, to)), false, func(k, v []byte) bool {
		if len(k) < 8 {
			return true
		}
		key, rest, ok := readEscaped(kb[:0], k[8:])
		if !ok || len(rest) != 8 {
			return true
		}
		kb = key
		return fn(key, readTime(rest), readTime(k), v)
	})
}

func (s *sessionStore) RestoreBatch(recs []Record) error {
	type parsed struct {
		key        []byte
		start, end int64
	}
	ps := make([]parsed, len(recs))
	st := int64(math.MinInt64)
	for i, r := range recs {
		k, start, end, err := ParseSessionKey(r.Key)
		if err != nil {
			return err
		}
		ps[i] = parsed{k, start, end}
		st = max(st, end)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	oldST, oldDropped := s.st, s.droppedTo
	s.st = max(s.st, st)
	ops := s.dropOps(make([]op, 0, 2*len(recs)+2))
	live := minLive(s.st, s.o.Retention)
	var arena []byte
	for i, p := range ps {
		if p.end < live {
			continue
		}
		n := len(arena)
		arena = s.primaryKey(arena, p.key, p.start, p.end)
		m := len(arena)
		arena = s.indexKey(arena, p.key, p.start, p.end)
		kind := uint8(opSet)
		if recs[i].Value == nil {
			kind = opDel
		}
		ops = append(ops, op{kind: kind, space: spaceSes, k: arena[n:m:m], v: recs[i].Value},
			op{kind: kind, space: spaceSesIdx, k: arena[m:len(arena):len(arena)], v: []byte{}})
	}
	if err := s.eng.apply(ops); err != nil {
		s.st, s.droppedTo = oldST, oldDropped
		return err
	}
	return nil
}

func (s *sessionStore) Flush() error { return s.eng.flush() }
func (s *sessionStore) Close() error { return s.eng.close() }
