// Package jdbc is a JDBC-style sink for PostgreSQL, accepting the configuration of Confluent's
// JdbcSinkConnector (connection.url jdbc:postgresql://…, insert.mode, pk.mode, pk.fields,
// auto.create, auto.evolve, delete.enabled, table.name.format, fields.whitelist): each record
// becomes a row, inserted or upserted by key; a tombstone deletes the row (pk.mode record_key);
// tables are created, and missing columns added, from the record's schema. Debezium's semantic
// types (dates, timestamps, variable-scale decimals, JSON, UUIDs) are stored as their PostgreSQL
// types, so a table captured by the CDC source is reproduced exactly.
package jdbc

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/internal/connect"
	"github.com/sluicehq/sluice/internal/connect/data"
)

// Class is Confluent's JDBC sink class name.
const Class = "io.confluent.connect.jdbc.JdbcSinkConnector"

const version = "10.7.0.sluice"

func init() {
	connect.RegisterPlugin(&connect.Plugin{Class: Class, Aliases: []string{"JdbcSinkConnector"}, Kind: connect.Sink, Version: version,
		New: func() connect.Connector {
			return &connect.BasicConnector{Ver: version, Keys: configKeys(), Check: func(cfg map[string]string) error {
				if cfg["delete.enabled"] == "true" && !strings.EqualFold(cfg["pk.mode"], "record_key") {
					return errors.New("delete.enabled requires pk.mode record_key")
				}
				return nil
			}}
		},
		NewSinkTask: func() connect.SinkTask { return &sinkTask{} }})
}

func oneOf(vals ...string) func(string) error {
	return func(v string) error {
		for _, x := range vals {
			if strings.EqualFold(v, x) {
				return nil
			}
		}
		return fmt.Errorf("Invalid value %s: must be one of %s", v, strings.Join(vals, ", "))
	}
}

func configKeys() []connect.ConfigKey {
	g := "JDBC"
	return []connect.ConfigKey{
		{Name: "connection.url", Type: "STRING", Importance: "HIGH", Group: g, Required: true, Documentation: "jdbc:postgresql://host:port/database",
			Validate: func(v string) error { _, err := pgURL(v, "", ""); return err }},
		{Name: "connection.user", Type: "STRING", Importance: "HIGH", Group: g, Documentation: "The database user."},
		{Name: "connection.password", Type: "PASSWORD", Importance: "HIGH", Group: g, Documentation: "The database password."},
		{Name: "insert.mode", Type: "STRING", Default: connect.Str("insert"), Importance: "HIGH", Group: g, Documentation: "insert, upsert or update.", Validate: oneOf("insert", "upsert", "update")},
		{Name: "pk.mode", Type: "STRING", Default: connect.Str("none"), Importance: "HIGH", Group: g, Documentation: "none, kafka, record_key or record_value.", Validate: oneOf("none", "kafka", "record_key", "record_value")},
		{Name: "pk.fields", Type: "LIST", Default: connect.Str(""), Importance: "MEDIUM", Group: g, Documentation: "The primary key fields (defaults per pk.mode)."},
		{Name: "fields.whitelist", Type: "LIST", Default: connect.Str(""), Importance: "MEDIUM", Group: g, Documentation: "Value fields to write (all when empty)."},
		{Name: "table.name.format", Type: "STRING", Default: connect.Str("${topic}"), Importance: "MEDIUM", Group: g, Documentation: "The table, with ${topic} for the record's topic; dots separate a schema."},
		{Name: "auto.create", Type: "BOOLEAN", Default: connect.Str("false"), Importance: "MEDIUM", Group: g, Documentation: "Create missing tables from the record schema."},
		{Name: "auto.evolve", Type: "BOOLEAN", Default: connect.Str("false"), Importance: "MEDIUM", Group: g, Documentation: "Add missing columns from the record schema."},
		{Name: "delete.enabled", Type: "BOOLEAN", Default: connect.Str("false"), Importance: "MEDIUM", Group: g, Documentation: "Delete the row of a tombstone (needs pk.mode record_key)."},
	}
}

// pgURL turns jdbc:postgresql://host[:port]/db[?user=&password=] into a pgx URL.
func pgURL(jdbc, user, password string) (string, error) {
	rest, ok := strings.CutPrefix(jdbc, "jdbc:postgresql://")
	if !ok {
		return "", fmt.Errorf("connection.url %q: only jdbc:postgresql:// URLs are supported", jdbc)
	}
	u, err := url.Parse("postgres://" + rest)
	if err != nil {
		return "", fmt.Errorf("connection.url %q: %w", jdbc, err)
	}
	q := u.Query()
	if user == "" {
		user = q.Get("user")
	}
	if password == "" {
		password = q.Get("password")
	}
	q.Del("user")
	q.Del("password")
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	if user != "" {
		u.User = url.UserPassword(user, password)
	}
	return u.String(), nil
}

