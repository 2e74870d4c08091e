package storage

import (
	"fmt"
	"sync"

	"github.com/sluicehq/sluice/internal/vfs"
)

// Index entries of the active segment are kept in memory and written to the .index and
// .timeindex files in runs (Kafka mmaps its active indexes for the same reason): with
// thousands of partitions, writing 8 and 12 bytes to two more files on nearly every append
// cost a third of the write(2)s and, past the file budget, an open(2) and close(2) of each
// index file per append.
//
// The tail is written out when it reaches indexTailBytes, before any fsync of the segment's
// indexes (a flush, a roll, a truncation, a clean stop), so whatever a recovery point covers
// is in the files. Entries still in memory when the process dies are not lost data: the
// recovery point never covers them, and recovery after an unclean stop rescans every segment
// from the one holding the recovery point and rebuilds its indexes (Log.recover).
//
// Readers consult the tail first (indexTail.lookup), then the file's prefix.

// indexTailBytes is how many bytes of pending offset entries (or time entries) trigger a
// write-out: 128 offset entries, i.e. about 512 KiB of log at the default
// index.interval.bytes. 10,000 active partitions hold at most about 25 MiB here.
const (
	indexTailOffsetBytes = 128 * offsetEntrySize
	indexTailTimeBytes   = 128 * timeEntrySize
)

// indexTail holds index entries appended to the active segment but not yet written to its
// files. Invariant whenever mu is free: segment.offsetEntries = entries in the .index file +
// len(offsets)/offsetEntrySize, and likewise for the time index; code that changes the counts
// while the tail is not empty does so under mu.
type indexTail struct {
	// writeMu serializes write-outs; held across the write(2)s. Taken under Log.appendMu
	// (append, roll, truncation, clean stop) or Log.flushMu (flush), never the other way.
	writeMu sync.Mutex
	// mu guards the slices; a leaf, never held across I/O.
	mu      sync.Mutex
	offsets []byte // encoded offset-index entries after the file's last one
	times   []byte // encoded time-index entries after the file's last one
}

// addIndexEntries appends encoded entries to the tail and publishes the new counts and last offset
// entry (Log.appendMu held). It reports whether the tail is due to be written out.
func (s *segment) addIndexEntries(offsets, times []byte, lastOff offsetEntry) (due bool) {
	t := &s.tail
	t.mu.Lock()
	t.offsets = append(t.offsets, offsets...)
	t.times = append(t.times, times...)
	if len(offsets) > 0 {
		// Publish the last entry before the count, so a reader that sees the count also
		// sees an entry at least that new.
		s.lastOffsetEntry.Store(lastOff.pack())
		s.offsetEntries.Add(int64(len(offsets) / offsetEntrySize))
	}
	s.timeEntries.Add(int64(len(times) / timeEntrySize))
	due = len(t.offsets) >= indexTailOffsetBytes || len(t.times) >= indexTailTimeBytes
	t.mu.Unlock()
	return due
}

// writeIndexTail appends the tail's entries to the index files and drops them from memory.
// Appends may add entries meanwhile; those stay in the tail.
func (s *segment) writeIndexTail() error {
	t := &s.tail
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	t.mu.Lock()
	offs, times := t.offsets, t.times
	t.mu.Unlock()
	if len(offs) == 0 && len(times) == 0 {
		return nil
	}
	// offs and times alias the tail's arrays: appends only write past their ends (or to a
	// new array), and only this function, under writeMu, moves bytes within them.
	if len(offs) > 0 {
		if err := s.withFile(kindIndex, func(f vfs.File) error { _, err := f.Write(offs); return err }); err != nil {
			return fmt.Errorf("append to %s: %w", s.path(kindIndex), err)
		}
	}
	if len(times) > 0 {
		if err := s.withFile(kindTimeIndex, func(f vfs.File) error { _, err := f.Write(times); return err }); err != nil {
			return fmt.Errorf("append to %s: %w", s.path(kindTimeIndex), err)
		}
	}
	t.mu.Lock()
	t.offsets = t.offsets[:copy(t.offsets, t.offsets[len(offs):])]
	t.times = t.times[:copy(t.times, t.times[len(times):])]
	t.mu.Unlock()
	return nil
}

// dropIndexTail forgets the tail, for code that replaces the index files and sets the counts
// itself (a rebuild). The caller holds loadMu or appendMu and no reader can need the entries.
func (s *segment) dropIndexTail() {
	s.tail.mu.Lock()
	s.tail.offsets, s.tail.times = nil, nil
	s.tail.mu.Unlock()
}

// releaseIndexTail frees the tail's memory once it has been written out (a rolled segment
// never gets entries again).
func (s *segment) releaseIndexTail() {
	s.tail.mu.Lock()
	if len(s.tail.offsets) == 0 && len(s.tail.times) == 0 {
		s.tail.offsets, s.tail.times = nil, nil
	}
	s.tail.mu.Unlock()
}

// indexTailEmpty reports whether every entry is in the files.
func (s *segment) indexTailEmpty() bool {
	s.tail.mu.Lock()
	defer s.tail.mu.Unlock()
	return len(s.tail.offsets) == 0 && len(s.tail.times) == 0
}

// tailLookup answers a search for the last entry whose key is <= target from the tail when
// the tail's first entry is <= target (hit; the entry is in e). Otherwise it returns the
// number of entries in the file, which the caller searches: file entries never change while
// they are counted (only a truncation, under appendMu, cuts them).
func (s *segment) tailLookup(kind fileKind, target int64) (e [timeEntrySize]byte, fileEntries int64, hit bool) {
	t := &s.tail
	t.mu.Lock()
	defer t.mu.Unlock()
	var (
		data  []byte
		size  int
		key   func([]byte) int64
		total int64
	)
	if kind == kindIndex {
		data, size, key, total = t.offsets, offsetEntrySize, offsetKey, s.offsetEntries.Load()
	} else {
		data, size, key, total = t.times, timeEntrySize, timeKey, s.timeEntries.Load()
	}
	n := len(data) / size
	fileEntries = total - int64(n)
	if n == 0 || key(data) > target {
		return e, fileEntries, false
	}
	i, j := 0, n
	for i < j { // first entry with key > target
		m := int(uint(i+j) >> 1)
		if key(data[m*size:]) <= target {
			i = m + 1
		} else {
			j = m
		}
	}
	copy(e[:], data[(i-1)*size:i*size])
	return e, fileEntries, true
}
