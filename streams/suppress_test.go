package streams_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/serde"
)

// timeLimitModel is Suppress(UntilTimeLimit(limit)) as Kafka Streams buffers it: a key's first
// held update fixes its emission time (its timestamp + limit); later updates replace the held
// value and timestamp; once the largest timestamp seen reaches the emission time the key's
// latest value is emitted (keys due together in order of first update, then key bytes).
type timeLimitModel[V comparable] struct {
	limit    int64
	observed int64
	// maxRecords > 0: past it the earliest held keys are emitted at once (EmitEarlyWhenFull).
	maxRecords int
	first      map[string]int64
	held       map[string]rec[string, V]
	out        []rec[string, V]
}

func (m *timeLimitModel[V]) update(r rec[string, V]) {
	if _, ok := m.first[r.Key]; !ok {
		m.first[r.Key] = r.Timestamp
	}
	m.held[r.Key] = r
	m.observed = max(m.observed, r.Timestamp)
	var due []string
	for k, f := range m.first {
		if f <= m.observed-m.limit {
			due = append(due, k)
		}
	}
	slices.SortFunc(due, func(a, b string) int {
		if m.first[a] != m.first[b] {
			return int(m.first[a] - m.first[b])
		}
		return strings.Compare(a, b)
	})
	for _, k := range due {
		m.out = append(m.out, m.held[k])
		delete(m.first, k)
		delete(m.held, k)
	}
	for m.maxRecords > 0 && len(m.held) > m.maxRecords {
		var early string
		for k, f := range m.first {
			if early == "" || f < m.first[early] || (f == m.first[early] && k < early) {
				early = k
			}
		}
		m.out = append(m.out, m.held[early])
		delete(m.first, early)
		delete(m.held, early)
	}
}

// TestSuppressUntilTimeLimitCount: a count table rate-limited by UntilTimeLimit emits what the
// model emits, record for record, with out-of-order input; every update still reaches the
// unsuppressed output.
func TestSuppressUntilTimeLimitCount(t *testing.T) {
	for _, limit := range []time.Duration{0, 50 * time.Millisecond, 300 * time.Millisecond} {
		t.Run(limit.String(), func(t *testing.T) {
			b := streams.NewBuilder()
			in := streams.NewStream(b, "in", streams.Consumed(str, str))
			counts := streams.GroupByKey(in).Count(streams.Materialized[int64]("counts", nil))
			counts.ToStream().To("updates", streams.Produced(str, i64))
			counts.Suppress(streams.UntilTimeLimit(limit)).ToStream().To("limited", streams.Produced(str, i64))
			d, _ := driver(t, b)
			m := &timeLimitModel[int64]{limit: limit.Milliseconds(), observed: math.MinInt64, first: map[string]int64{}, held: map[string]rec[string, int64]{}}
			counts2, latest := map[string]int64{}, map[string]int64{}
			var updates []rec[string, int64]
			rng := rand.New(rand.NewPCG(uint64(limit), 17))
			for _, r := range randomInput(rng, 400) {
				must(t, d.Pipe("in", []byte(r.key), []byte("x"), r.ts))
				counts2[r.key]++
				// An aggregate's timestamp is the largest of its inputs' (Kafka Streams').
				if ts, ok := latest[r.key]; !ok || r.ts > ts {
					latest[r.key] = r.ts
				}
				u := rec[string, int64]{Key: r.key, Value: counts2[r.key], Timestamp: latest[r.key]}
				updates = append(updates, u)
				m.update(u)
			}
			equal(t, "updates", read(t, d, "updates", str, i64), updates)
			if limit > 0 && len(m.out) >= len(updates)*9/10 {
				t.Fatalf("model: %d of %d updates emitted: the limit does not hold any back", len(m.out), len(updates))
			}
			equal(t, "limited", read(t, d, "limited", str, i64), m.out)
		})
	}
}

// TestSuppressUntilTimeLimitDeletes: a table from a topic with deletions: a deletion is held
// and emitted like any update (a tombstone), and replaces a held value.
func TestSuppressUntilTimeLimitDeletes(t *testing.T) {
	b := streams.NewBuilder()
	tbl := streams.NewTable(b, "users", streams.Consumed(str, str), streams.Materialized[string]("users-store", nil))
	tbl.Suppress(streams.UntilTimeLimit(100*time.Millisecond)).ToStream().To("limited", streams.Produced(str, str))
	d, _ := driver(t, b)
	pipe := func(k, v string, ts int64) {
		t.Helper()
		var vb []byte
		if v != "" {
			vb = []byte(v)
		}
		must(t, d.Pipe("users", []byte(k), vb, ts))
	}
	pipe("u1", "a", 1000)
	pipe("u2", "b", 1010)
	pipe("u1", "", 1050)  // deletes u1's held "a"
	pipe("u3", "c", 1100) // u1 (first at 1000) is due
	pipe("u2", "b2", 1105)
	pipe("u4", "d", 1120) // u2 (first at 1010) is due, with its latest value
	pipe("u1", "e", 1300) // u3 (1100) and u4 (1120) are due; u1 is held again from 1300
	want := []rec[string, string]{
		{Key: "u1", Timestamp: 1050, Tombstone: true},
		{Key: "u2", Value: "b2", Timestamp: 1105},
		{Key: "u3", Value: "c", Timestamp: 1100},
		{Key: "u4", Value: "d", Timestamp: 1120},
	}
	equal(t, "limited", read(t, d, "limited", str, str), want)
}

// TestSuppressUntilTimeLimitNegative: a negative limit is a Build error.
func TestSuppressUntilTimeLimitNegative(t *testing.T) {
	b := streams.NewBuilder()
	in := streams.NewStream(b, "in", streams.Consumed(str, str))
	streams.GroupByKey(in).Count().Suppress(streams.UntilTimeLimit(-time.Second))
	if _, err := b.Build(); err == nil {
		t.Fatal("Build accepted UntilTimeLimit(-1s)")
	}
}

