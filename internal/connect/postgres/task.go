package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluicehq/sluice/internal/connect"
	"github.com/sluicehq/sluice/internal/connect/data"
)

// table is a captured table's shape and its schemas.
type table struct {
	schema, name string
	columns      []*column
	keySchema    *data.Schema // nil: no primary key (null keys)
	valueSchema  *data.Schema
	envelope     *data.Schema
	topic        string
}

// phase of the task.
type phase uint8

const (
	phaseStart phase = iota
	phaseSnapshot
	phaseStream
	phaseIdle // initial_only after its snapshot
)

type task struct {
	cfg       map[string]string
	log       *slog.Logger
	offsets   connect.OffsetReader
	prefix    string
	slot, pub string
	include   []*regexp.Regexp
	exclude   []*regexp.Regexp
	schemas   []*regexp.Regexp
	dm        decimalMode
	tombs     bool
	skip      map[string]bool
	heartbeat time.Duration
	hbTopic   string
	maxBatch  int
	fetchSize int
	txMeta    bool   // provide.transaction.metadata
	txTopic   string // <topic.prefix>.<topic.transaction>

	phase   phase
	repl    *pgconn.PgConn // the replication connection
	db      *pgx.Conn      // queries: metadata and the snapshot
	tables  map[uint32]*table
	byName  map[string]*table
	srcPart map[string]any
	source  *data.Schema

	// Snapshot state.
	snapLSN    pglogrepl.LSN
	snapTables []*table
	snapIdx    int
	snapRows   pgx.Rows
	snapCount  int64

	// Stream state.
	startLSN      pglogrepl.LSN // where replication (re)starts: the last committed offset
	returnedLSN   pglogrepl.LSN // the offset lsn of the last record returned by Poll
	confirmedLSN  pglogrepl.LSN // what the worker committed, confirmed to the server
	walEnd        pglogrepl.LSN // the server's WAL end, from keepalives
	inTx          bool
	xid           uint32
	txCommitTime  time.Time
	txBuf         []connect.SourceRecord
	txCounts      txCounts // the events of the transaction being decoded
	lastStatus    time.Time
	lastHeartbeat time.Time
	lastActivity  time.Time
}

func (t *task) Start(ctx connect.SourceTaskContext, cfg map[string]string) error {
	t.cfg = cfg
	t.log = slog.Default().With("component", "connect", "connector", cfg["name"], "class", "PostgresConnector")
	t.offsets = ctx.Offsets()
	t.prefix = cfg["topic.prefix"]
	if t.prefix == "" {
		t.prefix = cfg["database.server.name"]
	}
	t.slot, t.pub = or(cfg["slot.name"], "debezium"), or(cfg["publication.name"], "dbz_publication")
	var err error
	if t.include, err = compileList(cfg["table.include.list"]); err != nil {
		return err
	}
	if t.exclude, err = compileList(cfg["table.exclude.list"]); err != nil {
		return err
	}
	if t.schemas, err = compileList(cfg["schema.include.list"]); err != nil {
		return err
	}
	switch strings.ToLower(cfg["decimal.handling.mode"]) {
	case "double":
		t.dm = decimalDouble
	case "string":
		t.dm = decimalString
	}
	t.tombs = cfg["tombstones.on.delete"] != "false"
	t.skip = map[string]bool{}
	for _, op := range connect.SplitList(cfg["skipped.operations"]) {
		t.skip[op] = true
	}
	hb, _ := strconv.Atoi(cfg["heartbeat.interval.ms"])
	t.heartbeat = time.Duration(hb) * time.Millisecond
	t.hbTopic = or(cfg["topic.heartbeat.prefix"], "__debezium-heartbeat") + "." + t.prefix
	t.maxBatch, _ = strconv.Atoi(or(cfg["max.batch.size"], "2048"))
	t.fetchSize, _ = strconv.Atoi(or(cfg["snapshot.fetch.size"], "10240"))
	t.maxBatch, t.fetchSize = max(t.maxBatch, 1), max(t.fetchSize, 1)
	t.txMeta = strings.EqualFold(cfg["provide.transaction.metadata"], "true")
	t.txTopic = t.prefix + "." + or(cfg["topic.transaction"], "transaction")
	t.srcPart = map[string]any{"server": t.prefix}
	t.source = sourceSchema()
	t.tables, t.byName = map[uint32]*table{}, map[string]*table{}
	return nil
}

