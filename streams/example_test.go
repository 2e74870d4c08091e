package streams_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/streamstest"
)

// Word count: lines split into words, regrouped by word (a repartition topic), counted, the
// counts written as decimal strings.
func Example_wordCount() {
	b := streams.NewBuilder()
	lines := streams.NewStream(b, "text-lines", streams.Consumed(serde.String(), serde.String()))
	words := streams.FlatMapValues(lines, func(line string) []string { return strings.Fields(strings.ToLower(line)) })
	counts := streams.GroupBy(words, func(_, word string) string { return word }, streams.Grouped(serde.String(), serde.String())).
		Count(streams.Materialized[int64]("counts", nil))
	counts.ToStream().To("word-counts", streams.Produced(serde.String(), serde.Int64String()))

	topo, _ := b.Build()
	d, _ := streamstest.New(topo, streamstest.Config{})
	defer d.Close()
	in := streamstest.NewInput(d, "text-lines", serde.String(), serde.String())
	in.Pipe("", "the quick fox", 1)
	in.Pipe("", "The lazy dog", 2)
	out, _ := streamstest.NewOutput(d, "word-counts", serde.String(), serde.String()).Read()
	for _, r := range out {
		fmt.Println(r.Key, r.Value)
	}
	// Output:
	// the 1
	// quick 1
	// fox 1
	// the 2
	// lazy 1
	// dog 1
}

type transaction struct {
	CustomerID string  `json:"customer_id"`
	Amount     float64 `json:"amount"`
	Timestamp  string  `json:"timestamp"`
}

type alert struct {
	CustomerID  string  `json:"customer_id"`
	Total       float64 `json:"total"`
	WindowStart int64   `json:"window_start"`
	WindowEnd   int64   `json:"window_end"`
}

// Fraud detection: amounts summed per customer over 10-minute tumbling windows on the
// transactions' own timestamps; a window's final total over 10,000 is written once it closes.
func Example_fraudDetection() {
	tx := serde.JSON[transaction]()
	eventTime := func(rec processor.Record, _ int64) int64 {
		t, err := time.Parse(time.RFC3339, rec.Value.(transaction).Timestamp)
		if err != nil {
			return -1 // dropped
		}
		return t.UnixMilli()
	}
	b := streams.NewBuilder()
	txs := streams.NewStream(b, "transactions", streams.Consumed(serde.String(), tx).WithTimestampExtractor(eventTime))
	amounts := streams.MapValues(txs, func(t transaction) float64 { return t.Amount })
	totals := streams.WindowedBy(streams.GroupByKey(amounts, streams.Grouped(serde.String(), serde.Float64())),
		streams.TumblingWindows(10*time.Minute).Grace(time.Minute)).
		Reduce(func(a, b float64) float64 { return a + b }, streams.Materialized("totals", serde.Float64()))
	final := totals.Suppress(streams.UntilWindowCloses).ToStream().Filter(func(_ serde.Windowed[string], total float64) bool { return total > 10000 })
	streams.Map(final, func(w serde.Windowed[string], total float64) (string, alert) {
		return w.Key, alert{w.Key, total, w.Start, w.End}
	}).To("suspicious-transactions", streams.Produced(serde.String(), serde.JSON[alert]()))

	topo, _ := b.Build()
	d, _ := streamstest.New(topo, streamstest.Config{})
	defer d.Close()
	in := streamstest.NewInput(d, "transactions", serde.String(), tx)
	in.Pipe("c1", transaction{"c1", 6000, "2026-01-15T10:30:00Z"}, 0)
	in.Pipe("c2", transaction{"c2", 500, "2026-01-15T10:31:00Z"}, 0)
	in.Pipe("c1", transaction{"c1", 5000, "2026-01-15T10:39:59Z"}, 0)
	in.Pipe("c1", transaction{"c1", 9000, "2026-01-15T10:41:00Z"}, 0) // next window
	in.Pipe("c2", transaction{"c2", 1, "2026-01-15T10:51:00Z"}, 0)    // closes 10:30-10:40 (+1 min grace)
	out, _ := streamstest.NewOutput(d, "suspicious-transactions", serde.String(), serde.JSON[alert]()).Read()
	for _, r := range out {
		fmt.Printf("%s %.0f %s\n", r.Key, r.Value.Total, time.UnixMilli(r.Value.WindowStart).UTC().Format("15:04"))
	}
	// Output:
	// c1 11000 10:30
}
