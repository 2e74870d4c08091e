package state

import (
	"bytes"
	"cmp"
	"math"
)

// KeyValueFlush is one dirty entry of a caching key-value store as its flush listener gets
// it: the key, the value written to the store below (nil: deleted), the value the store held
// before (nil: none) and the headers given with the last write. The slices are valid only
// during the call.
type KeyValueFlush struct {
	Key, NewValue, OldValue []byte
	Headers                 any
}

// WindowFlush is KeyValueFlush for a window of a caching window store.
type WindowFlush struct {
	Key                []byte
	WindowStart        int64
	NewValue, OldValue []byte
	Headers            any
}

// CachingStore is a store with a record cache in front of it (Kafka Streams' caching
// layer): writes stay in the cache, dirty, until FlushCache or an eviction writes them to
// the store below (which logs them to its changelog) and hands each to the flush listener;
// reads see the cache first.
type CachingStore interface {
	// FlushCache writes every dirty entry to the store below, in write order, calling the
	// flush listener after each; it returns the first error (of the store or the
	// listener), leaving the entries from that one on dirty. A delete of a key the store
	// below does not hold (put and deleted since the last flush) is dropped: nothing is
	// written, logged or handed to the listener (as in Kafka Streams).
	FlushCache() error
	// ClearCache drops every entry, dirty or not (the task's state is being thrown away).
	ClearCache()
}

// CachingKeyValueStore is a KeyValueStore with a record cache (NewCachingKeyValue).
type CachingKeyValueStore interface {
	KeyValueStore
	CachingStore
	// PutWithHeaders is Put keeping headers (the writing record's) for the flush listener.
	PutWithHeaders(key, value []byte, headers any) error
	// SetFlushListener sets the function each flushed entry is handed to (nil: none).
	SetFlushListener(fn func(KeyValueFlush) error)
}

// CachingWindowStore is a WindowStore with a record cache (NewCachingWindow).
type CachingWindowStore interface {
	WindowStore
	CachingStore
	PutWithHeaders(key []byte, windowStart int64, value []byte, headers any) error
	SetFlushListener(fn func(WindowFlush) error)
}

type cachingKeyValue struct {
	inner    KeyValueStore
	cache    *namedCache
	listener func(KeyValueFlush) error
	write    func(e *cacheEntry) error
}

// NewCachingKeyValue puts a record cache, counted in cache, in front of inner. Reads see
// cached writes; Range, ReverseRange and ApproximateEntries merge the cached entries into a
// scan of inner (sorting them: for interactive queries, not a hot path). RestoreBatch drops
// the cache first. Close drops it without flushing.
func NewCachingKeyValue(inner KeyValueStore, cache *Cache) CachingKeyValueStore {
	s := &cachingKeyValue{inner: inner, cache: newNamedCache(cache, false)}
	s.write = s.writeEntry
	return s
}

func (s *cachingKeyValue) Name() string { return s.inner.Name() }

func (s *cachingKeyValue) SetFlushListener(fn func(KeyValueFlush) error) { s.listener = fn }

func (s *cachingKeyValue) Get(key []byte) ([]byte, error) {
	if v, ok := s.cache.get(key, 0); ok {
		return v, nil
	}
	return s.inner.Get(key)
}

func (s *cachingKeyValue) Put(key, value []byte) error { return s.PutWithHeaders(key, value, nil) }

func (s *cachingKeyValue) PutWithHeaders(key, value []byte, headers any) error {
	over, err := s.cache.put(key, 0, value, headers)
	if err != nil || !over {
		return err
	}
	return s.cache.evict(s.write)
}

func (s *cachingKeyValue) Delete(key []byte) error { return s.Put(key, nil) }

func (s *cachingKeyValue) writeEntry(e *cacheEntry) error {
	var old []byte
	var err error
	if s.listener != nil || e.value == nil {
		if old, err = s.inner.Get(e.key); err != nil {
			return err
		}
	}
	if e.value == nil && old == nil {
		return nil // put and deleted since the last flush: nothing to log or forward (as Kafka Streams)
	}
	if err := s.inner.Put(e.key, e.value); err != nil {
		return err
	}
	if s.listener == nil {
		return nil
	}
	return s.listener(KeyValueFlush{Key: e.key, NewValue: e.value, OldValue: old, Headers: e.headers})
}

func (s *cachingKeyValue) FlushCache() error { return s.cache.flush(s.write) }
func (s *cachingKeyValue) ClearCache()       { s.cache.clear() }

func compareKeys(a, b cachedItem) int { return bytes.Compare(a.key, b.key) }

func (s *cachingKeyValue) scan(from, to []byte, reverse bool, fn func(key, value []byte) bool) error {
	cmpFn := compareKeys
	if reverse {
		cmpFn = func(a, b cachedItem) int { return -compareKeys(a, b) }
	}
	cached := s.cache.collect(func(e *cacheEntry) bool {
		return (from == nil || bytes.Compare(e.key, from) >= 0) && (to == nil || bytes.Compare(e.key, to) < 0)
	}, cmpFn)
	if len(cached) == 0 {
		if reverse {
			return s.inner.ReverseRange(from, to, fn)
		}
		return s.inner.Range(from, to, fn)
	}
	return mergeScan(cached, cmpFn, func(yield func(cachedItem) bool) error {
		f := func(k, v []byte) bool { return yield(cachedItem{key: k, value: v}) }
		if reverse {
			return s.inner.ReverseRange(from, to, f)
		}
		return s.inner.Range(from, to, f)
	}, func(it cachedItem) bool { return fn(it.key, it.value) })
}

func (s *cachingKeyValue) Range(from, to []byte, fn func(key, value []byte) bool) error {
	return s.scan(from, to, false, fn)
}

