package replica

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// Throttle bounds a byte rate shared by many partitions: Kafka's replication throttles
// (leader.replication.throttled.rate, follower.replication.throttled.rate), which apply to the
// partitions a topic's *.replication.throttled.replicas names. It is a token bucket of one
// second: Allow reports whether there is budget left, Record spends it (possibly into debt, so
// one large fetch is never cut), and the budget refills at the rate.
//
// Concurrency: safe for concurrent use.
type Throttle struct {
	mu     sync.Mutex
	rate   float64 // bytes per second; <= 0: unlimited
	tokens float64
	last   time.Time
	now    func() time.Time
}

// NewThrottle returns a throttle at rate bytes per second (<= 0, or Kafka's default of
// Long.MAX_VALUE: unlimited).
func NewThrottle(rate float64) *Throttle {
	t := &Throttle{now: time.Now}
	t.SetRate(rate)
	return t
}

// SetRate changes the rate (a dynamic config).
func (t *Throttle) SetRate(rate float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if rate >= 1<<62 {
		rate = 0 // Kafka's default, Long.MAX_VALUE: no throttle
	}
	first := t.last.IsZero()
	t.refillLocked()
	t.rate = rate
	if first && rate > 0 {
		t.tokens = rate
	}
	if rate > 0 && t.tokens > rate {
		t.tokens = rate
	}
}

func (t *Throttle) refillLocked() {
	now := t.now()
	if t.rate > 0 && !t.last.IsZero() {
		t.tokens = min(t.rate, t.tokens+now.Sub(t.last).Seconds()*t.rate)
	}
	t.last = now
}

// Rate is the rate in bytes per second, 0 when unlimited.
func (t *Throttle) Rate() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rate
}

// Limited reports whether a rate is set (false: Allow is always true, Record does nothing).
func (t *Throttle) Limited() bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rate > 0
}

// Allow reports whether throttled traffic may go now.
func (t *Throttle) Allow() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rate <= 0 {
		return true
	}
	t.refillLocked()
	return t.tokens > 0
}

// Record spends n bytes.
func (t *Throttle) Record(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rate <= 0 {
		return
	}
	t.refillLocked()
	t.tokens -= float64(n)
}

// ThrottledOn reports whether a topic's *.replication.throttled.replicas value (its canonical
// form: "*", "" or comma-separated partition:broker pairs) names partition on broker.
func ThrottledOn(list string, partition, broker int32) bool {
	if list == "" {
		return false
	}
	if list == "*" {
		return true
	}
	for rest := list; rest != ""; {
		var item string
		item, rest, _ = strings.Cut(rest, ",")
		p, b, ok := strings.Cut(strings.TrimSpace(item), ":")
		if !ok {
			continue
		}
		if pi, err := strconv.ParseInt(p, 10, 32); err == nil && int32(pi) == partition {
			if bi, err := strconv.ParseInt(b, 10, 32); err == nil && int32(bi) == broker {
				return true
			}
		}
	}
	return false
}
