package api

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/share"
)

// ShareOffsetGroups is what DescribeShareGroupOffsets, AlterShareGroupOffsets and
// DeleteShareGroupOffsets ask of the group coordinator beyond Groups (*group.Coordinator,
// internal/group/share_offsets.go). Env.Groups implements it when it serves share groups;
// otherwise these APIs answer COORDINATOR_NOT_AVAILABLE.
type ShareOffsetGroups interface {
	SharePartitions(gid string) (map[group.TopicID]group.ShareTopicPartitions, error)
	AlterShareOffsets(ctx context.Context, gid string, parts map[group.TopicID]group.ShareTopicPartitions,
		init func(ctx context.Context) map[group.TopicID][]int32) error
	DeleteShareOffsets(ctx context.Context, gid string, topics []group.TopicID,
		del func(ctx context.Context, parts map[group.TopicID]group.ShareTopicPartitions) []group.TopicID) (map[group.TopicID]bool, error)
}

// shareOffsetGroups returns the group coordinator's share offsets side, or nil.
func shareOffsetGroups(env *Env) ShareOffsetGroups {
	if env.Groups == nil || env.SharePersister == nil {
		return nil
	}
	g, _ := env.Groups.(ShareOffsetGroups)
	return g
}

// shareSummary is one share-partition's offsets as the admin APIs report them: StartOffset
// and LeaderEpoch -1 for a share-partition without state; Lag -1 when unknown.
type shareSummary struct {
	StartOffset int64
	LeaderEpoch int32
	Lag         int64
	Err         error
}

// readShareSummary reads k's summary through the persister and computes its lag as Kafka 4.2
// does (KIP-1226): the partition's end (high watermark, or last stable offset for
// share.isolation.level=read_committed) less the start offset less the records at or past it
// already delivered. The end of a partition led elsewhere comes from its leader
// (Env.ShareEndOffset); unknown, the lag is -1.
func readShareSummary(ctx context.Context, env *Env, k share.Key, topic string) shareSummary {
	s, err := env.SharePersister.ReadSummary(ctx, k, -1)
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return shareSummary{StartOffset: -1, LeaderEpoch: -1, Lag: -1}
	}
	if err != nil {
		return shareSummary{StartOffset: -1, LeaderEpoch: -1, Lag: -1, Err: err}
	}
	out := shareSummary{StartOffset: s.StartOffset, LeaderEpoch: s.LeaderEpoch, Lag: -1}
	if s.StartOffset < 0 || s.DeliveryCompleteCount < 0 {
		return out
	}
	readCommitted := env.ShareMembership != nil && env.ShareMembership.ShareGroupConfig(k.Group).ReadCommitted
	end := int64(-1)
	local := false
	var p *partition.Partition
	if env.Partitions != nil {
		p, local = env.Partitions.Partition(topic, k.Partition)
		local = local && p.IsLeader()
	}
	if local {
		end = p.HighWatermark()
		if readCommitted {
			end = p.LastStableOffset()
		}
	} else if env.ShareEndOffset != nil {
		if e, err := env.ShareEndOffset(ctx, topic, k.Partition, readCommitted); err == nil {
			end = e
		}
	}
	if end >= 0 {
		out.Lag = max(end-s.StartOffset-int64(s.DeliveryCompleteCount), 0)
	}
	return out
}

// topicPartitionCount returns name's id and partition count, ok false when it does not exist.
func topicPartitionCount(img *metadata.Image, name string) (group.TopicID, int32, bool) {
	t, ok := img.Topic(name)
	if !ok {
		return group.TopicID{}, 0, false
	}
	return group.TopicID(t.ID), int32(len(t.Partitions)), true
}

// errorIs is errors.Is for the share offsets handlers.
func errorIs(err, target error) bool { return errors.Is(err, target) }
