package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/metadata"
)

// Leadership and reassignment gauges, from the metadata Image (cluster-wide, as every node sees
// it): Kafka's PreferredReplicaImbalanceCount and ReassigningPartitions.
var (
	preferredImbalanceDesc = prometheus.NewDesc("sluice_preferred_replica_imbalance_partitions",
		"Partitions with a leader that is not their preferred (first) replica; auto leader rebalance and `sluice topic elect-leaders` move them back.", nil, nil)
	reassigningDesc = prometheus.NewDesc("sluice_reassigning_partitions",
		"Partitions with a reassignment in progress (AlterPartitionReassignments, `sluice topic reassign`).", nil, nil)
)

// LeadershipHealth counts, in img, the partitions led by another replica than their preferred
// one and the partitions being reassigned.
func LeadershipHealth(img *metadata.Image) (imbalanced, reassigning int) {
	for _, t := range img.Topics() {
		for i := range t.Partitions {
			p := &t.Partitions[i]
			if p.Leader >= 0 && len(p.Replicas) > 0 && p.Leader != p.Replicas[0] {
				imbalanced++
			}
			if p.Reassigning() {
				reassigning++
			}
		}
	}
	return imbalanced, reassigning
}

func describeLeadership(ch chan<- *prometheus.Desc) {
	ch <- preferredImbalanceDesc
	ch <- reassigningDesc
}

func collectLeadership(ch chan<- prometheus.Metric, img *metadata.Image) {
	imbalanced, reassigning := LeadershipHealth(img)
	ch <- prometheus.MustNewConstMetric(preferredImbalanceDesc, prometheus.GaugeValue, float64(imbalanced))
	ch <- prometheus.MustNewConstMetric(reassigningDesc, prometheus.GaugeValue, float64(reassigning))
}
