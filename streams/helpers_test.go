package streams_test

import (
	"testing"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/streamstest"
)

var (
	str = serde.String()
	i64 = serde.Int64()
)

// driver builds b and starts a test driver on it, closed with the test.
func driver(t *testing.T, b *streams.Builder) (*streamstest.Driver, *processor.Topology) {
	t.Helper()
	d, topo := openDriver(t, b)
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d, topo
}

// openDriver builds b and starts a test driver on it, for the caller to close.
func openDriver(t *testing.T, b *streams.Builder) (*streamstest.Driver, *processor.Topology) {
	t.Helper()
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d, err := streamstest.New(topo, streamstest.Config{ApplicationID: "app"})
	if err != nil {
		t.Fatal(err)
	}
	return d, topo
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func read[K, V any](t *testing.T, d *streamstest.Driver, topic string, ks serde.Serde[K], vs serde.Serde[V]) []streamstest.KeyValue[K, V] {
	t.Helper()
	recs, err := streamstest.NewOutput(d, topic, ks, vs).Read()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// rec is an expected output record.
type rec[K, V any] struct {
	Key       K
	Value     V
	Timestamp int64
	Tombstone bool
}

func simplify[K, V any](in []streamstest.KeyValue[K, V]) []rec[K, V] {
	out := make([]rec[K, V], len(in))
	for i, r := range in {
		out[i] = rec[K, V]{r.Key, r.Value, r.Timestamp, r.Tombstone}
	}
	return out
}

func equal[K, V comparable](t *testing.T, what string, got []streamstest.KeyValue[K, V], want []rec[K, V]) {
	t.Helper()
	g := simplify(got)
	n := max(len(g), len(want))
	for i := range n {
		switch {
		case i >= len(g):
			t.Fatalf("%s: record %d missing: want %+v (got %d records, want %d)", what, i, want[i], len(g), len(want))
		case i >= len(want):
			t.Fatalf("%s: extra record %d: %+v (got %d records, want %d)", what, i, g[i], len(g), len(want))
		case g[i] != want[i]:
			t.Fatalf("%s: record %d: got %+v, want %+v", what, i, g[i], want[i])
		}
	}
}
