package quota

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/metadata"
)

// Kafka's defaults of quota.window.num and quota.window.size.seconds.
const (
	DefaultSamples = 11
	DefaultWindow  = time.Second
)

// sensorIdle is how long an unused sensor is kept (Kafka expires quota sensors after an hour).
const sensorIdle = time.Hour

// Kind is a quota type.
type Kind uint8

const (
	Produce            Kind = iota // producer_byte_rate: bytes of Produce requests
	Fetch                          // consumer_byte_rate: bytes of Fetch responses
	Request                        // request_percentage: handler time, percent of one thread
	ControllerMutation             // controller_mutation_rate: partitions created or deleted per second
	ConnectionCreation             // connection_creation_rate: connections accepted per second from one IP
	numKinds
)

// clientKinds are the kinds resolved for a (user, client id); ConnectionCreation is per IP.
const clientKinds = ConnectionCreation

var kindKeys = [numKinds]string{metadata.QuotaProducerByteRate, metadata.QuotaConsumerByteRate,
	metadata.QuotaRequestPercentage, metadata.QuotaControllerMutationRate, metadata.QuotaConnectionCreationRate}

// String is the kind's label in metrics.
func (k Kind) String() string {
	return [numKinds]string{"produce", "fetch", "request", "controller_mutation", "connection_creation"}[k]
}

