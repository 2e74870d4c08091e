package streams_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/streams"
)

// TestStreamTableJoin: orders joined (inner and left) with the current profile of their key,
// with profile updates and deletes interleaved at random, against a model; the inputs are
// recorded as co-partitioned, and a rekeyed stream is repartitioned before the join.
func TestStreamTableJoin(t *testing.T) {
	for _, rekey := range []bool{false, true} {
		t.Run(fmt.Sprint("rekey=", rekey), func(t *testing.T) {
			b := streams.NewBuilder()
			profiles := streams.NewTable(b, "profiles", streams.Consumed(str, str))
			orders := streams.NewStream(b, "orders", streams.Consumed(str, i64))
			if rekey { // orders keyed "id/customer": rekey by customer
				orders = streams.SelectKey(orders, func(k string, _ int64) string { _, c, _ := strings.Cut(k, "/"); return c }).WithSerdes(str, i64)
			}
			streams.JoinTable(orders, profiles, func(amount int64, name string) string {
				return name + ":" + strconv.FormatInt(amount, 10)
			}).To("inner", streams.Produced(str, str))
			streams.LeftJoinTable(orders, profiles, func(amount int64, name *string) string {
				if name == nil {
					return "none:" + strconv.FormatInt(amount, 10)
				}
				return *name + ":" + strconv.FormatInt(amount, 10)
			}).To("left", streams.Produced(str, str))
			d, topo := driver(t, b)
			prog, err := topo.Build()
			must(t, err)
			wantTopics := []string{"orders", "profiles"}
			if rekey {
				if len(prog.Internal) != 2 {
					t.Fatalf("internal topics %+v, want a repartition topic per join", prog.Internal)
				}
				wantTopics = []string{prog.Internal[0].Name, "profiles"}
			}
			if len(prog.Copartition) != 2 || !slices.Equal(prog.Copartition[0], wantTopics) {
				t.Fatalf("co-partitioned groups %v, want %v twice", prog.Copartition, wantTopics)
			}

			rng := rand.New(rand.NewPCG(11, 12))
			model := map[string]string{}
			var wantInner, wantLeft []rec[string, string]
			for i := range 500 {
				c, ts := "c"+strconv.Itoa(rng.IntN(6)), int64(1000+i)
				switch rng.IntN(4) {
				case 0:
					must(t, d.Pipe("profiles", []byte(c), nil, ts))
					delete(model, c)
				case 1:
					name := "n" + strconv.Itoa(rng.IntN(100))
					must(t, d.Pipe("profiles", []byte(c), []byte(name), ts))
					model[c] = name
				default:
					amount := rng.Int64N(1000)
					key := c
					if rekey {
						key = strconv.Itoa(i) + "/" + c
					}
					must(t, d.Pipe("orders", []byte(key), i64Bytes(amount), ts))
					a := strconv.FormatInt(amount, 10)
					if name, ok := model[c]; ok {
						wantInner = append(wantInner, rec[string, string]{c, name + ":" + a, ts, false})
						wantLeft = append(wantLeft, rec[string, string]{c, name + ":" + a, ts, false})
					} else {
						wantLeft = append(wantLeft, rec[string, string]{c, "none:" + a, ts, false})
					}
				}
			}
			equal(t, "inner", read(t, d, "inner", str, str), wantInner)
			equal(t, "left", read(t, d, "left", str, str), wantLeft)
		})
	}
}

// TestStreamGlobalTableJoin: orders "customer:amount" keyed by order id joined with a global
// customers table by the customer in the value, against a model; no co-partitioning.
func TestStreamGlobalTableJoin(t *testing.T) {
	b := streams.NewBuilder()
	customers := streams.NewGlobalTable(b, "customers", streams.Consumed(str, str), streams.Materialized[string]("customers-store", nil))
	orders := streams.NewStream(b, "orders", streams.Consumed(str, str))
	custOf := func(_ string, v string) string { c, _, _ := strings.Cut(v, ":"); return c }
	streams.JoinGlobal(orders, customers, custOf, func(v, name string) string { return v + "@" + name }).To("inner", streams.Produced(str, str))
	streams.LeftJoinGlobal(orders, customers, custOf, func(v string, name *string) string {
		if name == nil {
			return v + "@?"
		}
		return v + "@" + *name
	}).To("left", streams.Produced(str, str))
	d, topo := driver(t, b)
	prog, err := topo.Build()
	must(t, err)
	if len(prog.Copartition) != 0 || len(prog.Globals) != 1 {
		t.Fatalf("co-partitioned %v, globals %d: want none and one", prog.Copartition, len(prog.Globals))
	}
	rng := rand.New(rand.NewPCG(13, 14))
	model := map[string]string{}
	var wantInner, wantLeft []rec[string, string]
	for i := range 400 {
		c, ts := "c"+strconv.Itoa(rng.IntN(5)), int64(i)
		switch rng.IntN(4) {
		case 0:
			must(t, d.Pipe("customers", []byte(c), nil, ts))
			delete(model, c)
		case 1:
			name := "n" + strconv.Itoa(i)
			must(t, d.Pipe("customers", []byte(c), []byte(name), ts))
			model[c] = name
		default:
			id, v := "o"+strconv.Itoa(i), c+":"+strconv.Itoa(rng.IntN(100))
			must(t, d.Pipe("orders", []byte(id), []byte(v), ts))
			if name, ok := model[c]; ok {
				wantInner = append(wantInner, rec[string, string]{id, v + "@" + name, ts, false})
				wantLeft = append(wantLeft, rec[string, string]{id, v + "@" + name, ts, false})
			} else {
				wantLeft = append(wantLeft, rec[string, string]{id, v + "@?", ts, false})
			}
		}
	}
	equal(t, "inner", read(t, d, "inner", str, str), wantInner)
	equal(t, "left", read(t, d, "left", str, str), wantLeft)
}

