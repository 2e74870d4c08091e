package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// MemFS is an in-memory FS that tracks durability, so tests can simulate a power loss with
// CrashClone. All methods are safe for concurrent use; one mutex guards the whole tree, which
// is simple and fast enough for tests.
type MemFS struct {
	mu struct {
		sync.Mutex
		root *memNode
		now  func() time.Time
	}
}

// memNode is a file or a directory ("inode"). All fields are guarded by MemFS.mu.
type memNode struct {
	isDir   bool
	modTime time.Time

	// Files. data is the current content. The durable content is data[:syncedLen] unless
	// the file was truncated below syncedLen since the last Sync; then it is durableCopy.
	data        []byte
	syncedLen   int
	durableCopy []byte
	detached    bool

	// Directories: entries now, and entries as of the last SyncDir. changed names the
	// entries that may differ between the two, so that SyncDir costs what changed since the
	// last one rather than the whole directory (a log directory holds thousands of files in
	// the cleaner's tests, which sync it several times per cleaned segment group).
	children        map[string]*memNode
	durableChildren map[string]*memNode
	changed         map[string]struct{}
}

// setChildLocked adds or replaces (n != nil) or removes (n == nil) the entry name.
func (d *memNode) setChildLocked(name string, n *memNode) {
	if n == nil {
		delete(d.children, name)
	} else {
		d.children[name] = n
	}
	if d.changed == nil {
		d.changed = map[string]struct{}{}
	}
	d.changed[name] = struct{}{}
}

// NewMem returns an empty in-memory file system holding only the root directory "/".
func NewMem() *MemFS {
	m := &MemFS{}
	m.mu.root = newDir(time.Now())
	m.mu.now = time.Now
	return m
}

// SetClock replaces the clock used for modification times (tests of time-based retention).
func (m *MemFS) SetClock(now func() time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.now = now
}

func newDir(now time.Time) *memNode {
	return &memNode{isDir: true, modTime: now, children: map[string]*memNode{}, durableChildren: map[string]*memNode{}}
}

// split cleans name and returns its components; the root has none.
func split(name string) []string {
	p := path.Clean("/" + name)
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

func pathErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// lookupLocked finds the node at name.
func (m *MemFS) lookupLocked(op, name string) (*memNode, error) {
	n := m.mu.root
	for _, c := range split(name) {
		if !n.isDir {
			return nil, pathErr(op, name, fs.ErrNotExist)
		}
		next, ok := n.children[c]
		if !ok {
			return nil, pathErr(op, name, fs.ErrNotExist)
		}
		n = next
	}
	return n, nil
}

// parentLocked finds the directory holding name and name's base.
func (m *MemFS) parentLocked(op, name string) (*memNode, string, error) {
	parts := split(name)
	if len(parts) == 0 {
		return nil, "", pathErr(op, name, fs.ErrInvalid)
	}
	dir, err := m.lookupLocked(op, strings.Join(parts[:len(parts)-1], "/"))
	if err != nil {
		return nil, "", err
	}
	if !dir.isDir {
		return nil, "", pathErr(op, name, fs.ErrNotExist)
	}
	return dir, parts[len(parts)-1], nil
}

// Create implements FS.
func (m *MemFS) Create(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir, base, err := m.parentLocked("create", name)
	if err != nil {
		return nil, err
	}
	if n, ok := dir.children[base]; ok {
		if n.isDir {
			return nil, pathErr("create", name, fs.ErrExist)
		}
		n.truncateLocked(0)
		n.modTime = m.mu.now()
		return &memFile{fs: m, node: n, name: name, writable: true}, nil
	}
	n := &memNode{modTime: m.mu.now()}
	dir.setChildLocked(base, n)
	return &memFile{fs: m, node: n, name: name, writable: true}, nil
}

// Open implements FS.
func (m *MemFS) Open(name string) (File, error) { return m.open("open", name, false) }

// OpenReadWrite implements FS.
func (m *MemFS) OpenReadWrite(name string) (File, error) { return m.open("open", name, true) }

func (m *MemFS) open(op, name string, writable bool) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookupLocked(op, name)
	if err != nil {
		return nil, err
	}
	if n.isDir {
		return nil, pathErr(op, name, fmt.Errorf("is a directory"))
	}
	return &memFile{fs: m, node: n, name: name, writable: writable}, nil
}

// Remove implements FS.
func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir, base, err := m.parentLocked("remove", name)
	if err != nil {
		return err
	}
	n, ok := dir.children[base]
	if !ok {
		return pathErr("remove", name, fs.ErrNotExist)
	}
	if n.isDir && len(n.children) > 0 {
		return pathErr("remove", name, fmt.Errorf("directory not empty"))
	}
	dir.setChildLocked(base, nil)
	return nil
}

