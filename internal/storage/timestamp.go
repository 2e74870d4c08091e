package storage

import (
	"fmt"
	"sync"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/vfs"
)

// TimestampOffset is a record's timestamp and offset, as ListOffsets answers them.
type TimestampOffset struct {
	Timestamp int64
	Offset    int64
}

// maxDecompressedBatch bounds how far a stored batch is expanded to look at its records'
// timestamps. Stored batches were accepted by the broker, so this only guards against damage.
const maxDecompressedBatch = 256 << 20

// OffsetForTimestamp answers ListOffsets for a timestamp: the first record, at or after the log
// start offset, whose timestamp is >= ts. found is false when no record is that new.
func (l *Log) OffsetForTimestamp(ts int64) (TimestampOffset, bool, error) {
	if err := l.checkUsable(); err != nil {
		return TimestampOffset{}, false, err
	}
	segs := l.segs()
	start := l.logStartOffset.Load()
	for i, s := range segs {
		if limitOf(segs, i) <= start {
			continue
		}
		if err := s.ensureLoaded(limitOf(segs, i)); err != nil {
			return TimestampOffset{}, false, l.failRead(err)
		}
		if maxTs, _ := s.maxTimestamp(); maxTs < ts {
			continue
		}
		to, found, err := s.findTimestamp(ts, start)
		if err != nil {
			return TimestampOffset{}, false, l.failRead(err)
		}
		if found {
			return to, true, nil
		}
	}
	return TimestampOffset{}, false, nil
}

// MaxTimestamp answers ListOffsets -3 (MAX_TIMESTAMP): the record with the largest timestamp
// in the log, the earliest if several share it. found is false for a log without timestamps.
func (l *Log) MaxTimestamp() (TimestampOffset, bool, error) {
	if err := l.checkUsable(); err != nil {
		return TimestampOffset{}, false, err
	}
	segs := l.segs()
	best, bestOffset, bestSeg := int64(-1), int64(-1), -1
	for i, s := range segs {
		if err := s.ensureLoaded(limitOf(segs, i)); err != nil {
			return TimestampOffset{}, false, l.failRead(err)
		}
		if ts, off := s.maxTimestamp(); ts > best {
			best, bestOffset, bestSeg = ts, off, i
		}
	}
	if bestSeg < 0 {
		return TimestampOffset{}, false, nil
	}
	to, found, err := segs[bestSeg].findTimestampInBatch(bestOffset, best)
	if err != nil {
		return TimestampOffset{}, false, l.failRead(err)
	}
	return to, found, nil
}

// failRead turns a read-side failure into the caller's error, taking the log offline for
// corruption and I/O errors.
func (l *Log) failRead(err error) error {
	if isDeleted(err) {
		return ErrLogDeleted
	}
	return l.goOffline(err)
}

// findTimestamp scans the segment from the time index's hint for the first record with
// timestamp >= ts and offset >= minOffset.
func (s *segment) findTimestamp(ts, minOffset int64) (TimestampOffset, bool, error) {
	hint := s.baseOffset
	e, n, hit := s.tailLookup(kindTimeIndex, ts)
	if hit {
		hint = s.baseOffset + int64(getTimeEntry(e[:]).relOffset)
	} else if n > 0 {
		err := s.withFile(kindTimeIndex, func(f vfs.File) error {
			i, err := searchIndex(f, n, timeEntrySize, timeKey, ts)
			if err != nil || i < 0 {
				return err
			}
			var b [timeEntrySize]byte
			if err := readFull(f, b[:], i*timeEntrySize); err != nil {
				return err
			}
			hint = s.baseOffset + int64(getTimeEntry(b[:]).relOffset)
			return nil
		})
		if err != nil {
			return TimestampOffset{}, false, err
		}
	}
	return s.scanForTimestamp(max(hint, minOffset), func(h record.Header) bool { return h.MaxTimestamp >= ts },
		func(rec *record.Record) bool { return rec.Timestamp >= ts && rec.Offset >= minOffset })
}

// findTimestampInBatch returns the first record carrying timestamp ts in the batch that
// holds offset.
func (s *segment) findTimestampInBatch(offset, ts int64) (TimestampOffset, bool, error) {
	return s.scanForTimestamp(offset, func(h record.Header) bool { return h.MaxTimestamp == ts },
		func(rec *record.Record) bool { return rec.Timestamp == ts })
}

var batchBufPool = sync.Pool{New: func() any { return new([]byte) }}

// scanForTimestamp walks batches from the one holding offset; in each batch that
// batchMatches, it returns the first record that recordMatches.
func (s *segment) scanForTimestamp(offset int64, batchMatches func(record.Header) bool, recordMatches func(*record.Record) bool) (TimestampOffset, bool, error) {
	size := s.size.Load()
	var out TimestampOffset
	var found bool
	err := s.withFile(kindLog, func(f vfs.File) error {
		w := newHeaderWalker(f, size)
		defer w.close()
		pos, _, ok, err := s.findBatch(&w, offset)
		if err != nil || !ok {
			return err
		}
		bufp := batchBufPool.Get().(*[]byte)
		defer batchBufPool.Put(bufp)
		var scratch []byte
		for pos < size {
			h, err := w.at(pos)
			if err != nil {
				return s.corrupt(pos, err)
			}
			if batchMatches(h) {
				if cap(*bufp) < h.Size() {
					*bufp = make([]byte, h.Size())
				}
				batch := (*bufp)[:h.Size()]
				if err := readFull(f, batch, pos); err != nil {
					return err
				}
				recs, buf, err := record.Iterate(batch, scratch, maxDecompressedBatch)
				scratch = buf
				if err != nil {
					return s.corrupt(pos, err)
				}
				var rec record.Record
				for recs.Next(&rec) {
					if recordMatches(&rec) {
						out, found = TimestampOffset{Timestamp: rec.Timestamp, Offset: rec.Offset}, true
						return nil
					}
				}
				if err := recs.Err(); err != nil {
					return s.corrupt(pos, err)
				}
			}
			pos += int64(h.Size())
		}
		return nil
	})
	if err != nil {
		return TimestampOffset{}, false, fmt.Errorf("search timestamps in %s: %w", s.path(kindLog), err)
	}
	return out, found, nil
}

// EpochForOffset returns the leader epoch under which offset was written, or UndefinedEpoch.
func (c *LeaderEpochCache) EpochForOffset(offset int64) int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	epoch := UndefinedEpoch
	for _, e := range c.mu.entries {
		if e.StartOffset > offset {
			break
		}
		epoch = e.Epoch
	}
	return epoch
}
