package state

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// flushLog records what a caching store's flush listener got.
type flushLog struct{ got []string }

func (f *flushLog) kv(e KeyValueFlush) error {
	f.got = append(f.got, fmt.Sprintf("%s=%s(was %s)", e.Key, str(e.NewValue), str(e.OldValue)))
	return nil
}

func (f *flushLog) window(e WindowFlush) error {
	f.got = append(f.got, fmt.Sprintf("%s@%d=%s(was %s)", e.Key, e.WindowStart, str(e.NewValue), str(e.OldValue)))
	return nil
}

func str(b []byte) string {
	if b == nil {
		return "nil"
	}
	return string(b)
}

func newCachingKV(t *testing.T, maxBytes int64) (CachingKeyValueStore, *logRec, *flushLog, *Cache) {
	t.Helper()
	changelog, flushed := &logRec{}, &flushLog{}
	cache := NewCache(maxBytes)
	s := NewCachingKeyValue(NewInMemoryKeyValue("kv", changelog), cache)
	s.SetFlushListener(flushed.kv)
	t.Cleanup(func() { s.Close() })
	return s, changelog, flushed, cache
}

// TestCachingKeyValueFlushOncePerKey: updates between flushes reach the changelog and the
// listener once per key, with the value of the previous flush as the old value, in the order
// the keys were last written.
func TestCachingKeyValueFlushOncePerKey(t *testing.T) {
	s, changelog, flushed, _ := newCachingKV(t, DefaultCacheMaxBytes)
	for i := range 5 {
		must(t, s.Put([]byte("a"), fmt.Appendf(nil, "a%d", i)))
		if i < 2 {
			must(t, s.Put([]byte("b"), fmt.Appendf(nil, "b%d", i)))
		}
	}
	if len(changelog.recs) != 0 || len(flushed.got) != 0 {
		t.Fatalf("before the flush: changelog %v, forwarded %v; want nothing", changelog.recs, flushed.got)
	}
	must(t, s.FlushCache())
	want := []string{"b=b1(was nil)", "a=a4(was nil)"}
	if !slices.Equal(flushed.got, want) {
		t.Fatalf("first flush forwarded %v, want %v", flushed.got, want)
	}
	if len(changelog.recs) != 2 || string(changelog.recs[1].Value) != "a4" {
		t.Fatalf("first flush logged %v, want b1 then a4", changelog.recs)
	}
	flushed.got = nil
	must(t, s.FlushCache())
	if len(flushed.got) != 0 {
		t.Fatalf("a flush with nothing dirty forwarded %v", flushed.got)
	}
	must(t, s.Put([]byte("a"), []byte("a5")))
	must(t, s.Delete([]byte("b")))
	must(t, s.Put([]byte("c"), []byte("c0"))) // put and deleted between flushes: nothing
	must(t, s.Delete([]byte("c")))
	must(t, s.FlushCache())
	want = []string{"a=a5(was a4)", "b=nil(was b1)"}
	if !slices.Equal(flushed.got, want) {
		t.Fatalf("second flush forwarded %v, want %v", flushed.got, want)
	}
	if len(changelog.recs) != 4 || changelog.recs[3].Value != nil {
		t.Fatalf("second flush logged %v, want a5 then b's tombstone", changelog.recs[2:])
	}
}