type sinkTask struct {
	db                 *pgx.Conn
	insertMode, pkMode string
	pkFields           []string
	whitelist          map[string]bool
	tableFormat        string
	autoCreate, evolve bool
	deleteEnabled      bool
	known              map[string]map[string]bool // table → its columns
}

func (t *sinkTask) Start(_ connect.SinkTaskContext, cfg map[string]string) error {
	conn, err := pgURL(cfg["connection.url"], cfg["connection.user"], cfg["connection.password"])
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if t.db, err = pgx.Connect(ctx, conn); err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	t.insertMode = strings.ToLower(or(cfg["insert.mode"], "insert"))
	t.pkMode = strings.ToLower(or(cfg["pk.mode"], "none"))
	t.pkFields = connect.SplitList(cfg["pk.fields"])
	t.whitelist = map[string]bool{}
	for _, f := range connect.SplitList(cfg["fields.whitelist"]) {
		t.whitelist[f] = true
	}
	t.tableFormat = or(cfg["table.name.format"], "${topic}")
	t.autoCreate, t.evolve, t.deleteEnabled = cfg["auto.create"] == "true", cfg["auto.evolve"] == "true", cfg["delete.enabled"] == "true"
	t.known = map[string]map[string]bool{}
	return nil
}

func or(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// tableID is the table a topic's records go to: the format's last two dot-separated parts as
// schema and table (Confluent's TableId parsing, without the catalog).
func (t *sinkTask) tableID(topic string) pgx.Identifier {
	name := strings.ReplaceAll(t.tableFormat, "${topic}", topic)
	parts := strings.Split(name, ".")
	if len(parts) >= 2 {
		return pgx.Identifier{parts[len(parts)-2], parts[len(parts)-1]}
	}
	return pgx.Identifier{name}
}

// col is one column to write.
type col struct {
	name   string
	schema *data.Schema
	value  any
	key    bool
}

// columns flattens a record into its columns per pk.mode.
func (t *sinkTask) columns(r *connect.SinkRecord) ([]col, error) {
	var cols []col
	fieldsOf := func(s *data.Schema, v any, pk bool, only []string) error {
		switch v := v.(type) {
		case *data.Struct:
			for i, f := range s.Fields {
				if only != nil && !contains(only, f.Name) {
					continue
				}
				if !pk && len(t.whitelist) > 0 && !t.whitelist[f.Name] {
					continue
				}
				cols = append(cols, col{name: f.Name, schema: f.Schema, value: v.GetAt(i), key: pk})
			}
			return nil
		case map[any]any:
			for k, x := range v {
				name, _ := k.(string)
				if name == "" || (only != nil && !contains(only, name)) || (!pk && len(t.whitelist) > 0 && !t.whitelist[name]) {
					continue
				}
				cols = append(cols, col{name: name, value: x, key: pk})
			}
			return nil
		case nil:
			return nil
		}
		if pk && len(only) == 1 {
			cols = append(cols, col{name: only[0], schema: s, value: v, key: true})
			return nil
		}
		return fmt.Errorf("a %T record cannot be written as a row (a struct or map is needed)", v)
	}
	switch t.pkMode {
	case "kafka":
		names := t.pkFields
		if len(names) == 0 {
			names = []string{"__connect_topic", "__connect_partition", "__connect_offset"}
		}
		cols = append(cols, col{names[0], data.StringSchema, r.Topic, true},
			col{names[1], data.Int32Schema, r.Partition, true}, col{names[2], data.Int64Schema, r.Offset, true})
	case "record_key":
		var only []string
		if len(t.pkFields) > 0 {
			only = t.pkFields
		}
		if _, ok := r.Key.(*data.Struct); !ok && only == nil {
			if _, isMap := r.Key.(map[any]any); !isMap {
				only = []string{"__connect_key"}
			}
		}
		if err := fieldsOf(r.KeySchema, r.Key, true, only); err != nil {
			return nil, err
		}
	}
	start := len(cols)
	if err := fieldsOf(r.ValueSchema, r.Value, false, nil); err != nil {
		return nil, err
	}
	if t.pkMode == "record_value" {
		for i := start; i < len(cols); i++ {
			cols[i].key = len(t.pkFields) == 0 || contains(t.pkFields, cols[i].name)
		}
	}
	// A key column repeated in the value is written once (the key's).
	seen := map[string]bool{}
	out := cols[:0]
	for _, c := range cols {
		if !seen[c.name] {
			seen[c.name] = true
			out = append(out, c)
		}
	}
	return out, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// sqlType is the PostgreSQL type of a Connect schema.
func sqlType(s *data.Schema, v any) string {
	if s == nil {
		switch v.(type) {
		case int64, int32:
			return "bigint"
		case float64:
			return "double precision"
		case bool:
			return "boolean"
		}
		return "text"
	}
	switch s.Name {
	case data.DecimalName, "io.debezium.data.VariableScaleDecimal":
		return "numeric"
	case data.DateName, "io.debezium.time.Date":
		return "date"
	case data.TimeName, "io.debezium.time.MicroTime", "io.debezium.time.Time":
		return "time"
	case data.TimestampName, "io.debezium.time.MicroTimestamp", "io.debezium.time.Timestamp":
		return "timestamp"
	case "io.debezium.time.ZonedTimestamp":
		return "timestamptz"
	case "io.debezium.data.Json":
		return "jsonb"
	case "io.debezium.data.Uuid":
		return "uuid"
	}
	switch s.Type {
	case data.TypeInt8, data.TypeInt16:
		return "smallint"
	case data.TypeInt32:
		return "integer"
	case data.TypeInt64:
		return "bigint"
	case data.TypeFloat32:
		return "real"
	case data.TypeFloat64:
		return "double precision"
	case data.TypeBoolean:
		return "boolean"
	case data.TypeBytes:
		return "bytea"
	}
	return "text"
}

// sqlValue is the parameter for a column: a Go value pgx encodes, or text with a cast.
func sqlValue(c col) (any, error) {
	v := c.value
	if v == nil {
		return nil, nil
	}
	if c.schema != nil {
		switch c.schema.Name {
		case data.DecimalName:
			return v.(data.Decimal).String(), nil
		case "io.debezium.data.VariableScaleDecimal":
			st := v.(*data.Struct)
			scale, _ := st.Get("scale").(int32)
			raw, _ := st.Get("value").([]byte)
			d, err := data.DecimalFromBytes(raw, scale)
			if err != nil {
				return nil, err
			}
			return d.String(), nil
		case "io.debezium.time.Date":
			return time.Unix(int64(v.(int32))*86400, 0).UTC().Format("2006-01-02"), nil
		case "io.debezium.time.MicroTime":
			us := v.(int64)
			return fmt.Sprintf("%02d:%02d:%02d.%06d", us/3_600_000_000, us/60_000_000%60, us/1_000_000%60, us%1_000_000), nil
		case "io.debezium.time.MicroTimestamp":
			return time.UnixMicro(v.(int64)).UTC().Format("2006-01-02 15:04:05.999999"), nil
		case data.DateName:
			return v.(time.Time).Format("2006-01-02"), nil
		case data.TimeName:
			return v.(time.Time).Format("15:04:05.999"), nil
		case data.TimestampName:
			return v.(time.Time).UTC().Format("2006-01-02 15:04:05.999"), nil
		}
	}
	switch x := v.(type) {
	case int8:
		return int16(x), nil
	case map[any]any, []any, *data.Struct:
		return fmt.Sprint(x), nil
	case *big.Int:
		return x.String(), nil
	}
	return v, nil
}

// ensureTable creates the table or adds columns, per auto.create and auto.evolve.
func (t *sinkTask) ensureTable(ctx context.Context, tx pgx.Tx, id pgx.Identifier, cols []col) error {
	name := id.Sanitize()
	have, ok := t.known[name]
	if !ok {
		have = map[string]bool{}
		schema, table := "public", id[len(id)-1]
		if len(id) == 2 {
			schema = id[0]
		}
		rows, err := tx.Query(ctx, "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2", schema, table)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return err
			}
			have[c] = true
		}
		rows.Close()
		if len(have) == 0 {
			if !t.autoCreate {
				return fmt.Errorf("table %s does not exist and auto.create is false", name)
			}
			var defs, pk []string
			for _, c := range cols {
				def := pgx.Identifier{c.name}.Sanitize() + " " + sqlType(c.schema, c.value)
				if c.key || (c.schema != nil && !c.schema.Optional) {
					def += " NOT NULL"
				}
				defs = append(defs, def)
				if c.key {
					pk = append(pk, pgx.Identifier{c.name}.Sanitize())
				}
				have[c.name] = true
			}
			if len(pk) > 0 {
				defs = append(defs, "PRIMARY KEY ("+strings.Join(pk, ", ")+")")
			}
			if len(id) == 2 {
				if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{id[0]}.Sanitize()); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s)", name, strings.Join(defs, ", "))); err != nil {
				return fmt.Errorf("creating %s: %w", name, err)
			}
		}
		t.known[name] = have
	}
	for _, c := range cols {
		if have[c.name] {
			continue
		}
		if !t.evolve {
			return fmt.Errorf("table %s has no column %q and auto.evolve is false", name, c.name)
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s", name, pgx.Identifier{c.name}.Sanitize(), sqlType(c.schema, c.value))); err != nil {
			return err
		}
		have[c.name] = true
	}
	return nil
}

