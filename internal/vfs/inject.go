package vfs

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
)

// ErrInjected is matched (errors.Is) by every error an Injector returns.
var ErrInjected = errors.New("vfs: injected fault")

// Op names an FS or File operation an Injector can fail.
type Op uint8

// Operations.
const (
	OpAny Op = iota
	OpCreate
	OpOpen // Open and OpenReadWrite
	OpRemove
	OpRemoveAll
	OpRename // matched against the old name
	OpMkdirAll
	OpReadDir
	OpStat
	OpSyncDir
	OpRead // File.ReadAt
	OpWrite
	OpSync
	OpTruncate
	OpSize
	OpClose
	OpSyncAll // Syncer.SyncAll, matched against the directory given to OpenSyncer
)

var opNames = [...]string{"any", "create", "open", "remove", "removeall", "rename", "mkdirall",
	"readdir", "stat", "syncdir", "read", "write", "sync", "truncate", "size", "close", "syncall"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", o)
}

// InjectedError is the error an Injector returns; it matches ErrInjected.
type InjectedError struct {
	Op   Op
	Path string
}

func (e *InjectedError) Error() string {
	return fmt.Sprintf("vfs: injected %s fault on %s", e.Op, e.Path)
}

// Is reports whether target is ErrInjected.
func (e *InjectedError) Is(target error) bool { return target == ErrInjected }

// Rule chooses the calls an Injector fails.
type Rule struct {
	Op Op // OpAny matches every operation
	// Path is a path.Match pattern. Without a '/' it is matched against the base name,
	// otherwise against the cleaned full path. Empty matches every path.
	Path string
	// After lets this many matching calls succeed before the rule starts failing calls.
	After int
	// Times is how many calls fail once the rule fires; 0 means every later matching call.
	Times int
	// ShortWrite, for OpWrite, writes this many bytes of the failed call's data before
	// returning the error (a partial write, as on a full disk).
	ShortWrite int
}

// Injector wraps an FS and fails the calls its rules choose. Safe for concurrent use.
type Injector struct {
	fs FS
	mu struct {
		sync.Mutex
		rules []*ruleState
	}
}

type ruleState struct {
	Rule
	seen   int // matching calls so far
	failed int
}

// NewInjector wraps fs with the given rules.
func NewInjector(fs FS, rules ...Rule) *Injector {
	in := &Injector{fs: fs}
	in.SetRules(rules...)
	return in
}

// SetRules replaces the rules; call counts start again from zero.
func (in *Injector) SetRules(rules ...Rule) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.mu.rules = in.mu.rules[:0]
	for _, r := range rules {
		in.mu.rules = append(in.mu.rules, &ruleState{Rule: r})
	}
}

// check counts the call and returns the rule that fails it, if any.
func (in *Injector) check(op Op, name string) *Rule {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, r := range in.mu.rules {
		if r.Op != OpAny && r.Op != op {
			continue
		}
		if !matchPath(r.Path, name) {
			continue
		}
		r.seen++
		if r.seen <= r.After || (r.Times > 0 && r.failed >= r.Times) {
			continue
		}
		r.failed++
		rule := r.Rule
		return &rule
	}
	return nil
}

func matchPath(pattern, name string) bool {
	if pattern == "" {
		return true
	}
	clean := path.Clean("/" + name)
	target := clean
	if !strings.Contains(pattern, "/") {
		target = path.Base(clean)
	}
	ok, err := path.Match(pattern, target)
	return err == nil && ok
}

func (in *Injector) fail(op Op, name string) error {
	if in.check(op, name) != nil {
		return &InjectedError{Op: op, Path: name}
	}
	return nil
}

// Create implements FS.
func (in *Injector) Create(name string) (File, error) {
	if err := in.fail(OpCreate, name); err != nil {
		return nil, err
	}
	f, err := in.fs.Create(name)
	return in.wrap(f, err)
}

// Open implements FS.
func (in *Injector) Open(name string) (File, error) {
	if err := in.fail(OpOpen, name); err != nil {
		return nil, err
	}
	f, err := in.fs.Open(name)
	return in.wrap(f, err)
}

// OpenReadWrite implements FS.
func (in *Injector) OpenReadWrite(name string) (File, error) {
	if err := in.fail(OpOpen, name); err != nil {
		return nil, err
	}
	f, err := in.fs.OpenReadWrite(name)
	return in.wrap(f, err)
}

