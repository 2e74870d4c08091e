package tlsconf

import (
	"bytes"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// stamp is what a cheap stat tells about a file.
type stamp struct {
	modTime time.Time
	size    int64
	missing bool
}

func stampOf(path string) stamp {
	st, err := os.Stat(path)
	if err != nil {
		return stamp{missing: true}
	}
	return stamp{modTime: st.ModTime(), size: st.Size()}
}

// store holds the current material and re-reads its files when they change.
//
// Concurrency: current is called by every handshake (any goroutine); the stat runs without a
// lock, a reload under mu (one at a time; others keep using the current material meanwhile).
type store struct {
	settings Settings
	paths    []string
	logger   *slog.Logger
	metrics  *Metrics
	label    string // the metrics' listener label
	cur      atomic.Pointer[loaded]

	mu sync.Mutex // serializes reloads
}

// racyWindow: a file modified less than this long before it was read may be rewritten again
// with the same size and modification time (file systems keep coarse timestamps, from one
// kernel tick to two seconds), so its stamp alone cannot tell a later change. While any stamp is
// that young, current compares the files' contents instead, as git does for "racily clean"
// index entries.
const racyWindow = 2 * time.Second

// loaded is the material with the file stamps and contents it was built from.
type loaded struct {
	m      *material
	stamps []stamp
	data   contents
	readAt time.Time // when stamps were taken
	// failed are the stamps and contents of a change that did not load (logged once, tried
	// again only when the files change again).
	failed     []stamp
	failedData contents
	failedAt   time.Time
}

// trusted reports whether stamps taken at `at` are old enough to stand for the contents.
func trusted(stamps []stamp, at time.Time) bool {
	for _, s := range stamps {
		if !s.missing && at.Sub(s.modTime) < racyWindow {
			return false
		}
	}
	return true
}

func newStore(s Settings, o Options, label string) (*store, error) {
	st := &store{settings: s, paths: s.files(), logger: o.Logger, metrics: o.Metrics, label: label}
	at := time.Now()
	stamps := st.stamps()
	data, err := readFiles(st.paths)
	if err != nil {
		return nil, err
	}
	m, err := s.build(data)
	if err != nil {
		return nil, err
	}
	st.cur.Store(&loaded{m: m, stamps: stamps, data: data, readAt: at})
	st.metrics.certificate(label, m)
	return st, nil
}

func (st *store) stamps() []stamp {
	out := make([]stamp, len(st.paths))
	for i, p := range st.paths {
		out[i] = stampOf(p)
	}
	return out
}

// current returns the material, reloading it first if a file changed since it was read.
func (st *store) current() *material {
	l := st.cur.Load()
	if len(st.paths) == 0 {
		return l.m
	}
	at := time.Now()
	now := st.stamps()
	if l.unchanged(now) {
		return l.m
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if l = st.cur.Load(); l.unchanged(now) {
		return l.m
	}
	data, err := readFiles(st.paths)
	if err == nil && equalContents(data, l.data) {
		// Touched (or stamped too recently to tell), not changed.
		st.cur.Store(&loaded{m: l.m, stamps: now, data: l.data, readAt: at,
			failed: l.failed, failedData: l.failedData, failedAt: l.failedAt})
		return l.m
	}
	if err == nil && l.failedData != nil && equalContents(data, l.failedData) {
		// The change that did not load, still there: not logged or counted again.
		st.cur.Store(&loaded{m: l.m, stamps: l.stamps, data: l.data, readAt: l.readAt,
			failed: now, failedData: l.failedData, failedAt: at})
		return l.m
	}
	if err != nil && l.failed != nil && equalStamps(now, l.failed) {
		return l.m // still unreadable: reported once already
	}
	var m *material
	if err == nil {
		m, err = st.settings.build(data)
	}
	if err != nil {
		st.logger.Error("TLS keystore or truststore changed but does not load; keeping the previous one", "files", st.paths, "err", err)
		st.cur.Store(&loaded{m: l.m, stamps: l.stamps, data: l.data, readAt: l.readAt,
			failed: now, failedData: data, failedAt: at})
		st.metrics.reload(st.label, false)
		return l.m
	}
	st.logger.Info("TLS keystore or truststore reloaded", "files", st.paths)
	st.cur.Store(&loaded{m: m, stamps: now, data: data, readAt: at})
	st.metrics.reload(st.label, true)
	st.metrics.certificate(st.label, m)
	return m
}

// unchanged reports whether stamps just taken show the files as they were loaded (or as the
// failed change left them), trusting a stamp only once it is older than racyWindow.
func (l *loaded) unchanged(now []stamp) bool {
	if equalStamps(now, l.stamps) && trusted(l.stamps, l.readAt) {
		return true
	}
	return l.failed != nil && equalStamps(now, l.failed) && trusted(l.failed, l.failedAt)
}

func equalStamps(a, b []stamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].missing != b[i].missing || a[i].size != b[i].size || !a[i].modTime.Equal(b[i].modTime) {
			return false
		}
	}
	return true
}

func equalContents(a, b contents) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
