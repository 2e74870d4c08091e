package storage

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// CleanerConfig is the log cleaner's configuration that may change while the Manager runs:
// Kafka's dynamic log.cleaner.* broker configs. A change applies from the next batch the
// cleaner reads (I/O rate), the next clean (buffers), the next pause (backoff); extra cleaner
// goroutines start at once, surplus ones stop when they next wake.
type CleanerConfig struct {
	// Threads is log.cleaner.threads; <= 0 runs no cleaner goroutines.
	Threads int
	// Backoff is log.cleaner.backoff.ms: the pause when no log needs cleaning.
	Backoff time.Duration
	// IOMaxBytesPerSecond is log.cleaner.io.max.bytes.per.second, read plus written, all
	// goroutines together (<= 0: unlimited).
	IOMaxBytesPerSecond float64
	// DedupeBufferSize is log.cleaner.dedupe.buffer.size, split between the goroutines.
	DedupeBufferSize int64
	// IOBufferSize is log.cleaner.io.buffer.size: read and write buffer memory of all
	// goroutines; each gets IOBufferSize / Threads, half to read segments and half to gather
	// cleaned batches before writing them (at least minCleanerIOBuffer each; a batch larger
	// than the read buffer is read whole).
	IOBufferSize int
}

// minCleanerIOBuffer keeps a tiny log.cleaner.io.buffer.size from turning into one read or
// write call per few bytes.
const minCleanerIOBuffer = 4 << 10

// cleanerThreads tracks the cleaner goroutines so that their number can change.
type cleanerThreads struct {
	sync.Mutex
	alive   []bool        // alive[i]: goroutine i runs
	changed chan struct{} // closed (and replaced) by every SetCleanerConfig
}

// SetCleanerConfig applies a changed log cleaner configuration (AlterConfigs on the broker's
// log.cleaner.* configs), starting goroutines up to cfg.Threads whatever the Manager was
// opened with (the broker passes 0 threads while log.cleaner.enable is false).
func (m *Manager) SetCleanerConfig(cfg CleanerConfig) {
	c := m.cleaner
	c.setConfig(cfg)
	c.throttle.setRate(cfg.IOMaxBytesPerSecond)
	c.threads.Lock()
	defer c.threads.Unlock()
	close(c.threads.changed)
	c.threads.changed = make(chan struct{})
	c.spawnLocked(cfg.Threads)
}

// CleanerConfig returns the log cleaner's current configuration.
func (m *Manager) CleanerConfig() CleanerConfig { return *m.cleaner.cfg.Load() }

func (c *cleaner) config() *CleanerConfig { return c.cfg.Load() }

// setConfig stores cfg with the Manager's defaults for unset fields.
func (c *cleaner) setConfig(cfg CleanerConfig) {
	if cfg.Backoff <= 0 {
		cfg.Backoff = 15 * time.Second
	}
	if cfg.DedupeBufferSize <= 0 {
		cfg.DedupeBufferSize = 128 << 20
	}
	if cfg.IOBufferSize <= 0 {
		cfg.IOBufferSize = 512 << 10
	}
	c.cfg.Store(&cfg)
}

// ioBufferSize is one goroutine's share of log.cleaner.io.buffer.size for reading, and the
// same again for writing.
func (c *cleaner) ioBufferSize() int {
	cfg := c.config()
	return max(cfg.IOBufferSize/max(cfg.Threads, 1)/2, minCleanerIOBuffer)
}

// spawnLocked starts goroutines 0..n-1 that are not running; goroutines >= n stop when they
// next wake (retire).
func (c *cleaner) spawnLocked(n int) {
	if c.stopped() {
		return
	}
	for len(c.threads.alive) < n {
		c.threads.alive = append(c.threads.alive, false)
	}
	for id := range n {
		if c.threads.alive[id] {
			continue
		}
		c.threads.alive[id] = true
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.run(id)
		}()
	}
}

// retire reports whether goroutine id is surplus to log.cleaner.threads, marking it stopped.
func (c *cleaner) retire(id int) bool {
	c.threads.Lock()
	defer c.threads.Unlock()
	if id < c.config().Threads {
		return false
	}
	c.threads.alive[id] = false
	return true
}

// changedCh is closed at the next SetCleanerConfig.
func (c *cleaner) changedCh() <-chan struct{} {
	c.threads.Lock()
	defer c.threads.Unlock()
	return c.threads.changed
}

// setRate changes the throttler's limit (log.cleaner.io.max.bytes.per.second) and restarts
// its measurement window.
func (t *throttler) setRate(rate float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rate.Store(rate)
	t.mu.start = time.Now()
	t.mu.bytes = 0
}

// floatValue is a float64 read and written atomically.
type floatValue struct{ bits atomic.Uint64 }

func (f *floatValue) Load() float64   { return math.Float64frombits(f.bits.Load()) }
func (f *floatValue) Store(v float64) { f.bits.Store(math.Float64bits(v)) }
