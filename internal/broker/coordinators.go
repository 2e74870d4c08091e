package broker

import (
	"github.com/sluicehq/sluice/internal/txn"
)

// txnMarkers is the transaction coordinator's marker writer: partitions led here directly,
// those led by other brokers through WriteTxnMarkers sent with the control plane's client.
func (b *Broker) txnMarkers() *txn.PartitionMarkers {
	w := &txn.PartitionMarkers{Partitions: b.partitions, Offsets: b.groups}
	if b.cp.client != nil && b.quorum != nil {
		w.NodeID, w.Image, w.Remote = b.cfg.NodeID, b.quorum.Image, b.cp.client
	}
	return w
}
