package storage

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/vfs"
)

// The log cleaner (compaction of cleanup.policy=compact logs), after Kafka's LogCleaner:
//
//   - Options.CleanerThreads goroutines each pick the dirtiest compacted log not being cleaned
//     by another (dirty bytes / all bytes of the cleanable part, above
//     min.cleanable.dirty.ratio; or any dirty bytes once max.compaction.lag.ms has passed; or
//     a log whose kept tombstones' delete horizon has passed; or, once after a restart, a log
//     cleaned before, whose horizons this process does not know).
//   - The dirty part runs from the log's cleaner checkpoint to the first uncleanable segment:
//     the active segment, the segment holding the cleanable limit (the partition's last stable
//     offset and high watermark, Options.CleanableLimit), or the first segment with records
//     younger than min.compaction.lag.ms. Only whole segments are cleaned. A corrupt segment
//     makes its partition uncleanable until the next start.
//   - A key → latest offset map (offsetMap) is built over the dirty part; then every segment
//     from the log start to the end of the map is rewritten, in groups of consecutive segments
//     whose sizes add up to at most segment.bytes, keeping each key's latest record (clean.go,
//     clean_batch.go), and each group is swapped in for its segments (clean_swap.go).
//   - Progress is the cleaner-offset-checkpoint file in the data directory
//     (docs/format/cleaner-offset-checkpoint.md).
//
// Concurrency: a cleaner goroutine reads segments without locks (non-active segments do not
// change but by truncation and deletion, which the swap detects) and takes Log.appendMu only
// to swap. cleaner.mu comes before Manager.mu and after everything else.

// ErrCleanAborted is returned by a clean whose segments changed under it (retention,
// truncation, deletion of the log) or that was stopped by Close; nothing was swapped in.
var ErrCleanAborted = errors.New("storage: clean aborted")

const cleanerOffsetCheckpointName = "cleaner-offset-checkpoint"

// cleaner holds the Manager's compaction state.
type cleaner struct {
	m        *Manager
	throttle *throttler
	stop     chan struct{}
	wg       sync.WaitGroup
	cfg      atomic.Pointer[CleanerConfig] // the dynamic log.cleaner.* configs (clean_config.go)
	readBufs sync.Pool                     // *[]byte read buffers of eachBatch
	threads  cleanerThreads

	mu struct {
		sync.Mutex
		inProgress  map[TopicPartition]bool
		checkpoints map[TopicPartition]int64 // first dirty offset per log
		horizons    map[TopicPartition]int64 // smallest delete horizon kept by the last clean
		known       map[TopicPartition]bool  // cleaned by this process (horizons known)
		uncleanable map[TopicPartition]bool  // corrupt bytes met while cleaning
	}
	maps chan *offsetMap // one per goroutine, reused
}

// cleanPlan is what a clean of one log will cover.
type cleanPlan struct {
	log          *Log
	firstDirty   int64
	uncleanable  int64 // first offset not cleaned (a segment base)
	cleanBytes   int64 // bytes of segments below firstDirty
	dirtyBytes   int64
	needNow      bool // max.compaction.lag.ms passed
	horizonDue   bool // kept tombstones or markers have reached their delete horizon
	ratio        float64
	segmentCount int
	limit        int64 // the cleanable limit asked for
}

func newCleaner(m *Manager, checkpoints map[TopicPartition]int64) *cleaner {
	c := &cleaner{m: m, throttle: newThrottler(m.opts.CleanerIOMaxBytesPerSecond), stop: make(chan struct{})}
	c.setConfig(CleanerConfig{Threads: max(m.opts.CleanerThreads, 0), Backoff: m.opts.CleanerBackoff,
		IOMaxBytesPerSecond: m.opts.CleanerIOMaxBytesPerSecond, DedupeBufferSize: m.opts.CleanerDedupeBufferSize,
		IOBufferSize: m.opts.CleanerIOBufferSize})
	c.threads.changed = make(chan struct{})
	c.mu.inProgress = map[TopicPartition]bool{}
	c.mu.checkpoints = checkpoints
	c.mu.horizons = map[TopicPartition]int64{}
	c.mu.known = map[TopicPartition]bool{}
	c.mu.uncleanable = map[TopicPartition]bool{}
	c.maps = make(chan *offsetMap, max(m.opts.CleanerThreads, 1))
	return c
}

