package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"

	"github.com/sluicehq/sluice/internal/vfs"
)

// Kafka's sentinels for OffsetForLeaderEpoch answers.
const (
	UndefinedEpoch       int32 = -1
	UndefinedEpochOffset int64 = -1
)

// LeaderEpochCache maps leader epochs to the first offset written in each
// (docs/format/leader-epoch-checkpoint.md). Every change is written to the partition's
// leader-epoch-checkpoint before the method returns, except StageAssign's, which the caller
// writes with Persist once it has dropped its own locks, and the truncation at load
// (truncateFromEndUnwritten), which the next write carries. Safe for concurrent use.
//
// Concurrency: mu guards the entries and is never held across I/O, so readers
// (OffsetForLeaderEpoch, appends checking the latest epoch) never wait on an fsync; writeMu
// serializes checkpoint writes, each of which writes the entries as they are when it starts,
// so the file never goes back to an older state. Lock order: writeMu, then mu.
type LeaderEpochCache struct {
	fs   vfs.FS
	path string // empty: in memory only (an offline log)

	writeMu sync.Mutex
	// publish writes the checkpoint durably: publishFile, or for a Manager's logs its
	// publishShared, whose fsyncs concurrent writers (a reconcile of many partitions) share.
	publish func(name string, data []byte) error

	mu struct {
		sync.Mutex
		entries []EpochEntry // epochs and start offsets strictly increase
		dirty   bool         // entries changed since the checkpoint was last written
		// onDisk is what the checkpoint file holds as far as this cache knows (read at load,
		// or last written); Persist skips a write that would not change it.
		onDisk []EpochEntry
	}
}

func newLeaderEpochCache(fsys vfs.FS, path string, entries []EpochEntry) *LeaderEpochCache {
	c := &LeaderEpochCache{fs: fsys, path: path}
	c.publish = func(name string, data []byte) error { return publishFile(fsys, name, data) }
	c.mu.entries = entries
	c.mu.onDisk = slices.Clone(entries)
	return c
}

// Entries returns a copy of the entries, oldest first.
func (c *LeaderEpochCache) Entries() []EpochEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]EpochEntry(nil), c.mu.entries...)
}

// Latest returns the newest entry.
func (c *LeaderEpochCache) Latest() (EpochEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.mu.entries) == 0 {
		return EpochEntry{}, false
	}
	return c.mu.entries[len(c.mu.entries)-1], true
}

// Assign records that epoch starts at startOffset. It is a no-op when epoch is already the
// latest with a start at or before startOffset. Entries that would break the order (an epoch
// or start offset not below the new one) are removed first, as Kafka does.
func (c *LeaderEpochCache) Assign(epoch int32, startOffset int64) error {
	changed, err := c.StageAssign(epoch, startOffset)
	if err != nil || !changed {
		return err
	}
	return c.Persist()
}

// StageAssign is Assign without the checkpoint write: the entry is visible at once and
// changed reports whether Persist must be called to make it durable. Callers holding locks
// that others wait on (a partition's leadership change) persist after releasing them.
func (c *LeaderEpochCache) StageAssign(epoch int32, startOffset int64) (changed bool, err error) {
	if epoch < 0 || startOffset < 0 {
		return false, fmt.Errorf("storage: assign leader epoch %d at offset %d: negative", epoch, startOffset)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	es := c.mu.entries
	if n := len(es); n > 0 && es[n-1].Epoch == epoch && es[n-1].StartOffset <= startOffset {
		return false, nil
	}
	for len(es) > 0 && (es[len(es)-1].Epoch >= epoch || es[len(es)-1].StartOffset >= startOffset) {
		es = es[:len(es)-1]
	}
	c.mu.entries = append(es, EpochEntry{Epoch: epoch, StartOffset: startOffset})
	c.mu.dirty = true
	return true, nil
}

// Persist writes the checkpoint if the entries changed since it was last written.
func (c *LeaderEpochCache) Persist() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.Lock()
	if !c.mu.dirty || c.path == "" {
		c.mu.Unlock()
		return nil
	}
	c.mu.dirty = false
	if slices.Equal(c.mu.entries, c.mu.onDisk) {
		// A change undone before it was written: the leader epoch dropped at load because it
		// starts at the log end (a partition without records) and assigned again when the
		// partition leads.
		c.mu.Unlock()
		return nil
	}
	entries := slices.Clone(c.mu.entries)
	data := formatEpochCheckpoint(entries)
	c.mu.Unlock()
	if err := c.publish(c.path, data); err != nil {
		c.mu.Lock()
		c.mu.dirty = true
		c.mu.onDisk = nil // unknown: the write may have happened
		c.mu.Unlock()
		return fmt.Errorf("write leader epoch checkpoint: %w", err)
	}
	c.mu.Lock()
	c.mu.onDisk = entries
	c.mu.Unlock()
	return nil
}

