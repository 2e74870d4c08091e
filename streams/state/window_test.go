package state

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

type wkey struct {
	key   string
	start int64
	seq   int32
}

type wentry struct {
	wkey
	value string
}

func (a wentry) String() string { return fmt.Sprintf("%q@%d#%d=%s", a.key, a.start, a.seq, a.value) }

// windowModel is the reference: a map and Kafka Streams' visibility rule.
type windowModel struct {
	o   WindowOptions
	m   map[wkey]string
	st  int64
	seq int32
}

func (m *windowModel) put(key []byte, start int64, v []byte) {
	if v == nil && m.o.RetainDuplicates {
		return
	}
	m.st = max(m.st, start)
	if start < minLive(m.st, m.o.Retention) {
		return
	}
	k := wkey{string(key), start, 0}
	if m.o.RetainDuplicates {
		m.seq++
		k.seq = m.seq
	}
	if v == nil {
		delete(m.m, k)
	} else {
		m.m[k] = string(v)
	}
}

func (m *windowModel) all(from, to int64, key *string) []wentry {
	from = max(from, minLive(m.st, m.o.Retention))
	var out []wentry
	for k, v := range m.m {
		if k.start >= from && k.start <= to && (key == nil || *key == k.key) {
			out = append(out, wentry{k, v})
		}
	}
	slices.SortFunc(out, func(a, b wentry) int {
		return cmp.Or(cmp.Compare(a.start, b.start), bytes.Compare([]byte(a.key), []byte(b.key)), cmp.Compare(a.seq, b.seq))
	})
	return out
}

