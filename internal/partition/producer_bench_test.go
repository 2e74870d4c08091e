package partition

import (
	"testing"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/storage"
)

// BenchmarkAppendProducer appends 10-record batches as a plain producer
// and as an idempotent one (sequence checks, duplicate lookup, table
// update), to show what producer state costs per append. Each batch needs
// its own sequence (covered by the CRC), so it is built outside the timer.
func BenchmarkAppendProducer(b *testing.B) {
	for _, bc := range []struct {
		name string
		id   int64
	}{{"plain", -1}, {"idempotent", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			store, err := storage.Open(storage.Options{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			m := NewManager(ManagerOptions{NodeID: 1, Storage: store})
			p, err := m.Create(TopicPartition{Topic: "t", Partition: 0}, [16]byte{1}, storage.DefaultLogConfig(), DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			if err := p.SetState(soleLeader()); err != nil {
				b.Fatal(err)
			}
			bl := record.NewBuilder(record.None)
			value := make([]byte, 100)
			var buf []byte
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				bl.Reset()
				bl.ProducerID, bl.ProducerEpoch, bl.BaseSequence = bc.id, -1, -1
				if bc.id >= 0 {
					bl.ProducerEpoch, bl.BaseSequence = 0, int32(i*10)
				}
				for range 10 {
					bl.Add(p.now().UnixMilli(), nil, value)
				}
				if buf, err = bl.Build(buf[:0]); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := p.Append(buf, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
