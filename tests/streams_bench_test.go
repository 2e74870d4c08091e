package tests

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
)

// TestStreamsThroughput measures the streams library against a plain franz-go loop, all in one
// run on one `sluice serve` (docs/benchmarks.md, "Streams"):
//
//	SLUICE_STREAMS_BENCH=1 go test ./tests -run TestStreamsThroughput -v -timeout 30m
//
// (SLUICE_STREAMS_BENCH_ROUNDS=N changes the number of rounds, 5 by default;
// SLUICE_STREAMS_BENCH_KINDS=loop,stateless runs only those kinds;
// SLUICE_STREAMS_BENCH_RECORDS=N writes N input records instead of 500,000.)
//
// The input (streamsBenchRecords records, 1,000 keys, 100-byte values, event times 1 ms apart,
// 4 partitions) is written once; every run reads all of it from the start under a new group
// or application id and writes to a new output topic. A run ends when a read_committed
// consumer in the same process has read all its output records; records/s is input records
// over that time. The runs interleave, each round in the same order:
//   - loop: a franz-go consumer group member that produces every record it reads, as is;
//   - stateless: a streams App (at-least-once): filter (drops the 10 % of keys ending in 0),
//     mapValues (upper-cases the value), to;
//   - stateless-2: the same with NumStreamThreads 2 (the four tasks on two goroutines);
//   - windowed-nocache: groupByKey, 1-minute tumbling windows (grace 0), count, toStream, to,
//     at-least-once (commit interval 30 s, the default), without the record cache: every
//     record an update, an output record and a changelog record;
//   - windowed: the same with the record cache (the default 10 MiB) and a commit interval of
//     100 ms: one output and one changelog record per window per commit;
//   - windowed-eos: windowed under exactly-once (commit interval 100 ms, the default);
//   - restore: a new instance of the windowed-nocache run's application with an empty state
//     directory restores the windowed store from its changelog (one record per input); MB/s
//     is the changelog's key and value bytes (the restored-bytes metric) over the time from
//     the first "restoring" to the last "restored" log record.
//
// Reported: each figure's median over the rounds and the ratios of the medians. It asserts
// nothing about the figures (two noisy cores).
func TestStreamsThroughput(t *testing.T) {
	if os.Getenv("SLUICE_STREAMS_BENCH") == "" {
		t.Skip("a measurement: set SLUICE_STREAMS_BENCH=1")
	}
	rounds := 5
	if r, err := strconv.Atoi(os.Getenv("SLUICE_STREAMS_BENCH_ROUNDS")); err == nil && r > 0 {
		rounds = r
	}
	if r, err := strconv.Atoi(os.Getenv("SLUICE_STREAMS_BENCH_RECORDS")); err == nil && r > 0 {
		streamsBenchRecords = r
	}
	n := startNode(t)
	n.createTopic("bench-in", 4, nil)
	value := bytes.Repeat([]byte("abcdefghij"), 10)
	var recs []*kgo.Record
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range streamsBenchRecords {
		recs = append(recs, &kgo.Record{Topic: "bench-in", Key: fmt.Appendf(nil, "k%04d", i%1000), Value: value,
			Timestamp: base.Add(time.Duration(i) * time.Millisecond)})
	}
	produceAll(t, n.client(kgo.ProducerBatchMaxBytes(1<<20)), recs)

	logAppendTime := "LogAppendTime"
	rates, steady := map[string][]float64{}, map[string][]float64{}
	var restoreMBps []float64
	kinds := streamsBenchKinds
	if k := os.Getenv("SLUICE_STREAMS_BENCH_KINDS"); k != "" {
		kinds = strings.Split(k, ",")
	}
	for r := range rounds {
		for _, kind := range kinds {
			id := fmt.Sprintf("%s-%d", kind, r)
			n.createTopic("out-"+id, 4, map[string]*string{"message.timestamp.type": &logAppendTime})
			var rate benchRate
			switch kind {
			case "loop":
				rate = benchLoop(t, n, id)
			default:
				var stateDir string
				rate, stateDir = benchStreamsRun(t, n, kind, id)
				if kind == "windowed-nocache" { // the changelog of every update, as in runs A-C
					mbps, mb := benchRestore(t, n, id)
					restoreMBps = append(restoreMBps, mbps)
					t.Logf("round %d restore of %.1f MB: %.1f MB/s", r, mb, mbps)
				}
				os.RemoveAll(stateDir)
			}
			rates[kind] = append(rates[kind], rate.total)
			steady[kind] = append(steady[kind], rate.steady)
			t.Logf("round %d %-16s %8.0f records/s, steady %8.0f records/s", r, kind, rate.total, rate.steady)
		}
	}
	med := func(xs []float64) float64 {
		if len(xs) == 0 {
			return math.NaN() // a kind not run
		}
		s := slices.Clone(xs)
		slices.Sort(s)
		return s[len(s)/2]
	}
	for _, kind := range kinds {
		t.Logf("median %-16s %8.0f records/s (runs %.0f); steady %8.0f (runs %.0f)", kind, med(rates[kind]), rates[kind], med(steady[kind]), steady[kind])
	}
	for _, m := range []struct {
		name string
		rs   map[string][]float64
	}{{"whole run", rates}, {"steady", steady}} {
		t.Logf("%s: stateless / loop %.2f (goal >= 0.8; two threads %.2f); windowed / loop %.2f (goal >= 0.5; without the cache %.2f); windowed exactly-once / at-least-once %.2f",
			m.name, med(m.rs["stateless"])/med(m.rs["loop"]), med(m.rs["stateless-2"])/med(m.rs["loop"]), med(m.rs["windowed"])/med(m.rs["loop"]),
			med(m.rs["windowed-nocache"])/med(m.rs["loop"]), med(m.rs["windowed-eos"])/med(m.rs["windowed"]))
	}
	t.Logf("restore: median %.1f MB/s (runs %.1f)", med(restoreMBps), restoreMBps)
}

