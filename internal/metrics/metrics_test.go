package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func produceResponse(codes ...int16) *kmsg.ProduceResponse {
	resp := kmsg.NewPtrProduceResponse()
	rt := kmsg.NewProduceResponseTopic()
	for i, c := range codes {
		rp := kmsg.NewProduceResponseTopicPartition()
		rp.Partition, rp.ErrorCode = int32(i), c
		rt.Partitions = append(rt.Partitions, rp)
	}
	resp.Topics = append(resp.Topics, rt)
	return resp
}

func TestCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.ProducedTo("orders", 100, 3)
	m.ProducedTo("orders", 50, 2)
	m.FetchedFrom("orders", 120, 4)
	m.ConnectionOpened()
	m.ConnectionOpened()
	m.ConnectionClosed()
	m.ObserveRequest(0, 9, time.Millisecond, produceResponse(0, kerr.NotLeaderForPartition.Code, kerr.NotLeaderForPartition.Code))
	m.ObserveRequest(0, 9, time.Millisecond, nil) // acks=0

	got := gather(t, reg)
	for series, value := range map[string]float64{
		`sluice_topic_bytes_in_total{topic="orders"}`:                         150,
		`sluice_topic_records_in_total{topic="orders"}`:                       5,
		`sluice_topic_bytes_out_total{topic="orders"}`:                        120,
		`sluice_topic_records_out_total{topic="orders"}`:                      4,
		`sluice_requests_total{api="Produce"}`:                                2,
		`sluice_request_duration_seconds_count{api="Produce"}`:                2,
		`sluice_errors_total{api="Produce",error="NOT_LEADER_FOR_PARTITION"}`: 2,
		`sluice_connections`:                                                  1,
		`sluice_connections_accepted_total`:                                   2,
	} {
		if got[series] != value {
			t.Errorf("%s = %v, want %v", series, got[series], value)
		}
	}
	for series := range got {
		if strings.HasPrefix(series, "sluice_errors_total") && !strings.Contains(series, "NOT_LEADER") {
			t.Errorf("unexpected error series %s", series)
		}
	}
}

// gather returns every sample in reg by its series text (labels sorted by name).
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"=\""+l.GetValue()+"\"")
			}
			name := f.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[name] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[name] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[strings.Replace(name, f.GetName(), f.GetName()+"_count", 1)] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

// TestHotPathDoesNotAllocate: once a topic and an API have been seen, counting their traffic
// allocates nothing.
func TestHotPathDoesNotAllocate(t *testing.T) {
	m := New(prometheus.NewRegistry())
	ok := produceResponse(0, 0, 0)
	m.ProducedTo("orders", 1, 1)
	m.FetchedFrom("orders", 1, 1)
	m.ObserveRequest(0, 9, time.Millisecond, ok)
	cases := []struct {
		name string
		fn   func()
	}{
		{"ProducedTo", func() { m.ProducedTo("orders", 100, 10) }},
		{"FetchedFrom", func() { m.FetchedFrom("orders", 100, 10) }},
		{"ObserveRequest", func() { m.ObserveRequest(0, 9, time.Millisecond, ok) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if a := testing.AllocsPerRun(100, tc.fn); a != 0 {
				t.Errorf("%v allocations per call, want 0", a)
			}
		})
	}
}

func TestUnknownAPIKeyIsIgnored(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.ObserveRequest(-1, 0, time.Millisecond, nil)
	m.ObserveRequest(maxAPIKey+1, 0, time.Millisecond, nil)
	for series := range gather(t, reg) {
		if strings.HasPrefix(series, "sluice_requests_total") {
			t.Errorf("unexpected series %s", series)
		}
	}
}

// BenchmarkProducedTo is the per-partition cost the Produce path pays for metrics.
func BenchmarkProducedTo(b *testing.B) {
	m := New(prometheus.NewRegistry())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ProducedTo("orders", 1024, 10)
		}
	})
}

// BenchmarkObserveRequest is the per-request cost of request, latency and error metrics.
func BenchmarkObserveRequest(b *testing.B) {
	m := New(prometheus.NewRegistry())
	resp := produceResponse(0, 0, 0, 0, 0, 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveRequest(0, 9, 300*time.Microsecond, resp)
		}
	})
}
