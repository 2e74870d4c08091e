package streams_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/streamstest"
)

// TestRecordCacheInDriver: the driver commits after every piped record, so with the record
// cache a record that updates a word twice (through FlatMapValues) gives one output with
// the final count, and the changelog one record; with StateStoreCacheMaxBytes negative, or
// the store materialized WithCachingDisabled, every update is output and logged. Windowed
// counts likewise, with their (new, old) pairs reaching a downstream table filter.
func TestRecordCacheInDriver(t *testing.T) {
	for _, c := range []struct {
		name      string
		cacheSize int64
		disabled  bool
		want      string // word-counts outputs for the lines "a a b", "a"
	}{
		{"cache", 0, false, "[a=2 b=1 a=3]"},
		{"no cache", streams.NoStateStoreCache, false, "[a=1 a=2 b=1 a=3]"},
		{"store opted out", 0, true, "[a=1 a=2 b=1 a=3]"},
		{"tiny cache", 1, false, "[a=1 a=2 b=1 a=3]"}, // every put evicts, flushing at once
	} {
		t.Run(c.name, func(t *testing.T) {
			b := streams.NewBuilder()
			words := streams.FlatMapValues(streams.NewStream(b, "lines", streams.Consumed(str, str)), strings.Fields)
			mat := streams.Materialized[int64]("counts", nil)
			wmat := streams.Materialized[int64]("window-counts", nil)
			if c.disabled {
				mat, wmat = mat.WithCachingDisabled(), wmat.WithCachingDisabled()
			}
			grouped := streams.GroupBy(words, func(_, w string) string { return w }, streams.Grouped(str, str))
			grouped.Count(mat).ToStream().To("word-counts", streams.Produced(str, i64))
			// Only windows with an even count pass the filter: its output shows the old
			// values it gets (a window going from even to odd is a delete).
			streams.WindowedBy(grouped, streams.TumblingWindows(100*time.Millisecond).Grace(time.Second)).Count(wmat).
				Filter(func(_ serde.Windowed[string], n int64) bool { return n%2 == 0 }).
				ToStream().To("even-windows", streams.Produced(serde.TimeWindowed(str, 100), i64))
			topo, err := b.Build()
			must(t, err)
			d, err := streamstest.New(topo, streamstest.Config{ApplicationID: "app", StateStoreCacheMaxBytes: c.cacheSize})
			must(t, err)
			defer d.Close()
			in := streamstest.NewInput(d, "lines", str, str)
			must(t, in.Pipe("", "a a b", 10))
			must(t, in.Pipe("", "a", 20))
			var got []string
			for _, r := range read(t, d, "word-counts", str, i64) {
				got = append(got, fmt.Sprintf("%s=%d", r.Key, r.Value))
			}
			if fmt.Sprint(got) != c.want {
				t.Fatalf("word-counts %v, want %s", got, c.want)
			}
			logged := len(d.Read("app-counts-changelog"))
			if wantLogged := strings.Count(c.want, "="); logged != wantLogged {
				t.Fatalf("%d changelog records, want %d", logged, wantLogged)
			}
			got = got[:0]
			for _, r := range read(t, d, "even-windows", serde.TimeWindowed(str, 100), i64) {
				if r.Tombstone {
					got = append(got, r.Key.Key+"=deleted")
				} else {
					got = append(got, fmt.Sprintf("%s=%d", r.Key.Key, r.Value))
				}
			}
			// a's window: 2 after the first line (1 is filtered), 3 after the second, which
			// deletes only if the filter gets the old value 2; b's 1 never passes.
			want := []string{"a=2", "a=deleted"}
			if !slices.Equal(got, want) {
				t.Fatalf("even-windows %v, want %v", got, want)
			}
		})
	}
}
