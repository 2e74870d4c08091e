package storage

import (
	"fmt"
	"math"
	"sync"

	"github.com/sluicehq/sluice/internal/record"
)

// analyzeLocked walks the batch headers once: it assigns offsets (leader) or checks them
// (follower) and sums up what the append holds.
func (l *Log) analyzeLocked(batches []byte, leaderEpoch int32, assign bool) (AppendInfo, error) {
	info := AppendInfo{FirstOffset: -1, LastOffset: -1, MaxTimestamp: -1, OffsetOfMaxTimestamp: -1, LogAppendTime: -1}
	next := l.logEndOffset.Load()
	it := record.NewBatches(batches)
	n := 0
	for batch, h, ok := it.Next(); ok; batch, h, ok = it.Next() {
		if assign {
			record.SetBaseOffset(batch, next)
			record.SetPartitionLeaderEpoch(batch, leaderEpoch)
			h.BaseOffset, h.PartitionLeaderEpoch = next, leaderEpoch
		} else if h.BaseOffset < next {
			return info, fmt.Errorf("%w: batch %d at base offset %d, expected at least %d", ErrOffsetsOutOfOrder, n, h.BaseOffset, next)
		}
		if h.LastOffsetDelta < 0 {
			return info, fmt.Errorf("%w: batch %d has last offset delta %d", ErrInvalidAppend, n, h.LastOffsetDelta)
		}
		if info.FirstOffset < 0 {
			info.FirstOffset = h.BaseOffset
		}
		last := h.LastOffset()
		if h.MaxTimestamp > info.MaxTimestamp {
			info.MaxTimestamp, info.OffsetOfMaxTimestamp = h.MaxTimestamp, last
		}
		if h.LogAppendTime() {
			info.LogAppendTime = h.MaxTimestamp
		}
		info.Records += int64(h.NumRecords)
		info.LastOffset = last
		next = last + 1
		n++
	}
	if err := it.Err(); err != nil {
		return info, fmt.Errorf("%w: %w", ErrInvalidAppend, err)
	}
	if n == 0 {
		return info, fmt.Errorf("%w: no batches", ErrInvalidAppend)
	}
	return info, nil
}

// shouldRollLocked applies Kafka's roll rules to an append of size bytes.
func (l *Log) shouldRollLocked(seg *segment, cfg LogConfig, size int, info AppendInfo) bool {
	segSize := seg.size.Load()
	if segSize > 0 && segSize > cfg.SegmentBytes-int64(size) {
		return true
	}
	if segSize > 0 {
		// segment.ms counts from the first batch's timestamp when there is one, as in Kafka,
		// so a log replayed with old timestamps rolls like the original did.
		var waited int64
		if seg.rollingBaseTs >= 0 {
			waited = info.MaxTimestamp - seg.rollingBaseTs
		} else {
			waited = l.m.now().UnixMilli() - seg.createdMs
		}
		if waited > cfg.SegmentMs-seg.rollJitterMs {
			return true
		}
	}
	if seg.offsetEntries.Load() >= cfg.maxOffsetIndexEntries() || seg.timeEntries.Load() >= cfg.maxTimeIndexEntries() {
		return true
	}
	return !relOffsetFits(seg.baseOffset, info.LastOffset) && (segSize > 0 || seg.baseOffset < info.FirstOffset)
}

// rollLocked makes a new active segment at newBase. The old segment gets its final time-index
// entry; in group-commit mode it is fsynced before the new segment takes data (so torn writes
// can only hurt the newest segment), otherwise it is flushed in the background as Kafka does.
func (l *Log) rollLocked(newBase int64) (*segment, error) {
	segs := l.segs()
	old := segs[len(segs)-1]
	if old.size.Load() > 0 {
		if ts, ok := old.builder.timeEntryDue(old.baseOffset); ok {
			var b [timeEntrySize]byte
			putTimeEntry(b[:], ts)
			old.addIndexEntries(nil, b[:], offsetEntry{})
		}
	}
	// Only the active segment keeps index entries in memory: the old one's go to its files
	// before the new segment is published.
	if err := old.writeIndexTail(); err != nil {
		return nil, l.goOffline(fmt.Errorf("roll: %w", err))
	}
	old.releaseIndexTail()
	seg := newSegment(l, newBase, 0)
	if err := seg.create(); err != nil {
		return nil, l.goOffline(fmt.Errorf("roll: %w", err))
	}
	l.dirDirty.Store(true)
	if l.m.syncer != nil {
		// Before the new segment becomes the active one: appends written to the old segment
		// may still be waiting for a group-commit round, and a round fsyncs only the active
		// segment. Syncing the directory also makes the new segment's files durable.
		if err := l.flushTo(newBase); err != nil {
			return nil, err
		}
	}
	next := make([]*segment, 0, len(segs)+1)
	if old.size.Load() == 0 {
		// An empty active segment is replaced rather than kept (an offset jump on a follower).
		next = append(next, segs[:len(segs)-1]...)
		if err := old.remove(); err != nil {
			return nil, l.goOffline(fmt.Errorf("roll: %w", err))
		}
	} else {
		next = append(next, segs...)
	}
	next = append(next, seg)
	l.segments.Store(&next)
	l.m.metrics.SegmentsRolled.Inc()
	if l.m.syncer == nil {
		l.m.background(func() {
			// Failures take the log offline inside flushTo; nothing else to do here.
			_ = l.flushTo(newBase)
		})
	}
	return seg, nil
}

