package tests

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/state"
)

// enrichTopology: orders (key: customer) are counted per customer in the store "counts" and
// written to "enriched" as "COUNT|PROFILE", the profile read from the global store
// "profiles" (topic "profiles"); a wall-clock punctuator writes ("tick", TASK) every 100 ms.
func enrichTopology() *processor.Topology {
	t := processor.NewTopology()
	t.AddGlobalStore(processor.StoreSpec{Name: "profiles", Kind: processor.KeyValueStore}, "profiles", processor.SourceOptions{},
		func() processor.Processor {
			var store state.KeyValueStore
			return &funcProc{
				init: func(ctx processor.Context) (err error) { store, err = ctx.KeyValueStore("profiles"); return err },
				process: func(_ processor.Context, rec processor.Record) error {
					v, _ := rec.Value.([]byte)
					return store.Put(rec.Key.([]byte), v)
				},
			}
		})
	t.AddSource("orders", processor.SourceOptions{}, "orders")
	t.AddProcessor("enrich", func() processor.Processor {
		var counts, profiles state.KeyValueStore
		return &funcProc{
			init: func(ctx processor.Context) error {
				var err error
				if counts, err = ctx.KeyValueStore("counts"); err != nil {
					return err
				}
				if profiles, err = ctx.KeyValueStore("profiles"); err != nil {
					return err
				}
				ctx.Schedule(100*time.Millisecond, processor.WallClockTime, func(ts int64) error {
					return ctx.Forward(processor.Record{Key: []byte("tick"), Value: []byte(ctx.TaskID().String()), Timestamp: ts})
				})
				return nil
			},
			process: func(ctx processor.Context, rec processor.Record) error {
				key := rec.Key.([]byte)
				old, err := counts.Get(key)
				if err != nil {
					return err
				}
				n, _ := strconv.Atoi(string(old))
				n++
				if err := counts.Put(key, []byte(strconv.Itoa(n))); err != nil {
					return err
				}
				profile, err := profiles.Get(key)
				if err != nil {
					return err
				}
				return ctx.Forward(rec.WithValue([]byte(fmt.Sprintf("%d|%s", n, profile))))
			},
		}
	}, "orders")
	t.AddStore(processor.StoreSpec{Name: "counts", Kind: processor.KeyValueStore}, "enrich")
	t.AddSink("out", "enriched", processor.SinkOptions{}, "enrich")
	return t
}

type funcProc struct {
	ctx     processor.Context
	init    func(processor.Context) error
	process func(processor.Context, processor.Record) error
}

func (f *funcProc) Init(ctx processor.Context) error { f.ctx = ctx; return f.init(ctx) }
func (f *funcProc) Process(rec processor.Record) error {
	return f.process(f.ctx, rec)
}
func (f *funcProc) Close() error { return nil }

type inprocApp struct {
	app  *streams.App
	reg  *prometheus.Registry
	logs *syncBuffer
	done chan error
}

func startInprocApp(t *testing.T, n *node, host string) *inprocApp {
	t.Helper()
	a := &inprocApp{reg: prometheus.NewRegistry(), logs: &syncBuffer{}, done: make(chan error, 1)}
	app, err := streams.NewApp(enrichTopology(), streams.Config{
		ApplicationID: "enrich", Brokers: []string{n.kafkaAddr}, StateDir: t.TempDir(),
		CommitInterval: 200 * time.Millisecond, NumStandbyReplicas: 1, ApplicationServer: host,
		Registerer: a.reg, Logger: slog.New(slog.NewTextHandler(a.logs, nil)),
		ClientOptions: []kgo.Opt{kgo.SessionTimeout(6 * time.Second), kgo.HeartbeatInterval(time.Second)},
	})
	if err != nil {
		t.Fatal(err)
	}
	a.app = app
	go func() { a.done <- app.Run(context.Background()) }()
	t.Cleanup(func() {
		app.Close()
		if t.Failed() {
			t.Logf("%s logs:\n%s", host, tail(a.logs.String(), 30))
		}
	})
	return a
}

func (a *inprocApp) metric(t *testing.T, name string) float64 {
	t.Helper()
	return registryMetric(t, a.reg, name)
}

// registryMetric sums the series of metric name in reg: counters' and gauges' values,
// histograms' sample counts.
func registryMetric(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
}

