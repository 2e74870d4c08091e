package main

import (
	"testing"

	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/streamstest"
)

// TestTopology: each order carries its customer's profile as it is when the order arrives,
// null before the profile exists and after it is deleted; the output key is the order id.
func TestTopology(t *testing.T) {
	topo, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	d, err := streamstest.New(topo, streamstest.Config{ApplicationID: "enrichment"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	customers := streamstest.NewInput(d, "customers", serde.String(), serde.String())
	orders := streamstest.NewInput(d, "orders", serde.String(), serde.JSON[Order]())
	out := streamstest.NewOutput(d, "orders-enriched", serde.String(), serde.String())
	order := func(id, customer string, ts int64) {
		t.Helper()
		if err := orders.Pipe(id, Order{id, customer, 10}, ts); err != nil {
			t.Fatal(err)
		}
	}
	order("o1", "c1", 1)
	must(t, customers.Pipe("c1", `{"name":"Ann"}`, 2))
	order("o2", "c1", 3)
	must(t, customers.Pipe("c1", `{"name":"Ann B."}`, 4))
	order("o3", "c1", 5)
	must(t, customers.PipeTombstone("c1", 6))
	order("o4", "c1", 7)
	kvs, err := out.Read()
	must(t, err)
	want := [][2]string{
		{"o1", `{"order_id":"o1","customer_id":"c1","amount":10,"customer":null}`},
		{"o2", `{"order_id":"o2","customer_id":"c1","amount":10,"customer":{"name":"Ann"}}`},
		{"o3", `{"order_id":"o3","customer_id":"c1","amount":10,"customer":{"name":"Ann B."}}`},
		{"o4", `{"order_id":"o4","customer_id":"c1","amount":10,"customer":null}`},
	}
	if len(kvs) != len(want) {
		t.Fatalf("outputs %+v, want %v", kvs, want)
	}
	for i, kv := range kvs {
		if kv.Key != want[i][0] || kv.Value != want[i][1] {
			t.Errorf("output %d: %s=%s, want %s=%s", i, kv.Key, kv.Value, want[i][0], want[i][1])
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
