package streams_test

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/serde"
)

type wkey = serde.Windowed[string]

type input struct {
	key string
	ts  int64
}

// randomInput makes n records over a few keys with timestamps that mostly advance but often
// go back (out of order), sometimes far (late).
func randomInput(rng *rand.Rand, n int) []input {
	var out []input
	now := int64(10_000)
	for range n {
		now += rng.Int64N(40)
		ts := now
		switch rng.IntN(10) {
		case 0, 1:
			ts -= rng.Int64N(100) // out of order, mostly within grace
		case 2:
			ts -= 100 + rng.Int64N(400) // late
		}
		out = append(out, input{string(rune('a' + rng.IntN(4))), max(ts, 0)})
	}
	return out
}

// timeWindowModel is the windowed count Kafka Streams computes: each record counts in every
// window containing it unless the window ended grace or more before the stream time.
type timeWindowModel struct {
	size, advance, grace int64
	observed             int64
	counts               map[wkey]int64
	latest               map[wkey]int64 // a window's timestamp: its latest record's
	updates              []rec[wkey, int64]
	// buffer and final model Suppress(UntilWindowCloses).
	buffer map[wkey]rec[wkey, int64]
	final  []rec[wkey, int64]
	// dropped counts a late record once per window it was too late for.
	dropped int64
}

func (m *timeWindowModel) add(r input) {
	m.observed = max(m.observed, r.ts)
	for start := max(0, r.ts-m.size+m.advance) / m.advance * m.advance; start <= r.ts; start += m.advance {
		w := wkey{Key: r.key, Start: start, End: start + m.size}
		if w.End <= m.observed-m.grace {
			m.dropped++ // one per closed window, as Kafka Streams' dropped-records
			continue
		}
		m.counts[w]++
		if l, ok := m.latest[w]; !ok || r.ts > l {
			m.latest[w] = r.ts
		}
		u := rec[wkey, int64]{w, m.counts[w], m.latest[w], false}
		m.updates = append(m.updates, u)
		m.buffer[w] = u
	}
	var due []rec[wkey, int64]
	for w, u := range m.buffer {
		if w.End <= m.observed-m.grace {
			due = append(due, u)
			delete(m.buffer, w)
		}
	}
	slices.SortFunc(due, func(a, b rec[wkey, int64]) int {
		return cmp.Or(cmp.Compare(a.Key.End, b.Key.End), strings.Compare(a.Key.Key, b.Key.Key), cmp.Compare(a.Key.Start, b.Key.Start))
	})
	m.final = append(m.final, due...)
}

// TestTimeWindows: tumbling and hopping windowed counts of random, out-of-order and late
// records, every update and (suppressed) only the final results, against the model; windowed
// keys are written in Kafka Streams' TimeWindowedSerializer layout.
func TestTimeWindows(t *testing.T) {
	cases := []struct {
		name    string
		windows streams.TimeWindows
		advance int64
	}{
		{"tumbling", streams.TumblingWindows(100 * time.Millisecond).Grace(50 * time.Millisecond), 100},
		{"tumbling no grace", streams.TumblingWindows(100 * time.Millisecond).Grace(0), 100},
		{"hopping", streams.HoppingWindows(100*time.Millisecond, 30*time.Millisecond).Grace(70 * time.Millisecond), 30},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := streams.NewBuilder()
			in := streams.NewStream(b, "in", streams.Consumed(str, str))
			counts := streams.WindowedBy(streams.GroupByKey(in), c.windows).Count(streams.Materialized[int64]("counts", nil))
			counts.ToStream().To("updates", streams.Produced(serde.TimeWindowed(str, 100), i64))
			counts.Suppress(streams.UntilWindowCloses).ToStream().To("final", streams.Produced(serde.TimeWindowed(str, 100), i64))
			d, topo := driver(t, b)
			spec, _ := topo.Store("counts")
			grace := int64(0)
			if c.name != "tumbling no grace" {
				grace = map[string]int64{"tumbling": 50, "hopping": 70}[c.name]
			}
			if spec.Retention != 100+grace {
				t.Fatalf("store retention %d, want size + grace = %d", spec.Retention, 100+grace)
			}
			m := &timeWindowModel{size: 100, advance: c.advance, grace: grace, observed: math.MinInt64,
				counts: map[wkey]int64{}, latest: map[wkey]int64{}, buffer: map[wkey]rec[wkey, int64]{}}
			rng := rand.New(rand.NewPCG(uint64(i), 9))
			for _, r := range randomInput(rng, 500) {
				must(t, d.Pipe("in", []byte(r.key), []byte("x"), r.ts))
				m.add(r)
			}
			if len(m.updates) == 0 || len(m.final) == 0 || len(m.updates) == len(m.final) {
				t.Fatalf("model: %d updates, %d final results: the input does not exercise the windows", len(m.updates), len(m.final))
			}
			equal(t, "updates", read(t, d, "updates", serde.TimeWindowed(str, 100), i64), m.updates)
			equal(t, "final", read(t, d, "final", serde.TimeWindowed(str, 100), i64), m.final)
			if m.dropped == 0 || d.Skipped() != m.dropped {
				t.Fatalf("dropped records: the tasks counted %d, the model %d (late records per closed window)", d.Skipped(), m.dropped)
			}
		})
	}
}

