package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/vfs"
)

// segment is one run of a log's offsets: a .log and its indexes (docs/format/). Everything
// that is not needed to place the segment in its log is loaded lazily, so an idle partition
// costs a few hundred bytes and no open files.
//
// Concurrency: readers use only the atomics, the index files (through the fileCache) and
// meta; the appender (Log.appendMu held) writes, then publishes through the atomics. load
// runs once under loadMu.
type segment struct {
	log        *Log
	baseOffset int64
	files      [numKinds]segFile

	size            atomic.Int64  // bytes of whole batches in the .log, as readers may see them
	offsetEntries   atomic.Int64  // entries in the .index
	lastOffsetEntry atomic.Uint64 // packed last .index entry (valid when offsetEntries > 0)
	timeEntries     atomic.Int64  // entries in the .timeindex
	txnEntries      atomic.Int64  // entries in the .txnindex; -1 until known
	loaded          atomic.Bool   // indexes checked (or rebuilt) and meta set

	loadMu sync.Mutex

	tail indexTail // the active segment's index entries not yet in its files (indextail.go)

	meta struct {
		sync.Mutex
		maxTimestamp         int64 // largest batch MaxTimestamp, -1 if none
		offsetOfMaxTimestamp int64 // last offset of the batch carrying it
	}

	// Appender state: guarded by Log.appendMu; set up by prepareAppend.
	appendReady   bool
	builder       indexBuilder
	rollingBaseTs int64 // MaxTimestamp of the first batch, -1 if none (segment.ms)
	rollJitterMs  int64 // taken off segment.ms for this segment (segment.jitter.ms), drawn once
	createdMs     int64 // when this process created or first loaded the segment
}

func newSegment(l *Log, base int64, size int64) *segment {
	s := &segment{log: l, baseOffset: base}
	for k := range numKinds {
		s.files[k] = segFile{seg: s, kind: k}
	}
	s.size.Store(size)
	s.txnEntries.Store(-1)
	s.meta.maxTimestamp = -1
	s.meta.offsetOfMaxTimestamp = base
	s.rollingBaseTs = -1
	s.createdMs = l.m.now().UnixMilli()
	if cfg := l.cfg.Load(); cfg != nil {
		s.rollJitterMs = l.m.rollJitter(*cfg)
	}
	return s
}

// rollJitter draws a segment's jitter as Kafka does: uniform in [0, min(segment.jitter.ms,
// segment.ms)), 0 without jitter, so that partitions created together do not all roll (and
// hit the disk) at the same moment.
func (m *Manager) rollJitter(cfg LogConfig) int64 {
	limit := min(cfg.SegmentJitterMs, cfg.SegmentMs)
	if limit <= 0 {
		return 0
	}
	return m.randInt64N(limit)
}

func (s *segment) path(kind fileKind) string {
	return filepath.Join(s.log.dir, segmentFileName(s.baseOffset, kind))
}

func (s *segment) cache() *fileCache { return s.log.m.files }

// acquire opens (or reuses) one of the segment's files; release it when done.
func (s *segment) acquire(kind fileKind) (vfs.File, error) {
	f, err := s.cache().acquire(&s.files[kind])
	if err != nil {
		if errors.Is(err, errSegmentDeleted) {
			return nil, err
		}
		return nil, fmt.Errorf("open %s: %w", s.path(kind), err)
	}
	return f, nil
}

func (s *segment) release(kind fileKind) { s.cache().release(&s.files[kind]) }

// maxTimestamp returns the segment's largest timestamp and the offset that carries it.
func (s *segment) maxTimestamp() (int64, int64) {
	s.meta.Lock()
	defer s.meta.Unlock()
	return s.meta.maxTimestamp, s.meta.offsetOfMaxTimestamp
}

func (s *segment) setMaxTimestamp(ts, offset int64) {
	s.meta.Lock()
	s.meta.maxTimestamp, s.meta.offsetOfMaxTimestamp = ts, offset
	s.meta.Unlock()
}

// ensureLoaded checks the segment's indexes (rebuilding them if they are missing or
// inconsistent) and sets its meta, once. limitOffset is the next segment's base offset, or
// math.MaxInt64 for the active segment.
func (s *segment) ensureLoaded(limitOffset int64) error {
	if s.loaded.Load() {
		return nil
	}
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if s.loaded.Load() {
		return nil
	}
	if err := s.loadIndexesLocked(limitOffset); err != nil {
		return err
	}
	s.loaded.Store(true)
	return nil
}

