package console

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestParseConfigLines(t *testing.T) {
	got, err := parseConfigLines("retention.ms=1000\n\n# a comment\r\ncleanup.policy = compact \nmessage.format=a=b\n")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"retention.ms": "1000", "cleanup.policy": "compact", "message.format": "a=b"}
	if len(got) != len(want) {
		t.Fatalf("got %d configs, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] == nil || *got[k] != v {
			t.Fatalf("%s = %v, want %q", k, got[k], v)
		}
	}
	for _, bad := range []string{"novalue", "=x", "a=1\na=2", strings.Repeat("k=v\n", maxConfigLines+1), strings.Repeat("x", maxConfigText+1)} {
		if _, err := parseConfigLines(bad); err == nil {
			t.Errorf("parseConfigLines(%.40q) accepted it", bad)
		}
	}
}

func FuzzParseConfigLines(f *testing.F) {
	f.Add("retention.ms=1000\ncleanup.policy=compact")
	f.Add("# c\n\n=x\n")
	f.Add("a=b=c\r\n a = \n")
	f.Fuzz(func(t *testing.T, text string) {
		got, err := parseConfigLines(text)
		if err != nil {
			return
		}
		if len(got) > maxConfigLines {
			t.Fatalf("%d configs", len(got))
		}
		for k, v := range got {
			if k == "" || strings.TrimSpace(k) != k || v == nil || strings.Contains(k, "\n") {
				t.Fatalf("config %q = %v", k, v)
			}
		}
	})
}

func TestValidTopicName(t *testing.T) {
	for _, ok := range []string{"orders", "a.b_c-D9", strings.Repeat("x", 249)} {
		if err := validTopicName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a b", "ä", "a/b", strings.Repeat("x", 250)} {
		if validTopicName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSourceLabel(t *testing.T) {
	for kafka, want := range map[string]string{"DYNAMIC_TOPIC_CONFIG": "dynamic", "DEFAULT_CONFIG": "default",
		"STATIC_BROKER_CONFIG": "static", "DYNAMIC_BROKER_CONFIG": "dynamic broker", "UNKNOWN": "unknown"} {
		if got := sourceLabel(kafka); got != want {
			t.Errorf("sourceLabel(%s) = %q, want %q", kafka, got, want)
		}
	}
}

// TestSamplerRing: rates between samples, a counter reset gives 0 not a negative rate, and the
// ring keeps the last hour in order once it wraps.
func TestSamplerRing(t *testing.T) {
	s := newSampler(nil, sampleEvery)
	t0 := time.Unix(1_800_000_000, 0)
	s.add(totals{at: t0, msgsIn: 100, bytesIn: 1000, topics: map[string]float64{"a": 100}}, true)
	if len(s.series()) != 0 {
		t.Fatal("a point from one sample")
	}
	s.add(totals{at: t0.Add(10 * time.Second), msgsIn: 200, bytesIn: 6000, topics: map[string]float64{"a": 150, "b": 50}}, true)
	pts := s.series()
	if len(pts) != 1 || pts[0].MsgsIn != 10 || pts[0].BytesIn != 500 {
		t.Fatalf("points %+v, want 10 messages/s and 500 bytes/s", pts)
	}
	if r, ok := s.topicRate("a"); !ok || r != 5 {
		t.Fatalf("topic a: %v %v, want 5/s", r, ok)
	}
	if _, ok := s.topicRate("b"); ok {
		t.Fatal("topic b has a rate from one sample")
	}
	s.add(totals{at: t0.Add(20 * time.Second), msgsIn: 50}, true) // a restart
	if p := s.series()[1]; p.MsgsIn != 0 {
		t.Fatalf("after a counter reset: %+v", p)
	}
	for i := 3; i < sampleKeep+10; i++ {
		s.add(totals{at: t0.Add(time.Duration(i) * 10 * time.Second), msgsIn: float64(50 + i)}, true)
	}
	pts = s.series()
	if len(pts) != sampleKeep {
		t.Fatalf("%d points kept, want %d", len(pts), sampleKeep)
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].T <= pts[i-1].T {
			t.Fatalf("points out of order at %d", i)
		}
	}
	if last := pts[len(pts)-1].T; last != t0.Add(time.Duration(sampleKeep+9)*10*time.Second).UnixMilli() {
		t.Fatalf("last point at %d", last)
	}
}

// TestGathererTotals reads the broker's counter names from a real registry.
func TestGathererTotals(t *testing.T) {
	reg := prometheus.NewRegistry()
	in := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_topic_records_in_total"}, []string{"topic"})
	bin := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_topic_bytes_in_total"}, []string{"topic"})
	bout := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_topic_bytes_out_total"}, []string{"topic"})
	reg.MustRegister(in, bin, bout)
	in.WithLabelValues("a").Add(3)
	in.WithLabelValues("b").Add(4)
	bin.WithLabelValues("a").Add(100)
	bout.WithLabelValues("b").Add(7)
	tot, bytesKnown, err := gathererTotals(reg)(t.Context())
	if err != nil || !bytesKnown {
		t.Fatal(err, bytesKnown)
	}
	if tot.msgsIn != 7 || tot.bytesIn != 100 || tot.bytesOut != 7 || tot.topics["a"] != 3 || tot.topics["b"] != 4 {
		t.Fatalf("totals %+v", tot)
	}
}