// Put writes the records in one transaction, their statements sent as one pipelined batch.
func (t *sinkTask) Put(recs []connect.SinkRecord) error {
	if len(recs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tx, err := t.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	p := &pending{}
	for i := range recs {
		if err = t.write(ctx, tx, p, &recs[i]); err != nil {
			break
		}
	}
	if err == nil {
		err = p.send(ctx, tx)
	}
	if err != nil {
		t.known = map[string]map[string]bool{} // the rolled-back DDL is gone too
		return err
	}
	return tx.Commit(ctx)
}

// recordErr names the record an error is about (nil stays nil).
func recordErr(r *connect.SinkRecord, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s-%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
}

// write queues a record's statement in p. Parameters carry casts to the column types, so that
// values given as text (numerics, dates, timestamps) are read as those types.
func (t *sinkTask) write(ctx context.Context, tx pgx.Tx, p *pending, r *connect.SinkRecord) error {
	id := t.tableID(r.Topic)
	if r.Value == nil {
		if !t.deleteEnabled {
			return nil // Confluent's sink ignores tombstones unless delete.enabled
		}
		keyCols, err := t.columns(&connect.SinkRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, KeySchema: r.KeySchema, Key: r.Key})
		if err != nil || len(keyCols) == 0 {
			return recordErr(r, fmt.Errorf("a tombstone without a usable key: %v", err))
		}
		var conds []string
		var args []any
		for i, c := range keyCols {
			v, err := sqlValue(c)
			if err != nil {
				return recordErr(r, err)
			}
			conds = append(conds, fmt.Sprintf("%s = $%d::%s", pgx.Identifier{c.name}.Sanitize(), i+1, sqlType(c.schema, c.value)))
			args = append(args, v)
		}
		if _, known := t.known[id.Sanitize()]; !known {
			var exists bool
			if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", id.Sanitize()).Scan(&exists); err != nil || !exists {
				return recordErr(r, err) // nothing to delete from
			}
		}
		return p.queue(ctx, tx, r, fmt.Sprintf("DELETE FROM %s WHERE %s", id.Sanitize(), strings.Join(conds, " AND ")), args...)
	}
	cols, err := t.columns(r)
	if err != nil {
		return recordErr(r, err)
	}
	if len(cols) == 0 {
		return nil
	}
	if err := t.ensureTable(ctx, tx, id, cols); err != nil {
		return recordErr(r, err)
	}
	var names, params, updates, keys []string
	var args []any
	for i, c := range cols {
		v, err := sqlValue(c)
		if err != nil {
			return recordErr(r, fmt.Errorf("column %s: %w", c.name, err))
		}
		n := pgx.Identifier{c.name}.Sanitize()
		names = append(names, n)
		params = append(params, fmt.Sprintf("$%d::%s", i+1, sqlType(c.schema, c.value)))
		args = append(args, v)
		if c.key {
			keys = append(keys, n)
		} else {
			updates = append(updates, fmt.Sprintf("%s = EXCLUDED.%s", n, n))
		}
	}
	var q string
	switch t.insertMode {
	case "upsert":
		if len(keys) == 0 {
			return recordErr(r, errors.New("insert.mode upsert needs a primary key (pk.mode)"))
		}
		action := "DO NOTHING"
		if len(updates) > 0 {
			action = "DO UPDATE SET " + strings.Join(updates, ", ")
		}
		q = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) %s", id.Sanitize(), strings.Join(names, ", "), strings.Join(params, ", "), strings.Join(keys, ", "), action)
	case "update":
		var sets, conds []string
		for i, c := range cols {
			expr := fmt.Sprintf("%s = %s", pgx.Identifier{c.name}.Sanitize(), params[i])
			if c.key {
				conds = append(conds, expr)
			} else {
				sets = append(sets, expr)
			}
		}
		if len(conds) == 0 || len(sets) == 0 {
			return recordErr(r, errors.New("insert.mode update needs key and value columns"))
		}
		q = fmt.Sprintf("UPDATE %s SET %s WHERE %s", id.Sanitize(), strings.Join(sets, ", "), strings.Join(conds, " AND "))
	default:
		q = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", id.Sanitize(), strings.Join(names, ", "), strings.Join(params, ", "))
	}
	return p.queue(ctx, tx, r, q, args...)
}

func (t *sinkTask) Flush(map[connect.TopicPartition]int64) error { return nil } // Put commits

func (t *sinkTask) Stop() error {
	if t.db != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return t.db.Close(ctx)
	}
	return nil
}
