package broker

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/storage"
)

// recordingController answers AlterPartition as an accepting controller would and records
// each request.
type recordingController struct {
	mu    sync.Mutex
	calls [][]metadata.ISRChange
	epoch int64
	fail  error
}

func (c *recordingController) AlterPartition(_ context.Context, brokerID int32, brokerEpoch int64, changes []metadata.ISRChange, _ bool) ([]metadata.ISRChangeResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, changes)
	c.epoch = brokerEpoch
	if c.fail != nil {
		return nil, c.fail
	}
	out := make([]metadata.ISRChangeResult, len(changes))
	for i, ch := range changes {
		isr := make([]int32, len(ch.NewISR))
		for j, m := range ch.NewISR {
			isr[j] = m.ID
		}
		out[i] = metadata.ISRChangeResult{Leader: brokerID, LeaderEpoch: ch.LeaderEpoch, PartitionEpoch: ch.PartitionEpoch + 1, ISR: isr}
	}
	return out, nil
}

// TestISRLoopBatchesARound: one round sends every led partition's change in one request, with
// this broker's epoch for itself, applies the answers and counts them; partitions led elsewhere
// (by the Image) are not asked.
func TestISRLoopBatchesARound(t *testing.T) {
	store, err := storage.Open(storage.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	start := time.Now()
	now := start
	parts := partition.NewManager(partition.ManagerOptions{NodeID: 1, Storage: store, Now: func() time.Time { return now }})
	recs := []metadata.Record{
		&metadata.RegisterBrokerRecord{BrokerID: 1, Epoch: 11}, &metadata.RegisterBrokerRecord{BrokerID: 2, Epoch: 12},
		&metadata.RegisterBrokerRecord{BrokerID: 3, Epoch: 13},
		&metadata.TopicRecord{Name: "t", TopicID: metadata.TopicID{7}},
	}
	leaders := []int32{1, 1, 2}
	for i, leader := range leaders {
		replicas := []int32{leader, 1 + leader%3, 1 + (leader+1)%3}
		recs = append(recs, &metadata.PartitionRecord{TopicID: metadata.TopicID{7}, Partition: int32(i), Replicas: replicas, ISR: replicas, Leader: leader})
		p, err := parts.Create(partition.TopicPartition{Topic: "t", Partition: int32(i)}, [16]byte{7}, storage.DefaultLogConfig(), partition.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		if err := p.SetState(partition.State{Leader: leader, Replicas: replicas, ISR: replicas}); err != nil {
			t.Fatal(err)
		}
	}
	img, err := metadata.Empty().Apply(1, recs)
	if err != nil {
		t.Fatal(err)
	}
	ctl := &recordingController{}
	reg := prometheus.NewRegistry()
	l := &isrLoop{nodeID: 1, partitions: parts, image: func() *metadata.Image { return img }, controller: ctl,
		brokerEpoch: func() int64 { return 11 }, maxLag: 30 * time.Second, metrics: metrics.NewISRMetrics(reg),
		logger: slog.New(slog.DiscardHandler), now: func() time.Time { return now }}
	// Nothing to change yet: no request.
	l.round(context.Background())
	if len(ctl.calls) != 0 {
		t.Fatalf("%d requests with nothing to change", len(ctl.calls))
	}
	// Every follower of partitions 0 and 1 fell behind (the leader has records they lack).
	for i := range 2 {
		p, _ := parts.Partition("t", int32(i))
		b := partitionRecords(t)
		if _, err := p.Append(b, 1); err != nil {
			t.Fatal(err)
		}
	}
	now = start.Add(31 * time.Second)
	l.round(context.Background())
	if len(ctl.calls) != 1 || len(ctl.calls[0]) != 2 || ctl.epoch != 11 {
		t.Fatalf("requests %+v (sender epoch %d), want one with both led partitions", ctl.calls, ctl.epoch)
	}
	for _, ch := range ctl.calls[0] {
		if !slices.Equal(ch.NewISR, []metadata.ISRMember{{ID: 1, BrokerEpoch: 11}}) {
			t.Errorf("partition %d: new ISR %+v, want the leader alone with its broker epoch", ch.Partition, ch.NewISR)
		}
	}
	for i := range 2 {
		p, _ := parts.Partition("t", int32(i))
		if s := p.State(); !slices.Equal(s.ISR, []int32{1}) || s.PartitionEpoch != 1 {
			t.Errorf("partition %d after the answer: %+v", i, s)
		}
	}
	got := gatherCounters(t, reg)
	if got["sluice_isr_shrinks_total"] != 2 {
		t.Errorf("shrinks counted: %v", got)
	}
}

func partitionRecords(t *testing.T) []byte {
	t.Helper()
	b := record.NewBuilder(record.None)
	b.Add(time.Now().UnixMilli(), nil, []byte("v"))
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gatherCounters(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			if m.Counter != nil {
				out[f.GetName()] = m.Counter.GetValue()
			}
		}
	}
	return out
}

// BenchmarkISRRound is one round of the ISR loop over 2,000 led partitions with nothing to
// change (the steady state): the per-round cost the loop adds every 250 ms.
func BenchmarkISRRound(b *testing.B) {
	store, err := storage.Open(storage.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	parts := partition.NewManager(partition.ManagerOptions{NodeID: 1, Storage: store})
	recs := []metadata.Record{&metadata.TopicRecord{Name: "t", TopicID: metadata.TopicID{7}}}
	replicas := []int32{1, 2, 3}
	const n = 2000
	for i := range n {
		recs = append(recs, &metadata.PartitionRecord{TopicID: metadata.TopicID{7}, Partition: int32(i), Replicas: replicas, ISR: replicas, Leader: 1})
		p, err := parts.Create(partition.TopicPartition{Topic: "t", Partition: int32(i)}, [16]byte{7}, storage.DefaultLogConfig(), partition.DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		if err := p.SetState(partition.State{Leader: 1, Replicas: replicas, ISR: replicas}); err != nil {
			b.Fatal(err)
		}
	}
	img, err := metadata.Empty().Apply(1, recs)
	if err != nil {
		b.Fatal(err)
	}
	ctl := &recordingController{}
	l := &isrLoop{nodeID: 1, partitions: parts, image: func() *metadata.Image { return img }, controller: ctl,
		brokerEpoch: func() int64 { return 11 }, maxLag: 30 * time.Second, metrics: metrics.NewISRMetrics(prometheus.NewRegistry()),
		logger: slog.New(slog.DiscardHandler), now: time.Now}
	b.ResetTimer()
	for range b.N {
		l.round(context.Background())
	}
	b.StopTimer()
	if len(ctl.calls) != 0 {
		b.Fatalf("%d requests in the steady state", len(ctl.calls))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/partition")
}
