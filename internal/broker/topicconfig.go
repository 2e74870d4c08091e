package broker

import (
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/storage"
)

// configLayers returns the layers a topic's configs resolve through on this node: the topic's
// overrides, the dynamic broker configs in img, and this process's static broker configs.
func (b *Broker) configLayers(img *metadata.Image, topicOverrides map[string]string) config.Layers {
	perBroker, clusterDefault := img.DynamicConfigsFor(b.cfg.NodeID)
	return config.Layers{
		Topic:          topicOverrides,
		DynamicBroker:  perBroker,
		DynamicDefault: clusterDefault,
		Static:         b.static,
	}
}

// resolveTopic is a topic's effective configuration on this node.
func (b *Broker) resolveTopic(img *metadata.Image, t *metadata.Topic) *config.Resolved {
	return config.ResolveTopic(b.configLayers(img, t.Configs))
}

// logConfig is the part of a topic's effective configuration the storage layer obeys.
func logConfig(r *config.Resolved) storage.LogConfig {
	return storage.LogConfig{
		SegmentBytes:       r.Int64(config.SegmentBytes),
		SegmentMs:          r.Int64(config.SegmentMs),
		SegmentIndexBytes:  r.Int(config.SegmentIndexBytes),
		IndexIntervalBytes: r.Int(config.IndexIntervalBytes),
		RetentionMs:        r.Int64(config.RetentionMs),
		RetentionBytes:     r.Int64(config.RetentionBytes),
		FlushMessages:      r.Int64(config.FlushMessages),
		FlushMs:            r.Int64(config.FlushMs),
	}
}

// partitionConfig is the part a partition leader enforces on produce.
func partitionConfig(r *config.Resolved) partition.Config { return partition.FromResolved(r) }
