package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/internal/vfs"
)

// loadLog loads one partition directory. Failures leave the log offline rather than failing
// the Manager.
func (m *Manager) loadLog(tp TopicPartition, clean bool, rp int64, hasRP bool, lso int64) *Log {
	dir := partitionDirName(m.dir, tp)
	l := m.newLog(tp, dir, *m.opts.DefaultConfig)
	if err := l.load(clean, rp, hasRP, lso); err != nil {
		if l.epochs == nil {
			l.epochs = newLeaderEpochCache(m.fs, "", nil)
		}
		_ = l.goOffline(fmt.Errorf("load %s: %w", tp, err))
	}
	return l
}

// load reads the partition directory, recovers what lies past the recovery point if the last
// stop was not clean, and sets the log's offsets.
func (l *Log) load(clean bool, rp int64, hasRP bool, lso int64) error {
	m := l.m
	names, err := m.fs.ReadDir(l.dir)
	if err != nil {
		return err
	}
	// A log clean interrupted after its commit point is finished first (clean_swap.go); the
	// other .cleaned and .swap files are removed below.
	if err := l.completeSwaps(names); err != nil {
		return err
	}
	if names, err = m.fs.ReadDir(l.dir); err != nil {
		return err
	}
	kinds := map[int64][numKinds]bool{}
	for _, name := range names {
		full := filepath.Join(l.dir, name)
		switch {
		case strings.HasSuffix(name, tmpSuffix), strings.HasSuffix(name, deletedSuffix),
			strings.HasSuffix(name, ".cleaned"), strings.HasSuffix(name, ".swap"):
			m.removeLeftover(full)
		case name == partitionMetadataName:
			if err := l.loadTopicID(full); err != nil {
				m.logger.Warn("ignoring partition metadata", "partition", l.tp.String(), "err", err)
			}
		default:
			if base, kind, ok := parseSegmentFileName(name); ok {
				k := kinds[base]
				k[kind] = true
				kinds[base] = k
			}
		}
	}
	epochs, err := loadLeaderEpochCache(m.fs, filepath.Join(l.dir, leaderEpochCheckpointName))
	if err != nil {
		m.logger.Warn("ignoring leader epoch checkpoint", "partition", l.tp.String(), "err", err)
	}
	l.epochs = epochs
	l.epochs.publish = func(name string, data []byte) error { return m.publishShared(name, data) }
	segs, err := l.openSegments(kinds, lso)
	if err != nil {
		return err
	}
	l.segments.Store(&segs)
	active := segs[len(segs)-1]
	activeSize := active.size.Load()
	trusted := clean && hasRP && rp >= active.baseOffset && (activeSize == 0) == (rp == active.baseOffset)
	if trusted {
		l.logEndOffset.Store(rp)
		l.recoveryPoint.Store(rp)
	} else {
		if !hasRP {
			rp = 0
		}
		if err := l.recover(rp); err != nil {
			return err
		}
	}
	segs = l.segs()
	start := max(lso, segs[0].baseOffset)
	if leo := l.logEndOffset.Load(); start > leo {
		m.logger.Warn("log start offset beyond log end", "partition", l.tp.String(), "logStartOffset", start, "logEndOffset", leo)
		start = leo
	}
	l.logStartOffset.Store(start)
	// Everything recovered counts as durable: in group-commit mode Open syncs the whole file
	// system before serving (a process crash can leave unsynced bytes in the page cache).
	l.durableOffset.Store(l.logEndOffset.Load())
	l.epochs.truncateFromEndUnwritten(l.logEndOffset.Load())
	return l.epochs.TruncateFromStart(start)
}

func (l *Log) loadTopicID(path string) error {
	data, err := readSmallFile(l.m.fs, path)
	if err != nil {
		return err
	}
	id, err := parsePartitionMetadata(data)
	if err != nil {
		return err
	}
	l.topicID = id
	return nil
}

// openSegments builds the segment list from the files found: orphan indexes are removed, the
// .log sizes read. A partition without segments gets an empty one at the log start offset.
func (l *Log) openSegments(kinds map[int64][numKinds]bool, lso int64) ([]*segment, error) {
	bases := make([]int64, 0, len(kinds))
	for base, k := range kinds {
		if !k[kindLog] {
			for kind := kindIndex; kind < numKinds; kind++ {
				if k[kind] {
					l.m.removeLeftover(filepath.Join(l.dir, segmentFileName(base, kind)))
				}
			}
			continue
		}
		bases = append(bases, base)
	}
	slices.Sort(bases)
	segs := make([]*segment, 0, len(bases))
	for _, base := range bases {
		info, err := l.m.fs.Stat(filepath.Join(l.dir, segmentFileName(base, kindLog)))
		if err != nil {
			return nil, err
		}
		s := newSegment(l, base, info.Size)
		if !kinds[base][kindTxnIndex] {
			s.txnEntries.Store(0)
		}
		segs = append(segs, s)
	}
	if len(segs) == 0 {
		s := newSegment(l, lso, 0)
		if err := s.create(); err != nil {
			return nil, err
		}
		l.dirDirty.Store(true)
		segs = append(segs, s)
	}
	return segs, nil
}

