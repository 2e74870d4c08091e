package streams_test

import (
	"maps"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/streamstest"
)

// TestForeignKeyJoins: orders ("product:qty") joined by product id with a products table,
// inner and left, under random updates, foreign-key changes and deletes of both sides; after
// every input record the table the output describes equals the join of the two tables as
// they are then.
func TestForeignKeyJoins(t *testing.T) {
	for _, left := range []bool{false, true} {
		t.Run(map[bool]string{false: "inner", true: "left"}[left], func(t *testing.T) {
			b := streams.NewBuilder()
			orders := streams.NewTable(b, "orders", streams.Consumed(str, str))
			products := streams.NewTable(b, "products", streams.Consumed(str, str))
			productOf := func(v string) string { p, _, _ := strings.Cut(v, ":"); return p }
			var joined *streams.Table[string, string]
			if left {
				joined = streams.LeftJoinForeignKey(orders, products, productOf, func(o string, p *string) string {
					if p == nil {
						return o + "@?"
					}
					return o + "@" + *p
				})
			} else {
				joined = streams.JoinForeignKey(orders, products, productOf, func(o, p string) string { return o + "@" + p })
			}
			joined.ToStream().To("out", streams.Produced(str, str))
			// Materialized, the result can be queried and joined again.
			notes := streams.NewTable(b, "notes", streams.Consumed(str, str))
			stored := joined.Materialize(streams.Materialized("fk-result", str))
			streams.JoinTables(stored, notes, func(j, n string) string { return j + "#" + n }).ToStream().To("noted", streams.Produced(str, str))
			d, topo := driver(t, b)
			prog, err := topo.Build()
			must(t, err)
			if len(prog.Internal) != 2 || len(prog.Copartition) != 3 || len(prog.Subtopologies) != 2 {
				t.Fatalf("internal %v, co-partitioned %v, %d sub-topologies", prog.Internal, prog.Copartition, len(prog.Subtopologies))
			}
			out := streamstest.NewOutput(d, "out", str, str)
			om, pm, view := map[string]string{}, map[string]string{}, map[string]string{}
			nm, notedView := map[string]string{}, map[string]string{}
			noted := streamstest.NewOutput(d, "noted", str, str)
			store, err := d.KeyValueStore("fk-result")
			must(t, err)
			rng := rand.New(rand.NewPCG(23, 24))
			for i := range 600 {
				ts := int64(i)
				if rng.IntN(5) == 0 {
					k, v := "o"+strconv.Itoa(rng.IntN(8)), "note"+strconv.Itoa(i)
					must(t, d.Pipe("notes", []byte(k), []byte(v), ts))
					nm[k] = v
				}
				switch rng.IntN(6) {
				case 0:
					k := "o" + strconv.Itoa(rng.IntN(8))
					must(t, d.Pipe("orders", []byte(k), nil, ts))
					delete(om, k)
				case 1, 2, 3:
					k, v := "o"+strconv.Itoa(rng.IntN(8)), "p"+strconv.Itoa(rng.IntN(4))+":"+strconv.Itoa(i)
					must(t, d.Pipe("orders", []byte(k), []byte(v), ts))
					om[k] = v
				case 4:
					k := "p" + strconv.Itoa(rng.IntN(4))
					must(t, d.Pipe("products", []byte(k), nil, ts))
					delete(pm, k)
				default:
					k, v := "p"+strconv.Itoa(rng.IntN(4)), "name"+strconv.Itoa(i)
					must(t, d.Pipe("products", []byte(k), []byte(v), ts))
					pm[k] = v
				}
				recs, err := out.Read()
				must(t, err)
				for _, r := range recs {
					if r.Tombstone {
						delete(view, r.Key)
					} else {
						view[r.Key] = r.Value
					}
				}
				want := map[string]string{}
				for k, v := range om {
					if p, ok := pm[productOf(v)]; ok {
						want[k] = v + "@" + p
					} else if left {
						want[k] = v + "@?"
					}
				}
				if !maps.Equal(view, want) {
					t.Fatalf("after input %d: the output describes %v, want %v", i, view, want)
				}
				inStore := map[string]string{}
				must(t, store.Range(nil, nil, func(k, stored []byte) bool {
					v, _, err := streams.ValueAndTimestamp(stored)
					must(t, err)
					inStore[string(k)] = string(v)
					return true
				}))
				if !maps.Equal(inStore, want) {
					t.Fatalf("after input %d: the materialized result holds %v, want %v", i, inStore, want)
				}
				recs, err = noted.Read()
				must(t, err)
				for _, r := range recs {
					if r.Tombstone {
						delete(notedView, r.Key)
					} else {
						notedView[r.Key] = r.Value
					}
				}
				wantNoted := map[string]string{}
				for k, v := range want {
					if n, ok := nm[k]; ok {
						wantNoted[k] = v + "#" + n
					}
				}
				if !maps.Equal(notedView, wantNoted) {
					t.Fatalf("after input %d: the result joined with notes describes %v, want %v", i, notedView, wantNoted)
				}
			}
		})
	}
}