// assignEpochsLocked records new leader epochs before the data is written (as Kafka does):
// an epoch entry that points past the log end is trimmed at recovery, a missing one could
// not be recovered.
func (l *Log) assignEpochsLocked(batches []byte, leaderEpoch int32, assign bool, firstOffset int64) error {
	if assign {
		if leaderEpoch < 0 {
			return nil
		}
		if err := l.epochs.Assign(leaderEpoch, firstOffset); err != nil {
			return l.goOffline(err)
		}
		return nil
	}
	it := record.NewBatches(batches)
	for _, h, ok := it.Next(); ok; _, h, ok = it.Next() {
		if h.PartitionLeaderEpoch < 0 {
			continue
		}
		if latest, ok := l.epochs.Latest(); ok && h.PartitionLeaderEpoch <= latest.Epoch {
			continue
		}
		if err := l.epochs.Assign(h.PartitionLeaderEpoch, h.BaseOffset); err != nil {
			return l.goOffline(err)
		}
	}
	return nil
}

// indexScratch holds the encoded index entries of one append.
type indexScratch struct{ offsets, times []byte }

var indexScratchPool = sync.Pool{New: func() any { return new(indexScratch) }}

// writeIndexEntriesLocked adds the index entries the appended batches call for to the
// segment's in-memory tail, and writes the tail out when it is long enough (indextail.go).
func (l *Log) writeIndexEntriesLocked(seg *segment, batches []byte, pos int64) error {
	sc := indexScratchPool.Get().(*indexScratch)
	defer indexScratchPool.Put(sc)
	sc.offsets, sc.times = sc.offsets[:0], sc.times[:0]
	var b [timeEntrySize]byte
	var lastOff offsetEntry
	it := record.NewBatches(batches)
	for _, h, ok := it.Next(); ok; _, h, ok = it.Next() {
		off, addOff, ts, addTs := seg.builder.add(seg.baseOffset, h.LastOffset(), h.MaxTimestamp, pos, int64(h.Size()))
		if addOff {
			putOffsetEntry(b[:], off)
			sc.offsets = append(sc.offsets, b[:offsetEntrySize]...)
			lastOff = off
		}
		if addTs {
			putTimeEntry(b[:], ts)
			sc.times = append(sc.times, b[:]...)
		}
		pos += int64(h.Size())
	}
	if len(sc.offsets) == 0 && len(sc.times) == 0 {
		return nil
	}
	if seg.addIndexEntries(sc.offsets, sc.times, lastOff) {
		return seg.writeIndexTail()
	}
	return nil
}

// Flush fsyncs everything appended so far (data and indexes) and advances the recovery
// point to the log end offset.
func (l *Log) Flush() error {
	unflushed := l.unflushedMessages.Load()
	if err := l.flushTo(l.logEndOffset.Load()); err != nil {
		return err
	}
	l.unflushedMessages.Add(-unflushed)
	return nil
}

// flushTo fsyncs the segments holding offsets in [recovery point, upTo) and the partition
// directory, then moves the recovery point to upTo.
func (l *Log) flushTo(upTo int64) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	if err := l.checkUsable(); err != nil {
		return err
	}
	l.lastFlushMs.Store(l.m.now().UnixMilli())
	rp := l.recoveryPoint.Load()
	if upTo <= rp && !l.dirDirty.Load() {
		return nil
	}
	segs := l.segs()
	for i, s := range segs {
		if limitOf(segs, i) <= rp || s.baseOffset >= upTo {
			continue
		}
		if err := s.sync(false); err != nil {
			if isDeleted(err) {
				continue
			}
			return l.goOffline(err)
		}
	}
	if l.dirDirty.Swap(false) {
		if err := l.m.fs.SyncDir(l.dir); err != nil {
			l.dirDirty.Store(true)
			return l.goOffline(fmt.Errorf("sync dir %s: %w", l.dir, err))
		}
		l.m.metrics.Fsyncs.Inc()
	}
	for {
		cur := l.recoveryPoint.Load()
		if upTo <= cur || l.recoveryPoint.CompareAndSwap(cur, upTo) {
			return nil
		}
	}
}

// syncActive fsyncs the active segment's .log (group commit). Earlier segments were fsynced
// when the log rolled past them.
func (l *Log) syncActive() error {
	if err := l.checkUsable(); err != nil {
		return err
	}
	segs := l.segs()
	if err := segs[len(segs)-1].sync(true); err != nil {
		if isDeleted(err) {
			return ErrLogDeleted
		}
		return l.goOffline(err)
	}
	return nil
}

// maybeFlushByTime flushes when flush.ms has passed since the last flush.
func (l *Log) maybeFlushByTime(nowMs int64) error {
	cfg := l.config()
	if cfg.FlushMs == math.MaxInt64 || nowMs-l.lastFlushMs.Load() < cfg.FlushMs {
		return nil
	}
	if l.logEndOffset.Load() <= l.recoveryPoint.Load() {
		l.lastFlushMs.Store(nowMs)
		return nil
	}
	return l.Flush()
}