// TestCachingKeyValueReadsSeeDirty: Get and the scans see unflushed writes and deletes.
func TestCachingKeyValueReadsSeeDirty(t *testing.T) {
	s, _, _, _ := newCachingKV(t, DefaultCacheMaxBytes)
	for _, k := range []string{"a", "c", "e"} {
		must(t, s.Put([]byte(k), []byte(k+"0")))
	}
	must(t, s.FlushCache())
	must(t, s.Put([]byte("b"), []byte("b1")))
	must(t, s.Put([]byte("c"), []byte("c1")))
	must(t, s.Delete([]byte("e")))
	must(t, s.Put([]byte("f"), []byte{})) // an empty value is a value
	if v, err := s.Get([]byte("c")); err != nil || string(v) != "c1" {
		t.Fatalf("Get(c) = %q, %v; want the dirty c1", v, err)
	}
	if v, err := s.Get([]byte("e")); err != nil || v != nil {
		t.Fatalf("Get(e) = %q, %v; want nil (deleted in the cache)", v, err)
	}
	if v, err := s.Get([]byte("f")); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("Get(f) = %#v, %v; want an empty value", v, err)
	}
	scan := func(reverse bool, from, to string) string {
		var out []string
		fn := func(k, v []byte) bool { out = append(out, string(k)+"="+string(v)); return true }
		var lo, hi []byte
		if from != "" {
			lo = []byte(from)
		}
		if to != "" {
			hi = []byte(to)
		}
		var err error
		if reverse {
			err = s.ReverseRange(lo, hi, fn)
		} else {
			err = s.Range(lo, hi, fn)
		}
		must(t, err)
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		name     string
		reverse  bool
		from, to string
		want     string
	}{
		{"all", false, "", "", "[a=a0 b=b1 c=c1 f=]"},
		{"reverse", true, "", "", "[f= c=c1 b=b1 a=a0]"},
		{"bounded", false, "b", "f", "[b=b1 c=c1]"},
		{"reverse bounded", true, "a", "c", "[b=b1 a=a0]"},
	} {
		if got := scan(c.reverse, c.from, c.to); got != c.want {
			t.Errorf("%s: scan [%q, %q) = %s, want %s", c.name, c.from, c.to, got, c.want)
		}
	}
	if n, err := s.ApproximateEntries(); err != nil || n != 4 {
		t.Errorf("ApproximateEntries = %d, %v; want 4", n, err)
	}
	var first []string
	must(t, s.Range(nil, nil, func(k, _ []byte) bool { first = append(first, string(k)); return len(first) < 2 }))
	if !slices.Equal(first, []string{"a", "b"}) {
		t.Errorf("a scan stopped after two keys gave %v", first)
	}
}

// TestCacheEvictionOrderAndBudget: a put over the budget evicts the least recently written
// entries of that store, flushing every dirty one first, and the cache ends within budget.
func TestCacheEvictionOrderAndBudget(t *testing.T) {
	entry := CacheEntryBytes(1, 2)
	s, changelog, flushed, cache := newCachingKV(t, 3*entry)
	for _, k := range []string{"a", "b", "c"} {
		must(t, s.Put([]byte(k), []byte(k+"0")))
	}
	if cache.SizeBytes() != 3*entry || len(flushed.got) != 0 {
		t.Fatalf("three entries: %d bytes, forwarded %v; want %d bytes and nothing", cache.SizeBytes(), flushed.got, 3*entry)
	}
	must(t, s.Put([]byte("a"), []byte("a1"))) // a is now the most recently written
	must(t, s.Put([]byte("d"), []byte("d0"))) // over budget: flush all, evict b
	want := []string{"b=b0(was nil)", "c=c0(was nil)", "a=a1(was nil)", "d=d0(was nil)"}
	if !slices.Equal(flushed.got, want) {
		t.Fatalf("eviction forwarded %v, want %v", flushed.got, want)
	}
	if len(changelog.recs) != 4 {
		t.Fatalf("eviction logged %d records, want 4", len(changelog.recs))
	}
	if cache.SizeBytes() > cache.MaxBytes() {
		t.Fatalf("cache holds %d bytes over its budget of %d", cache.SizeBytes(), cache.MaxBytes())
	}
	nc := s.(*cachingKeyValue).cache
	var cached []string
	for e := nc.head; e != nil; e = e.next {
		cached = append(cached, string(e.key))
	}
	if !slices.Equal(cached, []string{"c", "a", "d"}) {
		t.Fatalf("cached after eviction, oldest first: %v; want [c a d] (b evicted)", cached)
	}
	if v, err := s.Get([]byte("b")); err != nil || string(v) != "b0" {
		t.Fatalf("Get of the evicted b = %q, %v; want b0 from the store", v, err)
	}
	// Clean entries are evicted without a flush.
	flushed.got = nil
	must(t, s.Put([]byte("e"), []byte("e0")))
	if !slices.Equal(flushed.got, nil) {
		t.Fatalf("evicting the clean c forwarded %v", flushed.got)
	}
	// A second store shares the budget: its put takes the cache over, and it evicts its own
	// entry (written to its store first), not the first store's.
	otherInner := NewInMemoryKeyValue("other", nil)
	other := NewCachingKeyValue(otherInner, cache)
	defer other.Close()
	must(t, other.Put([]byte("x"), []byte("x0")))
	if cache.SizeBytes() != 3*entry || other.(*cachingKeyValue).cache.head != nil || len(nc.entries) != 3 {
		t.Fatalf("after a put to the other store: %d bytes (want %d), the first store has %d entries (want 3)", cache.SizeBytes(), 3*entry, len(nc.entries))
	}
	if v, _ := otherInner.Get([]byte("x")); string(v) != "x0" {
		t.Fatalf("the other store's evicted entry reached its store as %q, want x0", v)
	}
	other.ClearCache()
	s.ClearCache()
	if cache.SizeBytes() != 0 {
		t.Fatalf("after clearing both stores the cache counts %d bytes", cache.SizeBytes())
	}
}

