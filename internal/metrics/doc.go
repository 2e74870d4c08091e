// Package metrics holds the broker's Prometheus metrics (names sluice_*): bytes and records in
// and out per topic, request counts and latencies per API, errors by Kafka error code,
// connections, and, collected at scrape time, partition log offsets and sizes and the
// under-replicated and offline partition counts, and the cluster as this node sees it:
// registered brokers by state (active, fenced, controlled_shutdown), whether this node is the
// active controller, the metadata quorum's leader and epoch, and the applied metadata offset
// (ClusterCollector).
//
// Invariants:
//   - Everything is registered on the prometheus.Registerer passed to New; nothing is global.
//   - The produce and fetch paths do not allocate for metrics: per-topic counters are looked up
//     once and cached (a sync.Map of topic → counters), per-API children are resolved once per
//     key, so a request costs a map load and a few atomic adds.
//   - Partition gauges are never updated on append: PartitionCollector reads the logs when
//     /metrics is scraped.
//   - Per-topic series of a deleted topic stay until the process restarts (as in Kafka's JMX
//     metrics before the topic's removal is noticed); they only stop growing.
//
// Example:
//
//	m := metrics.New(registry)
//	env.TopicMetrics = m                 // api handlers count bytes and records
//	serverCfg.Observer = m               // the server reports requests and connections
//	registry.MustRegister(metrics.NewPartitionCollector(partitions, quorum.Image, nodeID))
//	registry.MustRegister(metrics.NewClusterCollector(metrics.ClusterSource{Image: quorum.Image,
//		IsController: isController, QuorumLeader: quorum.Leader}))
package metrics
