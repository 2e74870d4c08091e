package storage

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/vfs"
)

// Crash protocol of a swap (docs/design.md, storage): a group of segments [B, ...) is
// replaced by one cleaned segment with base B.
//
//  1. The cleaned segment is written as B.{log,index,timeindex,txnindex}.cleaned and fsynced.
//  2. Each .cleaned file is renamed to .swap, the .log last; the directory is fsynced. From
//     here on the swap is committed: B.log.swap exists until the last step.
//  3. The new segment replaces the group in the in-memory list (readers holding the old
//     segments' files keep reading them); the old segments other than B are deleted, in
//     increasing base order; the directory is fsynced.
//  4. Each .swap is renamed over its live name, the .log last; the directory is fsynced.
//
// Load (completeSwaps): a B.log.swap means a committed swap: the segments with bases in
// (B, last offset of B.log.swap] are deleted and every B.*.swap renamed over its live name,
// .log last. Other .swap files and all .cleaned files are removed (uncommitted). Old segments
// of the group above the cleaned segment's last offset may survive a crash in step 3; they
// hold only records the clean dropped, which were superseded by later records (or are
// tombstones past their horizon together with everything they deleted), and deletion in
// increasing order leaves only a suffix of them, so no deleted key comes back.

const (
	cleanedSuffix = ".cleaned"
	swapSuffix    = ".swap"
)

// cleanedFiles is a cleaned segment being written.
type cleanedFiles struct {
	l       *Log
	base    int64
	files   [numKinds]vfs.File
	size    int64
	index   []byte
	times   []byte
	builder indexBuilder
	firstTs int64
	buf     []byte // batches not yet written to the .log
}

func (cf *cleanedFiles) path(kind fileKind, suffix string) string {
	return filepath.Join(cf.l.dir, segmentFileName(cf.base, kind)+suffix)
}

func (cf *cleanedFiles) closeAll() {
	for k, f := range cf.files {
		if f != nil {
			_ = f.Close()
			cf.files[k] = nil
		}
	}
}

// abandon closes and deletes the .cleaned files.
func (cf *cleanedFiles) abandon() {
	cf.closeAll()
	for k := range numKinds {
		cf.l.m.removeLeftover(cf.path(k, cleanedSuffix))
	}
}

// cleanSegments rewrites one group of segments into a cleaned segment and swaps it in. It
// returns the bytes written.
func (c *cleaner) cleanSegments(l *Log, group []*segment, f *batchFilter) (int64, error) {
	m := c.m
	segs := l.segs()
	upper := limitOfSeg(segs, group[len(group)-1])
	aborted, err := l.AbortedTxns(group[0].baseOffset, upper)
	if err != nil {
		return 0, err
	}
	f.txns = newCleanTxns(aborted)
	cf := &cleanedFiles{l: l, base: group[0].baseOffset, firstTs: -1,
		builder: newIndexBuilder(l.config().IndexIntervalBytes, group[0].baseOffset)}
	for k := range numKinds {
		if cf.files[k], err = m.fs.Create(cf.path(k, cleanedSuffix)); err != nil {
			cf.abandon()
			return 0, c.ioFailure(l, fmt.Errorf("create %s: %w", cf.path(k, cleanedSuffix), err))
		}
	}
	sizes := make([]int64, len(group))
	for i, s := range group {
		sizes[i] = s.size.Load()
		err := c.eachBatch(s, func(batch []byte, h record.Header) (bool, error) {
			start := len(cf.buf)
			var err error
			if cf.buf, err = f.filter(cf.buf, batch, h); err != nil {
				return false, err
			}
			cf.noteBatches(cf.buf[start:])
			if len(cf.buf) >= c.ioBufferSize() { // the write half of log.cleaner.io.buffer.size
				return true, cf.flush(c)
			}
			return true, nil
		})
		if err != nil {
			cf.abandon()
			return 0, c.ioFailure(l, err)
		}
	}
	if err := cf.finish(c, f.txns.kept); err != nil {
		cf.abandon()
		return 0, c.ioFailure(l, err)
	}
	if err := c.swap(l, group, sizes, cf, f.txns.kept); err != nil {
		cf.abandon()
		return 0, err
	}
	return cf.size, nil
}

// ioFailure turns an error met while cleaning into what the caller reports: the log's own
// state if it was deleted or went offline meanwhile, ErrCleanAborted when stopped.
func (c *cleaner) ioFailure(l *Log, err error) error {
	if errors.Is(err, ErrCleanAborted) {
		return err
	}
	if l.checkUsable() != nil || c.m.isClosed() {
		return fmt.Errorf("%w: %w", ErrCleanAborted, err)
	}
	return err
}

