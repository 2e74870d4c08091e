package console

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"
)

// The overview's throughput charts: a goroutine the Console owns samples the cluster every
// sampleEvery into a ring of one hour. With Options.Gatherer (the console inside a broker) a
// sample is the broker's own counters (bytes in and out, records in, per topic); without it
// (`sluice console` against another cluster) it is the sum of the partitions' end offsets,
// read with ListOffsets, which gives messages in per second but no bytes.

const (
	sampleEvery = 10 * time.Second
	sampleKeep  = int(time.Hour / sampleEvery) // one hour of points
	// sampleTopicsMax bounds the per-topic rates kept between samples.
	sampleTopicsMax = 100_000
)

// point is one interval's rates (per second), at T (unix milliseconds).
type point struct {
	T        int64   `json:"t"`
	BytesIn  float64 `json:"bytes_in"`
	BytesOut float64 `json:"bytes_out"`
	MsgsIn   float64 `json:"messages_in"`
}

// totals are cumulative counters at one instant.
type totals struct {
	at                        time.Time
	bytesIn, bytesOut, msgsIn float64
	topics                    map[string]float64 // messages in per topic
}

// sampler keeps the ring of points and the latest per-topic rates.
type sampler struct {
	source func(ctx context.Context) (totals, bool, error) // bool: bytes are known
	every  time.Duration

	mu         sync.Mutex
	ring       []point // oldest first once full: ring[next:] then ring[:next]
	next       int
	full       bool
	last       *totals
	topicRates map[string]float64
	hasBytes   bool
	lastErr    string
	done       chan struct{}
}

func newSampler(source func(ctx context.Context) (totals, bool, error), every time.Duration) *sampler {
	return &sampler{source: source, every: every, ring: make([]point, sampleKeep), done: make(chan struct{})}
}

// run samples until stop is closed.
func (s *sampler) run(stop <-chan struct{}) {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	s.sampleOnce(stop)
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.sampleOnce(stop)
		}
	}
}

func (s *sampler) sampleOnce(stop <-chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), s.every)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	cur, bytesKnown, err := s.source(ctx)
	if err != nil {
		s.mu.Lock()
		s.lastErr = err.Error()
		s.mu.Unlock()
		return
	}
	s.add(cur, bytesKnown)
}

// add records a sample: the rates since the previous one become a point.
func (s *sampler) add(cur totals, bytesKnown bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastErr = ""
	s.hasBytes = bytesKnown
	prev := s.last
	s.last = &cur
	if prev == nil {
		return
	}
	secs := cur.at.Sub(prev.at).Seconds()
	if secs <= 0 {
		return
	}
	rate := func(now, before float64) float64 {
		if now < before { // a counter reset (a restart) or a deleted topic: no rate
			return 0
		}
		return (now - before) / secs
	}
	s.ring[s.next] = point{T: cur.at.UnixMilli(), BytesIn: rate(cur.bytesIn, prev.bytesIn),
		BytesOut: rate(cur.bytesOut, prev.bytesOut), MsgsIn: rate(cur.msgsIn, prev.msgsIn)}
	s.next = (s.next + 1) % len(s.ring)
	s.full = s.full || s.next == 0
	s.topicRates = make(map[string]float64, len(cur.topics))
	for name, v := range cur.topics {
		if b, ok := prev.topics[name]; ok {
			s.topicRates[name] = rate(v, b)
		}
	}
}

// series is the points of the last hour, oldest first.
func (s *sampler) series() []point {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []point
	if s.full {
		out = append(out, s.ring[s.next:]...)
	}
	return append(out, s.ring[:s.next]...)
}

// topicRate is a topic's messages in per second over the last interval (ok false: unknown).
func (s *sampler) topicRate(name string) (float64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.topicRates[name]
	return v, ok
}

// gathererTotals reads the broker's topic counters: sluice_topic_bytes_in_total,
// sluice_topic_bytes_out_total and sluice_topic_records_in_total (internal/metrics).
func gathererTotals(g prometheus.Gatherer) func(context.Context) (totals, bool, error) {
	return func(context.Context) (totals, bool, error) {
		fams, err := g.Gather()
		if err != nil && len(fams) == 0 {
			return totals{}, false, err
		}
		t := totals{at: time.Now(), topics: make(map[string]float64)}
		for _, f := range fams {
			var sum *float64
			switch f.GetName() {
			case "sluice_topic_bytes_in_total":
				sum = &t.bytesIn
			case "sluice_topic_bytes_out_total":
				sum = &t.bytesOut
			case "sluice_topic_records_in_total":
				sum = &t.msgsIn
			default:
				continue
			}
			for _, m := range f.GetMetric() {
				v := counterValue(m)
				*sum += v
				if f.GetName() == "sluice_topic_records_in_total" && len(t.topics) < sampleTopicsMax {
					for _, l := range m.GetLabel() {
						if l.GetName() == "topic" {
							t.topics[l.GetValue()] += v
						}
					}
				}
			}
		}
		return t, true, nil
	}
}

func counterValue(m *dto.Metric) float64 {
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	if u := m.GetUntyped(); u != nil {
		return u.GetValue()
	}
	return 0
}

// offsetTotals sums the end offsets of every partition the admin client can list: records
// appended (less any aborted or deleted), so messages in per second, but no bytes.
func offsetTotals(admin func(ctx context.Context) (*kadm.Client, error)) func(context.Context) (totals, bool, error) {
	return func(ctx context.Context) (totals, bool, error) {
		adm, err := admin(ctx)
		if err != nil {
			return totals{}, false, err
		}
		ends, err := adm.ListEndOffsets(ctx)
		if err != nil {
			return totals{}, false, err
		}
		t := totals{at: time.Now(), topics: make(map[string]float64)}
		ends.Each(func(o kadm.ListedOffset) {
			if o.Err != nil || o.Offset < 0 {
				return
			}
			t.msgsIn += float64(o.Offset)
			if _, ok := t.topics[o.Topic]; ok || len(t.topics) < sampleTopicsMax {
				t.topics[o.Topic] += float64(o.Offset)
			}
		})
		return t, false, nil
	}
}

// samplerAdmin is the client the sampler reads end offsets with when there is no Gatherer:
// the anonymous session, or with sign-in the most recently used signed-in user's (nothing is
// sampled until someone signs in).
func (c *Console) samplerAdmin(ctx context.Context) (*kadm.Client, error) {
	if !c.opts.SignIn {
		s, err := c.anonymous(ctx)
		if err != nil {
			return nil, err
		}
		return s.Admin, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *Session
	for _, s := range c.sessions {
		if best == nil || s.used.Load() > best.used.Load() {
			best = s
		}
	}
	if best == nil {
		return nil, errNoSession
	}
	return best.Admin, nil
}

type sentinel string

func (e sentinel) Error() string { return string(e) }

const errNoSession = sentinel("nobody is signed in yet")

// startSampler starts the overview's sampler; Close stops it.
func (c *Console) startSampler() {
	src := offsetTotals(c.samplerAdmin)
	if c.opts.Gatherer != nil {
		src = gathererTotals(c.opts.Gatherer)
	}
	c.samp = newSampler(src, sampleEvery)
	go c.samp.run(c.stop)
}
