// Package vfs is the file-system seam of Sluice: every byte the storage layer reads or writes
// goes through an FS, so tests can run on memory, simulate a power loss, and fail chosen
// operations.
//
// Three implementations:
//
//   - OS: real files. The only code in Sluice that calls os.* for data files. Files it opens
//     expose OSFile() *os.File so the fetch path can hand them to sendfile(2).
//   - MemFS: an in-memory file system that remembers, for every file, how many bytes have been
//     made durable by Sync, and, for every directory, which entries have been made durable by
//     SyncDir. CrashClone returns the state a machine would have after a power loss at that
//     instant: unsynced bytes dropped (optionally a random prefix of them kept, possibly with
//     a hole of zeros, to make torn writes), unsynced creates, renames and removes undone.
//   - Injector: wraps any FS and fails chosen operations (by kind, path pattern and call
//     count) with an error that matches ErrInjected.
//
// FS.OpenSyncer returns a Syncer whose SyncAll makes the whole file system durable at once
// (syncfs(2) on Linux): group commit uses it when one round covers many partitions.
//
// Invariants every implementation keeps:
//
//   - Writes append: File.Write always writes at the current end of the file, also after
//     Truncate. There is no seek position; reads use ReadAt.
//   - A missing file or directory is reported with an error that matches fs.ErrNotExist, an
//     existing one where none may be with fs.ErrExist.
//   - A file's data is durable only after File.Sync; a create, rename or remove is durable
//     only after SyncDir of the directory (directories) it changed. Code that publishes a
//     file therefore writes a temporary file, syncs it, renames it and syncs the directory.
//
// Example:
//
//	fs := vfs.NewMem()
//	_ = fs.MkdirAll("/data")
//	f, _ := fs.Create("/data/a.tmp")
//	_, _ = f.Write([]byte("hello"))
//	_ = f.Sync()
//	_ = f.Close()
//	_ = fs.Rename("/data/a.tmp", "/data/a")
//	_ = fs.SyncDir("/data")
//	after := fs.CrashClone(vfs.CrashOptions{}) // "/data/a" survives with "hello"
package vfs
