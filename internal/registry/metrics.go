package registry

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts the registry's requests, errors and registrations and reports its size. A nil
// *Metrics counts nothing.
type Metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	errors        *prometheus.CounterVec
	registrations prometheus.Counter
	forwarded     prometheus.Counter
}

// NewMetrics registers the sluice_schema_registry_* metrics with reg (nil: unregistered) and
// reads the gauges from state at scrape time.
func NewMetrics(reg prometheus.Registerer, state *State) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_schema_registry_requests_total",
			Help: "Schema registry REST requests answered by this node, by endpoint class (schemas, subjects, register, lookup, versions, delete, compatibility, config, mode, contexts, metadata, root, unknown) and HTTP status.",
		}, []string{"endpoint", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_schema_registry_request_duration_seconds",
			Help:    "Schema registry REST request latency on this node, forwarding to the writer included, by endpoint class.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"endpoint"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_schema_registry_errors_total",
			Help: "Schema registry REST answers with a Confluent error code (40401, 40901, 42201, 50002, ...), by code.",
		}, []string{"error_code"}),
		registrations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_schema_registry_registrations_total",
			Help: "New subject versions this node wrote to _schemas as the writer (a registration of a schema the subject already holds writes none).",
		}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_schema_registry_forwarded_requests_total",
			Help: "Write requests this node forwarded to the _schemas writer.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.errors, m.registrations, m.forwarded,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "sluice_schema_registry_schemas",
				Help: "Distinct schema ids held by some version (soft-deleted ones included) in this node's registry state.",
			}, func() float64 { return float64(state.schemaIDs.Load()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "sluice_schema_registry_subjects",
				Help: "Subjects with at least one version that is not deleted, in this node's registry state.",
			}, func() float64 { return float64(state.liveSubjects.Load()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "sluice_schema_registry_max_schema_id",
				Help: "Highest schema id in this node's registry state (compare across nodes to see one that lags).",
			}, func() float64 { return float64(state.MaxID()) }),
		)
	}
	return m
}

func (m *Metrics) observe(endpoint string, status, code int, took time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(endpoint).Observe(took.Seconds())
	if code != 0 {
		m.errors.WithLabelValues(strconv.Itoa(code)).Inc()
	}
}

func (m *Metrics) registered() {
	if m != nil {
		m.registrations.Inc()
	}
}

func (m *Metrics) forward() {
	if m != nil {
		m.forwarded.Inc()
	}
}
