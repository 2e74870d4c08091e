package storage

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/vfs"
)

// Options configure a Manager. Zero values take the defaults noted.
type Options struct {
	FS      vfs.FS       // default vfs.OS
	Dir     string       // the data directory (required)
	Logger  *slog.Logger // default: discard
	Metrics *Metrics     // default: unregistered
	// GroupCommit makes every append wait for an fsync that covers it. One syncer serves
	// all partitions of the Manager, so concurrent appends share fsyncs.
	GroupCommit bool
	// DefaultConfig applies to logs loaded at Open until SetConfig (default DefaultLogConfig).
	DefaultConfig *LogConfig
	// RetentionCheckInterval is log.retention.check.interval.ms (default 5 minutes).
	RetentionCheckInterval time.Duration
	// FlushCheckInterval is how often flush.ms deadlines are checked (default 1 second).
	FlushCheckInterval time.Duration
	// CheckpointInterval is log.flush.offset.checkpoint.interval.ms (default 60 seconds): how
	// often the recovery-point and log-start-offset checkpoints are written.
	CheckpointInterval time.Duration
	// MaxOpenFiles bounds the segment files open at once across all logs (default: three
	// quarters of RLIMIT_NOFILE, at least 1024; see defaultMaxOpenFiles). Idle files are
	// closed least recently used first, active segments' .log files last.
	MaxOpenFiles int
	// RecoveryThreads is num.recovery.threads.per.data.dir (default 2).
	RecoveryThreads int
	// Now is the clock (default time.Now).
	Now func() time.Time

	// The log cleaner (clean.go), Kafka's log.cleaner.* configs. CleanerThreads is
	// log.cleaner.threads (default 1); a negative value runs no cleaner goroutines
	// (log.cleaner.enable=false or 0 threads), leaving cleans to Manager.CleanDirtiest.
	CleanerThreads int
	// CleanerBackoff is log.cleaner.backoff.ms (default 15 s): the pause when no log needs
	// cleaning.
	CleanerBackoff time.Duration
	// CleanerIOMaxBytesPerSecond is log.cleaner.io.max.bytes.per.second, read plus written, for
	// all cleaner goroutines together (default: unlimited; <= 0 also means unlimited).
	CleanerIOMaxBytesPerSecond float64
	// CleanerDedupeBufferSize is log.cleaner.dedupe.buffer.size (default 128 MiB), split
	// between the cleaner goroutines; each allocates only what its dirty range needs.
	CleanerDedupeBufferSize int64
	// CleanerIOBufferSize is log.cleaner.io.buffer.size (default 512 KiB): read and write
	// buffers of all cleaner goroutines (see CleanerConfig). All the Cleaner* settings but a
	// negative CleanerThreads can change later with SetCleanerConfig.
	CleanerIOBufferSize int
	// CleanableLimit returns the offset below which a partition's log may be cleaned: the
	// lower of its last stable offset and high watermark (the partition layer knows them).
	// ok=false skips the partition. Nil: the log end offset.
	CleanableLimit func(tp TopicPartition) (limit int64, ok bool)
}

