package coordinator

import (
	"context"
	"fmt"
	"strconv"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
)

// PartitionLog is the StateLog on this broker's partitions: it creates __share_group_state
// through the controller on first need (with Kafka's topic configs: compacted, the
// share.coordinator.state.topic.* settings) and appends as the partition's leader with acks=-1.
type PartitionLog struct {
	Partitions        *partition.Manager
	Controller        partition.TopicCreator
	NumPartitions     int32
	ReplicationFactor int16
	MinISR            int
	SegmentBytes      int
}

// CreateTopic is the CreateTopic of __share_group_state (FindCoordinator key type SHARE and
// the persister's first write also create it).
func (l *PartitionLog) CreateTopic() metadata.CreateTopic {
	return CreateTopic(l.NumPartitions, l.ReplicationFactor, l.MinISR, l.SegmentBytes)
}

// CreateTopic describes __share_group_state as Kafka creates it (KIP-932): cleanup.policy=delete
// with unlimited retention (retention.ms=-1; records below the oldest snapshot still needed
// are what may go, not whole keys, so it is not compacted), compression.type=producer,
// min.insync.replicas and segment.bytes from share.coordinator.state.topic.*.
func CreateTopic(numPartitions int32, rf int16, minISR, segmentBytes int) metadata.CreateTopic {
	cfgs := map[string]string{string(config.CleanupPolicy): config.CleanupPolicyDelete,
		string(config.RetentionMs): "-1", string(config.CompressionType): "producer",
		string(config.MinInsyncReplicas): strconv.Itoa(max(minISR, 1))}
	if segmentBytes > 0 {
		cfgs[string(config.SegmentBytes)] = strconv.Itoa(segmentBytes)
	}
	return metadata.CreateTopic{Name: StateTopic, NumPartitions: numPartitions, ReplicationFactor: rf, Configs: cfgs}
}

// Append implements StateLog.
func (l *PartitionLog) Append(ctx context.Context, index int32, batch []byte) (int64, error) {
	p, err := l.Partitions.InternalPartition(ctx, l.Controller, l.CreateTopic(), index)
	if err != nil {
		return -1, err
	}
	res, err := p.Append(batch, -1)
	if err != nil {
		return -1, fmt.Errorf("append to %s-%d: %w", StateTopic, index, err)
	}
	return res.BaseOffset, p.WaitCommitted(ctx, res.LastOffset+1)
}

// DeleteBefore implements Pruner: the partition's log start offset moves up to offset (at
// most its high watermark), as DeleteRecords does; followers follow.
func (l *PartitionLog) DeleteBefore(index int32, offset int64) error {
	p, ok := l.Partitions.Partition(StateTopic, index)
	if !ok || !p.IsLeader() {
		return nil
	}
	offset = min(offset, p.HighWatermark())
	if offset <= p.LogStartOffset() {
		return nil
	}
	_, err := p.DeleteRecordsBefore(offset)
	return err
}
