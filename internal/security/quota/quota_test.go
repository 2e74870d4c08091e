package quota

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/metadata"
)

type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

func newTestManager(t *testing.T) (*Manager, *fakeClock, *prometheus.Registry) {
	t.Helper()
	clock := &fakeClock{now: time.UnixMilli(1_700_000_000_000)}
	reg := prometheus.NewRegistry()
	return New(Config{Now: clock.Now, Registerer: reg}), clock, reg
}

// quotas builds an Image's client quotas from (entity parts, key, value) triples.
func quotas(t *testing.T, recs ...*metadata.ClientQuotaRecord) *metadata.ClientQuotas {
	t.Helper()
	var rs []metadata.Record
	for _, r := range recs {
		rs = append(rs, r)
	}
	img, err := metadata.Empty().Apply(1, rs)
	if err != nil {
		t.Fatal(err)
	}
	return img.ClientQuotas()
}

func clientQuota(key string, v float64, parts ...metadata.QuotaEntityPart) *metadata.ClientQuotaRecord {
	return &metadata.ClientQuotaRecord{Entity: parts, Key: key, Value: v}
}

var (
	clientApp     = metadata.QuotaEntityPart{Type: metadata.QuotaEntityClientID, Name: "app"}
	clientDefault = metadata.QuotaEntityPart{Type: metadata.QuotaEntityClientID, Default: true}
	userAlice     = metadata.QuotaEntityPart{Type: metadata.QuotaEntityUser, Name: "alice"}
)

// TestSampledRate checks Kafka's Rate: a fresh sensor is measured over samples-1 whole
// windows, an old one over the time its windows span, and windows older than all of them
// together are forgotten.
func TestSampledRate(t *testing.T) {
	r := newSampledRate(11, time.Second)
	now := int64(1_000_000)
	r.record(1000, now)
	if got := r.measure(now); got != 100 {
		t.Fatalf("fresh: %v B/s, want 1000 B over 10 windows = 100", got)
	}
	// 14.5 s later the first window is obsolete (older than 11 windows): only the new bytes count.
	for i := 1; i <= 29; i++ {
		r.record(500, now+int64(i)*500)
	}
	now += 29 * 500
	// Windows started at +1 s ... +14 s (each 1 s of 500 B twice): the oldest retained starts
	// within 11 s of now.
	got := r.measure(now)
	if got < 900 || got > 1100 {
		t.Fatalf("steady 1000 B/s measured %v", got)
	}
}

// TestThrottleTime: Kafka's (rate - quota) / quota × window.
func TestThrottleTime(t *testing.T) {
	m, clock, _ := newTestManager(t)
	c := Client{Quotas: quotas(t, clientQuota(metadata.QuotaProducerByteRate, 1000, clientApp)), ClientID: "app"}
	if d := m.RecordProduce(c, 10000); d != 0 {
		t.Fatalf("10000 B over 10 s is 1000 B/s, within the quota; throttled %v", d)
	}
	// 20000 B in 10 s is 2000 B/s: (2000-1000)/1000 × 10 s.
	if d := m.RecordProduce(c, 10000); d != 10*time.Second {
		t.Fatalf("throttle %v, want 10s", d)
	}
	// Another client id has no quota.
	if d := m.RecordProduce(Client{Quotas: c.Quotas, ClientID: "other"}, 1e9); d != 0 {
		t.Fatalf("unlimited client throttled %v", d)
	}
	clock.Advance(time.Minute)
	if d := m.RecordProduce(c, 1000); d != 0 {
		t.Fatalf("after a quiet minute: throttled %v", d)
	}
}

// TestThrottledProducerConvergesToQuota simulates a client that honours the throttle time
// (as KIP-219 clients do): over a minute its rate is the quota.
func TestThrottledProducerConvergesToQuota(t *testing.T) {
	m, clock, _ := newTestManager(t)
	const quota = 1 << 20
	c := Client{Quotas: quotas(t, clientQuota(metadata.QuotaProducerByteRate, quota, clientApp)), ClientID: "app", Conn: &ConnQuotas{}}
	start := clock.now
	var sent int64
	throttled := 0
	for clock.now.Sub(start) < time.Minute {
		const batch = 64 << 10
		sent += batch
		d := m.RecordProduce(c, batch)
		if d > 0 {
			throttled++
		}
		clock.Advance(max(d, 5*time.Millisecond)) // the client sends at most every 5 ms
	}
	rate := float64(sent) / clock.now.Sub(start).Seconds()
	if rate < 0.9*quota || rate > 1.1*quota || throttled == 0 {
		t.Fatalf("rate %.0f B/s for a quota of %d (throttled %d times)", rate, quota, throttled)
	}
}