// recover validates every batch from the segment holding the recovery point to the end of the
// log (docs/format/log-segment.md): it cuts the log at the first torn or corrupt batch past the
// recovery point, deletes the segments after the cut, and rebuilds the indexes of every segment
// it scanned. Bad bytes below the recovery point were fsynced, so they are corruption: a
// *CorruptError, which takes the partition offline.
func (l *Log) recover(rp int64) error {
	segs := l.segs()
	interval := l.config().IndexIntervalBytes
	leo := segs[len(segs)-1].baseOffset
	for i := floorSegment(segs, rp); i < len(segs); i++ {
		s := segs[i]
		var res scanResult
		err := s.withFile(kindLog, func(f vfs.File) error {
			var err error
			res, err = scanSegment(f, s.size.Load(), s.baseOffset, limitOf(segs, i), interval)
			return err
		})
		if err != nil {
			return err
		}
		if res.stopErr != nil && res.nextOffset < rp {
			return &CorruptError{File: s.path(kindLog), Position: res.validBytes, Offset: res.nextOffset,
				Err: fmt.Errorf("below recovery point %d: %w", rp, res.stopErr)}
		}
		if res.stopErr != nil {
			if err := l.cutAt(segs, i, res); err != nil {
				return err
			}
		}
		if err := s.applyScanLocked(res); err != nil {
			return err
		}
		if err := s.repairTxnIndex(res.nextOffset); err != nil {
			return err
		}
		leo = res.nextOffset
		if res.stopErr != nil {
			break
		}
	}
	if leo < rp {
		last := l.segs()[len(l.segs())-1]
		return &CorruptError{File: last.path(kindLog), Position: last.size.Load(), Offset: leo,
			Err: fmt.Errorf("log ends at offset %d, below its recovery point %d", leo, rp)}
	}
	l.logEndOffset.Store(leo)
	l.recoveryPoint.Store(rp)
	return nil
}

// cutAt truncates segs[i] after its last valid batch and deletes the segments after it,
// durably, logging and counting what is dropped.
func (l *Log) cutAt(segs []*segment, i int, res scanResult) error {
	s := segs[i]
	dropped := s.size.Load() - res.validBytes
	for _, later := range segs[i+1:] {
		dropped += later.size.Load()
	}
	l.m.logger.Warn("recovery dropped a torn or corrupt log tail",
		"partition", l.tp.String(), "file", s.path(kindLog), "position", res.validBytes,
		"firstDroppedOffset", res.nextOffset, "droppedBytes", dropped, "droppedSegments", len(segs)-i-1,
		"reason", res.stopErr)
	for j := len(segs) - 1; j > i; j-- {
		if err := segs[j].remove(); err != nil {
			return err
		}
		l.m.metrics.RecoveryDroppedSegments.Inc()
	}
	kept := append([]*segment(nil), segs[:i+1]...)
	l.segments.Store(&kept)
	err := s.withFile(kindLog, func(f vfs.File) error {
		if err := f.Truncate(res.validBytes); err != nil {
			return err
		}
		return f.Sync()
	})
	if err != nil {
		return fmt.Errorf("truncate %s: %w", s.path(kindLog), err)
	}
	s.size.Store(res.validBytes)
	// Deleted segments must not come back after another crash: their offsets would collide
	// with new appends to this one.
	if err := l.m.fs.SyncDir(l.dir); err != nil {
		return fmt.Errorf("sync dir %s: %w", l.dir, err)
	}
	l.m.metrics.RecoveryDroppedBytes.Add(float64(dropped))
	return nil
}

// repairTxnIndex cuts a torn entry off the segment's .txnindex and drops entries for markers
// at or past nextOffset (cut off with the log).
func (s *segment) repairTxnIndex(nextOffset int64) error {
	info, err := s.log.m.fs.Stat(s.path(kindTxnIndex))
	if isNotExist(err) {
		s.txnEntries.Store(0)
		return nil
	}
	if err != nil {
		return err
	}
	if whole := info.Size / txnEntrySize * txnEntrySize; whole != info.Size {
		err := s.withFile(kindTxnIndex, func(f vfs.File) error { return f.Truncate(whole) })
		if err != nil {
			return fmt.Errorf("truncate %s: %w", s.path(kindTxnIndex), err)
		}
	}
	s.txnEntries.Store(info.Size / txnEntrySize)
	if err := s.truncateTxnIndex(nextOffset); err != nil && !errors.Is(err, ErrCorruptLog) {
		return err
	}
	return nil
}
