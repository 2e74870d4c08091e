package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/server"
)

// roles are the node's process.roles.
type roles struct{ broker, controller bool }

func parseRoles(brokerCfg *config.Resolved) roles {
	list := brokerCfg.List(config.ProcessRoles)
	return roles{broker: slices.Contains(list, "broker"), controller: slices.Contains(list, "controller")}
}

// controlPlane is this node's part of the cluster's control plane: the client that reaches
// the active controller, the controller listener (the Kafka protocol side of the controller
// address) and, on controller nodes, the loop that fences brokers whose session expired.
type controlPlane struct {
	client *cluster.Client
	// lifecycleClient carries registrations and heartbeats alone: its connection stays open
	// while the broker lives, which the controller's connection-loss fencing relies on (the
	// shared client's pool may close any of its connections).
	lifecycleClient *cluster.Client
	ctlServer       *server.Server
	ctlServed       chan error
	stopFence       chan struct{}
	fenceDone       sync.WaitGroup
	lifecycle       atomic.Pointer[cluster.Broker] // set once registration starts
}

// startControlPlane starts the client and serves the controller listener. Every node serves
// it (a broker-only node answers NOT_CONTROLLER there), so any node's controller address
// reaches the quorum.
func (b *Broker) startControlPlane() error {
	cp := &b.cp
	cp.client = cluster.NewClient(cluster.Options{NodeID: b.cfg.NodeID, Controller: b.quorum.LeaderAddr,
		Local: b.quorum.Active, Logger: b.logger, SASL: b.interBrokerSASL, // SASL: transaction markers
		ControllerTLS: b.ctlSec.clientTLS, ControllerSASL: b.ctlSec.clientSASL})
	cp.lifecycleClient = cluster.NewClient(cluster.Options{NodeID: b.cfg.NodeID, Controller: b.quorum.LeaderAddr,
		Local: b.quorum.Active, Logger: b.logger, ControllerTLS: b.ctlSec.clientTLS, ControllerSASL: b.ctlSec.clientSASL})
	env := &api.Env{
		NodeID:       b.cfg.NodeID,
		Logger:       b.logger,
		StaticConfig: b.static,
		Metadata:     b.quorum,
		Controller:   b.controller,
		Forwarder:    cp.client,
		Lifecycle:    b.controller,
		Quorum:       b.quorum, // DescribeQuorum, AddRaftVoter, RemoveRaftVoter (also forwarded ones)
		Authorizer:   b.apiAuthorizer(),
		Versions:     &b.versions,
	}
	// Forwarded CreateTopics, CreatePartitions and DeleteTopics count against their clients'
	// controller_mutation_rate here, on the controller; the listener's own traffic (brokers)
	// is exempt from the other quotas (server/throttle.go).
	if b.quotas != nil {
		env.Quotas = b.quotas
	}
	srv, err := server.New(server.Config{Env: env, Logger: b.logger, ListenerName: api.ControllerListenerName, Observer: b.metrics,
		SecurityProtocol: b.ctlSec.protocol.String(), TLS: b.ctlSec.serverTLS, SASL: b.ctlSec.serverSASL})
	if err != nil {
		return fmt.Errorf("controller listener: %w", err)
	}
	cp.ctlServer = srv
	cp.ctlServed = make(chan error, 1)
	ln := b.quorum.ControllerListener()
	go func() { cp.ctlServed <- srv.Serve(ln) }()
	return nil
}

// startFencing runs the controller's session check: every node with the controller role
// calls FenceStaleBrokers while it is the active controller, often enough that a broker is
// fenced within a small part of broker.session.timeout.ms after its session ends, and then
// the controller's Maintain (metadata/controller_elect.go).
func (b *Broker) startFencing(session time.Duration) {
	cp := &b.cp
	cp.stopFence = make(chan struct{})
	tick := max(min(session/8, 500*time.Millisecond), 10*time.Millisecond)
	cp.fenceDone.Add(1)
	go func() {
		defer cp.fenceDone.Done()
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-cp.stopFence:
				return
			case <-t.C:
			case <-b.controller.FenceSoon():
			}
			if !b.quorum.Active() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), session)
			fenced, err := b.controller.FenceStaleBrokers(ctx)
			switch {
			case err != nil && !errors.Is(err, metadata.ErrNotController):
				b.logger.Warn("fencing brokers whose session expired", "err", err)
			case len(fenced) > 0:
				b.logger.Info("fenced brokers whose session expired", "brokers", fenced, "session", session)
			}
			// Reassignment completion, newly allowed unclean elections, auto leader rebalance.
			if err := b.controller.Maintain(ctx); err != nil && !errors.Is(err, metadata.ErrNotController) {
				b.logger.Warn("controller maintenance", "err", err)
			}
			cancel()
		}
	}()
}

