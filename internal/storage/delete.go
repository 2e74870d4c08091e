package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"
)

// Delayed file deletion (file.delete.delay.ms). A segment leaving the log (retention,
// DeleteRecords, truncation, merged away by a clean) is taken out of use at once, its files
// renamed to *.deleted, and the files themselves removed by the maintenance loop once the delay
// has passed, as Kafka does. A crash or Close in between leaves *.deleted files, which the next
// load removes. Removed at once: the first segment of a cleaned group (the cleaned segment's
// files take its names) and an empty active segment replaced by a roll.

// deleter holds the renamed files waiting for their delay.
type deleter struct {
	mu      sync.Mutex
	pending []pendingDelete
	wake    chan struct{} // 1-buffered: the maintenance loop re-arms its timer
}

type pendingDelete struct {
	path  string
	dueMs int64
}

// scheduleRemove deletes the segment's files after delayMs (at once when delayMs <= 0): no new
// use of them starts, handles close when their last user is done, and each file is renamed
// *.deleted now and removed later. The .log goes first, as in remove.
func (s *segment) scheduleRemove(delayMs int64) error {
	if delayMs <= 0 {
		return s.remove()
	}
	m := s.log.m
	var firstErr error
	for k := range numKinds {
		s.cache().doom(&s.files[k])
		from := s.path(k)
		to := from + deletedSuffix
		if err := m.fs.Rename(from, to); err != nil {
			if !errors.Is(err, fs.ErrNotExist) && firstErr == nil {
				firstErr = fmt.Errorf("delete segment %d: rename %s: %w", s.baseOffset, segmentFileName(s.baseOffset, k), err)
			}
			continue
		}
		m.deleteLater(to, delayMs)
	}
	return firstErr
}

// deleteLater queues path for removal delayMs from now.
func (m *Manager) deleteLater(path string, delayMs int64) {
	m.deletes.mu.Lock()
	m.deletes.pending = append(m.deletes.pending, pendingDelete{path: path, dueMs: m.now().UnixMilli() + delayMs})
	m.deletes.mu.Unlock()
	select {
	case m.deletes.wake <- struct{}{}:
	default:
	}
}

// removeDueFiles removes the queued files whose delay has passed and returns how long until
// the next one is due (ok=false when none is queued). Called by the maintenance loop.
func (m *Manager) removeDueFiles() (next time.Duration, ok bool) {
	now := m.now().UnixMilli()
	var due []string
	m.deletes.mu.Lock()
	kept := m.deletes.pending[:0]
	var nextMs int64
	for _, p := range m.deletes.pending {
		if p.dueMs <= now {
			due = append(due, p.path)
			continue
		}
		if !ok || p.dueMs < nextMs {
			nextMs, ok = p.dueMs, true
		}
		kept = append(kept, p)
	}
	m.deletes.pending = kept
	m.deletes.mu.Unlock()
	for _, path := range due {
		if err := m.fs.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			// The next load removes it; nothing reads a *.deleted file.
			m.logger.Warn("removing deleted segment file", "file", path, "err", err)
		}
	}
	return time.Duration(nextMs-now) * time.Millisecond, ok
}
