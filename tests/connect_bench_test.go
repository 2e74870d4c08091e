package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The Connect benchmarks print figures for docs/benchmarks.md ("Connect"); they run only with
// SLUICE_CONNECT_BENCH=1 (CI does not):
//
//	SLUICE_CONNECT_BENCH=1 go test ./tests -run 'TestConnectBench' -v -timeout 30m
//
// SLUICE_CONNECT_BENCH_ROWS sets N (default 200,000). Each figure has a reference measured in
// the same run on the same machine, and the ratio is the figure to compare across runs.

func benchRows(t *testing.T) int {
	if os.Getenv("SLUICE_CONNECT_BENCH") != "1" {
		t.Skip("set SLUICE_CONNECT_BENCH=1 to run the Connect benchmarks")
	}
	if v, err := strconv.Atoi(os.Getenv("SLUICE_CONNECT_BENCH_ROWS")); err == nil && v > 0 {
		return v
	}
	return 200_000
}

// endOffset is the end offset of partition 0 of topic (0 when it does not exist yet).
func endOffset(t *testing.T, n *node, topic string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := n.admin().ListEndOffsets(ctx, topic)
	if err != nil {
		return 0
	}
	end, _ := ends.Lookup(topic, 0)
	return end.Offset
}

// pgoutputReader is the reference for the CDC rate: a plain pglogrepl reader of the same
// change stream (pgoutput, protocol 1), parsing each message and counting the updates.
func pgoutputReader(t *testing.T, pg *pgServer, db, publication string, ready chan<- struct{}, want int) (done time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	conn, err := pgconn.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable&replication=database", pg.port, db))
	if err != nil {
		t.Error(err)
		close(ready)
		return
	}
	defer conn.Close(context.Background())
	slot, err := pglogrepl.CreateReplicationSlot(ctx, conn, "reference", "pgoutput", pglogrepl.CreateReplicationSlotOptions{Temporary: true, SnapshotAction: "NOEXPORT_SNAPSHOT"})
	if err != nil {
		t.Error(err)
		close(ready)
		return
	}
	start, _ := pglogrepl.ParseLSN(slot.ConsistentPoint)
	if err := pglogrepl.StartReplication(ctx, conn, "reference", start, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names '" + publication + "'"}}); err != nil {
		t.Error(err)
		close(ready)
		return
	}
	close(ready)
	updates := 0
	var last pglogrepl.LSN
	for {
		msg, err := conn.ReceiveMessage(ctx)
		if err != nil {
			t.Errorf("reference reader: %v", err)
			return
		}
		cd, ok := msg.(*pgproto3.CopyData)
		if !ok || len(cd.Data) == 0 {
			continue
		}
		switch cd.Data[0] {
		case pglogrepl.PrimaryKeepaliveMessageByteID:
			ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(cd.Data[1:])
			if err == nil && ka.ReplyRequested {
				pglogrepl.SendStandbyStatusUpdate(ctx, conn, pglogrepl.StandbyStatusUpdate{WALWritePosition: last})
			}
		case pglogrepl.XLogDataByteID:
			xld, err := pglogrepl.ParseXLogData(cd.Data[1:])
			if err != nil {
				t.Error(err)
				return
			}
			m, err := pglogrepl.Parse(xld.WALData)
			if err != nil {
				t.Error(err)
				return
			}
			switch m.(type) {
			case *pglogrepl.UpdateMessage:
				updates++
			case *pglogrepl.CommitMessage:
				last = xld.WALStart
				if updates >= want {
					return time.Now()
				}
			}
		}
	}
}

