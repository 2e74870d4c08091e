// Package coordinator is the share coordinator (KIP-932): it keeps every share-partition's
// delivery state (start offset, state and delivery count of in-flight offsets, state and
// leader epochs) in the __share_group_state topic with Kafka's ShareSnapshot and ShareUpdate
// records (schema.go), and implements share.Persister for the share-partition leaders.
//
// Keys: a share-partition (group, topic id, partition) belongs to __share_group_state
// partition abs(Java hashCode("group:topicId:partition")) mod the partition count, as Kafka
// keys it; that partition's leader is the share-partition's coordinator (FindCoordinator key
// type 2, SHARE).
//
// Records: the first write of a share-partition, an Initialize, and every write after
// share.coordinator.snapshot.update.records.per.snapshot ShareUpdates is a ShareSnapshot (the
// whole state, the snapshot epoch bumped); other writes are ShareUpdates carrying only the
// changed batches. Loading replays a partition: a snapshot replaces the state, an update of the
// current snapshot epoch is merged into it, a tombstone (Delete) forgets it.
//
// Invariants:
//   - A change is committed in __share_group_state (acks=-1, the high watermark passed it)
//     before it is applied in memory or answered; a failed write changes nothing.
//   - One share-partition's writes are serialized (entry.write), so memory follows log order.
//   - Fencing: a state epoch older than the stored one is FENCED_STATE_EPOCH, a leader epoch
//     older than the stored one FENCED_LEADER_EPOCH; Read with a newer leader epoch stores it
//     (a ShareUpdate) before answering, so the previous leader's writes are fenced from then on,
//     also after a restart or failover.
//
// Leadership (Config.FollowLeadership): the broker's reconcile calls Elected for each state
// partition it comes to lead (load on a goroutine; COORDINATOR_LOAD_IN_PROGRESS meanwhile)
// and Resigned for each it stops leading (NOT_COORDINATOR after); LoadPartitions loads those
// led at start.
//
// Persister routes a share.Persister call to the coordinator of its key: this node's
// Coordinator, or the state partition's leader through the RPCs InitializeShareGroupState …
// ReadShareGroupStateSummary on the inter-broker listener, retrying NOT_COORDINATOR,
// COORDINATOR_LOAD_IN_PROGRESS and COORDINATOR_NOT_AVAILABLE with backoff, as Kafka's
// persister does.
package coordinator
