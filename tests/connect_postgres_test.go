package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
)

// cdcEvent is a Debezium change event as the JsonConverter (schemas on) writes it.
type cdcEvent struct {
	Key struct {
		Payload map[string]any `json:"payload"`
	}
	Value struct {
		Schema struct {
			Name string `json:"name"`
		} `json:"schema"`
		Payload *struct {
			Before map[string]any `json:"before"`
			After  map[string]any `json:"after"`
			Source map[string]any `json:"source"`
			Op     string         `json:"op"`
		} `json:"payload"`
	}
	tombstone bool
}

func (e cdcEvent) String() string {
	if e.tombstone {
		return fmt.Sprintf("tombstone%v", e.Key.Payload["id"])
	}
	p := e.Value.Payload
	switch p.Op {
	case "d":
		return fmt.Sprintf("d%v", p.Before["id"])
	case "t":
		return "t"
	}
	return fmt.Sprintf("%s%v", p.Op, p.After["id"])
}

// readCDC reads topic from the start until stop says so, or fails after 60 s.
func readCDC(t *testing.T, n *node, topic string, stop func([]cdcEvent) bool) []cdcEvent {
	t.Helper()
	cl := n.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var evs []cdcEvent
	for !stop(evs) {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			var got []string
			for _, e := range evs {
				got = append(got, e.String())
			}
			t.Fatalf("%s: gave up after %d events: %v", topic, len(evs), got)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			var e cdcEvent
			if r.Key != nil {
				if err := json.Unmarshal(r.Key, &e.Key); err != nil {
					t.Fatalf("key %s: %v", r.Key, err)
				}
			}
			if r.Value == nil {
				e.tombstone = true
			} else if err := json.Unmarshal(r.Value, &e.Value); err != nil {
				t.Fatalf("value %s: %v", r.Value, err)
			}
			evs = append(evs, e)
		})
	}
	return evs
}

func eventNames(evs []cdcEvent) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.String())
	}
	return strings.Join(s, " ")
}

