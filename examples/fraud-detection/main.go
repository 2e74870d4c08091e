// Command fraud-detection flags customers who spend more than 10,000 within a 10-minute
// window.
//
// It reads the topic "transactions" (key: customer id; value: JSON
// {"customer_id": "c1", "amount": 2500.0, "timestamp": "2026-01-15T10:30:00Z"}), takes each
// transaction's event time from its "timestamp" field, sums "amount" per customer over
// 10-minute tumbling windows and, once a window has closed, writes the customers whose total
// is over 10,000 to "suspicious-transactions" (key: customer id; value: JSON
// {"customer_id", "total", "window_start", "window_end"}, times in RFC 3339, UTC; the window
// is [window_start, window_end)).
//
// A window closes when the stream time (the largest event time seen on the customer's
// partition) passes its end plus a grace of one minute: transactions up to a minute out of
// order still count, later ones are dropped. Each window is reported at most once, and it runs
// exactly once: a crash or restart neither loses nor repeats an alert for consumers reading
// with isolation.level=read_committed.
//
// Usage:
//
//	go run ./examples/fraud-detection --brokers localhost:9092
//
// The topics "transactions" and "suspicious-transactions" must exist. It runs until
// interrupted (SIGINT or SIGTERM), then commits and exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
)

// Transaction is a record of "transactions".
type Transaction struct {
	CustomerID string    `json:"customer_id"`
	Amount     float64   `json:"amount"`
	Timestamp  time.Time `json:"timestamp"`
}

// Alert is a record of "suspicious-transactions".
type Alert struct {
	CustomerID  string  `json:"customer_id"`
	Total       float64 `json:"total"`
	WindowStart string  `json:"window_start"`
	WindowEnd   string  `json:"window_end"`
}

const (
	windowSize = 10 * time.Minute
	grace      = time.Minute
	threshold  = 10_000
)

// Topology is the application's processing: transactions in, alerts out.
func Topology() (*processor.Topology, error) {
	b := streams.NewBuilder()
	txs := streams.NewStream(b, "transactions",
		streams.Consumed(serde.String(), serde.JSON[Transaction]()).WithTimestampExtractor(eventTime))
	windowed := streams.WindowedBy(streams.GroupByKey(txs), streams.TumblingWindows(windowSize).Grace(grace))
	totals := streams.AggregateWindowed(windowed,
		func() float64 { return 0 },
		func(_ string, tx Transaction, total float64) float64 { return total + tx.Amount },
		streams.Materialized("totals", serde.Float64()))
	suspicious := totals.Suppress(streams.UntilWindowCloses).ToStream().
		Filter(func(_ serde.Windowed[string], total float64) bool { return total > threshold })
	alerts := streams.Map(suspicious, func(w serde.Windowed[string], total float64) (string, Alert) {
		return w.Key, Alert{CustomerID: w.Key, Total: total,
			WindowStart: time.UnixMilli(w.Start).UTC().Format(time.RFC3339),
			WindowEnd:   time.UnixMilli(w.End).UTC().Format(time.RFC3339)}
	})
	alerts.To("suspicious-transactions", streams.Produced(serde.String(), serde.JSON[Alert]()))
	return b.Build()
}

// eventTime is the transaction's "timestamp"; the record's own timestamp if it has none.
func eventTime(rec processor.Record, recordTimestamp int64) int64 {
	if tx, ok := rec.Value.(Transaction); ok && !tx.Timestamp.IsZero() {
		return tx.Timestamp.UnixMilli()
	}
	return recordTimestamp
}

func main() {
	brokers := flag.String("brokers", "localhost:9092", "bootstrap servers, host:port")
	appID := flag.String("application-id", "fraud-detection", "application.id: consumer group and prefix of internal topics")
	stateDir := flag.String("state-dir", "", "state.dir (default: a directory under the system's temporary directory)")
	flag.Parse()

	topo, err := Topology()
	if err != nil {
		fail(err)
	}
	app, err := streams.NewApp(topo, streams.Config{
		ApplicationID:       *appID,
		Brokers:             []string{*brokers},
		StateDir:            *stateDir,
		ProcessingGuarantee: streams.ExactlyOnce,
		Logger:              slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "fraud-detection:", err)
	os.Exit(1)
}
