package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
)

// PartitionCollector reports partition log offsets and sizes and partition health when
// /metrics is scraped, so appends never touch a gauge.
//
// Under-replicated partitions are those this node leads whose ISR is smaller than their
// replica set; offline partitions are those with no leader (-1) in the metadata Image, counted
// cluster-wide as Kafka's controller does. Both are zero while every partition has one replica
// and a leader, and become real as soon as replication changes ISR or leadership.
type PartitionCollector struct {
	partitions *partition.Manager
	image      func() *metadata.Image
	nodeID     int32

	logStart, logEnd, size, underReplicated, offline *prometheus.Desc
	// underMinISR, atMinISR and followerLag are the leader's view (isr.go).
	underMinISR, atMinISR, followerLag *prometheus.Desc
}

// NewPartitionCollector reads hosted partitions from partitions and replica state from image.
func NewPartitionCollector(partitions *partition.Manager, image func() *metadata.Image, nodeID int32) *PartitionCollector {
	tp := []string{"topic", "partition"}
	return &PartitionCollector{
		partitions: partitions, image: image, nodeID: nodeID,
		logStart: prometheus.NewDesc("sluice_partition_log_start_offset", "First offset of the partition's log.", tp, nil),
		logEnd:   prometheus.NewDesc("sluice_partition_log_end_offset", "Offset the next record appended to the partition gets.", tp, nil),
		size:     prometheus.NewDesc("sluice_partition_log_size_bytes", "Total size of the partition's segment files.", tp, nil),
		underReplicated: prometheus.NewDesc("sluice_under_replicated_partitions",
			"Partitions this broker leads whose in-sync replica set is smaller than their replica set.", nil, nil),
		offline: prometheus.NewDesc("sluice_offline_partitions", "Partitions without a leader.", nil, nil),
		underMinISR: prometheus.NewDesc("sluice_under_min_isr_partitions",
			"Partitions this broker leads whose in-sync replica set is smaller than min.insync.replicas (acks=all produce fails).", nil, nil),
		atMinISR: prometheus.NewDesc("sluice_at_min_isr_partitions",
			"Partitions this broker leads whose in-sync replica set is exactly min.insync.replicas.", nil, nil),
		followerLag: prometheus.NewDesc("sluice_follower_lag_offsets",
			"For a partition this broker leads, how many offsets a follower's log end is behind the leader's (leader side, from the follower's last fetch).",
			[]string{"topic", "partition", "replica"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *PartitionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.logStart
	ch <- c.logEnd
	ch <- c.size
	ch <- c.underReplicated
	ch <- c.offline
	ch <- c.underMinISR
	ch <- c.atMinISR
	ch <- c.followerLag
	describeLeadership(ch)
}

// Collect implements prometheus.Collector.
func (c *PartitionCollector) Collect(ch chan<- prometheus.Metric) {
	var underMin, atMin int
	for _, p := range c.partitions.Partitions() {
		labels := []string{p.Topic(), strconv.Itoa(int(p.Index()))}
		ch <- prometheus.MustNewConstMetric(c.logStart, prometheus.GaugeValue, float64(p.LogStartOffset()), labels...)
		ch <- prometheus.MustNewConstMetric(c.logEnd, prometheus.GaugeValue, float64(p.LogEndOffset()), labels...)
		ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(p.Log().Size()), labels...)
		c.collectLeader(ch, p, labels, &underMin, &atMin)
	}
	ch <- prometheus.MustNewConstMetric(c.underMinISR, prometheus.GaugeValue, float64(underMin))
	ch <- prometheus.MustNewConstMetric(c.atMinISR, prometheus.GaugeValue, float64(atMin))
	img := c.image()
	under, offline := PartitionHealth(img, c.nodeID)
	ch <- prometheus.MustNewConstMetric(c.underReplicated, prometheus.GaugeValue, float64(under))
	ch <- prometheus.MustNewConstMetric(c.offline, prometheus.GaugeValue, float64(offline))
	collectLeadership(ch, img)
}

// PartitionHealth counts, in img, the partitions led by nodeID with fewer in-sync replicas than
// replicas, and the partitions with no leader. During a reassignment the replicas being added
// do not count (Kafka's replication factor of a reassigning partition excludes them), so a move
// in progress alone does not make a partition under-replicated.
func PartitionHealth(img *metadata.Image, nodeID int32) (underReplicated, offline int) {
	for _, t := range img.Topics() {
		for i := range t.Partitions {
			p := &t.Partitions[i]
			switch {
			case p.Leader < 0:
				offline++
			case p.Leader == nodeID && len(p.ISR) < len(p.Replicas)-len(p.AddingReplicas):
				underReplicated++
			}
		}
	}
	return underReplicated, offline
}

// collectLeader reports, for a partition this node leads, each follower's lag and counts the
// partition under or at min.insync.replicas (Kafka's UnderMinIsrPartitionCount and
// AtMinIsrPartitionCount, from the leader's own ISR).
func (c *PartitionCollector) collectLeader(ch chan<- prometheus.Metric, p *partition.Partition, labels []string, underMin, atMin *int) {
	lags := p.FollowerLags()
	if lags == nil {
		return
	}
	for _, l := range lags {
		ch <- prometheus.MustNewConstMetric(c.followerLag, prometheus.GaugeValue, float64(l.Offsets), labels[0], labels[1], strconv.Itoa(int(l.Replica)))
	}
	isr, minISR := len(p.State().ISR), p.Config().MinInsyncReplicas
	switch {
	case isr < minISR:
		*underMin++
	case isr == minISR:
		*atMin++
	}
}
