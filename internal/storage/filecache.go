package storage

import (
	"log/slog"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/sluicehq/sluice/internal/vfs"
)

// segFile is one file of a segment as the fileCache sees it. Its handle is opened on first
// use and closed when it has been idle longest and the open-file budget is exceeded.
type segFile struct {
	seg  *segment
	kind fileKind

	// Guarded by fileCache.mu.
	f          vfs.File      // nil while closed
	opening    chan struct{} // non-nil while one acquire opens the file; closed when done
	refs       int32         // users holding f (appends, reads, Regions, syncs)
	prev, next *segFile      // idle list (refs == 0 && f != nil), most recent at the head
	idle       bool
	hot        bool // on the hot idle list (the active segment's .log)
	doomed     bool // the file was deleted or replaced: never reopen, close at refs == 0
}

func (sf *segFile) path() string {
	return filepath.Join(sf.seg.log.dir, segmentFileName(sf.seg.baseOffset, sf.kind))
}

// isActiveLog reports whether sf is the .log of its log's active segment: the file every
// append writes, which Kafka keeps open for as long as the segment is active.
func (sf *segFile) isActiveLog() bool {
	if sf.kind != kindLog {
		return false
	}
	segs := sf.seg.log.segments.Load()
	return segs != nil && len(*segs) > 0 && (*segs)[len(*segs)-1] == sf.seg
}

// fileCache bounds the number of open segment files across all logs of a Manager. Files in
// use are never closed; idle ones are closed least recently used first, the .log files of
// active segments only once no other idle file is left (so with a budget above the number of
// active partitions, appends never reopen their .log; indexes and old segments take turns).
//
// Concurrency: mu guards the count, the idle lists and every segFile's fields, and is never
// held across open(2) or close(2): an acquire that must open a file reserves a slot in the
// count, marks the file opening (later acquires of it wait on that channel, acquires of other
// files do not wait at all) and opens it without mu; evicted handles are detached under mu and
// closed after it is released.
type fileCache struct {
	fs      vfs.FS
	limit   int
	logger  *slog.Logger
	metrics *Metrics

	mu struct {
		sync.Mutex
		open   int      // handles open or being opened
		cold   idleList // idle files other than active segments' .log files
		hot    idleList // idle .log files of active segments
		closed bool     // Manager closed: handles close as soon as they are idle
	}
}

// idleList is a doubly linked list of idle segFiles, most recently used at the head.
type idleList struct{ head, tail *segFile }

func newFileCache(fsys vfs.FS, limit int, logger *slog.Logger, metrics *Metrics) *fileCache {
	return &fileCache{fs: fsys, limit: limit, logger: logger, metrics: metrics}
}

// acquire returns an open handle for sf, which stays open until the matching release.
func (c *fileCache) acquire(sf *segFile) (vfs.File, error) {
	c.mu.Lock()
	for {
		if sf.doomed {
			c.mu.Unlock()
			return nil, errSegmentDeleted
		}
		if sf.f != nil {
			c.unlinkIdleLocked(sf)
			sf.refs++
			f := sf.f
			c.mu.Unlock()
			return f, nil
		}
		if sf.opening == nil {
			break
		}
		busy := sf.opening
		c.mu.Unlock()
		<-busy
		c.mu.Lock()
	}
	done := make(chan struct{})
	sf.opening = done
	c.mu.open++
	c.metrics.OpenFiles.Inc()
	victims := c.evictLocked()
	c.mu.Unlock()
	c.closeHandles(victims)

	f, err := c.fs.OpenReadWrite(sf.path())

	c.mu.Lock()
	sf.opening = nil
	close(done)
	if sf.doomed {
		// Deleted while we opened it (the open may have failed for that reason): nobody may
		// use it.
		victims = victims[:0]
		if err == nil {
			victims = append(victims, f)
		}
		err = errSegmentDeleted
	}
	if err != nil {
		c.mu.open--
		c.metrics.OpenFiles.Dec()
		c.mu.Unlock()
		c.closeHandles(victims)
		return nil, err
	}
	sf.f = f
	sf.refs = 1
	c.mu.Unlock()
	return f, nil
}

// adopt hands a freshly created handle to the cache (idle, open).
func (c *fileCache) adopt(sf *segFile, f vfs.File) {
	c.mu.Lock()
	var victims []vfs.File
	if sf.f != nil {
		// Replacing a handle (index rebuild): the old one must be idle.
		c.unlinkIdleLocked(sf)
		victims = append(victims, c.detachLocked(sf))
	}
	sf.doomed = false
	sf.f = f
	c.mu.open++
	c.metrics.OpenFiles.Inc()
	c.pushIdleLocked(sf)
	victims = append(victims, c.evictLocked()...)
	c.mu.Unlock()
	c.closeHandles(victims)
}

