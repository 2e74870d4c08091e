package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/sluicehq/sluice/internal/vfs"
)

// Index entry sizes (docs/format/offset-index.md, time-index.md, txn-index.md).
const (
	offsetEntrySize = 8
	timeEntrySize   = 12
	txnEntrySize    = 34
)

// indexChunkSize is how many bytes of an index one read fetches once a binary search has
// narrowed to that range, and the buffer size for validating whole index files.
const indexChunkSize = 4096

var indexBufPool = sync.Pool{New: func() any { return new([indexChunkSize]byte) }}

// offsetEntry is one decoded offset-index entry.
type offsetEntry struct {
	relOffset uint32 // batch's last offset - segment base
	position  uint32 // batch's position in the .log
}

func (e offsetEntry) pack() uint64 { return uint64(e.relOffset)<<32 | uint64(e.position) }
func unpackOffsetEntry(v uint64) offsetEntry {
	return offsetEntry{relOffset: uint32(v >> 32), position: uint32(v)}
}

func putOffsetEntry(b []byte, e offsetEntry) {
	binary.BigEndian.PutUint32(b, e.relOffset)
	binary.BigEndian.PutUint32(b[4:], e.position)
}

func getOffsetEntry(b []byte) offsetEntry {
	return offsetEntry{relOffset: binary.BigEndian.Uint32(b), position: binary.BigEndian.Uint32(b[4:])}
}

// timeEntry is one decoded time-index entry.
type timeEntry struct {
	timestamp int64
	relOffset uint32
}

func putTimeEntry(b []byte, e timeEntry) {
	binary.BigEndian.PutUint64(b, uint64(e.timestamp))
	binary.BigEndian.PutUint32(b[8:], e.relOffset)
}

func getTimeEntry(b []byte) timeEntry {
	return timeEntry{timestamp: int64(binary.BigEndian.Uint64(b)), relOffset: binary.BigEndian.Uint32(b[8:])}
}

// searchIndex returns the index of the last of the first n entries of f whose key is <= target,
// or -1 if there is none. Keys must not decrease. It halves the range with single-entry reads
// until the range fits one chunk, then reads the chunk: about log2(n/chunk)+1 reads.
func searchIndex(f vfs.File, n int64, entrySize int, key func([]byte) int64, target int64) (int64, error) {
	if n == 0 {
		return -1, nil
	}
	bufp := indexBufPool.Get().(*[indexChunkSize]byte)
	defer indexBufPool.Put(bufp)
	buf := bufp[:]
	perChunk := int64(indexChunkSize / entrySize)
	// Invariant: entries below lo have key <= target (or lo == 0), entries at hi and above
	// have key > target.
	lo, hi := int64(0), n
	for hi-lo > perChunk {
		mid := lo + (hi-lo)/2
		if err := readFull(f, buf[:entrySize], mid*int64(entrySize)); err != nil {
			return 0, err
		}
		if key(buf[:entrySize]) <= target {
			lo = mid
		} else {
			hi = mid
		}
	}
	chunk := buf[:(hi-lo)*int64(entrySize)]
	if err := readFull(f, chunk, lo*int64(entrySize)); err != nil {
		return 0, err
	}
	// Last entry in the chunk with key <= target.
	i, j := 0, int(hi-lo)
	for i < j {
		m := int(uint(i+j) >> 1)
		if key(chunk[m*entrySize:]) <= target {
			i = m + 1
		} else {
			j = m
		}
	}
	return lo + int64(i) - 1, nil
}

func offsetKey(b []byte) int64 { return int64(binary.BigEndian.Uint32(b)) }
func timeKey(b []byte) int64   { return int64(binary.BigEndian.Uint64(b)) }
func timeRelKey(b []byte) int64 {
	return int64(binary.BigEndian.Uint32(b[8:]))
}

// readFull reads exactly len(p) bytes at off; a short read is io.ErrUnexpectedEOF.
func readFull(f vfs.File, p []byte, off int64) error {
	n, err := f.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s at %d: %w", f.Name(), off, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("read %s at %d: %w", f.Name(), off, err)
}

// indexProblem describes why an index file cannot be trusted; it triggers a rebuild, not an
// error, because indexes are derived data.
type indexProblem struct{ reason string }

func (p *indexProblem) Error() string { return p.reason }