// TestTableTableJoins: inner, left and outer joins of two tables under random updates and
// deletes of both, every change of the result (deletes as tombstones) against a model.
func TestTableTableJoins(t *testing.T) {
	b := streams.NewBuilder()
	l := streams.NewTable(b, "left", streams.Consumed(str, str))
	r := streams.NewTable(b, "right", streams.Consumed(str, i64))
	show := func(lv *string, rv *int64) string {
		s := "-"
		if lv != nil {
			s = *lv
		}
		if rv != nil {
			return s + "/" + strconv.FormatInt(*rv, 10)
		}
		return s + "/-"
	}
	streams.JoinTables(l, r, func(a string, b int64) string { return show(&a, &b) }).ToStream().To("out-inner", streams.Produced(str, str))
	streams.LeftJoinTables(l, r, func(a string, b *int64) string { return show(&a, b) }).ToStream().To("out-left", streams.Produced(str, str))
	streams.OuterJoinTables(l, r, show).ToStream().To("out-outer", streams.Produced(str, str))
	d, topo := driver(t, b)
	prog, err := topo.Build()
	must(t, err)
	if len(prog.Copartition) != 3 || !slices.Equal(prog.Copartition[0], []string{"left", "right"}) {
		t.Fatalf("co-partitioned groups %v", prog.Copartition)
	}

	lm, rm := map[string]string{}, map[string]int64{}
	type joinKind int
	const (
		inner joinKind = iota
		left
		outer
	)
	result := func(kind joinKind, k string) (string, bool) {
		lv, lok := lm[k]
		rv, rok := rm[k]
		var lp *string
		var rp *int64
		if lok {
			lp = &lv
		}
		if rok {
			rp = &rv
		}
		switch {
		case kind == inner && lok && rok, kind == left && lok, kind == outer && (lok || rok):
			return show(lp, rp), true
		}
		return "", false
	}
	want := map[joinKind][]rec[string, string]{}
	rng := rand.New(rand.NewPCG(15, 16))
	for i := range 500 {
		k, ts := "k"+strconv.Itoa(rng.IntN(5)), int64(i)
		var before [3]struct {
			v  string
			ok bool
		}
		for kind := range 3 {
			before[kind].v, before[kind].ok = result(joinKind(kind), k)
		}
		switch rng.IntN(4) {
		case 0:
			_, had := lm[k]
			must(t, d.Pipe("left", []byte(k), nil, ts))
			delete(lm, k)
			if !had {
				continue
			}
		case 1:
			_, had := rm[k]
			must(t, d.Pipe("right", []byte(k), nil, ts))
			delete(rm, k)
			if !had {
				continue
			}
		case 2:
			v := "v" + strconv.Itoa(i)
			must(t, d.Pipe("left", []byte(k), []byte(v), ts))
			lm[k] = v
		default:
			v := int64(i)
			must(t, d.Pipe("right", []byte(k), i64Bytes(v), ts))
			rm[k] = v
		}
		for kind := range 3 {
			v, ok := result(joinKind(kind), k)
			switch {
			case ok:
				want[joinKind(kind)] = append(want[joinKind(kind)], rec[string, string]{k, v, ts, false})
			case before[kind].ok:
				want[joinKind(kind)] = append(want[joinKind(kind)], rec[string, string]{k, "", ts, true})
			}
		}
	}
	equal(t, "inner", read(t, d, "out-inner", str, str), want[inner])
	equal(t, "left", read(t, d, "out-left", str, str), want[left])
	equal(t, "outer", read(t, d, "out-outer", str, str), want[outer])
}
