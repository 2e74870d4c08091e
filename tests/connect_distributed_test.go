package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// distributedArgs are the flags of a distributed worker of group in these tests: short
// session timeouts, so a killed worker's work moves within seconds, and source offsets
// committed every flushMs.
func distributedArgs(group string, flushMs int) []string {
	return []string{"--group-id", group,
		"--override", fmt.Sprintf("offset.flush.interval.ms=%d", flushMs),
		"--override", "session.timeout.ms=6000", "--override", "heartbeat.interval.ms=1000",
		"--override", "consumer.session.timeout.ms=6000", "--override", "consumer.heartbeat.interval.ms=500"}
}

// callRetry sends a change until the group has a leader to take it (409 while rebalancing).
func (w *connectWorker) callRetry(method, path, body string, want int) string {
	w.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		status, out := w.call(method, path, body)
		if status == want {
			return out
		}
		if status != http.StatusConflict || !strings.Contains(out, "rebalance") || time.Now().After(deadline) {
			w.t.Fatalf("%s %s: HTTP %d, want %d: %s", method, path, status, want, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type taskPlace struct {
	Connector string
	Task      int
	State     string
	WorkerID  string
	Trace     string
}

// placement is where every task of the connectors runs, as w's /status reports it.
func (w *connectWorker) placement(connectors ...string) []taskPlace {
	w.t.Helper()
	var out []taskPlace
	for _, c := range connectors {
		status, body := w.call("GET", "/connectors/"+c+"/status", "")
		if status != 200 {
			return nil
		}
		var st struct {
			Connector struct{ State string }
			Tasks     []struct {
				ID       int
				State    string
				WorkerID string `json:"worker_id"`
				Trace    string
			}
		}
		json.Unmarshal([]byte(body), &st)
		if st.Connector.State != "RUNNING" {
			return nil
		}
		for _, t := range st.Tasks {
			out = append(out, taskPlace{c, t.ID, t.State, t.WorkerID, t.Trace})
		}
	}
	return out
}

// waitPlacement waits until every connector runs its want tasks (a map of counts) and ok
// holds for the placement; it returns the placement.
func (w *connectWorker) waitPlacement(want map[string]int, ok func([]taskPlace) bool) []taskPlace {
	w.t.Helper()
	names := slices.Sorted(maps.Keys(want))
	deadline := time.Now().Add(90 * time.Second)
	var p []taskPlace
	for {
		p = w.placement(names...)
		counts := map[string]int{}
		running := p != nil
		for _, t := range p {
			counts[t.Connector]++
			running = running && t.State == "RUNNING"
		}
		if running && fmt.Sprint(counts) == fmt.Sprint(want) && ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("tasks never placed as wanted: %+v", p)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func workersOf(p []taskPlace) map[string]bool {
	out := map[string]bool{}
	for _, t := range p {
		out[t.WorkerID] = true
	}
	return out
}

// checkResumed: got is want[:k] followed by want[c:] with c <= k: every line at least once,
// in order, nothing invented, and the duplicates one contiguous replay from the last
// committed position.
func checkResumed(t *testing.T, topic string, got, want []string) {
	t.Helper()
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	if i == len(got) && i == len(want) {
		t.Logf("%s: %d records, no duplicates", topic, len(got))
		return
	}
	if i == len(got) {
		t.Fatalf("%s: %d of %d lines (lost: %v…)", topic, len(got), len(want), want[i])
	}
	c := -1
	for j := range i {
		if want[j] == got[i] {
			c = j
		}
	}
	if c < 0 || strings.Join(got[i:], ",") != strings.Join(want[c:], ",") {
		t.Fatalf("%s: record %d is %q: not a replay from a committed position of the %d lines", topic, i, got[i], len(want))
	}
	t.Logf("%s: %d records; after the failover %d lines (from %s) were read again", topic, len(got), i-c, want[c])
}

func lines(from, to int) []string {
	var s []string
	for i := from; i < to; i++ {
		s = append(s, fmt.Sprintf("line-%04d", i))
	}
	return s
}

// recordingEndpoint is an HTTP sink's endpoint that records the "seq" of every record posted.
type recordingEndpoint struct {
	url  string
	mu   sync.Mutex
	seqs map[int]int // seq → deliveries
	bad  []string
}

func newRecordingEndpoint(t *testing.T) *recordingEndpoint {
	e := &recordingEndpoint{seqs: map[int]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var batch []struct{ Seq *int }
		e.mu.Lock()
		defer e.mu.Unlock()
		if err := json.Unmarshal(body, &batch); err != nil {
			e.bad = append(e.bad, string(body))
			return
		}
		for _, rec := range batch {
			if rec.Seq == nil {
				e.bad = append(e.bad, string(body))
				continue
			}
			e.seqs[*rec.Seq]++
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	e.url = "http://" + ln.Addr().String() + "/ingest"
	return e
}

// waitAll waits until every seq in [0, n) was delivered; it fails on anything else.
func (e *recordingEndpoint) waitAll(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		e.mu.Lock()
		missing, dups := 0, 0
		for i := range n {
			switch e.seqs[i] {
			case 0:
				missing++
			case 1:
			default:
				dups++
			}
		}
		extra := len(e.seqs) - (n - missing)
		bad := len(e.bad)
		e.mu.Unlock()
		if bad > 0 || extra > 0 {
			t.Fatalf("the sink delivered %d records never produced and %d bodies that are not records", extra, bad)
		}
		if missing == 0 {
			t.Logf("the sink delivered all %d records (%d more than once)", n, dups)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records never reached the sink", missing, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func produceSeqs(t *testing.T, n *node, topic string, from, to int) {
	t.Helper()
	cl := n.client()
	for i := from; i < to; i++ {
		r := &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf(`{"seq":%d}`, i))}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

func httpSinkConfig(e *recordingEndpoint, tasks int) string {
	return fmt.Sprintf(`{"connector.class":"io.confluent.connect.http.HttpSinkConnector","tasks.max":"%d","topics":"events",
		"http.api.url":%q,"request.body.format":"json","batch.max.size":"20","batch.prefix":"[","batch.suffix":"]","batch.separator":",",
		"key.converter":"org.apache.kafka.connect.storage.StringConverter",
		"value.converter":"org.apache.kafka.connect.json.JsonConverter","value.converter.schemas.enable":"false"}`, tasks, e.url)
}

func fileSourceConfig(file, topic string) string {
	return fmt.Sprintf(`{"connector.class":"FileStreamSource","file":%q,"topic":%q,
		"value.converter":"org.apache.kafka.connect.storage.StringConverter"}`, file, topic)
}

// TestConnectDistributedFailover: two workers of one group share two file sources and an
// HTTP sink with two tasks over a 4-partition topic; every worker reports where every task
// runs. Worker B is SIGKILLed with data in flight: within the session timeout its tasks run
// on A, the file source that ran on B resumes from the offset B committed to connect-offsets
// (each line at least once, in order; the only duplicates one replay from the last commit),
// and the sink delivers every record produced before and after.
func TestConnectDistributedFailover(t *testing.T) {
	n := startNode(t)
	n.createTopic("lines-1", 1, nil)
	n.createTopic("lines-2", 1, nil)
	n.createTopic("events", 4, nil)
	dir := t.TempDir()
	in1, in2 := filepath.Join(dir, "in-1.txt"), filepath.Join(dir, "in-2.txt")
	endpoint := newRecordingEndpoint(t)

	a := runConnect(t, n, distributedArgs("g", 2000)...)
	b := runConnect(t, n, distributedArgs("g", 2000)...)
	a.callRetry("POST", "/connectors", fmt.Sprintf(`{"name":"src-1","config":%s}`, fileSourceConfig(in1, "lines-1")), 201)
	a.callRetry("POST", "/connectors", fmt.Sprintf(`{"name":"src-2","config":%s}`, fileSourceConfig(in2, "lines-2")), 201)
	a.callRetry("POST", "/connectors", fmt.Sprintf(`{"name":"http-sink","config":%s}`, httpSinkConfig(endpoint, 2)), 201)
	want := map[string]int{"src-1": 1, "src-2": 1, "http-sink": 2}
	spread := func(p []taskPlace) bool { return workersOf(p)[a.addr] && workersOf(p)[b.addr] }
	placed := a.waitPlacement(want, spread)
	if fromB := b.waitPlacement(want, spread); fmt.Sprint(fromB) != fmt.Sprint(placed) {
		t.Logf("A and B report different placements (a rebalance in between?): %v / %v", placed, fromB)
	}
	t.Logf("tasks: %+v", placed)
	var sourceOnB, sinkOnB bool
	for _, p := range placed {
		sourceOnB = sourceOnB || p.WorkerID == b.addr && strings.HasPrefix(p.Connector, "src-")
		sinkOnB = sinkOnB || p.WorkerID == b.addr && p.Connector == "http-sink"
	}
	if !sourceOnB || !sinkOnB {
		t.Fatalf("B runs no source task (%v) or no sink task (%v): %+v", sourceOnB, sinkOnB, placed)
	}

	appendLines(t, in1, 0, 300)
	appendLines(t, in2, 0, 300)
	produceSeqs(t, n, "events", 0, 200)
	readTopicValues(t, n, "lines-1", 300)
	readTopicValues(t, n, "lines-2", 300)
	endpoint.waitAll(t, 200, 60*time.Second)

	// B dies with lines written to the topic whose offsets it has not committed yet (it
	// commits every 2 s).
	appendLines(t, in1, 300, 400)
	appendLines(t, in2, 300, 400)
	readTopicValues(t, n, "lines-1", 400)
	readTopicValues(t, n, "lines-2", 400)
	killed := time.Now()
	b.kill()
	appendLines(t, in1, 400, 500)
	appendLines(t, in2, 400, 500)
	produceSeqs(t, n, "events", 200, 400)
	onA := func(p []taskPlace) bool { return len(workersOf(p)) == 1 && workersOf(p)[a.addr] }
	a.waitPlacement(want, onA)
	t.Logf("all tasks ran on A %v after B was killed", time.Since(killed).Round(100*time.Millisecond))

	for _, topic := range []string{"lines-1", "lines-2"} {
		checkResumed(t, topic, readDistinct(t, n, topic, 500, 60*time.Second), lines(0, 500))
	}
	endpoint.waitAll(t, 400, 90*time.Second)

	// The source offsets are in connect-offsets, readable through any worker (committed every
	// 2 s).
	for deadline := time.Now().Add(20 * time.Second); ; {
		offs := a.mustCall("GET", "/connectors/src-1/offsets", "", 200)
		if strings.Contains(offs, fmt.Sprintf(`{"filename":%q},"offset":{"position":%d}`, in1, 500*10)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("offsets: %s", offs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// groupLeaderOf returns the worker whose last group join made it the leader, and the others.
func groupLeaderOf(t *testing.T, workers ...*connectWorker) (*connectWorker, []*connectWorker) {
	t.Helper()
	re := regexp.MustCompile(`msg="joined the group".* leader=(true|false)`)
	var leader *connectWorker
	var others []*connectWorker
	for _, w := range workers {
		m := re.FindAllStringSubmatch(w.logs.String(), -1)
		if len(m) > 0 && m[len(m)-1][1] == "true" {
			leader = w
		} else {
			others = append(others, w)
		}
	}
	if leader == nil {
		t.Fatal("no worker says it leads the group")
	}
	return leader, others
}

// TestConnectDistributedMembership: a third worker joining takes a share of the tasks; a
// config change made through one worker is seen through another; a DELETE sent to a
// follower is forwarded to the leader; and workers started after all the others stopped read
// the connectors, their task configurations and the source offsets back from the topics.
func TestConnectDistributedMembership(t *testing.T) {
	n := startNode(t)
	n.createTopic("events", 4, nil)
	n.createTopic("lines", 1, nil)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	endpoint := newRecordingEndpoint(t)
	a := runConnect(t, n, distributedArgs("g2", 300)...)
	b := runConnect(t, n, distributedArgs("g2", 300)...)
	b.callRetry("POST", "/connectors", fmt.Sprintf(`{"name":"http-sink","config":%s}`, httpSinkConfig(endpoint, 4)), 201)
	b.callRetry("POST", "/connectors", fmt.Sprintf(`{"name":"src","config":%s}`, fileSourceConfig(in, "lines")), 201)
	want := map[string]int{"http-sink": 4, "src": 1}
	a.waitPlacement(want, func(p []taskPlace) bool { return len(workersOf(p)) == 2 })

	c := runConnect(t, n, distributedArgs("g2", 300)...)
	placed := a.waitPlacement(want, func(p []taskPlace) bool { return workersOf(p)[c.addr] })
	t.Logf("after C joined: %+v", placed)

	// A config change through B, seen through A and C.
	patched := b.callRetry("PATCH", "/connectors/http-sink/config", `{"batch.max.size":"7"}`, 200)
	if !strings.Contains(patched, `"batch.max.size":"7"`) {
		t.Fatalf("PATCH answered %s", patched)
	}
	for _, w := range []*connectWorker{a, c} {
		for deadline := time.Now().Add(30 * time.Second); ; {
			if body := w.mustCall("GET", "/connectors/http-sink/config", "", 200); strings.Contains(body, `"batch.max.size":"7"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never saw the new config", w.addr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	produceSeqs(t, n, "events", 0, 100)
	endpoint.waitAll(t, 100, 60*time.Second)

	// The source commits its offset; then every worker goes and new ones read it all back.
	appendLines(t, in, 0, 100)
	readTopicValues(t, n, "lines", 100)
	for deadline := time.Now().Add(30 * time.Second); ; {
		if offs := c.mustCall("GET", "/connectors/src/offsets", "", 200); strings.Contains(offs, `"position":1000}`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the source's offset was never committed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	taskConfigs := a.mustCall("GET", "/connectors/http-sink/tasks-config", "", 200)
	for _, w := range []*connectWorker{a, b, c} {
		w.kill()
	}
	appendLines(t, in, 100, 200)
	d := runConnect(t, n, distributedArgs("g2", 300)...)
	e := runConnect(t, n, distributedArgs("g2", 300)...)
	if got := d.mustCall("GET", "/connectors", "", 200); got != "[\"http-sink\",\"src\"]\n" {
		t.Errorf("connectors read back: %s", got)
	}
	if got := e.mustCall("GET", "/connectors/http-sink/tasks-config", "", 200); got != taskConfigs {
		t.Errorf("task configs read back:\n%s\nwant\n%s", got, taskConfigs)
	}
	d.waitPlacement(want, func(p []taskPlace) bool { return len(workersOf(p)) == 2 })
	got := readTopicValues(t, n, "lines", 200)
	if strings.Join(got, ",") != strings.Join(lines(0, 200), ",") {
		t.Errorf("after the restart the source did not resume at its committed offset: %d records", len(got))
	}
	produceSeqs(t, n, "events", 100, 200)
	endpoint.waitAll(t, 200, 90*time.Second)

	// DELETE through a follower: forwarded to the leader, gone everywhere.
	_, followers := groupLeaderOf(t, d, e)
	if len(followers) != 1 {
		t.Fatalf("followers: %d", len(followers))
	}
	followers[0].callRetry("DELETE", "/connectors/src", "", 204)
	for _, w := range []*connectWorker{d, e} {
		for deadline := time.Now().Add(10 * time.Second); ; {
			body := w.mustCall("GET", "/connectors", "", 200)
			if body == "[\"http-sink\"]\n" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s lists %s after the DELETE", w.addr, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	d.mustCall("GET", "/connectors/src", "", 404)
	os.Remove(in)
}

// waitStatus waits until w reports the connector in state with tasks tasks, all in state.
func (w *connectWorker) waitStatus(name, state string, tasks int) {
	w.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		status, body := w.call("GET", "/connectors/"+name+"/status", "")
		var st struct {
			Connector struct{ State string }
			Tasks     []struct{ State string }
		}
		json.Unmarshal([]byte(body), &st)
		ok := status == 200 && st.Connector.State == state && len(st.Tasks) == tasks
		for _, task := range st.Tasks {
			ok = ok && task.State == state
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s never %s with %d tasks: %s", name, state, tasks, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestConnectDistributedLifecycle: pause, resume, stop, offsets (KIP-875) and restarts sent to
// either worker act on the tasks wherever they run, as Kafka Connect's distributed herder.
func TestConnectDistributedLifecycle(t *testing.T) {
	n := startNode(t)
	n.createTopic("lines", 1, nil)
	n.createTopic("events", 4, nil)
	in := filepath.Join(t.TempDir(), "in.txt")
	endpoint := newRecordingEndpoint(t)
	a := runConnect(t, n, distributedArgs("g3", 300)...)
	b := runConnect(t, n, distributedArgs("g3", 300)...)
	a.callRetry("POST", "/connectors", fmt.Sprintf(`{"name":"src","config":%s}`, fileSourceConfig(in, "lines")), 201)
	a.callRetry("POST", "/connectors", fmt.Sprintf(`{"name":"http-sink","config":%s}`, httpSinkConfig(endpoint, 3)), 201)
	placed := a.waitPlacement(map[string]int{"src": 1, "http-sink": 3}, func(p []taskPlace) bool { return len(workersOf(p)) == 2 })
	appendLines(t, in, 0, 100)
	readTopicValues(t, n, "lines", 100)

	// Pause through B, whatever runs where: every task reports PAUSED and the source reads
	// nothing more.
	b.callRetry("PUT", "/connectors/src/pause", "", 202)
	b.callRetry("PUT", "/connectors/http-sink/pause", "", 202)
	a.waitStatus("src", "PAUSED", 1)
	b.waitStatus("http-sink", "PAUSED", 3)
	appendLines(t, in, 100, 110)
	time.Sleep(1500 * time.Millisecond)
	if got := len(readAllNow(t, n, "lines")); got != 100 {
		t.Errorf("a paused source wrote %d records", got-100)
	}
	a.callRetry("PUT", "/connectors/src/resume", "", 202)
	b.callRetry("PUT", "/connectors/http-sink/resume", "", 202)
	b.waitStatus("src", "RUNNING", 1)
	a.waitStatus("http-sink", "RUNNING", 3)
	checkAtLeastOnce(t, readTopicValues(t, n, "lines", 110), lines(0, 110))

	// Offsets: refused while running; stop (no tasks), rewind, resume: read again from 0.
	rewind := fmt.Sprintf(`{"offsets":[{"partition":{"filename":%q},"offset":{"position":0}}]}`, in)
	if status, body := b.call("PATCH", "/connectors/src/offsets", rewind); status != 400 || !strings.Contains(body, "STOPPED") {
		t.Errorf("altering a running connector's offsets: %d %s", status, body)
	}
	b.callRetry("PUT", "/connectors/src/stop", "", 204)
	a.waitStatus("src", "STOPPED", 0)
	b.callRetry("PATCH", "/connectors/src/offsets", rewind, 200)
	if offs := a.mustCall("GET", "/connectors/src/offsets", "", 200); !strings.Contains(offs, `"position":0}`) {
		t.Errorf("offsets after the rewind: %s", offs)
	}
	a.callRetry("PUT", "/connectors/src/resume", "", 202)
	b.waitStatus("src", "RUNNING", 1)
	again := readTopicValues(t, n, "lines", 220)
	if strings.Join(again[110:], ",") != strings.Join(lines(0, 110), ",") {
		t.Errorf("after the rewind the file was not read again from the start")
	}

	// A task restart sent to the worker that does not run it is done by the one that does.
	var sinkTask taskPlace
	for _, p := range placed {
		if p.Connector == "http-sink" {
			sinkTask = p
		}
	}
	other := a
	if sinkTask.WorkerID == a.addr {
		other = b
	}
	other.callRetry("POST", fmt.Sprintf("/connectors/http-sink/tasks/%d/restart", sinkTask.Task), "", 204)
	other.mustCall("POST", "/connectors/http-sink/tasks/9/restart", "", 404)
	other.callRetry("POST", "/connectors/http-sink/restart?includeTasks=true", "", 202)
	a.waitStatus("http-sink", "RUNNING", 3)
	produceSeqs(t, n, "events", 0, 100)
	endpoint.waitAll(t, 100, 60*time.Second)
	if body := b.mustCall("GET", "/connectors/src/topics", "", 200); body != "{\"src\":{\"topics\":[\"lines\"]}}\n" {
		t.Errorf("topics: %s", body)
	}
	if body := a.mustCall("GET", "/connectors/nope/status", "", 404); body != "{\"error_code\":404,\"message\":\"Connector nope not found\"}\n" {
		t.Errorf("404 body: %s", body)
	}
	if body := b.callRetry("POST", "/connectors", fmt.Sprintf(`{"name":"src","config":%s}`, fileSourceConfig(in, "lines")), 409); body != "{\"error_code\":409,\"message\":\"Connector src already exists\"}\n" {
		t.Errorf("409 body: %s", body)
	}

	// A worker stopped with SIGTERM leaves the group: its work moves to A at once, well
	// before the session timeout (30 s here) would have moved it.
	c := runConnect(t, n, append(distributedArgs("g3", 300), "--override", "session.timeout.ms=30000")...)
	want := map[string]int{"src": 1, "http-sink": 3}
	a.waitPlacement(want, func(p []taskPlace) bool { return workersOf(p)[c.addr] })
	for _, w := range []*connectWorker{b, c} {
		w.stop()
	}
	stopped := time.Now()
	a.waitPlacement(want, func(p []taskPlace) bool { return len(workersOf(p)) == 1 && workersOf(p)[a.addr] })
	took := time.Since(stopped)
	if took > 20*time.Second {
		t.Errorf("the work of the workers that left moved after %v", took)
	}
	t.Logf("after B and C left, all tasks ran on A within %v", took.Round(100*time.Millisecond))
}

// stop sends SIGTERM and waits for a clean exit.
func (w *connectWorker) stop() {
	w.t.Helper()
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(30 * time.Second):
		w.t.Fatalf("sluice connect did not exit within 30s of SIGTERM")
	}
	if code := w.cmd.ProcessState.ExitCode(); code != 0 {
		w.t.Fatalf("sluice connect exited with %d after SIGTERM", code)
	}
}

// TestConnectDistributedConfigTopicPartitions: a worker refuses a config topic of more than
// one partition, saying why, as Kafka Connect does.
func TestConnectDistributedConfigTopicPartitions(t *testing.T) {
	n := startNode(t)
	n.createTopic("two-part-configs", 2, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, sluiceBin, "connect", "--brokers", n.kafkaAddr, "--connect-addr", freeAddr(t),
		"--group-id", "g4", "--override", "config.storage.topic=two-part-configs").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "the config topic two-part-configs has 2 partitions; it must have exactly 1") {
		t.Errorf("the worker exited with %v, saying: %s", err, out)
	}
}
