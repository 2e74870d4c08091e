package streams_test

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/streams"
)

type joinRec struct {
	left  bool
	key   string
	ts    int64
	value string
	seq   int
}

// streamJoinModel is the windowed stream-stream join: a left record at t joins right records
// of its key in [t-before, t+after]; a record later than its window end + grace is dropped;
// unjoined records (left, outer) are emitted once ts + before + after + grace < stream time.
type streamJoinModel struct {
	before, after, grace int64
	leftOuter, outer     bool
	observed             int64
	maxTs                [2]int64
	stored               [2][]joinRec
	pending              []joinRec
	out                  []rec[string, string]
	late, unjoined       int
}

func side(left bool) int {
	if left {
		return 0
	}
	return 1
}

func showJoin(l, r string) string { return l + "+" + r }

func (m *streamJoinModel) add(r joinRec) {
	m.observed = max(m.observed, r.ts)
	am, bm := m.after, m.before
	if !r.left {
		am, bm = m.before, m.after
	}
	if r.ts+am+m.grace < m.observed {
		m.late++
		return
	}
	limit := m.observed - m.before - m.after - m.grace
	var due, keep []joinRec
	for _, p := range m.pending {
		if p.ts < limit {
			due = append(due, p)
		} else {
			keep = append(keep, p)
		}
	}
	slices.SortStableFunc(due, func(a, b joinRec) int {
		return cmp.Or(cmp.Compare(a.ts, b.ts), cmp.Compare(side(a.left), side(b.left)), strings.Compare(a.key, b.key), cmp.Compare(a.seq, b.seq))
	})
	for _, p := range due {
		m.unjoined++
		if p.left {
			m.out = append(m.out, rec[string, string]{p.key, showJoin(p.value, "-"), p.ts, false})
		} else {
			m.out = append(m.out, rec[string, string]{p.key, showJoin("-", p.value), p.ts, false})
		}
	}
	m.pending = keep
	retention := m.before + m.after + m.grace + 1
	this, other := side(r.left), 1-side(r.left)
	if r.ts > m.maxTs[this]-retention {
		m.stored[this] = append(m.stored[this], r)
	}
	m.maxTs[this] = max(m.maxTs[this], r.ts)
	var matches []joinRec
	for _, o := range m.stored[other] {
		if o.key == r.key && o.ts > m.maxTs[other]-retention && o.ts >= r.ts-bm && o.ts <= r.ts+am {
			matches = append(matches, o)
		}
	}
	slices.SortStableFunc(matches, func(a, b joinRec) int { return cmp.Or(cmp.Compare(a.ts, b.ts), cmp.Compare(a.seq, b.seq)) })
	trackThis, trackOther := m.leftOuter, m.outer
	if !r.left {
		trackThis, trackOther = m.outer, m.leftOuter
	}
	for _, o := range matches {
		l, rv := r.value, o.value
		if !r.left {
			l, rv = o.value, r.value
		}
		m.out = append(m.out, rec[string, string]{r.key, showJoin(l, rv), max(r.ts, o.ts), false})
		if trackOther {
			m.pending = slices.DeleteFunc(m.pending, func(p joinRec) bool { return p.left == o.left && p.key == o.key && p.ts == o.ts })
		}
	}
	if len(matches) == 0 && trackThis {
		m.pending = append(m.pending, r)
	}
}

