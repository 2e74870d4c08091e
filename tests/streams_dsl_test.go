package tests

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/state"
)

// TestStreamsDSLAgainstBroker runs a DSL topology in an App against `sluice serve` under
// exactly-once, without the record cache: orders (keyed by order id, 4 partitions) are rekeyed by customer (three
// repartition topics: one per grouping and one for the join), joined with a customers table
// (4 partitions), counted per customer in tumbling windows and summed per customer. The
// read_committed outputs are checked against the produced input: every order enriched with its
// customer's name once, each window's counts going 1..n by one (nothing lost or doubled), each
// customer's running totals ending at the sum of its orders.
func TestStreamsDSLAgainstBroker(t *testing.T) {
	n := startNode(t)
	for _, topic := range []string{"dsl-orders", "dsl-customers", "dsl-enriched", "dsl-window-counts", "dsl-totals"} {
		n.createTopic(topic, 4, nil)
	}
	str, i64 := serde.String(), serde.Int64()
	b := streams.NewBuilder()
	customers := streams.NewTable(b, "dsl-customers", streams.Consumed(str, str), streams.Materialized[string]("customers", nil))
	orders := streams.NewStream(b, "dsl-orders", streams.Consumed(str, str))
	byCustomer := streams.Map(orders, func(_ string, v string) (string, int64) {
		c, amount, _ := strings.Cut(v, ":")
		a, _ := strconv.ParseInt(amount, 10, 64)
		return c, a
	}).WithSerdes(str, i64)
	streams.JoinTable(byCustomer, customers, func(amount int64, name string) string {
		return name + ":" + strconv.FormatInt(amount, 10)
	}).To("dsl-enriched", streams.Produced(str, str))
	streams.WindowedBy(streams.GroupByKey(byCustomer), streams.TumblingWindows(10*time.Second).Grace(time.Hour)).
		Count(streams.Materialized[int64]("window-counts", nil)).ToStream().
		To("dsl-window-counts", streams.Produced(serde.TimeWindowed(str, 10_000), i64))
	streams.GroupByKey(byCustomer).Reduce(func(a, v int64) int64 { return a + v }, streams.Materialized[int64]("totals", nil)).
		ToStream().To("dsl-totals", streams.Produced(str, i64))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}

	cl := n.client()
	ctx := t.Context()
	t0 := time.Now().Add(-time.Hour).UnixMilli() / 10_000 * 10_000
	var recs []*kgo.Record
	for i := range 20 {
		recs = append(recs, &kgo.Record{Topic: "dsl-customers", Key: []byte("c" + strconv.Itoa(i)), Value: []byte("name" + strconv.Itoa(i)), Timestamp: time.UnixMilli(t0)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// No record cache: the check that each window's counts go 1..n by one needs every update
	// (TestStreamsRecordCache runs the cache).
	app := runStreamsApp(t, ctx, topo, streams.Config{ApplicationID: "dsl", Brokers: []string{n.kafkaAddr}, StateDir: t.TempDir(),
		ProcessingGuarantee: streams.ExactlyOnce, CommitInterval: 200 * time.Millisecond, StateStoreCacheMaxBytes: streams.NoStateStoreCache})
	// The join needs the table loaded before the orders come.
	deadline := time.Now().Add(60 * time.Second)
	for {
		s, err := app.Store("customers")
		if err == nil {
			if entries, err := s.(state.KeyValueStore).ApproximateEntries(); err == nil && entries == 20 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the customers table did not load (state %v, %v)", app.State(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	type window struct {
		customer string
		start    int64
	}
	wantEnriched := map[string]int{}
	wantCounts := map[window]int64{}
	wantTotals := map[string]int64{}
	recs = recs[:0]
	const orderCount = 600
	for i := range orderCount {
		c, amount, ts := "c"+strconv.Itoa(i*7%20), int64(i%97), t0+1000+int64(i)*150
		recs = append(recs, &kgo.Record{Topic: "dsl-orders", Key: []byte("o" + strconv.Itoa(i)), Value: []byte(c + ":" + strconv.FormatInt(amount, 10)), Timestamp: time.UnixMilli(ts)})
		wantEnriched[c+"="+"name"+c[1:]+":"+strconv.FormatInt(amount, 10)]++
		wantCounts[window{c, ts / 10_000 * 10_000}]++
		wantTotals[c] += amount
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	consumer := n.client(kgo.ConsumeTopics("dsl-enriched", "dsl-window-counts", "dsl-totals"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	gotEnriched := map[string]int{}
	lastCount := map[window]int64{}
	totals := map[string]int64{}
	enriched, counted, summed := 0, 0, 0
	deadline = time.Now().Add(90 * time.Second)
	for enriched < orderCount || counted < orderCount || summed < orderCount {
		if time.Now().After(deadline) {
			t.Fatalf("after 90 s: %d enriched, %d counted, %d summed of %d orders (state %v)", enriched, counted, summed, orderCount, app.State())
		}
		pollCtx, cancel := context.WithTimeout(ctx, time.Second)
		fs := consumer.PollFetches(pollCtx)
		cancel()
		var ferr error
		fs.EachRecord(func(r *kgo.Record) {
			switch r.Topic {
			case "dsl-enriched":
				gotEnriched[string(r.Key)+"="+string(r.Value)]++
				enriched++
			case "dsl-window-counts":
				w, err := serde.TimeWindowed(str, 10_000).Deserialize(r.Topic, r.Key)
				if err != nil {
					ferr = err
					return
				}
				c, _ := i64.Deserialize(r.Topic, r.Value)
				k := window{w.Key, w.Start}
				if c != lastCount[k]+1 {
					ferr = fmt.Errorf("window %v: count %d after %d (lost or doubled input)", k, c, lastCount[k])
				}
				lastCount[k] = c
				counted++
			case "dsl-totals":
				v, _ := i64.Deserialize(r.Topic, r.Value)
				totals[string(r.Key)] = v
				summed++
			}
		})
		if ferr != nil {
			t.Fatal(ferr)
		}
	}
	if enriched != orderCount || counted != orderCount || summed != orderCount {
		t.Fatalf("%d enriched, %d counted, %d summed: want %d each", enriched, counted, summed, orderCount)
	}
	for k, want := range wantEnriched {
		if gotEnriched[k] != want {
			t.Fatalf("enriched %q %d times, want %d", k, gotEnriched[k], want)
		}
	}
	for k, want := range wantCounts {
		if lastCount[k] != want {
			t.Fatalf("window %v counted %d, want %d", k, lastCount[k], want)
		}
	}
	for c, want := range wantTotals {
		if totals[c] != want {
			t.Fatalf("total of %s is %d, want %d", c, totals[c], want)
		}
	}
	topics, err := n.admin().ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dsl-totals-repartition", "dsl-window-counts-repartition", "dsl-customers-changelog", "dsl-totals-changelog", "dsl-window-counts-changelog"} {
		if !topics.Has(name) {
			t.Errorf("no internal topic %s (have %v)", name, topics.Names())
		}
	}
}
