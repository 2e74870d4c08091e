package state

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func TestReopenKeepsDataAndCheckpoints(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !db.PreviousCloseClean() {
		t.Fatal("a new DB reports an unclean previous close")
	}
	kv, _ := db.KeyValue("kv", nil)
	ws, _ := db.Window("win", WindowOptions{Retention: 10000})
	ss, _ := db.Session("ses", SessionOptions{Retention: 10000})
	if _, err := db.KeyValue("kv", nil); err != ErrStoreOpen {
		t.Fatalf("second open of a store: %v", err)
	}
	kv.Put([]byte("a"), []byte("1"))
	ws.Put([]byte("a"), 5000, []byte("w"))
	ss.Put([]byte("a"), 100, 7000, []byte("s"))
	tp := TopicPartition{"app-kv-changelog", 3}
	if err := db.SetCheckpoint(tp, 42); err != nil {
		t.Fatal(err)
	}
	db.SetCheckpoint(TopicPartition{"app-win-changelog", 0}, 7)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get([]byte("a")); err != ErrClosed {
		t.Fatalf("store after DB close: %v", err)
	}

	db, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !db.PreviousCloseClean() {
		t.Fatal("clean close reported unclean")
	}
	kv, _ = db.KeyValue("kv", nil)
	ws, _ = db.Window("win", WindowOptions{Retention: 10000})
	ss, _ = db.Session("ses", SessionOptions{Retention: 10000})
	if v, _ := kv.Get([]byte("a")); string(v) != "1" {
		t.Fatalf("kv after reopen: %q", v)
	}
	if v, _ := ws.Fetch([]byte("a"), 5000); string(v) != "w" || ws.ObservedStreamTime() != 5000 {
		t.Fatalf("window after reopen: %q, stream time %d", v, ws.ObservedStreamTime())
	}
	var got []string
	ss.Fetch([]byte("a"), func(s, e int64, v []byte) bool { got = append(got, fmt.Sprintf("%d %d %s", s, e, v)); return true })
	if fmt.Sprint(got) != "[100 7000 s]" || ss.ObservedStreamTime() != 7000 {
		t.Fatalf("session after reopen: %v, stream time %d", got, ss.ObservedStreamTime())
	}
	if off, ok, err := db.Checkpoint(tp); off != 42 || !ok || err != nil {
		t.Fatalf("checkpoint after reopen: %d %v %v", off, ok, err)
	}
	all, err := db.Checkpoints()
	if err != nil || len(all) != 2 || all[TopicPartition{"app-win-changelog", 0}] != 7 {
		t.Fatalf("Checkpoints = %v, %v", all, err)
	}
	// Stores of one DB do not see each other's keys.
	if n, _ := kv.ApproximateEntries(); n != 1 {
		t.Fatalf("kv holds %d entries", n)
	}

	if err := db.Wipe(); err != ErrStoreOpen {
		t.Fatalf("Wipe with stores open: %v", err)
	}
	kv.Close()
	ws.Close()
	ss.Close()
	if err := db.Wipe(); err != nil {
		t.Fatal(err)
	}
	kv, _ = db.KeyValue("kv", nil)
	if v, _ := kv.Get([]byte("a")); v != nil {
		t.Fatalf("kv after Wipe: %q", v)
	}
	if all, _ := db.Checkpoints(); len(all) != 0 {
		t.Fatalf("checkpoints after Wipe: %v", all)
	}
}

// TestCrash: a writer puts keys 0, 1, 2, ... and every so often records a checkpoint (the
// next key it would write) and flushes; crash images are taken while it runs, keeping a
// random part of what was not synced. Each image must open, report an unclean close, hold in
// each store a prefix of the writes at least as long as the last flush before the image, and
// never have a checkpoint beyond what its data holds. Odd seeds use a small write-back buffer,
// so buffers also go to Pebble between checkpoints.
func TestCrash(t *testing.T) {
	seeds := uint64(8)
	if testing.Short() {
		seeds = 3
	}
	for seed := range seeds {
		fs := vfs.NewCrashableMem()
		opts := &Options{FS: fs}
		if seed%2 == 1 {
			opts.WriteBack = 4 << 10
		}
		db, err := Open("db", opts)
		if err != nil {
			t.Fatal(err)
		}
		kv, _ := db.KeyValue("kv", nil)
		ws, _ := db.Window("w", WindowOptions{Retention: 1 << 40})
		tp := TopicPartition{"t", 0}
		var flushed atomic.Int64 // keys < flushed are durable
		var stop atomic.Bool
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 4))
			for i := int64(0); !stop.Load(); i++ {
				k := binary.BigEndian.AppendUint64(nil, uint64(i))
				if err := kv.Put(k, k); err != nil {
					t.Error(err)
					return
				}
				if err := ws.Put(k, i, k); err != nil {
					t.Error(err)
					return
				}
				if r.IntN(50) == 0 {
					db.SetCheckpoint(tp, i+1)
					if r.IntN(2) == 0 {
						if err := db.Flush(); err != nil {
							t.Error(err)
							return
						}
						flushed.Store(i + 1)
					}
				}
			}
		}()
		r := rand.New(rand.NewPCG(seed, 5))
		for img := 0; img < 4; img++ {
			for flushed.Load() < int64(200*(img+1)) && !t.Failed() {
				runtimeGosched()
			}
			durable := flushed.Load()
			clone := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: r.IntN(101), RNG: r})
			checkImage(t, clone, durable)
		}
		stop.Store(true)
		wg.Wait()
		db.Close()
	}
}

