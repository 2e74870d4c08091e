package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/partition"
)

// GroupOffsets is what the lag collector reads of the group coordinator.
type GroupOffsets interface {
	// List returns every group the coordinator knows.
	List() []group.Listing
	// FetchAllOffsets returns a group's committed offsets.
	FetchAllOffsets(group string) []group.OffsetCommit
}

// LagCollector reports consumer lag computed by the broker itself when /metrics is scraped:
// for every committed offset of every group, the partition's high watermark minus the
// committed offset (never below zero), and each group's sum. Only partitions hosted on this
// node are reported; on one node that is every partition.
type LagCollector struct {
	groups     GroupOffsets
	partitions *partition.Manager

	lag, sum *prometheus.Desc
}

// NewLagCollector reads committed offsets from groups and high watermarks from partitions.
func NewLagCollector(groups GroupOffsets, partitions *partition.Manager) *LagCollector {
	return &LagCollector{
		groups: groups, partitions: partitions,
		lag: prometheus.NewDesc("sluice_consumer_group_lag",
			"Records between a group's committed offset and the partition's high watermark.",
			[]string{"group", "topic", "partition"}, nil),
		sum: prometheus.NewDesc("sluice_consumer_group_lag_sum",
			"A group's lag summed over the partitions it has committed offsets for.",
			[]string{"group"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *LagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lag
	ch <- c.sum
}

// Collect implements prometheus.Collector.
func (c *LagCollector) Collect(ch chan<- prometheus.Metric) {
	for _, g := range c.groups.List() {
		var total int64
		reported := false
		for _, o := range c.groups.FetchAllOffsets(g.Group) {
			p, ok := c.partitions.Partition(o.Topic, o.Partition)
			if !ok || o.Offset < 0 {
				continue
			}
			lag := max(p.HighWatermark()-o.Offset, 0)
			total += lag
			reported = true
			ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(lag),
				g.Group, o.Topic, strconv.Itoa(int(o.Partition)))
		}
		if reported {
			ch <- prometheus.MustNewConstMetric(c.sum, prometheus.GaugeValue, float64(total), g.Group)
		}
	}
}
