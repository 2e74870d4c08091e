package storage

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the storage layer's Prometheus metrics. Build them with NewMetrics; a Manager
// without Metrics gets an unregistered set.
type Metrics struct {
	RecoveryDroppedBytes    prometheus.Counter
	RecoveryDroppedSegments prometheus.Counter
	IndexesRebuilt          prometheus.Counter
	SegmentsDeleted         *prometheus.CounterVec // label reason: retention_ms, retention_bytes, log_start_offset, truncation
	SegmentsRolled          prometheus.Counter
	Fsyncs                  prometheus.Counter
	FsyncSeconds            prometheus.Histogram
	GroupCommitAppends      prometheus.Histogram // appends acknowledged by one group-commit round
	GroupCommitLogs         prometheus.Histogram // logs fsynced by one group-commit round
	AppendedBytes           prometheus.Counter
	OpenFiles               prometheus.Gauge
	FileEvictions           prometheus.Counter
	OfflineLogs             prometheus.Gauge
}

// NewMetrics builds the metrics and registers them with reg; a nil reg leaves them
// unregistered (tests, tools).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		RecoveryDroppedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_storage_recovery_dropped_bytes_total",
			Help: "Bytes cut from logs by recovery after an unclean stop (torn or corrupt tails).",
		}),
		RecoveryDroppedSegments: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_storage_recovery_dropped_segments_total",
			Help: "Segments deleted by recovery because they followed a torn or corrupt batch.",
		}),
		IndexesRebuilt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_storage_indexes_rebuilt_total",
			Help: "Segment index sets rebuilt from their .log (missing, torn or inconsistent).",
		}),
		SegmentsDeleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_storage_segments_deleted_total",
			Help: "Segments deleted, by reason.",
		}, []string{"reason"}),
		SegmentsRolled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_storage_segments_rolled_total",
			Help: "New active segments created by rolling.",
		}),
		Fsyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_storage_fsyncs_total",
			Help: "fsync calls on segment files and directories.",
		}),
		FsyncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sluice_storage_fsync_seconds",
			Help:    "Latency of one fsync.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
		}),
		GroupCommitAppends: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sluice_storage_group_commit_appends",
			Help:    "Appends acknowledged by one group-commit round.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		GroupCommitLogs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sluice_storage_group_commit_logs",
			Help:    "Partition logs fsynced by one group-commit round.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		AppendedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_storage_appended_bytes_total",
			Help: "Bytes of record batches appended to logs.",
		}),
		OpenFiles: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_storage_open_files",
			Help: "Segment files currently open.",
		}),
		FileEvictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_storage_file_evictions_total",
			Help: "Idle segment files closed to stay within the open-file budget.",
		}),
		OfflineLogs: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_storage_offline_logs",
			Help: "Partition logs offline because of corruption or I/O errors.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.RecoveryDroppedBytes, m.RecoveryDroppedSegments, m.IndexesRebuilt, m.SegmentsDeleted,
			m.SegmentsRolled, m.Fsyncs, m.FsyncSeconds, m.GroupCommitAppends, m.GroupCommitLogs,
			m.AppendedBytes, m.OpenFiles, m.FileEvictions, m.OfflineLogs)
	}
	return m
}
