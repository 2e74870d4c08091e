// Package quorum is the metadata log: a hashicorp/raft member whose committed entries are
// batches of metadata records, applied in order to a metadata.Image that every node publishes.
//
// Layout under Options.Dir (normally <data-dir>/__cluster_metadata): raft.db, the Raft log and
// stable store (raft-boltdb/v2, fsynced on every write); snapshots/, hashicorp's file snapshot
// store, each snapshot the encoded Image (docs/format/metadata-records.md). The transport is
// TCP on Options.ControllerAddr.
//
// Identity (identity.go): <data-dir>/meta.properties (Kafka's format: version, node.id,
// cluster.id, directory.id) names the node, its cluster and its directory id (KIP-853). A Raft
// server is "id:dir" at "host:port/dir", so an old voter and the same node with a replaced disk
// are different servers, and the transport refuses connections meant for another directory.
// Raft state from before directory ids keeps its plain "id" name.
//
// A node without peers bootstraps a configuration of one voter. A new multi-node cluster's
// nodes first exchange directory ids (hello.go, on the controller address) and then each
// bootstraps the same configuration; a new directory that finds the cluster existing does not
// bootstrap. Nodes in no configuration (observers, replaced disks, removed voters) ask the
// leader to add them as non-voters and follow the log (membership.go), until an operator makes
// them voters (AddVoter, after RemoveVoter of the old directory). The first leader of a new
// cluster commits the cluster id (meta.properties' if it names one) and the bootstrap feature
// levels; a node whose meta.properties names another cluster than its peers' or its log's
// refuses to serve.
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
