package vfs

import (
	"io"
	"os"
	"time"
)

// File is an open file. Implementations are safe for concurrent use: ReadAt may run
// concurrently with Write, Sync and Truncate (readers see either the old or the new bytes of a
// region being changed, never a panic).
type File interface {
	io.ReaderAt
	// Write appends p at the current end of the file.
	io.Writer
	// Sync makes the file's current contents and size durable.
	Sync() error
	// Truncate changes the size of the file; durable only after Sync.
	Truncate(size int64) error
	// Size reports the current size of the file, including unsynced bytes.
	Size() (int64, error)
	Close() error
	// Name is the path the file was opened with.
	Name() string
}

// Info describes a file or directory.
type Info struct {
	Name    string // base name
	Size    int64
	IsDir   bool
	ModTime time.Time
}

// FS is a file system. Paths are slash-separated; they are cleaned before use.
type FS interface {
	// Create creates or truncates the named file and opens it for reading and appending.
	// The parent directory must exist.
	Create(name string) (File, error)
	// Open opens an existing file for reading.
	Open(name string) (File, error)
	// OpenReadWrite opens an existing file for reading and appending.
	OpenReadWrite(name string) (File, error)
	// Remove removes a file or an empty directory. Open handles keep working on the removed
	// file's data until closed, as on POSIX.
	Remove(name string) error
	// RemoveAll removes dir and everything below it; a missing dir is not an error.
	RemoveAll(dir string) error
	// Rename atomically replaces newname with oldname.
	Rename(oldname, newname string) error
	// MkdirAll creates dir and any missing parents.
	MkdirAll(dir string) error
	// ReadDir lists the names of the entries of dir, sorted.
	ReadDir(dir string) ([]string, error)
	// Stat describes the named file or directory.
	Stat(name string) (Info, error)
	// SyncDir makes the creates, renames and removes of entries in dir durable.
	SyncDir(dir string) error
	// OpenSyncer returns a handle that makes everything written to the file system holding
	// dir durable in one call (syncfs(2)): every file's data and every directory entry. Keep
	// it open for as long as it is used, so that it reports write-back errors that happen
	// between calls.
	OpenSyncer(dir string) (Syncer, error)
}

// Syncer makes a whole file system durable at once (see FS.OpenSyncer).
type Syncer interface {
	SyncAll() error
	Close() error
}

// DataSyncer is implemented by files that can make their contents durable without the
// metadata that reading them back does not need (fdatasync(2): the size, not the mtime). For
// an append-only file it is what Sync promises at a lower cost on some file systems.
type DataSyncer interface {
	DataSync() error
}

// DataSync makes f's contents and size durable: f.DataSync when f has it, else f.Sync (the
// in-memory FS and wrappers that inject faults or delays).
func DataSync(f File) error {
	if d, ok := f.(DataSyncer); ok {
		return d.DataSync()
	}
	return f.Sync()
}

// OSFiler is implemented by files backed by an operating-system file (vfs.OS), so callers
// can use sendfile(2) on them.
type OSFiler interface {
	OSFile() *os.File
}
