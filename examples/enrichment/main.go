// Command enrichment adds the customer's profile to every order.
//
// It reads orders from "orders" (key: order id; value: JSON
// {"order_id": "o1", "customer_id": "c1", "amount": 25.0}) and customer profiles from the
// compacted topic "customers" (key: customer id; value: a JSON object, any fields; a tombstone
// deletes the customer), and writes each order to "orders-enriched" (key: order id; value: the
// order's JSON with a "customer" field holding the customer's profile as it was when the order
// was processed, or null if there was none).
//
// The profiles are a table: the latest value of each key of "customers", kept in the store
// "customers" (backed by the changelog "<application-id>-customers-changelog"). A table is
// partitioned as its topic, so the orders are re-keyed by customer id through a repartition
// topic ("<application-id>-KSTREAM-JOIN-...-left-repartition") to meet their customer's
// partition, and joined there. The repartition topic has as many partitions as "orders";
// "customers" must have the same number (checked at start).
//
// Usage:
//
//	go run ./examples/enrichment --brokers localhost:9092
//
// The topics "orders", "customers" (cleanup.policy=compact) and "orders-enriched" must exist.
// It runs until interrupted (SIGINT or SIGTERM), then commits and exits.
package main

import (
	"context"
	"encoding/json"
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

// Order is a record of "orders".
type Order struct {
	OrderID    string  `json:"order_id"`
	CustomerID string  `json:"customer_id"`
	Amount     float64 `json:"amount"`
}

// EnrichedOrder is a record of "orders-enriched".
type EnrichedOrder struct {
	Order
	Customer json.RawMessage `json:"customer"` // the profile as read from "customers"; null if none
}

// Topology is the application's processing: orders and profiles in, enriched orders out.
func Topology() (*processor.Topology, error) {
	b := streams.NewBuilder()
	customers := streams.NewTable(b, "customers", streams.Consumed(serde.String(), serde.Bytes()),
		streams.Materialized("customers", serde.Bytes()))
	orders := streams.NewStream(b, "orders", streams.Consumed(serde.String(), serde.JSON[Order]()))
	byCustomer := streams.SelectKey(orders, func(_ string, o Order) string { return o.CustomerID }).
		WithSerdes(serde.String(), serde.JSON[Order]())
	enriched := streams.LeftJoinTable(byCustomer, customers, func(o Order, profile *[]byte) EnrichedOrder {
		e := EnrichedOrder{Order: o, Customer: json.RawMessage("null")}
		if profile != nil && json.Valid(*profile) {
			e.Customer = *profile
		}
		return e
	})
	byOrder := streams.SelectKey(enriched, func(_ string, e EnrichedOrder) string { return e.OrderID })
	byOrder.To("orders-enriched", streams.Produced(serde.String(), serde.JSON[EnrichedOrder]()))
	return b.Build()
}

func main() {
	brokers := flag.String("brokers", "localhost:9092", "bootstrap servers, host:port")
	appID := flag.String("application-id", "enrichment", "application.id: consumer group and prefix of internal topics")
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
	fmt.Fprintln(os.Stderr, "enrichment:", err)
	os.Exit(1)
}
