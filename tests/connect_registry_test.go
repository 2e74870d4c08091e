package tests

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
)

const avroConverter = "io.confluent.connect.avro.AvroConverter"

// readRaw reads topic from the start until want records arrived (or fails after 60 s) and
// returns their keys and values as hex (nil for null).
func readRaw(t *testing.T, n *node, topic string, want int) (keys, values []*string) {
	t.Helper()
	cl := n.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hexOf := func(b []byte) *string {
		if b == nil {
			return nil
		}
		h := hex.EncodeToString(b)
		return &h
	}
	for len(values) < want {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: %d records after 60 s, want %d", topic, len(values), want)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			keys, values = append(keys, hexOf(r.Key)), append(values, hexOf(r.Value))
		})
	}
	return keys, values
}

// TestConnectRegistryAvroCDC: Postgres change events written by the Debezium-compatible source
// through AvroConverter (the value converter set on the worker, the key converter on the
// connector) against `sluice serve`'s built-in registry: the subjects <topic>-key and
// <topic>-value are registered with the Avro schemas Confluent's AvroData derives, and
// confluent-kafka's Python Avro deserializer (MessageSerializer) decodes every record to the
// rows' values.
func TestConnectRegistryAvroCDC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, a broker and a Connect worker")
	}
	requirePython(t, "confluent_kafka.avro")
	pg := startPostgres(t)
	pgExec(t, pg.conn("postgres"), "CREATE DATABASE inventory")
	db := pg.conn("inventory")
	pgExec(t, db,
		"CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text, balance numeric(10,2), joined date, seen timestamptz, qty smallint)",
		"INSERT INTO customers (name, email, balance, joined, seen, qty) VALUES ('Sally', 'sally@example.com', 10.50, '2026-01-15', '2026-01-15 10:30:00+00', 3), ('George', NULL, -0.01, NULL, NULL, NULL)")

	n := startNode(t)
	registry := "http://" + n.registryAddr
	dir := t.TempDir()
	conf := fmt.Sprintf(`{"name":"inventory-avro","config":{
		"connector.class":"io.debezium.connector.postgresql.PostgresConnector","tasks.max":"1",
		"database.hostname":"127.0.0.1","database.port":"%d","database.user":"postgres","database.password":"postgres",
		"database.dbname":"inventory","topic.prefix":"dbserver1","table.include.list":"public.customers","plugin.name":"pgoutput",
		"key.converter":%q,"key.converter.schema.registry.url":%q}}`, pg.port, avroConverter, registry)
	connFile := filepath.Join(dir, "inventory.json")
	if err := os.WriteFile(connFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	w := startConnectWorker(t, n, filepath.Join(dir, "offsets.json"), "--override", "offset.flush.interval.ms=300",
		"--override", "value.converter="+avroConverter, "--override", "value.converter.schema.registry.url="+registry, connFile)
	w.waitState("inventory-avro", "RUNNING")
	const topic = "dbserver1.public.customers"
	readRaw(t, n, topic, 2) // the snapshot is out before the changes
	pgExec(t, db,
		"INSERT INTO customers (name, email, qty) VALUES ('Anne', 'anne@example.com', -7)",
		"UPDATE customers SET email = 'sally@new.example.com', balance = 99999999.99 WHERE id = 1",
		"DELETE FROM customers WHERE id = 2")
	keys, values := readRaw(t, n, topic, 6)

	// The subjects, and the value schema as AvroData derives Debezium's envelope.
	var subjects []string
	srGet(t, n.registryAddr, "/subjects", &subjects)
	for _, s := range []string{topic + "-key", topic + "-value"} {
		if !slices.Contains(subjects, s) {
			t.Fatalf("subject %s not registered: %v", s, subjects)
		}
	}
	var latest struct {
		ID     int    `json:"id"`
		Schema string `json:"schema"`
	}
	srGet(t, n.registryAddr, "/subjects/"+url.PathEscape(topic+"-value")+"/versions/latest", &latest)
	for _, part := range []string{
		`{"type":"record","name":"Envelope","namespace":"dbserver1.public.customers","fields":[{"name":"before","type":["null",{"type":"record","name":"Value","fields":[{"name":"id","type":"int"}`,
		`{"name":"balance","type":["null",{"type":"bytes","scale":2,"precision":10,"connect.version":1,"connect.parameters":{"scale":"2","connect.decimal.precision":"10"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}],"default":null}`,
		`{"name":"qty","type":["null",{"type":"int","connect.type":"int16"}],"default":null}`,
		`{"name":"after","type":["null","Value"],"default":null}`,
		`"connect.name":"dbserver1.public.customers.Envelope"}`,
	} {
		if !strings.Contains(latest.Schema, part) {
			t.Errorf("the registered value schema lacks %s:\n%s", part, latest.Schema)
		}
	}
	for i, v := range values {
		if v != nil && !strings.HasPrefix(*v, fmt.Sprintf("00%08x", latest.ID)) {
			t.Errorf("value %d is not magic byte 0 and schema id %d: %.10s", i, latest.ID, *v)
		}
	}

	in, _ := json.Marshal(map[string]any{"keys": keys, "values": values})
	out := runClient(t, 120*time.Second, string(in), "/usr/bin/python3", "python/connect_registry_avro.py", "decode", registry)
	var py struct {
		Keys   []map[string]any
		Values []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &py); err != nil {
		t.Fatalf("bad output %q: %v", out, err)
	}
	type row = map[string]any
	get := func(i int, part string) row {
		t.Helper()
		r, _ := py.Values[i][part].(map[string]any)
		return r
	}
	for i, want := range []string{"r", "r", "c", "u", "d"} {
		if py.Values[i]["op"] != want {
			t.Fatalf("record %d: op %v, want %s: %v", i, py.Values[i]["op"], want, py.Values[i])
		}
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"key 1", fmt.Sprint(py.Keys[0]), "map[id:1]"},
		{"Sally's name", get(0, "after")["name"], "Sally"},
		{"Sally's balance", get(0, "after")["balance"], "decimal:10.50"},
		{"Sally's joined (io.debezium.time.Date: days)", get(0, "after")["joined"], float64(20468)},
		{"Sally's seen (ZonedTimestamp)", get(0, "after")["seen"], "2026-01-15T10:30:00Z"},
		{"Sally's qty", get(0, "after")["qty"], float64(3)},
		{"George's email", get(1, "after")["email"], nil},
		{"George's balance", get(1, "after")["balance"], "decimal:-0.01"},
		{"the snapshot marker", get(0, "source")["snapshot"], "true"},
		{"the source table", get(2, "source")["table"], "customers"},
		{"Anne's qty", get(2, "after")["qty"], float64(-7)},
		{"Anne's id", get(2, "after")["id"], float64(3)},
		{"the update's email", get(3, "after")["email"], "sally@new.example.com"},
		{"the update's balance", get(3, "after")["balance"], "decimal:99999999.99"},
		{"the delete's before", get(4, "before")["id"], float64(2)},
		{"the delete's after", py.Values[4]["after"], nil},
		{"the tombstone's key", fmt.Sprint(py.Keys[5]), "map[id:2]"},
		{"the tombstone", py.Values[5] == nil, true},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
	if t.Failed() {
		t.Logf("decoded by confluent_kafka.avro: %s", out)
	}
}