// streamsBenchRecords is the input's size: 500,000, or SLUICE_STREAMS_BENCH_RECORDS.
var streamsBenchRecords = 500_000

var streamsBenchKinds = []string{"loop", "stateless", "stateless-2", "windowed-nocache", "windowed", "windowed-eos"}

// benchCommitInterval is the cached windowed runs' commit interval: the record cache
// writes their output at commits.
const benchCommitInterval = 100 * time.Millisecond

// benchWaitOutput reads out-<id> read_committed until want records arrived (counted: until
// the latest counts of the windows add up to want); it returns the time since start and the
// time from the first output record's append to the broker's log to the last's (the output
// topics have message.timestamp.type=LogAppendTime).
func benchWaitOutput(t *testing.T, n *node, id string, want int, counted bool, start time.Time) (total, steady time.Duration) {
	t.Helper()
	cl := n.client(kgo.ConsumeTopics("out-"+id), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	defer cl.Close()
	got := 0
	latest := map[string]int{} // counted: each window's latest count
	var first, last int64 = math.MaxInt64, 0
	deadline := time.Now().Add(5 * time.Minute)
	for got < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d output records after 5 minutes", id, got, want)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if counted {
				c := int(binary.BigEndian.Uint64(r.Value))
				got += c - latest[string(r.Key)]
				latest[string(r.Key)] = c
			} else {
				got++
			}
			first, last = min(first, r.Timestamp.UnixMilli()), max(last, r.Timestamp.UnixMilli())
		})
		cancel()
	}
	return time.Since(start), time.Duration(last-first) * time.Millisecond
}

// benchRate is input records/s over the whole run and over its steady part (first output
// record to last).
type benchRate struct{ total, steady float64 }

func benchRates(records int, total, steady time.Duration) benchRate {
	return benchRate{float64(records) / total.Seconds(), float64(records) / steady.Seconds()}
}

// benchLoop is the plain consume→produce loop.
func benchLoop(t *testing.T, n *node, id string) benchRate {
	t.Helper()
	cl := n.client(kgo.ConsumerGroup("loop-"+id), kgo.ConsumeTopics("bench-in"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		out := "out-" + id
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				cl.Produce(ctx, &kgo.Record{Topic: out, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}, nil)
			})
		}
	}()
	total, steady := benchWaitOutput(t, n, id, streamsBenchRecords, false, start)
	cancel()
	wg.Wait()
	cl.Close()
	return benchRates(streamsBenchRecords, total, steady)
}

