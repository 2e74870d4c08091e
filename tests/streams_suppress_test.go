package tests

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/serde"
)

// TestStreamsSuppressUntilTimeLimit runs, in an App against `sluice serve` under exactly-once,
// a per-key count (without the record cache, so every update reaches the suppression) limited
// by Suppress(UntilTimeLimit(300 ms)), over out-of-order input. Each key's read_committed
// output must equal a model of the suppression buffer of its partition's task: a key's first
// held update fixes when it is emitted (its timestamp + the limit, against the largest
// timestamp the task's suppression has seen), later updates replace the held value.
func TestStreamsSuppressUntilTimeLimit(t *testing.T) {
	n := startNode(t)
	n.createTopic("tl-events", 3, nil)
	n.createTopic("tl-limited", 3, nil)
	str, i64 := serde.String(), serde.Int64()
	const limit = 300
	b := streams.NewBuilder()
	events := streams.NewStream(b, "tl-events", streams.Consumed(str, str))
	streams.GroupByKey(events).Count(streams.Materialized[int64]("tl-counts", nil).WithCachingDisabled()).
		Suppress(streams.UntilTimeLimit(limit*time.Millisecond)).ToStream().
		To("tl-limited", streams.Produced(str, i64))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(41, 42))
	now := time.Now().Add(-time.Hour).UnixMilli()
	var recs []*kgo.Record
	for range 1500 {
		now += rng.Int64N(30)
		ts := now
		if rng.IntN(5) == 0 {
			ts -= rng.Int64N(400) // out of order
		}
		recs = append(recs, &kgo.Record{Topic: "tl-events", Key: []byte("k" + strconv.Itoa(rng.IntN(9))), Value: []byte("x"),
			Timestamp: time.UnixMilli(ts)})
	}
	cl := n.client()
	ctx := t.Context()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The models, one per input partition, fed in offset order (ProduceSync kept each
	// partition's order).
	type held struct {
		first, ts, count int64
	}
	type model struct {
		observed int64
		held     map[string]*held
	}
	models := map[int32]*model{}
	counts, latest := map[string]int64{}, map[string]int64{}
	want := map[string][]string{}
	total := 0
	for _, r := range recs {
		m := models[r.Partition]
		if m == nil {
			m = &model{observed: math.MinInt64, held: map[string]*held{}}
			models[r.Partition] = m
		}
		k, ts := string(r.Key), r.Timestamp.UnixMilli()
		counts[k]++
		if l, ok := latest[k]; !ok || ts > l {
			latest[k] = ts
		}
		h := m.held[k]
		if h == nil {
			h = &held{first: latest[k]}
			m.held[k] = h
		}
		h.ts, h.count = latest[k], counts[k]
		m.observed = max(m.observed, latest[k])
		var due []string
		for hk, hh := range m.held {
			if hh.first <= m.observed-limit {
				due = append(due, hk)
			}
		}
		slices.SortFunc(due, func(a, b string) int {
			if d := m.held[a].first - m.held[b].first; d != 0 {
				return int(d)
			}
			if a < b {
				return -1
			}
			return 1
		})
		for _, dk := range due {
			hh := m.held[dk]
			want[dk] = append(want[dk], strconv.FormatInt(hh.count, 10)+"@"+strconv.FormatInt(hh.ts, 10))
			delete(m.held, dk)
			total++
		}
	}
	if total == 0 || total > len(recs)/2 {
		t.Fatalf("model: %d of %d updates emitted: the limit does not shape the output", total, len(recs))
	}

	app := runStreamsApp(t, ctx, topo, streams.Config{ApplicationID: "tl", Brokers: []string{n.kafkaAddr}, StateDir: t.TempDir(),
		ProcessingGuarantee: streams.ExactlyOnce, CommitInterval: 200 * time.Millisecond})
	consumer := n.client(kgo.ConsumeTopics("tl-limited"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	got := map[string][]string{}
	read := 0
	poll := func() {
		pollCtx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		consumer.PollFetches(pollCtx).EachRecord(func(r *kgo.Record) {
			c, err := i64.Deserialize(r.Topic, r.Value)
			if err != nil {
				t.Errorf("output record: %v", err)
				return
			}
			got[string(r.Key)] = append(got[string(r.Key)], strconv.FormatInt(c, 10)+"@"+strconv.FormatInt(r.Timestamp.UnixMilli(), 10))
			read++
		})
	}
	for deadline := time.Now().Add(90 * time.Second); read < total && time.Now().Before(deadline); {
		poll()
	}
	poll() // anything beyond the expected records would show up too
	if read != total {
		t.Errorf("read %d records, want %d (state %v)", read, total, app.State())
	}
	for k, w := range want {
		if !slices.Equal(got[k], w) {
			t.Fatalf("key %s:\n got %v\nwant %v", k, got[k], w)
		}
	}
	t.Logf("%d input records, %d limited outputs", len(recs), total)
}
