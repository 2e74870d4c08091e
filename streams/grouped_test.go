package streams_test

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/streamstest"
)

// TestStreamAggregations: count, reduce and aggregate of random records (null keys and values
// among them, which are skipped) against a map model, update by update.
func TestStreamAggregations(t *testing.T) {
	for _, rekey := range []bool{false, true} {
		t.Run("rekey="+strconv.FormatBool(rekey), func(t *testing.T) {
			b := streams.NewBuilder()
			in := streams.NewStream(b, "in", streams.Consumed(str, i64))
			var g *streams.GroupedStream[string, int64]
			keyOf := func(k string, v int64) string { return k }
			if rekey {
				keyOf = func(k string, v int64) string { return k + strconv.FormatInt(v%3, 10) }
				g = streams.GroupBy(in, keyOf, streams.Grouped(str, i64))
			} else {
				g = streams.GroupByKey(in)
			}
			g.Count().ToStream().To("counts", streams.Produced(str, i64))
			g.Reduce(func(a, v int64) int64 { return a + v }, streams.Materialized("sums", i64)).ToStream().To("sums")
			streams.Aggregate(g, func() string { return "<" }, func(k string, v int64, agg string) string {
				return agg + strconv.FormatInt(v, 10) + ","
			}, streams.Materialized("lists", str)).ToStream().To("lists")
			d, _ := driver(t, b)

			rng := rand.New(rand.NewPCG(3, 4))
			counts, sums, lists := map[string]int64{}, map[string]int64{}, map[string]string{}
			latest := map[string]int64{} // an aggregate's timestamp is its latest input's (Kafka Streams)
			var wantCounts, wantSums []rec[string, int64]
			var wantLists []rec[string, string]
			for i := range 400 {
				k, v, ts := string(rune('a'+rng.IntN(6))), rng.Int64N(50), int64(100+i*10-rng.IntN(30))
				var kb, vb []byte = []byte(k), i64Bytes(v)
				switch rng.IntN(20) {
				case 0:
					kb = nil
				case 1:
					vb = nil
				}
				must(t, d.Pipe("in", kb, vb, ts))
				if vb == nil || (kb == nil && !rekey) {
					continue
				}
				if kb == nil {
					k = ""
				}
				gk := keyOf(k, v)
				if _, ok := lists[gk]; !ok {
					lists[gk] = "<"
				}
				counts[gk]++
				sums[gk] += v
				lists[gk] += strconv.FormatInt(v, 10) + ","
				if l, ok := latest[gk]; !ok || ts > l {
					latest[gk] = ts
				}
				out := latest[gk]
				wantCounts = append(wantCounts, rec[string, int64]{gk, counts[gk], out, false})
				wantSums = append(wantSums, rec[string, int64]{gk, sums[gk], out, false})
				wantLists = append(wantLists, rec[string, string]{gk, lists[gk], out, false})
			}
			equal(t, "counts", read(t, d, "counts", str, i64), wantCounts)
			equal(t, "sums", read(t, d, "sums", str, i64), wantSums)
			equal(t, "lists", read(t, d, "lists", str, str), wantLists)
			// The store holds the final aggregates, and its changelog is Kafka's bytes.
			s, err := d.KeyValueStore("sums")
			must(t, err)
			for k, want := range sums {
				got, err := s.Get([]byte(k))
				must(t, err)
				// Kafka Streams' timestamped layout: the latest timestamp, then the value.
				if len(got) != 16 || string(got[8:]) != string(i64Bytes(want)) || string(got[:8]) != string(i64Bytes(latest[k])) {
					t.Fatalf("store sums[%q] = %x, want %d at %d", k, got, want, latest[k])
				}
			}
			if n := len(d.Read("app-sums-changelog")); n != len(wantSums) {
				t.Fatalf("sums changelog has %d records, want %d", n, len(wantSums))
			}
		})
	}
}

func i64Bytes(v int64) []byte {
	b, _ := i64.Serialize("", v)
	return b
}

