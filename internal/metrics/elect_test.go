package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/metadata"
)

// A partition being reassigned counts as reassigning and, while only its adding replicas are
// out of the ISR, not as under-replicated; partitions not led by their first replica count as
// imbalanced.
func TestLeadershipHealth(t *testing.T) {
	id := metadata.TopicID{9}
	img, err := metadata.Empty().Apply(1, []metadata.Record{
		&metadata.TopicRecord{Name: "t", TopicID: id},
		&metadata.PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1},
		&metadata.PartitionRecord{TopicID: id, Partition: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 2},
		&metadata.PartitionRecord{TopicID: id, Partition: 2, Replicas: []int32{3, 1}, ISR: []int32{1}, Leader: 1,
			AddingReplicas: []int32{3}, RemovingReplicas: []int32{}},
		&metadata.PartitionRecord{TopicID: id, Partition: 3, Replicas: []int32{2}, ISR: []int32{2}, Leader: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if imb, re := LeadershipHealth(img); imb != 2 || re != 1 {
		t.Fatalf("LeadershipHealth = %d imbalanced, %d reassigning; want 2, 1", imb, re)
	}
	if under, _ := PartitionHealth(img, 1); under != 0 {
		t.Errorf("a move in progress counted as under-replicated: %d", under)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(leadershipOnly{img})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		got[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
	}
	if got["sluice_preferred_replica_imbalance_partitions"] != 2 || got["sluice_reassigning_partitions"] != 1 {
		t.Fatalf("gathered %v", got)
	}
}

// leadershipOnly reports the leadership gauges of one Image, as PartitionCollector does.
type leadershipOnly struct{ img *metadata.Image }

func (l leadershipOnly) Describe(ch chan<- *prometheus.Desc) { describeLeadership(ch) }
func (l leadershipOnly) Collect(ch chan<- prometheus.Metric) { collectLeadership(ch, l.img) }