// start runs the cleaner goroutines (log.cleaner.threads of them).
func (c *cleaner) start() {
	c.threads.Lock()
	defer c.threads.Unlock()
	c.spawnLocked(c.config().Threads)
}

// close stops the goroutines (an ongoing clean is abandoned at its next batch) and waits.
// Closing stop under threads.Mutex keeps SetCleanerConfig from starting one after it.
func (c *cleaner) close() {
	c.threads.Lock()
	close(c.stop)
	c.threads.Unlock()
	c.wg.Wait()
}

func (c *cleaner) stopped() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// run is cleaner goroutine id: it cleans the filthiest log, or pauses log.cleaner.backoff.ms
// when none needs it, until Close or until log.cleaner.threads drops to id or below.
func (c *cleaner) run(id int) {
	backoff := time.NewTimer(0)
	defer backoff.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-backoff.C:
		case <-c.changedCh():
		}
		if c.retire(id) {
			return
		}
		_, cleaned, err := c.cleanFilthiest()
		if err != nil && !errors.Is(err, ErrCleanAborted) {
			c.m.logger.Warn("log cleaner", "err", err)
		}
		if cleaned {
			backoff.Reset(0)
		} else {
			backoff.Reset(c.config().Backoff)
		}
	}
}

// CleanDirtiest runs one clean now, on this goroutine, of the compacted log that needs it most
// (the cleaner goroutines do the same in a loop). It reports which log it cleaned, if any.
func (m *Manager) CleanDirtiest() (TopicPartition, bool, error) {
	return m.cleaner.cleanFilthiest()
}

// CleanerCheckpoint returns the log's first dirty offset as the cleaner recorded it.
func (m *Manager) CleanerCheckpoint(tp TopicPartition) (int64, bool) {
	m.cleaner.mu.Lock()
	defer m.cleaner.mu.Unlock()
	off, ok := m.cleaner.mu.checkpoints[tp]
	return off, ok
}

func (c *cleaner) cleanFilthiest() (TopicPartition, bool, error) {
	plan, ok := c.grabFilthiest()
	if !ok {
		return TopicPartition{}, false, nil
	}
	tp := plan.log.tp
	defer func() {
		c.mu.Lock()
		delete(c.mu.inProgress, tp)
		c.mu.Unlock()
	}()
	if err := c.cleanLog(plan); err != nil {
		if errors.Is(err, ErrCorruptLog) {
			// As Kafka marks a partition uncleanable: skip it until the next start rather
			// than fail on the same bytes at every pass.
			c.mu.Lock()
			c.mu.uncleanable[tp] = true
			c.mu.Unlock()
			c.m.logger.Error("log cleaner: partition marked uncleanable until restart", "partition", tp.String(), "err", err)
		}
		return tp, false, fmt.Errorf("clean %s: %w", tp, err)
	}
	return tp, true, nil
}

