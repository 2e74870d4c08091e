// Package registry is Sluice's built-in schema registry: Confluent's REST API over state kept
// in the compacted _schemas topic (see log.go for the seam with internal/registry/store, which
// reads and writes that topic, and internal/registry/format for the seam with the Avro, JSON
// Schema and Protobuf formats).
package registry
