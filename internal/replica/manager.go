package replica

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
)

// Sender sends a request to a broker's Kafka listener and returns its answer
// (cluster.Client): SendInto reads the answer into a buffer the caller reuses.
type Sender interface {
	Send(ctx context.Context, addr string, req kmsg.Request) (kmsg.Response, error)
	SendInto(ctx context.Context, addr string, req kmsg.Request, body *[]byte) (kmsg.Response, error)
}

// Options configure a Manager. Zero durations and sizes take Kafka's defaults.
type Options struct {
	NodeID     int32
	Partitions *partition.Manager
	// Image returns the newest applied metadata Image (leader endpoints, broker epochs).
	Image func() *metadata.Image
	// BrokerEpoch returns this broker's current broker epoch (-1 before it registered).
	BrokerEpoch func() int64
	Sender      Sender
	// Listener is the inter-broker listener name (inter.broker.listener.name): fetchers
	// connect to the leader's endpoint of that listener ("" the leader's first endpoint).
	Listener string

	MaxWait           time.Duration // replica.fetch.wait.max.ms (500 ms)
	MinBytes          int32         // replica.fetch.min.bytes (1)
	MaxBytes          int32         // replica.fetch.response.max.bytes (10 MiB)
	PartitionMaxBytes int32         // replica.fetch.max.bytes (1 MiB)
	Backoff           time.Duration // replica.fetch.backoff.ms (1 s)

	// FollowerThrottle, if set, bounds the bytes per second fetched for the partitions a
	// topic's follower.replication.throttled.replicas names on this broker while this replica
	// is out of their ISR (follower.replication.throttled.rate).
	FollowerThrottle *Throttle

	// FetchedBytes, if set, counts the record bytes fetched from each leader.
	FetchedBytes func(leader int32, n int)
	Logger       *slog.Logger
}

func (o *Options) defaults() {
	if o.MaxWait <= 0 {
		o.MaxWait = 500 * time.Millisecond
	}
	if o.MinBytes <= 0 {
		o.MinBytes = 1
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 10 << 20
	}
	if o.PartitionMaxBytes <= 0 {
		o.PartitionMaxBytes = 1 << 20
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.BrokerEpoch == nil {
		o.BrokerEpoch = func() int64 { return -1 }
	}
}

// Manager owns the fetchers of one broker.
//
// Concurrency: Update and Close may be called from any goroutine (the broker calls Update on
// the metadata FSM goroutine after each Image); each fetcher's goroutine is the only one that
// appends to or truncates the partitions it follows.
type Manager struct {
	opts Options

	mu struct {
		sync.Mutex
		fetchers map[int32]*fetcher // by source (leader) broker id
		closed   bool
	}
}

// NewManager returns a Manager with no fetchers; Update starts them.
func NewManager(opts Options) *Manager {
	opts.defaults()
	m := &Manager{opts: opts}
	m.mu.fetchers = make(map[int32]*fetcher)
	return m
}

// Update makes the fetchers follow exactly the hosted partitions this node is a follower of
// in img, each at its leader in its current leader epoch: new followers are added to their
// leader's fetcher, partitions whose leader or epoch changed move or restart, and those this
// node now leads (or no longer hosts) are dropped. A fetcher left with nothing stops.
func (m *Manager) Update(img *metadata.Image) {
	want := make(map[int32]map[partitionKey]assignment)
	for _, p := range m.opts.Partitions.Partitions() {
		st := p.State()
		if st.Leader < 0 || st.Leader == m.opts.NodeID {
			continue
		}
		t, ok := img.Topic(p.Topic())
		if !ok || t.ID != metadata.TopicID(p.TopicID()) {
			continue
		}
		byKey := want[st.Leader]
		if byKey == nil {
			byKey = make(map[partitionKey]assignment)
			want[st.Leader] = byKey
		}
		byKey[partitionKey{topic: p.Topic(), partition: p.Index()}] = assignment{p: p, topicID: t.ID, epoch: st.LeaderEpoch}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.closed {
		return
	}
	for leader, f := range m.mu.fetchers {
		if _, ok := want[leader]; !ok {
			f.stop()
			delete(m.mu.fetchers, leader)
		}
	}
	for leader, parts := range want {
		f := m.mu.fetchers[leader]
		if f == nil {
			f = newFetcher(m, leader)
			m.mu.fetchers[leader] = f
			go f.run()
		}
		f.assign(parts)
	}
}

// Following returns how many partitions each fetcher follows, by leader id.
func (m *Manager) Following() map[int32]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[int32]int, len(m.mu.fetchers))
	for leader, f := range m.mu.fetchers {
		out[leader] = f.count()
	}
	return out
}

// Close stops every fetcher and waits for them.
func (m *Manager) Close() {
	m.mu.Lock()
	m.mu.closed = true
	fetchers := m.mu.fetchers
	m.mu.fetchers = nil
	m.mu.Unlock()
	for _, f := range fetchers {
		f.stop()
	}
	for _, f := range fetchers {
		<-f.done
	}
}
