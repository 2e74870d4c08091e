package main

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/streamstest"
)

// TestTopology runs the topology in the test driver: a window is reported only once it has
// closed (stream time past its end plus the minute of grace), only if its total is over
// 10,000, and a transaction later than the grace is dropped.
func TestTopology(t *testing.T) {
	topo, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	d, err := streamstest.New(topo, streamstest.Config{ApplicationID: "fraud-detection"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	in := streamstest.NewInput(d, "transactions", serde.String(), serde.JSON[Transaction]())
	out := streamstest.NewOutput(d, "suspicious-transactions", serde.String(), serde.JSON[Alert]())
	t0 := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	pipe := func(customer string, amount float64, at time.Duration) {
		t.Helper()
		// The record's own timestamp is wrong on purpose: the event time is the JSON field's.
		if err := in.Pipe(customer, Transaction{customer, amount, t0.Add(at)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	read := func() []Alert {
		t.Helper()
		kvs, err := out.Read()
		if err != nil {
			t.Fatal(err)
		}
		var alerts []Alert
		for _, kv := range kvs {
			if kv.Key != kv.Value.CustomerID {
				t.Errorf("alert %+v under key %q", kv.Value, kv.Key)
			}
			alerts = append(alerts, kv.Value)
		}
		return alerts
	}

	pipe("c1", 6000, time.Minute)
	pipe("c2", 9000, 2*time.Minute)
	pipe("c1", 4500.5, 9*time.Minute)
	pipe("c2", 1000, 10*time.Minute+30*time.Second) // next window
	if got := read(); len(got) != 0 {
		t.Fatalf("alerts before any window closed: %+v", got)
	}
	pipe("c1", 50, 9*time.Minute+50*time.Second) // out of order, within the grace: counts
	pipe("c3", 1, 11*time.Minute)                // stream time 10:11: the window [10:00, 10:10) closes
	got := read()
	want := Alert{CustomerID: "c1", Total: 10550.5, WindowStart: "2026-01-15T10:00:00Z", WindowEnd: "2026-01-15T10:10:00Z"}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("alerts %+v, want only %+v (c2's 9,000 is not over 10,000)", got, want)
	}
	pipe("c1", 20000, 5*time.Minute) // later than the grace: dropped
	pipe("c2", 9500, 19*time.Minute)
	pipe("c3", 1, 21*time.Minute)
	want = Alert{CustomerID: "c2", Total: 10500, WindowStart: "2026-01-15T10:10:00Z", WindowEnd: "2026-01-15T10:20:00Z"}
	if got := read(); len(got) != 1 || got[0] != want {
		t.Fatalf("alerts %+v, want only %+v", got, want)
	}
}
