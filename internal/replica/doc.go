// Package replica makes this broker's follower replicas follow their leaders: Kafka's replica
// fetcher threads.
//
// A Manager keeps one fetcher per source broker (the leader of some partitions this broker
// follows). Each fetcher runs one goroutine that sends Fetch requests as a replica — replica
// id and broker epoch in ReplicaState (KIP-903), each partition's current leader epoch and the
// epoch of its last fetched batch (KIP-320/595) — long-polls the leader, and appends what comes
// back with partition.AppendAsFollower (offsets, epochs, producer state and transactions as the
// leader wrote them), then takes the leader's high watermark and log start offset.
//
// Divergence after a leader change (KIP-101/279): the leader answers a fetch whose last fetched
// epoch it does not share with DivergingEpoch, and the follower truncates to the smaller of
// that epoch's end offset on the leader and on itself, then fetches again; the next fetch
// carries the epoch it now ends with, so the two logs step back through epochs until they
// agree. A fetch offset the leader no longer has (OFFSET_OUT_OF_RANGE) is resolved with
// ListOffsets (the leader's log start: restart the log there) and OffsetForLeaderEpoch (the
// leader's end of this replica's latest epoch: truncate there). Truncation never goes by the
// high watermark.
//
// The Manager learns which partitions to follow from the metadata: Update runs after every
// Image the broker applies and moves partitions between fetchers when leaders change.
package replica
