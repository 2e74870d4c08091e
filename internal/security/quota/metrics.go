package quota

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/metadata"
)

// metrics are the quota metrics. Labels name the quota entity that applies (user and
// client_id as set with AlterClientQuotas, "<default>" for a default entity, "" when the
// entity has no such part), never a client's own id: their number is bounded by the quotas
// configured, not by the clients connecting. Traffic of clients without a quota is counted
// under empty labels.
type metrics struct {
	throttle  *prometheus.HistogramVec
	amount    *prometheus.CounterVec
	limit     *prometheus.GaugeVec
	unlimited [numKinds]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		throttle: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_quota_throttle_time_seconds",
			Help:    "Throttle time given to requests over a client quota, by quota type and the entity whose quota applied.",
			Buckets: []float64{0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}},
			[]string{"type", "user", "client_id"}),
		amount: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_quota_recorded_total",
			Help: "What client quotas measure, by quota type and entity: bytes produced (produce) and fetched (fetch), " +
				"handler seconds (request), partitions mutated (controller_mutation). Its rate is the byte rate per entity."},
			[]string{"type", "user", "client_id"}),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sluice_quota_limit",
			Help: "The quota value in force, by quota type and entity (bytes/s, percent, partitions/s)."},
			[]string{"type", "user", "client_id"}),
	}
	for k := range numKinds {
		m.unlimited[k] = m.amount.WithLabelValues(k.String(), "", "")
	}
	if reg != nil {
		reg.MustRegister(m.throttle, m.amount, m.limit)
	}
	return m
}

func entityLabels(kind Kind, e metadata.ClientQuotaEntity) []string {
	user, client := "", ""
	if e.HasUser {
		user = e.User.String()
	}
	if e.HasClientID {
		client = e.ClientID.String()
	}
	if e.HasIP {
		// The series of IP quotas are told apart by the IP entity in the user label, as
		// "ip=<ip>" or "ip=<default>" (bounded like the others by the quotas set).
		user = "ip=" + e.IP.String()
	}
	return []string{kind.String(), user, client}
}

func (m *metrics) forEntity(kind Kind, e metadata.ClientQuotaEntity) (prometheus.Observer, prometheus.Counter) {
	l := entityLabels(kind, e)
	return m.throttle.WithLabelValues(l...), m.amount.WithLabelValues(l...)
}

func (m *metrics) setLimit(kind Kind, e metadata.ClientQuotaEntity, v float64) {
	m.limit.WithLabelValues(entityLabels(kind, e)...).Set(v)
}
