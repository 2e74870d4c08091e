package partition

import (
	"errors"
	"fmt"
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

// Apply brings the hosted partitions in line with a new metadata Image: it
// deletes the partitions of deleted topics and those no longer assigned to
// this node, creates (or reopens) the ones newly assigned, and applies
// replica state and configuration to every changed one. delta is
// metadata.DiffTopics(previous, img). It carries on past a failing
// partition and returns every failure joined.
func (m *Manager) Apply(img *metadata.Image, delta metadata.TopicsDelta, configs TopicConfigs) error {
	var errs []error
	for _, t := range delta.Deleted {
		for i := range t.Partitions {
			if err := m.deleteIfHosted(t, int32(i)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, t := range delta.Created {
		errs = append(errs, m.applyTopic(t, nil, configs)...)
	}
	for _, c := range delta.Changed {
		errs = append(errs, m.applyTopic(c.Next, c.Prev, configs)...)
	}
	return errors.Join(errs...)
}

// applyTopic hosts, updates or drops each partition of t on this node.
func (m *Manager) applyTopic(t, prev *metadata.Topic, configs TopicConfigs) []error {
	var errs []error
	logCfg, cfg := configs(t)
	configChanged := prev == nil || !mapsEqual(prev.Configs, t.Configs)
	for i := range t.Partitions {
		mp := &t.Partitions[i]
		tp := TopicPartition{Topic: t.Name, Partition: mp.Partition}
		if !slices.Contains(mp.Replicas, m.nodeID) {
			if err := m.deleteIfHosted(t, mp.Partition); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		p, hosted := m.Partition(t.Name, mp.Partition)
		if !hosted {
			var err error
			if p, err = m.Create(tp, t.ID, logCfg, cfg); err != nil {
				errs = append(errs, err)
				continue
			}
		} else if configChanged {
			p.SetConfig(cfg)
			if err := p.Log().SetConfig(logCfg); err != nil {
				errs = append(errs, fmt.Errorf("partition %s-%d: %w", t.Name, mp.Partition, err))
			}
		}
		if err := p.SetState(State{Leader: mp.Leader, LeaderEpoch: mp.LeaderEpoch, PartitionEpoch: mp.PartitionEpoch,
			Replicas: mp.Replicas, ISR: mp.ISR}); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
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
