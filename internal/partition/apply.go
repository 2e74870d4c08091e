package partition

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/storage"
)

// TopicConfigs returns the settings a topic's partitions run with on this
// node: the log's and the partition's. The broker resolves them from the
// topic's overrides and its own configuration (see ConfigsFromResolved).
type TopicConfigs func(t *metadata.Topic) (storage.LogConfig, Config)

// ConfigsFromResolved reads both settings from a topic's effective
// configuration.
func ConfigsFromResolved(r *config.Resolved) (storage.LogConfig, Config) {
	logCfg := storage.LogConfig{
		SegmentBytes:       r.Int64(config.SegmentBytes),
		SegmentMs:          r.Int64(config.SegmentMs),
		SegmentJitterMs:    r.Int64(config.SegmentJitterMs),
		FileDeleteDelayMs:  r.Int64(config.FileDeleteDelayMs),
		SegmentIndexBytes:  r.Int(config.SegmentIndexBytes),
		IndexIntervalBytes: r.Int(config.IndexIntervalBytes),
		RetentionMs:        r.Int64(config.RetentionMs),
		RetentionBytes:     r.Int64(config.RetentionBytes),
		FlushMessages:      r.Int64(config.FlushMessages),
		FlushMs:            r.Int64(config.FlushMs),

		CleanupPolicy:          cleanupPolicy(r.List(config.CleanupPolicy)),
		MinCleanableDirtyRatio: r.Float64(config.MinCleanableDirtyRatio),
		MinCompactionLagMs:     r.Int64(config.MinCompactionLagMs),
		MaxCompactionLagMs:     r.Int64(config.MaxCompactionLagMs),
		DeleteRetentionMs:      r.Int64(config.DeleteRetentionMs),
	}
	return logCfg, FromResolved(r)
}

// cleanupPolicy reads cleanup.policy: delete, compact or both (an empty list is taken as
// delete, storage's zero value).
func cleanupPolicy(values []string) storage.CleanupPolicy {
	var p storage.CleanupPolicy
	for _, v := range values {
		switch v {
		case config.CleanupPolicyDelete:
			p |= storage.CleanupDelete
		case config.CleanupPolicyCompact:
			p |= storage.CleanupCompact
		}
	}
	return p
}

// applyWorkers bounds the partitions Apply creates or updates at once. Each
// of them waits mostly on fsyncs (log creation, the leader-epoch
// checkpoint), which the device serves faster in parallel than one by one:
// measured in bench/scale.sh, a 10,000-partition topic is created several
// times faster with 32 workers than with one.
const applyWorkers = 32

// Apply brings the hosted partitions in line with a new metadata Image: it
// deletes the partitions of deleted topics and those no longer assigned to
// this node, creates (or reopens) the ones newly assigned, and applies
// replica state and configuration to every changed one. delta is
// metadata.DiffTopics(previous, img). Deletions run first, one by one;
// then every partition to create or update is handled on up to
// applyWorkers goroutines, each partition by one of them, and Apply returns
// when all are done. It carries on past a failing partition and returns
// every failure joined.
func (m *Manager) Apply(img *metadata.Image, delta metadata.TopicsDelta, configs TopicConfigs) error {
	var errs []error
	for _, t := range delta.Deleted {
		for i := range t.Partitions {
			if err := m.deleteIfHosted(t, int32(i)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	var work []partitionWork
	for _, t := range delta.Created {
		work, errs = m.planTopic(work, errs, t, nil, configs)
	}
	for _, c := range delta.Changed {
		work, errs = m.planTopic(work, errs, c.Next, c.Prev, configs)
	}
	results := make([]error, len(work))
	storage.ForEachParallel(len(work), applyWorkers, func(i int) { results[i] = m.applyPartitionGuarded(&work[i]) })
	for _, err := range results {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// partitionWork is one hosted partition to create or update.
type partitionWork struct {
	topic         *metadata.Topic
	mp            *metadata.Partition
	logCfg        storage.LogConfig
	cfg           Config
	configChanged bool
}

// planTopic drops the partitions of t no longer assigned here and appends
// work for the others.
func (m *Manager) planTopic(work []partitionWork, errs []error, t, prev *metadata.Topic, configs TopicConfigs) ([]partitionWork, []error) {
	logCfg, cfg := configs(t)
	configChanged := prev == nil || !mapsEqual(prev.Configs, t.Configs)
	for i := range t.Partitions {
		mp := &t.Partitions[i]
		if !slices.Contains(mp.Replicas, m.nodeID) {
			if err := m.deleteIfHosted(t, mp.Partition); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		work = append(work, partitionWork{topic: t, mp: mp, logCfg: logCfg, cfg: cfg, configChanged: configChanged})
	}
	return work, errs
}

// applyPartitionGuarded is applyPartition with a panic turned into an
// ErrPanicked error for that partition alone: metadata reaches here from
// clients' admin requests, and one bad partition must not stop the others
// or the process (Apply runs on the quorum's FSM goroutine).
func (m *Manager) applyPartitionGuarded(w *partitionWork) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("apply %s: %w: %v\n%s", w, ErrPanicked, p, debug.Stack())
		}
	}()
	return m.applyPartition(w)
}

// String names the partition of w, safely: it is used when applying w panicked.
func (w *partitionWork) String() string {
	if w.topic == nil || w.mp == nil {
		return "partition ?"
	}
	return fmt.Sprintf("partition %s-%d", w.topic.Name, w.mp.Partition)
}

// applyPartition hosts or updates one partition and applies its replica state.
func (m *Manager) applyPartition(w *partitionWork) error {
	t, mp := w.topic, w.mp
	p, hosted := m.Partition(t.Name, mp.Partition)
	var errs []error
	if !hosted {
		var err error
		if p, err = m.Create(TopicPartition{Topic: t.Name, Partition: mp.Partition}, t.ID, w.logCfg, w.cfg); err != nil {
			return err
		}
	} else if w.configChanged {
		p.SetConfig(w.cfg)
		if err := p.Log().SetConfig(w.logCfg); err != nil {
			errs = append(errs, fmt.Errorf("partition %s-%d: %w", t.Name, mp.Partition, err))
		}
	}
	if err := p.SetState(State{Leader: mp.Leader, LeaderEpoch: mp.LeaderEpoch, PartitionEpoch: mp.PartitionEpoch,
		Replicas: mp.Replicas, ISR: mp.ISR}); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// deleteIfHosted deletes a hosted partition of topic t (matched by id).
func (m *Manager) deleteIfHosted(t *metadata.Topic, index int32) error {
	p, ok := m.Partition(t.Name, index)
	if !ok || p.TopicID() != t.ID {
		return nil
	}
	return m.Delete(TopicPartition{Topic: t.Name, Partition: index})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
