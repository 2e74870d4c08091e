package streams_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/streamstest"
)

// TestStatelessOps runs random records through filter, map, mapValues, flatMap, flatMapValues,
// selectKey, branch, merge, peek and foreach, and compares every output topic with the same
// functions applied by hand.
func TestStatelessOps(t *testing.T) {
	b := streams.NewBuilder()
	in := streams.NewStream(b, "in", streams.Consumed(str, i64))
	var peeked, foreach []string
	evens := in.Filter(func(_ string, v int64) bool { return v%2 == 0 }).Peek(func(k string, v int64) { peeked = append(peeked, fmt.Sprint(k, v)) })
	evens.To("evens")
	in.FilterNot(func(_ string, v int64) bool { return v%2 == 0 }).To("odds")
	streams.Map(in, func(k string, v int64) (int64, string) { return v, strings.ToUpper(k) }).To("swapped", streams.Produced(i64, str))
	streams.MapValues(in, func(v int64) string { return strconv.FormatInt(v*10, 10) }).To("tens", streams.Produced(str, str))
	streams.FlatMap(in, func(k string, v int64) []streams.KeyValue[string, int64] {
		var out []streams.KeyValue[string, int64]
		for i := range v % 3 {
			out = append(out, streams.KV(k+strconv.Itoa(int(i)), v+i))
		}
		return out
	}).To("flat", streams.Produced(str, i64))
	streams.FlatMapValues(in, func(v int64) []int64 { return slices.Repeat([]int64{v}, int(v%2)+1) }).To("flatvalues", streams.Produced(str, i64))
	streams.SelectKey(in, func(k string, v int64) string { return k + "/" + strconv.FormatInt(v%5, 10) }).To("rekeyed", streams.Produced(str, i64))
	branches := in.Branch(
		func(_ string, v int64) bool { return v < 10 },
		func(_ string, v int64) bool { return v < 50 },
	)
	branches[0].To("small")
	branches[1].To("medium")
	branches[0].Merge(branches[1]).Foreach(func(k string, v int64) { foreach = append(foreach, fmt.Sprint(k, v)) })
	d, _ := driver(t, b)

	rng := rand.New(rand.NewPCG(1, 2))
	input := streamstest.NewInput(d, "in", str, i64)
	type kv struct {
		k  string
		v  int64
		ts int64
	}
	var sent []kv
	for i := range 300 {
		r := kv{k: string(rune('a' + rng.IntN(5))), v: rng.Int64N(100), ts: int64(1000 + rng.IntN(100) - i%7)}
		sent = append(sent, r)
		must(t, input.Pipe(r.k, r.v, r.ts))
	}
	var wantEvens, wantOdds, wantFlat, wantFlatValues, wantRekeyed, wantSmall, wantMedium []rec[string, int64]
	var wantSwapped []rec[int64, string]
	var wantTens []rec[string, string]
	var wantPeek, wantForeach []string
	for _, r := range sent {
		if r.v%2 == 0 {
			wantEvens = append(wantEvens, rec[string, int64]{r.k, r.v, r.ts, false})
			wantPeek = append(wantPeek, fmt.Sprint(r.k, r.v))
		} else {
			wantOdds = append(wantOdds, rec[string, int64]{r.k, r.v, r.ts, false})
		}
		wantSwapped = append(wantSwapped, rec[int64, string]{r.v, strings.ToUpper(r.k), r.ts, false})
		wantTens = append(wantTens, rec[string, string]{r.k, strconv.FormatInt(r.v*10, 10), r.ts, false})
		for i := range r.v % 3 {
			wantFlat = append(wantFlat, rec[string, int64]{r.k + strconv.Itoa(int(i)), r.v + i, r.ts, false})
		}
		for range r.v%2 + 1 {
			wantFlatValues = append(wantFlatValues, rec[string, int64]{r.k, r.v, r.ts, false})
		}
		wantRekeyed = append(wantRekeyed, rec[string, int64]{r.k + "/" + strconv.FormatInt(r.v%5, 10), r.v, r.ts, false})
		switch {
		case r.v < 10:
			wantSmall = append(wantSmall, rec[string, int64]{r.k, r.v, r.ts, false})
			wantForeach = append(wantForeach, fmt.Sprint(r.k, r.v))
		case r.v < 50:
			wantMedium = append(wantMedium, rec[string, int64]{r.k, r.v, r.ts, false})
			wantForeach = append(wantForeach, fmt.Sprint(r.k, r.v))
		}
	}
	equal(t, "evens", read(t, d, "evens", str, i64), wantEvens)
	equal(t, "odds", read(t, d, "odds", str, i64), wantOdds)
	equal(t, "swapped", read(t, d, "swapped", i64, str), wantSwapped)
	equal(t, "tens", read(t, d, "tens", str, str), wantTens)
	equal(t, "flat", read(t, d, "flat", str, i64), wantFlat)
	equal(t, "flatvalues", read(t, d, "flatvalues", str, i64), wantFlatValues)
	equal(t, "rekeyed", read(t, d, "rekeyed", str, i64), wantRekeyed)
	equal(t, "small", read(t, d, "small", str, i64), wantSmall)
	equal(t, "medium", read(t, d, "medium", str, i64), wantMedium)
	if !slices.Equal(peeked, wantPeek) {
		t.Fatalf("peek saw %d records, want %d", len(peeked), len(wantPeek))
	}
	if !slices.Equal(foreach, wantForeach) {
		t.Fatalf("foreach over the merged branches saw %v, want %v", foreach, wantForeach)
	}
}

