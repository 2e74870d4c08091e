package metadata

import (
	"context"
	"fmt"
)

// AllocateProducerIDs hands a block of size producer ids to a broker: it proposes a
// ProducerIDsRecord advancing the Image's NextProducerID by size and returns the first id of
// the block, [first, first+size). Blocks never overlap, also across controller changes,
// because the record is committed before the ids are used. The broker epoch is recorded as
// Kafka records it; a broker that is not registered still gets ids (the record's broker
// fields are informational here).
func (c *Controller) AllocateProducerIDs(ctx context.Context, brokerID int32, size int64) (int64, error) {
	if size <= 0 {
		return 0, errorf(ErrInvalidRequest, "producer id block size %d", size)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	img, err := c.log.LeaderImage(ctx)
	if err != nil {
		return 0, fmt.Errorf("allocate producer ids: %w", err)
	}
	first := img.NextProducerID()
	if first > (1<<63-1)-size {
		return 0, errorf(ErrInvalidRequest, "producer ids exhausted at %d", first)
	}
	epoch := int64(-1)
	if b, ok := img.Broker(brokerID); ok {
		epoch = b.Epoch
	}
	rec := &ProducerIDsRecord{BrokerID: brokerID, BrokerEpoch: epoch, NextProducerID: first + size}
	if _, err := c.log.Propose(ctx, []Record{rec}); err != nil {
		return 0, fmt.Errorf("allocate producer ids: %w", err)
	}
	return first, nil
}
