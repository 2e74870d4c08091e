// Package share holds share groups' (KIP-932) delivery state: which records of a topic
// partition a share group has delivered, to whom, how often, and which are done.
//
// Three parts meet here, and this file is the seam between them:
//   - The group coordinator (internal/group) runs share-group membership
//     (ShareGroupHeartbeat, ShareGroupDescribe) and answers Membership.
//   - The share-partition leader (this package, on the broker leading the topic partition)
//     keeps each share-partition's in-flight records in memory, serves ShareFetch and
//     ShareAcknowledge, and writes every change through a Persister before answering.
//   - The share coordinator (internal/share/coordinator) implements Persister on the
//     `__share_group_state` topic with Kafka's ShareSnapshot / ShareUpdate records; the
//     RPCs InitializeShareGroupState … ReadShareGroupStateSummary (83–87) are its wire form
//     when the coordinator is another broker.
package share

import (
	"context"
	"time"
)

// Key names one share-partition: share group Group's view of one topic partition.
type Key struct {
	Group     string
	TopicID   [16]byte
	Partition int32
}

// Delivery states, with Kafka's values (RecordState in the share coordinator's schemas).
// Acquired is in-flight only: it is never persisted (a restart makes acquired records
// Available again, their delivery count kept).
const (
	StateAvailable    int8 = 0
	StateAcquired     int8 = 1
	StateAcknowledged int8 = 2
	StateArchived     int8 = 4
)

// StateBatch is offsets FirstOffset..LastOffset (inclusive) in one delivery state with one
// delivery count: WriteShareGroupState's and ReadShareGroupState's StateBatches.
type StateBatch struct {
	FirstOffset   int64
	LastOffset    int64
	DeliveryState int8
	DeliveryCount int16
}

// PartitionState is what the share coordinator keeps for one share-partition (Kafka's
// ShareSnapshotValue): offsets below StartOffset are all done; Batches describe the
// in-flight window from StartOffset on, ordered and non-overlapping. Offsets at or past
// StartOffset not covered by a batch are Available with delivery count 0.
type PartitionState struct {
	StateEpoch            int32
	LeaderEpoch           int32
	StartOffset           int64 // -1: not yet initialized (share.auto.offset.reset decides)
	DeliveryCompleteCount int32
	Batches               []StateBatch
}

// Summary is ReadShareGroupStateSummary's answer for one share-partition.
type Summary struct {
	StateEpoch  int32
	LeaderEpoch int32
	StartOffset int64
	// DeliveryCompleteCount: records at or past StartOffset already acknowledged or
	// archived (for lag, KIP-1226); -1 when unknown.
	DeliveryCompleteCount int32
}

// Write is one WriteShareGroupState: the leader's new start offset and the batches whose
// state changed (a ShareUpdate), or the whole in-flight window (a ShareSnapshot) — the
// coordinator decides which record it writes.
type Write struct {
	StateEpoch            int32
	LeaderEpoch           int32
	StartOffset           int64 // -1: unchanged
	DeliveryCompleteCount int32
	Batches               []StateBatch
}

// Persister stores share-partition state durably. Errors are kerr errors with Kafka's
// meaning where one applies: kerr.FencedStateEpoch, kerr.FencedLeaderEpoch,
// kerr.CoordinatorNotAvailable / NotCoordinator (retry), kerr.UnknownTopicOrPartition
// (not initialized, for Read).
type Persister interface {
	// Initialize creates (or resets, with a higher stateEpoch) the state of k at
	// startOffset. AlterShareGroupOffsets and the first fetch of a new share-partition use it.
	Initialize(ctx context.Context, k Key, stateEpoch int32, startOffset int64) error
	// Read returns k's state and records leaderEpoch as the one now leading (fencing
	// writes from older leaders).
	Read(ctx context.Context, k Key, leaderEpoch int32) (PartitionState, error)
	// Write persists a change; it returns only once the change is durable (committed in
	// `__share_group_state`).
	Write(ctx context.Context, k Key, w Write) error
	// Delete removes k's state (DeleteShareGroupOffsets, deleting the share group).
	Delete(ctx context.Context, k Key) error
	// ReadSummary returns k's start offset and counts without the batches.
	ReadSummary(ctx context.Context, k Key, leaderEpoch int32) (Summary, error)
}

// GroupConfig is a share group's effective configuration: the group's own configs (GROUP
// config resource, set with IncrementalAlterConfigs) over the broker's `group.share.*`
// defaults.
type GroupConfig struct {
	// AutoOffsetReset is share.auto.offset.reset: "latest" (Kafka's default), "earliest",
	// or "by_duration:<ISO-8601 duration>".
	AutoOffsetReset string
	// RecordLockDuration is share.record.lock.duration.ms.
	RecordLockDuration time.Duration
	// DeliveryCountLimit is share.delivery.count.limit: a record delivered this many times
	// and released or timed out again is archived.
	DeliveryCountLimit int
	// PartitionMaxRecordLocks is share.partition.max.record.locks: in-flight records per
	// share-partition.
	PartitionMaxRecordLocks int
	// ReadCommitted is share.isolation.level=read_committed.
	ReadCommitted bool
}

// Membership is what the share-partition leader asks the group coordinator.
type Membership interface {
	// ShareMember returns nil when memberID is a current member of share group group, and
	// otherwise kerr.UnknownMemberID (or kerr.GroupIDNotFound for no such share group). It
	// may be called for a group coordinated by another broker; then it answers from what
	// this broker knows and must not block on the network.
	ShareMember(group, memberID string) error
	// ShareGroupConfig returns group's effective configuration.
	ShareGroupConfig(group string) GroupConfig
}
