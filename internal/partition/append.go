package partition

import (
	"fmt"

	"github.com/sluicehq/sluice/internal/record"
)

// AppendResult describes records appended as leader.
type AppendResult struct {
	BaseOffset     int64 // offset of the first record; -1 when nothing was appended
	LastOffset     int64 // offset of the last record
	LogAppendTime  int64 // broker time stamped into the batches (LogAppendTime topics), else -1
	LogStartOffset int64
}

// Append validates one produce request's records for this partition and
// appends them as leader. records is modified in place (offsets, leader
// epoch, LogAppendTime) and not retained. With acks=-1 it first requires an
// ISR of at least min.insync.replicas; completing acks=-1 (waiting for the
// high watermark) is the caller's, through Committed and a Waiter.
//
// Errors wrap ErrNotLeader, ErrDeleted, ErrNotEnoughReplicas,
// ErrMessageTooLarge, ErrInvalidRecord / *RecordErrors,
// ErrInvalidTimestamp, record.ErrCorrupt, record.ErrUnsupportedMagic or a
// storage error; on any of them nothing was appended.
func (p *Partition) Append(records []byte, acks int16) (AppendResult, error) {
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
	v, err := validate(records, cfg, nowMs)
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
	info, err := p.log.Append(records, epoch)
	if err != nil {
		return res, fmt.Errorf("%s-%d: append: %w", p.topic, p.index, err)
	}
	res.BaseOffset, res.LastOffset, res.LogStartOffset = info.FirstOffset, info.LastOffset, info.LogStartOffset
	p.mu.Lock()
	p.maybeAdvanceHighWatermarkLocked()
	p.notifyLocked() // followers wait on the log end offset, not only the HW
	p.mu.Unlock()
	return res, nil
}

// Committed reports whether every offset below end is committed (the high
// watermark reached end), for completing acks=-1. It fails with
// ErrNotLeader if leadership moved away (the records may be truncated) and
// with ErrNotEnoughReplicasAfterAppend if the ISR shrank below
// min.insync.replicas.
func (p *Partition) Committed(end int64) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.mu.deleted:
		return false, ErrDeleted
	case !p.mu.isLeader:
		return false, ErrNotLeader
	case p.mu.highWatermark >= end:
		return true, nil
	case len(p.mu.state.ISR) < p.mu.config.MinInsyncReplicas:
		return false, ErrNotEnoughReplicasAfterAppend
	}
	return false, nil
}