func windowImpls(t *testing.T) map[string]func(name string, o WindowOptions) WindowStore {
	impls := map[string]func(string, WindowOptions) WindowStore{
		"memory": func(n string, o WindowOptions) WindowStore {
			s, err := NewInMemoryWindow(n, o)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for name, db := range pebbleVariants(t) {
		impls[name] = func(n string, o WindowOptions) WindowStore {
			s, err := db.Window(n, o)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	return impls
}

func dumpWindow(t *testing.T, s WindowStore, from, to int64) []wentry {
	t.Helper()
	var out []wentry
	if err := s.FetchAll(from, to, func(k []byte, start int64, v []byte) bool {
		out = append(out, wentry{wkey{string(k), start, 0}, string(v)})
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// noSeq drops sequence numbers (the store's scans do not return them).
func noSeq(es []wentry) []wentry {
	for i := range es {
		es[i].seq = 0
	}
	return es
}

func TestWindowModel(t *testing.T) {
	for impl, open := range windowImpls(t) {
		for _, dups := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/dups=%v", impl, dups), func(t *testing.T) {
				for seed := range uint64(15) {
					r := rand.New(rand.NewPCG(seed, 2))
					log := &logRec{}
					o := WindowOptions{Retention: 500, SegmentInterval: 100, RetainDuplicates: dups, Logger: log}
					s := open(fmt.Sprintf("w%d-%v", seed, dups), o)
					m := &windowModel{o: o, m: map[wkey]string{}, st: math.MinInt64}
					base := int64(r.IntN(1000)) - 500 // negative times too
					for i := 0; i < 500; i++ {
						k := randKey(r)
						if r.IntN(3) == 0 {
							base += int64(r.IntN(40))
						}
						start := base - int64(r.IntN(700)) + 100
						switch x := r.IntN(10); {
						case x < 5:
							v := []byte(fmt.Sprint(i))
							if r.IntN(5) == 0 {
								v = nil
							}
							if err := s.Put(k, start, v); err != nil {
								t.Fatal(err)
							}
							m.put(k, start, v)
						case x < 7:
							got, err := s.Fetch(k, start)
							if err != nil {
								t.Fatal(err)
							}
							ks := string(k)
							want := m.all(start, start, &ks)
							if (len(want) > 0) != (got != nil) || (got != nil && string(got) != want[0].value) {
								t.Fatalf("seed %d: Fetch(%q, %d) = %q, want %v", seed, k, start, got, want)
							}
						case x < 9:
							to := start + int64(r.IntN(400))
							if r.IntN(5) == 0 {
								to = math.MaxInt64
							}
							var got []wentry
							if err := s.FetchRange(k, start, to, func(ws int64, v []byte) bool {
								got = append(got, wentry{wkey{string(k), ws, 0}, string(v)})
								return true
							}); err != nil {
								t.Fatal(err)
							}
							ks := string(k)
							want := noSeq(m.all(start, to, &ks))
							if fmt.Sprint(got) != fmt.Sprint(want) {
								t.Fatalf("seed %d: FetchRange(%q, %d, %d) = %v, want %v", seed, k, start, to, got, want)
							}
						default:
							to := start + int64(r.IntN(400))
							got := dumpWindow(t, s, start, to)
							if want := noSeq(m.all(start, to, nil)); fmt.Sprint(got) != fmt.Sprint(want) {
								t.Fatalf("seed %d: FetchAll(%d, %d) = %v, want %v", seed, start, to, got, want)
							}
						}
						if s.ObservedStreamTime() != m.st {
							t.Fatalf("stream time %d, model %d", s.ObservedStreamTime(), m.st)
						}
					}
					want := noSeq(m.all(math.MinInt64, math.MaxInt64, nil))
					if got := dumpWindow(t, s, math.MinInt64, math.MaxInt64); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("seed %d: store %v, model %v", seed, got, want)
					}
					// Restore from the changelog, in random batches.
					o.Logger = nil
					r2 := open(fmt.Sprintf("w%d-%v-restored", seed, dups), o)
					for b := log.recs; len(b) > 0; {
						n := min(len(b), 1+r.IntN(60))
						if err := r2.RestoreBatch(b[:n]); err != nil {
							t.Fatal(err)
						}
						b = b[n:]
					}
					if got := dumpWindow(t, r2, math.MinInt64, math.MaxInt64); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("seed %d: restored %v, model %v", seed, got, want)
					}
					s.Close()
					r2.Close()
				}
			})
		}
	}
}

// TestWindowSegmentDrop: expiry drops whole segments (in Pebble, by range deletion) and keeps
// everything of the live segments, expired windows in them invisible.
func TestWindowSegmentDrop(t *testing.T) {
	db := openTestDB(t)
	ws, err := db.Window("drop", WindowOptions{Retention: 1000, SegmentInterval: 500})
	if err != nil {
		t.Fatal(err)
	}
	for start := int64(0); start <= 3000; start += 100 {
		if err := ws.Put([]byte("k"), start, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	// Stream time 3000: live from 2001, segment 4 ([2000, 2500)) holds the oldest live window.
	raw := func() (starts []int64) {
		w := ws.(*windowStore)
		w.eng.iterate(spaceWin, nil, nil, false, func(k, _ []byte) bool {
			starts = append(starts, readTime(k))
			return true
		})
		return starts
	}
	want := []int64{2000, 2100, 2200, 2300, 2400, 2500, 2600, 2700, 2800, 2900, 3000}
	if got := raw(); !slices.Equal(got, want) {
		t.Fatalf("physically kept %v, want %v", got, want)
	}
	var idx int
	ws.(*windowStore).eng.iterate(spaceWinIdx, nil, nil, false, func(_, _ []byte) bool { idx++; return true })
	if idx != len(want) {
		t.Fatalf("index holds %d entries, want %d", idx, len(want))
	}
	if got := dumpWindow(t, ws, math.MinInt64, math.MaxInt64); len(got) != 10 || got[0].start != 2100 {
		t.Fatalf("visible %v, want 2100..3000", got)
	}
	if v, _ := ws.Fetch([]byte("k"), 2000); v != nil {
		t.Fatalf("expired window 2000 fetched: %q", v)
	}
	// A put of an expired window is not stored.
	ws.Put([]byte("old"), 1999, []byte("x"))
	if v, _ := ws.Fetch([]byte("old"), 1999); v != nil {
		t.Fatal("expired put stored")
	}
}
