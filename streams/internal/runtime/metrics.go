package runtime

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/streams/state"
)

// metrics of one application instance, registered on the caller's Registerer (none when
// nil). Every metric carries the application id as a constant label, so that two
// applications can share a registry.
type metrics struct {
	processed        *prometheus.CounterVec // by sub-topology
	skipped          *prometheus.CounterVec // by sub-topology
	consumerLag      *prometheus.GaugeVec   // by topic, partition
	commitLatency    prometheus.Histogram
	aborts           prometheus.Counter
	restoreRemaining *prometheus.GaugeVec // by task, store
	restoredRecords  prometheus.Counter
	restoredBytes    prometheus.Counter
	// The record cache (statestore.cache.max.bytes); cacheSeen is what was added so far.
	cacheHits, cacheMisses, cacheEvictions prometheus.Counter
	cacheSize                              prometheus.Gauge
	cacheSeen                              state.CacheStats
}

func newMetrics(reg prometheus.Registerer, appID string) *metrics {
	labels := prometheus.Labels{"application_id": appID}
	m := &metrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_streams_records_processed_total", ConstLabels: labels,
			Help: "Records processed by the application's tasks, by sub-topology (rate() gives records/s).",
		}, []string{"subtopology"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_streams_records_skipped_total", ConstLabels: labels,
			Help: "Records dropped by the tasks (Kafka Streams' dropped-records): a deserializer's ErrSkip, a negative timestamp, a null key or value an operator cannot take, a record too late for a window (once per window).",
		}, []string{"subtopology"}),
		consumerLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_streams_consumer_lag_records", ConstLabels: labels,
			Help: "Records between the last record fetched and the high watermark, by input partition.",
		}, []string{"topic", "partition"}),
		commitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sluice_streams_commit_latency_seconds", ConstLabels: labels,
			Help:    "Time to commit: flush the producer and commit offsets, or end the transaction; then checkpoint.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		aborts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_streams_transactions_aborted_total", ConstLabels: labels,
			Help: "Transactions aborted (exactly-once), after which the tasks that wrote in them were restored.",
		}),
		restoreRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_streams_restore_remaining_records", ConstLabels: labels,
			Help: "Changelog records left to restore, by task and store.",
		}, []string{"task", "store"}),
		restoredRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_streams_restored_records_total", ConstLabels: labels,
			Help: "Changelog records applied to stores (restores and standbys).",
		}),
		restoredBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_streams_restored_bytes_total", ConstLabels: labels,
			Help: "Key and value bytes of the changelog records applied to stores.",
		}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_streams_cache_hits_total", ConstLabels: labels,
			Help: "Reads of caching stores answered by the record cache (hit ratio: hits / (hits + misses), Kafka Streams' hit-ratio).",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_streams_cache_misses_total", ConstLabels: labels,
			Help: "Reads of caching stores that went to the store below the record cache.",
		}),
		cacheEvictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_streams_cache_evictions_total", ConstLabels: labels,
			Help: "Record cache entries evicted to keep to statestore.cache.max.bytes.",
		}),
		cacheSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_streams_cache_size_bytes", ConstLabels: labels,
			Help: "Bytes the record cache holds, as counted against statestore.cache.max.bytes.",
		}),
	}
	if reg == nil {
		return m
	}
	m.processed = register(reg, m.processed)
	m.skipped = register(reg, m.skipped)
	m.consumerLag = register(reg, m.consumerLag)
	m.commitLatency = register(reg, m.commitLatency)
	m.aborts = register(reg, m.aborts)
	m.restoreRemaining = register(reg, m.restoreRemaining)
	m.restoredRecords = register(reg, m.restoredRecords)
	m.restoredBytes = register(reg, m.restoredBytes)
	m.cacheHits = register(reg, m.cacheHits)
	m.cacheMisses = register(reg, m.cacheMisses)
	m.cacheEvictions = register(reg, m.cacheEvictions)
	m.cacheSize = register(reg, m.cacheSize)
	return m
}

// cache adds what c counted since the last call to the cache's metrics; nothing without a
// cache.
func (m *metrics) cache(c *state.Cache) {
	if c == nil {
		return
	}
	now := c.Stats()
	m.cacheHits.Add(float64(now.Hits - m.cacheSeen.Hits))
	m.cacheMisses.Add(float64(now.Misses - m.cacheSeen.Misses))
	m.cacheEvictions.Add(float64(now.Evictions - m.cacheSeen.Evictions))
	m.cacheSize.Set(float64(c.SizeBytes()))
	m.cacheSeen = now
}

// register registers c, or returns the collector already registered under its name (an
// application restarted in the same process).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

func (m *metrics) lag(topic string, partition int32, lag int64) {
	m.consumerLag.WithLabelValues(topic, strconv.Itoa(int(partition))).Set(float64(max(lag, 0)))
}
