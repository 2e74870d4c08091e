package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// txnSchema is a Connect schema as the JsonConverter writes it.
type txnSchema struct {
	Type     string      `json:"type"`
	Name     string      `json:"name"`
	Version  int         `json:"version"`
	Optional bool        `json:"optional"`
	Field    string      `json:"field"`
	Fields   []txnSchema `json:"fields"`
	Items    *txnSchema  `json:"items"`
}

// fieldList is "name:type[?]" for each field, ? marking optional ones.
func (s txnSchema) fieldList() string {
	var out []string
	for _, f := range s.Fields {
		o := ""
		if f.Optional {
			o = "?"
		}
		out = append(out, f.Field+":"+f.Type+o)
	}
	return strings.Join(out, " ")
}

// txnRecord is a record of the transaction topic or a change event, JSON with schemas.
type txnRecord struct {
	topic  string
	offset int64
	key    struct {
		Schema  txnSchema      `json:"schema"`
		Payload map[string]any `json:"payload"`
	}
	value struct {
		Schema  txnSchema      `json:"schema"`
		Payload map[string]any `json:"payload"`
	}
	tombstone bool
}

func (r txnRecord) str(field string) string {
	s, _ := r.value.Payload[field].(string)
	return s
}

// block is a change event's transaction block (nil when it has none).
func (r txnRecord) block() map[string]any {
	b, _ := r.value.Payload["transaction"].(map[string]any)
	return b
}

func (r txnRecord) source() map[string]any {
	s, _ := r.value.Payload["source"].(map[string]any)
	return s
}

// readTxnTopics reads topics from the start until stop says so, or fails after 90 s.
func readTxnTopics(t *testing.T, n *node, stop func([]txnRecord) bool, topics ...string) []txnRecord {
	t.Helper()
	cl := n.client(kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(64<<20))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var recs []txnRecord
	for !stop(recs) {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%v: gave up after %d records", topics, len(recs))
		}
		fetches.EachRecord(func(kr *kgo.Record) {
			r := txnRecord{topic: kr.Topic, offset: kr.Offset}
			if kr.Key != nil {
				if err := json.Unmarshal(kr.Key, &r.key); err != nil {
					t.Fatalf("key %s: %v", kr.Key, err)
				}
			}
			if kr.Value == nil {
				r.tombstone = true
			} else if err := json.Unmarshal(kr.Value, &r.value); err != nil {
				t.Fatalf("value %s: %v", kr.Value, err)
			}
			recs = append(recs, r)
		})
	}
	return recs
}

// txnEnd is what an END record says of its transaction.
type txnEnd struct {
	id          string
	count       int64
	collections map[string]int64
	tsMs        int64
}

// checkTxnTopic checks the shape of every record of the transaction topic and their order
// (each END follows a BEGIN of the same xid, BEGIN's LSN before END's), and returns the ENDs by
// xid and the BEGIN ids by xid. A transaction replayed after a crash may repeat its BEGIN (with
// the same id); every END of one xid must say the same.
func checkTxnTopic(t *testing.T, recs []txnRecord) (ends map[string]txnEnd, begins map[string]string) {
	t.Helper()
	ends, begins = map[string]txnEnd{}, map[string]string{}
	open := ""
	for _, r := range recs {
		if r.key.Schema.Name != "io.debezium.connector.common.TransactionMetadataKey" || r.key.Schema.Version != 1 || r.key.Schema.fieldList() != "id:string" {
			t.Fatalf("transaction key schema %+v", r.key.Schema)
		}
		s := r.value.Schema
		if s.Name != "io.debezium.connector.common.TransactionMetadataValue" || s.Version != 1 || s.Optional ||
			s.fieldList() != "status:string id:string event_count:int64? data_collections:array? ts_ms:int64" {
			t.Fatalf("transaction value schema %s v%d: %s", s.Name, s.Version, s.fieldList())
		}
		if it := s.Fields[3].Items; it == nil || it.Name != "event.collection" || it.Version != 1 || it.fieldList() != "data_collection:string event_count:int64" {
			t.Fatalf("data_collections items: %+v", it)
		}
		id := r.str("id")
		if r.key.Payload["id"] != id {
			t.Fatalf("key id %v, value id %s", r.key.Payload["id"], id)
		}
		xid, lsn, ok := strings.Cut(id, ":")
		if _, err := strconv.ParseUint(xid, 10, 32); err != nil || !ok {
			t.Fatalf("transaction id %q is not <xid>:<lsn>", id)
		}
		ts, _ := r.value.Payload["ts_ms"].(float64)
		if ts < float64(time.Now().Add(-10*time.Minute).UnixMilli()) {
			t.Fatalf("%s: ts_ms %v", id, r.value.Payload["ts_ms"])
		}
		switch r.str("status") {
		case "BEGIN":
			if r.value.Payload["event_count"] != nil || r.value.Payload["data_collections"] != nil {
				t.Fatalf("BEGIN %s with counts: %v", id, r.value.Payload)
			}
			if prev, seen := begins[xid]; seen && prev != id {
				t.Fatalf("xid %s began as %s and again as %s", xid, prev, id)
			}
			begins[xid], open = id, xid
		case "END":
			if open != xid {
				t.Fatalf("END %s after BEGIN of %q", id, open)
			}
			open = ""
			bl, _ := strconv.ParseUint(strings.SplitN(begins[xid], ":", 2)[1], 10, 64)
			if el, _ := strconv.ParseUint(lsn, 10, 64); el <= bl {
				t.Fatalf("END %s at or before its BEGIN %s", id, begins[xid])
			}
			e := txnEnd{id: id, collections: map[string]int64{}, tsMs: int64(ts)}
			c, ok := r.value.Payload["event_count"].(float64)
			if !ok {
				t.Fatalf("END %s: event_count %v", id, r.value.Payload["event_count"])
			}
			e.count = int64(c)
			cols, ok := r.value.Payload["data_collections"].([]any)
			if !ok {
				t.Fatalf("END %s: data_collections %v", id, r.value.Payload["data_collections"])
			}
			var sum int64
			for _, x := range cols {
				m := x.(map[string]any)
				n := int64(m["event_count"].(float64))
				e.collections[m["data_collection"].(string)] = n
				sum += n
			}
			if sum != e.count {
				t.Fatalf("END %s: event_count %d, data_collections sum to %d", id, e.count, sum)
			}
			if prev, seen := ends[xid]; seen && (prev.count != e.count || fmt.Sprint(prev.collections) != fmt.Sprint(e.collections)) {
				t.Fatalf("xid %s ended twice with different counts: %+v and %+v", xid, prev, e)
			}
			ends[xid] = e
		default:
			t.Fatalf("status %q", r.str("status"))
		}
	}
	return ends, begins
}

