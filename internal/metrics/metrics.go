package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Metrics are the broker's request, traffic and connection metrics. All methods are safe for
// concurrent use.
type Metrics struct {
	bytesIn, bytesOut     *prometheus.CounterVec
	recordsIn, recordsOut *prometheus.CounterVec
	requests              *prometheus.CounterVec
	latency               *prometheus.HistogramVec
	errorsByCode          *prometheus.CounterVec
	connections           prometheus.Gauge
	connectionsAccepted   prometheus.Counter
	connectionsRejected   *prometheus.CounterVec
	panicsRecovered       *prometheus.CounterVec
	replicaFetchedBytes   *prometheus.CounterVec
	// Records converted between message formats (Produce v0–v2, Fetch v0–v3), per topic;
	// series exist only for topics old clients used.
	produceConversions, fetchConversions *prometheus.CounterVec

	topics sync.Map // topic name → *topicCounters
	// apis[key] is resolved on a key's first request; keys beyond the array are not counted.
	apis [maxAPIKey + 1]atomic.Pointer[apiCounters]
	errs sync.Map // errorKey → prometheus.Counter
}

// maxAPIKey bounds the API keys counted; Kafka's keys stay well below it.
const maxAPIKey = 127

type topicCounters struct {
	bytesIn, bytesOut, recordsIn, recordsOut prometheus.Counter
}

type apiCounters struct {
	name     string
	requests prometheus.Counter
	latency  prometheus.Observer
}

type errorKey struct{ key, code int16 }

// New builds the metrics and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	topic := []string{"topic"}
	m := &Metrics{
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_topic_bytes_in_total",
			Help: "Record batch bytes appended by Produce requests, per topic."}, topic),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_topic_bytes_out_total",
			Help: "Record batch bytes returned by Fetch requests, per topic."}, topic),
		recordsIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_topic_records_in_total",
			Help: "Records appended by Produce requests, per topic."}, topic),
		recordsOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_topic_records_out_total",
			Help: "Records in the batches returned by Fetch requests (the offset span of the batches sent), per topic."}, topic),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_requests_total",
			Help: "Requests answered, per API (Kafka's name)."}, []string{"api"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sluice_request_duration_seconds",
			Help:    "Time from a request's frame being read to its response being handed to the writer, per API.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
			[]string{"api"}),
		errorsByCode: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_errors_total",
			Help: "Error codes in responses (one per topic, partition or resource that failed), per API and Kafka error name."},
			[]string{"api", "error"}),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sluice_connections",
			Help: "Kafka connections currently open."}),
		connectionsAccepted: prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_connections_accepted_total",
			Help: "Kafka connections accepted."}),
		connectionsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_connections_rejected_total",
			Help: "Kafka connections closed at accept, per reason: max.connections or max.connections.per.ip."},
			[]string{"reason"}),
		panicsRecovered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_panics_recovered_total",
			Help: "Panics recovered at a goroutine boundary (the one request, partition or task failed, the process kept running), per place."},
			[]string{"where"}),
		replicaFetchedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_replica_fetcher_bytes_total",
			Help: "Record batch bytes this broker's replica fetchers appended as follower, per source (leader) broker."},
			[]string{"source_broker"}),
		produceConversions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_topic_produce_message_conversions_total",
			Help: "Records produced in message format v0/v1 (Produce v0-v2) and converted to record batches v2, per topic (Kafka's ProduceMessageConversionsPerSec)."},
			topic),
		fetchConversions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_topic_fetch_message_conversions_total",
			Help: "Records down-converted to message format v0/v1 for Fetch v0-v3, per topic (Kafka's FetchMessageConversionsPerSec)."},
			topic),
	}
	reg.MustRegister(m.bytesIn, m.bytesOut, m.recordsIn, m.recordsOut, m.requests, m.latency, m.errorsByCode,
		m.connections, m.connectionsAccepted, m.connectionsRejected, m.panicsRecovered, m.replicaFetchedBytes,
		m.produceConversions, m.fetchConversions)
	return m
}

