package state

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
)

// Cache is the record cache of one App (Kafka Streams' statestore.cache.max.bytes, its
// ThreadCache): a byte budget shared by the caching stores of every task the App runs. Each
// caching store (NewCachingKeyValue, NewCachingWindow) keeps its own entries and counts their
// bytes here; a Put that takes the total over the budget evicts that store's least recently
// written entries, flushing its dirty entries first (Kafka Streams evicts from the cache that
// grew, too).
type Cache struct {
	maxBytes int64
	size     atomic.Int64
	// Point reads (a caching store's Get or Fetch) answered from the cache, and those that
	// went to the store below; entries evicted to keep to the budget.
	hits, misses, evictions atomic.Int64
}

// CacheStats are a Cache's counters since it was made.
type CacheStats struct {
	Hits, Misses, Evictions int64
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load()}
}

// DefaultCacheMaxBytes is Kafka Streams' default statestore.cache.max.bytes, 10 MiB.
const DefaultCacheMaxBytes = 10 << 20

// NewCache returns a cache of maxBytes (> 0).
func NewCache(maxBytes int64) *Cache { return &Cache{maxBytes: maxBytes} }

// MaxBytes is the budget.
func (c *Cache) MaxBytes() int64 { return c.maxBytes }

// SizeBytes is what the caching stores hold now, by the estimate of CacheEntryBytes.
func (c *Cache) SizeBytes() int64 { return c.size.Load() }

// CacheEntryOverhead is what an entry is counted beyond its key and value bytes: its struct,
// its map slot and its key's string (Kafka Streams counts a fixed overhead per entry too).
const CacheEntryOverhead = 112

// CacheEntryBytes is what an entry of a key and value of these lengths counts in the budget.
func CacheEntryBytes(keyLen, valueLen int) int64 {
	return int64(2*keyLen+valueLen) + CacheEntryOverhead
}

// ErrFlushReentered: a flush listener wrote to the store being flushed (its processor
// forwarded to itself).
var ErrFlushReentered = errors.New("state: a flush listener wrote to the caching store being flushed")

// cacheEntry is one cached key: its latest value (nil: deleted) and whether it differs from
// the store below (dirty).
type cacheEntry struct {
	key     []byte // the store's key
	start   int64  // window start (window stores)
	value   []byte
	headers any
	dirty   bool
	size    int64
	// prev and next link the entries in write order, least recently written first.
	prev, next *cacheEntry
}

// namedCache is one caching store's entries. Writes and flushes come from the task's
// goroutine; reads may come from others (interactive queries).
//
// Every write makes its entry dirty and moves it to the tail, and a flush makes every dirty
// entry clean, so the dirty entries are always a suffix of the list: a flush walks back from
// the tail to the first dirty entry, then forwards, in last-write order.
type namedCache struct {
	shared   *Cache
	windowed bool       // keys are key | window start
	mu       sync.Mutex // guards everything below
	// entries by the key's bytes (window stores: key | start, 8 bytes big-endian).
	entries    map[string]*cacheEntry
	head, tail *cacheEntry
	bytes      int64 // counted in shared
	flushing   bool
	mk         []byte // scratch map key
}

func newNamedCache(shared *Cache, windowed bool) *namedCache {
	return &namedCache{shared: shared, windowed: windowed, entries: map[string]*cacheEntry{}}
}

func (c *namedCache) mapKey(key []byte, start int64) []byte {
	c.mk = append(c.mk[:0], key...)
	if c.windowed {
		c.mk = appendTime(c.mk, start)
	}
	return c.mk
}

// get returns a copy of the cached value of key and whether key is cached (a cached nil is
// a delete not yet flushed).
func (c *namedCache) get(key []byte, start int64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[string(c.mapKey(key, start))]
	if e == nil {
		c.shared.misses.Add(1)
		return nil, false
	}
	c.shared.hits.Add(1)
	if e.value == nil {
		return nil, true
	}
	return bytes.Clone(e.value), true
}

// put caches value (nil: a delete) as dirty and reports whether the shared budget is now
// exceeded.
func (c *namedCache) put(key []byte, start int64, value []byte, headers any) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.flushing {
		return false, ErrFlushReentered
	}
	mk := c.mapKey(key, start)
	e := c.entries[string(mk)]
	if e == nil {
		e = &cacheEntry{key: bytes.Clone(key), start: start}
		if e.key == nil {
			e.key = []byte{}
		}
		c.entries[string(mk)] = e
	} else {
		c.unlink(e)
	}
	switch {
	case value == nil:
		e.value = nil
	case e.value == nil:
		e.value = append(make([]byte, 0, len(value)), value...)
	default:
		e.value = append(e.value[:0], value...)
	}
	e.headers, e.dirty = headers, true
	c.resize(e, CacheEntryBytes(len(e.key), cap(e.value)))
	c.linkTail(e)
	return c.shared.size.Load() > c.shared.maxBytes, nil
}