// Manager owns the logs of one data directory: it loads and recovers them at Open, creates
// and deletes them, runs retention, time-based flushes and checkpoints in one background
// goroutine, and (GroupCommit) the shared syncer.
type Manager struct {
	fs      vfs.FS
	dir     string
	logger  *slog.Logger
	metrics *Metrics
	now     func() time.Time
	opts    Options
	files   *fileCache
	syncer  *syncer // nil unless GroupCommit
	cleaner *cleaner
	deletes deleter // segment files waiting out file.delete.delay.ms (delete.go)
	// randInt64N draws segment.jitter.ms jitter (rand.Int64N; tests replace it).
	randInt64N func(n int64) int64

	mu struct {
		sync.RWMutex
		logs     map[TopicPartition]*Log
		creating map[TopicPartition]chan struct{} // CreateLog in progress; closed when it ends
	}
	metaSync *sharedSync // fsyncs of partition creation and leader-epoch checkpoints, shared
	// metaWork runs the file work of partition creation and of metadata publication (mkdir,
	// create, write, rename; not the shared fsync rounds) on GOMAXPROCS-1 worker goroutines
	// (at least one), each on its own OS thread at nice metaWorkNice. A round's end wakes
	// every creator it covered (32 while a topic is created); without the bound they all ran
	// kernel file work at once, and at the process's priority the kernel split the CPUs
	// evenly between them and the produce and fetch goroutines (issue #11: produce p99 while
	// partitions are created). A worker is waited for at most metaWorkMaxWait, then the work
	// runs on the caller (pacing, not a lock). Nil until Open has loaded the logs, and in a
	// Manager not made by Open: the work runs on the caller.
	metaWork        chan metaJob
	metaWorkMaxWait time.Duration // metaWorkMaxWait; tests raise it
	recovering      atomic.Bool   // Open is loading logs: index rebuilds defer their fsyncs (replaceFile)
	deferred        atomic.Bool   // some did: load syncs the file system before writing checkpoints
	closed          atomic.Bool
	checkpointMu    sync.Mutex // serializes checkpoint file writes
	// highWatermarks is replication-offset-checkpoint as read at Open, minus the partitions
	// deleted since (a partition recreated under the same name must not inherit one).
	highWatermarks struct {
		sync.Mutex
		m map[TopicPartition]int64
	}

	bg struct {
		sync.Mutex
		stopped bool
		wg      sync.WaitGroup // background flushes after page-cache rolls
	}
	stop chan struct{}
	wg   sync.WaitGroup // the maintenance loop and the syncer
}