func (m *Metrics) topic(name string) *topicCounters {
	if c, ok := m.topics.Load(name); ok {
		return c.(*topicCounters)
	}
	c := &topicCounters{
		bytesIn: m.bytesIn.WithLabelValues(name), bytesOut: m.bytesOut.WithLabelValues(name),
		recordsIn: m.recordsIn.WithLabelValues(name), recordsOut: m.recordsOut.WithLabelValues(name),
	}
	actual, _ := m.topics.LoadOrStore(name, c)
	return actual.(*topicCounters)
}

// ProducedTo counts bytes and records appended to topic.
func (m *Metrics) ProducedTo(topic string, bytes, records int64) {
	c := m.topic(topic)
	c.bytesIn.Add(float64(bytes))
	c.recordsIn.Add(float64(records))
}

// FetchedFrom counts bytes and records returned from topic.
func (m *Metrics) FetchedFrom(topic string, bytes, records int64) {
	c := m.topic(topic)
	c.bytesOut.Add(float64(bytes))
	c.recordsOut.Add(float64(records))
}

// ProduceConverted counts records of topic produced in message format v0/v1 and converted.
func (m *Metrics) ProduceConverted(topic string, records int64) {
	m.produceConversions.WithLabelValues(topic).Add(float64(records))
}

// FetchConverted counts records of topic down-converted for old fetches.
func (m *Metrics) FetchConverted(topic string, records int64) {
	m.fetchConversions.WithLabelValues(topic).Add(float64(records))
}

func (m *Metrics) api(key int16) *apiCounters {
	if key < 0 || key > maxAPIKey {
		return nil
	}
	if c := m.apis[key].Load(); c != nil {
		return c
	}
	name := apiName(key)
	c := &apiCounters{name: name, requests: m.requests.WithLabelValues(name), latency: m.latency.WithLabelValues(name)}
	m.apis[key].CompareAndSwap(nil, c)
	return m.apis[key].Load()
}

func apiName(key int16) string {
	if n := kmsg.NameForKey(key); n != "" {
		return n
	}
	return "Unknown"
}

// ObserveRequest records one answered request: its API, how long it took and the error codes
// in resp (nil when no response is sent, as for acks=0 Produce).
func (m *Metrics) ObserveRequest(key, _ int16, latency time.Duration, resp kmsg.Response) {
	c := m.api(key)
	if c == nil {
		return
	}
	c.requests.Inc()
	c.latency.Observe(latency.Seconds())
	if resp != nil {
		eachErrorCode(resp, func(code int16) { m.countError(key, c.name, code) })
	}
}

func (m *Metrics) countError(key int16, api string, code int16) {
	k := errorKey{key, code}
	if c, ok := m.errs.Load(k); ok {
		c.(prometheus.Counter).Inc()
		return
	}
	name := "UNKNOWN_SERVER_ERROR"
	if e, ok := kerr.ErrorForCode(code).(*kerr.Error); ok && e.Code == code {
		name = e.Message // Kafka's name, e.g. UNKNOWN_TOPIC_OR_PARTITION
	}
	c, _ := m.errs.LoadOrStore(k, m.errorsByCode.WithLabelValues(api, name))
	c.(prometheus.Counter).Inc()
}

// ConnectionOpened counts an accepted connection.
func (m *Metrics) ConnectionOpened() {
	m.connectionsAccepted.Inc()
	m.connections.Inc()
}

// ConnectionClosed counts a connection gone.
func (m *Metrics) ConnectionClosed() { m.connections.Dec() }

// ConnectionRejected counts a connection closed at accept because of a limit (reason: the
// config's name).
func (m *Metrics) ConnectionRejected(reason string) {
	m.connectionsRejected.WithLabelValues(reason).Inc()
}

// ReplicaFetched counts n bytes a replica fetcher appended from leader.
func (m *Metrics) ReplicaFetched(leader int32, n int) {
	m.replicaFetchedBytes.WithLabelValues(strconv.Itoa(int(leader))).Add(float64(n))
}

// PanicRecovered counts a panic recovered at a goroutine boundary (where: a short fixed name
// such as "handler", "group.writer", "txn.markers", "reconcile").
func (m *Metrics) PanicRecovered(where string) { m.panicsRecovered.WithLabelValues(where).Inc() }