// TestCachingKeyValueClearDropsDirty: ClearCache throws dirty entries away unwritten.
func TestCachingKeyValueClearDropsDirty(t *testing.T) {
	s, changelog, flushed, _ := newCachingKV(t, DefaultCacheMaxBytes)
	must(t, s.Put([]byte("a"), []byte("a0")))
	must(t, s.FlushCache())
	must(t, s.Put([]byte("a"), []byte("a1")))
	s.ClearCache()
	must(t, s.FlushCache())
	if v, _ := s.Get([]byte("a")); string(v) != "a0" || len(changelog.recs) != 1 || len(flushed.got) != 1 {
		t.Fatalf("after ClearCache: Get(a) = %q, %d changelog records, forwarded %v; want a0, 1, 1", v, len(changelog.recs), flushed.got)
	}
}

// TestCachingKeyValueModel: random puts, deletes, flushes and clears under a small budget
// against a model. Reads always see the latest write; after a flush the store below holds
// exactly the model; the listener's old value of a key is always its previous new value.
func TestCachingKeyValueModel(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 7))
		s, _, _, cache := newCachingKV(t, int64(r.IntN(8)+1)*CacheEntryBytes(2, 3))
		inner := s.(*cachingKeyValue).inner
		model := map[string]string{}
		forwarded := map[string]string{} // what downstream last got per key
		s.SetFlushListener(func(e KeyValueFlush) error {
			if got, want := str(e.OldValue), forwarded[string(e.Key)]; got != want && !(want == "" && got == "nil") {
				t.Fatalf("seed %d: %s flushed with old %s, but downstream last got %q", seed, e.Key, got, want)
			}
			forwarded[string(e.Key)] = str(e.NewValue)
			if e.NewValue == nil {
				delete(forwarded, string(e.Key))
			}
			return nil
		})
		for i := range 2000 {
			k := fmt.Sprintf("k%d", r.IntN(12))
			switch op := r.IntN(20); {
			case op < 13:
				v := fmt.Sprintf("%03d", i%1000)
				must(t, s.Put([]byte(k), []byte(v)))
				model[k] = v
			case op < 17:
				must(t, s.Delete([]byte(k)))
				delete(model, k)
			case op < 19:
				got, err := s.Get([]byte(k))
				must(t, err)
				if want, ok := model[k]; str(got) != want && (ok || got != nil) {
					t.Fatalf("seed %d op %d: Get(%s) = %s, want %q", seed, i, k, str(got), want)
				}
			default:
				must(t, s.FlushCache())
				if got := dumpKV(t, inner); !maps.Equal(got, model) {
					t.Fatalf("seed %d op %d: after a flush the store holds %v, want %v", seed, i, got, model)
				}
				if !maps.Equal(forwarded, model) {
					t.Fatalf("seed %d op %d: downstream holds %v, want %v", seed, i, forwarded, model)
				}
			}
			if cache.SizeBytes() > cache.MaxBytes() {
				t.Fatalf("seed %d op %d: %d bytes cached, budget %d", seed, i, cache.SizeBytes(), cache.MaxBytes())
			}
		}
		if got := dumpKV(t, s); !maps.Equal(got, model) {
			t.Fatalf("seed %d: a scan through the cache gives %v, want %v", seed, got, model)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCachingWindowReads: window fetches and scans see dirty windows, merged with the
// store's in start (then key) order; expired windows are invisible; a flush forwards each
// dirty window once with its previous value.
func TestCachingWindowReads(t *testing.T) {
	inner, err := NewInMemoryWindow("w", WindowOptions{Retention: 100})
	must(t, err)
	s := NewCachingWindow(inner, 100, NewCache(DefaultCacheMaxBytes))
	defer s.Close()
	flushed := &flushLog{}
	s.SetFlushListener(flushed.window)
	must(t, s.Put([]byte("a"), 0, []byte("a0")))
	must(t, s.Put([]byte("a"), 20, []byte("a20")))
	must(t, s.Put([]byte("b"), 10, []byte("b10")))
	must(t, s.FlushCache())
	must(t, s.Put([]byte("a"), 10, []byte("a10")))
	must(t, s.Put([]byte("a"), 20, []byte("a20'")))
	must(t, s.Put([]byte("a"), 20, []byte("a20''")))
	must(t, s.Put([]byte("b"), 30, []byte("b30")))
	if v, err := s.Fetch([]byte("a"), 20); err != nil || string(v) != "a20''" {
		t.Fatalf("Fetch(a, 20) = %q, %v; want the dirty a20''", v, err)
	}
	var got []string
	must(t, s.FetchRange([]byte("a"), 0, 25, func(start int64, v []byte) bool {
		got = append(got, fmt.Sprintf("%d=%s", start, v))
		return true
	}))
	if want := []string{"0=a0", "10=a10", "20=a20''"}; !slices.Equal(got, want) {
		t.Fatalf("FetchRange(a, 0, 25) = %v, want %v", got, want)
	}
	got = nil
	must(t, s.FetchAll(10, 30, func(k []byte, start int64, v []byte) bool {
		got = append(got, fmt.Sprintf("%s@%d=%s", k, start, v))
		return true
	}))
	if want := []string{"a@10=a10", "b@10=b10", "a@20=a20''", "b@30=b30"}; !slices.Equal(got, want) {
		t.Fatalf("FetchAll(10, 30) = %v, want %v", got, want)
	}
	flushed.got = nil
	must(t, s.FlushCache())
	if want := []string{"a@10=a10(was nil)", "a@20=a20''(was a20)", "b@30=b30(was nil)"}; !slices.Equal(flushed.got, want) {
		t.Fatalf("flush forwarded %v, want %v", flushed.got, want)
	}
	// Stream time 130 expires starts <= 30 at once, cached or not.
	must(t, s.Put([]byte("c"), 130, []byte("c130")))
	if v, _ := s.Fetch([]byte("b"), 30); v != nil {
		t.Fatalf("expired window b@30 fetched as %q", v)
	}
	got = nil
	must(t, s.FetchAll(math.MinInt64, math.MaxInt64, func(k []byte, start int64, v []byte) bool {
		got = append(got, fmt.Sprintf("%s@%d=%s", k, start, v))
		return true
	}))
	if want := []string{"c@130=c130"}; !slices.Equal(got, want) {
		t.Fatalf("after expiry FetchAll = %v, want %v", got, want)
	}
	if st := s.ObservedStreamTime(); st != 130 {
		t.Fatalf("ObservedStreamTime = %d, want 130 (the dirty window's start)", st)
	}
}

// TestCachingFlushReentry: a listener writing to the store being flushed is an error, not a
// corrupted list.
func TestCachingFlushReentry(t *testing.T) {
	s, _, _, _ := newCachingKV(t, DefaultCacheMaxBytes)
	s.SetFlushListener(func(e KeyValueFlush) error { return s.Put(e.Key, []byte("again")) })
	must(t, s.Put([]byte("a"), []byte("a0")))
	if err := s.FlushCache(); err == nil {
		t.Fatal("a listener writing to its own store did not fail the flush")
	}
	if v, _ := s.Get([]byte("a")); !bytes.Equal(v, []byte("a0")) {
		t.Fatalf("after the failed flush Get(a) = %q, want a0", v)
	}
}

// TestCachingConcurrentReads: interactive queries read (Get, Range, Fetch, FetchAll) while
// the task's goroutine writes, flushes and evicts; under -race this checks the locking, and
// every read sees a value some write put.
func TestCachingConcurrentReads(t *testing.T) {
	cache := NewCache(20 * CacheEntryBytes(2, 4))
	kv := NewCachingKeyValue(NewInMemoryKeyValue("kv", &logRec{}), cache)
	defer kv.Close()
	inner, err := NewInMemoryWindow("w", WindowOptions{Retention: 1000})
	must(t, err)
	ws := NewCachingWindow(inner, 1000, cache)
	defer ws.Close()
	kv.SetFlushListener(func(KeyValueFlush) error { return nil })
	ws.SetFlushListener(func(WindowFlush) error { return nil })
	stop := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		valid := func(v []byte) bool { return v == nil || len(v) == 4 && v[0] == 'v' }
		for {
			select {
			case <-stop:
				return
			default:
			}
			v, err := kv.Get([]byte("k3"))
			if err != nil || !valid(v) {
				errs <- fmt.Errorf("Get = %q, %v", v, err)
				return
			}
			must2 := func(err error) bool {
				if err != nil {
					errs <- err
				}
				return err == nil
			}
			var bad []byte
			check := func(v []byte) bool {
				if !valid(v) {
					bad = bytes.Clone(v)
				}
				return bad == nil
			}
			if !must2(kv.Range(nil, nil, func(_, v []byte) bool { return check(v) })) ||
				!must2(ws.FetchAll(0, 1<<40, func(_ []byte, _ int64, v []byte) bool { return check(v) })) {
				return
			}
			if bad != nil {
				errs <- fmt.Errorf("a scan read %q", bad)
				return
			}
			if _, err := ws.Fetch([]byte("k3"), 100); !must2(err) {
				return
			}
		}
	}()
	for i := range 5000 {
		k := fmt.Appendf(nil, "k%d", i%40)
		v := fmt.Appendf(nil, "v%03d", i%1000)
		must(t, kv.Put(k, v))
		must(t, ws.Put(k, int64(i/100)*100, v))
		if i%97 == 0 {
			must(t, kv.FlushCache())
			must(t, ws.FlushCache())
		}
	}
	close(stop)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// TestCacheStats: point reads count as hits or misses, and entries dropped to keep to the
// budget as evictions.
func TestCacheStats(t *testing.T) {
	per := CacheEntryBytes(1, 2)
	s, _, _, cache := newCachingKV(t, 2*per+per/2) // room for two entries
	must(t, s.Put([]byte("a"), []byte("a0")))
	must(t, s.Put([]byte("b"), []byte("b0")))
	for _, k := range []string{"a", "b", "a", "x"} {
		if _, err := s.Get([]byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := cache.Stats(), (CacheStats{Hits: 3, Misses: 1}); got != want {
		t.Fatalf("after 3 cached reads and 1 uncached: %+v, want %+v", got, want)
	}
	must(t, s.Put([]byte("c"), []byte("c0"))) // evicts a, the least recently written
	if v, err := s.Get([]byte("a")); err != nil || string(v) != "a0" {
		t.Fatalf("a after its eviction: %q %v, want it from the store", v, err)
	}
	if got, want := cache.Stats(), (CacheStats{Hits: 3, Misses: 2, Evictions: 1}); got != want {
		t.Fatalf("after an eviction and a read of the evicted key: %+v, want %+v", got, want)
	}
}