func (s *segment) maxRel(limitOffset int64) int64 {
	if limitOffset == math.MaxInt64 {
		return math.MaxUint32
	}
	return min(limitOffset-1-s.baseOffset, math.MaxUint32)
}

func (s *segment) loadIndexesLocked(limitOffset int64) error {
	logSize := s.size.Load()
	maxRel := s.maxRel(limitOffset)
	var (
		offN, timeN int64
		lastOff     offsetEntry
		lastTime    timeEntry
	)
	problem := s.withFile(kindIndex, func(f vfs.File) error {
		size, err := f.Size()
		if err != nil {
			return err
		}
		offN, lastOff, err = checkOffsetIndex(f, size, logSize, maxRel)
		return err
	})
	if problem == nil {
		problem = s.withFile(kindTimeIndex, func(f vfs.File) error {
			size, err := f.Size()
			if err != nil {
				return err
			}
			timeN, lastTime, err = checkTimeIndex(f, size, maxRel)
			return err
		})
	}
	var ip *indexProblem
	if problem != nil && !errors.Is(problem, fs.ErrNotExist) && !errors.As(problem, &ip) {
		return problem
	}
	if problem != nil {
		return s.rebuildIndexesLocked(limitOffset, problem.Error())
	}
	s.dropIndexTail()
	s.offsetEntries.Store(offN)
	if offN > 0 {
		s.lastOffsetEntry.Store(lastOff.pack())
	}
	s.timeEntries.Store(timeN)
	if timeN > 0 {
		s.setMaxTimestamp(lastTime.timestamp, s.baseOffset+int64(lastTime.relOffset))
	}
	return nil
}

// withFile runs fn on one of the segment's files.
func (s *segment) withFile(kind fileKind, fn func(vfs.File) error) error {
	f, err := s.acquire(kind)
	if err != nil {
		return err
	}
	defer s.release(kind)
	return fn(f)
}

// rebuildIndexesLocked rebuilds the .index and .timeindex from the .log. The .log must be
// whole: bytes that fail validation are corruption here (recovery handles torn tails itself).
func (s *segment) rebuildIndexesLocked(limitOffset int64, reason string) error {
	l := s.log
	var res scanResult
	err := s.withFile(kindLog, func(f vfs.File) error {
		var err error
		res, err = scanSegment(f, s.size.Load(), s.baseOffset, limitOffset, l.config().IndexIntervalBytes)
		return err
	})
	if err != nil {
		return err
	}
	if res.stopErr != nil {
		return &CorruptError{File: s.path(kindLog), Position: res.validBytes, Offset: res.nextOffset, Err: res.stopErr}
	}
	if res.validBytes != s.size.Load() {
		return &CorruptError{File: s.path(kindLog), Position: res.validBytes, Offset: res.nextOffset,
			Err: fmt.Errorf("log ends at %d, expected %d", res.validBytes, s.size.Load())}
	}
	l.m.logger.Warn("rebuilding segment indexes", "partition", l.tp.String(), "segment", s.baseOffset, "reason", reason)
	l.m.metrics.IndexesRebuilt.Inc()
	return s.applyScanLocked(res)
}

// applyScanLocked replaces the segment's index files with the entries of a scan and sets the
// in-memory state from it.
func (s *segment) applyScanLocked(res scanResult) error {
	s.dropIndexTail()
	if err := s.replaceFile(kindIndex, res.index); err != nil {
		return err
	}
	if err := s.replaceFile(kindTimeIndex, res.timeIndex); err != nil {
		return err
	}
	s.offsetEntries.Store(int64(len(res.index) / offsetEntrySize))
	if len(res.index) > 0 {
		s.lastOffsetEntry.Store(getOffsetEntry(res.index[len(res.index)-offsetEntrySize:]).pack())
	}
	s.timeEntries.Store(int64(len(res.timeIndex) / timeEntrySize))
	s.setMaxTimestamp(res.builder.maxTimestamp, res.builder.offsetOfMaxTimestamp)
	s.builder = res.builder
	s.rollingBaseTs = res.firstBatchMaxTs
	s.appendReady = true
	s.loaded.Store(true)
	return nil
}

