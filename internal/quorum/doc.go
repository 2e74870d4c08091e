// Package quorum is the metadata log: a hashicorp/raft member whose committed entries are
// batches of metadata records, applied in order to a metadata.Image that every node publishes.
//
// Layout under Options.Dir (normally <data-dir>/__cluster_metadata): raft.db, the Raft log and
// stable store (raft-boltdb/v2, fsynced on every write); snapshots/, hashicorp's file snapshot
// store, each snapshot the encoded Image (docs/format/metadata-records.md). The transport is
// TCP on Options.ControllerAddr.
//
// A node without peers bootstraps a configuration of one voter; with peers, every voter
// bootstraps the same configuration. Both are the same code: a one-voter quorum elects itself
// after one (short) election timeout and commits alone. The first leader of a new cluster
// commits the cluster id and the bootstrap feature levels.
//
// Invariants:
//   - The Image only changes on Raft's FSM goroutine, in log order; Image() is an atomic load.
//   - Subscribers see every published Image exactly once, in order, with prev the Image they
//     saw last; Subscribe first hands them the current one.
//   - Leader operations (LeaderImage, Propose) succeed only on the leader after it has applied
//     every entry of earlier terms (a barrier per term); otherwise metadata.ErrNotController.
//   - Propose returns after the batch is committed and applied on this node, so whatever a
//     client was told was created is already in this node's Image.
//
// Example (the broker's composition root):
//
//	q, err := quorum.Open(quorum.Options{NodeID: 1, Dir: filepath.Join(dataDir, "__cluster_metadata"),
//		ControllerAddr: "localhost:9093", Logger: logger})
//	if err != nil { ... }
//	defer q.Close()
//	if err := q.WaitReady(ctx); err != nil { ... }
//	ctl := metadata.NewController(q, metadata.ControllerOptions{NodeID: 1, StaticConfig: static})
//	cancel := q.Subscribe(func(prev, next *metadata.Image) { /* create and delete logs */ })
package quorum
