package storage

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/vfs"
)

// batchReader reads whole batches from a .log sequentially, in large chunks, for recovery and
// index rebuilds. The slices it returns are valid until the next call.
type batchReader struct {
	f      vfs.File
	end    int64 // stop at this file position
	buf    []byte
	bufPos int64      // file position of buf[0]
	start  int        // next unread byte in buf
	stop   int        // end of valid bytes in buf
	pool   *sync.Pool // where close returns buf (newBatchReaderSize); nil: batchReaderPool
}

const batchReaderChunk = 1 << 20

var batchReaderPool = sync.Pool{New: func() any { b := make([]byte, batchReaderChunk); return &b }}

func newBatchReader(f vfs.File, end int64) *batchReader {
	return &batchReader{f: f, end: end, buf: *batchReaderPool.Get().(*[]byte)}
}

// newBatchReaderSize is newBatchReader reading size bytes at a time (the cleaner's share of
// log.cleaner.io.buffer.size); a batch larger than that is read whole. Buffers come from and
// go back to pool, so a clean of many segments reuses one.
func newBatchReaderSize(f vfs.File, end int64, size int, pool *sync.Pool) *batchReader {
	var buf []byte
	if p, ok := pool.Get().(*[]byte); ok && cap(*p) >= size {
		buf = (*p)[:size:size] // the read size is the capacity: fill reads up to cap
	} else {
		buf = make([]byte, size)
	}
	return &batchReader{f: f, end: end, buf: buf, pool: pool}
}

func (r *batchReader) close() {
	if r.pool != nil {
		b := r.buf
		r.pool.Put(&b)
		r.buf = nil
		return
	}
	if cap(r.buf) == batchReaderChunk {
		b := r.buf[:batchReaderChunk]
		batchReaderPool.Put(&b)
	}
	r.buf = nil
}

// pos is the file position of the next batch.
func (r *batchReader) pos() int64 { return r.bufPos + int64(r.start) }

// next returns the next whole batch. At the end of the bytes it returns io.EOF; bytes that end
// inside a batch give an error wrapping record.ErrTruncated, bytes that cannot be a batch
// record.ErrCorrupt (or ErrUnsupportedMagic); other errors are I/O errors.
func (r *batchReader) next() ([]byte, record.Header, error) {
	for {
		avail := r.buf[r.start:r.stop]
		fileLeft := r.end - (r.bufPos + int64(r.stop))
		if len(avail) == 0 && fileLeft <= 0 {
			return nil, record.Header{}, io.EOF
		}
		if len(avail) >= record.HeaderSize || fileLeft <= 0 {
			h, err := record.ReadHeader(avail)
			if err != nil && !(errors.Is(err, record.ErrTruncated) && fileLeft > 0) {
				return nil, h, err
			}
			if err == nil {
				size := h.Size()
				if len(avail) >= size {
					r.start += size
					return avail[:size:size], h, nil
				}
				if int64(size) > int64(len(avail))+fileLeft {
					return nil, h, fmt.Errorf("%w: %d of %d bytes present", record.ErrTruncated, int64(len(avail))+fileLeft, size)
				}
				if err := r.fill(size); err != nil {
					return nil, h, err
				}
				continue
			}
		}
		if err := r.fill(record.HeaderSize); err != nil {
			return nil, record.Header{}, err
		}
	}
}

// fill moves the unread bytes to the front and reads more, making room for at least need
// bytes.
func (r *batchReader) fill(need int) error {
	n := copy(r.buf, r.buf[r.start:r.stop])
	r.bufPos += int64(r.start)
	r.start, r.stop = 0, n
	if cap(r.buf) < need {
		nb := make([]byte, need)
		copy(nb, r.buf[:n])
		r.close()
		r.buf = nb
	}
	r.buf = r.buf[:cap(r.buf)]
	want := min(int64(len(r.buf)-n), r.end-(r.bufPos+int64(n)))
	got, err := r.f.ReadAt(r.buf[n:n+int(want)], r.bufPos+int64(n))
	r.stop = n + got
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s at %d: %w", r.f.Name(), r.bufPos+int64(n), err)
	}
	if int64(got) < want {
		// The file is shorter than expected: treat what is there as all there is.
		r.end = r.bufPos + int64(r.stop)
	}
	return nil
}

// scanResult is what a full scan of a segment's .log found.
type scanResult struct {
	validBytes      int64 // bytes of whole, valid batches from the start
	nextOffset      int64 // offset after the last valid batch (base if none)
	batches         int64
	firstBatchMaxTs int64  // MaxTimestamp of the first batch, -1 if none
	index           []byte // offset-index entries, encoded
	timeIndex       []byte // time-index entries, encoded, including the final one
	builder         indexBuilder
	stopErr         error // why the scan stopped before the end (nil: clean end)
}