// TestNullsPassThrough: a null key and a tombstone value stay null through type-keeping
// operations, and a serde error is not raised for them.
func TestNullsPassThrough(t *testing.T) {
	b := streams.NewBuilder()
	in := streams.NewStream(b, "in", streams.Consumed(str, str))
	in.Filter(func(string, string) bool { return true }).To("out")
	d, _ := driver(t, b)
	must(t, d.Pipe("in", nil, []byte("v"), 1))
	must(t, d.Pipe("in", []byte("k"), nil, 2))
	got := d.Read("out")
	if len(got) != 2 || got[0].Key != nil || string(got[0].Value) != "v" || string(got[1].Key) != "k" || got[1].Value != nil {
		t.Fatalf("got %+v", got)
	}
}

// TestMissingSerdes: writing a stream whose types changed without serdes is a Build error, not
// a runtime failure.
func TestMissingSerdes(t *testing.T) {
	b := streams.NewBuilder()
	in := streams.NewStream(b, "in", streams.Consumed(str, str))
	streams.MapValues(in, func(v string) int { return len(v) }).To("out")
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "serde") {
		t.Fatalf("Build: %v, want an error about serdes", err)
	}
}

// TestProcess: a hand-written processor with a store, inside a DSL topology.
func TestProcess(t *testing.T) {
	b := streams.NewBuilder()
	b.AddStateStore(processor.StoreSpec{Name: "seen", Kind: processor.KeyValueStore})
	in := streams.NewStream(b, "in", streams.Consumed(str, str))
	out := streams.Process[string, string, string, int64](in, func() processor.Processor { return &firstSeen{} }, "seen")
	out.To("out", streams.Produced(str, i64))
	d, _ := driver(t, b)
	input := streamstest.NewInput(d, "in", str, str)
	must(t, input.Pipe("a", "x", 5))
	must(t, input.Pipe("a", "y", 7))
	must(t, input.Pipe("b", "z", 9))
	equal(t, "out", read(t, d, "out", str, i64), []rec[string, int64]{{"a", 5, 5, false}, {"a", 5, 7, false}, {"b", 9, 9, false}})
}

// firstSeen forwards each record's key with the timestamp the key was first seen.
type firstSeen struct {
	ctx   processor.Context
	store interface {
		Get([]byte) ([]byte, error)
		Put(k, v []byte) error
	}
}

func (p *firstSeen) Init(ctx processor.Context) error {
	p.ctx = ctx
	s, err := ctx.KeyValueStore("seen")
	p.store = s
	return err
}

func (p *firstSeen) Process(r processor.Record) error {
	k := []byte(r.Key.(string))
	v, err := p.store.Get(k)
	if err != nil {
		return err
	}
	if v == nil {
		v = []byte(strconv.FormatInt(r.Timestamp, 10))
		if err := p.store.Put(k, v); err != nil {
			return err
		}
	}
	first, _ := strconv.ParseInt(string(v), 10, 64)
	return p.ctx.Forward(r.WithValue(first))
}

func (p *firstSeen) Close() error { return nil }
