package partition

import (
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/internal/record"
)

// FollowerAppend describes what AppendAsFollower wrote.
type FollowerAppend struct {
	// Appended is false when the fetched bytes held no whole batch (nothing was written).
	Appended bool
	// LogEndOffset is the log end offset after the append: the next fetch's offset.
	LogEndOffset int64
	// Bytes is how many bytes of batches were written.
	Bytes int
}

// AppendAsFollower appends batches fetched from the leader of leaderEpoch, with the offsets,
// epochs and timestamps the leader gave them, and applies them to the producer table and the
// open transactions exactly as the leader did (without its checks: the leader made them), so
// that this replica can become leader with idempotence and transactions intact. A torn
// trailing batch (a fetch cut short by its byte budget) is dropped; every whole batch must
// pass its CRC. It does not wait for an fsync (the log's group commit covers it soon).
//
// It fails with ErrNotFollower when this node leads the partition or follows another leader
// epoch than leaderEpoch (metadata moved on since the fetch was sent), ErrDeleted, or a storage
// or record error; then nothing was written.
func (p *Partition) AppendAsFollower(batches []byte, leaderEpoch int32) (FollowerAppend, error) {
	p.leadership.RLock()
	defer p.leadership.RUnlock()
	if err := p.checkFollowerLocked(leaderEpoch); err != nil {
		return FollowerAppend{LogEndOffset: p.log.LogEndOffset()}, err
	}
	n, err := wholeValidBatches(batches)
	if err != nil {
		return FollowerAppend{LogEndOffset: p.log.LogEndOffset()}, fmt.Errorf("%s-%d: fetched records: %w", p.topic, p.index, err)
	}
	if n == 0 {
		return FollowerAppend{LogEndOffset: p.log.LogEndOffset()}, nil
	}
	batches = batches[:n]
	p.producers.Lock()
	info, err := p.log.AppendAsFollowerNoWait(batches)
	if err != nil {
		p.producers.Unlock()
		return FollowerAppend{LogEndOffset: p.log.LogEndOffset()}, fmt.Errorf("%s-%d: append as follower: %w", p.topic, p.index, err)
	}
	err = p.applyFollowerBatches(batches)
	p.maybeSnapshotAfterRollLocked()
	p.producers.Unlock()
	if err != nil {
		return FollowerAppend{LogEndOffset: p.log.LogEndOffset()}, fmt.Errorf("%s-%d: producer state of fetched records: %w", p.topic, p.index, err)
	}
	if err := p.log.ScheduleSync(info); err != nil {
		return FollowerAppend{LogEndOffset: p.log.LogEndOffset()}, fmt.Errorf("%s-%d: append as follower: %w", p.topic, p.index, err)
	}
	p.mu.Lock()
	p.notifyLocked()
	p.mu.Unlock()
	return FollowerAppend{Appended: true, LogEndOffset: info.LastOffset + 1, Bytes: n}, nil
}

// checkFollowerLocked fails unless this node follows the partition in leaderEpoch. The caller
// holds leadership (shared).
func (p *Partition) checkFollowerLocked(leaderEpoch int32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.mu.deleted:
		return fmt.Errorf("%s-%d: %w", p.topic, p.index, ErrDeleted)
	case p.mu.isLeader:
		return fmt.Errorf("%s-%d: %w: this node leads it", p.topic, p.index, ErrNotFollower)
	case p.mu.state.LeaderEpoch != leaderEpoch:
		return fmt.Errorf("%s-%d: %w: fetched in leader epoch %d, now %d", p.topic, p.index, ErrNotFollower, leaderEpoch, p.mu.state.LeaderEpoch)
	}
	return nil
}

// wholeValidBatches returns how many leading bytes of b are whole batches, checking each one's
// CRC; a torn last batch is left out, anything else malformed is an error.
func wholeValidBatches(b []byte) (int, error) {
	it := record.NewBatches(b)
	for batch, _, ok := it.Next(); ok; batch, _, ok = it.Next() {
		if _, err := record.Validate(batch, record.ValidateOptions{}); err != nil {
			return 0, err
		}
	}
	if err := it.Err(); err != nil && !errors.Is(err, record.ErrTruncated) {
		return 0, err
	}
	return it.Pos(), nil
}

// applyFollowerBatches applies appended batches to the producer table and the open
// transactions, as replay does after a restart. The caller holds producers.
func (p *Partition) applyFollowerBatches(batches []byte) error {
	r := replayer{p: p}
	it := record.NewBatches(batches)
	for batch, h, ok := it.Next(); ok; batch, h, ok = it.Next() {
		if h.ProducerID < 0 {
			continue
		}
		if err := r.apply(h, func() (record.ControlType, int32, int64, bool, error) { return r.markerOf(batch) }); err != nil {
			return err
		}
		p.mu.Lock()
		if e := p.producers.states.entries[h.ProducerID]; e != nil && e.currentTxnFirstOffset >= 0 {
			p.mu.ongoingTxns[h.ProducerID] = e.currentTxnFirstOffset
		} else {
			delete(p.mu.ongoingTxns, h.ProducerID)
		}
		p.mu.Unlock()
	}
	return nil
}

