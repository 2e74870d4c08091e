package storage

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/sluicehq/sluice/internal/vfs"
)

// TruncateTo removes every batch at or past offset (a follower whose log diverged from the
// leader's). A batch that straddles offset is removed whole, so the log end offset afterwards
// may be below offset. Truncating below the first segment empties the log and restarts it at
// offset. The recovery point is lowered, durably, before any byte is cut.
func (l *Log) TruncateTo(offset int64) error {
	unlock, err := l.lockForTruncation(offset)
	if err != nil {
		return err
	}
	defer unlock()
	if offset >= l.logEndOffset.Load() {
		return nil
	}
	segs := l.segs()
	full := offset <= segs[0].baseOffset || offset < l.logStartOffset.Load()
	i := floorSegment(segs, offset)
	// The cut may land below offset (a straddling batch, a gap), so the recovery point goes
	// down to the start of the segment being cut: recovery rescans it, never trusts past it.
	safe := segs[i].baseOffset
	if full {
		safe = offset
	}
	if err := l.lowerRecoveryPointLocked(safe); err != nil {
		return err
	}
	if full {
		return l.truncateFullyLocked(offset)
	}
	for j := len(segs) - 1; j > i; j-- {
		if err := segs[j].scheduleRemove(l.config().FileDeleteDelayMs); err != nil {
			return l.goOffline(err)
		}
		l.m.metrics.SegmentsDeleted.WithLabelValues(reasonTruncation).Inc()
	}
	kept := append([]*segment(nil), segs[:i+1]...)
	l.segments.Store(&kept)
	next, err := kept[i].truncateTo(offset)
	if err != nil {
		return l.goOffline(err)
	}
	l.logEndOffset.Store(next)
	l.truncateDurableLocked(next)
	l.m.cleaner.truncated(l.tp, next)
	l.unflushedMessages.Store(0)
	if err := l.epochs.TruncateFromEnd(next); err != nil {
		return l.goOffline(err)
	}
	return l.syncDirLocked()
}

func (l *Log) syncDirLocked() error {
	if err := l.m.fs.SyncDir(l.dir); err != nil {
		return l.goOffline(fmt.Errorf("sync dir %s: %w", l.dir, err))
	}
	l.dirDirty.Store(false)
	return nil
}

// TruncateFullyAndStartAt deletes every segment and restarts the log, empty, at offset (a
// follower whose leader no longer has the records it would fetch next).
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	unlock, err := l.lockForTruncation(offset)
	if err != nil {
		return err
	}
	defer unlock()
	if err := l.lowerRecoveryPointLocked(offset); err != nil {
		return err
	}
	return l.truncateFullyLocked(offset)
}

// lockForTruncation takes the append and flush locks for a truncation to offset, after
// checking the log is usable and offset is not negative; unlock releases them.
func (l *Log) lockForTruncation(offset int64) (unlock func(), err error) {
	l.appendMu.Lock()
	l.flushMu.Lock()
	unlock = func() {
		l.flushMu.Unlock()
		l.appendMu.Unlock()
	}
	if err := l.checkUsable(); err != nil {
		unlock()
		return nil, err
	}
	if offset < 0 {
		unlock()
		return nil, fmt.Errorf("%w: truncate to %d", ErrOffsetOutOfRange, offset)
	}
	return unlock, nil
}

// lowerRecoveryPointLocked lowers the recovery point to at most to and writes the checkpoint
// before any byte is cut, so recovery never trusts what a truncation removes.
func (l *Log) lowerRecoveryPointLocked(to int64) error {
	if l.recoveryPoint.Load() <= to {
		return nil
	}
	l.recoveryPoint.Store(to)
	return l.m.writeCheckpoints()
}

