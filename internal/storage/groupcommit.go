package storage

import (
	"sync"
)

// syncer is the group-commit fsync loop shared by every log of a Manager. Appenders write
// their bytes, join the pending round and wait; the syncer takes the whole round, fsyncs each
// log in it once (in parallel, so the file system can merge the journal commits) and releases
// every appender of the round together. Appends that arrive while a round is being synced
// form the next round, so under load each fsync covers many appends and no request pays for
// its own.
type syncer struct {
	m    *Manager
	kick chan struct{} // capacity 1: "a round is pending"

	mu struct {
		sync.Mutex
		pending *syncRound
		stopped bool // run has returned: waiters sync for themselves
	}
}

// syncRound is the set of logs (and the appends waiting on them) one fsync pass covers.
type syncRound struct {
	logs    map[*Log]error // written by the syncer before done is closed
	appends int
	done    chan struct{}
}

// maxParallelSyncs bounds the fsyncs one round runs at once.
const maxParallelSyncs = 16

func newSyncer(m *Manager) *syncer {
	return &syncer{m: m, kick: make(chan struct{}, 1)}
}

// wait blocks until an fsync of l's active segment that started after this call returns.
func (s *syncer) wait(l *Log) error {
	s.mu.Lock()
	if s.mu.stopped {
		s.mu.Unlock()
		return l.syncActive()
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
	<-r.done
	return r.logs[l]
}

// run serves rounds until stop is closed, then serves the last pending round (the Manager
// closes stop only after every appender has finished).
func (s *syncer) run(stop <-chan struct{}) {
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
	for l := range r.logs {
		logs = append(logs, l)
	}
	errs := make([]error, len(logs))
	if len(logs) == 1 {
		errs[0] = logs[0].syncActive()
	} else {
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
	}
	close(r.done)
}
