package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/storage"
)

// TestLeaderISRMetrics: the partition collector reports, for partitions this node leads, each
// follower's lag and the partitions under and at min.insync.replicas; the ISR counters count.
func TestLeaderISRMetrics(t *testing.T) {
	store, err := storage.Open(storage.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	parts := partition.NewManager(partition.ManagerOptions{NodeID: 1, Storage: store})
	cfg := partition.DefaultConfig()
	cfg.MinInsyncReplicas = 2
	host := func(name string, s partition.State) *partition.Partition {
		p, err := parts.Create(partition.TopicPartition{Topic: name, Partition: 0}, [16]byte{byte(len(name))}, storage.DefaultLogConfig(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.SetState(s); err != nil {
			t.Fatal(err)
		}
		return p
	}
	under := host("under", partition.State{Leader: 1, LeaderEpoch: 1, PartitionEpoch: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1}})
	host("at", partition.State{Leader: 1, LeaderEpoch: 1, PartitionEpoch: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 3}})
	host("follower", partition.State{Leader: 2, LeaderEpoch: 1, PartitionEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	b := record.NewBuilder(record.None)
	for range 7 {
		b.Add(time.Now().UnixMilli(), nil, []byte("v"))
	}
	batch, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := under.Append(batch, 1); err != nil {
		t.Fatal(err)
	}
	if err := under.UpdateFollowerFetch(2, -1, 5); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(NewPartitionCollector(parts, metadata.Empty, 1))
	isr := NewISRMetrics(reg)
	isr.Changed(true)
	isr.Changed(false)
	isr.Changed(false)
	isr.Failed()
	got := gather(t, reg)
	want := map[string]float64{
		`sluice_under_min_isr_partitions`:                                      1,
		`sluice_at_min_isr_partitions`:                                         1,
		`sluice_follower_lag_offsets{partition="0",replica="2",topic="under"}`: 2,
		`sluice_follower_lag_offsets{partition="0",replica="3",topic="under"}`: 7, // never fetched: at the HW it started from
		`sluice_follower_lag_offsets{partition="0",replica="2",topic="at"}`:    0,
		`sluice_isr_expands_total`:                                             1,
		`sluice_isr_shrinks_total`:                                             2,
		`sluice_isr_updates_failed_total`:                                      1,
	}
	for series, v := range want {
		if g, ok := got[series]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", series, g, ok, v)
		}
	}
	if _, ok := got[`sluice_follower_lag_offsets{partition="0",replica="1",topic="follower"}`]; ok {
		t.Error("follower lag reported for a partition this node does not lead")
	}
}