// brokerEpoch is this broker's current broker epoch, -1 before it registered.
func (b *Broker) brokerEpoch() int64 {
	if lc := b.cp.lifecycle.Load(); lc != nil {
		return lc.Epoch()
	}
	return -1
}

// startLifecycle registers this broker with the active controller and waits (bounded by
// ctx) until the controller unfences it: caught up on metadata, it may lead partitions.
func (b *Broker) startLifecycle(ctx context.Context, brokerCfg *config.Resolved) error {
	lc := cluster.StartBroker(cluster.BrokerOptions{
		Client:            b.cp.lifecycleClient,
		NodeID:            b.cfg.NodeID,
		ClusterID:         func() string { return b.quorum.Image().ClusterID() },
		Listeners:         b.registrationListeners(),
		Rack:              brokerCfg.String(config.BrokerRack),
		LogDirs:           [][16]byte{b.quorum.Directory()},
		MetadataOffset:    func() int64 { return b.quorum.Image().Offset() },
		HeartbeatInterval: time.Duration(brokerCfg.Int64(config.BrokerHeartbeatIntervalMs)) * time.Millisecond,
		Principal:         b.ctlSec.principal,
		Logger:            b.logger,
	})
	b.cp.lifecycle.Store(lc)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := lc.WaitUnfenced(ctx); err != nil {
		return fmt.Errorf("broker lifecycle: %w", err)
	}
	return nil
}

// controlledShutdown asks the controller to move this broker's leaderships to other replicas
// and waits for it, at most sluice.controlled.shutdown.timeout.ms. It is skipped when no
// other broker is active (nothing could take the leaderships) or controlled.shutdown.enable
// is false.
func (b *Broker) controlledShutdown() {
	lc := b.cp.lifecycle.Load()
	if lc == nil || lc.Epoch() < 0 {
		return
	}
	brokerCfg := b.env.BrokerConfig(b.quorum.Image())
	if !brokerCfg.Bool(config.ControlledShutdownEnable) || !b.otherActiveBrokers() {
		return
	}
	timeout := time.Duration(brokerCfg.Int64(config.SluiceControlledShutdownTimeoutMs)) * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	go b.abandonHopelessShutdown(ctx, cancel)
	start := time.Now()
	if err := lc.ControlledShutdown(ctx); err != nil {
		b.logger.Warn("controlled shutdown did not complete; stopping anyway", "err", err)
		return
	}
	b.logger.Info("controlled shutdown complete: leaderships moved", "took", time.Since(start).Round(time.Millisecond))
}

// abandonHopelessShutdown cancels a controlled shutdown that cannot complete: no other broker
// is left to take the leaderships, or no controller has been known for two seconds (the
// whole cluster is stopping, or this node is cut off). Waiting out the timeout would only
// delay the stop.
func (b *Broker) abandonHopelessShutdown(ctx context.Context, cancel context.CancelFunc) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	lastLeader := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, ok := b.quorum.Leader(); ok {
			lastLeader = time.Now()
		}
		if !b.otherActiveBrokers() || time.Since(lastLeader) > 2*time.Second {
			b.logger.Info("controlled shutdown abandoned: no other active broker or no controller")
			cancel()
			return
		}
	}
}

// otherActiveBrokers reports whether a broker other than this one is registered, unfenced
// and not shutting down.
func (b *Broker) otherActiveBrokers() bool {
	for _, br := range b.quorum.Image().Brokers() {
		if br.ID != b.cfg.NodeID && !br.Fenced && !br.InControlledShutdown {
			return true
		}
	}
	return false
}

// closeControlPlane stops the lifecycle, the fence loop and the controller listener.
func (b *Broker) closeControlPlane() error {
	cp := &b.cp
	if lc := cp.lifecycle.Load(); lc != nil {
		lc.Close()
	}
	if cp.stopFence != nil {
		close(cp.stopFence)
		cp.fenceDone.Wait()
	}
	var err error
	if cp.ctlServer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if e := cp.ctlServer.Shutdown(ctx); e != nil {
			err = fmt.Errorf("controller listener: %w", e)
		}
		cancel()
		if e := <-cp.ctlServed; e != nil && !errors.Is(e, server.ErrServerClosed) {
			err = errors.Join(err, e)
		}
	}
	if cp.client != nil {
		cp.client.Close()
	}
	if cp.lifecycleClient != nil {
		cp.lifecycleClient.Close()
	}
	return err
}