// noteBatches adds the index entries of batches appended at the end of cf.buf.
func (cf *cleanedFiles) noteBatches(batches []byte) {
	pos := cf.size + int64(len(cf.buf)-len(batches))
	var e [timeEntrySize]byte
	it := record.NewBatches(batches)
	for _, h, ok := it.Next(); ok; _, h, ok = it.Next() {
		off, addOff, ts, addTs := cf.builder.add(cf.base, h.LastOffset(), h.MaxTimestamp, pos, int64(h.Size()))
		if addOff {
			putOffsetEntry(e[:], off)
			cf.index = append(cf.index, e[:offsetEntrySize]...)
		}
		if addTs {
			putTimeEntry(e[:], ts)
			cf.times = append(cf.times, e[:]...)
		}
		if cf.firstTs < 0 && pos == 0 {
			cf.firstTs = h.MaxTimestamp
		}
		pos += int64(h.Size())
	}
}

func (cf *cleanedFiles) flush(c *cleaner) error {
	if len(cf.buf) == 0 {
		return nil
	}
	c.throttle.account(len(cf.buf), c.stop)
	if _, err := cf.files[kindLog].Write(cf.buf); err != nil {
		return fmt.Errorf("write %s: %w", cf.path(kindLog, cleanedSuffix), err)
	}
	cf.size += int64(len(cf.buf))
	cf.buf = cf.buf[:0]
	return nil
}

// finish writes the indexes and fsyncs every file.
func (cf *cleanedFiles) finish(c *cleaner, kept []AbortedTxn) error {
	if err := cf.flush(c); err != nil {
		return err
	}
	if ts, ok := cf.builder.timeEntryDue(cf.base); ok {
		var e [timeEntrySize]byte
		putTimeEntry(e[:], ts)
		cf.times = append(cf.times, e[:]...)
	}
	txn := make([]byte, len(kept)*txnEntrySize)
	for i, t := range kept {
		putAbortedTxn(txn[i*txnEntrySize:], t)
	}
	for k, data := range map[fileKind][]byte{kindIndex: cf.index, kindTimeIndex: cf.times, kindTxnIndex: txn} {
		if _, err := cf.files[k].Write(data); err != nil {
			return fmt.Errorf("write %s: %w", cf.path(k, cleanedSuffix), err)
		}
	}
	for k, f := range cf.files {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", cf.path(fileKind(k), cleanedSuffix), err)
		}
	}
	cf.l.m.metrics.Fsyncs.Add(float64(numKinds))
	return nil
}

// swap replaces group with the cleaned segment (the protocol above). Before the commit a
// failure leaves the log as it was; after it, a failure takes the log offline (Open
// completes the swap).
func (c *cleaner) swap(l *Log, group []*segment, sizes []int64, cf *cleanedFiles, kept []AbortedTxn) error {
	m := c.m
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if err := l.checkUsable(); err != nil {
		return fmt.Errorf("%w: %w", ErrCleanAborted, err)
	}
	if m.isClosed() || c.stopped() {
		return ErrCleanAborted
	}
	segs := l.segs()
	at := locateGroup(segs, group, sizes)
	if at < 0 {
		return ErrCleanAborted
	}
	// 2: commit.
	for _, k := range []fileKind{kindIndex, kindTimeIndex, kindTxnIndex, kindLog} {
		if err := m.fs.Rename(cf.path(k, cleanedSuffix), cf.path(k, swapSuffix)); err != nil {
			return fmt.Errorf("rename %s: %w", cf.path(k, cleanedSuffix), err)
		}
	}
	if err := m.fs.SyncDir(l.dir); err != nil {
		return l.goOffline(fmt.Errorf("clean: sync dir %s: %w", l.dir, err))
	}
	// 3: publish the new segment, pinning its open files until they carry their live names
	// (a reader must never open B's live name while it still holds the old segment).
	ns := cf.newSegment(len(cf.index) > 0, int64(len(kept)))
	unpin, err := c.pinCleaned(ns, cf)
	defer unpin()
	if err != nil {
		return l.goOffline(err)
	}
	next := make([]*segment, 0, len(segs)-len(group)+1)
	next = append(append(append(next, segs[:at]...), ns), segs[at+len(group):]...)
	l.segments.Store(&next)
	for _, s := range group {
		for k := range numKinds {
			m.files.doom(&s.files[k])
		}
	}
	// group[0]'s files are replaced below by the cleaned segment's; the others wait out
	// file.delete.delay.ms as *.deleted (load ignores and removes those, so a crash from here
	// on finds them gone from the log either way).
	delayMs := l.config().FileDeleteDelayMs
	for _, s := range group[1:] {
		if err := s.scheduleRemove(delayMs); err != nil {
			return l.goOffline(fmt.Errorf("clean: %w", err))
		}
	}
	if err := m.fs.SyncDir(l.dir); err != nil {
		return l.goOffline(fmt.Errorf("clean: sync dir %s: %w", l.dir, err))
	}
	// 4: live names.
	for _, k := range []fileKind{kindIndex, kindTimeIndex, kindTxnIndex, kindLog} {
		if err := m.fs.Rename(cf.path(k, swapSuffix), cf.path(k, "")); err != nil {
			return l.goOffline(fmt.Errorf("clean: rename %s: %w", cf.path(k, swapSuffix), err))
		}
	}
	if err := m.fs.SyncDir(l.dir); err != nil {
		return l.goOffline(fmt.Errorf("clean: sync dir %s: %w", l.dir, err))
	}
	m.metrics.Fsyncs.Add(3)
	return nil
}

