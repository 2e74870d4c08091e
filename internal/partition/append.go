package partition

import (
	"fmt"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/storage"
)

// AppendResult describes records appended as leader.
type AppendResult struct {
	BaseOffset     int64 // offset of the first record; -1 when nothing was appended
	LastOffset     int64 // offset of the last record
	LogAppendTime  int64 // broker time stamped into the batches (LogAppendTime topics), else -1
	LogStartOffset int64
	// Duplicate reports a retried batch: it repeats one of its producer's
	// last five, so nothing was appended and the offsets are the ones the
	// original got.
	Duplicate bool
}

// Append validates one produce request's records for this partition and
// appends them as leader. records is modified in place (offsets, leader
// epoch, LogAppendTime) and not retained. With acks=-1 it first requires an
// ISR of at least min.insync.replicas. It returns once the records are
// written, without waiting for durability: completing acks=-1 (waiting for
// the high watermark) is the caller's, through Committed and a Waiter, and
// so is completing acks=1 in group-commit mode (Durable).
//
// Batches of idempotent and transactional producers (producer id >= 0)
// are checked against the partition's producer table as Kafka's leader
// does: a retry of one of the producer's last five batches is answered
// with the original offsets (AppendResult.Duplicate) and appends nothing;
// an older epoch is ErrInvalidProducerEpoch; a sequence that does not
// follow the last (or a new epoch not starting at 0) is
// ErrOutOfOrderSequence; a non-transactional batch inside the producer's
// open transaction is ErrInvalidTxnState. A transactional batch opens a
// transaction, which holds the last stable offset until WriteTxnMarker.
//
// Errors wrap ErrNotLeader, ErrDeleted, ErrNotEnoughReplicas,
// ErrMessageTooLarge, ErrInvalidRecord / *RecordErrors,
// ErrInvalidTimestamp, the producer errors above, record.ErrCorrupt,
// record.ErrUnsupportedMagic or a storage error; on any of them nothing
// was appended.
func (p *Partition) Append(records []byte, acks int16) (AppendResult, error) {
	return p.AppendWithin(records, acks, nil)
}

// AppendWithin is Append for one partition of a produce request whose
// decompression is bounded by budget (shared by the request's partitions;
// nil: no request-wide bound). A batch passing the budget fails the
// partition with ErrDecompressBudget.
func (p *Partition) AppendWithin(records []byte, acks int16, budget *DecompressBudget) (AppendResult, error) {
	p.leadership.RLock()
	defer p.leadership.RUnlock()
	p.mu.Lock()
	deleted, leader := p.mu.deleted, p.mu.isLeader
	cfg, epoch, isrSize := p.mu.config, p.mu.state.LeaderEpoch, len(p.mu.state.ISR)
	p.mu.Unlock()
	res := AppendResult{BaseOffset: -1, LastOffset: -1, LogAppendTime: -1, LogStartOffset: p.log.LogStartOffset()}
	switch {
	case deleted:
		return res, fmt.Errorf("%s-%d: %w", p.topic, p.index, ErrDeleted)
	case !leader:
		return res, fmt.Errorf("%s-%d: %w", p.topic, p.index, ErrNotLeader)
	case acks == -1 && isrSize < cfg.MinInsyncReplicas:
		return res, fmt.Errorf("%s-%d: %w: ISR has %d, min.insync.replicas is %d",
			p.topic, p.index, ErrNotEnoughReplicas, isrSize, cfg.MinInsyncReplicas)
	}
	nowMs := p.now().UnixMilli()
	v, err := validateWithin(records, cfg, nowMs, budget)
	if err != nil {
		return res, fmt.Errorf("%s-%d: %w", p.topic, p.index, err)
	}
	if v.batches == 0 {
		return res, nil // an empty record set appends nothing, as in Kafka
	}
	if needsRecompression(records, cfg) {
		buf := recompressBuffers.Get().(*[]byte)
		defer putRecompressBuffer(buf)
		if records, err = recompress(records, cfg.Codec, cfg.Level, buf); err != nil {
			return res, fmt.Errorf("%s-%d: %w: %w", p.topic, p.index, ErrInvalidRecord, err)
		}
		if err := checkBatchSizes(records, cfg.MaxMessageBytes); err != nil {
			return res, fmt.Errorf("%s-%d: %w", p.topic, p.index, err)
		}
	}
	if cfg.LogAppendTime {
		it := record.NewBatches(records)
		for batch, _, ok := it.Next(); ok; batch, _, ok = it.Next() {
			record.SetLogAppendTime(batch, nowMs)
		}
		res.LogAppendTime = nowMs
	}
	info, dup, err := p.appendSerialized(records, epoch, cfg, nowMs, &res)
	if err != nil || dup {
		// A duplicate's original may not be durable yet: the caller's wait
		// (Committed or Durable at res.LastOffset+1) covers it.
		return res, err
	}
	// Outside the producer table's lock, so that concurrent appends to this
	// partition share a group-commit round instead of one fsync each. It
	// does not wait: the round moves the durable offset and, through
	// durableAdvanced, the high watermark.
	if err := p.log.ScheduleSync(info); err != nil {
		return res, fmt.Errorf("%s-%d: append: %w", p.topic, p.index, err)
	}
	res.BaseOffset, res.LastOffset, res.LogStartOffset = info.FirstOffset, info.LastOffset, info.LogStartOffset
	p.mu.Lock()
	p.maybeAdvanceHighWatermarkLocked()
	p.notifyLocked() // followers wait on the log end offset, not only the HW
	p.mu.Unlock()
	return res, nil
}