func (in *Injector) wrap(f File, err error) (File, error) {
	if err != nil {
		return nil, err
	}
	if of, ok := f.(OSFiler); ok {
		return &injectedOSFile{injectedFile{in: in, f: f}, of}, nil
	}
	return &injectedFile{in: in, f: f}, nil
}

// Remove implements FS.
func (in *Injector) Remove(name string) error {
	if err := in.fail(OpRemove, name); err != nil {
		return err
	}
	return in.fs.Remove(name)
}

// RemoveAll implements FS.
func (in *Injector) RemoveAll(dir string) error {
	if err := in.fail(OpRemoveAll, dir); err != nil {
		return err
	}
	return in.fs.RemoveAll(dir)
}

// Rename implements FS.
func (in *Injector) Rename(oldname, newname string) error {
	if err := in.fail(OpRename, oldname); err != nil {
		return err
	}
	return in.fs.Rename(oldname, newname)
}

// MkdirAll implements FS.
func (in *Injector) MkdirAll(dir string) error {
	if err := in.fail(OpMkdirAll, dir); err != nil {
		return err
	}
	return in.fs.MkdirAll(dir)
}

// ReadDir implements FS.
func (in *Injector) ReadDir(dir string) ([]string, error) {
	if err := in.fail(OpReadDir, dir); err != nil {
		return nil, err
	}
	return in.fs.ReadDir(dir)
}

// Stat implements FS.
func (in *Injector) Stat(name string) (Info, error) {
	if err := in.fail(OpStat, name); err != nil {
		return Info{}, err
	}
	return in.fs.Stat(name)
}

// SyncDir implements FS.
func (in *Injector) SyncDir(dir string) error {
	if err := in.fail(OpSyncDir, dir); err != nil {
		return err
	}
	return in.fs.SyncDir(dir)
}

// OpenSyncer implements FS.
func (in *Injector) OpenSyncer(dir string) (Syncer, error) {
	s, err := in.fs.OpenSyncer(dir)
	if err != nil {
		return nil, err
	}
	return &injectedSyncer{in: in, s: s, dir: dir}, nil
}

type injectedSyncer struct {
	in  *Injector
	s   Syncer
	dir string
}

func (s *injectedSyncer) SyncAll() error {
	if err := s.in.fail(OpSyncAll, s.dir); err != nil {
		return err
	}
	return s.s.SyncAll()
}

func (s *injectedSyncer) Close() error { return s.s.Close() }

type injectedFile struct {
	in *Injector
	f  File
}

func (f *injectedFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.in.fail(OpRead, f.f.Name()); err != nil {
		return 0, err
	}
	return f.f.ReadAt(p, off)
}

func (f *injectedFile) Write(p []byte) (int, error) {
	if r := f.in.check(OpWrite, f.f.Name()); r != nil {
		n := 0
		if r.ShortWrite > 0 {
			n, _ = f.f.Write(p[:min(r.ShortWrite, len(p))])
		}
		return n, &InjectedError{Op: OpWrite, Path: f.f.Name()}
	}
	return f.f.Write(p)
}

func (f *injectedFile) Sync() error {
	if err := f.in.fail(OpSync, f.f.Name()); err != nil {
		return err
	}
	return f.f.Sync()
}

func (f *injectedFile) Truncate(size int64) error {
	if err := f.in.fail(OpTruncate, f.f.Name()); err != nil {
		return err
	}
	return f.f.Truncate(size)
}

func (f *injectedFile) Size() (int64, error) {
	if err := f.in.fail(OpSize, f.f.Name()); err != nil {
		return 0, err
	}
	return f.f.Size()
}

func (f *injectedFile) Close() error {
	if err := f.in.fail(OpClose, f.f.Name()); err != nil {
		// The descriptor is released anyway, as close(2) does on error.
		_ = f.f.Close()
		return err
	}
	return f.f.Close()
}

func (f *injectedFile) Name() string { return f.f.Name() }

// injectedOSFile keeps OSFile reachable through the wrapper, so the sendfile path is
// exercised under fault injection too.
type injectedOSFile struct {
	injectedFile
	OSFiler
}