// replaceFile publishes data as one of the segment's files (tmp, fsync, rename, fsync dir).
// While Open recovers logs it skips both fsyncs: Manager.load makes every rebuilt index
// durable with one syncfs before it writes the recovery points, and a crash before that
// recovers (and rebuilds) the same segments again. 10,000 partitions recovered after a
// SIGKILL otherwise cost 40,000 fsyncs on num.recovery.threads.per.data.dir goroutines.
func (s *segment) replaceFile(kind fileKind, data []byte) error {
	m := s.log.m
	if m.recovering.Load() {
		if sameFileContent(m.fs, s.path(kind), data) {
			// The usual case after a crash: the index was already whole; reading it is far
			// cheaper than creating and renaming a new one for each of 10,000 partitions.
			return nil
		}
		if err := writeFileUnsynced(m.fs, s.path(kind), data); err != nil {
			return err
		}
		m.deferred.Store(true)
		s.cache().closeIdle(&s.files[kind])
		return nil
	}
	if err := publishFile(m.fs, s.path(kind), data); err != nil {
		return err
	}
	m.metrics.Fsyncs.Add(2)
	s.cache().closeIdle(&s.files[kind])
	return nil
}

// prepareAppend makes the active segment ready for appends (Log.appendMu held). A segment
// loaded after a clean stop learns its tail state here; its end must match the log end offset
// the checkpoint gave.
func (s *segment) prepareAppend() error {
	if s.appendReady {
		return nil
	}
	if err := s.ensureLoaded(math.MaxInt64); err != nil {
		return err
	}
	if s.appendReady { // a rebuild during load set it up
		return nil
	}
	next, err := s.resetTail()
	if err != nil {
		return err
	}
	if leo := s.log.logEndOffset.Load(); next != leo {
		return &CorruptError{File: s.path(kindLog), Position: s.size.Load(), Offset: next,
			Err: fmt.Errorf("active segment ends at offset %d, checkpoint says %d", next, leo)}
	}
	return nil
}