func (o *Options) setDefaults() {
	if o.FS == nil {
		o.FS = vfs.OS
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.DefaultConfig == nil {
		c := DefaultLogConfig()
		o.DefaultConfig = &c
	}
	if o.RetentionCheckInterval <= 0 {
		o.RetentionCheckInterval = 5 * time.Minute
	}
	if o.FlushCheckInterval <= 0 {
		o.FlushCheckInterval = time.Second
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = time.Minute
	}
	if o.MaxOpenFiles <= 0 {
		o.MaxOpenFiles = defaultMaxOpenFiles()
	}
	if o.RecoveryThreads <= 0 {
		o.RecoveryThreads = 2
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CleanerThreads == 0 {
		o.CleanerThreads = 1
	}
	if o.CleanerBackoff <= 0 {
		o.CleanerBackoff = 15 * time.Second
	}
	if o.CleanerDedupeBufferSize <= 0 {
		o.CleanerDedupeBufferSize = 128 << 20
	}
}

// Open loads every partition log in opts.Dir, recovering those that need it, and starts the
// background work. A partition that cannot be loaded (corruption, I/O errors) is kept in an
// offline state: its methods return ErrLogOffline; Open itself fails only when the data
// directory cannot be used.
func Open(opts Options) (*Manager, error) {
	opts.setDefaults()
	if opts.Dir == "" {
		return nil, errors.New("storage: Options.Dir is required")
	}
	if err := opts.DefaultConfig.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{
		fs: opts.FS, dir: filepath.Clean(opts.Dir), logger: opts.Logger, metrics: opts.Metrics,
		now: opts.Now, opts: opts, stop: make(chan struct{}),
		randInt64N: rand.Int64N,
	}
	m.deletes.wake = make(chan struct{}, 1)
	m.files = newFileCache(m.fs, opts.MaxOpenFiles, m.logger, m.metrics)
	if err := m.fs.MkdirAll(m.dir); err != nil {
		return nil, fmt.Errorf("storage: create data dir: %w", err)
	}
	wholeFS, err := m.fs.OpenSyncer(m.dir)
	if err != nil {
		return nil, fmt.Errorf("storage: open data dir: %w", err)
	}
	m.metaSync = &sharedSync{wholeFS: wholeFS}
	m.metaWorkMaxWait = metaWorkMaxWait
	m.mu.logs = map[TopicPartition]*Log{}
	m.mu.creating = map[TopicPartition]chan struct{}{}
	if err := m.load(); err != nil {
		m.files.closeAll()
		_ = wholeFS.Close()
		return nil, err
	}
	if opts.GroupCommit {
		s, err := newSyncer(m)
		if err != nil {
			m.files.closeAll()
			_ = wholeFS.Close()
			return nil, err
		}
		// What recovery found may be only in the page cache (a process crash): make it
		// durable before it counts as such (Log.DurableOffset starts at the log end).
		if err := s.wholeFS.SyncAll(); err != nil {
			_ = s.wholeFS.Close()
			m.files.closeAll()
			return nil, fmt.Errorf("storage: group commit: sync recovered logs: %w", err)
		}
		m.syncer = s
		m.wg.Add(1)
		go func() { defer m.wg.Done(); m.syncer.run(m.stop) }()
	}
	m.startMetaWorkers(max(1, runtime.GOMAXPROCS(0)-1))
	m.wg.Add(1)
	go func() { defer m.wg.Done(); m.maintain() }()
	m.cleaner.start()
	return m, nil
}

// load reads the data directory: checkpoints, the clean-shutdown marker, every partition.
func (m *Manager) load() error {
	if err := m.fs.MkdirAll(m.dir); err != nil {
		return fmt.Errorf("storage: create data dir: %w", err)
	}
	// The data directory's own entry must survive a crash too.
	if err := m.fs.SyncDir(filepath.Dir(m.dir)); err != nil {
		return fmt.Errorf("storage: sync parent of data dir: %w", err)
	}
	names, err := m.fs.ReadDir(m.dir)
	if err != nil {
		return fmt.Errorf("storage: read data dir: %w", err)
	}
	_, statErr := m.fs.Stat(filepath.Join(m.dir, cleanShutdownName))
	clean := statErr == nil
	recoveryPoints, err := readOffsetCheckpoint(m.fs, filepath.Join(m.dir, recoveryPointCheckpointName))
	if err != nil {
		// Without recovery points every partition is recovered from its first segment.
		m.logger.Warn("ignoring recovery point checkpoint", "err", err)
		recoveryPoints, clean = map[TopicPartition]int64{}, false
	}
	startOffsets, err := readOffsetCheckpoint(m.fs, filepath.Join(m.dir, logStartOffsetCheckpointName))
	if err != nil {
		m.logger.Warn("ignoring log start offset checkpoint", "err", err)
		startOffsets = map[TopicPartition]int64{}
	}
	var tps []TopicPartition
	for _, name := range names {
		full := filepath.Join(m.dir, name)
		switch {
		case strings.HasPrefix(name, metaPropertiesPrefix):
			// The quorum's (its FSM records the cluster id there while this runs).
		case strings.HasSuffix(name, tmpSuffix):
			m.removeLeftover(full)
		case strings.HasSuffix(name, deleteSuffix):
			if err := m.fs.RemoveAll(full); err != nil {
				m.logger.Warn("remove deleted partition dir", "dir", full, "err", err)
			}
		case strings.HasPrefix(name, clusterMetadataDirPrefix):
			// The metadata quorum's directory (KRaft names it __cluster_metadata-0): not ours.
		default:
			if tp, ok := parsePartitionDir(name); ok {
				if info, err := m.fs.Stat(full); err == nil && info.IsDir {
					tps = append(tps, tp)
				}
			}
		}
	}
	hws, err := readOffsetCheckpoint(m.fs, filepath.Join(m.dir, replicationCheckpointName))
	if err != nil {
		// Without it high watermarks start at the log start and catch up as followers fetch.
		m.logger.Warn("ignoring replication offset checkpoint", "err", err)
		hws = map[TopicPartition]int64{}
	}
	m.highWatermarks.m = hws
	cleanerOffsets, err := readOffsetCheckpoint(m.fs, filepath.Join(m.dir, cleanerOffsetCheckpointName))
	if err != nil {
		// Without it every compacted log is cleaned again from its start: slower, not wrong.
		m.logger.Warn("ignoring cleaner offset checkpoint", "err", err)
		cleanerOffsets = map[TopicPartition]int64{}
	}
	m.cleaner = newCleaner(m, cleanerOffsets)
	m.recovering.Store(true)
	logs := m.loadLogs(tps, clean, recoveryPoints, startOffsets)
	m.recovering.Store(false)
	if deferred := m.deferred.Swap(false); deferred || !clean {
		// One syncfs makes the indexes recovery rebuilt durable before the recovery points
		// below cover them, and every recovered log's data too (a killed process leaves it in
		// the page cache): so each recovery point moves to its log end, and the next unclean
		// start scans only what is appended from now on, not every log from its start again.
		if err := m.metaSync.wholeFS.SyncAll(); err != nil {
			if deferred {
				return fmt.Errorf("storage: sync recovered logs: %w", err)
			}
			m.logger.Warn("sync recovered logs; recovery points stay", "err", err)
		} else {
			for _, l := range logs {
				if l.offline.Load() == nil {
					l.recoveryPoint.Store(l.logEndOffset.Load())
				}
			}
		}
	}
	for _, l := range logs {
		m.mu.logs[l.tp] = l
	}
	if statErr == nil {
		// From here on a crash must not be mistaken for a clean stop.
		if err := m.fs.Remove(filepath.Join(m.dir, cleanShutdownName)); err != nil {
			return fmt.Errorf("storage: remove clean shutdown marker: %w", err)
		}
	}
	if err := m.fs.SyncDir(m.dir); err != nil {
		return fmt.Errorf("storage: sync data dir: %w", err)
	}
	return m.writeCheckpoints()
}

// loadLogs loads partitions on RecoveryThreads goroutines.
func (m *Manager) loadLogs(tps []TopicPartition, clean bool, rps, lsos map[TopicPartition]int64) []*Log {
	out := make([]*Log, len(tps))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(m.opts.RecoveryThreads, max(len(tps), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				tp := tps[i]
				rp, hasRP := rps[tp]
				out[i] = m.loadLog(tp, clean, rp, hasRP, lsos[tp])
			}
		}()
	}
	for i := range tps {
		work <- i
	}
	close(work)
	wg.Wait()
	return out
}

func (m *Manager) removeLeftover(path string) {
	if err := m.fs.Remove(path); err != nil && !isNotExist(err) {
		m.logger.Warn("remove leftover file", "file", path, "err", err)
	}
}

// CreateLog creates the partition's log, or returns the existing one (applying cfg). A
// partition directory already holding another non-zero topic id fails with
// ErrTopicIDMismatch. The directory, files and fsyncs are made without Manager.mu (a
// placeholder in creating makes concurrent CreateLogs of one partition wait for the first),
// so many partitions can be created at once; the fsync of the data directory that publishes
// each new partition directory is shared by the creations running at the same time.
func (m *Manager) CreateLog(tp TopicPartition, topicID [16]byte, cfg LogConfig) (*Log, error) {
	if !validTopicName(tp.Topic) || tp.Partition < 0 {
		return nil, fmt.Errorf("storage: invalid partition %q %d", tp.Topic, tp.Partition)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	for {
		if m.closed.Load() {
			m.mu.Unlock()
			return nil, ErrClosed
		}
		if l, ok := m.mu.logs[tp]; ok {
			// Not under m.mu: the lock order is Log.appendMu before Manager.mu.
			m.mu.Unlock()
			return l, l.adoptTopicID(topicID, cfg)
		}
		busy, ok := m.mu.creating[tp]
		if !ok {
			break
		}
		m.mu.Unlock()
		<-busy
		m.mu.Lock()
	}
	done := make(chan struct{})
	m.mu.creating[tp] = done
	m.mu.Unlock()
	l, err := m.createLog(tp, topicID, cfg)
	m.mu.Lock()
	delete(m.mu.creating, tp)
	if err == nil {
		m.mu.logs[tp] = l
	}
	m.mu.Unlock()
	close(done)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// createLog makes a new partition directory with an empty first segment. The segment's
// files are created before partition.metadata is published, so that publication's fsync of
// the partition directory covers their entries too.
func (m *Manager) createLog(tp TopicPartition, topicID [16]byte, cfg LogConfig) (*Log, error) {
	dir := partitionDirName(m.dir, tp)
	l := m.newLog(tp, dir, cfg)
	l.topicID = topicID
	l.epochs = newLeaderEpochCache(m.fs, filepath.Join(dir, leaderEpochCheckpointName), nil)
	l.epochs.publish = func(name string, data []byte) error { return m.publishShared(name, data) }
	seg := newSegment(l, 0, 0)
	var files [3]vfs.File
	if err := m.doMetaWork(func() (err error) {
		if err := m.fs.MkdirAll(dir); err != nil {
			return err
		}
		files, err = seg.createFiles()
		return err
	}); err != nil {
		return nil, fmt.Errorf("create log %s: %w", tp, err)
	}
	seg.adoptFiles(files)
	l.segments.Store(&[]*segment{seg})
	// The last fsyncs cover the new directory's entries and its own entry in the data directory.
	if topicID != ([16]byte{}) {
		if err := m.publishShared(filepath.Join(dir, partitionMetadataName), formatPartitionMetadata(topicID), m.dir); err != nil {
			return nil, fmt.Errorf("create log %s: %w", tp, err)
		}
	} else if err := m.metaSync.run(func() error { return m.syncDirs(dir, m.dir) }); err != nil {
		return nil, fmt.Errorf("create log %s: %w", tp, err)
	}
	return l, nil
}

func (m *Manager) newLog(tp TopicPartition, dir string, cfg LogConfig) *Log {
	l := &Log{m: m, tp: tp, dir: dir}
	l.cfg.Store(&cfg)
	l.lastFlushMs.Store(m.now().UnixMilli())
	return l
}

// adoptTopicID checks (and, for a log without one, records) the topic id of an existing log.
func (l *Log) adoptTopicID(topicID [16]byte, cfg LogConfig) error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	zero := [16]byte{}
	if topicID != zero && l.topicID != zero && topicID != l.topicID {
		return fmt.Errorf("%w: %s holds another topic's data", ErrTopicIDMismatch, l.tp)
	}
	if topicID != zero && l.topicID == zero {
		if err := publishFile(l.m.fs, filepath.Join(l.dir, partitionMetadataName), formatPartitionMetadata(topicID)); err != nil {
			return err
		}
		l.topicID = topicID
	}
	l.cfg.Store(&cfg)
	return nil
}

// Log returns the partition's log.
func (m *Manager) Log(tp TopicPartition) (*Log, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	l, ok := m.mu.logs[tp]
	return l, ok
}

// Logs returns every log, sorted by topic and partition.
func (m *Manager) Logs() []*Log {
	m.mu.RLock()
	logs := slices.Collect(maps.Values(m.mu.logs))
	m.mu.RUnlock()
	slices.SortFunc(logs, func(a, b *Log) int {
		if c := strings.Compare(a.tp.Topic, b.tp.Topic); c != 0 {
			return c
		}
		return int(a.tp.Partition) - int(b.tp.Partition)
	})
	return logs
}

// Dir is the data directory.
func (m *Manager) Dir() string { return m.dir }

// OpenFiles reports how many segment files are open (for tests and metrics).
func (m *Manager) OpenFiles() int { return m.files.openFiles() }

func (m *Manager) isClosed() bool { return m.closed.Load() }

// background runs fn on a goroutine that Close waits for; after Close it does nothing, since
// Close flushes everything itself.
func (m *Manager) background(fn func()) {
	m.bg.Lock()
	defer m.bg.Unlock()
	if m.bg.stopped {
		return
	}
	m.bg.wg.Add(1)
	go func() {
		defer m.bg.wg.Done()
		fn()
	}()
}

// maintain is the Manager's one background loop: retention, flush.ms and checkpoints.
func (m *Manager) maintain() {
	retention := time.NewTicker(m.opts.RetentionCheckInterval)
	flush := time.NewTicker(m.opts.FlushCheckInterval)
	checkpoint := time.NewTicker(m.opts.CheckpointInterval)
	deletes := time.NewTimer(time.Hour) // armed by removeDueFiles' answer
	deletes.Stop()
	defer retention.Stop()
	defer flush.Stop()
	defer checkpoint.Stop()
	defer deletes.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-m.deletes.wake:
			m.armDeletes(deletes)
		case <-deletes.C:
			m.armDeletes(deletes)
		case <-retention.C:
			m.RunRetention()
		case <-flush.C:
			now := m.now().UnixMilli()
			for _, l := range m.Logs() {
				// Failures take the log offline inside Flush.
				_ = l.maybeFlushByTime(now)
			}
		case <-checkpoint.C:
			if err := m.writeCheckpoints(); err != nil {
				m.logger.Error("write offset checkpoints", "err", err)
			}
		}
	}
}