// TestRepartition: a grouping after an operation that may change the key goes through a
// repartition topic "<name>-repartition" (declared for the runtime, read by a second
// sub-topology); one after key-preserving operations does not.
func TestRepartition(t *testing.T) {
	cases := []struct {
		name  string
		build func(b *streams.Builder)
		want  string // repartition topic, "" for none
	}{
		{"groupByKey", func(b *streams.Builder) {
			in := streams.NewStream(b, "in", streams.Consumed(str, str))
			streams.GroupByKey(in.Filter(func(string, string) bool { return true })).Count(streams.Materialized[int64]("c", nil))
		}, ""},
		{"mapValues", func(b *streams.Builder) {
			in := streams.NewStream(b, "in", streams.Consumed(str, str))
			streams.GroupByKey(streams.MapValues(in, strings.ToUpper), streams.Grouped[string, string](nil, str)).Count(streams.Materialized[int64]("c", nil))
		}, ""},
		{"groupBy", func(b *streams.Builder) {
			in := streams.NewStream(b, "in", streams.Consumed(str, str))
			streams.GroupBy(in, func(k, v string) string { return v }, streams.Grouped(str, str)).Count(streams.Materialized[int64]("c", nil))
		}, "c-repartition"},
		{"named", func(b *streams.Builder) {
			in := streams.NewStream(b, "in", streams.Consumed(str, str))
			streams.GroupBy(in, func(k, v string) string { return v }, streams.Grouped(str, str).WithName("by-value")).Count(streams.Materialized[int64]("c", nil))
		}, "by-value-repartition"},
		{"map then groupByKey", func(b *streams.Builder) {
			in := streams.NewStream(b, "in", streams.Consumed(str, str))
			m := streams.Map(in, func(k, v string) (string, string) { return v, k })
			streams.GroupByKey(m.Filter(func(string, string) bool { return true }), streams.Grouped(str, str)).Count(streams.Materialized[int64]("c", nil))
		}, "c-repartition"},
		{"merge with a rekeyed stream", func(b *streams.Builder) {
			in := streams.NewStream(b, "in", streams.Consumed(str, str))
			other := streams.SelectKey(streams.NewStream(b, "in2", streams.Consumed(str, str)), func(k, v string) string { return v })
			streams.GroupByKey(in.Merge(other), streams.Grouped(str, str)).Count(streams.Materialized[int64]("c", nil))
		}, "c-repartition"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := streams.NewBuilder()
			c.build(b)
			topo, err := b.Build()
			must(t, err)
			prog, err := topo.Build()
			must(t, err)
			var got []string
			for _, it := range prog.Internal {
				got = append(got, it.Name)
			}
			switch {
			case c.want == "" && len(got) != 0:
				t.Fatalf("repartition topics %v, want none", got)
			case c.want != "" && (len(got) != 1 || got[0] != c.want):
				t.Fatalf("repartition topics %v, want [%s]", got, c.want)
			case c.want != "" && (len(prog.Subtopologies) != 2 || prog.SourceOf[c.want] != 1):
				t.Fatalf("%d sub-topologies, %q read by %d; want the aggregation in a second one", len(prog.Subtopologies), c.want, prog.SourceOf[c.want])
			}
		})
	}
	// Without serdes for the repartition topic the grouping cannot be built.
	b := streams.NewBuilder()
	in := streams.NewStream(b, "in", streams.Consumed(str, str))
	streams.GroupByKey(streams.Map(in, func(k, v string) (string, int) { return v, len(k) })).Count()
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "serde") {
		t.Fatalf("Build: %v, want an error about the repartition topic's serdes", err)
	}
}

// TestTableOps: a table read from a topic (updates and tombstones), filtered and mapped, as a
// stream of changes, against a model; the source store holds the latest values.
func TestTableOps(t *testing.T) {
	b := streams.NewBuilder()
	tbl := streams.NewTable(b, "users", streams.Consumed(str, i64), streams.Materialized[int64]("users-store", nil))
	tbl.ToStream().To("all")
	big := tbl.Filter(func(_ string, v int64) bool { return v >= 50 })
	streams.MapValuesTable(big, func(k string, v int64) string { return k + "=" + strconv.FormatInt(v, 10) }).ToStream().To("big", streams.Produced(str, str))
	d, _ := driver(t, b)

	rng := rand.New(rand.NewPCG(5, 6))
	model := map[string]int64{}
	var wantAll []rec[string, int64]
	var wantBig []rec[string, string]
	for i := range 300 {
		k, ts := string(rune('a'+rng.IntN(8))), int64(i)
		old, had := model[k]
		if rng.IntN(4) == 0 {
			must(t, d.Pipe("users", []byte(k), nil, ts))
			if !had {
				continue
			}
			delete(model, k)
			wantAll = append(wantAll, rec[string, int64]{k, 0, ts, true})
			if old >= 50 {
				wantBig = append(wantBig, rec[string, string]{k, "", ts, true})
			}
			continue
		}
		v := rng.Int64N(100)
		must(t, d.Pipe("users", []byte(k), i64Bytes(v), ts))
		model[k] = v
		wantAll = append(wantAll, rec[string, int64]{k, v, ts, false})
		switch {
		case v >= 50:
			wantBig = append(wantBig, rec[string, string]{k, k + "=" + strconv.FormatInt(v, 10), ts, false})
		case had && old >= 50:
			wantBig = append(wantBig, rec[string, string]{k, "", ts, true})
		}
	}
	equal(t, "all", read(t, d, "all", str, i64), wantAll)
	equal(t, "big", read(t, d, "big", str, str), wantBig)
	s, err := d.KeyValueStore("users-store")
	must(t, err)
	n, err := s.ApproximateEntries()
	must(t, err)
	if n != int64(len(model)) {
		t.Fatalf("store has %d entries, model %d", n, len(model))
	}
}

