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

// loaded is the material with the file stamps and contents it was built from.
type loaded struct {
	m      *material
	stamps []stamp
	data   contents
	// failed are the stamps of a change that did not load (logged once, tried again only
	// when the files change again).
	failed []stamp
}

func newStore(s Settings, o Options, label string) (*store, error) {
	st := &store{settings: s, paths: s.files(), logger: o.Logger, metrics: o.Metrics, label: label}
	stamps := st.stamps()
	data, err := readFiles(st.paths)
	if err != nil {
		return nil, err
	}
	m, err := s.build(data)
	if err != nil {
		return nil, err
	}
	st.cur.Store(&loaded{m: m, stamps: stamps, data: data})
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
	now := st.stamps()
	if equalStamps(now, l.stamps) || equalStamps(now, l.failed) {
		return l.m
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if l = st.cur.Load(); equalStamps(now, l.stamps) || equalStamps(now, l.failed) {
		return l.m
	}
	data, err := readFiles(st.paths)
	if err == nil && equalContents(data, l.data) {
		// Touched, not changed.
		st.cur.Store(&loaded{m: l.m, stamps: now, data: l.data})
		return l.m
	}
	var m *material
	if err == nil {
		m, err = st.settings.build(data)
	}
	if err != nil {
		st.logger.Error("TLS keystore or truststore changed but does not load; keeping the previous one", "files", st.paths, "err", err)
		st.cur.Store(&loaded{m: l.m, stamps: l.stamps, data: l.data, failed: now})
		st.metrics.reload(st.label, false)
		return l.m
	}
	st.logger.Info("TLS keystore or truststore reloaded", "files", st.paths)
	st.cur.Store(&loaded{m: m, stamps: now, data: data})
	st.metrics.reload(st.label, true)
	st.metrics.certificate(st.label, m)
	return m
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
