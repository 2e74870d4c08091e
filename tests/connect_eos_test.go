package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestConnectExactlyOnceSource: KIP-618 end to end. Two distributed workers with
// exactly.once.source.support=enabled run a FileStreamSource while lines are appended to its
// file. The worker running the task is SIGSTOPped until the other has taken the task over, then
// resumed (a zombie: its producer is fenced, its open transaction aborted); later the worker
// then running the task is SIGKILLed mid-stream and restarted. A read_committed consumer must
// then read every line exactly once, in order: nothing lost, nothing duplicated, nothing
// invented.
func TestConnectExactlyOnceSource(t *testing.T) {
	n := startNode(t)
	n.createTopic("eos-lines", 1, nil)
	in := filepath.Join(t.TempDir(), "in.txt")
	appendLines(t, in, 0, 0)
	args := []string{"--group-id", "eos-workers",
		"--override", "exactly.once.source.support=enabled",
		"--override", "session.timeout.ms=6000", "--override", "heartbeat.interval.ms=1000",
		"--override", "key.converter=org.apache.kafka.connect.storage.StringConverter",
		"--override", "value.converter=org.apache.kafka.connect.storage.StringConverter"}
	workers := []*connectWorker{runConnect(t, n, args...), runConnect(t, n, args...)}
	cfg := fmt.Sprintf(`{"connector.class":"FileStreamSource","file":%q,"topic":"eos-lines","tasks.max":"1","batch.size":"40","exactly.once.support":"required"}`, in)
	workers[0].createWhenFormed("/connectors/eos-src/config", cfg)

	// Lines are appended in the background, 10 every 50 ms, until the faults are done.
	written := make(chan int, 1)
	stop := make(chan struct{})
	go func() {
		i := 0
		for {
			select {
			case <-stop:
				written <- i
				return
			case <-time.After(50 * time.Millisecond):
			}
			appendLines(t, in, i, i+10)
			i += 10
		}
	}()
	stopped := false
	defer func() {
		if !stopped {
			close(stop)
		}
	}()

	// runner finds the worker whose REST address is the task's worker_id (asking any live worker).
	runner := func(ask *connectWorker, not *connectWorker) *connectWorker {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			_, body := ask.call("GET", "/connectors/eos-src/status", "")
			var st struct {
				Tasks []struct {
					State    string `json:"state"`
					WorkerID string `json:"worker_id"`
				} `json:"tasks"`
			}
			json.Unmarshal([]byte(body), &st)
			if len(st.Tasks) == 1 && st.Tasks[0].State == "RUNNING" {
				for _, w := range workers {
					if w != not && strings.HasSuffix(st.Tasks[0].WorkerID, w.addr[strings.LastIndex(w.addr, ":"):]) {
						return w
					}
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("the task never ran on a worker other than the excluded one: %s", body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitCommitted := func(atLeast int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for len(readCommittedNow(t, n, "eos-lines")) < atLeast {
			if time.Now().After(deadline) {
				t.Fatalf("fewer than %d committed lines after 60 s", atLeast)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	first := runner(workers[0], nil)
	waitCommitted(100)
	// The zombie: stopped past its session timeout, the other worker takes the task and fences it.
	first.cmd.Process.Signal(syscall.SIGSTOP)
	other := workers[0]
	if other == first {
		other = workers[1]
	}
	if got := runner(other, first); got != other {
		t.Fatalf("the task moved to %s, not the other worker", got.addr)
	}
	before := len(readCommittedNow(t, n, "eos-lines"))
	waitCommitted(before + 100)
	first.cmd.Process.Signal(syscall.SIGCONT)
	time.Sleep(3 * time.Second) // let the zombie try to commit what it held

	// A crash mid-stream: the worker running the task now is killed and started again.
	crashed := runner(other, nil)
	waitCommitted(len(readCommittedNow(t, n, "eos-lines")) + 100)
	crashed.kill()
	for i, w := range workers {
		if w == crashed {
			workers[i] = runConnect(t, n, args...)
		}
	}
	time.Sleep(time.Second) // lines written while the restarted worker joins
	close(stop)
	stopped = true
	total := <-written
	want := make([]string, total)
	for i := range want {
		want[i] = fmt.Sprintf("line-%04d", i)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		got := readCommittedNow(t, n, "eos-lines")
		if len(got) >= total {
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("read_committed holds %d records, not the %d lines exactly once in order (first difference at %d)", len(got), total, firstDiff(got, want))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("read_committed holds %d of %d lines after 90 s", len(got), total)
		}
		time.Sleep(300 * time.Millisecond)
	}
	// Nothing more arrives later (a zombie's late commit would show here).
	time.Sleep(2 * time.Second)
	if got := readCommittedNow(t, n, "eos-lines"); len(got) != total {
		t.Fatalf("read_committed holds %d records after settling, want %d", len(got), total)
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// readCommittedNow reads partition 0 of topic read_committed up to its last stable offset
// (transaction markers are kept, so the read ends at the last one too).
func readCommittedNow(t *testing.T, n *node, topic string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := n.admin().ListCommittedOffsets(ctx, topic) // the last stable offset
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(topic, 0)
	if end.Offset <= 0 {
		return nil
	}
	cl := n.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	defer cl.Close()
	var got []string
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s read_committed: %d records, stable end %d: %v", topic, len(got), end.Offset, ctx.Err())
		}
		done := false
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= end.Offset {
				return
			}
			if !r.Attrs.IsControl() {
				got = append(got, string(r.Value))
			}
			done = done || r.Offset == end.Offset-1
		})
		if done {
			return got
		}
	}
}

// TestConnectPostgresExactlyOnce: the Postgres CDC source on a distributed worker with
// exactly-once sources: rows are inserted (single-row and five-row transactions) while the
// worker is SIGKILLed and restarted twice; read_committed, the table's topic holds one create
// (or snapshot read) event per row, in commit order: no duplicates (Debezium allows some after a crash without
// exactly-once), none lost, none invented.
func TestConnectPostgresExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, a broker and a Connect worker")
	}
	pg := startPostgres(t)
	pgExec(t, pg.conn("postgres"), "CREATE DATABASE eosdb")
	pgExec(t, pg.conn("eosdb"), "CREATE TABLE items (id int PRIMARY KEY, v text)")
	n := startNode(t)
	args := []string{"--group-id", "pg-eos", "--override", "exactly.once.source.support=enabled",
		"--override", "key.converter.schemas.enable=false", "--override", "value.converter.schemas.enable=false"}
	w := runConnect(t, n, args...)
	cfg := fmt.Sprintf(`{"connector.class":"io.debezium.connector.postgresql.PostgresConnector","tasks.max":"1",
		"database.hostname":"127.0.0.1","database.port":"%d","database.user":"postgres","database.dbname":"eosdb",
		"topic.prefix":"eos","table.include.list":"public.items","plugin.name":"pgoutput",
		"exactly.once.support":"required"}`, pg.port)
	w.createWhenFormed("/connectors/items/config", cfg)
	w.waitState("items", "RUNNING")

	// Rows 1..total in transactions of one or five rows, committed in id order.
	const total = 600
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := pg.conn("eosdb")
		for id := 1; id <= total; {
			size := 1
			if id%10 == 0 && id+5 <= total+1 {
				size = 5
			}
			var b strings.Builder
			b.WriteString("INSERT INTO items (id, v) VALUES ")
			for j := 0; j < size; j++ {
				if j > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "(%d, 'v%d')", id+j, id+j)
			}
			if _, err := c.Exec(context.Background(), b.String()); err != nil {
				t.Errorf("insert: %v", err)
				return
			}
			id += size
			time.Sleep(8 * time.Millisecond)
		}
	}()
	ids := func() []int {
		var out []int
		for _, v := range readCommittedNow(t, n, "eos.public.items") {
			var e struct {
				Op    string         `json:"op"`
				After map[string]any `json:"after"`
			}
			if err := json.Unmarshal([]byte(v), &e); err != nil {
				t.Fatalf("event %s: %v", v, err)
			}
			if e.Op != "c" && e.Op != "r" { // rows committed before the snapshot come as reads
				t.Fatalf("event %s: want only creates and snapshot reads", v)
			}
			out = append(out, int(e.After["id"].(float64)))
		}
		return out
	}
	for kill := 0; kill < 2; kill++ {
		seen := len(ids())
		for deadline := time.Now().Add(30 * time.Second); len(ids()) < seen+50; {
			if time.Now().After(deadline) {
				t.Fatalf("no progress: %d events", len(ids()))
			}
			time.Sleep(100 * time.Millisecond)
		}
		w.kill()
		w = runConnect(t, n, args...)
	}
	<-done
	deadline := time.Now().Add(90 * time.Second)
	for {
		got := ids()
		if len(got) >= total {
			for i, id := range got {
				if id != i+1 {
					t.Fatalf("read_committed holds %d row events; event %d is row %d, want %d (a duplicate, a loss or a reorder)", len(got), i, id, i+1)
				}
			}
			if len(got) != total {
				t.Fatalf("read_committed holds %d row events for %d rows", len(got), total)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("read_committed holds %d of %d rows after 90 s", len(got), total)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// createWhenFormed creates a connector through a distributed worker with PUT path, retrying
// while the group forms (Kafka Connect answers 409 during a rebalance).
func (w *connectWorker) createWhenFormed(path, cfg string) {
	w.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		status, body := w.call("PUT", path, cfg)
		if status == 201 {
			return
		}
		if status != 409 || time.Now().After(deadline) {
			w.t.Fatalf("creating the connector: HTTP %d: %s", status, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
