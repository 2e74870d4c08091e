package cluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrInconsistentClusterID: the controller belongs to another cluster than this node's data
// directory; the node must not join it.
var ErrInconsistentClusterID = errors.New("cluster: the controller's cluster id is not this node's")

// BrokerOptions configure a broker's lifecycle.
type BrokerOptions struct {
	Client *Client
	NodeID int32
	// ClusterID returns the cluster id this node belongs to ("" while unknown).
	ClusterID func() string
	// Listeners are the endpoints clients reach this broker on.
	Listeners []kmsg.BrokerRegistrationRequestListener
	Rack      string
	// LogDirs are the directory ids of the broker's log directories (KIP-858).
	LogDirs [][16]byte
	// MetadataOffset returns the offset of the last metadata this node applied.
	MetadataOffset func() int64
	// HeartbeatInterval is broker.heartbeat.interval.ms.
	HeartbeatInterval time.Duration
	// Principal describes who this node is on the controller listener ("User:CN=broker-1
	// (its ssl.keystore certificate)"), for the error a refused registration logs.
	Principal string
	Logger    *slog.Logger
}

// Broker is this node's broker lifecycle (KIP-631): it registers with the active controller,
// heartbeats every HeartbeatInterval (more often while fenced or shutting down, so a start and
// a controlled shutdown take round trips, not intervals), registers again when the controller
// no longer knows its epoch, and runs the controlled shutdown.
//
// Concurrency: one goroutine (run) owns the conversation with the controller; the state it
// learns is published through atomics and channels, safe to read from any goroutine.
type Broker struct {
	opts        BrokerOptions
	incarnation [16]byte
	logger      *slog.Logger

	// deniedLogged is when CLUSTER_AUTHORIZATION_FAILED was last logged at Error (run's own).
	deniedLogged time.Time

	epoch        atomic.Int64 // -1 until registered
	fenced       atomic.Bool
	wantShutdown atomic.Bool

	unfencedOnce sync.Once
	unfenced     chan struct{} // closed the first time the controller unfences this broker
	shutdownOnce sync.Once
	shutdown     chan struct{} // closed when the controller says ShouldShutdown
	failOnce     sync.Once
	failed       chan struct{} // closed with err set when registration cannot succeed
	err          error

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

// fastInterval is the heartbeat interval while fenced or shutting down.
const fastInterval = 100 * time.Millisecond

// StartBroker starts the lifecycle's goroutine; Close stops it.
func StartBroker(opts BrokerOptions) *Broker {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 2 * time.Second
	}
	b := &Broker{opts: opts, logger: opts.Logger.With("component", "lifecycle"),
		unfenced: make(chan struct{}), shutdown: make(chan struct{}), failed: make(chan struct{}),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	rand.Read(b.incarnation[:])
	b.epoch.Store(-1)
	b.fenced.Store(true)
	go b.run()
	return b
}

// Epoch is the broker epoch of the current registration, -1 when not registered.
func (b *Broker) Epoch() int64 { return b.epoch.Load() }

// Fenced reports whether the controller last said this broker is fenced (true until the
// first unfencing heartbeat).
func (b *Broker) Fenced() bool { return b.fenced.Load() }

// Incarnation is this process's random incarnation id.
func (b *Broker) Incarnation() [16]byte { return b.incarnation }

// WaitUnfenced blocks until the controller first unfences this broker, registration fails
// for good, or ctx ends.
func (b *Broker) WaitUnfenced(ctx context.Context) error {
	select {
	case <-b.unfenced:
		return nil
	case <-b.failed:
		return b.err
	case <-ctx.Done():
		return fmt.Errorf("broker %d not unfenced by the controller: %w", b.opts.NodeID, ctx.Err())
	}
}

// ControlledShutdown asks the controller to move this broker's leaderships away and waits
// until it says the broker may stop, or ctx ends.
func (b *Broker) ControlledShutdown(ctx context.Context) error {
	b.wantShutdown.Store(true)
	b.poke()
	select {
	case <-b.shutdown:
		return nil
	case <-b.failed:
		return b.err
	case <-ctx.Done():
		return fmt.Errorf("controlled shutdown of broker %d: %w", b.opts.NodeID, ctx.Err())
	}
}

// Close stops heartbeating; the controller fences the broker after its session timeout,
// unless a controlled shutdown did already.
func (b *Broker) Close() {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.done
}

func (b *Broker) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *Broker) run() {
	defer close(b.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-b.stop
		cancel()
	}()
	for {
		wait := b.opts.HeartbeatInterval
		var err error
		if b.epoch.Load() < 0 {
			err = b.register(ctx)
		} else {
			err = b.heartbeat(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			select {
			case <-b.failed:
				b.logger.Error("broker cannot join the cluster", "err", b.err)
				return
			default:
			}
			b.logger.Debug("controller unreachable or refusing", "err", err)
			wait = fastInterval
		}
		if b.fenced.Load() || b.wantShutdown.Load() || b.epoch.Load() < 0 {
			wait = min(wait, fastInterval)
		}
		if err == nil && b.fenced.Load() && !b.wantShutdown.Load() {
			// Just registered (or fenced): the controller unfences once this node's metadata
			// holds the registration, which takes milliseconds; heartbeat as soon as it does.
			wait = max(b.untilCaughtUp(ctx, wait), 20*time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return
		case <-b.wake:
		case <-time.After(wait):
		}
	}
}

// untilCaughtUp waits until this node's metadata offset reaches its broker epoch (the
// registration record), at most max, and returns what is left of max (0 once it does).
func (b *Broker) untilCaughtUp(ctx context.Context, max time.Duration) time.Duration {
	deadline := time.Now().Add(max)
	for b.opts.MetadataOffset() < b.epoch.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
	if b.opts.MetadataOffset() >= b.epoch.Load() {
		return 0
	}
	return time.Until(deadline)
}

// requestTimeout bounds one registration or heartbeat round trip, retries included.
func (b *Broker) requestTimeout() time.Duration {
	return max(2*b.opts.HeartbeatInterval, 2*time.Second)
}

func (b *Broker) register(ctx context.Context) error {
	req := kmsg.NewPtrBrokerRegistrationRequest()
	req.BrokerID = b.opts.NodeID
	if b.opts.ClusterID != nil {
		req.ClusterID = b.opts.ClusterID()
	}
	req.IncarnationID = b.incarnation
	req.Listeners = b.opts.Listeners
	if b.opts.Rack != "" {
		req.Rack = &b.opts.Rack
	}
	req.LogDirs = b.opts.LogDirs
	req.PreviousBrokerEpoch = -1
	ctx, cancel := context.WithTimeout(ctx, b.requestTimeout())
	defer cancel()
	resp, err := b.opts.Client.ToController(ctx, req, func(r kmsg.Response) bool {
		return r.(*kmsg.BrokerRegistrationResponse).ErrorCode == kerr.NotController.Code
	})
	if err != nil {
		return err
	}
	r := resp.(*kmsg.BrokerRegistrationResponse)
	switch r.ErrorCode {
	case 0:
	case kerr.InconsistentClusterID.Code:
		b.fail(fmt.Errorf("%w: broker %d has cluster id %q", ErrInconsistentClusterID, req.BrokerID, req.ClusterID))
		return b.err
	case kerr.ClusterAuthorizationFailed.Code:
		b.logDenied("registration")
		return fmt.Errorf("broker registration: %w", kerr.ClusterAuthorizationFailed)
	default:
		// DUPLICATE_BROKER_REGISTRATION (the previous process's session has not expired
		// yet) and the others are retried: the controller decides when it may succeed.
		return fmt.Errorf("broker registration: %w", kerr.ErrorForCode(r.ErrorCode))
	}
	b.epoch.Store(r.BrokerEpoch)
	b.fenced.Store(true)
	b.logger.Info("registered with the controller", "broker", req.BrokerID, "epoch", r.BrokerEpoch)
	return nil
}

func (b *Broker) heartbeat(ctx context.Context) error {
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.BrokerID = b.opts.NodeID
	req.BrokerEpoch = b.epoch.Load()
	req.CurrentMetadataOffset = b.opts.MetadataOffset()
	req.WantShutdown = b.wantShutdown.Load()
	ctx, cancel := context.WithTimeout(ctx, b.requestTimeout())
	defer cancel()
	resp, err := b.opts.Client.ToController(ctx, req, func(r kmsg.Response) bool {
		return r.(*kmsg.BrokerHeartbeatResponse).ErrorCode == kerr.NotController.Code
	})
	if err != nil {
		return err
	}
	r := resp.(*kmsg.BrokerHeartbeatResponse)
	switch r.ErrorCode {
	case 0:
	case kerr.StaleBrokerEpoch.Code, kerr.BrokerIDNotRegistered.Code:
		// The controller has another registration of this id (or none): register again,
		// fenced until caught up.
		b.logger.Info("controller does not know this registration; registering again", "epoch", req.BrokerEpoch, "err", kerr.ErrorForCode(r.ErrorCode))
		b.epoch.Store(-1)
		b.fenced.Store(true)
		return nil
	case kerr.ClusterAuthorizationFailed.Code:
		b.logDenied("heartbeat")
		return fmt.Errorf("broker heartbeat: %w", kerr.ClusterAuthorizationFailed)
	default:
		return fmt.Errorf("broker heartbeat: %w", kerr.ErrorForCode(r.ErrorCode))
	}
	if was := b.fenced.Swap(r.IsFenced); was != r.IsFenced {
		b.logger.Info("controller changed this broker's state", "fenced", r.IsFenced, "epoch", req.BrokerEpoch)
	}
	if !r.IsFenced {
		b.unfencedOnce.Do(func() { close(b.unfenced) })
	}
	if r.ShouldShutdown && req.WantShutdown {
		b.shutdownOnce.Do(func() { close(b.shutdown) })
	}
	return nil
}

func (b *Broker) fail(err error) {
	b.failOnce.Do(func() {
		b.err = err
		close(b.failed)
	})
}

// deniedLogEvery spaces the Error a refused registration or heartbeat logs: it is retried
// every fastInterval until an operator fixes the ACLs.
const deniedLogEvery = 30 * time.Second

// logDenied logs at Error that the controller refused this broker's request with
// CLUSTER_AUTHORIZATION_FAILED, naming the principal and what it needs: a misconfigured
// authorizer otherwise only shows as a broker that never joins.
func (b *Broker) logDenied(what string) {
	if !b.deniedLogged.IsZero() && time.Since(b.deniedLogged) < deniedLogEvery {
		return
	}
	b.deniedLogged = time.Now()
	principal := b.opts.Principal
	if principal == "" {
		principal = "User:ANONYMOUS"
	}
	b.logger.Error("the controller refused this broker's "+what+" with CLUSTER_AUTHORIZATION_FAILED: the principal this node "+
		"authenticates as on the controller listener needs ClusterAction on the cluster (an ALLOW ACL for operation "+
		"CLUSTER_ACTION on resource Cluster:kafka-cluster) or to be listed in super.users",
		"broker", b.opts.NodeID, "principal", principal)
}