// SetFollowerHighWatermark takes the leader's high watermark from a fetch response: the
// follower's is the smaller of it and its own log end offset. It also moves the log start
// offset up to the leader's (records the leader deleted, DeleteRecords or retention). It
// never lowers the high watermark (a truncation does).
func (p *Partition) SetFollowerHighWatermark(leaderHW, leaderLogStart int64) error {
	p.mu.Lock()
	if p.mu.isLeader || p.mu.deleted {
		p.mu.Unlock()
		return nil
	}
	hw := min(leaderHW, p.log.LogEndOffset())
	moved := hw > p.mu.highWatermark
	if moved {
		p.mu.highWatermark = hw
		p.notifyLocked()
	}
	p.mu.Unlock()
	if leaderLogStart > p.log.LogStartOffset() && leaderLogStart <= hw {
		if err := p.log.DeleteRecordsBefore(leaderLogStart); err != nil {
			return fmt.Errorf("%s-%d: follow the leader's log start offset %d: %w", p.topic, p.index, leaderLogStart, err)
		}
	}
	return nil
}

// LatestEpoch is the leader epoch of the newest entry in the log's epoch cache, or -1: a
// follower's Fetch LastFetchedEpoch (KIP-320).
func (p *Partition) LatestEpoch() int32 { return p.latestEpoch() }

// EndOffsetForEpochLocal is this replica's own answer to OffsetForLeaderEpoch for epoch: the
// largest epoch it knows at or below it and where that epoch ends here. A follower compares
// it with the leader's answer to find where the logs diverge.
func (p *Partition) EndOffsetForEpochLocal(epoch int32) (int32, int64) {
	return p.log.LeaderEpochs().EndOffsetFor(epoch, p.log.LogEndOffset())
}

// TruncateTo cuts a follower's log at offset (Kafka's truncation after a leader change, where
// this replica's log diverged from the new leader's, KIP-101/279): the records at and after
// offset, their leader epoch entries and the producer state they built are removed, the
// producer table is rebuilt from the newest snapshot below offset, and the high watermark and
// the cleaner's checkpoint come down with the log end offset. It refuses on a leader.
func (p *Partition) TruncateTo(offset int64) error {
	return p.truncate(offset, func() error {
		if offset >= p.log.LogEndOffset() {
			return errNothingToCut
		}
		if err := p.log.TruncateTo(offset); err != nil {
			return fmt.Errorf("%s-%d: truncate to %d: %w", p.topic, p.index, offset, err)
		}
		return nil
	})
}

// TruncateFullyAndStartAt empties a follower's log and restarts it at offset: the leader no
// longer has the records this replica would fetch next (its log start offset passed them).
func (p *Partition) TruncateFullyAndStartAt(offset int64) error {
	return p.truncate(offset, func() error {
		if err := p.log.TruncateFullyAndStartAt(offset); err != nil {
			return fmt.Errorf("%s-%d: restart the log at %d: %w", p.topic, p.index, offset, err)
		}
		return nil
	})
}

// errNothingToCut tells truncate that cut found the log already short enough.
var errNothingToCut = errors.New("nothing to cut")

// truncate runs cut, which shortens the log, on a follower with no append or epoch-checked
// read in progress (leadership held exclusively, then producers), and rebuilds what the cut
// records built.
func (p *Partition) truncate(offset int64, cut func() error) error {
	p.leadership.Lock()
	defer p.leadership.Unlock()
	p.mu.Lock()
	leader, deleted := p.mu.isLeader, p.mu.deleted
	p.mu.Unlock()
	switch {
	case deleted:
		return fmt.Errorf("%s-%d: %w", p.topic, p.index, ErrDeleted)
	case leader:
		return fmt.Errorf("%s-%d: %w: a leader never truncates", p.topic, p.index, ErrNotFollower)
	}
	p.producers.Lock()
	defer p.producers.Unlock()
	switch err := cut(); {
	case errors.Is(err, errNothingToCut):
		return nil
	case err != nil:
		return err
	}
	return p.resetAfterTruncationLocked(offset)
}

// resetAfterTruncationLocked rebuilds the producer table and lowers the high watermark after
// the log was cut. The caller holds leadership and producers.
func (p *Partition) resetAfterTruncationLocked(offset int64) error {
	p.producers.states = newProducerStates(p.producers.states.expirationMs, p.producers.states.checkIntervalMs)
	p.producers.states.dynamicExpirationMs = p.dynamicExpiration
	if err := p.loadProducerState(); err != nil {
		return err
	}
	p.mu.Lock()
	if end := p.log.LogEndOffset(); p.mu.highWatermark > end {
		p.mu.highWatermark = end
	}
	p.notifyLocked()
	p.mu.Unlock()
	p.logger.Info("truncated diverging log", "topic", p.topic, "partition", p.index, "offset", offset, "log_end_offset", p.log.LogEndOffset())
	return nil
}