// armDeletes removes the segment files whose file.delete.delay.ms has passed and sets t for
// the next one.
func (m *Manager) armDeletes(t *time.Timer) {
	t.Stop()
	if next, ok := m.removeDueFiles(); ok {
		t.Reset(max(next, time.Millisecond))
	}
}

// writeCheckpoints writes the recovery-point and log-start-offset checkpoints.
func (m *Manager) writeCheckpoints() error {
	m.checkpointMu.Lock()
	defer m.checkpointMu.Unlock()
	rps := map[TopicPartition]int64{}
	lsos := map[TopicPartition]int64{}
	for _, l := range m.Logs() {
		if l.offline.Load() != nil && l.segments.Load() == nil {
			continue // never loaded: keep nothing rather than a made-up offset
		}
		rps[l.tp] = l.recoveryPoint.Load()
		lsos[l.tp] = l.logStartOffset.Load()
	}
	if err := publishFile(m.fs, filepath.Join(m.dir, recoveryPointCheckpointName), formatOffsetCheckpoint(rps)); err != nil {
		return err
	}
	return publishFile(m.fs, filepath.Join(m.dir, logStartOffsetCheckpointName), formatOffsetCheckpoint(lsos))
}

// CheckpointedHighWatermark returns the partition's high watermark as
// replication-offset-checkpoint recorded it before this start, if it did.
func (m *Manager) CheckpointedHighWatermark(tp TopicPartition) (int64, bool) {
	m.highWatermarks.Lock()
	defer m.highWatermarks.Unlock()
	hw, ok := m.highWatermarks.m[tp]
	return hw, ok
}

