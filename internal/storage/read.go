package storage

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sluicehq/sluice/internal/vfs"
)

// Region is a span of one segment's .log: whole batches, ready to be sent as they are. The
// file stays open (and readable even if the segment is deleted meanwhile) until the
// ReadResult holding the Region is released.
type Region struct {
	sf       *segFile
	f        vfs.File
	position int64
	length   int64
}

// Len is the number of bytes in the region.
func (r Region) Len() int64 { return r.length }

// Position is where the region starts in its segment's .log.
func (r Region) Position() int64 { return r.position }

// File is the path of the segment file.
func (r Region) File() string { return r.f.Name() }

// ReadAt reads from the region as if it were a file of Len bytes.
func (r Region) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("storage: region read at negative offset %d", off)
	}
	if off >= r.length {
		return 0, io.EOF
	}
	want := p
	if int64(len(p)) > r.length-off {
		want = p[:r.length-off]
	}
	n, err := r.f.ReadAt(want, r.position+off)
	if err == nil && len(want) < len(p) {
		err = io.EOF
	}
	return n, err
}

// WriteTo writes the region to w. When the segment file is an OS file and w is a
// syscall.Conn (a *net.TCPConn), the bytes go from the page cache to the socket with
// sendfile(2), never through user space; otherwise they are copied through a pooled buffer.
func (r Region) WriteTo(w io.Writer) (int64, error) {
	if of, ok := r.f.(vfs.OSFiler); ok {
		if sc, ok := w.(syscall.Conn); ok {
			if rc, err := sc.SyscallConn(); err == nil {
				return sendfile(rc, of.OSFile(), r.position, r.length)
			}
		}
	}
	return r.copyTo(w)
}

var copyBufPool = sync.Pool{New: func() any { return new([64 << 10]byte) }}

func (r Region) copyTo(w io.Writer) (int64, error) {
	bufp := copyBufPool.Get().(*[64 << 10]byte)
	defer copyBufPool.Put(bufp)
	var written int64
	for written < r.length {
		chunk := bufp[:min(int64(len(bufp)), r.length-written)]
		n, err := r.f.ReadAt(chunk, r.position+written)
		if n > 0 {
			m, werr := w.Write(chunk[:n])
			written += int64(m)
			if werr != nil {
				return written, werr
			}
		}
		if err != nil && !(errors.Is(err, io.EOF) && n == len(chunk)) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // the file was cut under the region
			}
			return written, err
		}
	}
	return written, nil
}

// sendfile copies length bytes at position of src to the connection with sendfile(2). When
// the socket buffer is full (EAGAIN) it returns false to RawConn.Write, which parks the
// goroutine in the netpoller until the socket is writable and honours write deadlines.
func sendfile(dst syscall.RawConn, src *os.File, position, length int64) (int64, error) {
	srcConn, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	var written int64
	var sendErr error
	ctlErr := srcConn.Control(func(srcFd uintptr) {
		werr := dst.Write(func(dstFd uintptr) bool {
			for written < length {
				off := position + written
				chunk := int(min(length-written, math.MaxInt32))
				n, err := unix.Sendfile(int(dstFd), int(srcFd), &off, chunk)
				if n > 0 {
					written += int64(n)
				}
				switch {
				case err == unix.EAGAIN:
					return false
				case err == unix.EINTR:
					continue
				case err != nil:
					sendErr = err
					return true
				case n == 0:
					sendErr = io.ErrUnexpectedEOF // the file was cut under the region
					return true
				}
			}
			return true
		})
		if werr != nil && sendErr == nil {
			sendErr = werr
		}
	})
	if ctlErr != nil {
		return written, ctlErr
	}
	if sendErr != nil {
		return written, fmt.Errorf("sendfile %s: %w", src.Name(), sendErr)
	}
	return written, nil
}

// ReadResult is the answer to Log.Read. Call Release once its Regions have been sent.
type ReadResult struct {
	Regions []Region
	// FirstOffset is the base offset of the first batch returned, -1 if none. It may be below
	// the requested offset: the batch holding the requested offset is returned whole.
	FirstOffset int64
	// NextOffset is the offset after the last batch returned (the requested offset if none).
	NextOffset     int64
	LogStartOffset int64
	LogEndOffset   int64
	cache          *fileCache
}

// Bytes is the total length of the regions.
func (r *ReadResult) Bytes() int64 {
	var n int64
	for _, rg := range r.Regions {
		n += rg.length
	}
	return n
}

