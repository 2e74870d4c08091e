package txn

import (
	"context"
	"fmt"
	"sync"
)

// ProducerIDBlockSize is how many producer ids one metadata record hands to this broker, as
// Kafka's controller allocates them (1000 per block).
const ProducerIDBlockSize = 1000

// BlockSource hands out blocks of producer ids through the metadata log
// (*metadata.Controller). The returned block [first, first+size) is committed before the
// call returns, so no other broker or later controller reissues it.
type BlockSource interface {
	AllocateProducerIDs(ctx context.Context, brokerID int32, size int64) (first int64, err error)
}

// ProducerIDs hands out producer ids one at a time from blocks allocated through a
// BlockSource, fetching the next block when one runs out. Ids of a block left unused when
// the broker stops are lost, as in Kafka: ids are never reused.
//
// Concurrency: safe for concurrent use; mu is held across a block fetch so that concurrent
// callers wait for one fetch instead of wasting blocks.
type ProducerIDs struct {
	source    BlockSource
	brokerID  int32
	blockSize int64

	mu struct {
		sync.Mutex
		next, end int64 // [next, end) is what is left of the current block
	}
}

// NewProducerIDs returns an allocator drawing blocks of blockSize (ProducerIDBlockSize when
// <= 0) from source for brokerID.
func NewProducerIDs(source BlockSource, brokerID int32, blockSize int64) *ProducerIDs {
	if blockSize <= 0 {
		blockSize = ProducerIDBlockSize
	}
	return &ProducerIDs{source: source, brokerID: brokerID, blockSize: blockSize}
}

// Next returns an unused producer id.
func (a *ProducerIDs) Next(ctx context.Context) (int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mu.next >= a.mu.end {
		first, err := a.source.AllocateProducerIDs(ctx, a.brokerID, a.blockSize)
		if err != nil {
			return -1, fmt.Errorf("%w: producer id block: %w", ErrCoordinatorNotAvailable, err)
		}
		a.mu.next, a.mu.end = first, first+a.blockSize
	}
	id := a.mu.next
	a.mu.next++
	return id, nil
}
