package vfs

import (
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// OS is the real file system.
var OS FS = osFS{}

type osFS struct{}

// osFile wraps *os.File so that the package controls the method set (append-only writes) and
// exposes the descriptor for sendfile.
type osFile struct {
	f *os.File
}

func (osFS) Create(name string) (File, error) {
	f, err := os.OpenFile(filepath.Clean(name), os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &osFile{f: f}, nil
}

func (osFS) Open(name string) (File, error) {
	f, err := os.Open(filepath.Clean(name))
	if err != nil {
		return nil, err
	}
	return &osFile{f: f}, nil
}

func (osFS) OpenReadWrite(name string) (File, error) {
	f, err := os.OpenFile(filepath.Clean(name), os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	return &osFile{f: f}, nil
}

func (osFS) Remove(name string) error   { return os.Remove(filepath.Clean(name)) }
func (osFS) RemoveAll(dir string) error { return os.RemoveAll(filepath.Clean(dir)) }
func (osFS) Rename(oldname, newname string) error {
	return os.Rename(filepath.Clean(oldname), filepath.Clean(newname))
}
func (osFS) MkdirAll(dir string) error { return os.MkdirAll(filepath.Clean(dir), 0o755) }

func (osFS) ReadDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Clean(dir))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	slices.Sort(names)
	return names, nil
}

func (osFS) Stat(name string) (Info, error) {
	fi, err := os.Stat(filepath.Clean(name))
	if err != nil {
		return Info{}, err
	}
	return Info{Name: fi.Name(), Size: fi.Size(), IsDir: fi.IsDir(), ModTime: fi.ModTime()}, nil
}

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return err
	}
	// A failed directory fsync means the entries may not survive a crash: report it, and still
	// release the descriptor.
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}

// osSyncer holds a descriptor of a directory for syncfs(2). Write-back errors are recorded per
// file system and reported to each descriptor once, for errors after it was opened: hence one
// long-lived descriptor rather than one per call.
type osSyncer struct{ f *os.File }

func (osFS) OpenSyncer(dir string) (Syncer, error) {
	f, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return nil, err
	}
	return &osSyncer{f: f}, nil
}

func (s *osSyncer) SyncAll() error {
	conn, err := s.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := conn.Control(func(fd uintptr) {
		for {
			serr = unix.Syncfs(int(fd))
			if serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "syncfs", Path: s.f.Name(), Err: serr}
	}
	return nil
}

func (s *osSyncer) Close() error { return s.f.Close() }

func (f *osFile) ReadAt(p []byte, off int64) (int, error) { return f.f.ReadAt(p, off) }
func (f *osFile) Write(p []byte) (int, error)             { return f.f.Write(p) }
func (f *osFile) Sync() error                             { return f.f.Sync() }
func (f *osFile) Truncate(size int64) error               { return f.f.Truncate(size) }
func (f *osFile) Close() error                            { return f.f.Close() }
func (f *osFile) Name() string                            { return f.f.Name() }

// DataSync is fdatasync(2), retried on EINTR.
func (f *osFile) DataSync() error {
	conn, err := f.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := conn.Control(func(fd uintptr) {
		for {
			serr = unix.Fdatasync(int(fd))
			if serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.f.Name(), Err: serr}
	}
	return nil
}

func (f *osFile) Size() (int64, error) {
	fi, err := f.f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// OSFile returns the underlying descriptor, for sendfile(2). The caller must not close it or
// change its offset.
func (f *osFile) OSFile() *os.File { return f.f }