// TestConnectRegistryAvroSink: records produced by confluent-kafka's Python AvroProducer
// (decimal, date, timestamp-millis logical types, a nullable string, long, double, boolean)
// are read through AvroConverter by the JDBC sink into a table it creates: the rows equal
// what was produced. A record before them that is not in the Confluent wire format goes to the
// dead letter queue (errors.tolerance=all) with the converter's error.
func TestConnectRegistryAvroSink(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, a broker and a Connect worker")
	}
	requirePython(t, "confluent_kafka.avro")
	pg := startPostgres(t)
	pgExec(t, pg.conn("postgres"), "CREATE DATABASE replica")
	n := startNode(t)
	registry := "http://" + n.registryAddr
	const topic = "products"
	// First a record that is not in the Confluent wire format: dead-lettered, not fatal.
	cl := n.client(kgo.AllowAutoTopicCreation())
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Value: []byte("not avro")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	out := runClient(t, 120*time.Second, "", "/usr/bin/python3", "python/connect_registry_avro.py", "produce", registry, n.kafkaAddr, topic)
	if strings.TrimSpace(out) != `{"produced": 3}` {
		t.Fatalf("producer: %s", out)
	}
	w := startConnectWorker(t, n, filepath.Join(t.TempDir(), "offsets.json"), "--override", "offset.flush.interval.ms=300")
	w.mustCall("POST", "/connectors", fmt.Sprintf(`{"name":"products-sink","config":{
		"connector.class":"io.confluent.connect.jdbc.JdbcSinkConnector","topics":%q,
		"connection.url":"jdbc:postgresql://127.0.0.1:%d/replica","connection.user":"postgres",
		"insert.mode":"upsert","pk.mode":"record_key","auto.create":"true",
		"errors.tolerance":"all","errors.deadletterqueue.topic.name":"products-dlq","errors.deadletterqueue.context.headers.enable":"true",
		"key.converter":%q,"key.converter.schema.registry.url":%q,
		"value.converter":%q,"value.converter.schema.registry.url":%q}}`, topic, pg.port, avroConverter, registry, avroConverter, registry), 201)
	w.waitState("products-sink", "RUNNING")
	dst := pg.conn("replica")
	want := strings.Join([]string{
		`1|kettle|steel|19.99|2026-01-15|2026-01-15 10:30:00.123|12|0.5|true`,
		`2|mug|<null>|-3.50|1999-12-31|1999-12-31 23:59:59.999|-4|10000000000|false`,
		`3|tea éè "q"||0.00|1970-01-01|1970-01-01 00:00:00|9007199254740993|-0.25|true`,
	}, "\n")
	var got string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		got = dumpRows(dst, `SELECT id::text, name, coalesce(note, '<null>'), price::text, added::text, updated::text, qty::text, ratio::text, active::text FROM products ORDER BY id`, 9)
		if got == want {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if got != want {
		t.Fatalf("the table written through AvroConverter:\n%s\nwant\n%s", got, want)
	}
	dlq := n.client(kgo.ConsumeTopics("products-dlq"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fetches := dlq.PollRecords(ctx, 10)
	if ctx.Err() != nil || fetches.NumRecords() != 1 {
		t.Fatalf("dead letters: %d records (%v)", fetches.NumRecords(), ctx.Err())
	}
	r := fetches.Records()[0]
	headers := map[string]string{}
	for _, h := range r.Headers {
		headers[h.Key] = string(h.Value)
	}
	if string(r.Value) != "not avro" || !strings.Contains(headers["__connect.errors.exception.message"], "Confluent wire format") {
		t.Fatalf("the dead letter: %q with headers %v", r.Value, headers)
	}
}

const jsonSchemaConverter = "io.confluent.connect.json.JsonSchemaConverter"

// TestConnectRegistryJSONSchema: Postgres change events written through JsonSchemaConverter
// (decimal.format=NUMERIC) decode with confluent-kafka's JSONDeserializer, which validates each
// document against the schema registered under its id; and records from its JSONSerializer
// (keys and values) are written by the JDBC sink through JsonSchemaConverter.
func TestConnectRegistryJSONSchema(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, a broker and a Connect worker")
	}
	requirePython(t, "confluent_kafka.schema_registry.json_schema")
	requirePython(t, "jsonschema")
	pg := startPostgres(t)
	pgExec(t, pg.conn("postgres"), "CREATE DATABASE inventory", "CREATE DATABASE replica")
	db := pg.conn("inventory")
	pgExec(t, db,
		"CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text, balance numeric(10,2), qty smallint, seen timestamptz)",
		"INSERT INTO customers (name, email, balance, qty, seen) VALUES ('Sally', 'sally@example.com', 10.50, 3, '2026-01-15 10:30:00+00')")
	n := startNode(t)
	registry := "http://" + n.registryAddr
	w := startConnectWorker(t, n, filepath.Join(t.TempDir(), "offsets.json"), "--override", "offset.flush.interval.ms=300")
	w.mustCall("POST", "/connectors", fmt.Sprintf(`{"name":"inventory-json","config":{
		"connector.class":"io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname":"127.0.0.1","database.port":"%d","database.user":"postgres","database.dbname":"inventory",
		"topic.prefix":"dbserver1","table.include.list":"public.customers",
		"value.converter":%q,"value.converter.schema.registry.url":%q,"value.converter.decimal.format":"NUMERIC"}}`,
		pg.port, jsonSchemaConverter, registry), 201)
	w.waitState("inventory-json", "RUNNING")
	const topic = "dbserver1.public.customers"
	readRaw(t, n, topic, 1)
	pgExec(t, db,
		"INSERT INTO customers (name, qty) VALUES ('Anne', -7)",
		"UPDATE customers SET balance = 99999999.99 WHERE id = 1",
		"DELETE FROM customers WHERE id = 2")
	_, values := readRaw(t, n, topic, 5)
	var latest struct {
		SchemaType string `json:"schemaType"`
		Schema     string `json:"schema"`
	}
	srGet(t, n.registryAddr, "/subjects/"+url.PathEscape(topic+"-value")+"/versions/latest", &latest)
	if latest.SchemaType != "JSON" || !strings.Contains(latest.Schema, `"title":"dbserver1.public.customers.Envelope"`) {
		t.Errorf("the registered value schema (%s): %s", latest.SchemaType, latest.Schema)
	}
	in, _ := json.Marshal(map[string]any{"values": values})
	out := runClient(t, 120*time.Second, string(in), "/usr/bin/python3", "python/connect_registry_json.py", "decode", registry)
	var py struct{ Values []map[string]any }
	if err := json.Unmarshal([]byte(out), &py); err != nil {
		t.Fatalf("bad output %q: %v", out, err)
	}
	get := func(i int, part string) map[string]any {
		r, _ := py.Values[i][part].(map[string]any)
		return r
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"ops", fmt.Sprintln(py.Values[0]["op"], py.Values[1]["op"], py.Values[2]["op"], py.Values[3]["op"]), "r c u d\n"},
		{"Sally's name", get(0, "after")["name"], "Sally"},
		{"Sally's balance", get(0, "after")["balance"], 10.5},
		{"Sally's qty", get(0, "after")["qty"], float64(3)},
		{"Sally's seen", get(0, "after")["seen"], "2026-01-15T10:30:00Z"},
		{"Anne's email", get(1, "after")["email"], nil},
		{"Anne's qty", get(1, "after")["qty"], float64(-7)},
		{"the update's balance", get(2, "after")["balance"], 99999999.99},
		{"the delete's before", get(3, "before")["id"], float64(2)},
		{"the tombstone", py.Values[4] == nil, true},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
	if t.Failed() {
		t.Logf("decoded by JSONDeserializer: %s", out)
	}

	// The other way: confluent-kafka's JSONSerializer, the JDBC sink.
	out = runClient(t, 120*time.Second, "", "/usr/bin/python3", "python/connect_registry_json.py", "produce", registry, n.kafkaAddr, "products")
	if strings.TrimSpace(out) != `{"produced": 3}` {
		t.Fatalf("producer: %s", out)
	}
	w.mustCall("POST", "/connectors", fmt.Sprintf(`{"name":"products-sink","config":{
		"connector.class":"io.confluent.connect.jdbc.JdbcSinkConnector","topics":"products",
		"connection.url":"jdbc:postgresql://127.0.0.1:%d/replica","connection.user":"postgres",
		"insert.mode":"upsert","pk.mode":"record_key","auto.create":"true",
		"key.converter":%q,"key.converter.schema.registry.url":%q,
		"value.converter":%q,"value.converter.schema.registry.url":%q}}`, pg.port, jsonSchemaConverter, registry, jsonSchemaConverter, registry), 201)
	w.waitState("products-sink", "RUNNING")
	dst := pg.conn("replica")
	want := "1|kettle|steel|19.5|true\n2|mug é \"q\"|<null>|-3.25|false\n3|tea||0|true"
	var got string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if got = dumpRows(dst, `SELECT id::text, name, coalesce(note, '<null>'), price::text, active::text FROM products ORDER BY id`, 5); got == want {
			return
		}
	}
	t.Fatalf("the table written through JsonSchemaConverter:\n%s\nwant\n%s", got, want)
}