// txnEvents groups the streamed change events (not tombstones, not snapshot reads) by xid,
// checking each one's transaction block: id "<source.txId>:<source.lsn>", and orders.
func txnEvents(t *testing.T, recs []txnRecord) map[string][]txnRecord {
	t.Helper()
	by := map[string][]txnRecord{}
	for _, r := range recs {
		if r.tombstone {
			if r.value.Payload != nil {
				t.Fatal("tombstone with a value")
			}
			continue
		}
		if r.value.Schema.Fields[3].Field != "transaction" || r.value.Schema.Fields[3].Name != "event.block" || !r.value.Schema.Fields[3].Optional ||
			r.value.Schema.Fields[3].fieldList() != "id:string total_order:int64 data_collection_order:int64" {
			t.Fatalf("%s: envelope field 3: %+v", r.topic, r.value.Schema.Fields[3])
		}
		src := r.source()
		b := r.block()
		if src["snapshot"] != "false" {
			if b != nil {
				t.Fatalf("snapshot event with a transaction block: %v", b)
			}
			continue
		}
		if b == nil {
			t.Fatalf("%s@%d: streamed event without a transaction block", r.topic, r.offset)
		}
		xid := fmt.Sprint(int64(src["txId"].(float64)))
		if want := fmt.Sprintf("%s:%d", xid, int64(src["lsn"].(float64))); b["id"] != want {
			t.Fatalf("%s@%d: transaction id %v, want %s", r.topic, r.offset, b["id"], want)
		}
		by[xid] = append(by[xid], r)
	}
	return by
}

// order is a change event's (total_order, data_collection_order).
func order(r txnRecord) (int64, int64) {
	b := r.block()
	return int64(b["total_order"].(float64)), int64(b["data_collection_order"].(float64))
}

