package streamstest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/state"
)

type str struct{}

func (str) Serialize(_ string, v string) ([]byte, error) { return []byte(v), nil }
func (str) Deserialize(_ string, b []byte) (string, error) {
	return string(b), nil
}

func strDeser(_ string, b []byte) (any, error) { return string(b), nil }
func strSer(_ string, v any) ([]byte, error)   { return []byte(v.(string)), nil }

// letterCount re-keys words by their first letter through a repartition topic, counts per letter
// in a logged store, looks the letter's label up in a global store, and every wall-clock minute
// emits the number of letters seen.
func letterCount() *processor.Topology {
	t := processor.NewTopology()
	t.AddSource("words", processor.SourceOptions{Key: strDeser, Value: strDeser}, "words")
	t.AddProcessor("rekey", processor.Func(func(ctx processor.Context, r processor.Record) error {
		w := r.Value.(string)
		return ctx.Forward(r.WithKey(w[:1]))
	}).Supplier(), "words")
	t.AddInternalSink("to-repartition", "letters-repartition", processor.SinkOptions{Key: strSer, Value: strSer}, "rekey")
	t.AddRepartitionTopic(processor.InternalTopic{Name: "letters-repartition"})
	t.AddInternalSource("letters", processor.SourceOptions{Key: strDeser, Value: strDeser}, "letters-repartition")
	t.AddProcessor("count", func() processor.Processor { return &letterCounter{} }, "letters")
	t.AddStore(processor.StoreSpec{Name: "counts"}, "count")
	t.AddSink("out", "letter-counts", processor.SinkOptions{Key: strSer, Value: strSer}, "count")
	t.AddGlobalStore(processor.StoreSpec{Name: "labels"}, "labels", processor.SourceOptions{Key: strDeser, Value: strDeser}, processor.Func(func(ctx processor.Context, r processor.Record) error {
		s, err := ctx.KeyValueStore("labels")
		if err != nil {
			return err
		}
		if r.Value == "" {
			return s.Delete([]byte(r.Key.(string)))
		}
		return s.Put([]byte(r.Key.(string)), []byte(r.Value.(string)))
	}).Supplier())
	return t
}

type letterCounter struct {
	ctx    processor.Context
	counts state.KeyValueStore
	labels state.KeyValueStore
}

func (c *letterCounter) Init(ctx processor.Context) error {
	c.ctx = ctx
	var err error
	if c.counts, err = ctx.KeyValueStore("counts"); err != nil {
		return err
	}
	if c.labels, err = ctx.KeyValueStore("labels"); err != nil {
		return err
	}
	ctx.Schedule(time.Minute, processor.WallClockTime, func(ts int64) error {
		n, err := c.counts.ApproximateEntries()
		if err != nil {
			return err
		}
		return ctx.Forward(processor.Record{Key: "letters", Value: strconv.FormatInt(n, 10), Timestamp: ts})
	})
	return nil
}

func (c *letterCounter) Process(r processor.Record) error {
	k := []byte(r.Key.(string))
	old, err := c.counts.Get(k)
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(string(old))
	if err := c.counts.Put(k, []byte(strconv.Itoa(n+1))); err != nil {
		return err
	}
	key := r.Key.(string)
	if label, _ := c.labels.Get(k); label != nil {
		key = string(label)
	}
	return c.ctx.Forward(processor.Record{Key: key, Value: strconv.Itoa(n + 1), Timestamp: r.Timestamp})
}

func (c *letterCounter) Close() error { return nil }

func TestDriverRepartitionGlobalStoreAndWallClock(t *testing.T) {
	start := time.UnixMilli(1_000_000)
	d, err := New(letterCount(), Config{ApplicationID: "app", WallClock: start})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := fmt.Sprint(d.SourceTopics()); got != "[app-letters-repartition labels words]" {
		t.Errorf("source topics %s", got)
	}
	labels := NewInput(d, "labels", str{}, str{})
	words := NewInput(d, "words", str{}, str{})
	out := NewOutput(d, "letter-counts", str{}, str{})
	if err := labels.Pipe("b", "B-words", 0); err != nil {
		t.Fatal(err)
	}
	model := map[string]int{}
	var want []string
	for i, w := range strings.Fields("apple banana avocado blueberry cherry apricot") {
		if err := words.Pipe("", w, int64(100+i)); err != nil {
			t.Fatal(err)
		}
		model[w[:1]]++
		key := w[:1]
		if key == "b" {
			key = "B-words"
		}
		want = append(want, fmt.Sprintf("%s=%d@%d", key, model[w[:1]], 100+i))
	}
	recs, err := out.Read()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%s=%s@%d", r.Key, r.Value, r.Timestamp))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("output\n got %v\nwant %v", got, want)
	}
	if rep := d.Read("app-letters-repartition"); len(rep) != 6 || string(rep[1].Key) != "b" {
		t.Errorf("repartition topic records %v", rep)
	}
	changes := d.Read("app-counts-changelog")
	if len(changes) != 6 || string(changes[5].Key) != "a" || string(changes[5].Value) != "3" {
		t.Errorf("changelog %v", changes)
	}
	counts, err := d.KeyValueStore("counts")
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range model {
		if v, _ := counts.Get([]byte(k)); string(v) != strconv.Itoa(n) {
			t.Errorf("store: %s=%s, want %d", k, v, n)
		}
	}
	if st, _ := d.StreamTime("app-letters-repartition"); st != 105 {
		t.Errorf("stream time %d", st)
	}

	// The wall-clock punctuator: nothing before a minute, once per minute passed.
	if err := d.AdvanceWallClock(59 * time.Second); err != nil {
		t.Fatal(err)
	}
	if recs, _ := out.Read(); len(recs) != 0 {
		t.Errorf("punctuated early: %v", recs)
	}
	d.AdvanceWallClock(time.Second)
	table, err := ReadTable(out)
	if err != nil || len(table) != 1 || table["letters"] != "3" {
		t.Errorf("after a minute: %v %v", table, err)
	}
	if d.WallClock() != start.Add(time.Minute) {
		t.Errorf("wall clock %v", d.WallClock())
	}
	if err := d.Pipe("nope", nil, nil, 0); err == nil {
		t.Error("a topic no source reads was accepted")
	}
	if err := d.AdvanceWallClock(-time.Second); err == nil {
		t.Error("the wall clock went back")
	}
	if _, err := d.WindowStore("counts"); err == nil {
		t.Error("a key-value store was handed out as a window store")
	}
}

func TestDriverTombstonesAndClose(t *testing.T) {
	topo := processor.NewTopology().
		AddSource("in", processor.SourceOptions{Key: strDeser}, "in").
		AddSink("out", "out", processor.SinkOptions{Key: strSer}, "in")
	d, err := New(topo, Config{})
	if err != nil {
		t.Fatal(err)
	}
	in := NewInput(d, "in", str{}, str{})
	in.Pipe("k", "v", 1)
	in.PipeTombstone("k", 2)
	in.Pipe("j", "w", 3)
	out := NewOutput(d, "out", str{}, str{})
	recs, err := out.Read()
	if err != nil || len(recs) != 3 || !recs[1].Tombstone || recs[0].Tombstone {
		t.Fatalf("%+v %v", recs, err)
	}
	in.Pipe("k", "v", 4)
	in.PipeTombstone("k", 5)
	in.Pipe("j", "x", 6)
	if table, _ := ReadTable(out); len(table) != 1 || table["j"] != "x" {
		t.Errorf("table %v", table)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := in.Pipe("k", "v", 7); err != ErrClosed {
		t.Errorf("pipe after close: %v", err)
	}
}