func TestFetchThrottledIsNotCounted(t *testing.T) {
	m, _, _ := newTestManager(t)
	c := Client{Quotas: quotas(t, clientQuota(metadata.QuotaConsumerByteRate, 1000, clientDefault)), ClientID: "x"}
	if got := m.FetchMaxBytes(c); got != 10000 {
		t.Fatalf("fetch max bytes %d, want the quota's 10 windows", got)
	}
	if d := m.RecordFetch(c, 9000); d != 0 {
		t.Fatal("first fetch throttled")
	}
	if d := m.RecordFetch(c, 2000); d == 0 {
		t.Fatal("fetch over the quota not throttled")
	}
	// The throttled 2000 B were not sent, so 1000 B more still fit.
	if d := m.RecordFetch(c, 1000); d != 0 {
		t.Fatalf("throttled fetch counted: %v", d)
	}
	if other := m.FetchMaxBytes(Client{ClientID: "x"}); other != -1 {
		t.Fatalf("no quotas: %d", other)
	}
}

func TestControllerMutationBucket(t *testing.T) {
	m, clock, _ := newTestManager(t)
	c := Client{Quotas: quotas(t, clientQuota(metadata.QuotaControllerMutationRate, 10, userAlice)), Principal: "User:alice"}
	if _, ok := m.MutationsAllowed(c); !ok {
		t.Fatal("a full bucket refused")
	}
	// Burst is 10/s × 11 windows of 1 s = 110.
	if d := m.RecordMutations(c, 100); d != 0 {
		t.Fatalf("within the burst: throttled %v", d)
	}
	if d := m.RecordMutations(c, 20); d != time.Second {
		t.Fatalf("10 below zero at 10/s: throttle %v, want 1s", d)
	}
	if d, ok := m.MutationsAllowed(c); ok || d != time.Second {
		t.Fatalf("strict check below zero: %v %v", d, ok)
	}
	clock.Advance(time.Second)
	if _, ok := m.MutationsAllowed(c); !ok {
		t.Fatal("refilled bucket refused")
	}
	// Anonymous and other users have no quota.
	if _, ok := m.MutationsAllowed(Client{Quotas: c.Quotas}); !ok {
		t.Fatal("anonymous refused")
	}
}

func TestRequestPercentageCappedAtOneWindow(t *testing.T) {
	m, _, _ := newTestManager(t)
	c := Client{Quotas: quotas(t, clientQuota(metadata.QuotaRequestPercentage, 1, userAlice)), Principal: "User:alice"}
	// 5 s of handler time against 1% of a thread: far over, but throttled one window at most.
	if d := m.RecordRequestTime(c, 5*time.Second); d != time.Second {
		t.Fatalf("throttle %v", d)
	}
}

// TestConnCacheFollowsImage: a connection's cached resolution is replaced when the Image's
// quotas change, and clients matched by a default entity share neither sensor nor label.
func TestConnCacheFollowsImage(t *testing.T) {
	m, _, reg := newTestManager(t)
	conn := &ConnQuotas{}
	q1 := quotas(t, clientQuota(metadata.QuotaProducerByteRate, 1000, clientDefault))
	c := Client{Quotas: q1, Conn: conn, ClientID: "a"}
	m.RecordProduce(c, 10000)
	first := conn.cached.Load()
	m.RecordProduce(c, 1)
	if conn.cached.Load() != first {
		t.Fatal("cache replaced without a change")
	}
	q2 := quotas(t, clientQuota(metadata.QuotaProducerByteRate, 1e9, clientDefault))
	c.Quotas = q2
	if d := m.RecordProduce(c, 10000); d != 0 || conn.cached.Load() == first {
		t.Fatalf("new quota not picked up: throttled %v", d)
	}
	// client b matched by the same default entity has its own sensor…
	if d := m.RecordProduce(Client{Quotas: q1, ClientID: "b"}, 10000); d != 0 {
		t.Fatalf("b throttled for a's bytes: %v", d)
	}
	// …and the metric labels name the entity, not the client ids.
	series := recordedSeries(t, reg)
	if len(series) != int(numKinds)+1 || series["produce//<default>"] != 30001 {
		t.Fatalf("series of sluice_quota_recorded_total: %v; want one unlimited per kind and client_id=<default> with 30001 bytes", series)
	}
}