func (c *namedCache) resize(e *cacheEntry, size int64) {
	if d := size - e.size; d != 0 {
		e.size = size
		c.bytes += d
		c.shared.size.Add(d)
	}
}

func (c *namedCache) unlink(e *cacheEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (c *namedCache) linkTail(e *cacheEntry) {
	e.prev = c.tail
	if c.tail != nil {
		c.tail.next = e
	} else {
		c.head = e
	}
	c.tail = e
}

// remove drops e; the caller holds mu.
func (c *namedCache) remove(e *cacheEntry) {
	c.unlink(e)
	c.resize(e, 0)
	delete(c.entries, string(c.mapKey(e.key, e.start)))
}

// flush hands every dirty entry, in write order, to write (which writes it to the store
// below and forwards it), then marks them clean; flushed deletes are dropped from the cache.
// It runs on the task's goroutine, the only one that changes entries, so it reads them
// without mu while write runs (write may read the store, and so the cache, again).
func (c *namedCache) flush(write func(e *cacheEntry) error) error {
	c.mu.Lock()
	if c.flushing {
		c.mu.Unlock()
		return ErrFlushReentered
	}
	first := c.tail
	for first != nil && first.prev != nil && first.prev.dirty {
		first = first.prev
	}
	if first == nil || !first.dirty {
		c.mu.Unlock()
		return nil
	}
	c.flushing = true
	c.mu.Unlock()
	var err error
	last := first
	for e := first; e != nil; e = e.next {
		last = e
		if err = write(e); err != nil {
			break
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushing = false
	for e := first; e != nil; {
		next := e.next
		if err == nil || e != last {
			e.dirty, e.headers = false, nil
			if e.value == nil {
				c.remove(e)
			}
		}
		if e == last {
			break
		}
		e = next
	}
	return err
}

// evict drops least recently written entries while the shared budget is exceeded and this
// cache has any; a dirty one makes it flush first (every dirty entry, as Kafka Streams).
func (c *namedCache) evict(write func(e *cacheEntry) error) error {
	for c.shared.size.Load() > c.shared.maxBytes {
		c.mu.Lock()
		e := c.head
		if e == nil {
			c.mu.Unlock()
			return nil
		}
		if e.dirty {
			c.mu.Unlock()
			if err := c.flush(write); err != nil {
				return err
			}
			continue
		}
		c.remove(e)
		c.mu.Unlock()
		c.shared.evictions.Add(1)
	}
	return nil
}

// clear drops every entry, dirty or not, and returns their bytes to the budget.
func (c *namedCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shared.size.Add(-c.bytes)
	c.bytes = 0
	clear(c.entries)
	c.head, c.tail = nil, nil
}

// cachedItem is an entry as a scan sees it.
type cachedItem struct {
	key   []byte
	start int64
	value []byte // nil: deleted
}

// collect copies the entries keep accepts, sorted by cmp.
func (c *namedCache) collect(keep func(e *cacheEntry) bool, cmp func(a, b cachedItem) int) []cachedItem {
	c.mu.Lock()
	var items []cachedItem
	for _, e := range c.entries {
		if keep(e) {
			items = append(items, cachedItem{key: e.key, start: e.start, value: bytes.Clone(e.value)})
		}
	}
	c.mu.Unlock()
	slices.SortFunc(items, cmp)
	return items
}

// mergeScan calls fn for the union of cached (sorted by cmp) and what inner yields (in the
// same order), a cached item replacing an inner one that compares equal and a cached delete
// hiding it.
func mergeScan(cached []cachedItem, cmp func(a, b cachedItem) int, inner func(yield func(cachedItem) bool) error, fn func(cachedItem) bool) error {
	i := 0
	stopped := false
	emit := func(it cachedItem) bool {
		if it.value == nil {
			return true
		}
		if !fn(it) {
			stopped = true
			return false
		}
		return true
	}
	err := inner(func(it cachedItem) bool {
		for i < len(cached) && cmp(cached[i], it) < 0 {
			if !emit(cached[i]) {
				return false
			}
			i++
		}
		if i < len(cached) && cmp(cached[i], it) == 0 {
			i++
			return emit(cached[i-1])
		}
		return emit(it)
	})
	if err != nil || stopped {
		return err
	}
	for ; i < len(cached); i++ {
		if !emit(cached[i]) {
			break
		}
	}
	return nil
}