// TestWindowsNeedGrace: a window without an explicit grace period is a Build error (no hidden
// default), and so is a retention shorter than size + grace.
func TestWindowsNeedGrace(t *testing.T) {
	for name, build := range map[string]func(b *streams.Builder, g *streams.GroupedStream[string, string]){
		"time": func(_ *streams.Builder, g *streams.GroupedStream[string, string]) {
			streams.WindowedBy(g, streams.TumblingWindows(time.Second)).Count()
		},
		"session": func(_ *streams.Builder, g *streams.GroupedStream[string, string]) {
			streams.SessionWindowedBy(g, streams.NewSessionWindows(time.Second)).Count()
		},
		"retention": func(_ *streams.Builder, g *streams.GroupedStream[string, string]) {
			streams.WindowedBy(g, streams.TumblingWindows(time.Second).Grace(time.Second)).Count(streams.Materialized[int64]("", nil).WithRetention(time.Second))
		},
		"suppress": func(_ *streams.Builder, g *streams.GroupedStream[string, string]) {
			g.Count().Suppress(streams.UntilWindowCloses)
		},
	} {
		b := streams.NewBuilder()
		build(b, streams.GroupByKey(streams.NewStream(b, "in", streams.Consumed(str, str))))
		if _, err := b.Build(); err == nil {
			t.Errorf("%s: Build succeeded", name)
		}
	}
}

type session struct {
	start, end, count int64
}

// sessionModel is Kafka Streams' session-windowed count: a record merges with every session of
// its key within gap; the merged session replaces them (each replaced one is deleted).
type sessionModel struct {
	gap, grace, observed, maxEnd int64
	sessions                     map[string][]session
	updates                      []rec[wkey, int64]
	buffer                       map[wkey]rec[wkey, int64]
	final                        []rec[wkey, int64]
}

func (m *sessionModel) add(r input) {
	m.observed = max(m.observed, r.ts)
	var found, kept []session
	for _, s := range m.sessions[r.key] {
		live := s.end > m.maxEnd-(m.gap+m.grace) // the store's retention
		if live && s.end >= r.ts-m.gap && s.start <= r.ts+m.gap {
			found = append(found, s)
		} else if live {
			kept = append(kept, s)
		}
	}
	slices.SortFunc(found, func(a, b session) int { return cmp.Or(cmp.Compare(a.end, b.end), cmp.Compare(a.start, b.start)) })
	merged := session{r.ts, r.ts, 1}
	for _, s := range found {
		merged.start, merged.end, merged.count = min(merged.start, s.start), max(merged.end, s.end), merged.count+s.count
	}
	if merged.end < m.observed-m.grace {
		return // late: the store is unchanged
	}
	for _, s := range found {
		if s.start == merged.start && s.end == merged.end {
			continue
		}
		w := wkey{Key: r.key, Start: s.start, End: s.end}
		u := rec[wkey, int64]{w, 0, r.ts, true}
		m.updates = append(m.updates, u)
		delete(m.buffer, w)
	}
	m.sessions[r.key] = append(kept, merged)
	m.maxEnd = max(m.maxEnd, merged.end)
	w := wkey{Key: r.key, Start: merged.start, End: merged.end}
	u := rec[wkey, int64]{w, merged.count, r.ts, false}
	m.updates = append(m.updates, u)
	m.buffer[w] = u
	var due []rec[wkey, int64]
	for w, u := range m.buffer {
		if w.End <= m.observed-m.grace {
			due = append(due, u)
			delete(m.buffer, w)
		}
	}
	slices.SortFunc(due, func(a, b rec[wkey, int64]) int {
		return cmp.Or(cmp.Compare(a.Key.End, b.Key.End), strings.Compare(a.Key.Key, b.Key.Key), cmp.Compare(-a.Key.End, -b.Key.End), cmp.Compare(a.Key.Start, b.Key.Start))
	})
	m.final = append(m.final, due...)
}

