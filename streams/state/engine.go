package state

import (
	"slices"
	"sort"
	"sync"
	"unsafe"
)

// engine is the ordered byte store under one state store: several key spaces (one byte each),
// point reads, ordered scans and atomic batches of writes. memEngine and pebbleEngine implement
// it, so the in-memory and Pebble stores share every line of store logic.
type engine interface {
	get(space byte, k []byte) ([]byte, error) // a copy; nil when absent
	// iterate calls fn for lo <= k < hi (nil: unbounded) in order; fn's slices are valid only
	// during the call; fn may call back into the store.
	iterate(space byte, lo, hi []byte, reverse bool, fn func(k, v []byte) bool) error
	apply(ops []op) error // atomically
	flush() error
	close() error
}

const (
	opSet = iota
	opDel
	opDelRange // k = lo, v = hi (exclusive; nil: unbounded)
)

type op struct {
	kind  uint8
	space byte
	k, v  []byte
}

// prefixEnd is the smallest key greater than every key starting with p (nil: none).
func prefixEnd(p []byte) []byte {
	e := slices.Clone(p)
	for i := len(e) - 1; i >= 0; i-- {
		if e[i] != 0xff {
			e[i]++
			return e[:i+1]
		}
	}
	return nil
}

// memEngine: per space a map for point access and a lazily merged sorted key slice for scans.
type memEngine struct {
	mu     sync.Mutex
	spaces map[byte]*omap
	closed bool
}

type omap struct {
	m       map[string][]byte
	sorted  []string // sorted, may hold keys since deleted from m
	pending []string // keys added to m since the last merge
	stale   int
}

func newMemEngine() *memEngine { return &memEngine{spaces: map[byte]*omap{}} }

func (e *memEngine) space(s byte) *omap {
	o := e.spaces[s]
	if o == nil {
		o = &omap{m: map[string][]byte{}}
		e.spaces[s] = o
	}
	return o
}

// keys returns the sorted live keys (a slice never modified afterwards).
func (o *omap) keys() []string {
	if len(o.pending) == 0 && o.stale <= len(o.sorted)/2 {
		return o.sorted
	}
	sort.Strings(o.pending)
	merged := make([]string, 0, len(o.m))
	i, j := 0, 0
	for i < len(o.sorted) || j < len(o.pending) {
		var k string
		if j >= len(o.pending) || (i < len(o.sorted) && o.sorted[i] <= o.pending[j]) {
			k = o.sorted[i]
			i++
		} else {
			k = o.pending[j]
			j++
		}
		if _, ok := o.m[k]; !ok || (len(merged) > 0 && merged[len(merged)-1] == k) {
			continue
		}
		merged = append(merged, k)
	}
	o.sorted, o.pending, o.stale = merged, nil, 0
	return merged
}

func (o *omap) set(k, v []byte) {
	if _, ok := o.m[string(k)]; ok {
		o.m[string(k)] = append([]byte{}, v...)
		return
	}
	ks := string(k)
	o.m[ks] = append([]byte{}, v...)
	o.pending = append(o.pending, ks)
}

func (o *omap) del(k []byte) {
	if _, ok := o.m[string(k)]; ok {
		delete(o.m, string(k))
		o.stale++
	}
}

func (o *omap) bounds(lo, hi []byte) (ks []string, i, j int) {
	ks = o.keys()
	i, j = 0, len(ks)
	if lo != nil {
		i = sort.SearchStrings(ks, string(lo))
	}
	if hi != nil {
		j = sort.SearchStrings(ks, string(hi))
	}
	return ks, i, max(i, j)
}

func (e *memEngine) get(s byte, k []byte) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	v, ok := e.space(s).m[string(k)]
	if !ok {
		return nil, nil
	}
	return append([]byte{}, v...), nil
}

func (e *memEngine) iterate(s byte, lo, hi []byte, reverse bool, fn func(k, v []byte) bool) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	o := e.space(s)
	ks, i, j := o.bounds(lo, hi)
	e.mu.Unlock()
	n := j - i
	for x := 0; x < n; x++ {
		idx := i + x
		if reverse {
			idx = j - 1 - x
		}
		k := ks[idx]
		e.mu.Lock()
		v, ok := o.m[k]
		e.mu.Unlock()
		if !ok {
			continue
		}
		// Stored values are replaced, never modified, so v may be handed out unlocked.
		if !fn(unsafe.Slice(unsafe.StringData(k), len(k)), v) {
			return nil
		}
	}
	return nil
}

func (e *memEngine) apply(ops []op) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	for _, p := range ops {
		o := e.space(p.space)
		switch p.kind {
		case opSet:
			o.set(p.k, p.v)
		case opDel:
			o.del(p.k)
		case opDelRange:
			ks, i, j := o.bounds(p.k, p.v)
			for _, k := range ks[i:j] {
				if _, ok := o.m[k]; ok {
					delete(o.m, k)
					o.stale++
				}
			}
		}
	}
	return nil
}

func (e *memEngine) flush() error { return nil }

func (e *memEngine) close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	e.spaces = nil
	return nil
}
