package storage

import (
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/sluicehq/sluice/internal/vfs"
)

// segFile is one file of a segment as the fileCache sees it. Its handle is opened on first
// use and closed when it has been idle longest and the open-file budget is exceeded.
type segFile struct {
	seg  *segment
	kind fileKind

	// Guarded by fileCache.mu.
	f          vfs.File // nil while closed
	refs       int32    // users holding f (appends, reads, Regions, syncs)
	prev, next *segFile // idle list (refs == 0 && f != nil), most recent at the head
	idle       bool
	doomed     bool // the file was deleted or replaced: never reopen, close at refs == 0
}

func (sf *segFile) path() string {
	return filepath.Join(sf.seg.log.dir, segmentFileName(sf.seg.baseOffset, sf.kind))
}

// fileCache bounds the number of open segment files across all logs of a Manager. Files in
// use are never closed; idle ones are closed least recently used first. Opening happens under
// the mutex: opens are rare next to uses, and this keeps the count exact.
type fileCache struct {
	fs      vfs.FS
	limit   int
	logger  *slog.Logger
	metrics *Metrics

	mu struct {
		sync.Mutex
		open       int
		head, tail *segFile // idle list
		closed     bool     // Manager closed: handles close as soon as they are idle
	}
}

func newFileCache(fsys vfs.FS, limit int, logger *slog.Logger, metrics *Metrics) *fileCache {
	return &fileCache{fs: fsys, limit: limit, logger: logger, metrics: metrics}
}

// acquire returns an open handle for sf, which stays open until the matching release.
func (c *fileCache) acquire(sf *segFile) (vfs.File, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sf.doomed {
		return nil, errSegmentDeleted
	}
	if sf.f != nil {
		if sf.refs == 0 {
			c.unlinkIdleLocked(sf)
		}
		sf.refs++
		return sf.f, nil
	}
	f, err := c.fs.OpenReadWrite(sf.path())
	if err != nil {
		return nil, err
	}
	sf.f = f
	sf.refs = 1
	c.mu.open++
	c.metrics.OpenFiles.Inc()
	c.evictLocked()
	return f, nil
}

// adopt hands a freshly created handle to the cache (idle, open).
func (c *fileCache) adopt(sf *segFile, f vfs.File) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sf.f != nil {
		// Replacing a handle (index rebuild): the old one must be idle.
		c.closeLocked(sf)
	}
	sf.doomed = false
	sf.f = f
	c.mu.open++
	c.metrics.OpenFiles.Inc()
	c.pushIdleLocked(sf)
	c.evictLocked()
}

// release ends one use of sf.
func (c *fileCache) release(sf *segFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sf.refs--
	if sf.refs > 0 {
		return
	}
	if sf.doomed || c.mu.closed {
		c.closeLocked(sf)
		return
	}
	c.pushIdleLocked(sf)
	c.evictLocked()
}

// doom marks sf deleted: no new uses, and its handle closes once the last user releases it.
func (c *fileCache) doom(sf *segFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sf.doomed = true
	if sf.f != nil && sf.refs == 0 {
		c.unlinkIdleLocked(sf)
		c.closeLocked(sf)
	}
}

// closeIdle closes sf's handle if no one uses it, so the file can be replaced on disk.
func (c *fileCache) closeIdle(sf *segFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sf.f != nil && sf.refs == 0 {
		c.unlinkIdleLocked(sf)
		c.closeLocked(sf)
	}
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
	defer c.mu.Unlock()
	c.mu.closed = true
	for sf := c.mu.tail; sf != nil; sf = c.mu.tail {
		c.unlinkIdleLocked(sf)
		c.closeLocked(sf)
	}
}

func (c *fileCache) evictLocked() {
	for c.mu.open > c.limit && c.mu.tail != nil {
		sf := c.mu.tail
		c.unlinkIdleLocked(sf)
		c.closeLocked(sf)
		c.metrics.FileEvictions.Inc()
	}
}

func (c *fileCache) closeLocked(sf *segFile) {
	if sf.f == nil {
		return
	}
	// A failed close of a file we only wrote through the page cache loses nothing that a
	// later fsync (by path, via a new handle) would not cover; log it and go on.
	if err := sf.f.Close(); err != nil {
		c.logger.Warn("close segment file", "file", sf.f.Name(), "err", err)
	}
	sf.f = nil
	c.mu.open--
	c.metrics.OpenFiles.Dec()
}

func (c *fileCache) pushIdleLocked(sf *segFile) {
	sf.idle = true
	sf.prev = nil
	sf.next = c.mu.head
	if c.mu.head != nil {
		c.mu.head.prev = sf
	}
	c.mu.head = sf
	if c.mu.tail == nil {
		c.mu.tail = sf
	}
}

func (c *fileCache) unlinkIdleLocked(sf *segFile) {
	if !sf.idle {
		return
	}
	if sf.prev != nil {
		sf.prev.next = sf.next
	} else {
		c.mu.head = sf.next
	}
	if sf.next != nil {
		sf.next.prev = sf.prev
	} else {
		c.mu.tail = sf.prev
	}
	sf.prev, sf.next, sf.idle = nil, nil, false
}
