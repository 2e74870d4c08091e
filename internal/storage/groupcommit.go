package storage

import (
	"fmt"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/vfs"
)

// syncer is the group-commit fsync loop shared by every log of a Manager. Appenders write
// their bytes, join the pending round and wait; the syncer takes the whole round, makes it
// durable and releases every appender of the round together. Appends that arrive while a round
// is being synced form the next round, so under load one flush covers many appends and no
// request pays for its own.
//
// A round touching few logs fdatasyncs each log's active segment (in parallel, so the file
// system merges the journal commits); a round touching many makes the whole file system
// durable with one syncfs(2), whose cost does not grow with the number of partitions.
type syncer struct {
	m       *Manager
	kick    chan struct{} // capacity 1: "a round is pending"
	wholeFS vfs.Syncer    // owned by the syncer goroutine; closed when it returns

	mu struct {
		sync.Mutex
		pending *syncRound
		stopped bool // run has returned: waiters sync for themselves
	}
}

// syncRound is the set of logs (and the appends waiting on them) one fsync pass covers. When
// it completes, each log's durable offset moves to the log end offset it had when the round
// started syncing, and each log's durable hook runs.
type syncRound struct {
	logs    map[*Log]error // written by the syncer before done is closed
	appends int
	done    chan struct{}
}

// maxParallelSyncs bounds the fsyncs one round runs at once.
const maxParallelSyncs = 16

// syncAllMinLogs is the number of logs in a round from which one syncfs replaces per-log
// fdatasyncs. Measured with BenchmarkSyncRoundRatio (docs/benchmarks.md), fdatasync-each /
// syncfs per round: on an otherwise quiet file system 0.6-1.1 for one log, 1.05-1.2 for two,
// 1.2-1.5 for four to six, 2 for sixteen; with 1 MB of other dirty data per round (which
// syncfs also writes out: indexes, the cleaner's output) 0.35-0.75 up to six logs. End to
// end (bench/fsync-ratio.sh, 6 partitions) all-fdatasync rounds were not better than this
// threshold (0.92-0.97 against 1.07-1.11, within that benchmark's noise), so it stays at 4.
const syncAllMinLogs = 4

func newSyncer(m *Manager) (*syncer, error) {
	whole, err := m.fs.OpenSyncer(m.dir)
	if err != nil {
		return nil, fmt.Errorf("storage: group commit: %w", err)
	}
	return &syncer{m: m, kick: make(chan struct{}, 1), wholeFS: whole}, nil
}

// wait blocks until an fsync of l's active segment that started after this call returns.
func (s *syncer) wait(l *Log) error {
	r := s.request(l)
	if r == nil {
		return l.syncActiveAndAdvance()
	}
	<-r.done
	return r.logs[l]
}

// request puts l into the pending round and wakes the syncer; it does not wait. It returns
// the round (nil once the syncer has stopped: the caller syncs for itself).
func (s *syncer) request(l *Log) *syncRound {
	s.mu.Lock()
	if s.mu.stopped {
		s.mu.Unlock()
		return nil
	}
	r := s.mu.pending
	if r == nil {
		r = &syncRound{logs: map[*Log]error{}, done: make(chan struct{})}
		s.mu.pending = r
	}
	r.logs[l] = nil
	r.appends++
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return r
}

// run serves rounds until stop is closed, then serves the last pending round (the Manager
// closes stop only after every appender has finished).
func (s *syncer) run(stop <-chan struct{}) {
	defer func() {
		if err := s.wholeFS.Close(); err != nil {
			s.m.logger.Warn("close group-commit syncer", "err", err)
		}
	}()
	for {
		select {
		case <-s.kick:
		case <-stop:
			s.mu.Lock()
			s.mu.stopped = true
			s.mu.Unlock()
			s.syncPending()
			return
		}
		s.syncPending()
	}
}

func (s *syncer) syncPending() {
	s.mu.Lock()
	r := s.mu.pending
	s.mu.pending = nil
	s.mu.Unlock()
	if r == nil {
		return
	}
	s.m.metrics.GroupCommitAppends.Observe(float64(r.appends))
	s.m.metrics.GroupCommitLogs.Observe(float64(len(r.logs)))
	logs := make([]*Log, 0, len(r.logs))
	points := make([]durablePoint, 0, len(r.logs))
	for l := range r.logs {
		logs = append(logs, l)
		// Before the sync starts: every byte below this end is already written, so the
		// sync covers it (a roll in between fsyncs the old segment before switching).
		end, truncations := l.durablePoint()
		points = append(points, durablePoint{end, truncations})
	}
	errs := make([]error, len(logs))
	switch {
	case len(logs) >= syncAllMinLogs:
		start := time.Now()
		err := s.wholeFS.SyncAll()
		s.m.metrics.Fsyncs.Inc()
		s.m.metrics.FsyncSeconds.Observe(time.Since(start).Seconds())
		for i, l := range logs {
			if err != nil {
				// The file system could not make the data durable: as after a failed fsync,
				// nothing in the page cache can be trusted.
				errs[i] = l.goOffline(fmt.Errorf("syncfs: %w", err))
			} else {
				errs[i] = l.checkUsable()
			}
		}
	case len(logs) == 1:
		errs[0] = logs[0].syncActive()
	default:
		var wg sync.WaitGroup
		sem := make(chan struct{}, maxParallelSyncs)
		for i, l := range logs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				errs[i] = l.syncActive()
				<-sem
			}()
		}
		wg.Wait()
	}
	for i, l := range logs {
		r.logs[l] = errs[i]
		if errs[i] == nil {
			l.advanceDurable(points[i].end, points[i].truncations)
		}
	}
	close(r.done)
	for _, l := range logs {
		l.notifyDurable()
	}
}

// durablePoint is a log's end offset when a round started syncing it.
type durablePoint struct {
	end         int64
	truncations uint64
}

// syncActiveAndAdvance syncs l's active segment outside any round (the syncer has stopped)
// and moves the durable offset.
func (l *Log) syncActiveAndAdvance() error {
	end, truncations := l.durablePoint()
	err := l.syncActive()
	if err == nil {
		l.advanceDurable(end, truncations)
	}
	l.notifyDurable()
	return err
}