// appendSerialized is the part of Append that runs one at a time per
// partition (validation and recompression before it run concurrently across
// connections): the producer checks, the write and the producer table
// update, under Partition.producers. dup reports a retried batch answered
// with its original offsets in res; nothing was written then.
func (p *Partition) appendSerialized(records []byte, epoch int32, cfg Config, nowMs int64, res *AppendResult) (storage.AppendInfo, bool, error) {
	p.producers.Lock()
	defer p.producers.Unlock()
	states := &p.producers.states
	states.maybeRemoveExpired(nowMs)
	var plan appendPlan
	planned := p.log.LogEndOffset() // appends are serialized by producers: the offset the log will assign
	dup, err := states.plan(records, planned, &plan)
	switch {
	case err != nil:
		return storage.AppendInfo{}, false, fmt.Errorf("%s-%d: %w", p.topic, p.index, err)
	case dup.found:
		res.BaseOffset, res.LastOffset, res.Duplicate = dup.firstOffset(), dup.lastOffset, true
		if cfg.LogAppendTime {
			res.LogAppendTime = dup.timestamp
		}
		return storage.AppendInfo{}, true, nil
	}
	p.openTxns(&plan, 0, false)
	info, err := p.log.AppendNoWait(records, epoch)
	if err != nil {
		p.openTxns(&plan, 0, true)
		return info, false, fmt.Errorf("%s-%d: append: %w", p.topic, p.index, err)
	}
	shift := info.FirstOffset - planned
	states.commit(&plan, shift)
	if shift != 0 {
		p.openTxns(&plan, shift, false)
	}
	p.maybeSnapshotAfterRollLocked()
	return info, false, nil
}

// openTxns registers (or, with undo, removes) the transactions a plan
// begins, at their planned first offsets moved by shift. Registering before
// the batches reach the log keeps the last stable offset below them.
func (p *Partition) openTxns(plan *appendPlan, shift int64, undo bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range plan.len() {
		pp := plan.at(i)
		if !pp.openedTxn {
			continue
		}
		if undo {
			delete(p.mu.ongoingTxns, pp.entry.producerID)
			continue
		}
		p.mu.ongoingTxns[pp.entry.producerID] = pp.entry.currentTxnFirstOffset + shift
	}
}

// Committed reports whether every offset below end is committed (the high
// watermark reached end), for completing acks=-1. It fails with
// ErrNotLeader if leadership moved away (the records may be truncated) and,
// once the high watermark reached end, with ErrNotEnoughReplicasAfterAppend if
// the ISR (with any pending expansion, KIP-497) is below min.insync.replicas.
func (p *Partition) Committed(end int64) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.mu.deleted:
		return false, ErrDeleted
	case !p.mu.isLeader:
		return false, ErrNotLeader
	case p.mu.highWatermark >= end && p.maximalISRSizeLocked() < p.mu.config.MinInsyncReplicas:
		// Appended while the ISR was large enough, committed after it shrank: as Kafka, the
		// answer waits for the high watermark and then reports the shrink.
		return false, ErrNotEnoughReplicasAfterAppend
	case p.mu.highWatermark >= end:
		return true, nil
	}
	if err := p.log.Err(); err != nil {
		// A failed fsync round took the log offline: the records will never be durable.
		return false, fmt.Errorf("%s-%d: %w", p.topic, p.index, err)
	}
	return false, nil
}

// Durable reports whether every offset below end survives a power loss on
// this node (the log's durable offset reached end), for completing acks=1:
// in group-commit mode an acknowledged record is a durable one; in
// page-cache mode it is true as soon as the records are written. It fails
// as Committed does when the partition was deleted, leadership moved away
// or the log went offline.
func (p *Partition) Durable(end int64) (bool, error) {
	if p.log.DurableOffset() >= end {
		return true, nil
	}
	p.mu.Lock()
	deleted, leader := p.mu.deleted, p.mu.isLeader
	p.mu.Unlock()
	switch {
	case deleted:
		return false, ErrDeleted
	case !leader:
		return false, ErrNotLeader
	}
	if err := p.log.Err(); err != nil {
		return false, fmt.Errorf("%s-%d: %w", p.topic, p.index, err)
	}
	return false, nil
}
