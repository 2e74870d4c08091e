// Package store keeps the schema registry's state in the cluster: the compacted topic _schemas,
// in the record format Confluent's registry writes there (codec.go), so that a _schemas topic
// copied from a Kafka cluster running Confluent's registry is served as is, and a Confluent
// registry could read what Sluice writes.
//
// Store implements registry.Log. Every node reads _schemas from offset 0 on one goroutine and
// hands each decoded record to the registry's registry.Applier in log order; records it cannot
// decode (unknown key types, bad JSON) are skipped, logged and counted. The writer is the node
// leading _schemas partition 0: when a node becomes writer it appends a NOOP record and waits
// until its reader has applied it, so it never allocates an id from stale state; only then does
// Append accept records, which it appends to the local leader replica with acks=all and returns
// once they are applied. Every other node's Append returns registry.ErrNotWriter, and Writer
// names the writer's registry URL, which each node carries in its broker registration.
//
//	s, err := store.Open(store.Options{...})
//	defer s.Close()
//	err = s.Append(ctx, []registry.Record{{Key: k, Value: v}}) // on the writer
//	err = s.Sync(ctx)                                           // on any node, before a read
package store
