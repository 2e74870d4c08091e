package broker

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/internal/partition"
)

// isrController is what the ISR loop asks of the active controller (*cluster.Controller).
type isrController interface {
	AlterPartition(ctx context.Context, brokerID int32, brokerEpoch int64, changes []metadata.ISRChange, v2 bool) ([]metadata.ISRChangeResult, error)
}

// isrLoop is the leader side of ISR changes (KIP-497): one goroutine per broker that, every
// interval, asks each partition this node leads (by the Image) for its next ISR change
// (partition.CheckISR: a shrink after replica.lag.time.max.ms, an expansion of caught-up
// eligible followers), sends all of them to the controller in one AlterPartition request, and
// hands each partition its answer (partition.CompleteISRChange). One request is in flight at a
// time; the partitions' own state keeps one change per partition in flight.
type isrLoop struct {
	nodeID      int32
	partitions  *partition.Manager
	image       func() *metadata.Image
	controller  isrController
	brokerEpoch func() int64 // -1 before registration
	maxLag      time.Duration
	interval    time.Duration
	metrics     *metrics.ISRMetrics
	logger      *slog.Logger
	now         func() time.Time
	panicked    func(where string) // counts a recovered panic; nil: none

	cancel context.CancelFunc
	done   chan struct{}
}

// isrInterval is how often the loop looks for ISR changes: replica.lag.time.max.ms / 2 as
// Kafka's ISR-expiration task for shrinks, at most isrMaxInterval so that a follower that
// caught up joins promptly (Kafka expands on the follower's fetch).
func isrInterval(maxLag time.Duration) time.Duration {
	return max(min(maxLag/2, isrMaxInterval), time.Millisecond)
}

const isrMaxInterval = 250 * time.Millisecond

// isrRequestTimeout bounds one round's AlterPartition.
const isrRequestTimeout = 5 * time.Second

// startISR starts the ISR loop of a broker node.
func (b *Broker) startISR(brokerCfg *config.Resolved) {
	maxLag := time.Duration(brokerCfg.Int64(config.ReplicaLagTimeMaxMs)) * time.Millisecond
	l := &isrLoop{nodeID: b.cfg.NodeID, partitions: b.partitions, image: b.quorum.Image, controller: b.remote,
		brokerEpoch: b.brokerEpoch, maxLag: maxLag, interval: isrInterval(maxLag), metrics: metrics.NewISRMetrics(b.registry),
		logger: b.logger.With("component", "isr"), now: time.Now, panicked: b.metrics.PanicRecovered}
	var ctx context.Context
	ctx, l.cancel = context.WithCancel(context.Background())
	l.done = make(chan struct{})
	b.isr = l
	go l.run(ctx)
}

// stopISR stops the loop and waits for it (an AlterPartition in flight is abandoned).
func (b *Broker) stopISR() {
	if b.isr != nil {
		b.isr.cancel()
		<-b.isr.done
	}
}

func (l *isrLoop) run(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.round(ctx)
	}
}

// round collects every led partition's ISR change and sends them in one request. A panic is
// recovered (logged, counted as "isr"): the loop goes on with the next round.
func (l *isrLoop) round(ctx context.Context) {
	defer func() {
		if p := recover(); p != nil {
			l.logger.Error("recovered panic in an ISR round", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if l.panicked != nil {
				l.panicked("isr")
			}
		}
	}()
	epoch := l.brokerEpoch()
	if epoch < 0 {
		return // not registered yet: the controller would refuse (STALE_BROKER_EPOCH)
	}
	img := l.image()
	// KIP-841/903 on the leader, as Kafka's: only a registered, unfenced broker that is not
	// shutting down, in the registration its fetches carry, may join an ISR.
	eligible := func(id int32, brokerEpoch int64) bool {
		b, ok := img.Broker(id)
		return ok && b.Active() && (brokerEpoch < 0 || brokerEpoch == b.Epoch)
	}
	now := l.now()
	var reqs []partition.ISRRequest
	// The partitions the Image says this node leads (no sort, no allocation per round; a
	// partition not yet or no longer led locally answers nothing).
	for _, t := range img.Topics() {
		for i := range t.Partitions {
			if t.Partitions[i].Leader != l.nodeID {
				continue
			}
			if len(t.Partitions[i].Replicas) <= 1 {
				// A single replica (this node, the leader) has no follower to drop or add:
				// skipping it before the lookup keeps a round over 10,000 RF=1 partitions
				// (15% of the broker's CPU while producing to them) near free.
				continue
			}
			p, ok := l.partitions.Partition(t.Name, int32(i))
			if !ok {
				continue
			}
			if req, ok := p.CheckISR(now, l.maxLag, eligible); ok {
				reqs = append(reqs, req)
			}
		}
	}
	if len(reqs) == 0 {
		return
	}
	changes := make([]metadata.ISRChange, len(reqs))
	for i, r := range reqs {
		ch := metadata.ISRChange{TopicID: metadata.TopicID(r.Partition.TopicID()), Partition: r.Partition.Index(),
			LeaderEpoch: r.LeaderEpoch, PartitionEpoch: r.PartitionEpoch, NewISR: make([]metadata.ISRMember, len(r.NewISR))}
		for j, id := range r.NewISR {
			be := r.BrokerEpochs[j]
			if id == l.nodeID {
				be = epoch
			}
			ch.NewISR[j] = metadata.ISRMember{ID: id, BrokerEpoch: be}
		}
		changes[i] = ch
	}
	// Bounded well below a broker session: a controller that stopped answering (paused, cut
	// off) holds the request until the quorum elects another; the changes are then dropped and
	// tried again, from the partitions' state then, with the controller known then.
	l.logger.Debug("sending AlterPartition", "partitions", len(reqs), "first_topic", reqs[0].Partition.Topic(),
		"first_partition", reqs[0].Partition.Index(), "first_isr", reqs[0].NewISR)
	rctx, cancel := context.WithTimeout(ctx, isrRequestTimeout)
	results, err := l.controller.AlterPartition(rctx, l.nodeID, epoch, changes, true)
	cancel()
	if err != nil {
		l.logger.Warn("AlterPartition failed", "partitions", len(reqs), "err", err)
	}
	for i, r := range reqs {
		res := metadata.ISRChangeResult{Err: err}
		if err == nil {
			res = results[i]
		}
		switch r.Partition.CompleteISRChange(r, res.Err, res.Leader, res.LeaderEpoch, res.PartitionEpoch, res.ISR) {
		case partition.ISRChangeApplied:
			l.metrics.Changed(r.Expand)
			l.logger.Info("ISR changed", "topic", r.Partition.Topic(), "partition", r.Partition.Index(),
				"isr", res.ISR, "partition_epoch", res.PartitionEpoch, "expand", r.Expand)
		case partition.ISRChangeFailed:
			l.metrics.Failed()
		}
	}
}