func or(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func compileList(v string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, p := range connect.SplitList(v) {
		re, err := regexp.Compile("^(?:" + p + ")$")
		if err != nil {
			return nil, err
		}
		out = append(out, re)
	}
	return out, nil
}

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// captured reports whether schema.table is captured.
func (t *task) captured(schema, name string) bool {
	if schema == "pg_catalog" || schema == "information_schema" {
		return false
	}
	full := schema + "." + name
	if len(t.schemas) > 0 && !matchAny(t.schemas, schema) {
		return false
	}
	if len(t.include) > 0 && !matchAny(t.include, full) {
		return false
	}
	return !matchAny(t.exclude, full)
}

func (t *task) connString(replication bool) string {
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(t.cfg["database.hostname"], or(t.cfg["database.port"], "5432")),
		Path: "/" + t.cfg["database.dbname"], User: url.UserPassword(t.cfg["database.user"], t.cfg["database.password"])}
	q := url.Values{}
	q.Set("application_name", "sluice-connect-"+t.cfg["name"])
	if mode := t.cfg["database.sslmode"]; mode != "" {
		q.Set("sslmode", mode)
	} else {
		q.Set("sslmode", "disable")
	}
	if replication {
		q.Set("replication", "database")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// storedOffset is the task's committed offset.
type storedOffset struct {
	found        bool
	lsn          pglogrepl.LSN
	snapshotting bool // the last committed record was a snapshot record other than the last
}

func (t *task) readOffset() (storedOffset, error) {
	off, err := t.offsets.Offset(t.srcPart)
	if err != nil || off == nil {
		return storedOffset{}, err
	}
	so := storedOffset{found: true}
	so.lsn = pglogrepl.LSN(number(off["lsn"]))
	if b, _ := off["snapshot"].(bool); b {
		if last, _ := off["last_snapshot_record"].(bool); !last {
			so.snapshotting = true
		}
	}
	return so, nil
}

func number(v any) int64 {
	switch v := v.(type) {
	case float64:
		return int64(v)
	case int64:
		return v
	case int:
		return int64(v)
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}

// setup connects, makes the publication and slot, and decides between snapshot and stream.
func (t *task) setup(ctx context.Context) error {
	var err error
	if t.db, err = pgx.Connect(ctx, t.connString(false)); err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	if t.repl, err = pgconn.Connect(ctx, t.connString(true)); err != nil {
		return fmt.Errorf("opening a replication connection: %w", err)
	}
	if err := t.ensurePublication(ctx); err != nil {
		return err
	}
	off, err := t.readOffset()
	if err != nil {
		return err
	}
	var slotExists bool
	var confirmed *string
	if err := t.db.QueryRow(ctx, "SELECT true, confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", t.slot).Scan(&slotExists, &confirmed); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("reading the replication slot: %w", err)
	}
	mode := strings.ToLower(or(t.cfg["snapshot.mode"], "initial"))
	snapshot := false
	switch mode {
	case "initial", "initial_only":
		snapshot = !off.found || off.snapshotting
	case "always":
		snapshot = true
	case "when_needed":
		snapshot = !off.found || off.snapshotting || !slotExists
		if slotExists && off.found && confirmed != nil {
			if c, err := pglogrepl.ParseLSN(*confirmed); err == nil && off.lsn < c {
				snapshot = true // the slot moved past what was committed: changes are gone
			}
		}
	}
	if mode == "initial_only" && off.found && !off.snapshotting {
		t.phase = phaseIdle
		return nil
	}
	if snapshot {
		return t.startSnapshot(ctx, slotExists)
	}
	if !slotExists {
		res, err := pglogrepl.CreateReplicationSlot(ctx, t.repl, t.slot, "pgoutput", pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "NOEXPORT_SNAPSHOT"})
		if err != nil {
			return fmt.Errorf("creating replication slot %s: %w", t.slot, err)
		}
		lsn, _ := pglogrepl.ParseLSN(res.ConsistentPoint)
		if !off.found || off.lsn < lsn {
			off.lsn = lsn
		}
	}
	t.startLSN = off.lsn
	return t.startStream(ctx)
}

func (t *task) ensurePublication(ctx context.Context) error {
	var exists bool
	if err := t.db.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)", t.pub).Scan(&exists); err != nil {
		return fmt.Errorf("reading publications: %w", err)
	}
	if exists {
		return nil
	}
	mode := strings.ToLower(or(t.cfg["publication.autocreate.mode"], "all_tables"))
	switch mode {
	case "disabled":
		return fmt.Errorf("publication %s does not exist and publication.autocreate.mode is disabled", t.pub)
	case "filtered":
		tables, err := t.listTables(ctx)
		if err != nil {
			return err
		}
		if len(tables) == 0 {
			return errors.New("no table matches the include lists, so a filtered publication cannot be created")
		}
		var names []string
		for _, tb := range tables {
			names = append(names, pgx.Identifier{tb[0], tb[1]}.Sanitize())
		}
		_, err = t.db.Exec(ctx, fmt.Sprintf("CREATE PUBLICATION %s FOR TABLE %s", pgx.Identifier{t.pub}.Sanitize(), strings.Join(names, ", ")))
		return err
	}
	_, err := t.db.Exec(ctx, fmt.Sprintf("CREATE PUBLICATION %s FOR ALL TABLES", pgx.Identifier{t.pub}.Sanitize()))
	if err != nil {
		return fmt.Errorf("creating publication %s: %w", t.pub, err)
	}
	return nil
}

