package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/registry"
)

// ErrCatchingUp is returned by Append on the writer while its state may trail _schemas (it
// just became writer, or a write of its own did not complete and may still be committed): the
// caller's records may have been computed from stale state, so nothing was written; retry.
var ErrCatchingUp = errors.New("store: the _schemas writer is catching up with the log; retry")

// Options configure a Store.
type Options struct {
	NodeID int32
	// Seeds are the local broker's inter-broker listener (its advertised host:port): the
	// reader's client starts there and follows the metadata it is given.
	Seeds []string
	// Dial, if set, dials the brokers (the inter-broker listener's TLS client side).
	Dial func(ctx context.Context, network, host string) (net.Conn, error)
	// SASL, if set, authenticates the reader's client (the inter-broker credentials).
	SASL sasl.Mechanism
	// Partitions are this node's replicas: the writer appends to its leader replica of
	// _schemas partition 0 directly.
	Partitions *partition.Manager
	// Creator creates _schemas when it is missing (the active controller).
	Creator partition.TopicCreator
	// Image returns the latest metadata Image (leaderships, brokers and their registry URLs).
	Image func() *metadata.Image
	// Applier receives every record, in log order, on the reader's goroutine.
	Applier registry.Applier
	// ReplicationFactor of _schemas when created; 0 means min(3, active brokers)
	// (kafkastore.topic.replication.factor is 3).
	ReplicationFactor int
	// WriteTimeout bounds one Append's wait for its records to be committed and applied
	// (0: 30 s).
	WriteTimeout time.Duration
	Metrics      *Metrics // nil: not counted
	Logger       *slog.Logger
}

// Store is _schemas in the cluster: registry.Log. Its methods are safe for concurrent use.
type Store struct {
	opts   Options
	client *kgo.Client
	ctx    context.Context // ended by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// imageChanged wakes the election loop (buffered 1; Observe never blocks).
	imageChanged chan struct{}
	// writer is the writer's state while this node is the writer and has caught up, else nil.
	writer atomic.Pointer[writerState]
	// appendMu makes appends one at a time: each checks that the log holds nothing the state
	// has not applied, then appends.
	appendMu sync.Mutex
	// createMu makes one caller at a time create _schemas (ensureTopic).
	createMu sync.Mutex

	// end is the shared ListOffsets of Sync on other nodes than the writer (endOffset): next
	// is the query callers join while one is in flight; closed refuses new ones after Close.
	end struct {
		sync.Mutex
		next     *endQuery
		inFlight bool
		closed   bool
	}

	mu struct {
		sync.Mutex
		applied int64         // the offset after the last record applied (0: none yet)
		changed chan struct{} // closed and replaced whenever applied or the writer changes
	}
}

// writerState is this node's writership: the leader replica of _schemas-0 in the leader epoch
// it caught up in.
type writerState struct {
	p     *partition.Partition
	epoch int32
}

// Open starts the reader (from offset 0) and the writer election; it does not wait for either.
func Open(opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	kopts := []kgo.Opt{
		kgo.SeedBrokers(opts.Seeds...),
		kgo.ClientID("sluice-schema-registry-" + strconv.Itoa(int(opts.NodeID))),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{registry.TopicName: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxWait(time.Second),
		kgo.MetadataMinAge(100 * time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }),
	}
	if opts.Dial != nil {
		kopts = append(kopts, kgo.Dialer(opts.Dial))
	}
	if opts.SASL != nil {
		kopts = append(kopts, kgo.SASL(opts.SASL))
	}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("store: client: %w", err)
	}
	s := &Store{opts: opts, client: cl, imageChanged: make(chan struct{}, 1)}
	s.mu.changed = make(chan struct{})
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(2)
	go s.read()
	go s.elect()
	return s, nil
}

// Close stops the reader and the election and waits for them.
func (s *Store) Close() {
	s.end.Lock()
	s.end.closed = true
	s.end.Unlock()
	s.cancel()
	s.wg.Wait()
	s.client.Close()
}

// Observe tells the store that the metadata Image changed (a quorum subscription calls it on
// the FSM goroutine: it never blocks).
func (s *Store) Observe() {
	select {
	case s.imageChanged <- struct{}{}:
	default:
	}
}

// Applied is the offset after the last _schemas record the Applier was given.
func (s *Store) Applied() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.applied
}

// changedLocked wakes everyone waiting for applied or the writer to change.
func (s *Store) changedLocked() {
	close(s.mu.changed)
	s.mu.changed = make(chan struct{})
}

func (s *Store) notifyChanged() {
	s.mu.Lock()
	s.changedLocked()
	s.mu.Unlock()
}

// waitApplied returns once the Applier has been given every record below end.
func (s *Store) waitApplied(ctx context.Context, end int64) error {
	for {
		s.mu.Lock()
		applied, ch := s.mu.applied, s.mu.changed
		s.mu.Unlock()
		if applied >= end {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("store: waiting for _schemas to be applied up to %d (at %d): %w", end, applied, context.Cause(ctx))
		case <-s.ctx.Done():
			return errors.New("store: closed")
		}
	}
}

// read is the reader goroutine: _schemas from offset 0, each record decoded and applied in
// order.
func (s *Store) read() {
	defer s.wg.Done()
	for {
		fetches := s.client.PollFetches(s.ctx)
		if s.ctx.Err() != nil {
			return
		}
		fetches.EachError(func(topic string, p int32, err error) {
			s.opts.Logger.Debug("schema registry: reading _schemas", "err", err)
		})
		fetches.EachRecord(s.apply)
	}
}

// apply decodes and applies one record; records that do not decode are skipped and counted.
func (s *Store) apply(r *kgo.Record) {
	rec, err := Decode(r.Key, r.Value)
	switch {
	case errors.Is(err, ErrUnknownKeyType):
		s.opts.Metrics.skipped("unknown_key_type")
		s.opts.Logger.Warn("schema registry: skipped a _schemas record of an unknown key type", "offset", r.Offset, "err", err)
	case err != nil:
		s.opts.Metrics.skipped("undecodable")
		s.opts.Logger.Warn("schema registry: skipped an undecodable _schemas record", "offset", r.Offset, "err", err)
	case rec.Key.KeyType != registry.KeyNoop:
		s.opts.Applier.Apply(r.Offset, rec)
	}
	s.mu.Lock()
	s.mu.applied = r.Offset + 1
	s.changedLocked()
	s.mu.Unlock()
	s.opts.Metrics.setApplied(r.Offset + 1)
}
