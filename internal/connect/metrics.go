package connect

import (
	"github.com/prometheus/client_golang/prometheus"
)

// workerMetrics are the worker's Prometheus metrics, after Kafka Connect's task metrics
// (source-record-poll-total, sink-record-send-total, offset-commit-*, total-record-errors,
// deadletterqueue-produce-requests), labelled by connector and task.
type workerMetrics struct {
	reg             *prometheus.Registry
	taskState       *prometheus.GaugeVec
	sourcePolled    *prometheus.CounterVec
	sourceWritten   *prometheus.CounterVec
	sinkRead        *prometheus.CounterVec
	sinkSent        *prometheus.CounterVec
	offsetCommit    *prometheus.HistogramVec
	recordErrors    *prometheus.CounterVec
	recordRetries   *prometheus.CounterVec
	deadLetter      *prometheus.CounterVec
	offsetCommitErr *prometheus.CounterVec
}

var taskStates = []string{StateRunning, StatePaused, StateFailed, StateUnassigned}

func newWorkerMetrics() *workerMetrics {
	ct := []string{"connector", "task"}
	m := &workerMetrics{
		reg: prometheus.NewRegistry(),
		taskState: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sluice_connect_task_state",
			Help: "1 for the state a task is in (RUNNING, PAUSED, FAILED, UNASSIGNED), 0 for the others."}, []string{"connector", "task", "state"}),
		sourcePolled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_connect_source_record_poll_total",
			Help: "Records source tasks returned from poll."}, ct),
		sourceWritten: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_connect_source_record_write_total",
			Help: "Records source tasks handed to the producer (after transforms)."}, ct),
		sinkRead: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_connect_sink_record_read_total",
			Help: "Records sink tasks consumed."}, ct),
		sinkSent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_connect_sink_record_send_total",
			Help: "Records handed to sink tasks' put (after transforms)."}, ct),
		offsetCommit: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_connect_offset_commit_seconds",
			Help:    "Time of an offset commit: the producer flush and the offset write for sources, the task flush and the group commit for sinks.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8)}, ct),
		offsetCommitErr: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_connect_offset_commit_failures_total",
			Help: "Offset commits that failed."}, ct),
		recordErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_connect_record_errors_total",
			Help: "Records that failed in a converter or transform and were skipped (errors.tolerance=all)."}, ct),
		recordRetries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_connect_record_retries_total",
			Help: "Retries of a converter or transform after a retriable error (errors.retry.timeout)."}, ct),
		deadLetter: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_connect_deadletterqueue_produce_total",
			Help: "Records written to a dead letter queue."}, ct),
	}
	m.reg.MustRegister(m.taskState, m.sourcePolled, m.sourceWritten, m.sinkRead, m.sinkSent, m.offsetCommit, m.offsetCommitErr, m.recordErrors, m.recordRetries, m.deadLetter)
	return m
}

// forget removes a task's series (its connector was deleted or reconfigured).
func (m *workerMetrics) forget(connector string) {
	l := prometheus.Labels{"connector": connector}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{m.taskState, m.sourcePolled, m.sourceWritten,
		m.sinkRead, m.sinkSent, m.offsetCommit, m.offsetCommitErr, m.recordErrors, m.recordRetries, m.deadLetter} {
		v.DeletePartialMatch(l)
	}
}

func (m *workerMetrics) setState(connector, task, state string) {
	for _, s := range taskStates {
		v := 0.0
		if s == state {
			v = 1
		}
		m.taskState.WithLabelValues(connector, task, s).Set(v)
	}
}
