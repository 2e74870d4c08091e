// Package broker is Sluice's composition root: it builds every subsystem from a Config, starts
// them in dependency order and stops them in reverse.
//
// Start order: static broker configs are validated; the metadata quorum opens (Raft log in
// <data-dir>/__cluster_metadata) and this node waits until the quorum has a leader and has
// replayed its log; storage opens the data directory (recovering after an unclean stop); the
// metadata subscriber reconciles hosted partitions with the Image (creating, opening and
// deleting logs, applying leader epochs and configs); the node registers itself with the
// controller; the Kafka listener and the HTTP listener start. Close runs the reverse: stop
// accepting and finish in-flight requests, stop HTTP, stop following metadata, close storage
// (flush, checkpoints, clean-shutdown marker), close the quorum.
//
// Goroutines owned here: none of its own beyond the Kafka accept loop (server.Serve); the
// reconcile callback runs on the quorum's FSM goroutine, one Image at a time.
//
//	b, err := broker.Start(ctx, broker.Config{NodeID: 1, DataDir: "./sluice-data",
//		KafkaAddr: "localhost:9092", AdvertisedAddr: "localhost:9092", HTTPAddr: "localhost:9644",
//		ControllerAddr: "localhost:9093"})
//	...
//	err = b.Close()
package broker
