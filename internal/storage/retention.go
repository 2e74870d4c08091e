package storage

import "fmt"

// Reasons segments are deleted (the label of Metrics.SegmentsDeleted).
const (
	reasonLogStartOffset = "log_start_offset"
	reasonRetentionMs    = "retention_ms"
	reasonRetentionBytes = "retention_bytes"
	reasonTruncation     = "truncation"
)

// RunRetention runs one retention pass over every log now (the Manager also runs one every
// RetentionCheckInterval). Failures take the affected log offline and are logged.
func (m *Manager) RunRetention() {
	now := m.now().UnixMilli()
	for _, l := range m.Logs() {
		if _, err := l.DeleteOldSegments(now); err != nil {
			m.logger.Warn("retention", "partition", l.tp.String(), "err", err)
		}
	}
}

// DeleteOldSegments deletes whole non-active segments, oldest first: those wholly below the log
// start offset and, unless cleanup.policy is compact only, those whose largest timestamp is
// more than retention.ms before nowMs and those that keep the log above retention.bytes. It
// returns how many it deleted.
func (l *Log) DeleteOldSegments(nowMs int64) (int, error) {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if err := l.checkUsable(); err != nil {
		return 0, err
	}
	segs := l.segs()
	cfg := l.config()
	reasons := make([]string, 0, 4)
	n := 0
	lso := l.logStartOffset.Load()
	for n < len(segs)-1 && segs[n+1].baseOffset <= lso {
		reasons = append(reasons, reasonLogStartOffset)
		n++
	}
	// A compact-only log keeps its segments whatever their age and size: the cleaner decides
	// what goes (compact,delete does both).
	deletes := cfg.CleanupPolicy.Deletes()
	if cfg.RetentionMs >= 0 && deletes {
		for n < len(segs)-1 {
			ts, err := segs[n].largestTimestamp(limitOf(segs, n))
			if err != nil {
				return 0, l.failRead(err)
			}
			if nowMs-ts <= cfg.RetentionMs {
				break
			}
			reasons = append(reasons, reasonRetentionMs)
			n++
		}
	}
	if cfg.RetentionBytes >= 0 && deletes {
		var size int64
		for _, s := range segs[n:] {
			size += s.size.Load()
		}
		excess := size - cfg.RetentionBytes
		for n < len(segs)-1 && excess >= segs[n].size.Load() {
			excess -= segs[n].size.Load()
			reasons = append(reasons, reasonRetentionBytes)
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	if err := l.deleteOldestLocked(n, reasons); err != nil {
		return 0, err
	}
	return n, nil
}

// deleteOldestLocked removes the first n segments and moves the log start offset past them.
func (l *Log) deleteOldestLocked(n int, reasons []string) error {
	segs := l.segs()
	kept := append([]*segment(nil), segs[n:]...)
	l.segments.Store(&kept)
	if start := kept[0].baseOffset; start > l.logStartOffset.Load() {
		l.logStartOffset.Store(start)
	}
	if err := l.epochs.TruncateFromStart(l.logStartOffset.Load()); err != nil {
		return l.goOffline(err)
	}
	delayMs := l.config().FileDeleteDelayMs
	for i, s := range segs[:n] {
		if err := s.scheduleRemove(delayMs); err != nil {
			return l.goOffline(err)
		}
		l.m.metrics.SegmentsDeleted.WithLabelValues(reasons[i]).Inc()
		l.m.logger.Info("deleted segment", "partition", l.tp.String(), "segment", s.baseOffset, "reason", reasons[i])
	}
	l.dirDirty.Store(true)
	return nil
}

// largestTimestamp is the segment's largest record timestamp or, for a segment without
// timestamps, its .log's modification time (as Kafka does).
func (s *segment) largestTimestamp(limitOffset int64) (int64, error) {
	if err := s.ensureLoaded(limitOffset); err != nil {
		return 0, err
	}
	if ts, _ := s.maxTimestamp(); ts >= 0 {
		return ts, nil
	}
	info, err := s.log.m.fs.Stat(s.path(kindLog))
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", s.path(kindLog), err)
	}
	return info.ModTime.UnixMilli(), nil
}

// DeleteRecordsBefore moves the log start offset to offset (DeleteRecords). Reads below it fail
// with ErrOffsetOutOfRange at once; the segments wholly below it are deleted by the next
// retention pass. The log-start-offset checkpoint is written before it returns.
func (l *Log) DeleteRecordsBefore(offset int64) error {
	l.appendMu.Lock()
	if err := l.checkUsable(); err != nil {
		l.appendMu.Unlock()
		return err
	}
	if leo := l.logEndOffset.Load(); offset > leo || offset < 0 {
		l.appendMu.Unlock()
		return fmt.Errorf("%w: delete records before %d, log end offset %d", ErrOffsetOutOfRange, offset, leo)
	}
	if offset <= l.logStartOffset.Load() {
		l.appendMu.Unlock()
		return nil
	}
	l.logStartOffset.Store(offset)
	err := l.epochs.TruncateFromStart(offset)
	l.appendMu.Unlock()
	if err != nil {
		return l.goOffline(err)
	}
	return l.m.writeCheckpoints()
}