// commitTimed runs statements in one transaction and returns the time COMMIT was sent.
func commitTimed(t *testing.T, c *pgx.Conn, sqls ...string) time.Time {
	t.Helper()
	ctx := context.Background()
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range sqls {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	at := time.Now()
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return at
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// TestConnectBenchCDC: the PostgreSQL source's rate on a bulk UPDATE of N rows in one
// transaction (COMMIT to the last change event in the topic), against a plain pgoutput reader
// of the same stream and a franz-go producer writing N records of the same size; then the
// latency from COMMIT to the record in the topic for single-row commits (p50/p99, a kgo
// consumer reading the topic).
func TestConnectBenchCDC(t *testing.T) {
	rows := benchRows(t)
	pg := startPostgres(t)
	pgExec(t, pg.conn("postgres"), "CREATE DATABASE bench")
	db := pg.conn("bench")
	pgExec(t, db,
		"CREATE TABLE rows (id int PRIMARY KEY, n int NOT NULL, payload text NOT NULL)",
		fmt.Sprintf("INSERT INTO rows SELECT g, 0, repeat('x', 100) FROM generate_series(1, %d) g", rows),
		"CREATE PUBLICATION bench_pub FOR TABLE rows", "VACUUM ANALYZE rows")

	// The reference: a plain pgoutput reader of the same update.
	ready := make(chan struct{})
	var refDone time.Time
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); refDone = pgoutputReader(t, pg, "bench", "bench_pub", ready, rows) }()
	<-ready
	refStart := commitTimed(t, db, "UPDATE rows SET n = n + 1")
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	refRate := float64(rows) / refDone.Sub(refStart).Seconds()

	n := startNode(t)
	w := startConnectWorker(t, n, t.TempDir()+"/offsets.json")
	w.mustCall("POST", "/connectors", fmt.Sprintf(`{"name":"bench","config":{
		"connector.class":"io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname":"127.0.0.1","database.port":"%d","database.user":"postgres","database.dbname":"bench",
		"topic.prefix":"bench","table.include.list":"public.rows","publication.name":"bench_pub","snapshot.mode":"no_data"}}`, pg.port), 201)
	w.waitState("bench", "RUNNING")
	topic := "bench.public.rows"
	// Streaming has started once a marker row arrives.
	for i := 0; endOffset(t, n, topic) == 0; i++ {
		if i%50 == 0 {
			pgExec(t, db, "UPDATE rows SET n = n + 1 WHERE id = 1")
		}
		if i > 600 {
			t.Fatal("the connector never streamed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	base := endOffset(t, n, topic)
	start := commitTimed(t, db, "UPDATE rows SET n = n + 1")
	for endOffset(t, n, topic) < base+int64(rows) {
		if time.Since(start) > 15*time.Minute {
			t.Fatalf("%d of %d change events after 15 minutes", endOffset(t, n, topic)-base, rows)
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cdcRate := float64(rows) / elapsed.Seconds()

	// The producer reference writes the very records the connector wrote, read back.
	type kv struct{ key, value []byte }
	written := make([]kv, 0, rows)
	back := n.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().At(base)), kgo.FetchMaxBytes(64<<20))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	var size int
	for len(written) < rows && ctx.Err() == nil {
		back.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if len(written) < rows {
				written = append(written, kv{r.Key, r.Value})
				size += len(r.Key) + len(r.Value)
			}
		})
	}
	cancel()
	back.Close()
	if len(written) < rows {
		t.Fatalf("read back %d of %d records", len(written), rows)
	}
	n.createTopic("bench.reference", 1, nil)
	prod := n.client(kgo.ProducerLinger(5 * time.Millisecond))
	pstart := time.Now()
	var perr error
	var pmu sync.Mutex
	for _, r := range written {
		prod.Produce(context.Background(), &kgo.Record{Topic: "bench.reference", Key: r.key, Value: r.value}, func(_ *kgo.Record, err error) {
			if err != nil {
				pmu.Lock()
				perr = err
				pmu.Unlock()
			}
		})
	}
	if err := prod.Flush(context.Background()); err != nil || perr != nil {
		t.Fatal(err, perr)
	}
	prodRate := float64(rows) / time.Since(pstart).Seconds()
	prod.Close()

	t.Logf("CDC: UPDATE of %d rows in one transaction, COMMIT to the last change event in the topic: %.2f s, %.0f rows/s", rows, elapsed.Seconds(), cdcRate)
	t.Logf("  records: %d B on average, key and value (JsonConverter with schemas)", size/rows)
	t.Logf("  reference, plain pgoutput reader (pglogrepl): %.0f rows/s; ratio connector/reader %.2f", refRate, cdcRate/refRate)
	t.Logf("  reference, kgo producing the same %d records, read back (linger 5 ms, as the worker): %.0f records/s; ratio connector/producer %.2f", rows, prodRate, cdcRate/prodRate)

	// Latency: single-row commits, COMMIT to the record read by a consumer.
	const commits = 300
	sent := make([]time.Time, commits)
	got := make([]time.Time, commits)
	cons := n.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	defer cons.Close()
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer ccancel()
	// The consumer has its position before the first commit.
	pctx, pcancel := context.WithTimeout(cctx, time.Second)
	cons.PollFetches(pctx)
	pcancel()
	var received sync.WaitGroup
	received.Add(1)
	go func() {
		defer received.Done()
		seen := 0
		for seen < commits && cctx.Err() == nil {
			cons.PollFetches(cctx).EachRecord(func(r *kgo.Record) {
				now := time.Now()
				var v struct {
					Payload struct {
						After struct {
							ID int `json:"id"`
						} `json:"after"`
					} `json:"payload"`
				}
				if json.Unmarshal(r.Value, &v) != nil {
					return
				}
				if i := v.Payload.After.ID - rows - 1; i >= 0 && i < commits && got[i].IsZero() {
					got[i] = now
					seen++
				}
			})
		}
	}()
	ins, err := pgx.Connect(context.Background(), fmt.Sprintf("postgres://postgres@127.0.0.1:%d/bench?sslmode=disable", pg.port))
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close(context.Background())
	for i := 0; i < commits; i++ {
		sent[i] = commitTimed(t, ins, fmt.Sprintf("INSERT INTO rows VALUES (%d, 0, 'latency')", rows+1+i))
		time.Sleep(20 * time.Millisecond)
	}
	received.Wait()
	var lat []time.Duration
	for i := range sent {
		if got[i].IsZero() {
			t.Fatalf("commit %d never arrived", i)
		}
		lat = append(lat, got[i].Sub(sent[i]))
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	t.Logf("latency, COMMIT to the record read by a kgo consumer, %d single-row commits 20 ms apart: p50 %v, p99 %v, max %v",
		commits, percentile(lat, 0.5).Round(100*time.Microsecond), percentile(lat, 0.99).Round(100*time.Microsecond), lat[len(lat)-1].Round(100*time.Microsecond))
}

// TestConnectBenchSink: the JDBC sink upserting N records of a topic (JSON with schemas, a
// struct key) into PostgreSQL, from its first row to its last, against pgx writing the same rows
// with the same statements in transactions of 500 (the sink's poll size), and against COPY.
func TestConnectBenchSink(t *testing.T) {
	rows := benchRows(t)
	pg := startPostgres(t)
	pgExec(t, pg.conn("postgres"), "CREATE DATABASE sink")
	db := pg.conn("sink")
	n := startNode(t)
	topic := "sinkbench"
	n.createTopic(topic, 1, nil)
	prod := n.client(kgo.ProducerLinger(5 * time.Millisecond))
	keySchema := `{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"bench.Key"}`
	valueSchema := `{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"int32","optional":false,"field":"n"},{"type":"string","optional":false,"field":"payload"}],"optional":false,"name":"bench.Value"}`
	payload := strings.Repeat("x", 100)
	for i := 1; i <= rows; i++ {
		prod.Produce(context.Background(), &kgo.Record{Topic: topic,
			Key:   []byte(fmt.Sprintf(`{"schema":%s,"payload":{"id":%d}}`, keySchema, i)),
			Value: []byte(fmt.Sprintf(`{"schema":%s,"payload":{"id":%d,"n":%d,"payload":"%s"}}`, valueSchema, i, i, payload))}, nil)
	}
	if err := prod.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	prod.Close()

	// The references, through pgx in transactions of 500 (the sink's poll size): one upsert a row
	// (simple protocol, a round trip each: what the sink did before); one multi-row upsert for
	// the 500; the one-row upserts prepared and pipelined (pgx's default mode, what a JDBC batch
	// of a prepared statement does, and what the sink does now); and COPY.
	pgExec(t, db, "CREATE TABLE ref_rows (id int NOT NULL, n int NOT NULL, payload text NOT NULL, PRIMARY KEY (id))",
		"CREATE TABLE ref_batch (id int NOT NULL, n int NOT NULL, payload text NOT NULL, PRIMARY KEY (id))",
		"CREATE TABLE ref_copy (id int NOT NULL, n int NOT NULL, payload text NOT NULL, PRIMARY KEY (id))")
	ctx := context.Background()
	upsert := func(table string) string {
		return fmt.Sprintf(`INSERT INTO %s ("id", "n", "payload") VALUES ($1::integer, $2::integer, $3::text) ON CONFLICT ("id") DO UPDATE SET "n" = EXCLUDED."n", "payload" = EXCLUDED."payload"`, table)
	}
	refStart := time.Now()
	for from := 1; from <= rows; from += 500 {
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := from; i < from+500 && i <= rows; i++ {
			if _, err := tx.Exec(ctx, upsert("ref_rows"), pgx.QueryExecModeSimpleProtocol, int32(i), int32(i), payload); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	perRowRate := float64(rows) / time.Since(refStart).Seconds()
	cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://postgres@127.0.0.1:%d/sink?sslmode=disable", pg.port))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	simple, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer simple.Close(ctx)
	refStart = time.Now()
	for from := 1; from <= rows; from += 500 {
		var q strings.Builder
		var args []any
		q.WriteString(`INSERT INTO ref_batch ("id", "n", "payload") VALUES `)
		for i := from; i < from+500 && i <= rows; i++ {
			if i > from {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "($%d::integer, $%d::integer, $%d::text)", len(args)+1, len(args)+2, len(args)+3)
			args = append(args, int32(i), int32(i), payload)
		}
		q.WriteString(` ON CONFLICT ("id") DO UPDATE SET "n" = EXCLUDED."n", "payload" = EXCLUDED."payload"`)
		tx, err := simple.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	batchRate := float64(rows) / time.Since(refStart).Seconds()
	pgExec(t, db, "CREATE TABLE ref_prepared (id int NOT NULL, n int NOT NULL, payload text NOT NULL, PRIMARY KEY (id))")
	refStart = time.Now()
	for from := 1; from <= rows; from += 500 {
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b := &pgx.Batch{}
		for i := from; i < from+500 && i <= rows; i++ {
			b.Queue(upsert("ref_prepared"), int32(i), int32(i), payload)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	preparedRate := float64(rows) / time.Since(refStart).Seconds()
	refStart = time.Now()
	src := make([][]any, 0, rows)
	for i := 1; i <= rows; i++ {
		src = append(src, []any{int32(i), int32(i), payload})
	}
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"ref_copy"}, []string{"id", "n", "payload"}, pgx.CopyFromRows(src)); err != nil {
		t.Fatal(err)
	}
	copyRate := float64(rows) / time.Since(refStart).Seconds()

	w := startConnectWorker(t, n, t.TempDir()+"/offsets.json")
	w.mustCall("POST", "/connectors", fmt.Sprintf(`{"name":"sink","config":{
		"connector.class":"io.confluent.connect.jdbc.JdbcSinkConnector","topics":"%s",
		"connection.url":"jdbc:postgresql://127.0.0.1:%d/sink","connection.user":"postgres",
		"insert.mode":"upsert","pk.mode":"record_key","auto.create":"true"}}`, topic, pg.port), 201)
	count := func() int {
		var c int
		if err := db.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM %s", topic)).Scan(&c); err != nil {
			return 0
		}
		return c
	}
	var first time.Time
	var atFirst int
	deadline := time.Now().Add(15 * time.Minute)
	for {
		c := count()
		if c > 0 && first.IsZero() {
			first, atFirst = time.Now(), c
		}
		if c >= rows {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sink wrote %d of %d rows in 15 minutes", c, rows)
		}
		time.Sleep(50 * time.Millisecond)
	}
	sinkRate := float64(rows-atFirst) / time.Since(first).Seconds()
	t.Logf("sink: JDBC sink upserting %d records (JSON with schemas) into PostgreSQL: %.0f rows/s (first row to last)", rows, sinkRate)
	t.Logf("  reference, pgx, the same upserts one round trip a row, 500 a transaction: %.0f rows/s; ratio sink/that %.2f", perRowRate, sinkRate/perRowRate)
	t.Logf("  reference, pgx, one multi-row upsert of the 500 rows a transaction (simple protocol): %.0f rows/s; ratio sink/that %.2f", batchRate, sinkRate/batchRate)
	t.Logf("  reference, pgx, the same upserts prepared and pipelined (pgx's default mode; the sink's way), 500 a transaction: %.0f rows/s; ratio sink/that %.2f", preparedRate, sinkRate/preparedRate)
	t.Logf("  reference, pgx CopyFrom of the same rows: %.0f rows/s; ratio sink/that %.2f", copyRate, sinkRate/copyRate)
}
