package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/vfs"
)

// sharedSync makes metadata writes durable for many concurrent callers at once: partition
// creation (partition.metadata, the new directory's entry in the data directory) and
// leader-epoch checkpoints. A caller's run(fsyncs) returns after a round that started after
// the call began, so it covers everything the caller wrote before calling. While one round is
// in flight the callers that arrive gather in the next. A round of fewer than syncAllMinLogs
// callers runs each caller's own fsyncs; a bigger one runs one syncfs(2) instead, which covers
// them all and costs about as much as two fsyncs (BenchmarkSyncRound). Creating a topic of
// 10,000 partitions thus costs a few hundred syncfs calls instead of 50,000 fsyncs.
type sharedSync struct {
	wholeFS vfs.Syncer // syncfs(2) on the data directory's file system

	mu struct {
		sync.Mutex
		running bool
		next    *sharedSyncRound // gathering; runs when the current round ends
	}
}

type sharedSyncRound struct {
	fsyncs []func() error // each caller's own fsyncs, for a small round
	done   chan struct{}
	err    error
}

// run waits for a round that makes the caller's earlier writes durable; fsyncs is what the
// caller would have to fsync on its own.
func (s *sharedSync) run(fsyncs func() error) error {
	s.mu.Lock()
	if s.mu.next == nil {
		s.mu.next = &sharedSyncRound{done: make(chan struct{})}
	}
	r := s.mu.next
	r.fsyncs = append(r.fsyncs, fsyncs)
	if s.mu.running {
		s.mu.Unlock()
		<-r.done
		return r.err
	}
	// This caller runs rounds until none is waiting (its own is the first).
	s.mu.running = true
	for {
		round := s.mu.next
		if round == nil {
			s.mu.running = false
			s.mu.Unlock()
			break
		}
		s.mu.next = nil
		s.mu.Unlock()
		round.err = s.sync(round.fsyncs)
		close(round.done)
		s.mu.Lock()
	}
	return r.err
}

func (s *sharedSync) sync(fsyncs []func() error) error {
	if len(fsyncs) >= syncAllMinLogs {
		if err := s.wholeFS.SyncAll(); err != nil {
			return fmt.Errorf("syncfs: %w", err)
		}
		return nil
	}
	var errs []error
	for _, f := range fsyncs {
		errs = append(errs, f())
	}
	return errors.Join(errs...)
}

// publishShared writes name as publishFile does (tmp, fsync, rename, fsync directory, then
// fsync alsoDirs), with the fsyncs done by shared rounds, so concurrent publications share them.
func (m *Manager) publishShared(name string, data []byte, alsoDirs ...string) error {
	tmp := name + tmpSuffix
	if err := m.doMetaWork(func() error { return m.writeFile(tmp, data) }); err != nil {
		return fmt.Errorf("publish %s: %w", name, err)
	}
	if err := m.metaSync.run(func() error { return m.fsyncFile(tmp) }); err != nil {
		return fmt.Errorf("publish %s: sync: %w", name, err)
	}
	if err := m.doMetaWork(func() error { return m.fs.Rename(tmp, name) }); err != nil {
		return fmt.Errorf("publish %s: rename: %w", name, err)
	}
	dirs := append([]string{filepath.Dir(name)}, alsoDirs...)
	if err := m.metaSync.run(func() error { return m.syncDirs(dirs...) }); err != nil {
		return fmt.Errorf("publish %s: sync dir: %w", name, err)
	}
	return nil
}

// writeFile creates (or truncates) name and writes data to it, without an fsync.
func (m *Manager) writeFile(name string, data []byte) error {
	f, err := m.fs.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("write: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// metaWorkMaxWait bounds the wait for a metaWork worker: the workers pace creators, they are
// not a lock, so a file operation that hangs (a stuck device) delays other partitions'
// creation by at most this much per operation instead of stopping it. A worker is normally
// busy for well under a millisecond per operation.
const metaWorkMaxWait = 100 * time.Millisecond

// metaWorkNice is the nice value of the metaWork workers' threads. Creating a partition is
// mostly kernel work (mkdirat, openat, write, rename), and the kernel runs it at the calling
// thread's priority: at 10 a creator gets about a tenth of a CPU that a produce or fetch
// goroutine's thread also wants, and all of an idle one.
const metaWorkNice = 10

type metaJob struct {
	fn   func() error
	done chan error
}

// startMetaWorkers starts n metaWork workers; Close stops them (m.stop).
func (m *Manager) startMetaWorkers(n int) {
	m.metaWork = make(chan metaJob)
	for range n {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			// The thread stays locked to this goroutine, and ends with it, so its nice value
			// never leaks to other goroutines.
			runtime.LockOSThread()
			if err := setThreadNice(metaWorkNice); err != nil {
				m.logger.Debug("metadata file work runs at normal priority", "err", err)
			}
			for {
				select {
				case j := <-m.metaWork:
					j.done <- j.fn()
				case <-m.stop:
					return
				}
			}
		}()
	}
}

// doMetaWork runs fn, file work of partition creation or metadata publication, on a metaWork
// worker, waiting for one at most metaWorkMaxWait before running it on the caller. Never
// called across a shared fsync round, so rounds still gather every waiting creator. fn runs
// at low priority, so it makes system calls only and takes no lock that another goroutine
// could wait for (a thread preempted while holding one would stall every waiter with it).
func (m *Manager) doMetaWork(fn func() error) error {
	if m.metaWork == nil {
		return fn()
	}
	j := metaJob{fn: fn, done: make(chan error, 1)}
	select {
	case m.metaWork <- j:
		return <-j.done
	default:
	}
	t := time.NewTimer(m.metaWorkMaxWait)
	defer t.Stop()
	select {
	case m.metaWork <- j:
		return <-j.done
	case <-t.C:
		return fn()
	}
}

// fsyncFile fsyncs a closed file through a new handle (Linux fsyncs the inode, whichever
// descriptor names it).
func (m *Manager) fsyncFile(name string) error {
	f, err := m.fs.OpenReadWrite(name)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func (m *Manager) syncDirs(dirs ...string) error {
	for _, d := range dirs {
		if err := m.fs.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// closeWorkers bounds the logs Close flushes at once: each mostly waits on fsyncs, which the
// device serves faster in parallel than one by one.
const closeWorkers = 32

// ForEachParallel calls fn(0) .. fn(n-1) on up to workers goroutines (in the caller's, one
// after another, when n or workers is at most 1) and returns when every call has returned. The
// partition layer uses it too, for work that mostly waits on fsyncs.
func ForEachParallel(n, workers int, fn func(i int)) {
	if n <= 1 || workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// writeFileUnsynced replaces name with data through a temporary file and a rename, without
// fsyncs: a reader never sees a half-written file, and the caller makes it durable later.
func writeFileUnsynced(fsys vfs.FS, name string, data []byte) error {
	tmp := name + tmpSuffix
	f, err := fsys.Create(tmp)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: close: %w", name, err)
	}
	if err := fsys.Rename(tmp, name); err != nil {
		return fmt.Errorf("write %s: rename: %w", name, err)
	}
	return nil
}

// sameFileContent reports whether name holds exactly data (false on any error).
func sameFileContent(fsys vfs.FS, name string, data []byte) bool {
	f, err := fsys.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	if size, err := f.Size(); err != nil || size != int64(len(data)) {
		return false
	}
	if len(data) == 0 {
		return true
	}
	buf := make([]byte, len(data))
	n, err := f.ReadAt(buf, 0)
	if n != len(buf) || (err != nil && !errors.Is(err, io.EOF)) {
		return false
	}
	return bytes.Equal(buf, data)
}
