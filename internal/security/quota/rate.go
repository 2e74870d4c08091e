package quota

import "time"

// sample is one window of a sampledRate (Kafka's SampledStat.Sample).
type sample struct {
	start     int64 // unix milliseconds at which the window began
	lastEvent int64 // unix milliseconds of the window's last recording
	value     float64
}

// sampledRate is Kafka's Rate over a windowed sum (SampledStat): windows of windowMs, of which
// the latest samples count, plus one more kept so that a window overlapping the measured span
// is not dropped while it still has recent events. It is not safe for concurrent use; a sensor
// guards it.
type sampledRate struct {
	samples  []sample // grows to samples+1, then reused round-robin
	current  int
	count    int // quota.window.num
	windowMs int64
}

func newSampledRate(n int, window time.Duration) sampledRate {
	return sampledRate{samples: make([]sample, 0, n+1), count: n, windowMs: max(window.Milliseconds(), 1)}
}

func (r *sampledRate) currentSample(nowMs int64) *sample {
	if len(r.samples) == 0 {
		r.samples = append(r.samples, sample{start: nowMs, lastEvent: nowMs})
	}
	return &r.samples[r.current]
}

// record adds v at nowMs, starting a new window when the current one is complete.
func (r *sampledRate) record(v float64, nowMs int64) {
	s := r.currentSample(nowMs)
	if nowMs-s.start >= r.windowMs {
		r.current = (r.current + 1) % cap(r.samples)
		if r.current >= len(r.samples) {
			r.samples = append(r.samples, sample{})
		}
		s = &r.samples[r.current]
		*s = sample{start: nowMs}
	}
	s.value += v
	s.lastEvent = nowMs
}

// purge resets windows without an event for as long as all the windows together span
// (Kafka's purgeObsoleteSamples).
func (r *sampledRate) purge(nowMs int64) {
	expire := int64(r.count) * r.windowMs
	for i := range r.samples {
		if nowMs-r.samples[i].lastEvent >= expire {
			r.samples[i] = sample{start: nowMs, lastEvent: nowMs}
		}
	}
}

// windowSize is the time, in milliseconds, the rate is taken over: from the oldest window's
// start to now, but at least samples-1 whole windows, so a fresh sensor is not measured over a
// few milliseconds (Kafka's Rate.windowSize).
func (r *sampledRate) windowSize(nowMs int64) int64 {
	r.purge(nowMs)
	oldest := r.currentSample(nowMs).start
	for i := range r.samples {
		oldest = min(oldest, r.samples[i].start)
	}
	elapsed := nowMs - oldest
	if full, minFull := elapsed/r.windowMs, int64(r.count-1); full < minFull {
		elapsed += (minFull - full) * r.windowMs
	}
	return max(elapsed, 1)
}

// measure is the rate per second at nowMs.
func (r *sampledRate) measure(nowMs int64) float64 {
	r.purge(nowMs)
	var total float64
	for i := range r.samples {
		total += r.samples[i].value
	}
	return total / (float64(r.windowSize(nowMs)) / 1000)
}

// throttle is how long a client measured at rate must wait for its quota: Kafka's
// QuotaUtils.throttleTime, (rate - quota) / quota × the window the rate was taken over; zero
// when the rate is within the quota.
func (r *sampledRate) throttle(rate, quota float64, nowMs int64) time.Duration {
	if rate <= quota {
		return 0
	}
	ms := (rate - quota) / quota * float64(r.windowSize(nowMs))
	return time.Duration(ms+0.5) * time.Millisecond
}

// tokenBucket is Kafka's TokenBucket (KIP-599): it holds up to burst = quota × samples ×
// window tokens, refills at quota per second, and a recording takes tokens, possibly going
// below zero. It starts full.
type tokenBucket struct {
	tokens   float64
	lastMs   int64
	started  bool
	samples  int
	windowMs int64
}

func (b *tokenBucket) burst(quota float64) float64 {
	return quota * float64(b.samples) * float64(b.windowMs) / 1000
}

func (b *tokenBucket) refill(quota float64, nowMs int64) {
	if !b.started {
		b.tokens, b.lastMs, b.started = b.burst(quota), nowMs, true
		return
	}
	b.tokens = min(b.burst(quota), b.tokens+quota*float64(nowMs-b.lastMs)/1000)
	b.lastMs = nowMs
}

// record takes v tokens and returns the tokens left.
func (b *tokenBucket) record(v, quota float64, nowMs int64) float64 {
	b.refill(quota, nowMs)
	b.tokens = min(b.burst(quota), b.tokens-v)
	return b.tokens
}

// measure returns the tokens at nowMs.
func (b *tokenBucket) measure(quota float64, nowMs int64) float64 {
	b.refill(quota, nowMs)
	return b.tokens
}

// bucketThrottle is Kafka's throttle time for a token bucket: the time to refill to zero.
func bucketThrottle(tokens, quota float64) time.Duration {
	if tokens >= 0 {
		return 0
	}
	return time.Duration(-tokens/quota*1000+0.5) * time.Millisecond
}