// Config configures a Manager.
type Config struct {
	// Samples is quota.window.num (DefaultSamples if < 1).
	Samples int
	// Window is quota.window.size.seconds (DefaultWindow if <= 0).
	Window time.Duration
	// Now is the clock; nil means time.Now. Tests pass a fake one.
	Now func() time.Time
	// Registerer receives the quota metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// Client identifies who a request is accounted to.
type Client struct {
	// Quotas are the client quotas of the Image the request is handled with.
	Quotas *metadata.ClientQuotas
	// Conn caches the resolution for the connection; nil resolves every time (requests not
	// read from a connection, such as forwarded ones).
	Conn *ConnQuotas
	// Principal is "User:alice"; "" is User:ANONYMOUS.
	Principal string
	ClientID  string
}

// user is the principal's name, as Kafka's quotas take it (KafkaPrincipal.getName).
func (c Client) user() string {
	if c.Principal == "" {
		return "ANONYMOUS"
	}
	if _, name, ok := strings.Cut(c.Principal, ":"); ok {
		return name
	}
	return c.Principal
}

// ConnQuotas is one connection's cache of its resolved sensors. The zero value is ready; it
// is safe for concurrent use by the connection's requests.
type ConnQuotas struct {
	cached atomic.Pointer[resolved]
}

// resolved is the sensors of one (quotas, principal, client id), nil where no quota applies.
type resolved struct {
	quotas    *metadata.ClientQuotas
	principal string
	clientID  string
	sensors   [numKinds]*sensor
}

func (r *resolved) valid(c Client) bool {
	if r.quotas != c.Quotas || r.principal != c.Principal || r.clientID != c.ClientID {
		return false
	}
	for _, s := range r.sensors {
		if s != nil && s.dead.Load() {
			return false
		}
	}
	return true
}

// sensorKey identifies a sensor: the quota kind, the entity whose quota applies, and the
// user and client id that share it (empty when the entity does not include that type).
type sensorKey struct {
	kind     Kind
	entity   metadata.ClientQuotaEntity
	user     string
	clientID string
}

// sensor measures one client group's use of one quota.
type sensor struct {
	kind  Kind
	quota atomic.Uint64 // math.Float64bits of the quota value
	mu    struct {
		sync.Mutex
		rate   sampledRate
		bucket tokenBucket
	}
	lastUsedMs atomic.Int64
	dead       atomic.Bool // swept: connections must resolve again
	throttle   prometheus.Observer
	amount     prometheus.Counter
}

func (s *sensor) quotaValue() float64 { return math.Float64frombits(s.quota.Load()) }

// Manager keeps the sensors of every client with a quota.
//
// Concurrency: mu guards the sensor map and is held only to find or create a sensor, on a
// connection's first request after its quotas changed; recording takes the one sensor's lock.
type Manager struct {
	cfg     Config
	metrics *metrics
	mu      struct {
		sync.Mutex
		sensors map[sensorKey]*sensor
		sweptMs int64
		// limitsOf is the quotas sluice_quota_limit shows.
		limitsOf *metadata.ClientQuotas
	}
}

// New returns a Manager.
func New(cfg Config) *Manager {
	if cfg.Samples < 1 {
		cfg.Samples = DefaultSamples
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Manager{cfg: cfg, metrics: newMetrics(cfg.Registerer)}
	m.mu.sensors = map[sensorKey]*sensor{}
	return m
}

func (m *Manager) nowMs() int64 { return m.cfg.Now().UnixMilli() }

// resolve returns c's sensors, from the connection's cache when still valid.
func (m *Manager) resolve(c Client) *resolved {
	if c.Conn != nil {
		if r := c.Conn.cached.Load(); r != nil && r.valid(c) {
			return r
		}
	}
	r := &resolved{quotas: c.Quotas, principal: c.Principal, clientID: c.ClientID}
	m.syncLimits(c.Quotas)
	if c.Quotas != nil && c.Quotas.Len() > 0 {
		user := c.user()
		for k := range clientKinds {
			if v, e, ok := c.Quotas.Resolve(user, c.ClientID, kindKeys[k]); ok {
				r.sensors[k] = m.sensor(k, e, user, c.ClientID, v)
			}
		}
	}
	if c.Conn != nil {
		c.Conn.cached.Store(r)
	}
	return r
}

// sensor finds or creates the sensor for kind and the entity that matched, and sets its quota.
func (m *Manager) sensor(kind Kind, e metadata.ClientQuotaEntity, user, clientID string, quota float64) *sensor {
	key := sensorKey{kind: kind, entity: e}
	if e.HasUser || e.HasIP {
		key.user = user // for an IP entity, the IP
	}
	if e.HasClientID {
		key.clientID = clientID
	}
	now := m.nowMs()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(now)
	s := m.mu.sensors[key]
	if s == nil {
		s = &sensor{kind: kind}
		s.mu.rate = newSampledRate(m.cfg.Samples, m.cfg.Window)
		s.mu.bucket = tokenBucket{samples: m.cfg.Samples, windowMs: max(m.cfg.Window.Milliseconds(), 1)}
		s.throttle, s.amount = m.metrics.forEntity(kind, e)
		m.mu.sensors[key] = s
	}
	s.quota.Store(math.Float64bits(quota))
	s.lastUsedMs.Store(now)
	return s
}

// syncLimits makes sluice_quota_limit show q's quotas (every entity's, removed ones gone), once
// per new *ClientQuotas.
func (m *Manager) syncLimits(q *metadata.ClientQuotas) {
	if q == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.limitsOf == q {
		return
	}
	m.mu.limitsOf = q
	m.metrics.limit.Reset()
	for _, e := range q.Entities() {
		for key, v := range q.Get(e) {
			for k := range numKinds {
				if kindKeys[k] == key {
					m.metrics.setLimit(k, e, v)
				}
			}
		}
	}
}

// sweepLocked drops sensors unused for sensorIdle, at most once a minute.
func (m *Manager) sweepLocked(now int64) {
	if now-m.mu.sweptMs < time.Minute.Milliseconds() {
		return
	}
	m.mu.sweptMs = now
	for k, s := range m.mu.sensors {
		if now-s.lastUsedMs.Load() > sensorIdle.Milliseconds() {
			s.dead.Store(true)
			delete(m.mu.sensors, k)
		}
	}
}

// recordRate records v against s and returns the throttle time it earns.
func (m *Manager) recordRate(s *sensor, v float64, now int64) time.Duration {
	s.lastUsedMs.Store(now)
	s.mu.Lock()
	s.mu.rate.record(v, now)
	d := s.mu.rate.throttle(s.mu.rate.measure(now), s.quotaValue(), now)
	s.mu.Unlock()
	return d
}

func (m *Manager) observe(s *sensor, d time.Duration) {
	if d > 0 {
		s.throttle.Observe(d.Seconds())
	}
}

// RecordProduce records a Produce request of the given size (Kafka counts the whole request)
// and returns how long the client is throttled: 0 when within its quota or without one.
func (m *Manager) RecordProduce(c Client, bytes int64) time.Duration {
	s := m.resolve(c).sensors[Produce]
	if s == nil {
		m.metrics.unlimited[Produce].Add(float64(bytes))
		return 0
	}
	s.amount.Add(float64(bytes))
	d := m.recordRate(s, float64(bytes), m.nowMs())
	m.observe(s, d)
	return d
}

// RecordFetch records a Fetch response of the given size and returns the throttle time. A
// throttled fetch is answered without records, as Kafka does, so its bytes are taken back out
// of the rate: only what was sent counts.
func (m *Manager) RecordFetch(c Client, bytes int64) time.Duration {
	s := m.resolve(c).sensors[Fetch]
	if s == nil {
		m.metrics.unlimited[Fetch].Add(float64(bytes))
		return 0
	}
	now := m.nowMs()
	d := m.recordRate(s, float64(bytes), now)
	if d > 0 {
		s.mu.Lock()
		s.mu.rate.record(-float64(bytes), now)
		s.mu.Unlock()
	} else {
		s.amount.Add(float64(bytes))
	}
	m.observe(s, d)
	return d
}

// FetchMaxBytes bounds one fetch response of c as Kafka does: the bytes its quota allows in
// Samples-1 windows; -1 when c has no fetch quota.
func (m *Manager) FetchMaxBytes(c Client) int64 {
	s := m.resolve(c).sensors[Fetch]
	if s == nil {
		return -1
	}
	v := s.quotaValue() * float64(m.cfg.Samples-1) * m.cfg.Window.Seconds()
	return int64(min(v, math.MaxInt32))
}

// RecordRequestTime records the handler time of one request against request_percentage (the
// percentage of one thread's time per window; 100 is one thread) and returns the throttle
// time, capped at one window as Kafka's ClientRequestQuotaManager does.
func (m *Manager) RecordRequestTime(c Client, handler time.Duration) time.Duration {
	s := m.resolve(c).sensors[Request]
	if s == nil {
		return 0
	}
	percent := float64(handler.Nanoseconds()) * 100 / float64(time.Second)
	s.amount.Add(handler.Seconds())
	d := min(m.recordRate(s, percent, m.nowMs()), m.cfg.Window)
	m.observe(s, d)
	return d
}

// MutationsAllowed is the strict check of controller_mutation_rate (KIP-599, CreateTopics v6+,
// CreatePartitions v3+, DeleteTopics v5+): false, with the throttle time, when the client's
// bucket is already below zero, so the mutation must be refused (THROTTLING_QUOTA_EXCEEDED).
// A mutation that is allowed may take the bucket below zero.
func (m *Manager) MutationsAllowed(c Client) (time.Duration, bool) {
	s := m.resolve(c).sensors[ControllerMutation]
	if s == nil {
		return 0, true
	}
	now := m.nowMs()
	s.lastUsedMs.Store(now)
	s.mu.Lock()
	tokens := s.mu.bucket.measure(s.quotaValue(), now)
	s.mu.Unlock()
	d := bucketThrottle(tokens, s.quotaValue())
	return d, d == 0
}

// RecordMutations records partitions created or deleted (negative to give back ones that
// failed) and returns the throttle time: how long until the bucket is back at zero.
func (m *Manager) RecordMutations(c Client, partitions int) time.Duration {
	s := m.resolve(c).sensors[ControllerMutation]
	if s == nil {
		return 0
	}
	now := m.nowMs()
	s.lastUsedMs.Store(now)
	s.mu.Lock()
	tokens := s.mu.bucket.record(float64(partitions), s.quotaValue(), now)
	s.mu.Unlock()
	if partitions > 0 {
		s.amount.Add(float64(partitions))
	}
	d := bucketThrottle(tokens, s.quotaValue())
	m.observe(s, d)
	return d
}

// RecordConnection accounts a new connection from ip against its connection_creation_rate
// (KIP-612: the IP's own quota, else the default IP quota) and returns how long to hold the
// connection before closing it when the IP is over its rate (at most one window, as Kafka
// bounds it); 0 accepts it. A refused connection is not counted, so a client that backs off
// gets in once its rate allows.
func (m *Manager) RecordConnection(q *metadata.ClientQuotas, ip string) time.Duration {
	if q == nil || q.Len() == 0 {
		return 0
	}
	m.syncLimits(q)
	v, e, ok := q.ResolveIP(ip, metadata.QuotaConnectionCreationRate)
	if !ok {
		return 0
	}
	s := m.sensor(ConnectionCreation, e, ip, "", v)
	now := m.nowMs()
	d := m.recordRate(s, 1, now)
	if d > 0 {
		s.mu.Lock()
		s.mu.rate.record(-1, now)
		s.mu.Unlock()
		d = min(d, m.cfg.Window)
	}
	m.observe(s, d)
	return d
}
