package state

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
)

// Benchmarks run the Pebble and in-memory stores side by side:
//
//	go test -run '^$' -bench . -benchmem ./streams/state
//
// Keys are 16 bytes (a scrambled counter: random order), values 100 bytes.

const benchPrefill = 100_000

func benchKey(dst []byte, i uint64) []byte {
	dst = binary.BigEndian.AppendUint64(dst[:0], i*0x9E3779B97F4A7C15)
	return binary.BigEndian.AppendUint64(dst, i)
}

var benchValue = make([]byte, 100)

func benchKV(b *testing.B, impl string) KeyValueStore {
	if impl == "memory" {
		return NewInMemoryKeyValue("bench", nil)
	}
	db, err := Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	s, err := db.KeyValue("bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// prefill writes benchPrefill entries; in Pebble it then compacts them into sorted tables
// (what a store holds after a restore), so no compaction runs while the benchmark measures.
func prefill(b *testing.B, s KeyValueStore) {
	recs := make([]Record, 0, 1000)
	for i := uint64(0); i < benchPrefill; i++ {
		recs = append(recs, Record{Key: benchKey(nil, i), Value: benchValue})
		if len(recs) == cap(recs) {
			if err := s.RestoreBatch(recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	if ks, ok := s.(*keyValueStore); ok {
		if e, ok := ks.eng.(*pebbleEngine); ok {
			if err := e.db.pdb.Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
				b.Fatal(err)
			}
		}
	}
}

var impls = []string{"memory", "pebble"}

func BenchmarkKeyValuePut(b *testing.B) {
	for _, impl := range impls {
		b.Run(impl, func(b *testing.B) {
			s := benchKV(b, impl)
			var k []byte
			b.ReportAllocs()
			b.SetBytes(int64(16 + len(benchValue)))
			for i := 0; b.Loop(); i++ {
				k = benchKey(k, uint64(i%benchPrefill))
				if err := s.Put(k, benchValue); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkKeyValueGet(b *testing.B) {
	for _, impl := range impls {
		b.Run(impl, func(b *testing.B) {
			s := benchKV(b, impl)
			prefill(b, s)
			var k []byte
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				k = benchKey(k, uint64(i*7919%benchPrefill))
				if v, err := s.Get(k); err != nil || v == nil {
					b.Fatal(err, "missing")
				}
			}
		})
	}
}

// BenchmarkKeyValueRange: a scan of 100 consecutive entries from a random key.
func BenchmarkKeyValueRange(b *testing.B) {
	for _, impl := range impls {
		b.Run(impl, func(b *testing.B) {
			s := benchKV(b, impl)
			prefill(b, s)
			var k []byte
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				k = benchKey(k, uint64(i*7919%benchPrefill))
				n := 0
				s.Range(k, nil, func(_, _ []byte) bool { n++; return n < 100 })
				if n != 100 && n == 0 {
					b.Fatal("empty scan")
				}
			}
		})
	}
}

func BenchmarkWindowPutFetch(b *testing.B) {
	for _, impl := range append(impls, "pebble+cache") {
		b.Run(impl, func(b *testing.B) {
			o := WindowOptions{Retention: 3_600_000, Logger: discardLog{}}
			var ws WindowStore
			var err error
			if impl == "memory" {
				ws, err = NewInMemoryWindow("w", o)
			} else {
				var db *DB
				db, err = Open(b.TempDir(), nil)
				if err == nil {
					b.Cleanup(func() { db.Close() })
					ws, err = db.Window("w", o)
				}
			}
			if err != nil {
				b.Fatal(err)
			}
			// With the record cache (flushed every 100,000 records, ten updates of each window)
			// each window reaches the store and the changelog once per flush.
			var cached CachingStore
			if impl == "pebble+cache" {
				c := NewCachingWindow(ws, o.Retention, NewCache(DefaultCacheMaxBytes))
				ws, cached = c, c
			}
			var k []byte
			b.ReportAllocs()
			// A windowed aggregation's step: fetch the window, put the new aggregate; 10,000
			// keys, a new 1-minute window every 100,000 records.
			for i := 0; b.Loop(); i++ {
				k = benchKey(k, uint64(i%10000))
				start := int64(i/100000) * 60000
				if _, err := ws.Fetch(k, start); err != nil {
					b.Fatal(err)
				}
				if err := ws.Put(k, start, benchValue); err != nil {
					b.Fatal(err)
				}
				if cached != nil && i%100000 == 99999 {
					if err := cached.FlushCache(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// discardLog is a ChangeLogger that drops what it gets, after copying it as the runtime's
// does.
type discardLog struct{}

func (discardLog) Log(key, value []byte) { _, _ = bytes.Clone(key), bytes.Clone(value) }

// BenchmarkRestoreBatch: changelog records applied in batches of 1,000; MB/s counts key and
// value bytes.
func BenchmarkRestoreBatch(b *testing.B) {
	for _, kind := range []string{"kv", "window"} {
		for _, impl := range impls {
			b.Run(kind+"/"+impl, func(b *testing.B) {
				var r Restorer
				var db *DB
				if impl == "pebble" {
					var err error
					db, err = Open(b.TempDir(), nil)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { db.Close() })
				}
				switch {
				case kind == "kv" && impl == "memory":
					r = NewInMemoryKeyValue("r", nil)
				case kind == "kv":
					r, _ = db.KeyValue("r", nil)
				case impl == "memory":
					r, _ = NewInMemoryWindow("r", WindowOptions{Retention: 1 << 50})
				default:
					r, _ = db.Window("r", WindowOptions{Retention: 1 << 50})
				}
				recs := make([]Record, 1000)
				size := 0
				for j := range recs {
					k := benchKey(nil, uint64(j))
					if kind == "window" {
						k = AppendWindowChangelogKey(nil, k, int64(j)*1000, 0)
					}
					recs[j] = Record{Key: k, Value: benchValue}
					size += len(k) + len(benchValue)
				}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					if err := r.RestoreBatch(recs); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