// listTables lists the captured ordinary tables as [schema, name], in name order.
func (t *task) listTables(ctx context.Context) ([][2]string, error) {
	rows, err := t.db.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
		ORDER BY n.nspname, c.relname`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var s, n string
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		if t.captured(s, n) {
			out = append(out, [2]string{s, n})
		}
	}
	return out, rows.Err()
}

// describe reads a table's columns (in order), their nullability and primary key, and builds
// its schemas.
func (t *task) describe(ctx context.Context, schema, name string) (*table, error) {
	rows, err := t.db.Query(ctx, `SELECT a.attname, a.atttypid, a.atttypmod, NOT a.attnotnull,
		COALESCE(a.attnum = ANY (i.indkey), false)
		FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
		WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY a.attnum`, schema, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	tb := &table{schema: schema, name: name, topic: t.prefix + "." + schema + "." + name}
	for rows.Next() {
		c := &column{}
		var oid uint32
		if err := rows.Scan(&c.name, &oid, &c.typmod, &c.optional, &c.key); err != nil {
			return nil, err
		}
		c.oid = oid
		c.schema = columnSchema(c.oid, c.typmod, c.optional, t.dm)
		tb.columns = append(tb.columns, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(tb.columns) == 0 {
		return nil, fmt.Errorf("table %s.%s has no columns (or does not exist)", schema, name)
	}
	t.buildSchemas(tb)
	t.byName[schema+"."+name] = tb
	return tb, nil
}

// buildSchemas makes a table's key, value and envelope schemas from its columns.
func (t *task) buildSchemas(tb *table) {
	base := t.prefix + "." + tb.schema + "." + tb.name
	var keyFields, valueFields []data.Field
	for _, c := range tb.columns {
		valueFields = append(valueFields, data.F(c.name, c.schema))
		if c.key {
			keyFields = append(keyFields, data.F(c.name, columnSchema(c.oid, c.typmod, false, t.dm)))
		}
	}
	if len(keyFields) > 0 {
		tb.keySchema = data.MustStruct(base+".Key", keyFields...)
	}
	tb.valueSchema = data.MustStruct(base+".Value", valueFields...).AsOptional()
	tb.envelope = data.MustStruct(base+".Envelope",
		data.F("before", tb.valueSchema), data.F("after", tb.valueSchema), data.F("source", t.source),
		data.F("transaction", transactionSchema), data.F("op", data.StringSchema),
		data.F("ts_ms", data.OptionalInt64Schema), data.F("ts_us", data.OptionalInt64Schema), data.F("ts_ns", data.OptionalInt64Schema),
	).Named(base+".Envelope", 2)
}

var transactionSchema = data.MustStruct("event.block",
	data.F("id", data.StringSchema), data.F("total_order", data.Int64Schema), data.F("data_collection_order", data.Int64Schema),
).Named("event.block", 1).AsOptional()

// sourceSchema is Debezium's io.debezium.connector.postgresql.Source.
func sourceSchema() *data.Schema {
	snapshot := data.StringSchema.Named("io.debezium.data.Enum", 1).WithParameter("allowed", "true,last,false,incremental").WithDefault("false").AsOptional()
	return data.MustStruct("io.debezium.connector.postgresql.Source",
		data.F("version", data.StringSchema), data.F("connector", data.StringSchema), data.F("name", data.StringSchema),
		data.F("ts_ms", data.Int64Schema), data.F("snapshot", snapshot), data.F("db", data.StringSchema),
		data.F("sequence", data.OptionalStringSchema), data.F("ts_us", data.OptionalInt64Schema), data.F("ts_ns", data.OptionalInt64Schema),
		data.F("schema", data.StringSchema), data.F("table", data.StringSchema),
		data.F("txId", data.OptionalInt64Schema), data.F("lsn", data.OptionalInt64Schema), data.F("xmin", data.OptionalInt64Schema),
	)
}

func (t *task) sourceValue(tb *table, snapshot string, at time.Time, xid uint32, lsn pglogrepl.LSN) *data.Struct {
	s := data.NewStructValue(t.source).
		Set("version", version).Set("connector", "postgresql").Set("name", t.prefix).
		Set("ts_ms", at.UnixMilli()).Set("ts_us", at.UnixMicro()).Set("ts_ns", at.UnixNano()).
		Set("snapshot", snapshot).Set("db", t.cfg["database.dbname"]).Set("schema", tb.schema).Set("table", tb.name)
	if xid != 0 {
		s.Set("txId", int64(xid))
	}
	if lsn != 0 {
		s.Set("lsn", int64(lsn))
	}
	return s
}

// record builds one change event.
func (t *task) record(tb *table, op string, before, after *data.Struct, key *data.Struct, src *data.Struct, offset map[string]any) connect.SourceRecord {
	now := time.Now()
	env := data.NewStructValue(tb.envelope).Set("source", src).Set("op", op).
		Set("ts_ms", now.UnixMilli()).Set("ts_us", now.UnixMicro()).Set("ts_ns", now.UnixNano())
	if before != nil {
		env.Set("before", before)
	}
	if after != nil {
		env.Set("after", after)
	}
	r := connect.SourceRecord{SourcePartition: t.srcPart, SourceOffset: offset, Topic: tb.topic,
		ValueSchema: tb.envelope, Value: env, Timestamp: now.UnixMilli()}
	if tb.keySchema != nil && key != nil {
		r.KeySchema, r.Key = tb.keySchema, key
	}
	return r
}

// row builds a Value struct from text columns (nil entries are NULLs; unchanged TOAST marked).
func (t *task) row(tb *table, texts []*string, toasted []bool) (value, key *data.Struct, err error) {
	value = data.NewStructValue(tb.valueSchema)
	if tb.keySchema != nil {
		key = data.NewStructValue(tb.keySchema)
	}
	for i, c := range tb.columns {
		if i >= len(texts) {
			break
		}
		var v any
		switch {
		case toasted != nil && toasted[i]:
			switch c.schema.Type {
			case data.TypeString:
				v = unavailablePlaceholder
			case data.TypeBytes:
				v = []byte(unavailablePlaceholder)
			}
		case texts[i] != nil:
			if v, err = parseText(c, *texts[i]); err != nil {
				return nil, nil, fmt.Errorf("column %s of %s.%s: %w", c.name, tb.schema, tb.name, err)
			}
		}
		if v == nil && !c.optional {
			// A required column without a value (the old tuple of a delete or key change carries
			// only the key without REPLICA IDENTITY FULL): as Debezium, the type's zero value.
			v = zeroValue(c.schema)
		}
		if err := value.Put(c.name, v); err != nil {
			return nil, nil, err
		}
		if key != nil && c.key && v != nil {
			if err := key.Put(c.name, v); err != nil {
				return nil, nil, err
			}
		}
	}
	return value, key, nil
}

// startSnapshot creates the slot with an exported snapshot and opens a repeatable-read
// transaction on it: the rows read are exactly those the stream will not carry.
func (t *task) startSnapshot(ctx context.Context, slotExists bool) error {
	if slotExists {
		if err := pglogrepl.DropReplicationSlot(ctx, t.repl, t.slot, pglogrepl.DropReplicationSlotOptions{Wait: true}); err != nil {
			return fmt.Errorf("dropping replication slot %s to snapshot again: %w", t.slot, err)
		}
	}
	res, err := pglogrepl.CreateReplicationSlot(ctx, t.repl, t.slot, "pgoutput", pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "EXPORT_SNAPSHOT"})
	if err != nil {
		return fmt.Errorf("creating replication slot %s: %w", t.slot, err)
	}
	if t.snapLSN, err = pglogrepl.ParseLSN(res.ConsistentPoint); err != nil {
		return err
	}
	if _, err := t.db.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return err
	}
	if _, err := t.db.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+strings.ReplaceAll(res.SnapshotName, "'", "''")+"'"); err != nil {
		return fmt.Errorf("using the slot's snapshot: %w", err)
	}
	names, err := t.listTables(ctx)
	if err != nil {
		return err
	}
	t.snapTables = nil
	for _, n := range names {
		tb, err := t.describe(ctx, n[0], n[1])
		if err != nil {
			return err
		}
		t.snapTables = append(t.snapTables, tb)
	}
	t.snapIdx, t.snapCount = 0, 0
	t.phase = phaseSnapshot
	t.log.Info("snapshot started", "slot", t.slot, "lsn", t.snapLSN.String(), "tables", len(t.snapTables))
	return nil
}

// pollSnapshot returns the next rows of the snapshot.
func (t *task) pollSnapshot(ctx context.Context) ([]connect.SourceRecord, error) {
	var recs []connect.SourceRecord
	for len(recs) < t.maxBatch && t.snapIdx < len(t.snapTables) {
		tb := t.snapTables[t.snapIdx]
		if t.snapRows == nil {
			var cols []string
			for _, c := range tb.columns {
				cols = append(cols, pgx.Identifier{c.name}.Sanitize()+"::text")
			}
			rows, err := t.db.Query(ctx, fmt.Sprintf("SELECT %s FROM %s", strings.Join(cols, ", "), pgx.Identifier{tb.schema, tb.name}.Sanitize()), pgx.QueryExecModeSimpleProtocol)
			if err != nil {
				return nil, fmt.Errorf("snapshot of %s.%s: %w", tb.schema, tb.name, err)
			}
			t.snapRows = rows
		}
		if !t.snapRows.Next() {
			err := t.snapRows.Err()
			t.snapRows.Close()
			t.snapRows = nil
			if err != nil {
				return nil, fmt.Errorf("snapshot of %s.%s: %w", tb.schema, tb.name, err)
			}
			t.snapIdx++
			continue
		}
		texts := make([]*string, len(tb.columns))
		ptrs := make([]any, len(tb.columns))
		for i := range texts {
			ptrs[i] = &texts[i]
		}
		if err := t.snapRows.Scan(ptrs...); err != nil {
			return nil, err
		}
		value, key, err := t.row(tb, texts, nil)
		if err != nil {
			return nil, err
		}
		src := t.sourceValue(tb, "true", time.Now(), 0, t.snapLSN)
		recs = append(recs, t.record(tb, "r", nil, value, key, src, map[string]any{"lsn": int64(t.snapLSN), "snapshot": true, "last_snapshot_record": false}))
		t.snapCount++
	}
	if t.snapIdx < len(t.snapTables) {
		return recs, nil
	}
	// Done: the last record says so; the stream starts at the slot's consistent point.
	if n := len(recs); n > 0 {
		last := &recs[n-1]
		last.SourceOffset = map[string]any{"lsn": int64(t.snapLSN), "snapshot": true, "last_snapshot_record": true}
		last.Value.(*data.Struct).Get("source").(*data.Struct).Set("snapshot", "last")
	}
	if _, err := t.db.Exec(ctx, "COMMIT"); err != nil {
		return nil, err
	}
	t.log.Info("snapshot completed", "rows", t.snapCount, "tables", len(t.snapTables))
	if strings.EqualFold(t.cfg["snapshot.mode"], "initial_only") {
		t.phase = phaseIdle
		return recs, nil
	}
	t.startLSN = t.snapLSN
	if err := t.startStream(ctx); err != nil {
		return nil, err
	}
	return recs, nil
}

func (t *task) startStream(ctx context.Context) error {
	err := pglogrepl.StartReplication(ctx, t.repl, t.slot, t.startLSN, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names '" + strings.ReplaceAll(t.pub, "'", "''") + "'"}})
	if err != nil {
		return fmt.Errorf("starting replication from %s: %w", t.startLSN, err)
	}
	t.phase = phaseStream
	t.returnedLSN, t.confirmedLSN = t.startLSN, t.startLSN
	t.lastStatus, t.lastActivity, t.lastHeartbeat = time.Now(), time.Now(), time.Now()
	t.log.Info("streaming changes", "slot", t.slot, "publication", t.pub, "from", t.startLSN.String())
	return nil
}

// Poll returns snapshot rows, or the changes of committed transactions.
func (t *task) Poll(ctx context.Context) ([]connect.SourceRecord, error) {
	for attempt := 0; ; attempt++ {
		recs, err := t.poll(ctx)
		if err == nil || ctx.Err() != nil {
			return recs, err
		}
		// A lost connection (a PostgreSQL restart): reconnect and stream again from the last
		// committed offset; what was returned since is sent again (at-least-once).
		t.log.Warn("PostgreSQL connection lost; reconnecting", "err", err, "attempt", attempt+1)
		t.close()
		t.phase, t.inTx, t.txBuf = phaseStart, false, nil
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(time.Duration(attempt+1)*500*time.Millisecond, 5*time.Second)):
		}
		if attempt >= 60 {
			return nil, err
		}
	}
}

func (t *task) poll(ctx context.Context) ([]connect.SourceRecord, error) {
	switch t.phase {
	case phaseStart:
		if err := t.setup(ctx); err != nil {
			return nil, err
		}
		return nil, nil
	case phaseSnapshot:
		return t.pollSnapshot(ctx)
	case phaseIdle:
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		return nil, nil
	}
	return t.pollStream(ctx)
}

// maxTxBuffer bounds the changes of one transaction held until its commit; a larger one is
// returned in parts whose offset stays at the previous commit, so that a crash replays it whole.
const maxTxBuffer = 8192

func (t *task) pollStream(ctx context.Context) ([]connect.SourceRecord, error) {
	var out []connect.SourceRecord
	deadline := time.Now().Add(500 * time.Millisecond)
	for len(out) < t.maxBatch {
		if time.Since(t.lastStatus) > 10*time.Second {
			if err := t.sendStatus(ctx); err != nil {
				return nil, err
			}
		}
		if t.heartbeat > 0 && !t.inTx && time.Since(t.lastHeartbeat) >= t.heartbeat && len(out) == 0 {
			t.lastHeartbeat = time.Now()
			if t.walEnd > t.returnedLSN {
				out = append(out, t.heartbeatRecord(t.walEnd))
				t.returnedLSN = t.walEnd
				return out, nil
			}
		}
		rctx, cancel := context.WithDeadline(ctx, deadline)
		msg, err := t.repl.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			if pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) {
				if t.repl.IsClosed() {
					return out, errors.New("the replication connection closed")
				}
				break
			}
			if ctx.Err() != nil {
				return out, nil
			}
			return out, err
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			return out, fmt.Errorf("replication: %s (%s)", m.Message, m.Code)
		case *pgproto3.CopyData:
			if len(m.Data) == 0 {
				continue
			}
			switch m.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
				if err != nil {
					return out, err
				}
				t.walEnd = max(t.walEnd, ka.ServerWALEnd)
				if ka.ReplyRequested {
					if err := t.sendStatus(ctx); err != nil {
						return out, err
					}
				}
			case pglogrepl.XLogDataByteID:
				xld, err := pglogrepl.ParseXLogData(m.Data[1:])
				if err != nil {
					return out, err
				}
				t.walEnd = max(t.walEnd, xld.ServerWALEnd)
				recs, err := t.decode(ctx, xld)
				if err != nil {
					return out, err
				}
				out = append(out, recs...)
				if len(out) > 0 {
					// A transaction is ready: take what else has already arrived, but do not
					// wait for more (its latency to the topic would be the rest of the poll).
					deadline = earliest(deadline, time.Now().Add(2*time.Millisecond))
				}
			}
		}
	}
	if len(out) > 0 {
		t.returnedLSN = pglogrepl.LSN(number(out[len(out)-1].SourceOffset["lsn"]))
		t.lastActivity = time.Now()
	}
	return out, nil
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Debezium's heartbeat key and value schemas.
var (
	heartbeatKeySchema   = data.MustStruct("io.debezium.connector.common.ServerNameKey", data.F("serverName", data.StringSchema))
	heartbeatValueSchema = data.MustStruct("io.debezium.connector.common.Heartbeat", data.F("ts_ms", data.Int64Schema))
)

func (t *task) heartbeatRecord(lsn pglogrepl.LSN) connect.SourceRecord {
	keySchema, valueSchema := heartbeatKeySchema, heartbeatValueSchema
	now := time.Now()
	return connect.SourceRecord{SourcePartition: t.srcPart, SourceOffset: map[string]any{"lsn": int64(lsn)}, Topic: t.hbTopic,
		KeySchema: keySchema, Key: data.NewStructValue(keySchema).Set("serverName", t.prefix),
		ValueSchema: valueSchema, Value: data.NewStructValue(valueSchema).Set("ts_ms", now.UnixMilli()), Timestamp: now.UnixMilli()}
}

// decode handles one pgoutput message; it returns records when a transaction commits (or its
// buffer fills).
func (t *task) decode(ctx context.Context, xld pglogrepl.XLogData) ([]connect.SourceRecord, error) {
	msg, err := pglogrepl.Parse(xld.WALData)
	if err != nil {
		return nil, fmt.Errorf("decoding a pgoutput message: %w", err)
	}
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		if !t.captured(m.Namespace, m.RelationName) {
			delete(t.tables, m.RelationID)
			return nil, nil
		}
		tb, err := t.describe(ctx, m.Namespace, m.RelationName) // schema changes are picked up here
		if err != nil {
			return nil, err
		}
		// Use the relation's column order (it matches the tuples).
		if len(m.Columns) != len(tb.columns) {
			return nil, fmt.Errorf("relation %s.%s has %d columns in the stream and %d in the catalog", m.Namespace, m.RelationName, len(m.Columns), len(tb.columns))
		}
		t.tables[m.RelationID] = tb
	case *pglogrepl.BeginMessage:
		t.inTx, t.xid, t.txCommitTime, t.txBuf = true, m.Xid, m.CommitTime, t.txBuf[:0]
		t.beginTx(xld.WALStart)
	case *pglogrepl.InsertMessage:
		return t.change(m.RelationID, "c", nil, 0, m.Tuple, xld.WALStart)
	case *pglogrepl.UpdateMessage:
		return t.change(m.RelationID, "u", m.OldTuple, m.OldTupleType, m.NewTuple, xld.WALStart)
	case *pglogrepl.DeleteMessage:
		return t.change(m.RelationID, "d", m.OldTuple, m.OldTupleType, nil, xld.WALStart)
	case *pglogrepl.TruncateMessage:
		if t.skip["t"] {
			return nil, nil
		}
		for _, rel := range m.RelationIDs {
			tb := t.tables[rel]
			if tb == nil {
				continue
			}
			src := t.sourceValue(tb, "false", t.txCommitTime, t.xid, xld.WALStart)
			rec := t.record(tb, "t", nil, nil, nil, src, nil)
			rec.KeySchema, rec.Key = nil, nil
			t.appendChange(tb, rec, xld.WALStart)
		}
		return t.spill(), nil
	case *pglogrepl.CommitMessage:
		t.inTx = false
		t.endTx(xld.WALStart)
		recs := t.txBuf
		t.txBuf = nil
		off := map[string]any{"lsn": int64(m.TransactionEndLSN), "txId": int64(t.xid), "ts_usec": m.CommitTime.UnixMicro()}
		for i := range recs {
			recs[i].SourceOffset = off
		}
		return recs, nil // none when nothing was captured: a heartbeat can move the slot later
	}
	return nil, nil
}

// spill returns the buffered changes of a transaction too large to hold, with the previous
// commit's offset.
func (t *task) spill() []connect.SourceRecord {
	if len(t.txBuf) < maxTxBuffer {
		return nil
	}
	recs := t.txBuf
	t.txBuf = nil
	off := map[string]any{"lsn": int64(t.returnedLSN)}
	for i := range recs {
		recs[i].SourceOffset = off
	}
	return recs
}

func tupleTexts(td *pglogrepl.TupleData) ([]*string, []bool) {
	if td == nil {
		return nil, nil
	}
	texts := make([]*string, len(td.Columns))
	toasted := make([]bool, len(td.Columns))
	for i, c := range td.Columns {
		switch c.DataType {
		case pglogrepl.TupleDataTypeText, pglogrepl.TupleDataTypeBinary:
			s := string(c.Data)
			texts[i] = &s
		case pglogrepl.TupleDataTypeToast:
			toasted[i] = true
		}
	}
	return texts, toasted
}

func (t *task) change(rel uint32, op string, oldTuple *pglogrepl.TupleData, oldType uint8, newTuple *pglogrepl.TupleData, lsn pglogrepl.LSN) ([]connect.SourceRecord, error) {
	tb := t.tables[rel]
	if tb == nil || t.skip[op] {
		return nil, nil
	}
	var before, after, key *data.Struct
	var err error
	if newTuple != nil {
		texts, toasted := tupleTexts(newTuple)
		if after, key, err = t.row(tb, texts, toasted); err != nil {
			return nil, err
		}
	}
	if oldTuple != nil {
		texts, _ := tupleTexts(oldTuple)
		var oldKey *data.Struct
		if before, oldKey, err = t.row(tb, texts, nil); err != nil {
			return nil, err
		}
		if op == "d" {
			key = oldKey
		} else if oldKey != nil && !data.EqualValues(oldKey, key) {
			// The primary key changed: Debezium emits a delete (and tombstone) of the old key
			// and a create of the new one.
			src := t.sourceValue(tb, "false", t.txCommitTime, t.xid, lsn)
			t.appendChange(tb, t.record(tb, "d", before, nil, oldKey, src, nil), lsn)
			if t.tombs {
				t.txBuf = append(t.txBuf, connect.SourceRecord{SourcePartition: t.srcPart, Topic: tb.topic, KeySchema: tb.keySchema, Key: oldKey})
			}
			op, before = "c", nil
		}
		if oldType == 'K' && op != "d" {
			before = nil // only the key: Debezium reports no before image without REPLICA IDENTITY FULL
		}
	}
	src := t.sourceValue(tb, "false", t.txCommitTime, t.xid, lsn)
	t.appendChange(tb, t.record(tb, op, before, after, key, src, nil), lsn)
	if op == "d" && t.tombs && key != nil {
		t.txBuf = append(t.txBuf, connect.SourceRecord{SourcePartition: t.srcPart, Topic: tb.topic, KeySchema: tb.keySchema, Key: key})
	}
	return t.spill(), nil
}

// sendStatus tells the server what is committed, so the slot releases the WAL before it.
func (t *task) sendStatus(ctx context.Context) error {
	t.lastStatus = time.Now()
	return pglogrepl.SendStandbyStatusUpdate(ctx, t.repl, pglogrepl.StandbyStatusUpdate{WALWritePosition: t.confirmedLSN})
}

// Commit is called once everything Poll returned so far is committed.
func (t *task) Commit() error {
	if t.returnedLSN > t.confirmedLSN {
		t.confirmedLSN = t.returnedLSN
		if t.phase == phaseStream && t.repl != nil && !t.repl.IsClosed() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return t.sendStatus(ctx)
		}
	}
	return nil
}

func (t *task) close() {
	if t.snapRows != nil {
		t.snapRows.Close()
		t.snapRows = nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if t.repl != nil {
		t.repl.Close(ctx)
		t.repl = nil
	}
	if t.db != nil {
		t.db.Close(ctx)
		t.db = nil
	}
}

func (t *task) Stop() error {
	t.close()
	return nil
}

// zeroValue is Debezium's fallback for a required column with no value.
func zeroValue(s *data.Schema) any {
	switch s.Name {
	case data.DecimalName:
		scale, _ := data.DecimalScale(s)
		return data.Decimal{Unscaled: new(big.Int), Scale: scale}
	case debeziumVarScale:
		return data.NewStructValue(s).Set("scale", int32(0)).Set("value", []byte{0})
	}
	switch s.Type {
	case data.TypeBoolean:
		return false
	case data.TypeInt16:
		return int16(0)
	case data.TypeInt32:
		return int32(0)
	case data.TypeInt64:
		return int64(0)
	case data.TypeFloat32:
		return float32(0)
	case data.TypeFloat64:
		return float64(0)
	case data.TypeBytes:
		return []byte{}
	}
	return ""
}
