package broker

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/storage"
)

// reconcile makes the partitions hosted on this node match next, given that they matched prev:
// it creates the logs of new replicas (opening them if recovery already found them on disk),
// applies leader and ISR changes, pushes config changes down to the logs, and deletes the logs
// of deleted topics. It runs on the metadata publisher's goroutine, one Image at a time, in
// order. Errors for one partition are logged and do not stop the others.
func (b *Broker) reconcile(prev, next *metadata.Image) {
	delta := metadata.DiffTopics(prev, next)
	for _, t := range delta.Deleted {
		for i := range t.Partitions {
			tp := storage.TopicPartition{Topic: t.Name, Partition: int32(i)}
			if err := b.partitions.Delete(tp); err != nil && !errors.Is(err, partition.ErrUnknownPartition) {
				b.logger.Error("delete partition", "partition", tp.String(), "err", err)
			}
		}
	}
	brokerConfigsChanged := prev == nil || !sameDynamicConfigs(prev, next, b.cfg.NodeID)
	changed := make(map[*metadata.Topic]bool)
	for _, t := range delta.Created {
		changed[t] = true
	}
	for _, c := range delta.Changed {
		changed[c.Next] = true
	}
	if brokerConfigsChanged {
		for _, t := range next.Topics() {
			changed[t] = true
		}
	}
	for t := range changed {
		if err := b.applyTopic(next, t); err != nil {
			b.logger.Error("apply topic metadata", "topic", t.Name, "err", err)
		}
	}
}

// applyTopic brings every partition of t that has a replica here up to date.
func (b *Broker) applyTopic(img *metadata.Image, t *metadata.Topic) error {
	resolved := b.resolveTopic(img, t)
	logCfg, partCfg := logConfig(resolved), partitionConfig(resolved)
	var errs []error
	for i := range t.Partitions {
		mp := &t.Partitions[i]
		tp := storage.TopicPartition{Topic: t.Name, Partition: mp.Partition}
		if !slices.Contains(mp.Replicas, b.cfg.NodeID) {
			continue
		}
		p, ok := b.partitions.Partition(t.Name, mp.Partition)
		if !ok {
			var err error
			if p, err = b.partitions.Create(tp, t.ID, logCfg, partCfg); err != nil {
				errs = append(errs, fmt.Errorf("create %s: %w", tp, err))
				continue
			}
		} else {
			if err := p.Log().SetConfig(logCfg); err != nil {
				errs = append(errs, fmt.Errorf("configure %s: %w", tp, err))
			}
			p.SetConfig(partCfg)
		}
		state := partition.State{Leader: mp.Leader, LeaderEpoch: mp.LeaderEpoch, PartitionEpoch: mp.PartitionEpoch,
			Replicas: mp.Replicas, ISR: mp.ISR}
		if err := p.SetState(state); err != nil {
			errs = append(errs, fmt.Errorf("set state of %s: %w", tp, err))
		}
	}
	return errors.Join(errs...)
}

func sameDynamicConfigs(prev, next *metadata.Image, nodeID int32) bool {
	pb, pd := prev.DynamicConfigsFor(nodeID)
	nb, nd := next.DynamicConfigsFor(nodeID)
	return maps.Equal(pb, nb) && maps.Equal(pd, nd)
}

// dropOrphanLogs deletes logs found on disk whose topic no longer exists (deleted while this
// node was down) or whose topic id differs (deleted and re-created under the same name).
func (b *Broker) dropOrphanLogs(img *metadata.Image) {
	for _, l := range b.storage.Logs() {
		tp := l.TopicPartition()
		t, ok := img.Topic(tp.Topic)
		if ok && [16]byte(t.ID) == l.TopicID() && int(tp.Partition) < len(t.Partitions) &&
			slices.Contains(t.Partitions[tp.Partition].Replicas, b.cfg.NodeID) {
			continue
		}
		b.logger.Info("deleting log of a topic no longer in metadata", "partition", tp.String())
		if _, hosted := b.partitions.Partition(tp.Topic, tp.Partition); hosted {
			if err := b.partitions.Delete(tp); err != nil {
				b.logger.Error("delete orphan partition", "partition", tp.String(), "err", err)
			}
			continue
		}
		if err := b.storage.DeleteLog(tp); err != nil {
			b.logger.Error("delete orphan log", "partition", tp.String(), "err", err)
		}
	}
}