// TestTableGroupBy: a table regrouped by a new key and counted and summed with adders and
// subtractors (moving an entry to another group decrements the old one), update by update.
func TestTableGroupBy(t *testing.T) {
	b := streams.NewBuilder()
	users := streams.NewTable(b, "users", streams.Consumed(str, str)) // user -> "region:amount"
	byRegion := streams.GroupTable(users, func(user, v string) (string, int64) {
		region, amount, _ := strings.Cut(v, ":")
		n, _ := strconv.ParseInt(amount, 10, 64)
		return region, n
	}, streams.Grouped(str, i64))
	byRegion.Count(streams.Materialized[int64]("region-counts", nil)).ToStream().To("counts")
	streams.AggregateTable(byRegion, func() int64 { return 0 },
		func(_ string, v, agg int64) int64 { return agg + v },
		func(_ string, v, agg int64) int64 { return agg - v },
		streams.Materialized("region-sums", i64)).ToStream().To("sums")
	d, topo := driver(t, b)
	prog, err := topo.Build()
	must(t, err)
	if len(prog.Internal) != 2 {
		t.Fatalf("internal topics %+v, want one repartition topic per aggregation", prog.Internal)
	}

	rng := rand.New(rand.NewPCG(7, 8))
	type entry struct {
		region string
		amount int64
	}
	model := map[string]entry{}
	counts, sums := map[string]int64{}, map[string]int64{}
	var wantCounts, wantSums []rec[string, int64]
	emit := func(region string, ts int64) {
		wantCounts = append(wantCounts, rec[string, int64]{region, counts[region], ts, false})
		wantSums = append(wantSums, rec[string, int64]{region, sums[region], ts, false})
	}
	for i := range 300 {
		user, ts := "u"+strconv.Itoa(rng.IntN(10)), int64(i)
		old, had := model[user]
		if rng.IntN(5) == 0 {
			must(t, d.Pipe("users", []byte(user), nil, ts))
			if had {
				delete(model, user)
				counts[old.region]--
				sums[old.region] -= old.amount
				emit(old.region, ts)
			}
			continue
		}
		e := entry{string(rune('A' + rng.IntN(3))), rng.Int64N(100)}
		must(t, d.Pipe("users", []byte(user), []byte(e.region+":"+strconv.FormatInt(e.amount, 10)), ts))
		model[user] = e
		if had {
			counts[old.region]--
			sums[old.region] -= old.amount
			if old.region != e.region {
				emit(old.region, ts)
			}
		}
		counts[e.region]++
		sums[e.region] += e.amount
		emit(e.region, ts)
	}
	equal(t, "counts", read(t, d, "counts", str, i64), wantCounts)
	equal(t, "sums", read(t, d, "sums", str, i64), wantSums)
}

var _ = processor.KeyValueStore
var _ = streamstest.New

// TestNullKeysCountAsDropped: an aggregation drops records with a null key, and each counts in
// the tasks' dropped (skipped) records, as Kafka Streams' dropped-records.
func TestNullKeysCountAsDropped(t *testing.T) {
	b := streams.NewBuilder()
	in := streams.NewStream(b, "in", streams.Consumed(serde.Bytes(), str))
	streams.GroupByKey(in).Count().ToStream().To("out", streams.Produced(serde.Bytes(), i64))
	d, _ := driver(t, b)
	must(t, d.Pipe("in", []byte("k"), []byte("v"), 1))
	must(t, d.Pipe("in", nil, []byte("v"), 2))
	must(t, d.Pipe("in", nil, []byte("v"), 3))
	if got := len(read(t, d, "out", serde.Bytes(), i64)); got != 1 || d.Skipped() != 2 {
		t.Fatalf("%d outputs, %d dropped; want 1 output and the 2 null-key records dropped", got, d.Skipped())
	}
}
