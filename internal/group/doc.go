// Package group is the group coordinator: the classic group state machine (Empty,
// PreparingRebalance, CompletingRebalance, Stable, Dead), member sessions, the join/sync
// barrier that hands the leader's assignment to every member; KIP-848 consumer groups, whose
// assignment the broker computes (uniform and range assignors) and members reconcile towards
// through ConsumerGroupHeartbeat, revoking partitions before anyone else gets them
// (consumer.go, assign.go); and the groups' committed offsets, with their retention
// (retention.go).
//
// Invariants:
//   - A group's generation only grows; every completed join barrier bumps it.
//   - Only members of the current generation may sync, heartbeat without error, or commit
//     offsets with a member id (ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID otherwise).
//   - A member is removed when its session expires (a timer per member deadline, reset by
//     every heartbeat, join and sync), when it leaves, or when it fails to rejoin before the
//     rebalance timeout.
//   - Waiting requests (join, sync) are answered through a one-slot channel exactly once.
//   - A transaction whose offsets a member committed (TxnOffsetCommit) and left pending is
//     handed to the TxnAborter when that member leaves or its static instance is taken
//     over (txnoffsets.go): nobody is left to end it.
//
// Concurrency: Coordinator.mu guards only the map of groups (lookup, creation, removal); each
// group's state, members, timers and offsets are guarded by its own group.mu, so requests and
// timers of different groups do not wait on each other. Order: group.mu → Coordinator.mu, and
// group.mu → txnOffsets.mu (pending transactional offsets, keyed by producer); both are held
// only for map work. Work spanning groups (Close, Resigned, List, the retention sweep, a
// transaction marker) locks one group at a time over a snapshot of the map. Nothing under a
// group's mutex blocks: answers go to buffered channels, and TxnAborter.AbortFencedTxn only
// starts a goroutine. Close stops every timer.
//
// Leadership: a broker's coordinator follows __consumer_offsets leadership
// (Config.FollowLeadership, ownership.go): it serves only the groups of the partitions it was
// elected for (LoadPartitions at start, Elected after), answers ErrCoordinatorLoadInProgress
// while one loads and ErrNotCoordinator for the others (CoordinatorStatus, which every group
// request checks first), and forgets a partition's groups when it resigns (Resigned).
//
// Consumer group invariants: a partition is owned (assigned or pending revocation) by at most
// one member at a time; a member's epoch never passes the group's assignment epoch, which never
// passes the group epoch; a member reaches the assignment epoch only after it revoked what its
// target no longer holds.
//
// Durability: with Config.Log (PartitionLog on the broker) every commit is appended to its
// group's __consumer_offsets partition (Partition: Kafka's hash) in Kafka's key/value schemas
// (schema.go, docs/format/consumer-offsets.md) and acknowledged once the append is durable;
// only then is it visible to fetches. Each generation that becomes Stable, and each group that
// becomes Empty, writes a group metadata record in the background (one writer goroutine per
// snapshot; a newer snapshot supersedes an unwritten older one; Close waits for them).
// DeleteGroups writes tombstones. LoadPartitions reads the hosted partitions back at start:
// groups return with their generation, leader and members (session timers armed afresh), so
// members keep heartbeating in their generation across a broker restart.
//
// Example:
//
//	c := group.New(group.Config{MinSessionTimeout: 6 * time.Second, MaxSessionTimeout: 30 * time.Minute})
//	defer c.Close()
//	res := <-c.Join(group.JoinRequest{Group: "email-service", ProtocolType: "consumer",
//		Protocols: []group.Protocol{{Name: "range"}}, SessionTimeout: 10 * time.Second,
//		RebalanceTimeout: time.Minute})
package group