// truncateFullyLocked deletes every segment and starts an empty log at offset.
func (l *Log) truncateFullyLocked(offset int64) error {
	segs := l.segs()
	for j := len(segs) - 1; j >= 0; j-- {
		if err := segs[j].scheduleRemove(l.config().FileDeleteDelayMs); err != nil {
			return l.goOffline(err)
		}
		l.m.metrics.SegmentsDeleted.WithLabelValues(reasonTruncation).Inc()
	}
	seg := newSegment(l, offset, 0)
	if err := seg.create(); err != nil {
		return l.goOffline(err)
	}
	l.segments.Store(&[]*segment{seg})
	l.logEndOffset.Store(offset)
	l.truncateDurableLocked(offset)
	l.m.cleaner.truncated(l.tp, offset)
	l.logStartOffset.Store(offset)
	l.recoveryPoint.Store(min(l.recoveryPoint.Load(), offset))
	l.unflushedMessages.Store(0)
	if err := l.epochs.TruncateFromEnd(offset); err != nil {
		return l.goOffline(err)
	}
	if err := l.epochs.TruncateFromStart(offset); err != nil {
		return l.goOffline(err)
	}
	return l.syncDirLocked()
}

func positionKey(b []byte) int64 { return int64(binary.BigEndian.Uint32(b[4:])) }

// truncateTo cuts the segment before the first batch whose last offset is >= offset, trims its
// indexes to match, fsyncs them, and returns the offset after the last batch kept.
func (s *segment) truncateTo(offset int64) (int64, error) {
	if err := s.ensureLoaded(math.MaxInt64); err != nil {
		return 0, err
	}
	// Trimming works on the files: write the in-memory entries out first.
	if err := s.writeIndexTail(); err != nil {
		return 0, err
	}
	size := s.size.Load()
	cut := size
	err := s.withFile(kindLog, func(f vfs.File) error {
		w := newHeaderWalker(f, size)
		defer w.close()
		pos, _, found, err := s.findBatch(&w, offset)
		if err != nil || !found {
			return err
		}
		cut = pos
		if err := f.Truncate(cut); err != nil {
			return err
		}
		return f.Sync()
	})
	if err != nil {
		return 0, fmt.Errorf("truncate %s: %w", s.path(kindLog), err)
	}
	s.size.Store(cut)
	if err := s.trimIndex(kindIndex, offsetEntrySize, &s.offsetEntries, positionKey, cut-1); err != nil {
		return 0, err
	}
	if n := s.offsetEntries.Load(); n > 0 {
		err := s.withFile(kindIndex, func(f vfs.File) error {
			var b [offsetEntrySize]byte
			if err := readFull(f, b[:], (n-1)*offsetEntrySize); err != nil {
				return err
			}
			s.lastOffsetEntry.Store(getOffsetEntry(b[:]).pack())
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	s.appendReady = false
	next, err := s.resetTail()
	if err != nil {
		return 0, err
	}
	if err := s.trimIndex(kindTimeIndex, timeEntrySize, &s.timeEntries, timeRelKey, next-1-s.baseOffset); err != nil {
		return 0, err
	}
	if err := s.truncateTxnIndex(next); err != nil {
		return 0, err
	}
	// The time index may have lost its newest entries: recompute the tail state from it.
	s.appendReady = false
	if _, err := s.resetTail(); err != nil {
		return 0, err
	}
	return next, s.sync(false)
}

// trimIndex cuts an index file after its last entry whose key is <= lastKept.
func (s *segment) trimIndex(kind fileKind, entrySize int, count interface {
	Load() int64
	Store(int64)
}, key func([]byte) int64, lastKept int64) error {
	n := count.Load()
	if n == 0 {
		return nil
	}
	return s.withFile(kind, func(f vfs.File) error {
		i, err := searchIndex(f, n, entrySize, key, lastKept)
		if err != nil {
			return err
		}
		if i+1 == n {
			return nil
		}
		if err := f.Truncate((i + 1) * int64(entrySize)); err != nil {
			return fmt.Errorf("truncate %s: %w", s.path(kind), err)
		}
		count.Store(i + 1)
		return nil
	})
}