// locateGroup returns the index of group in segs, or -1 if the group is no longer there as it
// was read (retention, truncation or another swap changed the log) or reaches the active
// segment.
func locateGroup(segs, group []*segment, sizes []int64) int {
	at := -1
	for i, s := range segs {
		if s == group[0] {
			at = i
			break
		}
	}
	if at < 0 || at+len(group) >= len(segs) {
		return -1
	}
	for i, s := range group {
		if segs[at+i] != s || s.size.Load() != sizes[i] {
			return -1
		}
	}
	return at
}

// pinCleaned hands the cleaned files' open handles to the file cache as the new segment's and
// pins them until unpin, so that no reader opens B's live name while it is still the old file.
func (c *cleaner) pinCleaned(ns *segment, cf *cleanedFiles) (unpin func(), err error) {
	var pinned []fileKind
	unpin = func() {
		for _, k := range pinned {
			ns.release(k)
		}
	}
	for k := range numKinds {
		mine := cf.files[k]
		c.m.files.adopt(&ns.files[k], mine)
		cf.files[k] = nil
		got, err := ns.acquire(k)
		if err != nil {
			return unpin, fmt.Errorf("clean: %w", err)
		}
		pinned = append(pinned, k)
		if got != mine {
			// The cache closed the handle before it was pinned and reopened the live name,
			// which is still the old file: stop here, Open completes the swap.
			return unpin, fmt.Errorf("clean: %s was evicted from the file cache during a swap", ns.path(k))
		}
	}
	return unpin, nil
}

// newSegment is the in-memory segment for the cleaned files, loaded from what was written.
func (cf *cleanedFiles) newSegment(hasIndex bool, txnEntries int64) *segment {
	s := newSegment(cf.l, cf.base, cf.size)
	s.offsetEntries.Store(int64(len(cf.index) / offsetEntrySize))
	if hasIndex {
		s.lastOffsetEntry.Store(getOffsetEntry(cf.index[len(cf.index)-offsetEntrySize:]).pack())
	}
	s.timeEntries.Store(int64(len(cf.times) / timeEntrySize))
	s.setMaxTimestamp(cf.builder.maxTimestamp, cf.builder.offsetOfMaxTimestamp)
	s.txnEntries.Store(txnEntries)
	s.rollingBaseTs = cf.firstTs
	s.loaded.Store(true)
	return s
}

// completeSwaps finishes the swaps committed before a crash and removes uncommitted cleaner
// files (see the protocol above). names is the partition directory's listing.
func (l *Log) completeSwaps(names []string) error {
	m := l.m
	for _, name := range names {
		if !strings.HasSuffix(name, ".log"+swapSuffix) {
			continue
		}
		base, kind, ok := parseSegmentFileName(strings.TrimSuffix(name, swapSuffix))
		if !ok || kind != kindLog {
			continue
		}
		last, err := lastOffsetOf(m.fs, filepath.Join(l.dir, name), base)
		if err != nil {
			return fmt.Errorf("complete swap %s: %w", name, err)
		}
		for _, other := range names {
			b, _, ok := parseSegmentFileName(other)
			if ok && b > base && b <= last {
				if err := m.fs.Remove(filepath.Join(l.dir, other)); err != nil && !isNotExist(err) {
					return fmt.Errorf("complete swap %s: %w", name, err)
				}
			}
		}
		if err := m.fs.SyncDir(l.dir); err != nil {
			return err
		}
		for _, k := range []fileKind{kindIndex, kindTimeIndex, kindTxnIndex, kindLog} {
			from := filepath.Join(l.dir, segmentFileName(base, k)+swapSuffix)
			if err := m.fs.Rename(from, filepath.Join(l.dir, segmentFileName(base, k))); err != nil && !isNotExist(err) {
				return fmt.Errorf("complete swap %s: %w", name, err)
			}
		}
		if err := m.fs.SyncDir(l.dir); err != nil {
			return err
		}
		m.logger.Info("completed an interrupted log clean", "partition", l.tp.String(), "segment", base, "lastOffset", last)
	}
	return nil
}

// lastOffsetOf returns the last offset of the whole batches at the start of a .log file
// (base-1 if it has none).
func lastOffsetOf(fsys vfs.FS, path string, base int64) (int64, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return 0, err
	}
	r := newBatchReader(f, size)
	defer r.close()
	last := base - 1
	for {
		_, h, err := r.next()
		if errors.Is(err, io.EOF) || (err != nil && isDataError(err)) {
			return last, nil
		}
		if err != nil {
			return 0, err
		}
		last = h.LastOffset()
	}
}
