package config

// The share coordinator's broker configs (KIP-932); their rows are in brokerTable.
const (
	ShareCoordinatorStateTopicNumPartitions          Name = "share.coordinator.state.topic.num.partitions"
	ShareCoordinatorStateTopicReplicationFactor      Name = "share.coordinator.state.topic.replication.factor"
	ShareCoordinatorStateTopicMinIsr                 Name = "share.coordinator.state.topic.min.isr"
	ShareCoordinatorStateTopicSegmentBytes           Name = "share.coordinator.state.topic.segment.bytes"
	ShareCoordinatorStateTopicCompressionCodec       Name = "share.coordinator.state.topic.compression.codec"
	ShareCoordinatorSnapshotUpdateRecordsPerSnapshot Name = "share.coordinator.snapshot.update.records.per.snapshot"
	ShareCoordinatorWriteTimeoutMs                   Name = "share.coordinator.write.timeout.ms"
	ShareCoordinatorLoadBufferSize                   Name = "share.coordinator.load.buffer.size"
	ShareCoordinatorStateTopicPruneIntervalMs        Name = "share.coordinator.state.topic.prune.interval.ms"
)
