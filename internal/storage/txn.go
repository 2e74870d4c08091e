package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/sluicehq/sluice/internal/vfs"
)

// AbortedTxn is one entry of a segment's .txnindex (docs/format/txn-index.md).
type AbortedTxn struct {
	ProducerID       int64
	FirstOffset      int64 // offset of the transaction's first batch
	LastOffset       int64 // offset of its abort marker
	LastStableOffset int64 // the partition's last stable offset when the abort completed
}

func putAbortedTxn(b []byte, t AbortedTxn) {
	binary.BigEndian.PutUint16(b, 0)
	binary.BigEndian.PutUint64(b[2:], uint64(t.ProducerID))
	binary.BigEndian.PutUint64(b[10:], uint64(t.FirstOffset))
	binary.BigEndian.PutUint64(b[18:], uint64(t.LastOffset))
	binary.BigEndian.PutUint64(b[26:], uint64(t.LastStableOffset))
}

// parseAbortedTxn decodes one entry and checks what it can.
func parseAbortedTxn(b []byte) (AbortedTxn, error) {
	if v := binary.BigEndian.Uint16(b); v != 0 {
		return AbortedTxn{}, fmt.Errorf("unknown txn index entry version %d", v)
	}
	t := AbortedTxn{
		ProducerID:       int64(binary.BigEndian.Uint64(b[2:])),
		FirstOffset:      int64(binary.BigEndian.Uint64(b[10:])),
		LastOffset:       int64(binary.BigEndian.Uint64(b[18:])),
		LastStableOffset: int64(binary.BigEndian.Uint64(b[26:])),
	}
	if t.FirstOffset < 0 || t.LastOffset < t.FirstOffset {
		return AbortedTxn{}, fmt.Errorf("aborted txn offsets %d..%d", t.FirstOffset, t.LastOffset)
	}
	return t, nil
}

// AppendAbortedTxn records an aborted transaction in the active segment's .txnindex. The
// caller (the partition, which knows where each transaction began) calls it after appending
// the abort marker at t.LastOffset.
func (l *Log) AppendAbortedTxn(t AbortedTxn) error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if err := l.checkUsable(); err != nil {
		return err
	}
	segs := l.segs()
	seg := segs[len(segs)-1]
	if t.FirstOffset < 0 || t.LastOffset < t.FirstOffset || t.LastOffset < seg.baseOffset || t.LastOffset >= l.logEndOffset.Load() {
		return fmt.Errorf("storage: aborted txn %+v: marker offset not in the active segment [%d, %d)", t, seg.baseOffset, l.logEndOffset.Load())
	}
	n, err := seg.txnCount()
	if err != nil {
		return l.goOffline(err)
	}
	if n == 0 {
		f, err := l.m.fs.Create(seg.path(kindTxnIndex))
		if err != nil {
			return l.goOffline(fmt.Errorf("create %s: %w", seg.path(kindTxnIndex), err))
		}
		seg.cache().adopt(&seg.files[kindTxnIndex], f)
		l.dirDirty.Store(true)
	}
	var b [txnEntrySize]byte
	putAbortedTxn(b[:], t)
	if err := seg.withFile(kindTxnIndex, func(f vfs.File) error { _, err := f.Write(b[:]); return err }); err != nil {
		return l.goOffline(fmt.Errorf("append to %s: %w", seg.path(kindTxnIndex), err))
	}
	seg.txnEntries.Store(n + 1)
	return nil
}

// txnCount returns the number of whole entries in the segment's .txnindex (0 if there is
// none), learning it from the file on first use.
func (s *segment) txnCount() (int64, error) {
	if n := s.txnEntries.Load(); n >= 0 {
		return n, nil
	}
	info, err := s.log.m.fs.Stat(s.path(kindTxnIndex))
	if isNotExist(err) {
		s.txnEntries.Store(0)
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", s.path(kindTxnIndex), err)
	}
	n := info.Size / txnEntrySize
	s.txnEntries.Store(n)
	return n, nil
}

