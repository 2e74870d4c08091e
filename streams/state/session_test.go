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

type skey struct {
	key        string
	start, end int64
}

type sentry struct {
	skey
	value string
}

func (a sentry) String() string { return fmt.Sprintf("%q[%d,%d]=%s", a.key, a.start, a.end, a.value) }

type sessionModel struct {
	retention int64
	m         map[skey]string
	st        int64
}

func (m *sessionModel) put(key []byte, start, end int64, v []byte) {
	m.st = max(m.st, end)
	if end < minLive(m.st, m.retention) {
		return
	}
	k := skey{string(key), start, end}
	if v == nil {
		delete(m.m, k)
	} else {
		m.m[k] = string(v)
	}
}

// find: the live sessions with end in [earliestEnd, latestEnd] and start <= latestStart,
// of key (nil: all keys), ordered by end, key, start.
func (m *sessionModel) find(key *string, earliestEnd, latestEnd, latestStart int64) []sentry {
	earliestEnd = max(earliestEnd, minLive(m.st, m.retention))
	var out []sentry
	for k, v := range m.m {
		if k.end >= earliestEnd && k.end <= latestEnd && k.start <= latestStart && (key == nil || *key == k.key) {
			out = append(out, sentry{k, v})
		}
	}
	slices.SortFunc(out, func(a, b sentry) int {
		return cmp.Or(cmp.Compare(a.end, b.end), bytes.Compare([]byte(a.key), []byte(b.key)), cmp.Compare(a.start, b.start))
	})
	return out
}

