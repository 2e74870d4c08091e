package storage

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/vfs"
)

// Log is one partition's log: a sorted run of segments, the last of which (the active segment)
// takes appends.
//
// Concurrency: appends, rolls, truncation, retention deletes and txn-index appends are
// serialized by appendMu. Reads take no lock: they load the segment list (replaced
// copy-on-write) and the offsets from atomics, and pin the files they use in the fileCache, so
// a segment deleted under a reader stays readable until the reader releases it. Flushes are
// serialized by flushMu and run concurrently with appends.
type Log struct {
	m       *Manager
	tp      TopicPartition
	dir     string
	topicID [16]byte // set at creation or load; guarded by appendMu afterwards

	appendMu sync.Mutex
	flushMu  sync.Mutex

	segments          atomic.Pointer[[]*segment] // sorted by base offset, never empty while online
	logStartOffset    atomic.Int64
	logEndOffset      atomic.Int64 // next offset to assign
	recoveryPoint     atomic.Int64 // data and indexes below it are fsynced
	cfg               atomic.Pointer[LogConfig]
	offline           atomic.Pointer[offlineError]
	unflushedMessages atomic.Int64
	lastFlushMs       atomic.Int64
	dirDirty          atomic.Bool // entries created or removed since the last directory fsync

	// durableOffset is the offset below which the log's records survive a power loss: in
	// group-commit mode what the last completed round covered, otherwise the log end offset
	// (page-cache mode promises no more). Never above the log end offset.
	durableOffset atomic.Int64
	// onDurable, when set, is called after each group-commit round covering this log.
	onDurable atomic.Pointer[func()]
	// durableMu orders the syncer's advances of durableOffset against truncations: an advance
	// computed before a truncation (truncations counts them) is dropped. Leaf lock.
	durableMu struct {
		sync.Mutex
		truncations uint64
	}

	epochs *LeaderEpochCache
}

// AppendInfo describes a completed append.
type AppendInfo struct {
	FirstOffset int64 // base offset of the first batch
	LastOffset  int64 // last offset of the last batch
	// MaxTimestamp is the largest batch MaxTimestamp and OffsetOfMaxTimestamp the last offset
	// of the batch carrying it (Kafka's "shallow" offset of the max timestamp).
	MaxTimestamp         int64
	OffsetOfMaxTimestamp int64
	// LogAppendTime is the broker time stamped into the batches when the topic uses
	// LogAppendTime (record.SetLogAppendTime), else -1.
	LogAppendTime  int64
	LogStartOffset int64
	Bytes          int   // bytes appended
	Records        int64 // records appended (sum of the batches' record counts)
}

// TopicPartition names the partition.
func (l *Log) TopicPartition() TopicPartition { return l.tp }

// Dir is the partition's directory.
func (l *Log) Dir() string { return l.dir }

// FS is the file system the log's files live on, for files the partition layer keeps beside
// the segments (producer state snapshots).
func (l *Log) FS() vfs.FS { return l.m.fs }

// TopicID is the id from partition.metadata (zero if the partition has none).
func (l *Log) TopicID() [16]byte {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	return l.topicID
}

// LogStartOffset is the first readable offset.
func (l *Log) LogStartOffset() int64 { return l.logStartOffset.Load() }

// LogEndOffset is the offset the next appended record gets.
func (l *Log) LogEndOffset() int64 { return l.logEndOffset.Load() }

// DurableOffset is the offset below which every record survives a power loss. In
// group-commit mode it moves when an fsync round that covered the appended bytes completes
// (SetDurableHook tells when); in page-cache mode it follows the log end offset, since that
// mode makes no durability promise beyond flush.messages and flush.ms.
func (l *Log) DurableOffset() int64 { return l.durableOffset.Load() }

// SetDurableHook registers fn to be called each time a group-commit round that covered this
// log completes: the durable offset moved, or the round failed and the log went offline (Err
// reports it). fn runs on the syncer goroutine with no storage lock held; it must not block
// on I/O or wait for another append (it may take the caller's own locks and read the log).
// In page-cache mode it is never called: the durable offset moves inside each append.
func (l *Log) SetDurableHook(fn func()) { l.onDurable.Store(&fn) }

// Err reports why the log cannot be used (ErrLogOffline, ErrLogDeleted), or nil.
func (l *Log) Err() error { return l.checkUsable() }

// durablePoint is what a sync starting now will make durable: the log end offset, with the
// truncation count it belongs to.
func (l *Log) durablePoint() (end int64, truncations uint64) {
	l.durableMu.Lock()
	defer l.durableMu.Unlock()
	return l.logEndOffset.Load(), l.durableMu.truncations
}

