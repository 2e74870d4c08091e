package txn

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
)

// OffsetsCompleter is told of markers written into __consumer_offsets partitions, so the
// group coordinator makes a transaction's pending offset commits visible or drops them
// (*group.Coordinator).
type OffsetsCompleter interface {
	CompleteTxnOffsets(index int32, producerID int64, commit bool)
}

// PartitionMarkers is the MarkerWriter of a single node: it writes each marker as the
// partition's leader and waits until the high watermark passes it, as a marker sent with
// WriteTxnMarkers is acknowledged in Kafka.
type PartitionMarkers struct {
	Partitions *partition.Manager
	// Offsets, when set, learns of markers in __consumer_offsets.
	Offsets OffsetsCompleter
}

// WriteTxnMarker implements MarkerWriter. A partition not hosted here or deleted is
// ErrUnknownPartition; a marker the partition refuses as fenced (an older producer or
// coordinator epoch) wraps ErrMarkerRejected.
func (w *PartitionMarkers) WriteTxnMarker(ctx context.Context, topic string, index int32, m Marker) error {
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

// WriteMarker writes one marker through the coordinator's MarkerWriter (WriteTxnMarkers: a
// coordinator elsewhere sends markers for partitions led here).
func (c *Coordinator) WriteMarker(ctx context.Context, topic string, index int32, m Marker) error {
	if c.cfg.Markers == nil {
		return ErrCoordinatorNotAvailable
	}
	return c.cfg.Markers.WriteTxnMarker(ctx, topic, index, m)
}