// WriteHighWatermarks replaces replication-offset-checkpoint with hws (every hosted
// partition's high watermark), atomically, as Kafka's broker does every
// replica.high.watermark.checkpoint.interval.ms and at shutdown.
func (m *Manager) WriteHighWatermarks(hws map[TopicPartition]int64) error {
	m.checkpointMu.Lock()
	defer m.checkpointMu.Unlock()
	if m.closed.Load() {
		return ErrClosed
	}
	return publishFile(m.fs, filepath.Join(m.dir, replicationCheckpointName), formatOffsetCheckpoint(hws))
}

// DeleteLog deletes the partition's log: it is removed from the Manager, its directory is
// renamed to "<dir>.<id>-delete" (so a crash mid-way finishes the job at the next Open) and
// removed. Readers holding Regions keep reading until they release them.
func (m *Manager) DeleteLog(tp TopicPartition) error {
	m.mu.Lock()
	for busy, ok := m.mu.creating[tp]; ok; busy, ok = m.mu.creating[tp] {
		m.mu.Unlock()
		<-busy
		m.mu.Lock()
	}
	l, ok := m.mu.logs[tp]
	delete(m.mu.logs, tp)
	m.mu.Unlock()
	if !ok {
		return nil
	}
	// Checkpoints first: a recreated partition of the same name must not inherit this one's
	// recovery point, high watermark or cleaner offset.
	m.cleaner.forget(tp)
	m.highWatermarks.Lock()
	delete(m.highWatermarks.m, tp)
	m.highWatermarks.Unlock()
	if err := m.writeCleanerCheckpoint(); err != nil {
		return err
	}
	if err := m.writeCheckpoints(); err != nil {
		return err
	}
	l.appendMu.Lock()
	l.flushMu.Lock()
	if l.offline.Load() == nil {
		l.offline.Store(&offlineError{cause: ErrLogDeleted})
	}
	for _, s := range l.segs() {
		for k := range numKinds {
			m.files.doom(&s.files[k])
		}
	}
	l.flushMu.Unlock()
	l.appendMu.Unlock()
	doomed := fmt.Sprintf("%s.%x%s", l.dir, m.now().UnixNano(), deleteSuffix)
	if err := m.fs.Rename(l.dir, doomed); err != nil {
		return fmt.Errorf("delete log %s: %w", tp, err)
	}
	if err := m.fs.SyncDir(m.dir); err != nil {
		return fmt.Errorf("delete log %s: %w", tp, err)
	}
	if err := m.fs.RemoveAll(doomed); err != nil {
		return fmt.Errorf("delete log %s: %w", tp, err)
	}
	return nil
}

