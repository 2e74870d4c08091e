package record

import "fmt"

// Batches walks concatenated batches (a produce request's records, a fetch response, a region of
// a segment file) without copying. It frames batches by their headers only; it does not check
// CRCs — call Validate on each batch for that.
//
//	it := record.NewBatches(buf)
//	for batch, h, ok := it.Next(); ok; batch, h, ok = it.Next() { ... }
//	if err := it.Err(); err != nil { /* it.Pos() is where the bad bytes start */ }
//
// When the bytes end inside a batch whose header (as far as present) is well-formed, Err wraps
// ErrTruncated: a torn tail, which storage recovery truncates at Pos. A header that cannot be
// right wraps ErrCorrupt (or ErrUnsupportedMagic).
type Batches struct {
	buf []byte
	pos int
	err error
}

// NewBatches returns an iterator over the batches in b. b is not copied; the batches Next
// returns are sub-slices of it.
func NewBatches(b []byte) Batches { return Batches{buf: b} }

// Next returns the next whole batch and its header, or ok=false at the end of the input or at
// the first batch that cannot be framed (then Err says why).
func (it *Batches) Next() (batch []byte, h Header, ok bool) {
	if it.err != nil || it.pos >= len(it.buf) {
		return nil, Header{}, false
	}
	rest := it.buf[it.pos:]
	h, err := ReadHeader(rest)
	if err != nil {
		it.err = fmt.Errorf("batch at byte %d: %w", it.pos, err)
		return nil, Header{}, false
	}
	size := h.Size()
	if len(rest) < size {
		it.err = fmt.Errorf("batch at byte %d: %w: %d of %d bytes present", it.pos, ErrTruncated, len(rest), size)
		return nil, Header{}, false
	}
	it.pos += size
	return rest[:size:size], h, true
}

// Err is the reason iteration stopped early, or nil if every byte was framed into batches.
func (it *Batches) Err() error { return it.err }

// Pos is the byte offset in the input where the next batch starts; after a failure, where the
// batch that could not be framed starts (so buf[:Pos()] holds only whole batches).
func (it *Batches) Pos() int { return it.pos }