// TestConnectPostgresCDC: Debezium's PostgresConnector configuration, as Debezium's tutorial
// writes it, captures a PostgreSQL 15 started by the test: the initial snapshot, then inserts,
// updates, deletes (with tombstones) and a TRUNCATE across two tables, in commit order with
// Debezium's envelope; the worker SIGKILLed while rows are written and restarted loses none;
// a PostgreSQL restart is ridden out; with heartbeats the slot's retained WAL stays bounded while
// the captured tables are idle and another table is busy.
func TestConnectPostgresCDC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, a broker and a Connect worker")
	}
	pg := startPostgres(t)
	admin := pg.conn("postgres")
	pgExec(t, admin, "CREATE DATABASE inventory")
	db := pg.conn("inventory")
	pgExec(t, db,
		"CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text, balance numeric(10,2), joined date, seen timestamptz)",
		"CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, amount numeric(10,2), note text)",
		"CREATE TABLE noise (id bigserial PRIMARY KEY, filler text)",
		// balance 10.50 at scale 2 is the unscaled 1050, 0x041a: "BBo=" in base64.
		"INSERT INTO customers (name, email, balance, joined, seen) VALUES ('Sally', 'sally@example.com', 10.50, '2026-01-15', '2026-01-15 10:30:00+00'), ('George', 'g@example.com', NULL, NULL, NULL), ('Edward', 'ed@example.com', 0, NULL, NULL)")

	n := startNode(t)
	dir := t.TempDir()
	offsets := filepath.Join(dir, "offsets.json")
	conf := fmt.Sprintf(`{"name":"inventory-connector","config":{
		"connector.class":"io.debezium.connector.postgresql.PostgresConnector","tasks.max":"1",
		"database.hostname":"127.0.0.1","database.port":"%d","database.user":"postgres","database.password":"postgres",
		"database.dbname":"inventory","topic.prefix":"dbserver1","table.include.list":"public.customers,public.orders",
		"plugin.name":"pgoutput","heartbeat.interval.ms":"300"}}`, pg.port)
	connFile := filepath.Join(dir, "inventory.json")
	os.WriteFile(connFile, []byte(conf), 0o644)
	w := startConnectWorker(t, n, offsets, "--override", "offset.flush.interval.ms=300", connFile)
	w.waitState("inventory-connector", "RUNNING")
	// The seed's shape: Debezium's unwrap transform and schemaless JSON, on a slot of its own.
	w.mustCall("POST", "/connectors", fmt.Sprintf(`{"name":"flat","config":{
		"connector.class":"io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname":"127.0.0.1","database.port":"%d","database.user":"postgres","database.dbname":"inventory",
		"database.server.name":"flat","table.include.list":"public.customers","slot.name":"flat_slot",
		"transforms":"unwrap","transforms.unwrap.type":"io.debezium.transforms.ExtractNewRecordState",
		"key.converter":"org.apache.kafka.connect.json.JsonConverter","key.converter.schemas.enable":"false",
		"value.converter":"org.apache.kafka.connect.json.JsonConverter","value.converter.schemas.enable":"false"}}`, pg.port), 201)

	// The snapshot: three reads, the last one marked.
	snap := readCDC(t, n, "dbserver1.public.customers", func(e []cdcEvent) bool { return len(e) >= 3 })
	if got := eventNames(snap); got != "r1 r2 r3" {
		t.Fatalf("snapshot: %s", got)
	}
	first := snap[0].Value.Payload
	if snap[0].Value.Schema.Name != "dbserver1.public.customers.Envelope" || first.Source["snapshot"] != "true" || snap[2].Value.Payload.Source["snapshot"] != "last" ||
		first.After["name"] != "Sally" || first.After["balance"] != "BBo=" || first.After["joined"] != float64(20468) || first.After["seen"] != "2026-01-15T10:30:00Z" ||
		first.Source["db"] != "inventory" || first.Source["table"] != "customers" || snap[0].Key.Payload["id"] != float64(1) {
		t.Errorf("first snapshot event: schema %s key %v payload %+v", snap[0].Value.Schema.Name, snap[0].Key.Payload, *first)
	}

	// The flat connector's snapshot too, before the changes: a snapshot taken after them (its
	// task started late on a busy machine) reads the rows as they are then (CI saw 3, 4, 1).
	for deadline := time.Now().Add(60 * time.Second); len(readAllNow(t, n, "flat.public.customers")) < 3; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the flat connector's snapshot did not arrive in 60 s")
		}
	}

	// Changes across both tables, in several transactions.
	pgExec(t, db,
		"INSERT INTO customers (name, email) VALUES ('Anne', 'anne@example.com')",
		"BEGIN", "UPDATE customers SET email = 'sally@new.example.com' WHERE id = 1", "INSERT INTO orders VALUES (1, 1, 99.99, 'first'), (2, 4, 5.00, 'second')", "COMMIT",
		"DELETE FROM customers WHERE id = 2",
		"UPDATE orders SET amount = 100.00 WHERE id = 1",
		"TRUNCATE orders",
	)
	cust := readCDC(t, n, "dbserver1.public.customers", func(e []cdcEvent) bool { return len(e) >= 7 })
	if got := eventNames(cust[3:]); got != "c4 u1 d2 tombstone2" {
		t.Errorf("customers' changes: %s", got)
	}
	upd := cust[4].Value.Payload
	if upd.After["email"] != "sally@new.example.com" || upd.Before != nil || upd.Source["lsn"] == nil || upd.Source["txId"] == nil || upd.Source["snapshot"] != "false" {
		t.Errorf("the update event: %+v", *upd)
	}
	if del := cust[5].Value.Payload; del.Before["id"] != float64(2) || del.After != nil {
		t.Errorf("the delete event: %+v", *del)
	}
	orders := readCDC(t, n, "dbserver1.public.orders", func(e []cdcEvent) bool { return len(e) >= 4 })
	if got := eventNames(orders); got != "c1 c2 u1 t" {
		t.Errorf("orders' changes: %s", got)
	}
	if cust[4].Value.Payload.Source["txId"] != orders[0].Value.Payload.Source["txId"] {
		t.Errorf("one transaction, two txIds: %v %v", cust[4].Value.Payload.Source["txId"], orders[0].Value.Payload.Source["txId"])
	}

	// The unwrapped connector: rows as plain JSON, the delete and its tombstone dropped (a marker
	// row written after them is the next record).
	pgExec(t, db, "INSERT INTO customers (id, name) VALUES (500, 'marker')")
	cl := n.client(kgo.ConsumeTopics("flat.public.customers"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var flat []string
	fctx, fcancel := context.WithTimeout(context.Background(), 60*time.Second)
	for (len(flat) == 0 || !strings.Contains(flat[len(flat)-1], "marker")) && fctx.Err() == nil {
		cl.PollFetches(fctx).EachRecord(func(r *kgo.Record) { flat = append(flat, string(r.Key)+" "+string(r.Value)) })
	}
	fcancel()
	wantFlat := []string{ // struct fields in column order, as Kafka's JsonConverter writes them
		`{"id":1} {"id":1,"name":"Sally","email":"sally@example.com","balance":"BBo=","joined":20468,"seen":"2026-01-15T10:30:00Z"}`,
		`{"id":2} {"id":2,"name":"George","email":"g@example.com","balance":null,"joined":null,"seen":null}`,
		`{"id":3} {"id":3,"name":"Edward","email":"ed@example.com","balance":"AA==","joined":null,"seen":null}`,
		`{"id":4} {"id":4,"name":"Anne","email":"anne@example.com","balance":null,"joined":null,"seen":null}`,
		`{"id":1} {"id":1,"name":"Sally","email":"sally@new.example.com","balance":"BBo=","joined":20468,"seen":"2026-01-15T10:30:00Z"}`,
		`{"id":500} {"id":500,"name":"marker","email":null,"balance":null,"joined":null,"seen":null}`,
	}
	if strings.Join(flat, "\n") != strings.Join(wantFlat, "\n") {
		t.Errorf("unwrapped events:\n%s\nwant\n%s", strings.Join(flat, "\n"), strings.Join(wantFlat, "\n"))
	}

	// SIGKILL the worker while rows are written; restart it: every row arrives (at least once).
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := pg.conn("inventory")
		for i := 0; i < 60; i++ {
			if _, err := c.Exec(context.Background(), fmt.Sprintf("INSERT INTO customers (name) VALUES ('bulk-%d')", i)); err != nil {
				t.Errorf("insert: %v", err)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	time.Sleep(200 * time.Millisecond)
	w.kill()
	<-done
	w = startConnectWorker(t, n, offsets, "--override", "offset.flush.interval.ms=300", connFile)
	ids := func(evs []cdcEvent) map[float64]int {
		m := map[float64]int{}
		for _, e := range evs {
			if !e.tombstone && e.Value.Payload.Op == "c" {
				m[e.Value.Payload.After["id"].(float64)]++
			}
		}
		return m
	}
	all := readCDC(t, n, "dbserver1.public.customers", func(e []cdcEvent) bool { return len(ids(e)) >= 62 })
	dups := 0
	for id := 4.0; id <= 64; id++ { // 4, then the 60 bulk rows from 5 (500 was given its id)
		switch c := ids(all)[id]; {
		case c == 0:
			t.Errorf("customer %v was never captured", id)
		case c > 1:
			dups += c - 1
		}
	}
	t.Logf("after SIGKILL of the worker: 60 rows, %d captured again", dups)

	// A PostgreSQL restart: the task reconnects and goes on from its committed offset.
	pg.restart()
	db = pg.conn("inventory")
	pgExec(t, db, "INSERT INTO customers (id, name) VALUES (1000, 'after-restart')")
	readCDC(t, n, "dbserver1.public.customers", func(e []cdcEvent) bool { return ids(e)[1000] > 0 })
	w.waitState("inventory-connector", "RUNNING")

	// WAL retained by the slot stays bounded while only an uncaptured table changes.
	for i := 0; i < 20; i++ {
		pgExec(t, db, "INSERT INTO noise (filler) SELECT repeat('x', 1000) FROM generate_series(1, 1000)")
	}
	var lag int64
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := db.QueryRow(context.Background(), "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM pg_replication_slots WHERE slot_name = 'debezium'").Scan(&lag); err != nil {
			t.Fatal(err)
		}
		if lag < 1<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slot still holds %d bytes of WAL back after 30 s of heartbeats", lag)
		}
		time.Sleep(200 * time.Millisecond)
	}
	hb := readAllNow(t, n, "__debezium-heartbeat.dbserver1")
	t.Logf("slot lag %d bytes after ~20 MB of uncaptured writes; %d heartbeats", lag, len(hb))
}

// TestConnectPostgresRoundTrip: a table captured by the CDC source (unwrapped: deletes as null
// values) and written by the JDBC sink (upsert by key, delete on null, table created from the
// schema) into another database ends equal to the source, row for row and column for column,
// across PostgreSQL types: integers, text, fixed and variable numerics, dates, timestamps with
// and without time zone, booleans, bytea, jsonb and uuids.
func TestConnectPostgresRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, a broker and a Connect worker")
	}
	pg := startPostgres(t)
	admin := pg.conn("postgres")
	pgExec(t, admin, "CREATE DATABASE shop", "CREATE DATABASE replica")
	src := pg.conn("shop")
	pgExec(t, src,
		`CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2), weight numeric, added date,
			updated timestamp, seen timestamptz, active boolean, photo bytea, attrs jsonb, ref uuid, qty bigint, small smallint, ratio double precision)`,
		`INSERT INTO items VALUES (1, 'kettle', 19.99, 1.25, '2026-01-15', '2026-01-15 10:30:00.123456', '2026-01-15 10:30:00+02', true, '\x00ff10', '{"color":"red"}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 12, 3, 0.5)`,
		`INSERT INTO items (id, name) VALUES (2, 'empty')`)
	n := startNode(t)
	w := startConnectWorker(t, n, filepath.Join(t.TempDir(), "offsets.json"), "--override", "offset.flush.interval.ms=300")
	w.mustCall("POST", "/connectors", fmt.Sprintf(`{"name":"shop-cdc","config":{
		"connector.class":"io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname":"127.0.0.1","database.port":"%d","database.user":"postgres","database.dbname":"shop",
		"topic.prefix":"shop","table.include.list":"public.items",
		"transforms":"unwrap","transforms.unwrap.type":"io.debezium.transforms.ExtractNewRecordState",
		"transforms.unwrap.delete.handling.mode":"none"}}`, pg.port), 201)
	w.mustCall("POST", "/connectors", fmt.Sprintf(`{"name":"replica-sink","config":{
		"connector.class":"io.confluent.connect.jdbc.JdbcSinkConnector","topics":"shop.public.items",
		"connection.url":"jdbc:postgresql://127.0.0.1:%d/replica","connection.user":"postgres",
		"insert.mode":"upsert","pk.mode":"record_key","delete.enabled":"true","auto.create":"true","auto.evolve":"true"}}`, pg.port), 201)
	w.waitState("shop-cdc", "RUNNING")
	w.waitState("replica-sink", "RUNNING")

	pgExec(t, src,
		"INSERT INTO items SELECT g, 'item-' || g, g * 1.5, g / 7.0, DATE '2026-01-01' + g, TIMESTAMP '2026-01-01 00:00:00' + g * interval '1 minute', now(), g % 2 = 0, NULL, jsonb_build_object('n', g), NULL, g * 1000, g % 100, g / 3.0 FROM generate_series(3, 200) g",
		"UPDATE items SET price = price + 1, attrs = attrs || '{\"updated\": true}' WHERE id % 3 = 0",
		"DELETE FROM items WHERE id % 10 = 0",
		"UPDATE items SET name = 'renamed' WHERE id = 1",
	)
	dump := func(c *pgx.Conn) string {
		rows, err := c.Query(context.Background(), "SELECT id, name, price::text, weight::text, added::text, updated::text, seen::text, active::text, photo::text, attrs::text, ref::text, qty::text, small::text, ratio::text FROM public.items ORDER BY id")
		if err != nil {
			return "error: " + err.Error()
		}
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			vals, _ := rows.Values()
			fmt.Fprintln(&b, vals...)
		}
		return b.String()
	}
	want := dump(src)
	dst := pg.conn("replica")
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := dump(dst)
		if got == want {
			break
		}
		if time.Now().After(deadline) {
			failReplica(t, got, want)
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Logf("replica equal to the source: %d rows", strings.Count(want, "\n"))
}

// failReplica fails the test with the first line where a replica's dump (one row per line)
// differs from the source's.
func failReplica(t *testing.T, got, want string) {
	t.Helper()
	gl, wl := strings.Split(strings.TrimSuffix(got, "\n"), "\n"), strings.Split(strings.TrimSuffix(want, "\n"), "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			t.Fatalf("the replica differs (%d rows, want %d); first difference:\n got %s\nwant %s", len(gl), len(wl), gl[i], wl[i])
		}
	}
	t.Fatalf("the replica has %d rows, want %d", len(gl), len(wl))
}
