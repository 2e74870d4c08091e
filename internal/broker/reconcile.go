package broker

import (
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/storage"
)

// reconcile makes the partitions hosted on this node match next, given that they matched prev
// (partition.Manager.Apply does the work), and re-applies every hosted partition's config when
// this broker's dynamic configs changed, since those feed every topic's effective values. It
// runs on the quorum's FSM goroutine, one Image at a time, in order; failures are logged per
// partition and do not stop the others. A panic (in a partition's apply, or anywhere else
// here) is recovered, logged and counted, so that metadata a client's admin request produced
// cannot take down the FSM goroutine and with it the process.
func (b *Broker) reconcile(prev, next *metadata.Image) {
	defer func() {
		if p := recover(); p != nil {
			b.logger.Error("recovered panic applying metadata", "offset", next.Offset(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			b.metrics.PanicRecovered("reconcile")
		}
	}()
	configs := func(t *metadata.Topic) (storage.LogConfig, partition.Config) {
		return partition.ConfigsFromResolved(b.env.TopicConfig(next, t))
	}
	if err := b.partitions.Apply(next, metadata.DiffTopics(prev, next), configs); err != nil {
		b.logger.Error("apply metadata to partitions", "offset", next.Offset(), "err", err)
		if errors.Is(err, partition.ErrPanicked) {
			b.metrics.PanicRecovered("reconcile.partition")
		}
	}
	if b.replicas != nil {
		b.replicas.Update(next) // after Apply: followers fetch in the epochs just applied
	}
	b.moveGroupCoordination(prev, next)
	b.moveTxnCoordination(prev, next)
	b.moveShareCoordination(prev, next)
	if prev == nil || !sameDynamicConfigs(prev, next, b.cfg.NodeID) {
		// The dynamic broker configs that are not topic defaults: the log cleaner's,
		// producer.id.expiration.ms and the replication throttle rates. Start built storage and partitions from the static layer;
		// the first Image brings what AlterConfigs stored before this start.
		brokerCfg := b.env.BrokerConfig(next)
		b.storage.SetCleanerConfig(cleanerConfig(brokerCfg))
		b.partitions.SetProducerIDExpiration(brokerCfg.Int64(config.ProducerIDExpirationMs))
		b.setReplicationThrottles(brokerCfg)
	}
	if prev == nil || sameDynamicConfigs(prev, next, b.cfg.NodeID) {
		return
	}
	for _, p := range b.partitions.Partitions() {
		t, ok := next.Topic(p.Topic())
		if !ok {
			continue
		}
		logCfg, partCfg := configs(t)
		p.SetConfig(partCfg)
		if err := p.Log().SetConfig(logCfg); err != nil {
			b.logger.Error("apply broker config change", "topic", p.Topic(), "partition", p.Index(), "err", err)
		}
	}
}

// moveGroupCoordination hands the group coordinator the __consumer_offsets partitions this
// node became the leader of (it loads their groups in the background) and takes back those it
// no longer leads. The first Image is loaded by Start (group.LoadPartitions).
func (b *Broker) moveGroupCoordination(prev, next *metadata.Image) {
	if b.groups == nil {
		return
	}
	b.moveCoordination(prev, next, metadata.ConsumerOffsetsTopic, b.groups.Elected, b.groups.Resigned)
}

// moveTxnCoordination is moveGroupCoordination for the transaction coordinator and
// __transaction_state: it loads the transactions of partitions led here since the last
// Image (completing their prepared ones) and forgets those of partitions led elsewhere now.
// The first Image is loaded by Start (txn.LoadPartitions).
func (b *Broker) moveTxnCoordination(prev, next *metadata.Image) {
	if b.txns == nil {
		return
	}
	b.moveCoordination(prev, next, metadata.TransactionStateTopic, b.txns.Elected, b.txns.Resigned)
}

// moveCoordination calls elected for each partition of topic this node leads in next but did
// not in prev (or leads under a new leader epoch, which a coordinator must reload, as another
// leader may have written in between), and resigned for each it led in prev but not in next. A
// topic deleted and re-created counts as new partitions. It runs after the partitions applied
// next, so an elected partition is hosted with its new state.
func (b *Broker) moveCoordination(prev, next *metadata.Image, topic string, elected func(*partition.Partition), resigned func(int32)) {
	if prev == nil {
		return
	}
	was, _ := prev.Topic(topic)
	is, _ := next.Topic(topic)
	leaderEpoch := func(t *metadata.Topic, i int) (int32, bool) {
		if t == nil || i >= len(t.Partitions) || t.Partitions[i].Leader != b.cfg.NodeID {
			return 0, false
		}
		return t.Partitions[i].LeaderEpoch, true
	}
	if was != nil && is != nil && was.ID != is.ID {
		// Re-created: every partition is another; those of the old topic led here resign.
		for i := range was.Partitions {
			if _, led := leaderEpoch(was, i); led {
				resigned(int32(i))
			}
		}
		was = nil
	}
	n := 0
	for _, t := range []*metadata.Topic{was, is} {
		if t != nil {
			n = max(n, len(t.Partitions))
		}
	}
	for i := range n {
		beforeEpoch, before := leaderEpoch(was, i)
		nowEpoch, now := leaderEpoch(is, i)
		switch {
		case now && (!before || nowEpoch != beforeEpoch):
			if before {
				resigned(int32(i))
			}
			if p, ok := b.partitions.Partition(topic, int32(i)); ok {
				elected(p)
			} else if b.logger != nil {
				// Its apply failed (logged above): its keys get NOT_COORDINATOR here.
				b.logger.Error("leading a coordinator partition that is not hosted here", "topic", topic, "partition", i)
			}
		case before && !now:
			resigned(int32(i))
		}
	}
}

func sameDynamicConfigs(prev, next *metadata.Image, nodeID int32) bool {
	pb, pd := prev.DynamicConfigsFor(nodeID)
	nb, nd := next.DynamicConfigsFor(nodeID)
	return maps.Equal(pb, nb) && maps.Equal(pd, nd)
}

// dropOrphanLogs deletes logs that recovery found on disk but that metadata no longer assigns
// to this node: topics deleted while it was down, or deleted and re-created under the same name
// (another topic id).
func (b *Broker) dropOrphanLogs(img *metadata.Image) {
	for _, l := range b.storage.Logs() {
		tp := l.TopicPartition()
		t, ok := img.Topic(tp.Topic)
		if ok && [16]byte(t.ID) == l.TopicID() && int(tp.Partition) < len(t.Partitions) &&
			slices.Contains(t.Partitions[tp.Partition].Replicas, b.cfg.NodeID) {
			continue
		}
		b.logger.Info("deleting log of a partition no longer assigned here", "partition", tp.String())
		if err := b.storage.DeleteLog(tp); err != nil {
			b.logger.Error("delete orphan log", "partition", tp.String(), "err", err)
		}
	}
}
