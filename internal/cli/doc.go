// Package cli is the `sluice` command: `sluice serve` runs a broker, and the client commands
// (topic, produce, consume, group, cluster, bench) talk to any Kafka-compatible cluster through
// franz-go. Each noun lives in its own file; Main is the only entry point, taking its streams
// as arguments so tests drive it in-process.
//
// Settings resolve in this order, first wins: a command-line flag, a SLUICE_* environment
// variable (the flag name upper-cased with '-' as '_', e.g. SLUICE_KAFKA_ADDR), a key of the
// optional --config file (Java properties syntax, the flag name or a Kafka broker config name),
// and the built-in default.
//
//	sluice serve --data-dir /var/lib/sluice --kafka-addr 0.0.0.0:9092
package cli
