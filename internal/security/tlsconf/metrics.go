package tlsconf

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts TLS handshakes and keystore reloads per listener and exposes when each
// listener's certificate expires. Methods on a nil *Metrics do nothing.
type Metrics struct {
	handshakes *prometheus.CounterVec
	reloads    *prometheus.CounterVec
	notAfter   *prometheus.GaugeVec
}

// NewMetrics registers the TLS metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_tls_handshakes_total",
			Help: "TLS handshakes on Kafka listeners by result: ok, or failed (bad or missing client certificate, protocol or cipher mismatch, plaintext on a TLS port, timeout).",
		}, []string{"listener", "result"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_tls_reloads_total",
			Help: "Keystore or truststore files re-read after they changed on disk, by result: ok, or failed (the previous material stays in use).",
		}, []string{"listener", "result"}),
		notAfter: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_tls_certificate_expiry_timestamp_seconds",
			Help: "When the certificate a TLS listener (or the inter-broker client, listener \"<name>-client\") currently presents expires, as a Unix time.",
		}, []string{"listener"}),
	}
	reg.MustRegister(m.handshakes, m.reloads, m.notAfter)
	return m
}

// Handshake counts one handshake on listener; err is its failure or nil.
func (m *Metrics) Handshake(listener string, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "failed"
	}
	m.handshakes.WithLabelValues(listener, result).Inc()
}

func (m *Metrics) reload(listener string, ok bool) {
	if m == nil {
		return
	}
	result := "ok"
	if !ok {
		result = "failed"
	}
	m.reloads.WithLabelValues(listener, result).Inc()
}

func (m *Metrics) certificate(listener string, mat *material) {
	if m == nil || mat.cert == nil || mat.cert.Leaf == nil {
		return
	}
	m.notAfter.WithLabelValues(listener).Set(float64(mat.cert.Leaf.NotAfter.Truncate(time.Second).Unix()))
}
