// Package postgres is a change-data-capture source for PostgreSQL that accepts Debezium's
// PostgresConnector configuration and writes Debezium's events: logical replication with the
// pgoutput plugin (jackc/pglogrepl), a publication and a replication slot it manages, an
// initial snapshot consistent with the stream (the slot's exported snapshot), each table to
// topic <topic.prefix>.<schema>.<table> with Debezium's key and envelope (before, after,
// source, op, ts_ms) and a tombstone after each delete, heartbeats so that an idle slot does not
// hold WAL back, resumption from the last committed LSN, and Debezium's transaction metadata
// (BEGIN and END records on <topic.prefix>.transaction, a transaction block in each event).
package postgres

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/connect"
)

// Class is Debezium's connector class name.
const Class = "io.debezium.connector.postgresql.PostgresConnector"

// version is reported as the connector's and in source.version.
const version = "2.7.0.sluice"

func init() {
	connect.RegisterPlugin(&connect.Plugin{Class: Class, Aliases: []string{"PostgresConnector"}, Kind: connect.Source, Version: version,
		New: func() connect.Connector {
			// One task: one replication slot is one stream.
			return &connect.BasicConnector{Ver: version, Keys: configKeys(), OneTask: true, Check: func(cfg map[string]string) error {
				if cfg["topic.prefix"] == "" && cfg["database.server.name"] == "" {
					return errors.New("topic.prefix (or database.server.name) is required")
				}
				return nil
			}}
		},
		NewSourceTask: func() connect.SourceTask { return &task{} },
		// Streaming resumes at the committed commit LSN, and a poll returns whole transactions
		// (up to maxTxBuffer changes) with that LSN: exactly once under KIP-618. An interrupted
		// initial snapshot is taken again, as Debezium does.
		ExactlyOnce: true})
}

func validList(v string) error {
	for _, p := range connect.SplitList(v) {
		if _, err := regexp.Compile(p); err != nil {
			return err
		}
	}
	return nil
}

func oneOf(vals ...string) func(string) error {
	return func(v string) error {
		for _, x := range vals {
			if strings.EqualFold(v, x) {
				return nil
			}
		}
		return fmt.Errorf("Value must be one of %s", strings.Join(vals, ", "))
	}
}

func nonNegative(v string) error {
	if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
		return fmt.Errorf("Invalid value %s: must be a non-negative number", v)
	}
	return nil
}

func configKeys() []connect.ConfigKey {
	g := "Postgres"
	return []connect.ConfigKey{
		{Name: "database.hostname", Type: "STRING", Importance: "HIGH", Group: g, Required: true, Documentation: "Resolvable hostname or IP address of the database server."},
		{Name: "database.port", Type: "INT", Default: connect.Str("5432"), Importance: "HIGH", Group: g, Documentation: "Port of the database server.", Validate: nonNegative},
		{Name: "database.user", Type: "STRING", Importance: "HIGH", Group: g, Required: true, Documentation: "Name of the database user to connect as."},
		{Name: "database.password", Type: "PASSWORD", Importance: "HIGH", Group: g, Documentation: "Password of the database user."},
		{Name: "database.dbname", Type: "STRING", Importance: "HIGH", Group: g, Required: true, Documentation: "The name of the database to capture."},
		{Name: "topic.prefix", Type: "STRING", Importance: "HIGH", Group: g, Documentation: "Prefix of every topic name (database.server.name in older Debezium configurations)."},
		{Name: "database.server.name", Type: "STRING", Importance: "LOW", Group: g, Documentation: "Older name of topic.prefix."},
		{Name: "plugin.name", Type: "STRING", Default: connect.Str("pgoutput"), Importance: "MEDIUM", Group: g, Documentation: "The logical decoding plugin; only pgoutput.", Validate: oneOf("pgoutput")},
		{Name: "slot.name", Type: "STRING", Default: connect.Str("debezium"), Importance: "MEDIUM", Group: g, Documentation: "The replication slot."},
		{Name: "publication.name", Type: "STRING", Default: connect.Str("dbz_publication"), Importance: "MEDIUM", Group: g, Documentation: "The publication."},
		{Name: "publication.autocreate.mode", Type: "STRING", Default: connect.Str("all_tables"), Importance: "MEDIUM", Group: g, Documentation: "all_tables, filtered or disabled.", Validate: oneOf("all_tables", "filtered", "disabled")},
		{Name: "schema.include.list", Type: "LIST", Importance: "MEDIUM", Group: g, Documentation: "Regular expressions of the schemas to capture.", Validate: validList},
		{Name: "table.include.list", Type: "LIST", Importance: "MEDIUM", Group: g, Documentation: "Regular expressions of the tables (schema.table) to capture.", Validate: validList},
		{Name: "table.exclude.list", Type: "LIST", Importance: "MEDIUM", Group: g, Documentation: "Regular expressions of the tables not to capture.", Validate: validList},
		{Name: "snapshot.mode", Type: "STRING", Default: connect.Str("initial"), Importance: "MEDIUM", Group: g, Documentation: "initial, no_data (never), always, initial_only or when_needed.", Validate: oneOf("initial", "no_data", "never", "always", "initial_only", "when_needed")},
		{Name: "heartbeat.interval.ms", Type: "INT", Default: connect.Str("0"), Importance: "MEDIUM", Group: g, Documentation: "How often to emit a heartbeat record (0: never); heartbeats let the slot advance while the captured tables are idle.", Validate: nonNegative},
		{Name: "topic.heartbeat.prefix", Type: "STRING", Default: connect.Str("__debezium-heartbeat"), Importance: "LOW", Group: g, Documentation: "Prefix of the heartbeat topic, <prefix>.<topic.prefix>."},
		{Name: "provide.transaction.metadata", Type: "BOOLEAN", Default: connect.Str("false"), Importance: "LOW", Group: g, Documentation: "Whether to write BEGIN and END records of each transaction to <topic.prefix>.<topic.transaction> and a transaction block into each change event."},
		{Name: "topic.transaction", Type: "STRING", Default: connect.Str("transaction"), Importance: "LOW", Group: g, Documentation: "The suffix of the transaction metadata topic, <topic.prefix>.<topic.transaction>."},
		{Name: "tombstones.on.delete", Type: "BOOLEAN", Default: connect.Str("true"), Importance: "MEDIUM", Group: g, Documentation: "Whether a delete is followed by a tombstone."},
		{Name: "decimal.handling.mode", Type: "STRING", Default: connect.Str("precise"), Importance: "MEDIUM", Group: g, Documentation: "precise, double or string.", Validate: oneOf("precise", "double", "string")},
		{Name: "skipped.operations", Type: "LIST", Default: connect.Str("none"), Importance: "LOW", Group: g, Documentation: "Operations not to emit (c, u, d, t), or none."},
		{Name: "snapshot.fetch.size", Type: "INT", Default: connect.Str("10240"), Importance: "LOW", Group: g, Documentation: "Rows read per fetch while snapshotting.", Validate: nonNegative},
		{Name: "max.batch.size", Type: "INT", Default: connect.Str("2048"), Importance: "LOW", Group: g, Documentation: "Most records returned by one poll.", Validate: nonNegative},
	}
}
