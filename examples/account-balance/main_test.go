package main

import (
	"testing"

	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/streamstest"
)

// TestTopology: deposits and withdrawals keyed by anything end in each account's balance; an
// event of another type changes nothing.
func TestTopology(t *testing.T) {
	topo, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	d, err := streamstest.New(topo, streamstest.Config{ApplicationID: "account-balance"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	in := streamstest.NewInput(d, "account-events", serde.String(), serde.JSON[Event]())
	for i, e := range []Event{
		{"a1", "deposit", 100}, {"a2", "deposit", 50.5}, {"a1", "withdrawal", 30.25},
		{"a2", "refund", 1000}, {"a1", "deposit", 0.25}, {"a3", "withdrawal", 10},
	} {
		if err := in.Pipe("event-"+string(rune('a'+i)), e, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := streamstest.ReadTable(streamstest.NewOutput(d, "account-balances", serde.String(), serde.JSON[Balance]()))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Balance{"a1": {"a1", 70}, "a2": {"a2", 50.5}, "a3": {"a3", -10}}
	if len(got) != len(want) {
		t.Fatalf("balances %v, want %v", got, want)
	}
	for k, b := range want {
		if got[k] != b {
			t.Errorf("account %s: %+v, want %+v", k, got[k], b)
		}
	}
}