// benchTopology is the stateless or the windowed topology.
func benchTopology(t *testing.T, kind, out string) *processor.Topology {
	t.Helper()
	b := streams.NewBuilder()
	in := streams.NewStream(b, "bench-in", streams.Consumed(serde.String(), serde.Bytes()))
	if strings.HasPrefix(kind, "stateless") {
		kept := in.Filter(func(k string, _ []byte) bool { return !strings.HasSuffix(k, "0") })
		streams.MapValues(kept, bytes.ToUpper).To(out, streams.Produced(serde.String(), serde.Bytes()))
	} else {
		counts := streams.WindowedBy(streams.GroupByKey(in), streams.TumblingWindows(time.Minute).Grace(0)).
			Count(streams.Materialized("counts", serde.Int64()))
		counts.ToStream().To(out, streams.Produced(serde.TimeWindowed(serde.String(), time.Minute.Milliseconds()), serde.Int64()))
	}
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// benchStreamsRun runs the topology of kind as application id until its output is complete;
// it returns records/s and the state directory (kept for benchRestore's comparison).
func benchStreamsRun(t *testing.T, n *node, kind, id string) (benchRate, string) {
	t.Helper()
	stateDir := t.TempDir()
	cfg := streams.Config{ApplicationID: id, Brokers: []string{n.kafkaAddr}, StateDir: stateDir}
	switch kind {
	case "windowed-nocache":
		cfg.StateStoreCacheMaxBytes = streams.NoStateStoreCache
	case "windowed":
		cfg.CommitInterval = benchCommitInterval
	case "windowed-eos":
		cfg.ProcessingGuarantee = streams.ExactlyOnce
	case "stateless-2":
		cfg.NumStreamThreads = 2
	}
	app, err := streams.NewApp(benchTopology(t, kind, "out-"+id), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := streamsBenchRecords
	if strings.HasPrefix(kind, "stateless") {
		want = streamsBenchRecords * 9 / 10
	}
	start := time.Now()
	errc := make(chan error, 1)
	go func() { errc <- app.Run(context.Background()) }()
	counted := strings.HasPrefix(kind, "windowed")
	total, steady := benchWaitOutput(t, n, id, want, counted, start)
	if err := app.Close(); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	<-errc
	if kind == "windowed" || kind == "windowed-eos" {
		// The first output is written at the first commit after processing began: count a
		// whole commit interval before it, so the steady rate is not flattered.
		steady += benchCommitInterval
	}
	return benchRates(streamsBenchRecords, total, steady), stateDir
}

// restoreLog records when restores began and ended, from the runtime's log.
type restoreLog struct {
	mu          sync.Mutex
	first, last time.Time
	restoring   int
	restored    int
}

func (h *restoreLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h *restoreLog) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *restoreLog) WithGroup(string) slog.Handler                { return h }
func (h *restoreLog) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch r.Message {
	case "restoring":
		if h.restoring == 0 {
			h.first = r.Time
		}
		h.restoring++
	case "restored":
		h.last = r.Time
		h.restored++
	}
	return nil
}

func (h *restoreLog) done() (bool, time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.restoring > 0 && h.restored == h.restoring, h.last.Sub(h.first)
}

// benchRestore starts the windowed application id again on an empty state directory and
// returns the restore's MB/s and MB.
func benchRestore(t *testing.T, n *node, id string) (float64, float64) {
	t.Helper()
	logs := &restoreLog{}
	reg := prometheus.NewRegistry()
	app, err := streams.NewApp(benchTopology(t, "windowed", "out-"+id), streams.Config{ApplicationID: id,
		Brokers: []string{n.kafkaAddr}, StateDir: t.TempDir(), Logger: slog.New(logs), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- app.Run(context.Background()) }()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if ok, _ := logs.done(); ok && app.State() == streams.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: restore not done after 3 minutes (state %v)", id, app.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, took := logs.done()
	restored := registryMetric(t, reg, "sluice_streams_restored_bytes_total")
	if err := app.Close(); err != nil {
		t.Fatalf("%s restore: %v", id, err)
	}
	<-errc
	if restored == 0 {
		t.Fatalf("%s: nothing restored", id)
	}
	mb := restored / 1e6
	return mb / took.Seconds(), mb
}