// TestSuppressBufferEmitEarly: UntilTimeLimit with a buffer of at most 2 records emits the
// earliest held keys at once when a third would be held, as the model does.
func TestSuppressBufferEmitEarly(t *testing.T) {
	b := streams.NewBuilder()
	in := streams.NewStream(b, "in", streams.Consumed(str, str))
	counts := streams.GroupByKey(in).Count(streams.Materialized[int64]("counts", nil))
	counts.Suppress(streams.UntilTimeLimit(time.Second).WithBuffer(streams.MaxRecords(2))).ToStream().To("limited", streams.Produced(str, i64))
	d, _ := driver(t, b)
	m := &timeLimitModel[int64]{limit: 1000, maxRecords: 2, observed: math.MinInt64, first: map[string]int64{}, held: map[string]rec[string, int64]{}}
	counts2, latest := map[string]int64{}, map[string]int64{}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, r := range randomInput(rng, 300) {
		must(t, d.Pipe("in", []byte(r.key), []byte("x"), r.ts))
		counts2[r.key]++
		if ts, ok := latest[r.key]; !ok || r.ts > ts {
			latest[r.key] = r.ts
		}
		m.update(rec[string, int64]{Key: r.key, Value: counts2[r.key], Timestamp: latest[r.key]})
	}
	got := read(t, d, "limited", str, i64)
	if len(m.out) < 100 {
		t.Fatalf("model: %d outputs: the bound does not act", len(m.out))
	}
	equal(t, "limited", got, m.out)
}

// TestSuppressBufferMaxBytes: a byte bound counts each held entry's key, value and 18 bytes of
// timestamps and flags; a 4-key, 8-byte-value buffer of 4 x (2 + 8 + 18) = 112 bytes holds 4
// keys, one byte less holds 3.
func TestSuppressBufferMaxBytes(t *testing.T) {
	for _, c := range []struct {
		max  int64
		held int
	}{{112, 4}, {111, 3}} {
		b := streams.NewBuilder()
		in := streams.NewStream(b, "in", streams.Consumed(str, str))
		counts := streams.GroupByKey(in).Count(streams.Materialized[int64]("counts", nil))
		counts.Suppress(streams.UntilTimeLimit(time.Hour).WithBuffer(streams.MaxBytes(c.max))).ToStream().To("limited", streams.Produced(str, i64))
		d, _ := driver(t, b)
		for i, k := range []string{"k1", "k2", "k3", "k4"} {
			must(t, d.Pipe("in", []byte(k), []byte("x"), int64(1000+i)))
		}
		if got := read(t, d, "limited", str, i64); len(got) != 4-c.held {
			t.Fatalf("MaxBytes(%d): %d emitted early (%v), want %d", c.max, len(got), got, 4-c.held)
		}
	}
}

// TestSuppressBufferShutDownWhenFull: a final-results suppression whose buffer is full fails
// the task rather than emit a window early; the windows it held until then stay unemitted.
func TestSuppressBufferShutDownWhenFull(t *testing.T) {
	b := streams.NewBuilder()
	in := streams.NewStream(b, "in", streams.Consumed(str, str))
	streams.WindowedBy(streams.GroupByKey(in), streams.TumblingWindows(time.Second).Grace(time.Hour)).
		Count(streams.Materialized[int64]("counts", nil)).
		Suppress(streams.UntilWindowCloses.WithBuffer(streams.MaxRecords(3).ShutDownWhenFull())).ToStream().
		To("final", streams.Produced(serde.TimeWindowed(str, 1000), i64))
	d, _ := openDriver(t, b)
	defer d.Close()                                  // fails too: its flush meets the full buffer again
	for i, k := range []string{"a", "b", "c", "a"} { // three windows held, one updated
		must(t, d.Pipe("in", []byte(k), []byte("x"), int64(1000+i)))
	}
	err := d.Pipe("in", []byte("d"), []byte("x"), 1004)
	if err == nil || !strings.Contains(err.Error(), "is full") {
		t.Fatalf("a fourth window in a buffer of 3: %v, want a full buffer's error", err)
	}
}

// TestSuppressBufferConfigErrors: bounds that cannot work are Build errors.
func TestSuppressBufferConfigErrors(t *testing.T) {
	for name, c := range map[string]streams.SuppressConfig{
		"window close, emit early": streams.UntilWindowCloses.WithBuffer(streams.MaxRecords(10)),
		"zero records":             streams.UntilTimeLimit(time.Second).WithBuffer(streams.MaxRecords(0)),
		"negative bytes":           streams.UntilTimeLimit(time.Second).WithBuffer(streams.MaxBytes(-1).ShutDownWhenFull()),
	} {
		b := streams.NewBuilder()
		in := streams.NewStream(b, "in", streams.Consumed(str, str))
		streams.WindowedBy(streams.GroupByKey(in), streams.TumblingWindows(time.Second).Grace(0)).Count().Suppress(c)
		if _, err := b.Build(); err == nil {
			t.Errorf("%s: Build accepted it", name)
		}
	}
	b := streams.NewBuilder()
	in := streams.NewStream(b, "in", streams.Consumed(str, str))
	streams.WindowedBy(streams.GroupByKey(in), streams.TumblingWindows(time.Second).Grace(0)).Count().
		Suppress(streams.UntilWindowCloses.WithBuffer(streams.MaxBytes(1 << 20).ShutDownWhenFull()))
	if _, err := b.Build(); err != nil {
		t.Errorf("a strict bounded buffer for final results: %v", err)
	}
}
