// Package tests holds Sluice's end-to-end suites: each test runs real `sluice serve` processes
// (built once per run from ./cmd/sluice) on loopback ports and drives them with real clients —
// kcat (librdkafka), kafka-python and confluent-kafka through /usr/bin/python3, franz-go,
// IBM/sarama and segmentio/kafka-go, kafkajs and @kafkajs/confluent-schema-registry through
// /usr/bin/node (tests/node, installed by the test with npm ci) — and with raw frames for
// bad-input cases. Faults are real:
// SIGKILL, SIGTERM, restarts on the same data directory.
//
// `make test` installs the Debian client packages first (scripts/install-test-deps.sh).
package tests
