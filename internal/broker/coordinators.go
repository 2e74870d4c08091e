package broker

import (
	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/txn"
)

// txnMarkers is the transaction coordinator's marker writer: partitions led here directly,
// those led by other brokers through WriteTxnMarkers sent with the control plane's client, or
// over TLS (SSL or SASL_SSL inter-broker listener) with a client of their own.
func (b *Broker) txnMarkers() *txn.PartitionMarkers {
	w := &txn.PartitionMarkers{Partitions: b.partitions, Offsets: b.groups}
	if b.cp.client != nil && b.quorum != nil {
		w.NodeID, w.Image, w.Remote = b.cfg.NodeID, b.quorum.Image, b.cp.client
		w.Listener = b.listenerSet.InterBroker
		if b.interBrokerTLS != nil {
			if b.markerClient == nil {
				b.markerClient = cluster.NewClient(cluster.Options{NodeID: b.cfg.NodeID, Logger: b.logger, TLS: b.interBrokerTLS, SASL: b.interBrokerSASL})
			}
			w.Remote = b.markerClient
		}
	}
	return w
}

// coordinatorPartitions is the partition count the coordinators hash keys over for an internal
// topic: the existing topic's, as Kafka takes it at start (so a changed
// offsets.topic.num.partitions or transaction.state.log.num.partitions cannot send groups to
// partitions that do not exist, and FindCoordinator, which hashes over the topic, agrees), else
// the configured count the topic will be created with.
func (b *Broker) coordinatorPartitions(topic string, configured int32) int32 {
	if b.quorum != nil {
		if t, ok := b.quorum.Image().Topic(topic); ok && len(t.Partitions) > 0 {
			return int32(len(t.Partitions))
		}
	}
	return configured
}