// scanIndexFile reads every entry of an index file of size bytes and calls check for each;
// check returns a non-empty reason to reject the file.
func scanIndexFile(f vfs.File, size int64, entrySize int, check func(i int64, e []byte) string) error {
	if size%int64(entrySize) != 0 {
		return &indexProblem{fmt.Sprintf("size %d is not a multiple of %d", size, entrySize)}
	}
	bufp := indexBufPool.Get().(*[indexChunkSize]byte)
	defer indexBufPool.Put(bufp)
	per := int64(indexChunkSize / entrySize)
	n := size / int64(entrySize)
	for start := int64(0); start < n; start += per {
		cnt := min(per, n-start)
		chunk := bufp[:cnt*int64(entrySize)]
		if err := readFull(f, chunk, start*int64(entrySize)); err != nil {
			return err
		}
		for i := int64(0); i < cnt; i++ {
			if reason := check(start+i, chunk[i*int64(entrySize):]); reason != "" {
				return &indexProblem{fmt.Sprintf("entry %d: %s", start+i, reason)}
			}
		}
	}
	return nil
}

// checkOffsetIndex validates an offset index against its .log (docs/format/offset-index.md)
// and returns its entry count and last entry.
func checkOffsetIndex(f vfs.File, size, logSize, maxRel int64) (int64, offsetEntry, error) {
	var last offsetEntry
	err := scanIndexFile(f, size, offsetEntrySize, func(i int64, b []byte) string {
		e := getOffsetEntry(b)
		switch {
		case int64(e.position) >= logSize:
			return fmt.Sprintf("position %d beyond log size %d", e.position, logSize)
		case int64(e.relOffset) > maxRel:
			return fmt.Sprintf("relative offset %d beyond %d", e.relOffset, maxRel)
		case i > 0 && (e.relOffset <= last.relOffset || e.position <= last.position):
			return fmt.Sprintf("entry %v does not follow %v", e, last)
		}
		last = e
		return ""
	})
	return size / offsetEntrySize, last, err
}

// checkTimeIndex validates a time index (docs/format/time-index.md) and returns its entry count
// and last entry.
func checkTimeIndex(f vfs.File, size, maxRel int64) (int64, timeEntry, error) {
	var last timeEntry
	err := scanIndexFile(f, size, timeEntrySize, func(i int64, b []byte) string {
		e := getTimeEntry(b)
		switch {
		case int64(e.relOffset) > maxRel:
			return fmt.Sprintf("relative offset %d beyond %d", e.relOffset, maxRel)
		case i > 0 && (e.timestamp <= last.timestamp || e.relOffset < last.relOffset):
			return fmt.Sprintf("entry %v does not follow %v", e, last)
		}
		last = e
		return ""
	})
	return size / timeEntrySize, last, err
}

// indexBuilder decides, batch by batch, when offset- and time-index entries are due. The
// append path and the rebuild-from-log path both use it, so a rebuilt index is identical to
// the one appends produced.
type indexBuilder struct {
	interval             int64
	bytesSinceLastEntry  int64
	maxTimestamp         int64 // largest batch MaxTimestamp so far, -1 if none
	offsetOfMaxTimestamp int64 // last offset of the batch carrying it (absolute)
	lastTimeEntryTs      int64 // timestamp of the last time-index entry, -1 if none
}

func newIndexBuilder(interval int32, base int64) indexBuilder {
	return indexBuilder{interval: int64(interval), maxTimestamp: -1, offsetOfMaxTimestamp: base, lastTimeEntryTs: -1}
}

// add accounts for one batch of size bytes at pos and reports the entries due before it.
// Following Kafka, the batch's timestamp counts before the entry is written, and an entry is
// written once more than interval bytes have gone by.
func (b *indexBuilder) add(base, lastOffset, maxTimestamp, pos, size int64) (off offsetEntry, addOff bool, ts timeEntry, addTs bool) {
	if maxTimestamp > b.maxTimestamp {
		b.maxTimestamp = maxTimestamp
		b.offsetOfMaxTimestamp = lastOffset
	}
	if b.bytesSinceLastEntry > b.interval {
		off, addOff = offsetEntry{relOffset: uint32(lastOffset - base), position: uint32(pos)}, true
		ts, addTs = b.timeEntryDue(base)
		b.bytesSinceLastEntry = 0
	}
	b.bytesSinceLastEntry += size
	return off, addOff, ts, addTs
}

// timeEntryDue returns the time-index entry for the largest timestamp so far, if it is newer
// than the last entry written.
func (b *indexBuilder) timeEntryDue(base int64) (timeEntry, bool) {
	if b.maxTimestamp <= b.lastTimeEntryTs {
		return timeEntry{}, false
	}
	b.lastTimeEntryTs = b.maxTimestamp
	return timeEntry{timestamp: b.maxTimestamp, relOffset: uint32(b.offsetOfMaxTimestamp - base)}, true
}

// relOffsetFits reports whether offset can be stored relative to base in 32 bits.
func relOffsetFits(base, offset int64) bool {
	return offset >= base && offset-base <= math.MaxUint32
}
