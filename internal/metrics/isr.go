package metrics

import "github.com/prometheus/client_golang/prometheus"

// ISRMetrics counts the ISR changes this broker made as a partition leader (Kafka's
// ReplicaManager IsrShrinksPerSec, IsrExpandsPerSec and FailedIsrUpdatesPerSec, as counters).
type ISRMetrics struct {
	shrinks, expands, failed prometheus.Counter
}

// NewISRMetrics registers the ISR change counters with reg.
func NewISRMetrics(reg prometheus.Registerer) *ISRMetrics {
	m := &ISRMetrics{
		shrinks: prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_isr_shrinks_total",
			Help: "ISR shrinks committed for partitions this broker leads (a follower out of sync for longer than replica.lag.time.max.ms)."}),
		expands: prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_isr_expands_total",
			Help: "ISR expansions committed for partitions this broker leads (a follower caught up)."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_isr_updates_failed_total",
			Help: "ISR changes of partitions this broker leads that the controller refused or did not answer."}),
	}
	reg.MustRegister(m.shrinks, m.expands, m.failed)
	return m
}

// Changed counts one committed ISR change: an expansion when expand, else a shrink.
func (m *ISRMetrics) Changed(expand bool) {
	if expand {
		m.expands.Inc()
	} else {
		m.shrinks.Inc()
	}
}

// Failed counts one refused or unanswered ISR change.
func (m *ISRMetrics) Failed() { m.failed.Inc() }
