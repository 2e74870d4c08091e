package engine_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/internal/engine"
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/state"
)

// copyLog copies what it gets, as the runtime's changelog does.
type copyLog struct{ n int }

func (l *copyLog) Log(key, value []byte) { _, _ = bytes.Clone(key), bytes.Clone(value); l.n++ }

// BenchmarkWindowedCountCommits runs the streams benchmark's windowed count (1,000 keys,
// event times 1 ms apart, 1-minute tumbling windows, in-memory store) through one task,
// committing (Task.Flush) every 10,000 records, with and without the record cache: what one
// record costs the task, its store, its changelog and its sink, without the broker.
func BenchmarkWindowedCountCommits(b *testing.B) {
	sb := streams.NewBuilder()
	in := streams.NewStream(sb, "in", streams.Consumed(serde.String(), serde.Bytes()))
	streams.WindowedBy(streams.GroupByKey(in), streams.TumblingWindows(time.Minute).Grace(0)).
		Count(streams.Materialized("counts", serde.Int64()).WithInMemory()).ToStream().
		To("out", streams.Produced(serde.TimeWindowed(serde.String(), time.Minute.Milliseconds()), serde.Int64()))
	topo, err := sb.Build()
	if err != nil {
		b.Fatal(err)
	}
	prog, err := topo.Build()
	if err != nil {
		b.Fatal(err)
	}
	sub := prog.Subtopologies[0]
	keys := make([][]byte, 1000)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "k%04d", i)
	}
	value := bytes.Repeat([]byte("abcdefghij"), 10)
	for _, name := range []string{"cache", "no-cache"} {
		b.Run(name, func(b *testing.B) {
			var cache *state.Cache
			if name == "cache" {
				cache = state.NewCache(state.DefaultCacheMaxBytes)
			}
			log := &copyLog{}
			stores, err := engine.OpenStores(nil, sub.Stores, func(processor.StoreSpec) state.ChangeLogger { return log }, cache)
			if err != nil {
				b.Fatal(err)
			}
			defer engine.CloseStores(stores)
			outputs := 0
			task, err := engine.NewTask(engine.Config{AppID: "bench", Sub: sub, Stores: stores,
				Send: func(engine.Output) error { outputs++; return nil }})
			if err != nil {
				b.Fatal(err)
			}
			defer task.Close()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := task.Process(engine.Input{Topic: "in", Offset: int64(i), Key: keys[i%len(keys)], Value: value, Timestamp: int64(i)}); err != nil {
					b.Fatal(err)
				}
				if i%10000 == 9999 {
					if err := task.Flush(); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := task.Flush(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(outputs)/float64(b.N), "outputs/op")
			b.ReportMetric(float64(log.n)/float64(b.N), "changelog/op")
		})
	}
}
