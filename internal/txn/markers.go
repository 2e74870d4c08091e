package txn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
)

// OffsetsCompleter is told of markers written into __consumer_offsets partitions, so the
// group coordinator makes a transaction's pending offset commits visible or drops them
// (*group.Coordinator).
type OffsetsCompleter interface {
	CompleteTxnOffsets(index int32, producerID int64, commit bool)
}

// PartitionMarkers is the MarkerWriter on this broker's partitions: it writes each marker of a
// partition led here as its leader and waits until the high watermark passes it, as a marker
// sent with WriteTxnMarkers is acknowledged in Kafka. With Image and Remote set, a marker of a
// partition another broker leads is sent to that broker in a WriteTxnMarkers request (how
// Kafka's coordinator writes every marker); without them (a single node) such a partition is
// ErrUnknownPartition, as one not hosted anywhere.
type PartitionMarkers struct {
	Partitions *partition.Manager
	// Offsets, when set, learns of markers in __consumer_offsets.
	Offsets OffsetsCompleter
	// NodeID is this broker's id; Image is the latest metadata (partition leaders and broker
	// endpoints); Remote sends requests to other brokers (*cluster.Client).
	NodeID int32
	Image  func() *metadata.Image
	Remote MarkerSender
	// Listener is the inter-broker listener name (inter.broker.listener.name): markers go to
	// the leader's endpoint of that listener.
	Listener string
}

// MarkerSender sends one request to the Kafka listener at addr and returns the answer
// (*cluster.Client).
type MarkerSender interface {
	Send(ctx context.Context, addr string, req kmsg.Request) (kmsg.Response, error)
}

// LocalMarkerWriter writes markers only into partitions led here: WriteTxnMarkers from another
// broker's coordinator uses it, so that a marker never travels on from a broker whose metadata
// is stale.
type LocalMarkerWriter interface {
	WriteLocalTxnMarker(ctx context.Context, topic string, partition int32, m Marker) error
}

// WriteTxnMarker implements MarkerWriter. A partition that does not exist (or, without
// Remote, is not hosted here) is ErrUnknownPartition; a marker the partition refuses as fenced
// (an older producer or coordinator epoch) wraps ErrMarkerRejected; other errors are worth a
// retry (no leader now, the leader unreachable or not yet aware it leads).
func (w *PartitionMarkers) WriteTxnMarker(ctx context.Context, topic string, index int32, m Marker) error {
	if w.Image == nil || w.Remote == nil {
		return w.WriteLocalTxnMarker(ctx, topic, index, m)
	}
	img := w.Image()
	t, ok := img.Topic(topic)
	if !ok || int(index) >= len(t.Partitions) || index < 0 {
		return fmt.Errorf("marker for %s-%d: %w", topic, index, ErrUnknownPartition)
	}
	leader := t.Partitions[index].Leader
	if leader == w.NodeID {
		if _, ok := w.Partitions.Partition(topic, index); !ok {
			// Led here by the metadata, not hosted yet: reconcile creates it shortly.
			return fmt.Errorf("marker for %s-%d: led here but not hosted yet", topic, index)
		}
		return w.WriteLocalTxnMarker(ctx, topic, index, m)
	}
	return w.writeRemote(ctx, img, leader, topic, index, m)
}

// WriteLocalTxnMarker writes a marker into a partition hosted here, as its leader.
func (w *PartitionMarkers) WriteLocalTxnMarker(ctx context.Context, topic string, index int32, m Marker) error {
	p, ok := w.Partitions.Partition(topic, index)
	if !ok {
		return fmt.Errorf("marker for %s-%d: %w", topic, index, ErrUnknownPartition)
	}
	offset, err := p.WriteTxnMarker(partition.TxnMarker{ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch,
		Commit: m.Commit, CoordinatorEpoch: m.CoordinatorEpoch})
	switch {
	case errors.Is(err, partition.ErrDeleted):
		return fmt.Errorf("marker for %s-%d: %w: %w", topic, index, ErrUnknownPartition, err)
	case errors.Is(err, partition.ErrInvalidProducerEpoch), errors.Is(err, partition.ErrTransactionCoordinatorFenced):
		return fmt.Errorf("marker for %s-%d: %w: %w", topic, index, ErrMarkerRejected, err)
	case err != nil:
		return fmt.Errorf("marker for %s-%d: %w", topic, index, err)
	}
	if err := p.WaitCommitted(ctx, offset+1); err != nil {
		return fmt.Errorf("marker for %s-%d: %w", topic, index, err)
	}
	if topic == metadata.ConsumerOffsetsTopic && w.Offsets != nil {
		w.Offsets.CompleteTxnOffsets(index, m.ProducerID, m.Commit)
	}
	return nil
}

// writeRemote sends the marker to the partition's leader, broker leader, and maps its answer.
func (w *PartitionMarkers) writeRemote(ctx context.Context, img *metadata.Image, leader int32, topic string, index int32, m Marker) error {
	b, ok := img.Broker(leader)
	if leader < 0 || !ok || b.Fenced {
		return fmt.Errorf("marker for %s-%d: no live leader (broker %d)", topic, index, leader)
	}
	e, ok := b.Endpoint(w.Listener)
	if !ok {
		return fmt.Errorf("marker for %s-%d: leader %d has no endpoint for listener %q", topic, index, leader, w.Listener)
	}
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	rm := kmsg.NewWriteTxnMarkersRequestMarker()
	rm.ProducerID, rm.ProducerEpoch, rm.Committed, rm.CoordinatorEpoch = m.ProducerID, m.ProducerEpoch, m.Commit, m.CoordinatorEpoch
	rt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
	rt.Topic, rt.Partitions = topic, []int32{index}
	rm.Topics = []kmsg.WriteTxnMarkersRequestMarkerTopic{rt}
	req.Markers = []kmsg.WriteTxnMarkersRequestMarker{rm}
	resp, err := w.Remote.Send(ctx, net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port))), req)
	if err != nil {
		return fmt.Errorf("marker for %s-%d on broker %d: %w", topic, index, leader, err)
	}
	code := kerr.UnknownServerError.Code
	if r := resp.(*kmsg.WriteTxnMarkersResponse); len(r.Markers) == 1 && len(r.Markers[0].Topics) == 1 && len(r.Markers[0].Topics[0].Partitions) == 1 {
		code = r.Markers[0].Topics[0].Partitions[0].ErrorCode
	}
	switch code {
	case 0:
		return nil
	case kerr.UnknownTopicOrPartition.Code:
		return fmt.Errorf("marker for %s-%d on broker %d: %w", topic, index, leader, ErrUnknownPartition)
	case kerr.InvalidProducerEpoch.Code, kerr.TransactionCoordinatorFenced.Code:
		return fmt.Errorf("marker for %s-%d on broker %d: %w: %w", topic, index, leader, ErrMarkerRejected, kerr.ErrorForCode(code))
	}
	return fmt.Errorf("marker for %s-%d on broker %d: %w", topic, index, leader, kerr.ErrorForCode(code))
}

// WriteMarker writes one marker through the coordinator's MarkerWriter (WriteTxnMarkers: a
// coordinator elsewhere sends markers for partitions led here).
func (c *Coordinator) WriteMarker(ctx context.Context, topic string, index int32, m Marker) error {
	if c.cfg.Markers == nil {
		return ErrCoordinatorNotAvailable
	}
	if lw, ok := c.cfg.Markers.(LocalMarkerWriter); ok {
		return lw.WriteLocalTxnMarker(ctx, topic, index, m)
	}
	return c.cfg.Markers.WriteTxnMarker(ctx, topic, index, m)
}
