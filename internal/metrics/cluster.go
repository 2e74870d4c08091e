package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/metadata"
)

// Broker states counted by sluice_cluster_brokers, as the metadata Image records them.
const (
	BrokerStateActive             = "active"
	BrokerStateFenced             = "fenced"
	BrokerStateControlledShutdown = "controlled_shutdown"
)

// ClusterSource is what ClusterCollector reads at scrape time. Every func must be safe to call
// from the scraping goroutine and return quickly (no I/O, no wait on the metadata log).
type ClusterSource struct {
	// Image is this node's latest applied metadata Image.
	Image func() *metadata.Image
	// IsController reports whether this node is the active controller (the quorum's leader).
	IsController func() bool
	// QuorumLeader returns the node id of the quorum's leader, ok false while none is known.
	QuorumLeader func() (id int32, ok bool)
	// QuorumEpoch returns the quorum's current epoch (the Raft term). Nil: the gauge is not
	// reported.
	QuorumEpoch func() uint64
}

// ClusterCollector reports the cluster as this node sees it when /metrics is scraped:
// registered brokers by state, whether this node is the active controller, the quorum's leader
// and epoch, and the offset of the metadata applied here. Every node reports its own view; a
// node that lags shows an older metadata offset (compare it across nodes).
type ClusterCollector struct {
	src ClusterSource

	brokers, controllerActive, leaderID, epoch, metadataOffset *prometheus.Desc
}

// NewClusterCollector reads the cluster state through src; src.Image, src.IsController and
// src.QuorumLeader are required.
func NewClusterCollector(src ClusterSource) *ClusterCollector {
	return &ClusterCollector{
		src: src,
		brokers: prometheus.NewDesc("sluice_cluster_brokers",
			"Registered brokers by state in this node's metadata: active, fenced (out of every ISR, leads nothing) or controlled_shutdown (moving its leaderships away).",
			[]string{"state"}, nil),
		controllerActive: prometheus.NewDesc("sluice_controller_active",
			"1 on the node that is the active controller (the metadata quorum's leader), else 0.", nil, nil),
		leaderID: prometheus.NewDesc("sluice_quorum_leader_id",
			"Node id of the metadata quorum's leader as this node knows it; -1 while none is known.", nil, nil),
		epoch: prometheus.NewDesc("sluice_quorum_epoch",
			"Epoch of the metadata quorum (the Raft term): it grows with every election.", nil, nil),
		metadataOffset: prometheus.NewDesc("sluice_metadata_offset",
			"Offset of the last metadata record applied on this node (-1 before the first).", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *ClusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.brokers
	ch <- c.controllerActive
	ch <- c.leaderID
	if c.src.QuorumEpoch != nil {
		ch <- c.epoch
	}
	ch <- c.metadataOffset
}

// Collect implements prometheus.Collector.
func (c *ClusterCollector) Collect(ch chan<- prometheus.Metric) {
	img := c.src.Image()
	counts := BrokerStates(img)
	for _, state := range []string{BrokerStateActive, BrokerStateFenced, BrokerStateControlledShutdown} {
		ch <- prometheus.MustNewConstMetric(c.brokers, prometheus.GaugeValue, float64(counts[state]), state)
	}
	active := 0.0
	if c.src.IsController() {
		active = 1
	}
	ch <- prometheus.MustNewConstMetric(c.controllerActive, prometheus.GaugeValue, active)
	leader := int32(-1)
	if id, ok := c.src.QuorumLeader(); ok {
		leader = id
	}
	ch <- prometheus.MustNewConstMetric(c.leaderID, prometheus.GaugeValue, float64(leader))
	if c.src.QuorumEpoch != nil {
		ch <- prometheus.MustNewConstMetric(c.epoch, prometheus.GaugeValue, float64(c.src.QuorumEpoch()))
	}
	ch <- prometheus.MustNewConstMetric(c.metadataOffset, prometheus.GaugeValue, float64(img.Offset()))
}

// BrokerStates counts the brokers registered in img by state. A fenced broker counts as fenced
// even while its controlled shutdown is recorded: it is out of every ISR either way.
func BrokerStates(img *metadata.Image) map[string]int {
	counts := map[string]int{BrokerStateActive: 0, BrokerStateFenced: 0, BrokerStateControlledShutdown: 0}
	for _, b := range img.Brokers() {
		counts[BrokerState(b)]++
	}
	return counts
}

// BrokerState is the state sluice_cluster_brokers counts b under.
func BrokerState(b *metadata.Broker) string {
	switch {
	case b.Fenced:
		return BrokerStateFenced
	case b.InControlledShutdown:
		return BrokerStateControlledShutdown
	}
	return BrokerStateActive
}
