package streams_test

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/serde"
)

type summary struct {
	Clicks    int64 `json:"clicks"`
	Purchases int64 `json:"purchases"`
	Spent     int64 `json:"spent"`
}

// TestCogroup: clicks (keyed by user) and purchases (keyed "order/user", regrouped by user
// through a repartition topic) aggregated into one summary per user in one store, update by
// update, against a model; the inputs are recorded as co-partitioned.
func TestCogroup(t *testing.T) {
	b := streams.NewBuilder()
	clicks := streams.NewStream(b, "clicks", streams.Consumed(str, str))
	purchases := streams.NewStream(b, "purchases", streams.Consumed(str, i64))
	byUser := streams.GroupBy(purchases, func(k string, _ int64) string { _, u, _ := strings.Cut(k, "/"); return u }, streams.Grouped(str, i64))
	c := streams.Cogroup(streams.GroupByKey(clicks), func(_ string, _ string, s summary) summary { s.Clicks++; return s })
	c = streams.CogroupWith(c, byUser, func(_ string, amount int64, s summary) summary { s.Purchases++; s.Spent += amount; return s })
	js := serde.JSON[summary]()
	c.Aggregate(func() summary { return summary{} }, streams.Materialized("summaries", js)).ToStream().To("out", streams.Produced(str, js))
	d, topo := driver(t, b)
	prog, err := topo.Build()
	must(t, err)
	if len(prog.Internal) != 1 || prog.Internal[0].Name != "summaries-1-repartition" ||
		len(prog.Copartition) != 1 || !slices.Equal(prog.Copartition[0], []string{"clicks", "summaries-1-repartition"}) {
		t.Fatalf("internal %v, co-partitioned %v", prog.Internal, prog.Copartition)
	}
	rng := rand.New(rand.NewPCG(21, 22))
	model := map[string]summary{}
	var want []rec[string, summary]
	for i := range 400 {
		u, ts := "u"+strconv.Itoa(rng.IntN(5)), int64(i)
		s := model[u]
		if rng.IntN(2) == 0 {
			must(t, d.Pipe("clicks", []byte(u), []byte("/page"), ts))
			s.Clicks++
		} else {
			amount := rng.Int64N(100)
			must(t, d.Pipe("purchases", []byte(strconv.Itoa(i)+"/"+u), i64Bytes(amount), ts))
			s.Purchases++
			s.Spent += amount
		}
		model[u] = s
		want = append(want, rec[string, summary]{u, s, ts, false})
	}
	equal(t, "out", read(t, d, "out", str, js), want)
}