// RemoveAll implements FS.
func (m *MemFS) RemoveAll(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir, base, err := m.parentLocked("removeall", name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	dir.setChildLocked(base, nil)
	return nil
}

// Rename implements FS.
func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	odir, obase, err := m.parentLocked("rename", oldname)
	if err != nil {
		return err
	}
	n, ok := odir.children[obase]
	if !ok {
		return pathErr("rename", oldname, fs.ErrNotExist)
	}
	ndir, nbase, err := m.parentLocked("rename", newname)
	if err != nil {
		return err
	}
	if old, ok := ndir.children[nbase]; ok && old.isDir != n.isDir {
		return pathErr("rename", newname, fs.ErrExist)
	}
	odir.setChildLocked(obase, nil)
	ndir.setChildLocked(nbase, n)
	return nil
}

// MkdirAll implements FS.
func (m *MemFS) MkdirAll(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.mu.root
	for _, c := range split(name) {
		next, ok := n.children[c]
		if !ok {
			next = newDir(m.mu.now())
			n.setChildLocked(c, next)
		} else if !next.isDir {
			return pathErr("mkdir", name, fs.ErrExist)
		}
		n = next
	}
	return nil
}

// ReadDir implements FS.
func (m *MemFS) ReadDir(name string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookupLocked("readdir", name)
	if err != nil {
		return nil, err
	}
	if !n.isDir {
		return nil, pathErr("readdir", name, fmt.Errorf("not a directory"))
	}
	names := make([]string, 0, len(n.children))
	for c := range n.children {
		names = append(names, c)
	}
	slices.Sort(names)
	return names, nil
}

// Stat implements FS.
func (m *MemFS) Stat(name string) (Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookupLocked("stat", name)
	if err != nil {
		return Info{}, err
	}
	return Info{Name: path.Base(path.Clean("/" + name)), Size: int64(len(n.data)), IsDir: n.isDir, ModTime: n.modTime}, nil
}

// SyncDir implements FS.
func (m *MemFS) SyncDir(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookupLocked("syncdir", name)
	if err != nil {
		return err
	}
	if !n.isDir {
		return pathErr("syncdir", name, fmt.Errorf("not a directory"))
	}
	for c := range n.changed {
		if child, ok := n.children[c]; ok {
			n.durableChildren[c] = child
		} else {
			delete(n.durableChildren, c)
		}
	}
	clear(n.changed)
	return nil
}

// OpenSyncer implements FS. Its SyncAll makes every file and directory entry of the whole
// MemFS durable, as syncfs(2) does for a real file system.
func (m *MemFS) OpenSyncer(dir string) (Syncer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.lookupLocked("opensyncer", dir); err != nil {
		return nil, err
	}
	return &memSyncer{fs: m}, nil
}

type memSyncer struct{ fs *MemFS }

func (s *memSyncer) SyncAll() error {
	s.fs.mu.Lock()
	defer s.fs.mu.Unlock()
	syncTreeLocked(s.fs.mu.root)
	return nil
}

func (s *memSyncer) Close() error { return nil }

func syncTreeLocked(n *memNode) {
	if !n.isDir {
		n.syncLocked()
		return
	}
	n.durableChildren = make(map[string]*memNode, len(n.children))
	for c, child := range n.children {
		n.durableChildren[c] = child
		syncTreeLocked(child)
	}
	clear(n.changed)
}

// truncateLocked sets the file's size, remembering the durable content if the cut reaches
// into it.
func (n *memNode) truncateLocked(size int) {
	if size < n.syncedLen && !n.detached {
		n.durableCopy = slices.Clone(n.data[:n.syncedLen])
		n.detached = true
	}
	if size <= len(n.data) {
		n.data = n.data[:size]
		return
	}
	n.data = append(n.data, make([]byte, size-len(n.data))...)
}

func (n *memNode) syncLocked() {
	n.syncedLen = len(n.data)
	n.durableCopy = nil
	n.detached = false
}

// memFile is a handle on a memNode.
type memFile struct {
	fs       *MemFS
	node     *memNode
	name     string
	writable bool
	closed   bool // guarded by fs.mu
}

func (f *memFile) checkLocked(op string, write bool) error {
	if f.closed {
		return pathErr(op, f.name, fs.ErrClosed)
	}
	if write && !f.writable {
		return pathErr(op, f.name, fs.ErrPermission)
	}
	return nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("read", false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("read", f.name, fs.ErrInvalid)
	}
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("write", true); err != nil {
		return 0, err
	}
	f.node.data = append(f.node.data, p...)
	f.node.modTime = f.fs.mu.now()
	return len(p), nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("sync", false); err != nil {
		return err
	}
	f.node.syncLocked()
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("truncate", true); err != nil {
		return err
	}
	if size < 0 {
		return pathErr("truncate", f.name, fs.ErrInvalid)
	}
	f.node.truncateLocked(int(size))
	f.node.modTime = f.fs.mu.now()
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked("stat", false); err != nil {
		return 0, err
	}
	return int64(len(f.node.data)), nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return pathErr("close", f.name, fs.ErrClosed)
	}
	f.closed = true
	return nil
}

func (f *memFile) Name() string { return f.name }