// resetTail sets up the appender state from the segment's files: the largest timestamp from
// the last time-index entry, the index builder replayed over the batches from the last
// offset-index entry on, and the first batch's timestamp. It returns the offset after the last
// batch.
func (s *segment) resetTail() (int64, error) {
	size := s.size.Load()
	b := newIndexBuilder(s.log.config().IndexIntervalBytes, s.baseOffset)
	if n := s.timeEntries.Load(); n > 0 {
		err := s.withFile(kindTimeIndex, func(f vfs.File) error {
			var e [timeEntrySize]byte
			if err := readFull(f, e[:], (n-1)*timeEntrySize); err != nil {
				return err
			}
			last := getTimeEntry(e[:])
			b.maxTimestamp, b.offsetOfMaxTimestamp = last.timestamp, s.baseOffset+int64(last.relOffset)
			b.lastTimeEntryTs = last.timestamp
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	var start int64
	if s.offsetEntries.Load() > 0 {
		start = int64(unpackOffsetEntry(s.lastOffsetEntry.Load()).position)
	}
	rollingBase, next := int64(-1), s.baseOffset
	err := s.withFile(kindLog, func(f vfs.File) error {
		w := newHeaderWalker(f, size)
		defer w.close()
		if size > 0 {
			h, err := w.at(0)
			if err != nil {
				return s.corrupt(0, err)
			}
			rollingBase = h.MaxTimestamp
		}
		for pos := start; pos < size; {
			h, err := w.at(pos)
			if err != nil {
				return s.corrupt(pos, err)
			}
			if h.MaxTimestamp > b.maxTimestamp {
				b.maxTimestamp, b.offsetOfMaxTimestamp = h.MaxTimestamp, h.LastOffset()
			}
			b.bytesSinceLastEntry += int64(h.Size())
			next = h.NextOffset()
			pos += int64(h.Size())
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.setMaxTimestamp(b.maxTimestamp, b.offsetOfMaxTimestamp)
	s.builder = b
	s.rollingBaseTs = rollingBase
	s.appendReady = true
	return next, nil
}

// corrupt wraps a data error found in the .log at pos; I/O errors pass through.
func (s *segment) corrupt(pos int64, err error) error {
	if !isDataError(err) {
		return err
	}
	return &CorruptError{File: s.path(kindLog), Position: pos, Offset: -1, Err: err}
}

// lookupPosition returns a position at or before the batch holding offset, from the index.
func (s *segment) lookupPosition(offset int64) (int64, error) {
	n := s.offsetEntries.Load()
	if n == 0 || offset < s.baseOffset {
		return 0, nil
	}
	rel := offset - s.baseOffset
	last := unpackOffsetEntry(s.lastOffsetEntry.Load())
	if rel >= int64(last.relOffset) {
		return int64(last.position), nil
	}
	e, n, hit := s.tailLookup(kindIndex, rel)
	if hit {
		return int64(getOffsetEntry(e[:]).position), nil
	}
	if n == 0 {
		return 0, nil
	}
	var pos int64
	err := s.withFile(kindIndex, func(f vfs.File) error {
		i, err := searchIndex(f, n, offsetEntrySize, offsetKey, rel)
		if err != nil || i < 0 {
			return err
		}
		var b [offsetEntrySize]byte
		if err := readFull(f, b[:], i*offsetEntrySize); err != nil {
			return err
		}
		pos = int64(getOffsetEntry(b[:]).position)
		return nil
	})
	return pos, err
}

// findBatch returns the position and header of the first batch in the segment whose last
// offset is >= offset, scanning forward from the index position; found is false when no batch
// below the committed size qualifies.
func (s *segment) findBatch(w *headerWalker, offset int64) (pos int64, h record.Header, found bool, err error) {
	pos, err = s.lookupPosition(offset)
	if err != nil {
		return 0, h, false, err
	}
	for pos < w.limit {
		h, err = w.at(pos)
		if err != nil {
			return pos, h, false, s.corrupt(pos, err)
		}
		if h.LastOffset() >= offset {
			return pos, h, true, nil
		}
		pos += int64(h.Size())
	}
	return pos, h, false, nil
}

// sync fsyncs the segment's files: the .log always, indexes unless logOnly.
func (s *segment) sync(logOnly bool) error {
	all := [...]fileKind{kindLog, kindIndex, kindTimeIndex, kindTxnIndex}
	kinds := all[:]
	if logOnly {
		kinds = all[:1]
	} else if err := s.writeIndexTail(); err != nil {
		return err
	}
	for _, k := range kinds {
		if k == kindTxnIndex && s.txnEntries.Load() <= 0 {
			continue
		}
		err := s.withFile(k, func(f vfs.File) error {
			start := time.Now()
			var err error
			if logOnly {
				// A group-commit round: the .log is only appended to, so fdatasync (contents
				// and size, not the mtime) is all the durability it needs.
				err = vfs.DataSync(f)
			} else {
				err = f.Sync()
			}
			s.log.m.metrics.Fsyncs.Inc()
			s.log.m.metrics.FsyncSeconds.Observe(time.Since(start).Seconds())
			return err
		})
		if err != nil {
			return fmt.Errorf("sync %s: %w", s.path(k), err)
		}
	}
	return nil
}

// create makes the segment's empty .log, .index and .timeindex (truncating leftovers of the
// same name) and hands the handles to the file cache.
func (s *segment) create() error {
	files, err := s.createFiles()
	if err != nil {
		return err
	}
	s.adoptFiles(files)
	return nil
}

// createFiles creates the segment's .log, .index and .timeindex files: only system calls, so
// partition creation runs it on a metaWork worker's low-priority thread, which then holds no
// lock that produce or fetch could wait for.
func (s *segment) createFiles() ([3]vfs.File, error) {
	var files [3]vfs.File
	fsys := s.log.m.fs
	for i, k := range []fileKind{kindLog, kindIndex, kindTimeIndex} {
		f, err := fsys.Create(s.path(k))
		if err != nil {
			for _, f := range files[:i] {
				_ = f.Close()
			}
			return files, fmt.Errorf("create segment %d: %w", s.baseOffset, err)
		}
		files[i] = f
	}
	return files, nil
}

// adoptFiles hands createFiles' handles to the file cache and makes the segment appendable.
func (s *segment) adoptFiles(files [3]vfs.File) {
	for i, k := range []fileKind{kindLog, kindIndex, kindTimeIndex} {
		s.cache().adopt(&s.files[k], files[i])
	}
	s.txnEntries.Store(0)
	s.createdMs = s.log.m.now().UnixMilli()
	s.appendReady = true
	s.builder = newIndexBuilder(s.log.config().IndexIntervalBytes, s.baseOffset)
	s.loaded.Store(true)
}

// remove deletes the segment's files: .log first, so an interrupted removal leaves orphan
// indexes (cleaned up at load), never a .log without them mattering.
func (s *segment) remove() error {
	fsys := s.log.m.fs
	var firstErr error
	for k := range numKinds {
		s.cache().doom(&s.files[k])
		if err := fsys.Remove(s.path(k)); err != nil && !errors.Is(err, fs.ErrNotExist) && firstErr == nil {
			firstErr = fmt.Errorf("delete segment %d: %w", s.baseOffset, err)
		}
	}
	return firstErr
}
