package store

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the store's Prometheus metrics.
type Metrics struct {
	skippedRecords *prometheus.CounterVec
	appliedOffset  prometheus.Gauge
	writer         prometheus.Gauge
}

// NewMetrics registers the store's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		skippedRecords: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_schema_registry_records_skipped_total",
			Help: "_schemas records the registry skipped: unknown key types (a newer registry's) or records that do not decode."},
			[]string{"reason"}),
		appliedOffset: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sluice_schema_registry_applied_offset",
			Help: "The offset after the last _schemas record this node's registry applied."}),
		writer: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sluice_schema_registry_writer",
			Help: "1 while this node is the registry's writer (leads _schemas partition 0 and has caught up), else 0."}),
	}
	reg.MustRegister(m.skippedRecords, m.appliedOffset, m.writer)
	return m
}

func (m *Metrics) skipped(reason string) {
	if m != nil {
		m.skippedRecords.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) setApplied(offset int64) {
	if m != nil {
		m.appliedOffset.Set(float64(offset))
	}
}

func (m *Metrics) setWriter(on bool) {
	if m == nil {
		return
	}
	if on {
		m.writer.Set(1)
	} else {
		m.writer.Set(0)
	}
}