// TestStreamsRuntimeApp runs two instances in this process: a global store read before
// processing, wall-clock punctuation, interactive queries of the local stores and
// MetadataForKey agreeing on which instance holds each key, metrics, standbys kept warm
// (the survivor of a clean close restores a handful of records, not the changelog).
func TestStreamsRuntimeApp(t *testing.T) {
	if testing.Short() {
		t.Skip("two streams instances against sluice serve (about 25 s)")
	}
	n := startNode(t)
	n.createTopic("profiles", 2, nil)
	n.createTopic("orders", 4, nil)
	n.createTopic("enriched", 4, nil)
	cl := n.client()
	var profiles []*kgo.Record
	for i := range 10 {
		profiles = append(profiles, &kgo.Record{Topic: "profiles", Key: []byte(fmt.Sprintf("c%d", i)), Value: []byte(fmt.Sprintf("name-%d", i))})
	}
	if err := cl.ProduceSync(t.Context(), profiles...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	produceOrders := func(rounds int) {
		var recs []*kgo.Record
		for range rounds {
			for i := range 10 {
				recs = append(recs, &kgo.Record{Topic: "orders", Key: []byte(fmt.Sprintf("c%d", i)), Value: []byte("o")})
			}
		}
		if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	a := startInprocApp(t, n, "host-a:1")
	b := startInprocApp(t, n, "host-b:2")
	produceOrders(30)

	outCl := n.client(kgo.ConsumeTopics("enriched"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var mu sync.Mutex
	last := map[string]string{}
	ticks := 0
	readUntil := func(want int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			mu.Lock()
			done := len(last) == 10
			for _, v := range last {
				if c, _, _ := strings.Cut(v, "|"); c != strconv.Itoa(want) {
					done = false
				}
			}
			mu.Unlock()
			if done {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("outputs %v after 60 s, want every count at %d", last, want)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			outCl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
				mu.Lock()
				defer mu.Unlock()
				if string(r.Key) == "tick" {
					ticks++
					return
				}
				last[string(r.Key)] = string(r.Value)
			})
			cancel()
		}
	}
	readUntil(30)
	for k, v := range last {
		if want := "30|name-" + strings.TrimPrefix(k, "c"); v != want {
			t.Errorf("key %s: last output %q, want %q (the global store read before processing)", k, v, want)
		}
	}

	// Interactive queries: each key in exactly one instance's store, the one MetadataForKey
	// names.
	for i := range 10 {
		key := []byte(fmt.Sprintf("c%d", i))
		var holders []string
		for _, inst := range []struct {
			app  *inprocApp
			host string
		}{{a, "host-a:1"}, {b, "host-b:2"}} {
			s, err := inst.app.app.Store("counts")
			if err != nil {
				t.Fatal(err)
			}
			v, err := s.(state.KeyValueStore).Get(key)
			if err != nil {
				t.Fatal(err)
			}
			if v != nil {
				if string(v) != "30" {
					t.Errorf("%s: count of %s is %q, want 30", inst.host, key, v)
				}
				holders = append(holders, inst.host)
			}
			if err := s.(state.KeyValueStore).Put(key, nil); err == nil {
				t.Error("a store view accepted a Put")
			}
		}
		host, _, err := a.app.MetadataForKey("counts", key)
		if err != nil {
			t.Fatal(err)
		}
		if len(holders) != 1 || holders[0] != host {
			t.Errorf("key %s held by %v, MetadataForKey says %s", key, holders, host)
		}
		g, err := b.app.Store("profiles")
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := g.(state.KeyValueStore).Get(key); string(v) != fmt.Sprintf("name-%d", i) {
			t.Errorf("global store on b: %s = %q", key, v)
		}
	}
	processed := a.metric(t, "sluice_streams_records_processed_total") + b.metric(t, "sluice_streams_records_processed_total")
	if processed < 300 {
		t.Errorf("records processed metric %v, want >= 300", processed)
	}
	for _, inst := range []*inprocApp{a, b} {
		if inst.metric(t, "sluice_streams_commit_latency_seconds") == 0 {
			t.Error("no commit latency observed")
		}
		// Standbys applied the other instance's changelog records.
		if inst.metric(t, "sluice_streams_restored_records_total") == 0 {
			t.Error("no changelog records applied (standbys)")
		}
	}

	// Once a's standbys have applied every changelog record b wrote (one per record b
	// processed; plus the 10 of the global store), b closes cleanly and a takes its tasks
	// over from its warm standbys.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		applied, wrote := a.metric(t, "sluice_streams_restored_records_total"), b.metric(t, "sluice_streams_records_processed_total")
		if applied >= 10+wrote {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a's standbys applied %v changelog records, b wrote %v", applied-10, wrote)
		}
	}
	before := len(restoredCounts(a.logs.String()))
	if err := b.app.Close(); err != nil {
		t.Fatalf("close b: %v", err)
	}
	produceOrders(5)
	readUntil(35)
	took := restoredCounts(a.logs.String())[before:]
	if m := assignedRE.FindAllStringSubmatch(a.logs.String(), -1); len(m) == 0 || m[len(m)-1][1] != "0_0 0_1 0_2 0_3" {
		t.Fatalf("a's last assignment %v, want every task", m)
	}
	for _, n := range took {
		if n > 20 {
			t.Errorf("a restored %d records for a task it had a standby of (warm: a few at most); all: %v", n, took)
		}
	}
	mu.Lock()
	if ticks == 0 {
		t.Error("no wall-clock punctuation output")
	}
	mu.Unlock()
	if a.app.State() != streams.Running {
		t.Errorf("a is %v", a.app.State())
	}
}

var assignedRE = regexp.MustCompile(`msg=assigned .*active="\[([^\]]*)\]"`)

var restoredRE = regexp.MustCompile(`msg=restored .* records=(\d+)`)

func restoredCounts(logs string) []int {
	var out []int
	for _, m := range restoredRE.FindAllStringSubmatch(logs, -1) {
		n, _ := strconv.Atoi(m[1])
		out = append(out, n)
	}
	return out
}
