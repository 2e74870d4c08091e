package tests

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/serde"
)

// TestStreamsRecordCache runs a windowed count and a count per key with the record cache on
// (the default 10 MiB) against `sluice serve`, under at-least-once and exactly-once, on an
// input written before the App starts, so that each commit interval holds many updates of
// each key. The read_committed outputs must end at the input's exact count per window and
// per key, each key's successive outputs must only grow, and the cached counts (and their
// changelog) must have far fewer records than the input: one per key and window per commit
// (here at most half the input; it is a few hundred against 6,000). The same windowed count
// with WithCachingDisabled writes one record per input record, as without a cache. The
// exactly-once run processes its tasks on two goroutines (NumStreamThreads: 2).
func TestStreamsRecordCache(t *testing.T) {
	for _, g := range []streams.Guarantee{streams.AtLeastOnce, streams.ExactlyOnce} {
		t.Run(g.String(), func(t *testing.T) { testRecordCache(t, g) })
	}
}

func testRecordCache(t *testing.T, guarantee streams.Guarantee) {
	n := startNode(t)
	const in, windowed, uncached, totals = "rc-in", "rc-windowed", "rc-uncached", "rc-totals"
	for _, topic := range []string{in, windowed, uncached, totals} {
		n.createTopic(topic, 4, nil)
	}
	str, i64 := serde.String(), serde.Int64()
	const size = 10_000
	wser := serde.TimeWindowed(str, size)
	b := streams.NewBuilder()
	grouped := streams.GroupByKey(streams.NewStream(b, in, streams.Consumed(str, str)))
	win := streams.TumblingWindows(size * time.Millisecond).Grace(time.Hour)
	streams.WindowedBy(grouped, win).Count(streams.Materialized[int64]("rc-counts", nil)).
		ToStream().To(windowed, streams.Produced(wser, i64))
	streams.WindowedBy(grouped, win).Count(streams.Materialized[int64]("rc-uncached-counts", nil).WithCachingDisabled()).
		ToStream().To(uncached, streams.Produced(wser, i64))
	grouped.Count(streams.Materialized[int64]("rc-totals", nil)).ToStream().To(totals, streams.Produced(str, i64))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}

	type window struct {
		key   string
		start int64
	}
	const inputs = 6000
	wantWindows, wantTotals := map[window]int64{}, map[string]int64{}
	t0 := time.Now().Add(-time.Hour).UnixMilli() / size * size
	var recs []*kgo.Record
	for i := range inputs {
		k, ts := "k"+strconv.Itoa(i%20), t0+int64(i)*10
		recs = append(recs, &kgo.Record{Topic: in, Key: []byte(k), Value: []byte("v"), Timestamp: time.UnixMilli(ts)})
		wantWindows[window{k, ts / size * size}]++
		wantTotals[k]++
	}
	ctx := t.Context()
	if err := n.client().ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// Exactly-once processes the four tasks on two goroutines (NumStreamThreads), so the
	// caching stores' shared budget, the changelogs and the transaction see tasks in
	// parallel; at-least-once on the loop's goroutine alone.
	threads := 1
	if guarantee == streams.ExactlyOnce {
		threads = 2
	}
	appID := "rc-" + guarantee.String()
	reg := prometheus.NewRegistry()
	app := runStreamsApp(t, ctx, topo, streams.Config{ApplicationID: appID, Brokers: []string{n.kafkaAddr}, StateDir: t.TempDir(),
		ProcessingGuarantee: guarantee, CommitInterval: 500 * time.Millisecond, NumStreamThreads: threads, Registerer: reg})

	changelog := appID + "-rc-counts-changelog"
	consumer := n.client(kgo.ConsumeTopics(windowed, uncached, totals, changelog),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	gotWindows, gotUncached, gotTotals := map[window]int64{}, map[window]int64{}, map[string]int64{}
	records := map[string]int{}
	done2 := func() bool {
		for w, c := range wantWindows {
			if gotWindows[w] != c || gotUncached[w] != c {
				return false
			}
		}
		for k, c := range wantTotals {
			if gotTotals[k] != c {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(90 * time.Second)
	for !done2() {
		if time.Now().After(deadline) {
			t.Fatalf("after 90 s: %d of %d windows, %d of %d uncached windows, %d of %d keys final; records %v (state %v)",
				countEqual(gotWindows, wantWindows), len(wantWindows), countEqual(gotUncached, wantWindows), len(wantWindows),
				countEqual(gotTotals, wantTotals), len(wantTotals), records, app.State())
		}
		pollCtx, cancel := context.WithTimeout(ctx, time.Second)
		fs := consumer.PollFetches(pollCtx)
		cancel()
		var ferr error
		fs.EachRecord(func(r *kgo.Record) {
			records[r.Topic]++
			if r.Topic == changelog {
				return
			}
			c, err := i64.Deserialize(r.Topic, r.Value)
			if err != nil {
				ferr = err
				return
			}
			if r.Topic == totals {
				if c <= gotTotals[string(r.Key)] {
					ferr = fmt.Errorf("key %s: count %d after %d", r.Key, c, gotTotals[string(r.Key)])
				}
				gotTotals[string(r.Key)] = c
				return
			}
			w, err := wser.Deserialize(r.Topic, r.Key)
			if err != nil {
				ferr = err
				return
			}
			k, got := window{w.Key, w.Start}, gotWindows
			if r.Topic == uncached {
				got = gotUncached
				if c != got[k]+1 {
					ferr = fmt.Errorf("uncached window %v: count %d after %d (one record per update expected)", k, c, got[k])
				}
			}
			if c <= got[k] {
				ferr = fmt.Errorf("%s window %v: count %d after %d", r.Topic, k, c, got[k])
			}
			got[k] = c
		})
		if ferr != nil {
			t.Fatal(ferr)
		}
	}
	// Every window reaches the changelog at least once (the read may lag the outputs).
	for records[changelog] < len(wantWindows) {
		if time.Now().After(deadline) {
			t.Fatalf("the changelog %s has %d records, fewer than the %d windows", changelog, records[changelog], len(wantWindows))
		}
		pollCtx, cancel := context.WithTimeout(ctx, time.Second)
		consumer.PollFetches(pollCtx).EachRecord(func(r *kgo.Record) { records[r.Topic]++ })
		cancel()
	}
	// The uncached count wrote one record per input; the cached ones far fewer.
	if records[uncached] != inputs {
		t.Errorf("the uncached windowed count wrote %d records, want one per input, %d", records[uncached], inputs)
	}
	for _, topic := range []string{windowed, totals, changelog} {
		if records[topic] > inputs/2 {
			t.Errorf("%s has %d records for %d inputs: the cache did not merge the updates of a commit interval", topic, records[topic], inputs)
		}
	}
	// The cache's metrics: each update of a cached count reads its key or window first, and
	// all but the first read of each come from the cache (nothing is evicted from 10 MiB).
	hits, misses := registryMetric(t, reg, "sluice_streams_cache_hits_total"), registryMetric(t, reg, "sluice_streams_cache_misses_total")
	evictions, heldBytes := registryMetric(t, reg, "sluice_streams_cache_evictions_total"), registryMetric(t, reg, "sluice_streams_cache_size_bytes")
	if hits < inputs || misses < float64(len(wantWindows)) || hits < 10*misses || evictions != 0 || heldBytes <= 0 {
		t.Errorf("cache metrics: %v hits, %v misses, %v evictions, %v bytes; want at least %d hits, %d misses, ten times as many hits, none evicted, some bytes held",
			hits, misses, evictions, heldBytes, inputs, len(wantWindows))
	}
	t.Logf("%s: %d inputs; records: %v; cache: %v hits, %v misses", guarantee, inputs, records, hits, misses)
}

func countEqual[K comparable](got, want map[K]int64) int {
	n := 0
	for k, c := range want {
		if got[k] == c {
			n++
		}
	}
	return n
}