// TestSessionWindows: session-windowed counts of random, out-of-order and late records, every
// update (merged sessions deleted) and the suppressed final results, against the model.
func TestSessionWindows(t *testing.T) {
	for i, grace := range []int64{0, 60} {
		t.Run(fmt.Sprint("grace=", grace), func(t *testing.T) {
			b := streams.NewBuilder()
			in := streams.NewStream(b, "in", streams.Consumed(str, str))
			w := streams.NewSessionWindows(50 * time.Millisecond).Grace(time.Duration(grace) * time.Millisecond)
			counts := streams.SessionWindowedBy(streams.GroupByKey(in), w).Count(streams.Materialized[int64]("sessions", nil))
			counts.ToStream().To("updates", streams.Produced(serde.SessionWindowed(str), i64))
			counts.Suppress(streams.UntilWindowCloses).ToStream().To("final", streams.Produced(serde.SessionWindowed(str), i64))
			d, _ := driver(t, b)
			m := &sessionModel{gap: 50, grace: grace, observed: math.MinInt64, maxEnd: math.MinInt64 / 2,
				sessions: map[string][]session{}, buffer: map[wkey]rec[wkey, int64]{}}
			rng := rand.New(rand.NewPCG(uint64(i), 10))
			merges := 0
			for _, r := range randomInput(rng, 600) {
				must(t, d.Pipe("in", []byte(r.key), []byte("x"), r.ts))
				n := len(m.updates)
				m.add(r)
				if len(m.updates) > n+1 {
					merges++
				}
			}
			if merges == 0 || len(m.final) == 0 {
				t.Fatalf("model: %d merges, %d final results: the input does not exercise sessions", merges, len(m.final))
			}
			equal(t, "updates", read(t, d, "updates", serde.SessionWindowed(str), i64), m.updates)
			equal(t, "final", read(t, d, "final", serde.SessionWindowed(str), i64), m.final)
		})
	}
}

// slidingModel defines sliding windows from scratch after every record: the windows are
// [r-d, r] for every accepted record r and [r+1, r+1+d] where some accepted record falls in
// it; a record updates (and brings into being) the open windows containing it, and brings its
// own right window into being.
type slidingModel struct {
	d, grace, observed int64
	recs               map[string][]int64
	updates            []rec[wkey, int64]
	dropped            int
}

// windows maps each window's start to its count and latest record timestamp.
func (m *slidingModel) windows(key string) map[int64][2]int64 {
	ws := map[int64][2]int64{}
	rs := m.recs[key]
	count := func(s int64) [2]int64 {
		n, latest := int64(0), int64(math.MinInt64)
		for _, r := range rs {
			if r >= s && r <= s+m.d {
				n++
				latest = max(latest, r)
			}
		}
		return [2]int64{n, latest}
	}
	for _, r := range rs {
		ws[r-m.d] = count(r - m.d)
		if c := count(r + 1); c[0] > 0 {
			ws[r+1] = c
		}
	}
	return ws
}

func (m *slidingModel) add(r input) {
	m.observed = max(m.observed, r.ts)
	closeTime := m.observed - m.grace
	if r.ts+m.d <= closeTime {
		m.dropped++
		return
	}
	before := m.windows(r.key)
	m.recs[r.key] = append(m.recs[r.key], r.ts)
	after := m.windows(r.key)
	var starts []int64
	for s := range after {
		_, existed := before[s]
		holds := r.ts >= s && r.ts <= s+m.d
		if s+m.d > closeTime && (holds || !existed) {
			starts = append(starts, s)
		}
	}
	slices.Sort(starts)
	for _, s := range starts {
		m.updates = append(m.updates, rec[wkey, int64]{wkey{Key: r.key, Start: s, End: s + m.d}, after[s][0], after[s][1], false})
	}
}

// TestSlidingWindows: sliding-window counts of random, out-of-order and late records against
// windows defined from scratch after every record.
func TestSlidingWindows(t *testing.T) {
	for i, grace := range []int64{0, 40} {
		t.Run(fmt.Sprint("grace=", grace), func(t *testing.T) {
			b := streams.NewBuilder()
			in := streams.NewStream(b, "in", streams.Consumed(str, str))
			w := streams.NewSlidingWindows(60 * time.Millisecond).Grace(time.Duration(grace) * time.Millisecond)
			streams.SlidingWindowedBy(streams.GroupByKey(in), w).Count(streams.Materialized[int64]("sliding", nil)).
				ToStream().To("updates", streams.Produced(serde.TimeWindowed(str, 60), i64))
			d, _ := driver(t, b)
			m := &slidingModel{d: 60, grace: grace, observed: math.MinInt64, recs: map[string][]int64{}}
			rng := rand.New(rand.NewPCG(uint64(i), 19))
			for _, r := range randomInput(rng, 500) {
				must(t, d.Pipe("in", []byte(r.key), []byte("x"), r.ts))
				m.add(r)
			}
			if m.dropped == 0 {
				t.Fatal("model: no late records")
			}
			equal(t, "updates", read(t, d, "updates", serde.TimeWindowed(str, 60), i64), m.updates)
		})
	}
}
