package share

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// Kafka's defaults for a share group's delivery configuration (group.share.* broker configs).
const (
	DefaultRecordLockDuration      = 30 * time.Second
	DefaultDeliveryCountLimit      = 5
	DefaultPartitionMaxRecordLocks = 2000
)

// DefaultGroupConfig is a share group's configuration with Kafka's defaults.
func DefaultGroupConfig() GroupConfig {
	return GroupConfig{AutoOffsetReset: "latest", RecordLockDuration: DefaultRecordLockDuration,
		DeliveryCountLimit: DefaultDeliveryCountLimit, PartitionMaxRecordLocks: DefaultPartitionMaxRecordLocks}
}

// ManagerOptions configure a Manager.
type ManagerOptions struct {
	Persister Persister
	// Membership answers membership and group configuration; nil uses DefaultGroupConfig and
	// takes every member id.
	Membership Membership
	Logger     *slog.Logger
	// Now is the clock (tests inject one); nil is time.Now.
	Now func() time.Time
	// TickInterval is how often the lock-timeout goroutine looks for expired locks; 0 is
	// 100ms.
	TickInterval time.Duration
}

// Manager holds this broker's share-partitions (Kafka's SharePartitionManager) and runs the
// one goroutine that times out acquisition locks.
type Manager struct {
	opts ManagerOptions
	mu   struct {
		sync.Mutex
		parts map[Key]*Partition
	}
}

// NewManager returns a Manager; call Run to time out locks.
func NewManager(opts ManagerOptions) *Manager {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.TickInterval <= 0 {
		opts.TickInterval = 100 * time.Millisecond
	}
	m := &Manager{opts: opts}
	m.mu.parts = map[Key]*Partition{}
	return m
}

// Now is the manager's clock.
func (m *Manager) Now() time.Time { return m.opts.Now() }

// Persister is the persister the manager writes through.
func (m *Manager) Persister() Persister { return m.opts.Persister }

// Config is group's effective configuration.
func (m *Manager) Config(group string) GroupConfig {
	if m.opts.Membership == nil {
		return DefaultGroupConfig()
	}
	c := m.opts.Membership.ShareGroupConfig(group)
	d := DefaultGroupConfig()
	if c.AutoOffsetReset == "" {
		c.AutoOffsetReset = d.AutoOffsetReset
	}
	if c.RecordLockDuration <= 0 {
		c.RecordLockDuration = d.RecordLockDuration
	}
	if c.DeliveryCountLimit <= 0 {
		c.DeliveryCountLimit = d.DeliveryCountLimit
	}
	if c.PartitionMaxRecordLocks <= 0 {
		c.PartitionMaxRecordLocks = d.PartitionMaxRecordLocks
	}
	return c
}

// Member checks memberID against the group coordinator's view (nil Membership: any).
func (m *Manager) Member(group, memberID string) error {
	if m.opts.Membership == nil {
		return nil
	}
	return m.opts.Membership.ShareMember(group, memberID)
}

// Partition returns k's share-partition, creating it (unloaded) on first use.
func (m *Manager) Partition(k Key) *Partition {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.mu.parts[k]
	if !ok {
		p = &Partition{key: k, persister: m.opts.Persister}
		m.mu.parts[k] = p
	}
	return p
}

// Lookup returns k's share-partition if this broker has one.
func (m *Manager) Lookup(k Key) (*Partition, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.mu.parts[k]
	return p, ok
}

// Partitions returns every share-partition this broker holds.
func (m *Manager) Partitions() []*Partition {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Partition, 0, len(m.mu.parts))
	for _, p := range m.mu.parts {
		out = append(out, p)
	}
	return out
}

// InFlight is one share-partition's acquired-record count.
type InFlight struct {
	Key      Key
	Acquired int64
}

// InFlight lists the acquired-record count of every share-partition held here.
func (m *Manager) InFlight() []InFlight {
	parts := m.Partitions()
	out := make([]InFlight, 0, len(parts))
	for _, p := range parts {
		out = append(out, InFlight{Key: p.key, Acquired: p.acquired.Load()})
	}
	return out
}

// Run times out acquisition locks until ctx ends: every TickInterval it releases the
// records of share-partitions whose earliest lock deadline passed, each on its own
// goroutine so that one slow persister write does not hold up the others.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.opts.TickInterval)
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.expire(ctx, &wg)
	}
}

// ExpireNow runs one pass of lock timeouts synchronously (tests).
func (m *Manager) ExpireNow(ctx context.Context) {
	var wg sync.WaitGroup
	m.expire(ctx, &wg)
	wg.Wait()
}

func (m *Manager) expire(ctx context.Context, wg *sync.WaitGroup) {
	now := m.opts.Now()
	for _, p := range m.Partitions() {
		d := p.nextDeadline.Load()
		if d == 0 || d > now.UnixNano() || !p.expiring.CompareAndSwap(false, true) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer p.expiring.Store(false)
			if err := p.Expire(ctx, m.Config(p.key.Group), now); err != nil {
				m.opts.Logger.Warn("share: lock timeout not persisted; state reloads on next fetch",
					"group", p.key.Group, "partition", p.key.Partition, "err", err)
			}
		}()
	}
}

// ParseISODuration parses the ISO-8601 durations share.auto.offset.reset's by_duration
// takes: P[nD][T[nH][nM][n[.n]S]] (Java's Duration.parse without weeks, months or years).
func ParseISODuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("share: invalid ISO-8601 duration %q", s)
	if len(s) < 2 || (s[0] != 'P' && s[0] != 'p') {
		return 0, bad
	}
	var total time.Duration
	inTime, num, any := false, "", false
	for _, c := range s[1:] {
		switch {
		case c >= '0' && c <= '9' || c == '.':
			num += string(c)
		case c == 'T' || c == 't':
			if inTime || num != "" {
				return 0, bad
			}
			inTime = true
		default:
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || num == "" || v < 0 {
				return 0, bad
			}
			var unit time.Duration
			switch {
			case !inTime && (c == 'D' || c == 'd'):
				unit = 24 * time.Hour
			case inTime && (c == 'H' || c == 'h'):
				unit = time.Hour
			case inTime && (c == 'M' || c == 'm'):
				unit = time.Minute
			case inTime && (c == 'S' || c == 's'):
				unit = time.Second
			default:
				return 0, bad
			}
			total += time.Duration(v * float64(unit))
			num, any = "", true
		}
	}
	if num != "" || !any {
		return 0, bad
	}
	return total, nil
}