// EndOffsetFor answers OffsetForLeaderEpoch: the largest epoch <= requested that the log
// knows and the offset where the epoch after it begins (logEndOffset for the latest epoch).
// It returns (UndefinedEpoch, UndefinedEpochOffset) when the requested epoch is undefined or
// newer than any known.
func (c *LeaderEpochCache) EndOffsetFor(requested int32, logEndOffset int64) (int32, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	es := c.mu.entries
	if requested == UndefinedEpoch || len(es) == 0 {
		return UndefinedEpoch, UndefinedEpochOffset
	}
	if es[len(es)-1].Epoch == requested {
		return requested, logEndOffset
	}
	// First entry with a higher epoch.
	hi := 0
	for hi < len(es) && es[hi].Epoch <= requested {
		hi++
	}
	if hi == len(es) {
		return UndefinedEpoch, UndefinedEpochOffset
	}
	if hi == 0 {
		// Older than anything known: the requested epoch ended where the first known began.
		return requested, es[0].StartOffset
	}
	return es[hi-1].Epoch, es[hi].StartOffset
}

// TruncateFromEnd removes entries starting at or after endOffset (log truncation).
func (c *LeaderEpochCache) TruncateFromEnd(endOffset int64) error {
	if !c.truncateFromEndLocked(endOffset) {
		return nil
	}
	return c.Persist()
}

// truncateFromEndUnwritten is TruncateFromEnd without the checkpoint write, for loading a log
// (as Kafka's truncateFromEndAsyncFlush): entries past the log end left in the file are
// dropped again at every load, and the next Persist writes the truncated entries. A partition
// without records, whose epoch entry starts at its log end, so skips two checkpoint writes and
// their fsyncs per restart (dropped here, assigned again when it leads).
func (c *LeaderEpochCache) truncateFromEndUnwritten(endOffset int64) {
	c.truncateFromEndLocked(endOffset)
}

// truncateFromEndLocked drops the entries and reports whether any was.
func (c *LeaderEpochCache) truncateFromEndLocked(endOffset int64) bool {
	c.mu.Lock()
	es := c.mu.entries
	n := len(es)
	for n > 0 && es[n-1].StartOffset >= endOffset {
		n--
	}
	if n == len(es) {
		c.mu.Unlock()
		return false
	}
	c.mu.entries = es[:n]
	c.mu.dirty = true
	c.mu.Unlock()
	return true
}

// TruncateFromStart drops entries wholly below startOffset (the log start moved) and starts
// the earliest remaining epoch there.
func (c *LeaderEpochCache) TruncateFromStart(startOffset int64) error {
	c.mu.Lock()
	es := c.mu.entries
	i := 0
	for i < len(es) && es[i].StartOffset <= startOffset {
		i++
	}
	if i == 0 || (i == 1 && es[0].StartOffset == startOffset) {
		c.mu.Unlock()
		return nil
	}
	c.mu.entries = append([]EpochEntry{{Epoch: es[i-1].Epoch, StartOffset: startOffset}}, es[i:]...)
	c.mu.dirty = true
	c.mu.Unlock()
	return c.Persist()
}

// loadLeaderEpochCache reads a partition's leader-epoch-checkpoint; a missing file is an empty
// cache, a corrupt one is reported so the caller can log it and start empty.
func loadLeaderEpochCache(fsys vfs.FS, path string) (*LeaderEpochCache, error) {
	data, err := readSmallFile(fsys, path)
	if err != nil {
		if isNotExist(err) {
			return newLeaderEpochCache(fsys, path, nil), nil
		}
		return newLeaderEpochCache(fsys, path, nil), err
	}
	entries, err := parseEpochCheckpoint(data)
	if err != nil {
		return newLeaderEpochCache(fsys, path, nil), fmt.Errorf("%s: %w", path, err)
	}
	return newLeaderEpochCache(fsys, path, entries), nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func isDeleted(err error) bool { return errors.Is(err, errSegmentDeleted) }