// TestStreamStreamJoins: inner, left and outer windowed joins (asymmetric window, grace) of
// random, out-of-order and late records of two streams, against the model: every joined pair
// once, unjoined records only after their window closed, late records dropped.
func TestStreamStreamJoins(t *testing.T) {
	for _, kind := range []string{"inner", "left", "outer"} {
		t.Run(kind, func(t *testing.T) {
			b := streams.NewBuilder()
			l := streams.NewStream(b, "l", streams.Consumed(str, str))
			r := streams.NewStream(b, "r", streams.Consumed(str, str))
			w := streams.JoinTimeDifference(0).Before(30 * time.Millisecond).After(50 * time.Millisecond).Grace(20 * time.Millisecond)
			var out *streams.Stream[string, string]
			opt := func(p *string) string {
				if p == nil {
					return "-"
				}
				return *p
			}
			switch kind {
			case "inner":
				out = streams.JoinStreams(l, r, w, showJoin)
			case "left":
				out = streams.LeftJoinStreams(l, r, w, func(a string, b *string) string { return showJoin(a, opt(b)) })
			case "outer":
				out = streams.OuterJoinStreams(l, r, w, func(a, b *string) string { return showJoin(opt(a), opt(b)) })
			}
			out.To("joined", streams.Produced(str, str))
			d, topo := driver(t, b)
			prog, err := topo.Build()
			must(t, err)
			if len(prog.Copartition) != 1 || !slices.Equal(prog.Copartition[0], []string{"l", "r"}) || len(prog.Subtopologies) != 1 {
				t.Fatalf("co-partitioned %v, %d sub-topologies", prog.Copartition, len(prog.Subtopologies))
			}
			m := &streamJoinModel{before: 30, after: 50, grace: 20, leftOuter: kind != "inner", outer: kind == "outer",
				observed: math.MinInt64, maxTs: [2]int64{math.MinInt64 / 2, math.MinInt64 / 2}}
			rng := rand.New(rand.NewPCG(17, 18))
			now := int64(1000)
			for i := range 800 {
				now += rng.Int64N(15)
				ts := now
				switch rng.IntN(10) {
				case 0, 1:
					ts -= rng.Int64N(60)
				case 2:
					ts -= 60 + rng.Int64N(200)
				}
				jr := joinRec{left: rng.IntN(2) == 0, key: "k" + strconv.Itoa(rng.IntN(4)), ts: ts, value: strconv.Itoa(i), seq: i}
				topic := "r"
				if jr.left {
					topic = "l"
				}
				must(t, d.Pipe(topic, []byte(jr.key), []byte(jr.value), ts))
				m.add(jr)
			}
			if m.late == 0 || (kind != "inner" && m.unjoined == 0) {
				t.Fatalf("model: %d late, %d unjoined: the input does not exercise the join", m.late, m.unjoined)
			}
			equal(t, "joined", read(t, d, "joined", str, str), m.out)
		})
	}
}

// TestStreamJoinRepartition: a rekeyed side is repartitioned before a stream-stream join, and
// a join needs an explicit grace.
func TestStreamJoinRepartition(t *testing.T) {
	b := streams.NewBuilder()
	l := streams.NewStream(b, "l", streams.Consumed(str, str))
	r := streams.SelectKey(streams.NewStream(b, "r", streams.Consumed(str, str)), func(k, v string) string { return v })
	streams.JoinStreams(l, r, streams.JoinTimeDifference(time.Second).Grace(0), showJoin, streams.StreamJoined(str, str, str).WithName("j")).To("out", streams.Produced(str, str))
	topo, err := b.Build()
	must(t, err)
	prog, err := topo.Build()
	must(t, err)
	if len(prog.Internal) != 1 || prog.Internal[0].Name != "j-right-repartition" || !slices.Equal(prog.Copartition[0], []string{"j-right-repartition", "l"}) {
		t.Fatalf("internal %v, co-partitioned %v", prog.Internal, prog.Copartition)
	}
	if _, ok := topo.Store("j-this-join-store"); !ok {
		t.Fatal("no store j-this-join-store")
	}
	b = streams.NewBuilder()
	l = streams.NewStream(b, "l", streams.Consumed(str, str))
	streams.JoinStreams(l, streams.NewStream(b, "r", streams.Consumed(str, str)), streams.JoinTimeDifference(time.Second), showJoin)
	if _, err := b.Build(); err == nil {
		t.Fatal("a join without grace built")
	}
}