// Close stops the background work, flushes every log (data, indexes, final time-index
// entries), writes the checkpoints and, if every log is healthy, the clean-shutdown marker.
func (m *Manager) Close() error {
	if !m.closed.CompareAndSwap(false, true) {
		return nil
	}
	// The cleaner first: a clean in progress is abandoned before the logs are sealed.
	m.cleaner.close()
	m.bg.Lock()
	m.bg.stopped = true
	m.bg.Unlock()
	m.bg.wg.Wait()
	logs := m.Logs()
	healthy := true
	var firstErr error
	// One syncfs first writes back every log's data at once, so the per-log flushes below
	// find little left to write; they still run (on closeWorkers goroutines) because only
	// they move each log's recovery point and take a failing log offline.
	if len(logs) >= syncAllMinLogs {
		if err := m.metaSync.wholeFS.SyncAll(); err != nil {
			m.logger.Warn("syncfs before closing logs", "err", err)
		}
	}
	errs := make([]error, len(logs))
	ForEachParallel(len(logs), closeWorkers, func(i int) { errs[i] = logs[i].closeForShutdown() })
	for _, err := range errs {
		if err != nil {
			healthy = false
			if !errors.Is(err, ErrLogOffline) && firstErr == nil {
				firstErr = err
			}
		}
	}
	close(m.stop)
	m.wg.Wait()
	if err := m.writeCheckpoints(); err != nil {
		healthy = false
		if firstErr == nil {
			firstErr = err
		}
	}
	if err := m.writeCleanerCheckpoint(); err != nil && firstErr == nil {
		firstErr = err
	}
	if healthy {
		marker := filepath.Join(m.dir, cleanShutdownName)
		if err := publishFile(m.fs, marker, []byte(`{"version":0,"brokerEpoch":-1}`)); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	m.files.closeAll()
	if err := m.metaSync.wholeFS.Close(); err != nil && firstErr == nil {
		firstErr = err
	}
	return firstErr
}

// closeForShutdown seals the active segment's time index and flushes the log. New appends
// are refused from here on (the Manager is closed).
func (l *Log) closeForShutdown() error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if err := l.checkUsable(); err != nil {
		return err
	}
	segs := l.segs()
	seg := segs[len(segs)-1]
	if seg.appendReady && seg.size.Load() > 0 {
		if ts, ok := seg.builder.timeEntryDue(seg.baseOffset); ok {
			var b [timeEntrySize]byte
			putTimeEntry(b[:], ts)
			seg.addIndexEntries(nil, b[:], offsetEntry{})
		}
	}
	if !seg.indexTailEmpty() {
		// The recovery point may already cover this segment (a flush raced with the last
		// appends' entries): write and sync the in-memory index entries anyway, since a
		// clean start trusts the index files as they are.
		if err := seg.sync(false); err != nil {
			return l.goOffline(err)
		}
	}
	return l.Flush()
}