// advanceDurable raises the durable offset to end after a sync that started at durablePoint
// completed, unless the log was truncated since.
func (l *Log) advanceDurable(end int64, truncations uint64) {
	l.durableMu.Lock()
	defer l.durableMu.Unlock()
	if truncations == l.durableMu.truncations && end > l.durableOffset.Load() {
		l.durableOffset.Store(end)
	}
}

// truncateDurableLocked lowers the durable offset to a new log end offset (appendMu held).
func (l *Log) truncateDurableLocked(end int64) {
	l.durableMu.Lock()
	defer l.durableMu.Unlock()
	l.durableMu.truncations++
	l.durableOffset.Store(min(l.durableOffset.Load(), end))
}

// notifyDurable calls the hook registered with SetDurableHook, if any.
func (l *Log) notifyDurable() {
	if fn := l.onDurable.Load(); fn != nil {
		(*fn)()
	}
}

// RecoveryPoint is the offset below which data and indexes are fsynced.
func (l *Log) RecoveryPoint() int64 { return l.recoveryPoint.Load() }

// Size is the total size of the partition's .log files.
func (l *Log) Size() int64 {
	var n int64
	for _, s := range l.segs() {
		n += s.size.Load()
	}
	return n
}

// NumSegments is the number of segments.
func (l *Log) NumSegments() int { return len(l.segs()) }

// LeaderEpochs is the partition's leader epoch cache.
func (l *Log) LeaderEpochs() *LeaderEpochCache { return l.epochs }

func (l *Log) config() LogConfig { return *l.cfg.Load() }

// Config returns the log's settings.
func (l *Log) Config() LogConfig { return l.config() }

// SetConfig replaces the log's settings (AlterConfigs); they apply from the next append or
// retention pass.
func (l *Log) SetConfig(cfg LogConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	l.cfg.Store(&cfg)
	return nil
}

func (l *Log) segs() []*segment {
	p := l.segments.Load()
	if p == nil {
		return nil
	}
	return *p
}

// floorSegment returns the index of the last segment with base offset <= offset (0 if none).
func floorSegment(segs []*segment, offset int64) int {
	i := sort.Search(len(segs), func(i int) bool { return segs[i].baseOffset > offset })
	return max(i-1, 0)
}

// limitOf is the base offset of the segment after segs[i], or MaxInt64 for the last.
func limitOf(segs []*segment, i int) int64 {
	if i+1 < len(segs) {
		return segs[i+1].baseOffset
	}
	return math.MaxInt64
}

// checkUsable returns the reason the log cannot be used, if any.
func (l *Log) checkUsable() error {
	if e := l.offline.Load(); e != nil {
		return e
	}
	return nil
}

// goOffline takes the log offline because of cause and returns the error callers see. A log
// that was deleted reports ErrLogDeleted instead.
func (l *Log) goOffline(cause error) error {
	if e := l.offline.Load(); e != nil {
		return e
	}
	if errors.Is(cause, errSegmentDeleted) || errors.Is(cause, ErrLogDeleted) {
		return ErrLogDeleted
	}
	e := &offlineError{cause: cause}
	if l.offline.CompareAndSwap(nil, e) {
		l.m.logger.Error("partition log offline", "partition", l.tp.String(), "err", cause)
		l.m.metrics.OfflineLogs.Inc()
		return e
	}
	return l.offline.Load()
}

// Append appends validated batches as the leader: it assigns offsets from the log end offset
// by rewriting each batch's base offset and partition leader epoch in place (outside the
// CRC), writes the bytes unchanged, and updates the indexes and the leader epoch cache. In
// group-commit mode it returns once an fsync covers the batches; otherwise the bytes are in
// the page cache (flushed per flush.messages / flush.ms).
//
// The caller must have validated the batches (record.Validate); Append reads headers only.
// Appends to one log are serialized; reads proceed concurrently.
func (l *Log) Append(batches []byte, leaderEpoch int32) (AppendInfo, error) {
	return l.append(batches, leaderEpoch, true)
}

// AppendAsFollower appends batches that already carry offsets (replication). The first base
// offset must be >= the log end offset and offsets must increase; gaps are allowed (a
// compacted leader).
func (l *Log) AppendAsFollower(batches []byte) (AppendInfo, error) {
	return l.append(batches, -1, false)
}

func (l *Log) append(batches []byte, leaderEpoch int32, assign bool) (AppendInfo, error) {
	l.appendMu.Lock()
	info, err := l.appendLocked(batches, leaderEpoch, assign)
	l.appendMu.Unlock()
	if err != nil {
		return AppendInfo{}, err
	}
	if err := l.WaitDurable(info); err != nil {
		return AppendInfo{}, err
	}
	return info, nil
}

