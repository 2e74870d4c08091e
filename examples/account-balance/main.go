// Command account-balance keeps the balance of every account from the event log
// "account-events" (value: JSON {"account_id": "a1", "type": "deposit", "amount": 100.0};
// type "deposit" or "withdrawal"; the record key is not used) and writes each new balance to
// "account-balances" (key: account id; value: JSON {"account_id", "balance"}), so the latest
// record of each account is its balance.
//
// The balances are state derived from the events only: they can be rebuilt at any time by
// replaying the whole log. A new application id does that: its consumer group has no committed
// offsets, so it reads "account-events" from the beginning (auto.offset.reset=earliest), and
// its store and changelog start empty:
//
//	go run ./examples/account-balance --brokers localhost:9092 --application-id account-balance-v2
//
// (then stop the old one and delete its internal topics "<old id>-*" if no longer needed). The
// replay writes every balance again to "account-balances", ending with the same latest values.
//
// Usage:
//
//	go run ./examples/account-balance --brokers localhost:9092
//
// The topics "account-events" and "account-balances" must exist. It runs until interrupted
// (SIGINT or SIGTERM), then commits and exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
)

// Event is a record of "account-events".
type Event struct {
	AccountID string  `json:"account_id"`
	Type      string  `json:"type"` // "deposit" or "withdrawal"
	Amount    float64 `json:"amount"`
}

// Balance is a record of "account-balances".
type Balance struct {
	AccountID string  `json:"account_id"`
	Balance   float64 `json:"balance"`
}

// Topology is the application's processing: events in, balances out.
func Topology() (*processor.Topology, error) {
	b := streams.NewBuilder()
	events := streams.NewStream(b, "account-events", streams.Consumed(serde.String(), serde.JSON[Event]()))
	byAccount := streams.GroupBy(events, func(_ string, e Event) string { return e.AccountID },
		streams.Grouped(serde.String(), serde.JSON[Event]()).WithName("balances"))
	balances := streams.Aggregate(byAccount, func() float64 { return 0 }, Apply,
		streams.Materialized("balances", serde.Float64()))
	out := streams.MapValuesWithKey(balances.ToStream(), func(account string, balance float64) Balance {
		return Balance{AccountID: account, Balance: balance}
	})
	out.To("account-balances", streams.Produced(serde.String(), serde.JSON[Balance]()))
	return b.Build()
}

// Apply applies one event to a balance; events of an unknown type change nothing.
func Apply(_ string, e Event, balance float64) float64 {
	switch e.Type {
	case "deposit":
		return balance + e.Amount
	case "withdrawal":
		return balance - e.Amount
	}
	return balance
}

func main() {
	brokers := flag.String("brokers", "localhost:9092", "bootstrap servers, host:port")
	appID := flag.String("application-id", "account-balance", "application.id: consumer group and prefix of internal topics; a new one replays the events from the beginning")
	stateDir := flag.String("state-dir", "", "state.dir (default: a directory under the system's temporary directory)")
	flag.Parse()

	topo, err := Topology()
	if err != nil {
		fail(err)
	}
	app, err := streams.NewApp(topo, streams.Config{
		ApplicationID: *appID,
		Brokers:       []string{*brokers},
		StateDir:      *stateDir,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, nil)),
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
	fmt.Fprintln(os.Stderr, "account-balance:", err)
	os.Exit(1)
}
