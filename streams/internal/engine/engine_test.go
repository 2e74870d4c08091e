package engine

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/state"
)

// counter counts records per key in store "counts" and forwards key → count; its stream-time
// punctuator forwards "tick" records to the child "ticks".
type counter struct {
	ctx    processor.Context
	store  state.KeyValueStore
	ticks  []int64
	every  time.Duration
	closed bool
}

func (c *counter) Init(ctx processor.Context) error {
	c.ctx = ctx
	var err error
	if c.store, err = ctx.KeyValueStore("counts"); err != nil {
		return err
	}
	if c.every > 0 {
		ctx.Schedule(c.every, processor.StreamTime, func(ts int64) error {
			c.ticks = append(c.ticks, ts)
			return ctx.ForwardTo("ticks", processor.Record{Key: "tick", Value: strconv.FormatInt(ts, 10), Timestamp: ts})
		})
	}
	return nil
}

func (c *counter) Process(rec processor.Record) error {
	k := rec.Key.([]byte)
	old, err := c.store.Get(k)
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(string(old))
	n++
	if err := c.store.Put(k, []byte(strconv.Itoa(n))); err != nil {
		return err
	}
	return c.ctx.ForwardTo("out", rec.WithValue(strconv.Itoa(n)))
}

func (c *counter) Close() error { c.closed = true; return nil }

type logRecorder struct{ recs []state.Record }

func (l *logRecorder) Log(k, v []byte) {
	l.recs = append(l.recs, state.Record{Key: append([]byte(nil), k...), Value: append([]byte(nil), v...)})
}

func buildCounter(t *testing.T, c *counter) (*processor.Program, *processor.Topology) {
	t.Helper()
	topo := processor.NewTopology().
		AddSource("src", processor.SourceOptions{Value: func(topic string, b []byte) (any, error) {
			if string(b) == "bad" {
				return nil, fmt.Errorf("bad value: %w", processor.ErrSkip)
			}
			return string(b), nil
		}}, "in").
		AddProcessor("count", func() processor.Processor { return c }, "src").
		AddStore(processor.StoreSpec{Name: "counts"}, "count").
		AddSink("out", "counts-out", processor.SinkOptions{}, "count").
		AddInternalSink("ticks", "ticks-repartition", processor.SinkOptions{
			Partitioner: func(topic string, key, value any, kb []byte, n int32) (int32, bool) { return n - 1, true },
		}, "count").
		AddInternalSource("ticks-src", processor.SourceOptions{}, "ticks-repartition").
		AddProcessor("ticks-sink-back", processor.Func(func(ctx processor.Context, r processor.Record) error { return nil }).Supplier(), "ticks-src").
		AddRepartitionTopic(processor.InternalTopic{Name: "ticks-repartition"})
	prog, err := topo.Build()
	if err != nil {
		t.Fatal(err)
	}
	return prog, topo
}