// scanSegment reads every batch of a segment's .log, checks it (CRC with record.Validate, offsets
// increasing and inside [base, limitOffset)), and builds its index entries. It stops at the first
// batch that fails and reports where; I/O errors are returned as err.
func scanSegment(f vfs.File, size, base, limitOffset int64, interval int32) (scanResult, error) {
	res := scanResult{nextOffset: base, firstBatchMaxTs: -1, builder: newIndexBuilder(interval, base)}
	r := newBatchReader(f, size)
	defer r.close()
	var entry [timeEntrySize]byte
	for {
		pos := r.pos()
		batch, h, err := r.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			_, err = record.Validate(batch, record.ValidateOptions{})
		}
		if err == nil {
			err = checkBatchOffsets(h, base, res.nextOffset, limitOffset)
		}
		if err == nil && pos+int64(h.Size()) > math.MaxInt32 {
			// Index positions are 32-bit and segment.bytes is at most 2^31-1: no valid
			// segment reaches this far.
			err = fmt.Errorf("%w: batch at %d ends beyond 2^31-1 bytes", errBadOffsets, pos)
		}
		if err != nil {
			if isDataError(err) {
				res.stopErr = err
				break
			}
			return res, err
		}
		off, addOff, ts, addTs := res.builder.add(base, h.LastOffset(), h.MaxTimestamp, pos, int64(h.Size()))
		if addOff {
			putOffsetEntry(entry[:], off)
			res.index = append(res.index, entry[:offsetEntrySize]...)
		}
		if addTs {
			putTimeEntry(entry[:], ts)
			res.timeIndex = append(res.timeIndex, entry[:]...)
		}
		if res.batches == 0 {
			res.firstBatchMaxTs = h.MaxTimestamp
		}
		res.batches++
		res.validBytes = pos + int64(h.Size())
		res.nextOffset = h.NextOffset()
	}
	if ts, ok := res.builder.timeEntryDue(base); ok {
		putTimeEntry(entry[:], ts)
		res.timeIndex = append(res.timeIndex, entry[:]...)
	}
	return res, nil
}

// errBadOffsets marks a batch whose offsets break the log's order.
var errBadOffsets = errors.New("batch offsets out of order")

func checkBatchOffsets(h record.Header, base, next, limit int64) error {
	switch {
	case h.BaseOffset < next:
		return fmt.Errorf("%w: base offset %d below expected %d", errBadOffsets, h.BaseOffset, next)
	case h.LastOffset() >= limit:
		return fmt.Errorf("%w: last offset %d reaches the next segment at %d", errBadOffsets, h.LastOffset(), limit)
	case !relOffsetFits(base, h.LastOffset()):
		return fmt.Errorf("%w: last offset %d too far from segment base %d", errBadOffsets, h.LastOffset(), base)
	}
	return nil
}

// isDataError reports whether err is about the bytes (torn, corrupt, misordered) rather than
// about reading them.
func isDataError(err error) bool {
	return errors.Is(err, record.ErrTruncated) || errors.Is(err, record.ErrCorrupt) ||
		errors.Is(err, record.ErrUnsupportedMagic) || errors.Is(err, errBadOffsets)
}

// headerWalker reads batch headers at increasing positions of a .log, fetching a small chunk at
// a time so that runs of small batches cost one read.
type headerWalker struct {
	f      vfs.File
	limit  int64 // committed size: headers and batches must lie below it
	buf    *[headerWalkChunk]byte
	bufPos int64
	bufLen int
	large  bool // last batch was large: fetch only a header next time
}

const headerWalkChunk = 4096

var headerWalkPool = sync.Pool{New: func() any { return new([headerWalkChunk]byte) }}

func newHeaderWalker(f vfs.File, limit int64) headerWalker {
	return headerWalker{f: f, limit: limit, buf: headerWalkPool.Get().(*[headerWalkChunk]byte), bufPos: -1}
}

func (w *headerWalker) close() { headerWalkPool.Put(w.buf); w.buf = nil }

// at returns the header of the batch at pos. Bytes below limit were written whole, so a header
// that does not parse, or a batch that runs past limit, is corruption.
func (w *headerWalker) at(pos int64) (record.Header, error) {
	if pos+record.HeaderSize > w.limit {
		return record.Header{}, fmt.Errorf("%w: header at %d runs past committed size %d", record.ErrCorrupt, pos, w.limit)
	}
	if w.bufPos < 0 || pos < w.bufPos || pos+record.HeaderSize > w.bufPos+int64(w.bufLen) {
		n := min(int64(headerWalkChunk), w.limit-pos)
		if w.large {
			n = record.HeaderSize
		}
		if err := readFull(w.f, w.buf[:n], pos); err != nil {
			return record.Header{}, err
		}
		w.bufPos, w.bufLen = pos, int(n)
	}
	h, err := record.ReadHeader(w.buf[pos-w.bufPos : w.bufLen])
	if err != nil {
		return h, err
	}
	if pos+int64(h.Size()) > w.limit {
		return h, fmt.Errorf("%w: batch at %d of %d bytes runs past committed size %d", record.ErrCorrupt, pos, h.Size(), w.limit)
	}
	w.large = h.Size() > headerWalkChunk/4
	return h, nil
}