func (s *cachingKeyValue) ReverseRange(from, to []byte, fn func(key, value []byte) bool) error {
	return s.scan(from, to, true, fn)
}

func (s *cachingKeyValue) ApproximateEntries() (int64, error) {
	var n int64
	err := s.Range(nil, nil, func(_, _ []byte) bool { n++; return true })
	return n, err
}

func (s *cachingKeyValue) RestoreBatch(recs []Record) error {
	s.cache.clear()
	return s.inner.RestoreBatch(recs)
}

func (s *cachingKeyValue) Flush() error { return s.inner.Flush() }

func (s *cachingKeyValue) Close() error {
	s.cache.clear()
	return s.inner.Close()
}

type cachingWindow struct {
	inner     WindowStore
	cache     *namedCache
	retention int64
	// st is the largest window start put here or observed by inner at open; only the
	// task's goroutine writes it, under cache.mu.
	st       int64
	listener func(WindowFlush) error
	write    func(e *cacheEntry) error
}

// NewCachingWindow puts a record cache, counted in cache, in front of inner, a window store
// without RetainDuplicates of that retention (ms). Windows expire by the stream time the
// cache has seen, as in inner. FetchRange and FetchAll merge the cached windows into inner's
// scan (sorting them: for interactive queries and punctuators, not a hot path).
func NewCachingWindow(inner WindowStore, retention int64, cache *Cache) CachingWindowStore {
	s := &cachingWindow{inner: inner, cache: newNamedCache(cache, true), retention: retention, st: inner.ObservedStreamTime()}
	s.write = s.writeEntry
	return s
}

func (s *cachingWindow) Name() string { return s.inner.Name() }

func (s *cachingWindow) SetFlushListener(fn func(WindowFlush) error) { s.listener = fn }

func (s *cachingWindow) ObservedStreamTime() int64 {
	s.cache.mu.Lock()
	st := s.st
	s.cache.mu.Unlock()
	return max(st, s.inner.ObservedStreamTime())
}

// live is the smallest live window start.
func (s *cachingWindow) live() int64 { return minLive(s.ObservedStreamTime(), s.retention) }

func (s *cachingWindow) Put(key []byte, start int64, value []byte) error {
	return s.PutWithHeaders(key, start, value, nil)
}

func (s *cachingWindow) PutWithHeaders(key []byte, start int64, value []byte, headers any) error {
	s.cache.mu.Lock()
	s.st = max(s.st, start)
	s.cache.mu.Unlock()
	if start < s.live() {
		return nil // expired, as the store below would drop it
	}
	over, err := s.cache.put(key, start, value, headers)
	if err != nil || !over {
		return err
	}
	return s.cache.evict(s.write)
}

func (s *cachingWindow) writeEntry(e *cacheEntry) error {
	var old []byte
	var err error
	if s.listener != nil || e.value == nil {
		if old, err = s.inner.Fetch(e.key, e.start); err != nil {
			return err
		}
	}
	if e.value == nil && old == nil {
		return nil // put and deleted since the last flush: nothing to log or forward
	}
	if err := s.inner.Put(e.key, e.start, e.value); err != nil {
		return err
	}
	if s.listener == nil {
		return nil
	}
	return s.listener(WindowFlush{Key: e.key, WindowStart: e.start, NewValue: e.value, OldValue: old, Headers: e.headers})
}

func (s *cachingWindow) Fetch(key []byte, start int64) ([]byte, error) {
	if start < s.live() {
		return nil, nil
	}
	if v, ok := s.cache.get(key, start); ok {
		return v, nil
	}
	return s.inner.Fetch(key, start)
}

func compareStarts(a, b cachedItem) int { return cmp.Compare(a.start, b.start) }

func compareStartKey(a, b cachedItem) int {
	if c := cmp.Compare(a.start, b.start); c != 0 {
		return c
	}
	return bytes.Compare(a.key, b.key)
}

func (s *cachingWindow) FetchRange(key []byte, fromStart, toStart int64, fn func(int64, []byte) bool) error {
	from := max(fromStart, s.live())
	cached := s.cache.collect(func(e *cacheEntry) bool {
		return e.start >= from && e.start <= toStart && bytes.Equal(e.key, key)
	}, compareStarts)
	return mergeScan(cached, compareStarts, func(yield func(cachedItem) bool) error {
		return s.inner.FetchRange(key, from, toStart, func(start int64, v []byte) bool {
			return yield(cachedItem{key: key, start: start, value: v})
		})
	}, func(it cachedItem) bool { return fn(it.start, it.value) })
}

func (s *cachingWindow) FetchAll(fromStart, toStart int64, fn func([]byte, int64, []byte) bool) error {
	from := max(fromStart, s.live())
	cached := s.cache.collect(func(e *cacheEntry) bool {
		return e.start >= from && e.start <= toStart
	}, compareStartKey)
	return mergeScan(cached, compareStartKey, func(yield func(cachedItem) bool) error {
		return s.inner.FetchAll(from, toStart, func(k []byte, start int64, v []byte) bool {
			return yield(cachedItem{key: k, start: start, value: v})
		})
	}, func(it cachedItem) bool { return fn(it.key, it.start, it.value) })
}

func (s *cachingWindow) FlushCache() error { return s.cache.flush(s.write) }
func (s *cachingWindow) ClearCache()       { s.cache.clear() }

func (s *cachingWindow) RestoreBatch(recs []Record) error {
	s.cache.clear()
	s.cache.mu.Lock()
	s.st = math.MinInt64
	s.cache.mu.Unlock()
	return s.inner.RestoreBatch(recs)
}

func (s *cachingWindow) Flush() error { return s.inner.Flush() }

func (s *cachingWindow) Close() error {
	s.cache.clear()
	return s.inner.Close()
}