func TestTaskCountsForwardsAndPunctuates(t *testing.T) {
	c := &counter{every: 10 * time.Millisecond}
	prog, _ := buildCounter(t, c)
	if len(prog.Subtopologies) != 2 {
		t.Fatalf("%d sub-topologies, want 2 (split at the repartition topic)", len(prog.Subtopologies))
	}
	sub := prog.Subtopologies[0]
	log := &logRecorder{}
	stores, err := OpenStores(nil, sub.Stores, func(processor.StoreSpec) state.ChangeLogger { return log }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseStores(stores)
	var outs []Output
	task, err := NewTask(Config{AppID: "app", ID: processor.TaskID{Partition: 3}, Sub: sub, Stores: stores,
		Send:       func(o Output) error { outs = append(outs, o); return nil },
		Partitions: func(topic string) (int32, error) { return 4, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if task.StreamTime() != math.MinInt64 {
		t.Fatalf("stream time before any record: %d", task.StreamTime())
	}
	in := func(key, value string, ts int64) {
		t.Helper()
		if err := task.Process(Input{Topic: "in", Partition: 3, Offset: ts, Key: []byte(key), Value: []byte(value), Timestamp: ts}); err != nil {
			t.Fatal(err)
		}
	}
	in("a", "x", 100) // first record: the stream-time schedule starts at 110
	in("b", "x", 105)
	in("a", "bad", 106) // skipped
	in("a", "x", 90)    // out of order: stream time stays 105
	in("a", "x", 125)   // fires at 125 (once, though 110 and 120 both passed)
	if task.Skipped() != 1 {
		t.Errorf("skipped %d, want 1", task.Skipped())
	}
	var got []string
	for _, o := range outs {
		got = append(got, fmt.Sprintf("%s/%d %s=%s@%d", o.Topic, o.Partition, o.Key, o.Value, o.Timestamp))
	}
	want := []string{"counts-out/-1 a=1@100", "counts-out/-1 b=1@105", "counts-out/-1 a=2@90", "counts-out/-1 a=3@125", "app-ticks-repartition/3 tick=125@125"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outputs\n got %v\nwant %v", got, want)
	}
	if fmt.Sprint(c.ticks) != "[125]" || task.StreamTime() != 125 {
		t.Errorf("ticks %v at stream time %d", c.ticks, task.StreamTime())
	}
	if len(log.recs) != 4 || string(log.recs[3].Key) != "a" || string(log.recs[3].Value) != "3" {
		t.Errorf("changelog %v", log.recs)
	}
	if err := task.Process(Input{Topic: "other"}); err == nil {
		t.Error("a topic the task does not read was accepted")
	}
	if err := task.Close(); err != nil || !c.closed {
		t.Errorf("close: %v (processor closed %v)", err, c.closed)
	}
}

func TestTaskWallClockAndErrors(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	var fired []int64
	var cancel func()
	topo := processor.NewTopology().
		AddSource("src", processor.SourceOptions{Timestamp: func(r processor.Record, ts int64) int64 {
			if string(r.Value.([]byte)) == "neg" {
				return -1
			}
			return ts * 2
		}}, "in").
		AddProcessor("p", func() processor.Processor {
			return &funcInit{init: func(ctx processor.Context) error {
				cancel = ctx.Schedule(time.Second, processor.WallClockTime, func(ts int64) error {
					fired = append(fired, ts)
					return nil
				})
				return nil
			}, process: func(ctx processor.Context, r processor.Record) error {
				if string(r.Value.([]byte)) == "boom" {
					return errors.New("boom")
				}
				if _, err := ctx.WindowStore("nope"); err == nil {
					return errors.New("an unconnected store was handed out")
				}
				ctx.Commit()
				return ctx.Forward(r)
			}}
		}, "src").
		AddSink("sink", "out", processor.SinkOptions{Value: func(string, any) ([]byte, error) { return nil, errors.New("no") }}, "p")
	prog, err := topo.Build()
	if err != nil {
		t.Fatal(err)
	}
	task, err := NewTask(Config{AppID: "app", Sub: prog.Subtopologies[0], Clock: func() time.Time { return now },
		Send: func(Output) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{500 * time.Millisecond, time.Second, 3500 * time.Millisecond} {
		if err := task.Punctuate(now.Add(d)); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(fired) != "[1001000 1003500]" {
		t.Errorf("wall-clock punctuations at %v", fired)
	}
	cancel()
	task.Punctuate(now.Add(time.Hour))
	if len(fired) != 2 {
		t.Errorf("a cancelled punctuator fired: %v", fired)
	}
	if err := task.Process(Input{Topic: "in", Value: []byte("neg"), Timestamp: 5}); err != nil || task.Skipped() != 1 || task.StreamTime() != math.MinInt64 {
		t.Errorf("negative timestamp: %v skipped %d stream time %d", err, task.Skipped(), task.StreamTime())
	}
	if err := task.Process(Input{Topic: "in", Value: []byte("boom"), Timestamp: 5}); err == nil || err.Error() != "boom" {
		t.Errorf("processor error: %v", err)
	}
	if err := task.Process(Input{Topic: "in", Value: []byte("ok"), Timestamp: 5}); err == nil {
		t.Error("a serializer error was not returned")
	}
	if !task.CommitRequested() || task.CommitRequested() || task.StreamTime() != 10 {
		t.Errorf("commit request not reported once, or stream time %d (the extractor doubles)", task.StreamTime())
	}
}

type funcInit struct {
	ctx     processor.Context
	init    func(processor.Context) error
	process func(processor.Context, processor.Record) error
}

func (f *funcInit) Init(ctx processor.Context) error { f.ctx = ctx; return f.init(ctx) }
func (f *funcInit) Process(r processor.Record) error { return f.process(f.ctx, r) }
func (f *funcInit) Close() error                     { return nil }

func TestGlobalTask(t *testing.T) {
	topo := processor.NewTopology()
	topo.AddGlobalStore(processor.StoreSpec{Name: "g"}, "profiles", processor.SourceOptions{}, func() processor.Processor {
		return &funcInit{init: func(processor.Context) error { return nil }, process: func(ctx processor.Context, r processor.Record) error {
			s, err := ctx.KeyValueStore("g")
			if err != nil {
				return err
			}
			v, _ := r.Value.([]byte)
			return s.Put(r.Key.([]byte), v)
		}}
	})
	topo.AddSource("s", processor.SourceOptions{}, "in").AddProcessor("p", processor.Func(func(processor.Context, processor.Record) error { return nil }).Supplier(), "s")
	prog, err := topo.Build()
	if err != nil {
		t.Fatal(err)
	}
	g := prog.Globals[0]
	stores, err := OpenStores(nil, []processor.StoreSpec{g.Store}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	gt, err := NewGlobalTask(GlobalConfig{AppID: "app", Global: g, Store: stores["g"]})
	if err != nil {
		t.Fatal(err)
	}
	gt.Process(Input{Topic: "profiles", Key: []byte("c1"), Value: []byte("alice")})
	gt.Process(Input{Topic: "profiles", Key: []byte("c2"), Value: []byte("bob")})
	gt.Process(Input{Topic: "profiles", Key: []byte("c1"), Value: nil})
	kv := stores["g"].(state.KeyValueStore)
	if v, _ := kv.Get([]byte("c1")); v != nil {
		t.Errorf("c1 after its tombstone: %q", v)
	}
	if v, _ := kv.Get([]byte("c2")); string(v) != "bob" {
		t.Errorf("c2: %q", v)
	}
}

func TestBuildErrors(t *testing.T) {
	nop := processor.Func(func(processor.Context, processor.Record) error { return nil }).Supplier()
	cases := map[string]*processor.Topology{
		"unknown parent": processor.NewTopology().AddProcessor("p", nop, "nope"),
		"duplicate node": processor.NewTopology().AddSource("s", processor.SourceOptions{}, "a").AddSource("s", processor.SourceOptions{}, "b"),
		"topic twice":    processor.NewTopology().AddSource("s", processor.SourceOptions{}, "a").AddSource("t", processor.SourceOptions{}, "a"),
		"store unused":   processor.NewTopology().AddSource("s", processor.SourceOptions{}, "a").AddStore(processor.StoreSpec{Name: "x"}),
		"window no ret":  processor.NewTopology().AddSource("s", processor.SourceOptions{}, "a").AddProcessor("p", nop, "s").AddStore(processor.StoreSpec{Name: "w", Kind: processor.WindowStore}, "p"),
		"sink parent":    processor.NewTopology().AddSource("s", processor.SourceOptions{}, "a").AddSink("k", "o", processor.SinkOptions{}, "s").AddProcessor("p", nop, "k"),
		"unread repart":  processor.NewTopology().AddSource("s", processor.SourceOptions{}, "a").AddRepartitionTopic(processor.InternalTopic{Name: "x-repartition"}),
	}
	for name, topo := range cases {
		if _, err := topo.Build(); err == nil {
			t.Errorf("%s: built", name)
		}
	}
	// Two processors sharing a store are one sub-topology.
	topo := processor.NewTopology().
		AddSource("s1", processor.SourceOptions{}, "a").AddProcessor("p1", nop, "s1").
		AddSource("s2", processor.SourceOptions{}, "b").AddProcessor("p2", nop, "s2").
		AddStore(processor.StoreSpec{Name: "shared"}, "p1", "p2")
	prog, err := topo.Build()
	if err != nil || len(prog.Subtopologies) != 1 || fmt.Sprint(prog.Subtopologies[0].SourceTopics) != "[a b]" {
		t.Fatalf("shared store: %v %+v", err, prog)
	}
}
