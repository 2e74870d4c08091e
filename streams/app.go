package streams

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/streams/internal/runtime"
	"github.com/sluicehq/sluice/streams/processor"
)

// State is an App's lifecycle state, as Kafka Streams' KafkaStreams.State.
type State = runtime.State

const (
	Created         = runtime.Created
	Rebalancing     = runtime.Rebalancing
	Running         = runtime.Running
	PendingShutdown = runtime.PendingShutdown
	NotRunning      = runtime.NotRunning
	Error           = runtime.Error
)

// ErrReadOnly is returned by the mutators of the stores Store returns.
var ErrReadOnly = runtime.ErrReadOnly

// ErrNotAvailable: the store is not (or not yet) hosted by this instance, or the key's
// host is not known (no application.server, or a rebalance in progress).
var ErrNotAvailable = errors.New("streams: not available on this instance now")

// App is one instance of a streams application: it runs a topology's tasks, sharing them
// with every other instance of the same ApplicationID through a consumer group.
type App struct {
	cfg  Config
	topo *processor.Topology
	prog *processor.Program
	rt   *runtime.Runtime

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
	err     error
}

// NewApp checks the topology and the configuration and makes an App; Run starts it.
func NewApp(t *processor.Topology, cfg Config) (*App, error) {
	if t == nil {
		return nil, errors.New("streams: NewApp needs a topology")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	prog, err := t.Build()
	if err != nil {
		return nil, err
	}
	opts := slices.Clone(cfg.ClientOptions)
	if len(cfg.Brokers) > 0 {
		opts = append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...)}, opts...)
	}
	rt, err := runtime.New(runtime.Config{
		AppID:              cfg.ApplicationID,
		Program:            prog,
		StateDir:           filepath.Join(cfg.StateDir, cfg.ApplicationID),
		ExactlyOnce:        cfg.ProcessingGuarantee == ExactlyOnce,
		CommitInterval:     cfg.CommitInterval,
		CacheMaxBytes:      max(cfg.StateStoreCacheMaxBytes, 0),
		NumStandbyReplicas: cfg.NumStandbyReplicas,
		NumStreamThreads:   cfg.NumStreamThreads,
		ReplicationFactor:  cfg.ReplicationFactor,
		Endpoint:           cfg.ApplicationServer,
		Registerer:         cfg.Registerer,
		Logger:             cfg.Logger,
		ClientOptions:      opts,
	})
	if err != nil {
		return nil, err
	}
	return &App{cfg: cfg, topo: t, prog: prog, rt: rt, done: make(chan struct{})}, nil
}

// Run runs the application until ctx is done, Close is called or a fatal error; it returns
// after committing, closing every task and its stores and leaving the group. An App runs
// once.
func (a *App) Run(ctx context.Context) error {
	a.mu.Lock()
	if a.started {
		a.mu.Unlock()
		return errors.New("streams: App.Run called twice")
	}
	a.started = true
	ctx, a.cancel = context.WithCancel(ctx)
	a.mu.Unlock()
	err := a.rt.Run(ctx)
	a.mu.Lock()
	a.err = err
	a.mu.Unlock()
	close(a.done)
	return err
}

// Close stops Run (if it runs) and waits for its clean shutdown; it returns Run's error.
func (a *App) Close() error {
	a.mu.Lock()
	started, cancel := a.started, a.cancel
	if !started {
		a.started = true // a later Run fails
		close(a.done)
	}
	a.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	<-a.done
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// State is the App's current state.
func (a *App) State() State { return a.rt.State() }

// Store returns a read-only view of the named store over the tasks this instance runs: a
// state.KeyValueStore, state.WindowStore or state.SessionStore by the store's kind (keys and
// values as stored: serialized). Mutators return ErrReadOnly. The view holds the tasks of the
// moment: after a rebalance ask again.
func (a *App) Store(name string) (any, error) {
	spec, ok := a.topo.Store(name)
	if !ok {
		return nil, fmt.Errorf("streams: no store %q in the topology", name)
	}
	stores := a.rt.Stores(name)
	if len(stores) == 0 && a.State() != Running {
		return nil, fmt.Errorf("streams: store %q: %w (state %v)", name, ErrNotAvailable, a.State())
	}
	switch spec.Kind {
	case processor.KeyValueStore:
		return runtime.NewKeyValueView(name, stores)
	case processor.WindowStore:
		return runtime.NewWindowView(name, stores)
	case processor.SessionStore:
		return runtime.NewSessionView(name, stores)
	}
	return nil, fmt.Errorf("streams: store %q of unknown kind %v", name, spec.Kind)
}

// MetadataForKey says which instance (its application.server) runs the task whose store
// holds keyBytes, and its partition: the key's partition by Kafka's default partitioner
// (murmur2 of the serialized key) over the partition count of the store's sub-topology, as
// Kafka Streams' queryMetadataForKey with the default partitioner.
func (a *App) MetadataForKey(store string, keyBytes []byte) (host string, partition int32, err error) {
	var sub *processor.Subtopology
	for _, s := range a.prog.Subtopologies {
		for _, spec := range s.Stores {
			if spec.Name == store {
				sub = s
			}
		}
	}
	if sub == nil {
		return "", -1, fmt.Errorf("streams: no store %q in the topology", store)
	}
	n, err := a.rt.TaskCount(sub.ID)
	if err != nil {
		return "", -1, err
	}
	partition = int32(runtime.Murmur2(keyBytes)&0x7fffffff) % n
	id := processor.TaskID{Subtopology: sub.ID, Partition: partition}
	for _, h := range a.rt.Hosts() {
		if slices.Contains(h.Active, id) {
			return h.Endpoint, partition, nil
		}
	}
	return "", partition, fmt.Errorf("streams: host of task %v: %w", id, ErrNotAvailable)
}
