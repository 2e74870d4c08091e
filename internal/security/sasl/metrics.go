package sasl

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts authentications by listener and mechanism. A nil *Metrics counts nothing.
type Metrics struct {
	failures, successes *prometheus.CounterVec
}

// NewMetrics registers sluice_sasl_authentication_failures_total and
// sluice_sasl_authentication_successes_total with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_sasl_authentication_failures_total",
			Help: "SASL authentications and re-authentications that failed (wrong password, unknown user, invalid token, unsupported mechanism), by listener and mechanism (Kafka's failed-authentication-total).",
		}, []string{"listener", "mechanism"}),
		successes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_sasl_authentication_successes_total",
			Help: "SASL authentications and re-authentications that succeeded, by listener and mechanism (Kafka's successful-authentication-total).",
		}, []string{"listener", "mechanism"}),
	}
	if reg != nil {
		reg.MustRegister(m.failures, m.successes)
	}
	return m
}

// Failed counts a failed authentication.
func (m *Metrics) Failed(listener, mechanism string) {
	if m != nil {
		m.failures.WithLabelValues(listener, mechanism).Inc()
	}
}

// Succeeded counts a successful authentication.
func (m *Metrics) Succeeded(listener, mechanism string) {
	if m != nil {
		m.successes.WithLabelValues(listener, mechanism).Inc()
	}
}

// FailuresVec and SuccessesVec expose the counters (tests read them).
func (m *Metrics) FailuresVec() *prometheus.CounterVec  { return m.failures }
func (m *Metrics) SuccessesVec() *prometheus.CounterVec { return m.successes }