// grabFilthiest picks the log to clean and marks it in progress.
func (c *cleaner) grabFilthiest() (cleanPlan, bool) {
	nowMs := c.m.now().UnixMilli()
	var best cleanPlan
	found := false
	for _, l := range c.m.Logs() {
		cfg := l.config()
		if !cfg.CleanupPolicy.Compacts() || l.checkUsable() != nil {
			continue
		}
		c.mu.Lock()
		busy := c.mu.inProgress[l.tp] || c.mu.uncleanable[l.tp]
		c.mu.Unlock()
		if busy {
			continue
		}
		plan, err := c.planFor(l, cfg, nowMs)
		if err != nil {
			if !isDeleted(err) {
				c.m.logger.Warn("log cleaner: plan", "partition", l.tp.String(), "err", err)
			}
			continue
		}
		c.m.logger.Debug("log cleaner: plan", "partition", l.tp.String(), "firstDirty", plan.firstDirty,
			"uncleanable", plan.uncleanable, "dirtyBytes", plan.dirtyBytes, "cleanBytes", plan.cleanBytes,
			"ratio", plan.ratio, "horizonDue", plan.horizonDue, "limit", plan.limit, "segments", l.NumSegments(), "logEndOffset", l.LogEndOffset())
		eligible := (plan.dirtyBytes > 0 && (plan.needNow || plan.ratio > cfg.MinCleanableDirtyRatio)) ||
			(plan.horizonDue && plan.segmentCount > 0)
		if eligible && (!found || plan.ratio > best.ratio || plan.needNow && !best.needNow) {
			best, found = plan, true
		}
	}
	if !found {
		return cleanPlan{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.inProgress[best.log.tp] {
		return cleanPlan{}, false
	}
	c.mu.inProgress[best.log.tp] = true
	return best, true
}

// planFor measures the log's clean and dirty parts (LogCleanerManager.cleanableOffsets).
func (c *cleaner) planFor(l *Log, cfg LogConfig, nowMs int64) (cleanPlan, error) {
	segs := l.segs()
	active := segs[len(segs)-1]
	limit := active.baseOffset
	if fn := c.m.opts.CleanableLimit; fn != nil {
		lim, ok := fn(l.tp)
		if !ok {
			return cleanPlan{}, nil
		}
		limit = min(limit, lim)
	}
	logStart := l.logStartOffset.Load()
	c.mu.Lock()
	firstDirty, ok := c.mu.checkpoints[l.tp]
	horizon, hasHorizon := c.mu.horizons[l.tp]
	known := c.mu.known[l.tp]
	c.mu.Unlock()
	if !ok || firstDirty < logStart || firstDirty > l.logEndOffset.Load() {
		firstDirty = logStart
	}
	plan := cleanPlan{log: l, firstDirty: firstDirty, uncleanable: firstDirty, limit: limit}
	// After a restart the horizons kept by earlier cleans are unknown: a log cleaned before
	// is cleaned once more so that tombstones past their horizon do not wait for new writes.
	plan.horizonDue = (hasHorizon && horizon <= nowMs) || (ok && !known)
	for i, s := range segs[:len(segs)-1] {
		end := limitOf(segs, i)
		if end > limit {
			break
		}
		if end <= firstDirty {
			plan.cleanBytes += s.size.Load()
			plan.segmentCount++
			continue
		}
		if cfg.MinCompactionLagMs > 0 {
			ts, err := s.largestTimestamp(end)
			if err != nil {
				return plan, err
			}
			if ts > nowMs-cfg.MinCompactionLagMs {
				break
			}
		}
		if plan.dirtyBytes == 0 && cfg.MaxCompactionLagMs > 0 && cfg.MaxCompactionLagMs < math.MaxInt64 {
			first, err := s.firstBatchTimestamp()
			if err != nil {
				return plan, err
			}
			plan.needNow = first >= 0 && nowMs-first > cfg.MaxCompactionLagMs
		}
		plan.dirtyBytes += s.size.Load()
		plan.uncleanable = end
		plan.segmentCount++
	}
	if total := plan.cleanBytes + plan.dirtyBytes; total > 0 {
		plan.ratio = float64(plan.dirtyBytes) / float64(total)
	}
	if plan.dirtyBytes == 0 {
		// Nothing new: a clean for tombstones covers the segments already cleaned.
		plan.uncleanable = max(plan.firstDirty, plan.uncleanable)
	}
	return plan, nil
}

// firstBatchTimestamp is the MaxTimestamp of the segment's first batch, -1 if it has none.
func (s *segment) firstBatchTimestamp() (int64, error) {
	if s.size.Load() == 0 {
		return -1, nil
	}
	var ts int64
	err := s.withFile(kindLog, func(f vfs.File) error {
		w := newHeaderWalker(f, s.size.Load())
		defer w.close()
		h, err := w.at(0)
		ts = h.MaxTimestamp
		return err
	})
	return ts, err
}

// cleanLog runs one clean of plan.log: map the dirty part, rewrite the segments below the
// map's end, record the new checkpoint.
func (c *cleaner) cleanLog(plan cleanPlan) error {
	l := plan.log
	m := c.m
	start := time.Now()
	cfg := l.config()
	keys := c.takeMap(plan.uncleanable - plan.firstDirty)
	defer func() {
		select {
		case c.maps <- keys:
		default:
		}
	}()
	read, err := c.buildOffsetMap(l, plan, keys)
	if err != nil {
		return err
	}
	endOffset := max(keys.latest+1, plan.firstDirty)
	if plan.dirtyBytes == 0 {
		endOffset = plan.firstDirty
	}
	// Records below the first dirty offset were deduplicated by earlier cleans: the map's
	// "not mapped yet, keep" rule is only for dirty records past its end.
	keys.latest = max(keys.latest, plan.firstDirty-1)
	lastOfProd, err := producerLastBatches(l)
	if err != nil {
		return err
	}
	nowMs := m.now().UnixMilli()
	f := &batchFilter{
		keys: keys, lastOfProd: lastOfProd, nowMs: nowMs, horizonMs: nowMs + cfg.DeleteRetentionMs,
		maxDecoded: record.DefaultMaxDecompressedSize, minHorizon: -1,
	}
	// Every segment wholly below the end of the map is rewritten; a segment the map covers
	// only in part is rewritten too (records past the map's end are kept as they are).
	segs := l.segs()
	var toClean []*segment
	for _, s := range segs[:len(segs)-1] {
		if s.baseOffset >= endOffset || s.baseOffset >= plan.uncleanable {
			break
		}
		toClean = append(toClean, s)
	}
	var written int64
	for _, group := range groupSegmentsBySize(toClean, segs, cfg) {
		n, err := c.cleanSegments(l, group, f)
		if err != nil {
			return err
		}
		written += n
	}
	c.mu.Lock()
	// Under c.mu (before Manager.mu): DeleteLog unregisters the log before it forgets its
	// cleaner state, so a log deleted during this clean leaves nothing behind for a new log
	// of the same name.
	if cur, ok := m.Log(l.tp); !ok || cur != l {
		c.mu.Unlock()
		return ErrCleanAborted
	}
	c.mu.checkpoints[l.tp] = endOffset
	c.mu.known[l.tp] = true
	if f.minHorizon >= 0 {
		c.mu.horizons[l.tp] = f.minHorizon
	} else {
		delete(c.mu.horizons, l.tp)
	}
	c.mu.Unlock()
	if err := m.writeCleanerCheckpoint(); err != nil {
		return err
	}
	elapsed := time.Since(start)
	m.logger.Info("cleaned log", "partition", l.tp.String(), "firstDirty", plan.firstDirty, "endOffset", endOffset,
		"dirtyBytes", read, "segments", len(toClean), "bytesWritten", written,
		"recordsRead", f.recordsRead, "recordsKept", f.recordsKept, "tombstonesRemoved", f.tombstones,
		"elapsed", elapsed, "MBps", float64(read)/1e6/max(elapsed.Seconds(), 1e-9))
	return nil
}

// takeMap returns this goroutine's offset map, emptied and large enough for maxKeys.
func (c *cleaner) takeMap(maxKeys int64) *offsetMap {
	cfg := c.config()
	budget := cfg.DedupeBufferSize / int64(max(cfg.Threads, 1))
	select {
	case om := <-c.maps:
		if om.fits(budget, maxKeys) {
			om.reset()
			return om
		}
	default:
	}
	return newOffsetMap(budget, maxKeys)
}

// buildOffsetMap maps the keys of the dirty part, batch by batch, until the part ends or the
// map is full; records of aborted transactions are not mapped. It returns the bytes read.
func (c *cleaner) buildOffsetMap(l *Log, plan cleanPlan, keys *offsetMap) (int64, error) {
	aborted, err := l.AbortedTxns(plan.firstDirty, plan.uncleanable)
	if err != nil {
		return 0, err
	}
	txns := newCleanTxns(aborted)
	var view []byte
	var read int64
	segs := l.segs()
	for i, s := range segs[:len(segs)-1] {
		if limitOf(segs, i) <= plan.firstDirty {
			continue
		}
		if s.baseOffset >= plan.uncleanable {
			break
		}
		full := false
		err := c.eachBatch(s, func(batch []byte, h record.Header) (bool, error) {
			read += int64(len(batch))
			if h.LastOffset() < plan.firstDirty {
				return true, nil
			}
			if h.IsControl() {
				if h.NumRecords > 0 {
					ct, err := controlType(batch)
					if err != nil {
						return false, err
					}
					txns.onMarker(h, ct)
				}
			} else if !txns.onDataBatch(h) && h.NumRecords > 0 {
				if keys.full(int(h.NumRecords)) {
					full = true
					return false, nil
				}
				var err error
				if view, err = mapBatch(keys, batch, h, view, plan.firstDirty); err != nil {
					return false, err
				}
			}
			keys.latest = max(keys.latest, h.LastOffset())
			return true, nil
		})
		if err != nil {
			return read, err
		}
		if full {
			if keys.latest < s.baseOffset {
				return read, fmt.Errorf("log.cleaner.dedupe.buffer.size too small for one segment of %s", l.tp)
			}
			break
		}
		// The whole segment is mapped: its offsets run to the next segment even where its last
		// batches left a gap, so the checkpoint lands on the boundary (as Kafka does).
		keys.latest = max(keys.latest, min(limitOf(segs, i), plan.uncleanable)-1)
	}
	return read, nil
}

// mapBatch puts the keys of one data batch into the map.
func mapBatch(keys *offsetMap, batch []byte, h record.Header, buf []byte, from int64) ([]byte, error) {
	recs, buf, err := record.Iterate(batch, buf, record.DefaultMaxDecompressedSize)
	if err != nil {
		return buf, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
	}
	var rec record.Record
	for recs.Next(&rec) {
		if rec.Key != nil && rec.Offset >= from {
			keys.put(rec.Key, rec.Offset)
		}
	}
	if err := recs.Err(); err != nil {
		return buf, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
	}
	return buf, nil
}

// eachBatch calls fn for every batch of the segment (throttled, stoppable) until fn returns
// false.
func (c *cleaner) eachBatch(s *segment, fn func([]byte, record.Header) (bool, error)) error {
	f, err := s.acquire(kindLog)
	if err != nil {
		if isDeleted(err) {
			return ErrCleanAborted
		}
		return err
	}
	defer s.release(kindLog)
	r := newBatchReaderSize(f, s.size.Load(), c.ioBufferSize(), &c.readBufs)
	defer r.close()
	for {
		pos := r.pos()
		batch, h, err := r.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return s.corrupt(pos, err)
		}
		if c.stopped() || c.m.isClosed() {
			return ErrCleanAborted
		}
		c.throttle.account(len(batch), c.stop)
		more, err := fn(batch, h)
		if err != nil {
			// Records that do not parse are corruption of this segment.
			return s.corrupt(pos, err)
		}
		if !more {
			return nil
		}
	}
}

// producerLastBatches returns, per producer id, which of its batches a clean must keep
// (producerLast). Unlike Kafka, which forgets producers after producer.id.expiration.ms, every
// producer that ever wrote keeps its batch.
func producerLastBatches(l *Log) (map[int64]producerLast, error) {
	out := map[int64]producerLast{}
	segs := l.segs()
	for _, s := range segs {
		size := s.size.Load()
		if size == 0 {
			continue
		}
		err := s.withFile(kindLog, func(f vfs.File) error {
			w := newHeaderWalker(f, size)
			defer w.close()
			for pos := int64(0); pos < size; {
				h, err := w.at(pos)
				if err != nil {
					return s.corrupt(pos, err)
				}
				if h.ProducerID >= 0 {
					p, ok := out[h.ProducerID]
					if !ok {
						p.dataOffset = -1
					}
					if !h.IsControl() {
						p.dataOffset = h.LastOffset()
					}
					p.epoch = h.ProducerEpoch
					out[h.ProducerID] = p
				}
				pos += int64(h.Size())
			}
			return nil
		})
		if isDeleted(err) {
			return nil, ErrCleanAborted
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// groupSegmentsBySize splits segments into runs that one cleaned segment can hold: at most
// segment.bytes of input and offsets that fit the 32-bit relative offsets of the indexes.
func groupSegmentsBySize(toClean, all []*segment, cfg LogConfig) [][]*segment {
	var groups [][]*segment
	for i := 0; i < len(toClean); {
		group := []*segment{toClean[i]}
		size := toClean[i].size.Load()
		j := i + 1
		for ; j < len(toClean); j++ {
			next := toClean[j]
			end := limitOfSeg(all, next)
			if size+next.size.Load() > cfg.SegmentBytes || !relOffsetFits(group[0].baseOffset, end-1) {
				break
			}
			group = append(group, next)
			size += next.size.Load()
		}
		groups = append(groups, group)
		i = j
	}
	return groups
}

// limitOfSeg is the base offset of the segment after s in all.
func limitOfSeg(all []*segment, s *segment) int64 {
	for i, x := range all {
		if x == s {
			return limitOf(all, i)
		}
	}
	return math.MaxInt64
}

// writeCleanerCheckpoint writes cleaner-offset-checkpoint for the logs that still exist.
func (m *Manager) writeCleanerCheckpoint() error {
	m.checkpointMu.Lock()
	defer m.checkpointMu.Unlock()
	c := m.cleaner
	c.mu.Lock()
	out := maps.Clone(c.mu.checkpoints)
	c.mu.Unlock()
	for tp := range out {
		if _, ok := m.Log(tp); !ok {
			delete(out, tp)
		}
	}
	path := filepath.Join(m.dir, cleanerOffsetCheckpointName)
	if len(out) == 0 {
		// A broker that never cleaned has no file (as Kafka's log dirs without compacted logs).
		if _, err := m.fs.Stat(path); isNotExist(err) {
			return nil
		}
	}
	return publishFile(m.fs, path, formatOffsetCheckpoint(out))
}

// forgetCleaned drops a log's cleaner state (DeleteLog, truncation below the checkpoint).
func (c *cleaner) forget(tp TopicPartition) {
	c.mu.Lock()
	delete(c.mu.checkpoints, tp)
	delete(c.mu.horizons, tp)
	delete(c.mu.known, tp)
	delete(c.mu.uncleanable, tp)
	c.mu.Unlock()
}

// truncated lowers a log's first dirty offset to its new log end offset after a truncation
// (a follower whose log diverged from its leader's): the records past it are gone and the
// ones that replace them have not been cleaned.
func (c *cleaner) truncated(tp TopicPartition, end int64) {
	c.mu.Lock()
	if off, ok := c.mu.checkpoints[tp]; ok && off > end {
		c.mu.checkpoints[tp] = end
	}
	c.mu.Unlock()
}

// throttler bounds the cleaner's I/O (log.cleaner.io.max.bytes.per.second) across its
// goroutines: after every 100 ms of work it sleeps long enough to bring the rate down.
type throttler struct {
	rate floatValue // bytes per second; <= 0 or +Inf: unlimited
	mu   struct {
		sync.Mutex
		start time.Time
		bytes float64
	}
}

func newThrottler(rate float64) *throttler {
	t := &throttler{}
	t.rate.Store(rate)
	t.mu.start = time.Now()
	return t
}

// account records n bytes of I/O and sleeps if the rate is above the limit.
func (t *throttler) account(n int, stop <-chan struct{}) {
	rate := t.rate.Load()
	if rate <= 0 || math.IsInf(rate, 1) || rate >= math.MaxFloat64 {
		return
	}
	t.mu.Lock()
	t.mu.bytes += float64(n)
	elapsed := time.Since(t.mu.start)
	var sleep time.Duration
	if want := time.Duration(t.mu.bytes / rate * float64(time.Second)); want-elapsed >= 5*time.Millisecond {
		sleep = want - elapsed
	}
	if elapsed+sleep >= 100*time.Millisecond {
		t.mu.start = time.Now().Add(sleep)
		t.mu.bytes = 0
	}
	t.mu.Unlock()
	if sleep >= 5*time.Millisecond {
		timer := time.NewTimer(sleep)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-stop:
		}
	}
}