// dumpRows is query's rows of cols text columns, "|"-separated, one per line.
func dumpRows(c *pgx.Conn, query string, cols int) string {
	rows, err := c.Query(context.Background(), query)
	if err != nil {
		return "error: " + err.Error()
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		vals := make([]string, cols)
		ptrs := make([]any, cols)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "error: " + err.Error()
		}
		lines = append(lines, strings.Join(vals, "|"))
	}
	return strings.Join(lines, "\n")
}

const protobufConverter = "io.confluent.connect.protobuf.ProtobufConverter"

// TestConnectRegistryProtobufRoundTrip: Postgres change events, unwrapped, are written through
// ProtobufConverter (keys and values) against `sluice serve`'s registry, which registers
// <topic>-key and <topic>-value as PROTOBUF schemas; the JDBC sink reads them through
// ProtobufConverter into another database, which ends equal to the source, column for column
// across numeric, date, time, boolean, bytes, JSON, UUID and integer types, after inserts,
// updates and deletes.
func TestConnectRegistryProtobufRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, a broker and a Connect worker")
	}
	pg := startPostgres(t)
	pgExec(t, pg.conn("postgres"), "CREATE DATABASE shop", "CREATE DATABASE replica")
	src := pg.conn("shop")
	pgExec(t, src,
		`CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2), added date,
			updated timestamp, seen timestamptz, active boolean, photo bytea, attrs jsonb, ref uuid, qty bigint, small smallint, ratio double precision)`,
		`INSERT INTO items VALUES (1, 'kettle', 19.99, '2026-01-15', '2026-01-15 10:30:00.123456', '2026-01-15 10:30:00+02', true, '\x00ff10', '{"color":"red"}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 12, 3, 0.5)`,
		`INSERT INTO items (id, name) VALUES (2, 'empty')`)
	n := startNode(t)
	registry := "http://" + n.registryAddr
	conv := fmt.Sprintf(`"key.converter":%q,"key.converter.schema.registry.url":%q,"value.converter":%q,"value.converter.schema.registry.url":%q`,
		protobufConverter, registry, protobufConverter, registry)
	w := startConnectWorker(t, n, filepath.Join(t.TempDir(), "offsets.json"), "--override", "offset.flush.interval.ms=300")
	w.mustCall("POST", "/connectors", fmt.Sprintf(`{"name":"shop-cdc","config":{
		"connector.class":"io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname":"127.0.0.1","database.port":"%d","database.user":"postgres","database.dbname":"shop",
		"topic.prefix":"shop","table.include.list":"public.items",
		"transforms":"unwrap","transforms.unwrap.type":"io.debezium.transforms.ExtractNewRecordState",
		"transforms.unwrap.delete.handling.mode":"none",%s}}`, pg.port, conv), 201)
	w.mustCall("POST", "/connectors", fmt.Sprintf(`{"name":"replica-sink","config":{
		"connector.class":"io.confluent.connect.jdbc.JdbcSinkConnector","topics":"shop.public.items",
		"connection.url":"jdbc:postgresql://127.0.0.1:%d/replica","connection.user":"postgres",
		"insert.mode":"upsert","pk.mode":"record_key","delete.enabled":"true","auto.create":"true",%s}}`, pg.port, conv), 201)
	w.waitState("shop-cdc", "RUNNING")
	w.waitState("replica-sink", "RUNNING")
	pgExec(t, src,
		"INSERT INTO items SELECT g, 'item-' || g, g * 1.5, DATE '2026-01-01' + g, TIMESTAMP '2026-01-01 00:00:00' + g * interval '1 minute', now(), g % 2 = 0, NULL, jsonb_build_object('n', g), NULL, g * 1000, g % 100, g / 3.0 FROM generate_series(3, 100) g",
		"UPDATE items SET price = price + 1 WHERE id % 3 = 0",
		"DELETE FROM items WHERE id % 10 = 0",
		"UPDATE items SET name = 'renamed' WHERE id = 1")
	const cols = "id::text, name, coalesce(price::text, '<null>'), coalesce(added::text, '<null>'), coalesce(updated::text, '<null>'), coalesce(seen::text, '<null>'), coalesce(active::text, '<null>'), coalesce(encode(photo, 'hex'), '<null>'), coalesce(attrs::text, '<null>'), coalesce(ref::text, '<null>'), coalesce(qty::text, '<null>'), coalesce(small::text, '<null>'), coalesce(ratio::text, '<null>')"
	query := "SELECT " + cols + " FROM items ORDER BY id"
	want := dumpRows(src, query, 13)
	dst := pg.conn("replica")
	var got string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if got = dumpRows(dst, query, 13); got == want {
			break
		}
	}
	if got != want {
		failReplica(t, got, want)
	}
	for _, subject := range []string{"shop.public.items-key", "shop.public.items-value"} {
		var latest struct {
			SchemaType string `json:"schemaType"`
			Schema     string `json:"schema"`
		}
		srGet(t, n.registryAddr, "/subjects/"+url.PathEscape(subject)+"/versions/latest", &latest)
		if latest.SchemaType != "PROTOBUF" || !strings.Contains(latest.Schema, "message ") {
			t.Errorf("%s: %s %s", subject, latest.SchemaType, latest.Schema)
		}
	}
}