// Truncate keeps the first n bytes of the regions (n should end on a batch boundary) and
// unpins the regions it drops entirely; NextOffset is the caller's to correct. Share fetches
// use it to send only the batches holding the records they acquired.
func (r *ReadResult) Truncate(n int64) {
	kept := 0
	for i := range r.Regions {
		rg := &r.Regions[i]
		switch {
		case n <= 0:
			r.cache.release(rg.sf)
			continue
		case rg.length > n:
			rg.length = n
		}
		n -= rg.length
		r.Regions[kept] = *rg
		kept++
	}
	clear(r.Regions[kept:])
	r.Regions = r.Regions[:kept]
}

// Release unpins the files of the regions. It is safe to call more than once.
func (r *ReadResult) Release() {
	for _, rg := range r.Regions {
		r.cache.release(rg.sf)
	}
	r.Regions = nil
}

// Read returns whole batches from offset on, as file regions: at most maxBytes of them
// (but at least the first batch when minOneBatch is set, however large, as Kafka does for the
// first partition of a fetch), and none whose base offset is >= maxOffset (the high watermark
// or last stable offset, supplied by the caller). The first batch returned is the one holding
// offset, which may start before it.
//
// An offset below the log start offset or above the log end offset is ErrOffsetOutOfRange;
// the log end offset itself gives an empty result.
func (l *Log) Read(offset int64, maxBytes int32, maxOffset int64, minOneBatch bool) (ReadResult, error) {
	for attempt := 0; ; attempt++ {
		res, err := l.read(offset, int64(maxBytes), maxOffset, minOneBatch)
		if isDeleted(err) && attempt < 3 {
			// Retention or truncation removed a segment under us; look again.
			continue
		}
		if isDeleted(err) {
			err = ErrLogDeleted
		}
		return res, err
	}
}

func (l *Log) read(offset, budget, maxOffset int64, minOneBatch bool) (res ReadResult, err error) {
	res = ReadResult{FirstOffset: -1, NextOffset: offset, cache: l.m.files}
	if err := l.checkUsable(); err != nil {
		return res, err
	}
	segs := l.segs()
	res.LogEndOffset = l.logEndOffset.Load()
	res.LogStartOffset = l.logStartOffset.Load()
	if offset < res.LogStartOffset || offset > res.LogEndOffset {
		return res, fmt.Errorf("%w: offset %d, log %s holds [%d, %d)", ErrOffsetOutOfRange, offset, l.tp, res.LogStartOffset, res.LogEndOffset)
	}
	if offset == res.LogEndOffset || offset >= maxOffset || (budget <= 0 && !minOneBatch) {
		return res, nil
	}
	defer func() {
		if err != nil {
			res.Release()
			if !isDeleted(err) {
				err = l.goOffline(err)
			}
		}
	}()
	first := true
	for i := floorSegment(segs, offset); i < len(segs); i++ {
		done, err := l.readSegment(segs, i, offset, &budget, maxOffset, minOneBatch && first, &res)
		if err != nil {
			return res, err
		}
		if len(res.Regions) > 0 {
			first = false
		}
		if done {
			break
		}
	}
	return res, nil
}

// readSegment adds segs[i]'s part of the read to res and reports whether the read is complete.
func (l *Log) readSegment(segs []*segment, i int, offset int64, budget *int64, maxOffset int64, minOne bool, res *ReadResult) (bool, error) {
	s := segs[i]
	if err := s.ensureLoaded(limitOf(segs, i)); err != nil {
		return true, err
	}
	size := s.size.Load()
	if size == 0 {
		return false, nil
	}
	f, err := s.acquire(kindLog)
	if err != nil {
		return true, err
	}
	w := newHeaderWalker(f, size)
	defer w.close()
	var start int64
	if res.FirstOffset < 0 {
		pos, _, found, err := s.findBatch(&w, offset)
		if err != nil || !found {
			s.release(kindLog)
			return err != nil, err
		}
		start = pos
	}
	end, done := start, false
	for end < size {
		h, err := w.at(end)
		if err != nil {
			s.release(kindLog)
			return true, s.corrupt(end, err)
		}
		if h.BaseOffset >= maxOffset {
			done = true
			break
		}
		bsz := int64(h.Size())
		if bsz > *budget && !(minOne && end == start) {
			done = true
			break
		}
		if res.FirstOffset < 0 {
			res.FirstOffset = h.BaseOffset
		}
		res.NextOffset = h.NextOffset()
		*budget -= bsz
		end += bsz
	}
	if end == start {
		s.release(kindLog)
		return done, nil
	}
	res.Regions = append(res.Regions, Region{sf: &s.files[kindLog], f: f, position: start, length: end - start})
	return done || *budget <= 0, nil
}