// AppendAsFollowerNoWait is AppendAsFollower without the wait for durability: the caller
// calls ScheduleSync(info) next. A follower's appends need not be durable before it fetches
// again (the leader's high watermark waits on the leader's own durable offset), only soon.
func (l *Log) AppendAsFollowerNoWait(batches []byte) (AppendInfo, error) {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	return l.appendLocked(batches, -1, false)
}

// AppendNoWait is the first half of Append: it writes the batches and assigns offsets but
// does not wait for durability, so a caller that serializes appends under a lock of its own
// (the partition's producer table) can release it before the wait and let concurrent appends
// share one group-commit round. The caller must call ScheduleSync(info) (then watch
// DurableOffset) or WaitDurable(info) next, and treat the append as durable only once
// DurableOffset passes info.LastOffset.
func (l *Log) AppendNoWait(batches []byte, leaderEpoch int32) (AppendInfo, error) {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	return l.appendLocked(batches, leaderEpoch, true)
}

// WaitDurable is the second half of Append for an append described by info: with group commit
// it waits for an fsync that starts after the call (so after the write), otherwise it counts
// the records against flush.messages and flushes when due.
func (l *Log) WaitDurable(info AppendInfo) error {
	if l.m.syncer != nil {
		return l.m.syncer.wait(l)
	}
	return l.ScheduleSync(info)
}

// ScheduleSync is the non-blocking second half of AppendNoWait: with group commit it puts
// the log in the pending round and returns at once (the durable offset passes the append
// when that round completes, and the hook of SetDurableHook runs); otherwise it counts the
// records against flush.messages and flushes when due, as WaitDurable does.
func (l *Log) ScheduleSync(info AppendInfo) error {
	if l.m.syncer != nil {
		if l.m.syncer.request(l) == nil {
			return l.syncActiveAndAdvance()
		}
		return nil
	}
	if l.unflushedMessages.Add(info.Records) >= l.config().FlushMessages {
		return l.Flush()
	}
	return nil
}

func (l *Log) appendLocked(batches []byte, leaderEpoch int32, assign bool) (AppendInfo, error) {
	if err := l.checkUsable(); err != nil {
		return AppendInfo{}, err
	}
	if l.m.isClosed() {
		return AppendInfo{}, ErrClosed
	}
	cfg := l.config()
	if int64(len(batches)) > cfg.SegmentBytes {
		return AppendInfo{}, fmt.Errorf("%w: %d bytes, segment.bytes %d", ErrRecordBatchTooLarge, len(batches), cfg.SegmentBytes)
	}
	info, err := l.analyzeLocked(batches, leaderEpoch, assign)
	if err != nil {
		return AppendInfo{}, err
	}
	segs := l.segs()
	seg := segs[len(segs)-1]
	if err := seg.prepareAppend(); err != nil {
		return AppendInfo{}, l.goOffline(err)
	}
	if l.shouldRollLocked(seg, cfg, len(batches), info) {
		if seg, err = l.rollLocked(max(info.FirstOffset, l.logEndOffset.Load())); err != nil {
			return AppendInfo{}, err
		}
	}
	if !relOffsetFits(seg.baseOffset, info.LastOffset) {
		return AppendInfo{}, fmt.Errorf("%w: offsets %d..%d span more than 2^32", ErrInvalidAppend, info.FirstOffset, info.LastOffset)
	}
	if err := l.assignEpochsLocked(batches, leaderEpoch, assign, info.FirstOffset); err != nil {
		return AppendInfo{}, err
	}
	pos := seg.size.Load()
	if err := seg.withFile(kindLog, func(f vfs.File) error {
		_, err := f.Write(batches)
		return err
	}); err != nil {
		return AppendInfo{}, l.goOffline(fmt.Errorf("append to %s: %w", seg.path(kindLog), err))
	}
	if err := l.writeIndexEntriesLocked(seg, batches, pos); err != nil {
		return AppendInfo{}, l.goOffline(err)
	}
	seg.size.Store(pos + int64(len(batches)))
	seg.setMaxTimestamp(seg.builder.maxTimestamp, seg.builder.offsetOfMaxTimestamp)
	if seg.rollingBaseTs < 0 && pos == 0 {
		h, _ := record.ReadHeader(batches)
		seg.rollingBaseTs = h.MaxTimestamp
	}
	l.logEndOffset.Store(info.LastOffset + 1)
	if l.m.syncer == nil {
		l.durableOffset.Store(info.LastOffset + 1)
	}
	l.m.metrics.AppendedBytes.Add(float64(len(batches)))
	info.Bytes = len(batches)
	info.LogStartOffset = l.logStartOffset.Load()
	return info, nil
}