func checkImage(t *testing.T, fs vfs.FS, durable int64) {
	t.Helper()
	db, err := Open("db", &Options{FS: fs})
	if err != nil {
		t.Fatalf("open crash image: %v", err)
	}
	defer db.Close()
	if db.PreviousCloseClean() {
		t.Fatal("crash image reports a clean close")
	}
	kv, _ := db.KeyValue("kv", nil)
	ws, _ := db.Window("w", WindowOptions{Retention: 1 << 40})
	var n int64
	kv.Range(nil, nil, func(k, v []byte) bool {
		if binary.BigEndian.Uint64(k) != uint64(n) {
			t.Fatalf("kv holds key %d after %d keys: not a prefix", binary.BigEndian.Uint64(k), n)
		}
		n++
		return true
	})
	var wn int64
	ws.FetchAll(0, 1<<62, func(k []byte, start int64, _ []byte) bool {
		if start != wn {
			t.Fatalf("window store holds %d after %d windows: not a prefix", start, wn)
		}
		wn++
		return true
	})
	// Each store writes its buffer back on its own: either may be ahead of the other.
	if n < durable || wn < durable {
		t.Fatalf("image holds %d keys and %d windows, %d were flushed", n, wn, durable)
	}
	if cp, ok, _ := db.Checkpoint(TopicPartition{"t", 0}); ok && (cp > wn || cp > n) {
		t.Fatalf("checkpoint %d claims more than the %d keys and %d windows held", cp, n, wn)
	}
}

// TestStoreNamesIsolated: names that are prefixes of each other, or hold the bytes of the
// prefix encoding, share a DB without seeing each other's keys.
func TestStoreNamesIsolated(t *testing.T) {
	db := openTestDB(t)
	names := []string{"a", "ab", "a\x00", "\x01a", "", "a\xff"}
	var stores []KeyValueStore
	for _, n := range names {
		s, err := db.KeyValue(n, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"", "\x00", "b", "\xff\xff"} {
			s.Put([]byte(k), []byte(n))
		}
		stores = append(stores, s)
	}
	for i, s := range stores {
		n := 0
		s.Range(nil, nil, func(_, v []byte) bool {
			if string(v) != names[i] {
				t.Fatalf("store %q sees a value of store %q", names[i], v)
			}
			n++
			return true
		})
		if n != 4 {
			t.Fatalf("store %q holds %d entries, want 4", names[i], n)
		}
	}
}

// TestSharedCache: two DBs on one caller-made cache both cache their reads in it.
func TestSharedCache(t *testing.T) {
	c := pebble.NewCache(64 << 20)
	defer c.Unref()
	for i := range 2 {
		db, err := Open(t.TempDir(), &Options{Cache: c})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := db.KeyValue("kv", nil)
		s.Put([]byte("k"), []byte("v"))
		if err := db.Flush(); err != nil { // out of the write-back buffer
			t.Fatal(err)
		}
		if err := db.pdb.Flush(); err != nil { // into a table, read through the cache
			t.Fatal(err)
		}
		for range 3 {
			if v, _ := s.Get([]byte("k")); string(v) != "v" {
				t.Fatalf("Get = %q", v)
			}
		}
		if m := c.Metrics(); m.Hits < int64(2*(i+1)) || m.Count < int64(i+1) {
			t.Fatalf("DB %d: block cache %+v: reads not cached in the shared cache", i, m)
		}
		s.Close()
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWriteBackSurvivesClose: writes still in a store's write-back buffer reach Pebble when
// the store or the DB closes, and a checkpoint is never written ahead of them.
func TestWriteBackSurvivesClose(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := db.KeyValue("a", nil)
	b, _ := db.KeyValue("b", nil)
	a.Put([]byte("k"), []byte("closed with the store"))
	b.Put([]byte("k"), []byte("closed with the DB"))
	b.Put([]byte("gone"), []byte("x"))
	b.Delete([]byte("gone"))
	if len(db.stores["b"].dirty) == 0 {
		t.Fatal("writes not buffered: the test does not test the write-back buffer")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.SetCheckpoint(TopicPartition{"t", 0}, 3); err != nil {
		t.Fatal(err)
	}
	if n := len(db.stores["b"].dirty); n != 0 {
		t.Fatalf("%d writes still buffered after SetCheckpoint", n)
	}
	b.Put([]byte("after"), []byte("checkpoint"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !db.PreviousCloseClean() {
		t.Fatal("close not clean")
	}
	a, _ = db.KeyValue("a", nil)
	b, _ = db.KeyValue("b", nil)
	for _, c := range []struct {
		s    KeyValueStore
		k    string
		want string
	}{{a, "k", "closed with the store"}, {b, "k", "closed with the DB"}, {b, "gone", ""}, {b, "after", "checkpoint"}} {
		if v, err := c.s.Get([]byte(c.k)); err != nil || string(v) != c.want {
			t.Fatalf("Get(%q) = %q, %v; want %q", c.k, v, err, c.want)
		}
	}
}
