package tests

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/state"
)

// pageCountTopology re-keys clicks (key: user, value: page) by page through the repartition
// topic "<app>-by-page-repartition" and counts them per page in a second sub-topology.
func pageCountTopology() *processor.Topology {
	t := processor.NewTopology()
	t.AddSource("clicks", processor.SourceOptions{}, "clicks")
	t.AddProcessor("rekey", processor.Func(func(ctx processor.Context, rec processor.Record) error {
		return ctx.Forward(rec.WithKey(rec.Value))
	}).Supplier(), "clicks")
	t.AddInternalSink("to-repartition", "by-page-repartition", processor.SinkOptions{}, "rekey")
	t.AddRepartitionTopic(processor.InternalTopic{Name: "by-page-repartition"})
	t.AddInternalSource("from-repartition", processor.SourceOptions{}, "by-page-repartition")
	t.AddProcessor("count", func() processor.Processor {
		var store state.KeyValueStore
		return &funcProc{
			init: func(ctx processor.Context) (err error) { store, err = ctx.KeyValueStore("page-counts"); return err },
			process: func(ctx processor.Context, rec processor.Record) error {
				old, err := store.Get(rec.Key.([]byte))
				if err != nil {
					return err
				}
				n, _ := strconv.Atoi(string(old))
				v := []byte(strconv.Itoa(n + 1))
				if err := store.Put(rec.Key.([]byte), v); err != nil {
					return err
				}
				return ctx.Forward(rec.WithValue(v))
			},
		}
	}, "from-repartition")
	t.AddStore(processor.StoreSpec{Name: "page-counts", Kind: processor.KeyValueStore}, "count")
	t.AddSink("out", "page-counts", processor.SinkOptions{}, "count")
	return t
}

// TestStreamsRuntimeRepartition: a two-sub-topology application (repartition topic created
// with its writer's partition count) under exactly-once counts every click per page; and an
// application whose co-partitioned topics differ in partitions fails at start naming them.
func TestStreamsRuntimeRepartition(t *testing.T) {
	n := startNode(t)
	n.createTopic("clicks", 3, nil)
	n.createTopic("page-counts", 2, nil)
	n.createTopic("other", 2, nil)
	cl := n.client()
	want := map[string]int{}
	var recs []*kgo.Record
	for i := range 600 {
		page := "page-" + strconv.Itoa(i*7%20)
		want[page]++
		recs = append(recs, &kgo.Record{Topic: "clicks", Key: []byte("user-" + strconv.Itoa(i%13)), Value: []byte(page)})
	}
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	app, err := streams.NewApp(pageCountTopology(), streams.Config{ApplicationID: "pages", Brokers: []string{n.kafkaAddr},
		StateDir: t.TempDir(), ProcessingGuarantee: streams.ExactlyOnce})
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- app.Run(context.Background()) }()
	t.Cleanup(func() { app.Close() })

	out := n.client(kgo.ConsumeTopics("page-counts"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	got := map[string][]int{}
	complete := func() bool {
		for p, c := range want {
			if l := got[p]; len(l) == 0 || l[len(l)-1] != c {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(60 * time.Second)
	for !complete() && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		out.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			c, _ := strconv.Atoi(string(r.Value))
			got[string(r.Key)] = append(got[string(r.Key)], c)
		})
		cancel()
	}
	for p, c := range want {
		l := got[p]
		if len(l) != c {
			t.Errorf("%s: %d outputs for %d clicks", p, len(l), c)
			continue
		}
		for i, v := range l {
			if v != i+1 {
				t.Errorf("%s: output %d is %d (a count lost or doubled)", p, i, v)
				break
			}
		}
	}
	details, err := n.admin().ListTopics(t.Context(), "pages-by-page-repartition", "pages-page-counts-changelog")
	if err != nil {
		t.Fatal(err)
	}
	for topic, d := range details {
		if d.Err != nil || len(d.Partitions) != 3 {
			t.Errorf("%s: %d partitions (%v), want 3 (the clicks topic's)", topic, len(d.Partitions), d.Err)
		}
	}
	if err := app.Close(); err != nil {
		t.Errorf("close: %v", err)
	}

	// Co-partitioning checked at start.
	bad := pageCountTopology()
	bad.Copartition("clicks", "other")
	app2, err := streams.NewApp(bad, streams.Config{ApplicationID: "bad", Brokers: []string{n.kafkaAddr}, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err = app2.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "clicks (3)") || !strings.Contains(err.Error(), "other (2)") {
		t.Errorf("co-partitioning error %v does not name the topics and their partition counts", err)
	}
	if app2.State() != streams.Error {
		t.Errorf("state after a failed start: %v", app2.State())
	}
}