func sessionImpls(t *testing.T) map[string]func(name string, o SessionOptions) SessionStore {
	impls := map[string]func(string, SessionOptions) SessionStore{
		"memory": func(n string, o SessionOptions) SessionStore {
			s, err := NewInMemorySession(n, o)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for name, db := range pebbleVariants(t) {
		impls[name] = func(n string, o SessionOptions) SessionStore {
			s, err := db.Session(n, o)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	return impls
}

func dumpSessions(t *testing.T, s SessionStore) []sentry {
	t.Helper()
	var out []sentry
	if err := s.FetchAll(math.MinInt64, math.MaxInt64, func(k []byte, start, end int64, v []byte) bool {
		out = append(out, sentry{skey{string(k), start, end}, string(v)})
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSessionModel(t *testing.T) {
	for impl, open := range sessionImpls(t) {
		t.Run(impl, func(t *testing.T) {
			for seed := range uint64(15) {
				r := rand.New(rand.NewPCG(seed, 3))
				log := &logRec{}
				o := SessionOptions{Retention: 500, SegmentInterval: 100, Logger: log}
				s := open(fmt.Sprintf("s%d", seed), o)
				m := &sessionModel{retention: o.Retention, m: map[skey]string{}, st: math.MinInt64}
				base := int64(r.IntN(1000)) - 500
				var known []skey // sessions put, so removes and finds hit existing ones
				for i := 0; i < 500; i++ {
					k := randKey(r)
					if r.IntN(3) == 0 {
						base += int64(r.IntN(40))
					}
					start := base - int64(r.IntN(700)) + 100
					end := start + int64(r.IntN(200))
					if len(known) > 0 && r.IntN(3) == 0 {
						sk := known[r.IntN(len(known))]
						k, start, end = []byte(sk.key), sk.start, sk.end
					}
					switch x := r.IntN(10); {
					case x < 5:
						v := []byte(fmt.Sprint(i))
						if err := s.Put(k, start, end, v); err != nil {
							t.Fatal(err)
						}
						m.put(k, start, end, v)
						known = append(known, skey{string(k), start, end})
					case x < 6:
						if err := s.Remove(k, start, end); err != nil {
							t.Fatal(err)
						}
						m.put(k, start, end, nil)
					case x < 8:
						earliestEnd, latestStart := start, end
						if r.IntN(2) == 0 {
							earliestEnd, latestStart = end-int64(r.IntN(100)), start+int64(r.IntN(100))
						}
						var got []sentry
						if err := s.FindSessions(k, earliestEnd, latestStart, func(st, en int64, v []byte) bool {
							got = append(got, sentry{skey{string(k), st, en}, string(v)})
							return true
						}); err != nil {
							t.Fatal(err)
						}
						ks := string(k)
						if want := m.find(&ks, earliestEnd, math.MaxInt64, latestStart); fmt.Sprint(got) != fmt.Sprint(want) {
							t.Fatalf("seed %d: FindSessions(%q, %d, %d) = %v, want %v", seed, k, earliestEnd, latestStart, got, want)
						}
					case x < 9:
						var got []sentry
						s.Fetch(k, func(st, en int64, v []byte) bool {
							got = append(got, sentry{skey{string(k), st, en}, string(v)})
							return true
						})
						ks := string(k)
						if want := m.find(&ks, math.MinInt64, math.MaxInt64, math.MaxInt64); fmt.Sprint(got) != fmt.Sprint(want) {
							t.Fatalf("seed %d: Fetch(%q) = %v, want %v", seed, k, got, want)
						}
					default:
						var got []sentry
						s.FetchAll(start, end, func(k []byte, st, en int64, v []byte) bool {
							got = append(got, sentry{skey{string(k), st, en}, string(v)})
							return true
						})
						if want := m.find(nil, start, end, math.MaxInt64); fmt.Sprint(got) != fmt.Sprint(want) {
							t.Fatalf("seed %d: FetchAll(%d, %d) = %v, want %v", seed, start, end, got, want)
						}
					}
					if s.ObservedStreamTime() != m.st {
						t.Fatalf("stream time %d, model %d", s.ObservedStreamTime(), m.st)
					}
				}
				want := m.find(nil, math.MinInt64, math.MaxInt64, math.MaxInt64)
				if got := dumpSessions(t, s); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("seed %d: store %v, model %v", seed, got, want)
				}
				o.Logger = nil
				r2 := open(fmt.Sprintf("s%d-restored", seed), o)
				for b := log.recs; len(b) > 0; {
					n := min(len(b), 1+r.IntN(60))
					if err := r2.RestoreBatch(b[:n]); err != nil {
						t.Fatal(err)
					}
					b = b[n:]
				}
				if got := dumpSessions(t, r2); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("seed %d: restored %v, model %v", seed, got, want)
				}
				s.Close()
				r2.Close()
			}
		})
	}
}

func TestSessionInvalid(t *testing.T) {
	s, err := NewInMemorySession("x", SessionOptions{Retention: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put([]byte("k"), 10, 9, []byte("v")); err != ErrInvalid {
		t.Fatalf("end before start: %v", err)
	}
	if err := s.RestoreBatch([]Record{{Key: AppendSessionKey(nil, []byte("k"), 10, 9), Value: []byte("v")}}); err != ErrCorruptKey {
		t.Fatalf("restore of end before start: %v", err)
	}
	if _, err := NewInMemorySession("y", SessionOptions{}); err != ErrInvalid {
		t.Fatalf("zero retention: %v", err)
	}
}

// TestSessionSegmentDrop: sessions go with the whole segment of their end; newer ones stay.
func TestSessionSegmentDrop(t *testing.T) {
	db := openTestDB(t)
	ss, err := db.Session("drop", SessionOptions{Retention: 1000, SegmentInterval: 500})
	if err != nil {
		t.Fatal(err)
	}
	for end := int64(0); end <= 3000; end += 100 {
		if err := ss.Put([]byte("k"), end-50, end, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	var ends []int64
	var idx int
	e := ss.(*sessionStore).eng
	e.iterate(spaceSes, nil, nil, false, func(k, _ []byte) bool { ends = append(ends, readTime(k)); return true })
	e.iterate(spaceSesIdx, nil, nil, false, func(_, _ []byte) bool { idx++; return true })
	want := []int64{2000, 2100, 2200, 2300, 2400, 2500, 2600, 2700, 2800, 2900, 3000}
	if !slices.Equal(ends, want) || idx != len(want) {
		t.Fatalf("physically kept ends %v and %d index entries, want %v", ends, idx, want)
	}
	if got := dumpSessions(t, ss); len(got) != 10 || got[0].end != 2100 {
		t.Fatalf("visible %v, want ends 2100..3000", got)
	}
}