func TestRecordProduceDoesNotAllocate(t *testing.T) {
	m, _, _ := newTestManager(t)
	c := Client{Quotas: quotas(t, clientQuota(metadata.QuotaProducerByteRate, 1e12, clientApp)), Conn: &ConnQuotas{},
		Principal: "User:alice", ClientID: "app"}
	m.RecordProduce(c, 1)
	if n := testing.AllocsPerRun(100, func() { m.RecordProduce(c, 100); m.RecordFetch(c, 100) }); n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
}

// recordedSeries returns sluice_quota_recorded_total by "type/user/client_id".
func recordedSeries(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "sluice_quota_recorded_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[labels["type"]+"/"+labels["user"]+"/"+labels["client_id"]] = m.GetCounter().GetValue()
		}
	}
	return out
}

// TestConnectionCreationRate: an IP over its connection_creation_rate is refused for at most
// one window, the refused connection is not counted, and other IPs are not affected unless the
// default IP quota applies to them.
func TestConnectionCreationRate(t *testing.T) {
	m, clock, _ := newTestManager(t)
	q := quotas(t, clientQuota(metadata.QuotaConnectionCreationRate, 1, metadata.QuotaEntityPart{Type: metadata.QuotaEntityIP, Name: "10.0.0.1"}))
	// 1/s over 10 windows at first: 10 connections pass, the 11th is refused.
	for i := range 10 {
		if d := m.RecordConnection(q, "10.0.0.1"); d != 0 {
			t.Fatalf("connection %d refused for %v", i, d)
		}
	}
	if d := m.RecordConnection(q, "10.0.0.1"); d <= 0 || d > time.Second {
		t.Fatalf("11th connection: %v, want a refusal of at most one window", d)
	}
	if d := m.RecordConnection(q, "10.0.0.2"); d != 0 {
		t.Fatalf("another IP refused: %v", d)
	}
	// The 10 connections are within the rate again once they span 11 windows.
	clock.Advance(11 * time.Second)
	if d := m.RecordConnection(q, "10.0.0.1"); d != 0 {
		t.Fatalf("after 11 s: %v", d)
	}
	if d := m.RecordConnection(metadata.Empty().ClientQuotas(), "10.0.0.1"); d != 0 {
		t.Fatalf("no quotas: %v", d)
	}
}

// TestLimitMetricFollowsQuotas: sluice_quota_limit shows the quotas of the latest Image seen,
// and a removed quota's series goes away.
func TestLimitMetricFollowsQuotas(t *testing.T) {
	m, _, reg := newTestManager(t)
	q1 := quotas(t, clientQuota(metadata.QuotaProducerByteRate, 1000, clientApp), clientQuota(metadata.QuotaConsumerByteRate, 5, userAlice))
	m.RecordProduce(Client{Quotas: q1, ClientID: "other"}, 1)
	if got := limitSeries(t, reg); len(got) != 2 || got["produce//app"] != 1000 || got["fetch/alice/"] != 5 {
		t.Fatalf("limits %v", got)
	}
	q2 := quotas(t, clientQuota(metadata.QuotaProducerByteRate, 2000, clientApp))
	m.RecordProduce(Client{Quotas: q2, ClientID: "other"}, 1)
	if got := limitSeries(t, reg); len(got) != 1 || got["produce//app"] != 2000 {
		t.Fatalf("limits after a change %v", got)
	}
}

func limitSeries(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "sluice_quota_limit" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[labels["type"]+"/"+labels["user"]+"/"+labels["client_id"]] = m.GetGauge().GetValue()
		}
	}
	return out
}

// BenchmarkRecordProduce is the per-request cost of producer_byte_rate accounting with a
// connection's cached resolution: a client with a quota (one sensor lock) and one without
// (a shared counter), and many connections of one client sharing its sensor.
func BenchmarkRecordProduce(b *testing.B) {
	img, err := metadata.Empty().Apply(1, []metadata.Record{clientQuota(metadata.QuotaProducerByteRate, 1e15, clientApp)})
	if err != nil {
		b.Fatal(err)
	}
	m := New(Config{})
	for _, bc := range []struct {
		name     string
		clientID string
	}{{"quota", "app"}, {"no-quota", "other"}} {
		b.Run(bc.name, func(b *testing.B) {
			c := Client{Quotas: img.ClientQuotas(), Conn: &ConnQuotas{}, Principal: "User:alice", ClientID: bc.clientID}
			b.ReportAllocs()
			for range b.N {
				m.RecordProduce(c, 1024)
			}
		})
	}
	b.Run("quota-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			c := Client{Quotas: img.ClientQuotas(), Conn: &ConnQuotas{}, Principal: "User:alice", ClientID: "app"}
			for pb.Next() {
				m.RecordProduce(c, 1024)
			}
		})
	})
}