// TestConnectPostgresTransactionMetadata: with Debezium's provide.transaction.metadata, several
// multi-table transactions (inserts, updates, a delete with its tombstone, a primary-key change,
// a TRUNCATE, one touching only an uncaptured table, one of 20,000 rows that the task returns in
// parts) each give a BEGIN and an END on dbserver1.transaction in commit order, with Debezium's
// schemas and ids "<xid>:<lsn>", END's event_count and data_collections equal to the events of
// each table; each change event's transaction block carries its id and its total and per-table
// order. The worker SIGKILLed while the big transaction is being written and restarted: its END
// still counts it once, and its events cover every order from 1 to the count.
func TestConnectPostgresTransactionMetadata(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, a broker and a Connect worker")
	}
	pg := startPostgres(t)
	pgExec(t, pg.conn("postgres"), "CREATE DATABASE shop")
	db := pg.conn("shop")
	pgExec(t, db,
		"CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL)",
		"CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, amount int)",
		"CREATE TABLE audit (id serial PRIMARY KEY, what text)",
		"INSERT INTO customers VALUES (1, 'snapshot row')")

	n := startNode(t)
	dir := t.TempDir()
	offsets := filepath.Join(dir, "offsets.json")
	connFile := filepath.Join(dir, "shop.json")
	os.WriteFile(connFile, []byte(fmt.Sprintf(`{"name":"shop","config":{
		"connector.class":"io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname":"127.0.0.1","database.port":"%d","database.user":"postgres","database.dbname":"shop",
		"topic.prefix":"dbserver1","table.include.list":"public.customers,public.orders",
		"provide.transaction.metadata":"true"}}`, pg.port)), 0o644)
	w := startConnectWorker(t, n, offsets, "--override", "offset.flush.interval.ms=200", connFile)
	w.waitState("shop", "RUNNING")
	readTxnTopics(t, n, func(r []txnRecord) bool { return len(r) >= 1 }, "dbserver1.public.customers") // the snapshot

	type txn struct {
		sql  []string
		want map[string]int64 // events per table
	}
	txns := []txn{
		{[]string{"INSERT INTO customers VALUES (2, 'Anne'), (3, 'Bob')", "INSERT INTO orders VALUES (10, 2, 5)"},
			map[string]int64{"public.customers": 2, "public.orders": 1}},
		{[]string{"UPDATE customers SET name = 'Anne B' WHERE id = 2", "DELETE FROM orders WHERE id = 10", "INSERT INTO orders VALUES (11, 3, 7)"},
			map[string]int64{"public.customers": 1, "public.orders": 2}},
		{[]string{"UPDATE customers SET id = 30 WHERE id = 3"}, // a key change: delete + tombstone + create
			map[string]int64{"public.customers": 2}},
		{[]string{"INSERT INTO audit (what) VALUES ('not captured')"}, map[string]int64{}},
		{[]string{"TRUNCATE orders", "INSERT INTO customers VALUES (4, 'Carol')"},
			map[string]int64{"public.orders": 1, "public.customers": 1}},
	}
	var xids []string
	for _, tx := range txns {
		ctx := context.Background()
		ptx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var xid string
		if err := ptx.QueryRow(ctx, "SELECT txid_current()::text").Scan(&xid); err != nil {
			t.Fatal(err)
		}
		for _, q := range tx.sql {
			if _, err := ptx.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := ptx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		xids = append(xids, xid)
	}

	dataTopics := []string{"dbserver1.public.customers", "dbserver1.public.orders"}
	txTopic := readTxnTopics(t, n, func(r []txnRecord) bool { return len(r) >= 2*len(txns) }, "dbserver1.transaction")
	ends, _ := checkTxnTopic(t, txTopic)
	for i, r := range txTopic {
		want := "BEGIN"
		if i%2 == 1 {
			want = "END"
		}
		if xid, _, _ := strings.Cut(r.str("id"), ":"); r.str("status") != want || xid != xids[i/2] {
			t.Fatalf("transaction record %d: %s %s, want %s of xid %s", i, r.str("status"), r.str("id"), want, xids[i/2])
		}
	}
	var wantEvents int
	for i, tx := range txns {
		e := ends[xids[i]]
		var total int64
		for _, c := range tx.want {
			total += c
		}
		if e.count != total || fmt.Sprint(e.collections) != fmt.Sprint(tx.want) {
			t.Errorf("transaction %d (xid %s): END counts %d %v, want %d %v", i, xids[i], e.count, e.collections, total, tx.want)
		}
		wantEvents += int(total)
	}
	// The change events: each transaction's orders are 1..n in the order written, per table too.
	events := readTxnTopics(t, n, func(r []txnRecord) bool {
		c := 0
		for _, x := range r {
			if !x.tombstone && x.source()["snapshot"] == "false" {
				c++
			}
		}
		return c >= wantEvents
	}, dataTopics...)
	byXid := txnEvents(t, events)
	for i, xid := range xids {
		evs := byXid[xid]
		if int64(len(evs)) != ends[xid].count {
			t.Errorf("xid %s: %d change events, END says %d", xid, len(evs), ends[xid].count)
		}
		var totals []int64
		perTable := map[string]int64{}
		for _, r := range evs {
			total, inTable := order(r)
			totals = append(totals, total)
			table := r.source()["schema"].(string) + "." + r.source()["table"].(string)
			perTable[table]++
			if inTable != perTable[table] {
				t.Errorf("xid %s: %s event with data_collection_order %d, want %d", xid, table, inTable, perTable[table])
			}
			if ts := int64(r.source()["ts_ms"].(float64)); ts != ends[xid].tsMs {
				t.Errorf("xid %s: source.ts_ms %d, END ts_ms %d (both the commit time)", xid, ts, ends[xid].tsMs)
			}
		}
		sort.Slice(totals, func(a, b int) bool { return totals[a] < totals[b] })
		for j, o := range totals {
			if o != int64(j+1) {
				t.Errorf("transaction %d (xid %s): total orders %v, want 1..%d", i, xid, totals, len(totals))
				break
			}
		}
	}
	// The key change: the delete and the create share the LSN, so the id, and follow each other.
	keyChange := byXid[xids[2]]
	if len(keyChange) == 2 {
		if keyChange[0].str("op") != "d" || keyChange[1].str("op") != "c" || keyChange[0].block()["id"] != keyChange[1].block()["id"] {
			t.Errorf("the key change: %s %v, %s %v", keyChange[0].str("op"), keyChange[0].block(), keyChange[1].str("op"), keyChange[1].block())
		}
	}
	t.Logf("%d transactions: BEGIN/END in order, %d change events with their transaction blocks", len(txns), wantEvents)

	// A transaction of 20,000 rows (returned in parts of 8,192 changes whose offset stays at the
	// previous commit); the worker is SIGKILLed once part of it is in the topic, and restarted.
	const bigRows = 20000
	before := len(readAllNow(t, n, "dbserver1.public.orders"))
	var bigXid string
	if err := db.QueryRow(context.Background(), fmt.Sprintf(
		"WITH x AS (INSERT INTO orders SELECT g, 4, g FROM generate_series(1000, %d) g) SELECT txid_current()::text", 1000+bigRows-1)).Scan(&bigXid); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	var atKill int
	for {
		ends, _ := n.admin().ListEndOffsets(context.Background(), "dbserver1.public.orders")
		end, _ := ends.Lookup("dbserver1.public.orders", 0)
		if atKill = int(end.Offset) - before; atKill >= 2000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d records of the big transaction after 60 s", atKill)
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.kill()
	t.Logf("worker SIGKILLed with %d of the %d rows in the topic", atKill, bigRows)
	pgExec(t, db, "INSERT INTO customers VALUES (5, 'after the restart')")
	w = startConnectWorker(t, n, offsets, "--override", "offset.flush.interval.ms=200", connFile)

	// Read until the END of the transaction committed after the restart, which follows the
	// big transaction's replayed END; the earlier transactions' ENDs must not stop the read
	// before the restarted worker has replayed the big one.
	txTopic = readTxnTopics(t, n, func(r []txnRecord) bool {
		bigEnded := false
		for _, x := range r {
			bigEnded = bigEnded || (x.str("status") == "END" && strings.HasPrefix(x.str("id"), bigXid+":"))
		}
		return bigEnded && r[len(r)-1].str("status") == "END" && strings.Contains(fmt.Sprint(r[len(r)-1].value.Payload["data_collections"]), "public.customers") &&
			!strings.HasPrefix(r[len(r)-1].str("id"), bigXid+":")
	}, "dbserver1.transaction")
	ends, begins := checkTxnTopic(t, txTopic)
	big, ok := ends[bigXid]
	if !ok {
		t.Fatalf("no END for the big transaction %s (began: %v)", bigXid, begins[bigXid] != "")
	}
	if big.count != bigRows || big.collections["public.orders"] != bigRows || len(big.collections) != 1 {
		t.Errorf("the big transaction's END: %d events %v, want %d of public.orders", big.count, big.collections, bigRows)
	}
	var beginsOfBig int
	for _, r := range txTopic {
		if r.str("status") == "BEGIN" && strings.HasPrefix(r.str("id"), bigXid+":") {
			beginsOfBig++
		}
	}
	events = readTxnTopics(t, n, func(r []txnRecord) bool {
		seen := map[int64]bool{}
		for _, x := range r {
			if !x.tombstone && x.topic == "dbserver1.public.orders" && x.source()["snapshot"] == "false" && fmt.Sprint(int64(x.source()["txId"].(float64))) == bigXid {
				o, _ := order(x)
				seen[o] = true
			}
		}
		return len(seen) >= bigRows
	}, "dbserver1.public.orders")
	copies := map[int64]int{}
	for _, r := range txnEvents(t, events)[bigXid] {
		total, inTable := order(r)
		if total != inTable {
			t.Fatalf("one table: total_order %d, data_collection_order %d", total, inTable)
		}
		if total < 1 || total > bigRows {
			t.Fatalf("total_order %d outside 1..%d", total, bigRows)
		}
		if id := int64(r.value.Payload["after"].(map[string]any)["id"].(float64)); id != 999+total {
			t.Fatalf("row %d has total_order %d: the replay did not number the events as the first run", id, total)
		}
		copies[total]++
	}
	dups := 0
	for _, c := range copies {
		dups += c - 1
	}
	t.Logf("after the restart: the big transaction began %d times, ended %d events; %d events written twice (replayed with the same ids and orders)", beginsOfBig, big.count, dups)
}
