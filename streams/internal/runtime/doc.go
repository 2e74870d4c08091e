// Package runtime runs a streams application's tasks against a Kafka cluster: one group
// member per instance in the classic group application.id with the "sluice-streams"
// protocol (tasks, not partitions, are assigned: sticky to the member that ran or holds
// them, balanced, standbys on other members), one producer (transactional under
// exactly-once, through franz-go's GroupTransactSession, KIP-447), a changelog reader for
// restores and standbys, and the internal topics (repartition topics and store changelogs)
// created at start.
//
// The processing loop polls, routes each record to its task (one per sub-topology and
// partition), processes every polled record before the next poll (within a task always the
// record with the lowest timestamp among its partitions' heads), calls wall-clock
// punctuators and commits every commit interval: at-least-once flushes the producer, commits
// the consumed offsets, then checkpoints and flushes each task's stores; exactly-once ends
// the transaction holding the outputs, the changelog records and the offsets, and after an
// abort wipes and restores the tasks that wrote in it. Stores live in one Pebble DB per task
// under <state dir>/<task id>; under exactly-once a DB not closed cleanly is wiped and
// restored from its changelog (no KIP-892).
package runtime
