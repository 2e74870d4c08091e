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

// ListOffsets' replica ids besides brokers' (>= 0).
const (
	// ConsumerReplica: a client; only the leader answers, with offsets
	// consumers may read (below the high watermark or last stable offset).
	ConsumerReplica int32 = -1
	// DebuggingReplica: any replica answers, up to its log end offset
	// (Kafka's debugging replica id, which KIP-392 kept for followers).
	DebuggingReplica int32 = -2
)

// ListOffset finds the offset for a ListOffsets timestamp as the leader
// answers a consumer (ListOffsetAs with ConsumerReplica).
func (p *Partition) ListOffset(timestamp int64, isolation Isolation, currentLeaderEpoch int32) (OffsetResult, error) {
	return p.ListOffsetAs(timestamp, isolation, currentLeaderEpoch, ConsumerReplica)
}

// ListOffsetAs finds the offset for a ListOffsets timestamp: one of the
// special values above, or the first record whose timestamp is at least
// timestamp, for the requester replica (ConsumerReplica, DebuggingReplica
// or a broker id), as Kafka's leader does:
//   - consumers see offsets below the high watermark (or, read_committed,
//     the last stable offset), brokers and debugging requests below the
//     log end offset;
//   - only the leader answers, except DebuggingReplica requests, which
//     any replica answers (ErrNotLeader otherwise);
//   - a consumer asking a new leader whose high watermark has not yet
//     reached the start of its epoch (its followers have not fetched since
//     the election, so the true high watermark is unknown) gets
//     ErrOffsetNotAvailable for the latest offset and for lookups that find
//     nothing visible: it retries (KIP-320/392).
func (p *Partition) ListOffsetAs(timestamp int64, isolation Isolation, currentLeaderEpoch, replica int32) (OffsetResult, error) {
	p.mu.Lock()
	var err error
	if replica == DebuggingReplica {
		err = p.replicaReadableLocked(currentLeaderEpoch)
	} else {
		err = p.readableLocked(currentLeaderEpoch)
	}
	visibleEnd := p.visibleEndLocked(isolation)
	hw, leaderEpoch, leading := p.mu.highWatermark, p.mu.state.LeaderEpoch, p.mu.isLeader
	p.mu.Unlock()
	if err != nil {
		return OffsetResult{}, err
	}
	if replica != ConsumerReplica {
		visibleEnd = p.log.LogEndOffset()
	}
	// Kafka's "lagging high watermark" after an election: the start of the
	// leader's epoch is above its high watermark.
	var lagging error
	if replica == ConsumerReplica && leading {
		if e, ok := p.log.LeaderEpochs().Latest(); ok && e.Epoch == leaderEpoch && e.StartOffset > hw {
			lagging = fmt.Errorf("%s-%d: %w: high watermark %d is below the start %d of leader epoch %d",
				p.topic, p.index, ErrOffsetNotAvailable, hw, e.StartOffset, leaderEpoch)
		}
	}
	none := OffsetResult{Offset: -1, Timestamp: -1, LeaderEpoch: -1}
	var res OffsetResult
	switch timestamp {
	case EarliestTimestamp, EarliestLocalTimestamp:
		off := p.log.LogStartOffset()
		return OffsetResult{Offset: off, Timestamp: -1, LeaderEpoch: p.epochAt(off)}, nil
	case LatestTimestamp:
		if lagging != nil {
			return OffsetResult{}, lagging
		}
		return OffsetResult{Offset: visibleEnd, Timestamp: -1, LeaderEpoch: leaderEpoch}, nil
	case LatestTieredTimestamp:
		res = none
	case MaxTimestamp:
		to, ok, err := p.log.MaxTimestamp()
		if res, err = p.offsetResult(to, ok, err, visibleEnd); err != nil {
			return res, err
		}
	default:
		// Any other timestamp, even an unknown negative one (as in Kafka),
		// is a search for the first record at or after it.
		to, ok, err := p.log.OffsetForTimestamp(timestamp)
		if res, err = p.offsetResult(to, ok, err, visibleEnd); err != nil {
			return res, err
		}
	}
	if res.Offset < 0 && lagging != nil {
		return OffsetResult{}, lagging
	}
	return res, nil
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

// updateFollowerLogStart records a follower's own log start offset from its fetch (-1: not
// given) and wakes waiters when it moved, for DeleteRecords' low watermark.
func (p *Partition) updateFollowerLogStart(replica int32, logStart int64) {
	if logStart < 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.mu.followers[replica]; ok && logStart > f.logStartOffset {
		f.logStartOffset = logStart
		p.notifyLocked()
	}
}

// LowWatermark is the smallest log start offset over this leader and the followers in the ISR
// (Kafka's low watermark, which DeleteRecords answers once it reached the requested offset):
// -1 while an in-sync follower has not reported its log start since this node became leader.
func (p *Partition) LowWatermark() (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.readableLocked(NoLeaderEpoch); err != nil {
		return -1, err
	}
	low := p.log.LogStartOffset()
	for _, r := range p.mu.state.ISR {
		if f, ok := p.mu.followers[r]; ok {
			low = min(low, f.logStartOffset)
		}
	}
	return low, nil
}