// AbortedTxns returns the aborted transactions that overlap [startOffset, upperBoundOffset),
// for a read_committed fetch of that range: entries with LastOffset >= startOffset and
// FirstOffset < upperBoundOffset, in the order they completed.
func (l *Log) AbortedTxns(startOffset, upperBoundOffset int64) ([]AbortedTxn, error) {
	if err := l.checkUsable(); err != nil {
		return nil, err
	}
	var out []AbortedTxn
	segs := l.segs()
	for i := floorSegment(segs, startOffset); i < len(segs); i++ {
		complete, err := segs[i].collectAbortedTxns(startOffset, upperBoundOffset, &out)
		if err != nil {
			return nil, l.failRead(err)
		}
		if complete {
			break
		}
	}
	return out, nil
}

// collectAbortedTxns appends the segment's overlapping entries to out. It reports complete
// once an entry's last stable offset reaches upper: transactions completed later cannot have
// started below upper.
func (s *segment) collectAbortedTxns(start, upper int64, out *[]AbortedTxn) (bool, error) {
	n, err := s.txnCount()
	if err != nil || n == 0 {
		return false, err
	}
	complete := false
	err = s.withFile(kindTxnIndex, func(f vfs.File) error {
		return scanTxnIndex(f, n, func(pos int64, t AbortedTxn) bool {
			if t.LastOffset >= start && t.FirstOffset < upper {
				*out = append(*out, t)
			}
			if t.LastStableOffset >= upper {
				complete = true
				return false
			}
			return true
		})
	})
	if err != nil {
		return false, s.txnCorrupt(err)
	}
	return complete, nil
}

func (s *segment) txnCorrupt(err error) error {
	if ce, ok := err.(*txnEntryError); ok {
		return &CorruptError{File: s.path(kindTxnIndex), Position: ce.pos, Offset: -1, Err: ce.err}
	}
	return err
}

type txnEntryError struct {
	pos int64
	err error
}

func (e *txnEntryError) Error() string { return fmt.Sprintf("txn index entry at %d: %v", e.pos, e.err) }

// scanTxnIndex calls fn for the first n entries until fn returns false.
func scanTxnIndex(f vfs.File, n int64, fn func(pos int64, t AbortedTxn) bool) error {
	const perChunk = indexChunkSize / txnEntrySize
	bufp := indexBufPool.Get().(*[indexChunkSize]byte)
	defer indexBufPool.Put(bufp)
	for first := int64(0); first < n; first += perChunk {
		cnt := min(perChunk, n-first)
		chunk := bufp[:cnt*txnEntrySize]
		if err := readFull(f, chunk, first*txnEntrySize); err != nil {
			return err
		}
		for i := int64(0); i < cnt; i++ {
			pos := (first + i) * txnEntrySize
			t, err := parseAbortedTxn(chunk[i*txnEntrySize:])
			if err != nil {
				return &txnEntryError{pos: pos, err: err}
			}
			if !fn(pos, t) {
				return nil
			}
		}
	}
	return nil
}

// truncateTxnIndex drops entries with LastOffset >= offset.
func (s *segment) truncateTxnIndex(offset int64) error {
	n, err := s.txnCount()
	if err != nil || n == 0 {
		return err
	}
	keep := int64(0)
	err = s.withFile(kindTxnIndex, func(f vfs.File) error {
		if err := scanTxnIndex(f, n, func(_ int64, t AbortedTxn) bool {
			if t.LastOffset >= offset {
				return false
			}
			keep++
			return true
		}); err != nil {
			return err
		}
		if keep == n {
			return nil
		}
		return f.Truncate(keep * txnEntrySize)
	})
	if err != nil {
		return s.txnCorrupt(err)
	}
	s.txnEntries.Store(keep)
	return nil
}
