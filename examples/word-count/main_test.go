package main

import (
	"maps"
	"testing"

	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/streamstest"
)

// TestTopology: the latest count of each word after a few lines, case and punctuation ignored.
func TestTopology(t *testing.T) {
	topo, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	d, err := streamstest.New(topo, streamstest.Config{ApplicationID: "word-count"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	in := streamstest.NewInput(d, "text-lines", serde.String(), serde.String())
	for i, line := range []string{"The quick brown fox", "jumps over the lazy dog.", "THE END; the end!", ""} {
		if err := in.Pipe("", line, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := streamstest.ReadTable(streamstest.NewOutput(d, "word-counts", serde.String(), serde.String()))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"the": "4", "quick": "1", "brown": "1", "fox": "1", "jumps": "1", "over": "1", "lazy": "1", "dog": "1", "end": "2"}
	if !maps.Equal(got, want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
}
