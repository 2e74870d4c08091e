package partition

import (
	"fmt"

	"github.com/sluicehq/sluice/internal/storage"
)

// Special timestamps of ListOffsets.
const (
	LatestTimestamp        int64 = -1 // the offset the next record would get (HW or LSO)
	EarliestTimestamp      int64 = -2 // the log start offset
	MaxTimestamp           int64 = -3 // the record with the largest timestamp (KIP-734)
	EarliestLocalTimestamp int64 = -4 // the first offset on local disk (KIP-405); all of it, without tiering
	LatestTieredTimestamp  int64 = -5 // the last offset in tiered storage (KIP-1005); none without tiering
)

// OffsetResult answers ListOffsets for one partition. Offset and Timestamp
// are -1 when no record matches.
type OffsetResult struct {
	Offset      int64
	Timestamp   int64
	LeaderEpoch int32 // epoch of the record at Offset, -1 if unknown
}

// ListOffset finds the offset for a ListOffsets timestamp: one of the
// special values above, or the first record whose timestamp is at least
// timestamp. Only offsets visible at isolation (below the high watermark or
// last stable offset) are returned.
func (p *Partition) ListOffset(timestamp int64, isolation Isolation, currentLeaderEpoch int32) (OffsetResult, error) {
	p.mu.Lock()
	err := p.readableLocked(currentLeaderEpoch)
	visibleEnd := p.visibleEndLocked(isolation)
	p.mu.Unlock()
	if err != nil {
		return OffsetResult{}, err
	}
	none := OffsetResult{Offset: -1, Timestamp: -1, LeaderEpoch: -1}
	switch timestamp {
	case EarliestTimestamp, EarliestLocalTimestamp:
		off := p.log.LogStartOffset()
		return OffsetResult{Offset: off, Timestamp: -1, LeaderEpoch: p.epochAt(off)}, nil
	case LatestTimestamp:
		return OffsetResult{Offset: visibleEnd, Timestamp: -1, LeaderEpoch: p.latestEpoch()}, nil
	case LatestTieredTimestamp:
		return none, nil
	case MaxTimestamp:
		to, ok, err := p.log.MaxTimestamp()
		return p.offsetResult(to, ok, err, visibleEnd)
	}
	// Any other timestamp, even an unknown negative one (as in Kafka), is a
	// search for the first record at or after it.
	to, ok, err := p.log.OffsetForTimestamp(timestamp)
	return p.offsetResult(to, ok, err, visibleEnd)
}

// offsetResult turns a storage timestamp lookup into a ListOffsets answer,
// hiding records consumers cannot see yet.
func (p *Partition) offsetResult(to storage.TimestampOffset, found bool, err error, visibleEnd int64) (OffsetResult, error) {
	if err != nil {
		return OffsetResult{}, fmt.Errorf("%s-%d: timestamp lookup: %w", p.topic, p.index, err)
	}
	if !found || to.Offset >= visibleEnd {
		return OffsetResult{Offset: -1, Timestamp: -1, LeaderEpoch: -1}, nil
	}
	return OffsetResult{Offset: to.Offset, Timestamp: to.Timestamp, LeaderEpoch: p.epochAt(to.Offset)}, nil
}

// epochAt is the leader epoch in which offset was written, or -1.
func (p *Partition) epochAt(offset int64) int32 {
	epoch := int32(-1)
	for _, e := range p.log.LeaderEpochs().Entries() {
		if e.StartOffset > offset {
			break
		}
		epoch = e.Epoch
	}
	return epoch
}

func (p *Partition) latestEpoch() int32 {
	if e, ok := p.log.LeaderEpochs().Latest(); ok {
		return e.Epoch
	}
	return -1
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch: the largest epoch at most
// requested that this log knows, and the offset where the next epoch began
// (the log end offset for the latest). (-1, -1) when unknown.
func (p *Partition) EndOffsetForEpoch(requested, currentLeaderEpoch int32) (epoch int32, endOffset int64, err error) {
	p.mu.Lock()
	err = p.readableLocked(currentLeaderEpoch)
	p.mu.Unlock()
	if err != nil {
		return -1, -1, err
	}
	epoch, endOffset = p.log.LeaderEpochs().EndOffsetFor(requested, p.log.LogEndOffset())
	return epoch, endOffset, nil
}

// DeleteRecordsBefore moves the log start offset up to offset (DeleteRecords,
// KIP-107); -1 means the high watermark. Offsets above the high watermark are
// ErrOffsetOutOfRange. It returns the new log start offset (the "low
// watermark").
func (p *Partition) DeleteRecordsBefore(offset int64) (int64, error) {
	p.leadership.RLock()
	defer p.leadership.RUnlock()
	p.mu.Lock()
	err := p.readableLocked(NoLeaderEpoch)
	hw := p.mu.highWatermark
	p.mu.Unlock()
	if err != nil {
		return -1, err
	}
	if offset == -1 {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return -1, fmt.Errorf("%s-%d: %w: delete before %d, high watermark %d", p.topic, p.index, ErrOffsetOutOfRange, offset, hw)
	}
	if offset > p.log.LogStartOffset() {
		if err := p.log.DeleteRecordsBefore(offset); err != nil {
			return -1, fmt.Errorf("%s-%d: delete records before %d: %w", p.topic, p.index, offset, err)
		}
	}
	return p.log.LogStartOffset(), nil
}
