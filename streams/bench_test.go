package streams_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/streamstest"
)

// benchPipe pipes b.N records of 100 keys through the topology built by build, with the test
// driver (in-memory stores); the figures include the driver's own work per record.
func benchPipe(b *testing.B, build func(*streams.Builder)) {
	sb := streams.NewBuilder()
	build(sb)
	topo, err := sb.Build()
	if err != nil {
		b.Fatal(err)
	}
	d, err := streamstest.New(topo, streamstest.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	keys := make([][]byte, 100)
	for i := range keys {
		keys[i] = []byte("key-" + strconv.Itoa(i))
	}
	value := []byte("some value of a record")
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := d.Pipe("in", keys[i%len(keys)], value, int64(i)); err != nil {
			b.Fatal(err)
		}
		if i%1024 == 0 {
			for _, t := range d.Topics() {
				d.Read(t)
			}
		}
	}
}

func BenchmarkPipeOnly(b *testing.B) {
	benchPipe(b, func(sb *streams.Builder) {
		streams.NewStream(sb, "in", streams.Consumed(serde.Bytes(), serde.Bytes())).To("out")
	})
}

func BenchmarkFilterMapValues(b *testing.B) {
	benchPipe(b, func(sb *streams.Builder) {
		in := streams.NewStream(sb, "in", streams.Consumed(serde.Bytes(), serde.Bytes()))
		streams.MapValues(in.Filter(func(k, v []byte) bool { return len(v) > 0 }), func(v []byte) []byte { return v[:4] }).
			To("out", streams.Produced(serde.Bytes(), serde.Bytes()))
	})
}

func BenchmarkCount(b *testing.B) {
	benchPipe(b, func(sb *streams.Builder) {
		in := streams.NewStream(sb, "in", streams.Consumed(serde.Bytes(), serde.Bytes()))
		streams.GroupByKey(in).Count(streams.Materialized[int64]("c", nil)).ToStream().To("out")
	})
}

func BenchmarkWindowedCountSuppressed(b *testing.B) {
	benchPipe(b, func(sb *streams.Builder) {
		in := streams.NewStream(sb, "in", streams.Consumed(serde.Bytes(), serde.Bytes()))
		streams.WindowedBy(streams.GroupByKey(in), streams.TumblingWindows(100*time.Millisecond).Grace(0)).
			Count(streams.Materialized[int64]("c", nil)).Suppress(streams.UntilWindowCloses).ToStream().
			To("out", streams.Produced(serde.TimeWindowed(serde.Bytes(), 100), serde.Int64()))
	})
}