// release ends one use of sf.
func (c *fileCache) release(sf *segFile) {
	c.mu.Lock()
	sf.refs--
	if sf.refs > 0 {
		c.mu.Unlock()
		return
	}
	var victims []vfs.File
	if sf.doomed || c.mu.closed {
		victims = append(victims, c.detachLocked(sf))
	} else {
		c.pushIdleLocked(sf)
		victims = c.evictLocked()
	}
	c.mu.Unlock()
	c.closeHandles(victims)
}

// doom marks sf deleted: no new uses, and its handle closes once the last user releases it.
func (c *fileCache) doom(sf *segFile) {
	c.mu.Lock()
	sf.doomed = true
	var victim vfs.File
	if sf.f != nil && sf.refs == 0 {
		c.unlinkIdleLocked(sf)
		victim = c.detachLocked(sf)
	}
	c.mu.Unlock()
	c.closeHandles([]vfs.File{victim})
}

// closeIdle closes sf's handle if no one uses it, so the file can be replaced on disk. The
// handle is closed when it returns.
func (c *fileCache) closeIdle(sf *segFile) {
	c.mu.Lock()
	var victim vfs.File
	if sf.f != nil && sf.refs == 0 {
		c.unlinkIdleLocked(sf)
		victim = c.detachLocked(sf)
	}
	c.mu.Unlock()
	c.closeHandles([]vfs.File{victim})
}

// openFiles reports how many handles are open.
func (c *fileCache) openFiles() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.open
}

// closeAll closes every idle handle; handles still pinned by Regions close when released
// (Manager.Close).
func (c *fileCache) closeAll() {
	c.mu.Lock()
	c.mu.closed = true
	var victims []vfs.File
	for _, l := range []*idleList{&c.mu.cold, &c.mu.hot} {
		for sf := l.tail; sf != nil; sf = l.tail {
			c.unlinkIdleLocked(sf)
			victims = append(victims, c.detachLocked(sf))
		}
	}
	c.mu.Unlock()
	c.closeHandles(victims)
}

// evictLocked detaches idle handles, coldest first, until the count is within the limit, and
// returns them for closeHandles.
func (c *fileCache) evictLocked() []vfs.File {
	var victims []vfs.File
	for c.mu.open > c.limit {
		sf := c.mu.cold.tail
		if sf == nil {
			sf = c.mu.hot.tail
		}
		if sf == nil {
			break
		}
		c.unlinkIdleLocked(sf)
		victims = append(victims, c.detachLocked(sf))
		c.metrics.FileEvictions.Inc()
	}
	return victims
}

// detachLocked takes sf's handle out of the cache; the caller closes it without mu.
func (c *fileCache) detachLocked(sf *segFile) vfs.File {
	f := sf.f
	if f == nil {
		return nil
	}
	sf.f = nil
	c.mu.open--
	c.metrics.OpenFiles.Dec()
	return f
}

// closeHandles closes detached handles. A failed close of a file we only wrote through the
// page cache loses nothing that a later fsync (by path, via a new handle) would not cover;
// log it and go on.
func (c *fileCache) closeHandles(fs []vfs.File) {
	for _, f := range fs {
		if f == nil {
			continue
		}
		if err := f.Close(); err != nil {
			c.logger.Warn("close segment file", "file", f.Name(), "err", err)
		}
	}
}

func (c *fileCache) pushIdleLocked(sf *segFile) {
	sf.idle = true
	sf.hot = sf.isActiveLog()
	l := &c.mu.cold
	if sf.hot {
		l = &c.mu.hot
	}
	sf.prev = nil
	sf.next = l.head
	if l.head != nil {
		l.head.prev = sf
	}
	l.head = sf
	if l.tail == nil {
		l.tail = sf
	}
}

func (c *fileCache) unlinkIdleLocked(sf *segFile) {
	if !sf.idle {
		return
	}
	l := &c.mu.cold
	if sf.hot {
		l = &c.mu.hot
	}
	if sf.prev != nil {
		sf.prev.next = sf.next
	} else {
		l.head = sf.next
	}
	if sf.next != nil {
		sf.next.prev = sf.prev
	} else {
		l.tail = sf.prev
	}
	sf.prev, sf.next, sf.idle, sf.hot = nil, nil, false, false
}

// defaultMaxOpenFiles is the open-file budget when Options.MaxOpenFiles is not set: three
// quarters of the process's RLIMIT_NOFILE (Go raises the soft limit to the hard one at
// start), leaving the rest for connections, the metadata log and checkpoints, and never less
// than 1024. A fixed 1,024 made the cache thrash past ~340 partitions taking appends (each
// active segment uses its .log, .index and .timeindex); Kafka keeps every segment open and
// asks for a limit of 100,000 or more.
func defaultMaxOpenFiles() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == unix.RLIM_INFINITY {
		return 1024
	}
	return max(1024, int(min(rl.Cur, 1<<30)/4*3))
}
