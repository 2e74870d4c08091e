package partition

import (
	"fmt"
	"math"

	"github.com/sluicehq/sluice/internal/record"
)

// producerBatchesKept is how many of a producer's latest batches the leader
// remembers for duplicate detection: a producer has at most five requests
// in flight per connection, so a retry can only repeat one of these.
const producerBatchesKept = 5

// Defaults of the producer-state configs (Kafka's).
const (
	DefaultProducerIDExpirationMs              int64 = 86400000 // producer.id.expiration.ms
	DefaultProducerIDExpirationCheckIntervalMs int64 = 600000   // producer.id.expiration.check.interval.ms
)

// ProducerState is what DescribeProducers reports of one producer.
type ProducerState struct {
	ProducerID       int64
	ProducerEpoch    int16
	LastSequence     int32 // -1 when no data batch of this epoch is remembered
	LastTimestamp    int64
	CoordinatorEpoch int32
	// CurrentTxnStartOffset is the first offset of the producer's ongoing
	// transaction here, -1 when none.
	CurrentTxnStartOffset int64
}

// batchMetadata is one remembered data batch of a producer (Kafka keeps the
// same four numbers).
type batchMetadata struct {
	lastSeq     int32
	lastOffset  int64
	offsetDelta int32 // lastOffset - firstOffset, also lastSeq - firstSeq
	timestamp   int64 // the batch's max timestamp
}

func (b batchMetadata) firstSeq() int32    { return decrementSequence(b.lastSeq, b.offsetDelta) }
func (b batchMetadata) firstOffset() int64 { return b.lastOffset - int64(b.offsetDelta) }

// producerEntry is one producer's state in one partition. It is a plain
// value (no pointers) so a working copy costs no allocation.
type producerEntry struct {
	producerID            int64
	epoch                 int16
	batches               [producerBatchesKept]batchMetadata // oldest first
	numBatches            int
	coordinatorEpoch      int32
	currentTxnFirstOffset int64 // -1: no ongoing transaction
	lastTimestamp         int64
}

func newProducerEntry(id int64) producerEntry {
	return producerEntry{producerID: id, epoch: record.NoProducerEpoch, coordinatorEpoch: -1, currentTxnFirstOffset: -1, lastTimestamp: -1}
}

// lastSeq is the last sequence of the newest remembered batch, or
// record.NoSequence.
func (e *producerEntry) lastSeq() int32 {
	if e.numBatches == 0 {
		return record.NoSequence
	}
	return e.batches[e.numBatches-1].lastSeq
}

// maybeUpdateEpoch moves to a new epoch, forgetting the batches of the old.
func (e *producerEntry) maybeUpdateEpoch(epoch int16) {
	if e.epoch != epoch {
		e.epoch = epoch
		e.numBatches = 0
	}
}

// addBatch remembers a data batch, dropping the oldest past five.
func (e *producerEntry) addBatch(epoch int16, b batchMetadata) {
	e.maybeUpdateEpoch(epoch)
	if e.numBatches == producerBatchesKept {
		copy(e.batches[:], e.batches[1:])
		e.numBatches--
	}
	e.batches[e.numBatches] = b
	e.numBatches++
	e.lastTimestamp = b.timestamp
}

// findDuplicate returns the remembered batch h repeats: same epoch, same
// first and last sequence.
func (e *producerEntry) findDuplicate(h record.Header) (batchMetadata, bool) {
	if h.ProducerEpoch != e.epoch {
		return batchMetadata{}, false
	}
	last := incrementSequence(h.BaseSequence, h.LastOffsetDelta)
	for i := 0; i < e.numBatches; i++ {
		b := e.batches[i]
		if b.lastSeq == last && b.firstSeq() == h.BaseSequence {
			return b, true
		}
	}
	return batchMetadata{}, false
}

func (e *producerEntry) state() ProducerState {
	return ProducerState{ProducerID: e.producerID, ProducerEpoch: e.epoch, LastSequence: e.lastSeq(),
		LastTimestamp: e.lastTimestamp, CoordinatorEpoch: e.coordinatorEpoch, CurrentTxnStartOffset: e.currentTxnFirstOffset}
}

// incrementSequence adds n to a sequence number, wrapping past MaxInt32
// to 0 as Kafka's producers do.
func incrementSequence(seq, n int32) int32 {
	if seq > math.MaxInt32-n {
		return n - (math.MaxInt32 - seq) - 1
	}
	return seq + n
}

// decrementSequence is the inverse of incrementSequence.
func decrementSequence(seq, n int32) int32 {
	if seq < n {
		return math.MaxInt32 - (n - seq) + 1
	}
	return seq - n
}

// inSequence reports whether next directly follows last.
func inSequence(last, next int32) bool {
	return int64(next) == int64(last)+1 || (next == 0 && last == math.MaxInt32)
}

// checkProducerEpoch refuses a batch or marker from an older epoch than the
// partition has seen (Kafka answers INVALID_PRODUCER_EPOCH since 2.7, so
// the producer can abort and retry rather than die).
func checkProducerEpoch(e *producerEntry, epoch int16, offset int64) error {
	if epoch < e.epoch {
		return fmt.Errorf("%w: producer %d at offset %d has epoch %d, smaller than the last seen epoch %d",
			ErrInvalidProducerEpoch, e.producerID, offset, epoch, e.epoch)
	}
	return nil
}

// checkSequence applies Kafka's sequence rules to a client's data batch.
// working is the entry with this request's earlier batches applied,
// curEpoch the producer's epoch before the request. A new epoch must start at sequence 0 (unless
// the producer was unknown); within an epoch the batch must follow the last
// one; a producer whose state is unknown here (new, expired, or its records
// deleted) may start at any sequence, as Kafka accepts since KIP-360.
func checkSequence(working *producerEntry, curEpoch, epoch int16, firstSeq int32, offset int64) error {
	if epoch != working.epoch {
		if firstSeq != 0 && working.epoch != record.NoProducerEpoch {
			return fmt.Errorf("%w: producer %d at offset %d: new epoch %d must start at sequence 0, got %d (current epoch %d)",
				ErrOutOfOrderSequence, working.producerID, offset, epoch, firstSeq, working.epoch)
		}
		return nil
	}
	last := working.lastSeq()
	if curEpoch == record.NoProducerEpoch || inSequence(last, firstSeq) {
		return nil
	}
	return fmt.Errorf("%w: producer %d at offset %d: sequence %d does not follow %d",
		ErrOutOfOrderSequence, working.producerID, offset, firstSeq, last)
}
