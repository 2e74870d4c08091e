package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// connectWorker is one `sluice connect` process.
type connectWorker struct {
	t      *testing.T
	addr   string
	cmd    *exec.Cmd
	exited chan struct{}
	logs   *syncBuffer
}

// startConnectWorker runs a standalone worker against n with the given extra arguments.
func startConnectWorker(t *testing.T, n *node, offsetsFile string, args ...string) *connectWorker {
	t.Helper()
	return runConnect(t, n, append([]string{"--offsets-file", offsetsFile}, args...)...)
}

// runConnect runs `sluice connect` against n with the given arguments and waits for its REST
// API to answer.
func runConnect(t *testing.T, n *node, args ...string) *connectWorker {
	t.Helper()
	w := &connectWorker{t: t, addr: freeAddr(t), logs: &syncBuffer{}, exited: make(chan struct{})}
	all := append([]string{"connect", "--brokers", n.kafkaAddr, "--connect-addr", w.addr}, args...)
	w.cmd = exec.Command(sluiceBin, all...)
	w.cmd.Stdout, w.cmd.Stderr = w.logs, w.logs
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.cmd.Wait(); close(w.exited) }()
	t.Cleanup(func() {
		w.kill()
		if t.Failed() {
			t.Logf("connect worker output:\n%s", tail(w.logs.String(), 60))
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get("http://" + w.addr + "/"); err == nil {
			resp.Body.Close()
			return w
		}
		select {
		case <-w.exited:
			t.Fatalf("sluice connect exited:\n%s", w.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluice connect's REST API never answered\n%s", w.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *connectWorker) kill() {
	if w.cmd.Process != nil {
		w.cmd.Process.Signal(syscall.SIGKILL)
		<-w.exited
	}
}

// call sends a REST request and returns the status and body.
func (w *connectWorker) call(method, path, body string) (int, string) {
	w.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+w.addr+path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (w *connectWorker) mustCall(method, path, body string, want int) string {
	w.t.Helper()
	status, out := w.call(method, path, body)
	if status != want {
		w.t.Fatalf("%s %s: HTTP %d, want %d: %s", method, path, status, want, out)
	}
	return out
}

// waitState waits for a connector and its tasks to reach state.
func (w *connectWorker) waitState(name, state string) {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body := w.call("GET", "/connectors/"+name+"/status", "")
		var st struct {
			Connector struct{ State string }
			Tasks     []struct{ State, Trace string }
		}
		json.Unmarshal([]byte(body), &st)
		ok := status == 200 && st.Connector.State == state && len(st.Tasks) > 0
		for _, task := range st.Tasks {
			ok = ok && task.State == state
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s never %s: %s", name, state, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func appendLines(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b bytes.Buffer
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "line-%04d\n", i)
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// readTopicValues reads topic from the start until want records were read (or fails).
func readTopicValues(t *testing.T, n *node, topic string, want int) []string {
	t.Helper()
	cl := n.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []string
	for len(got) < want {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records of %s", len(got), want, topic)
		}
		fetches.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got
}

// TestConnectFileStandalone: a standalone worker driven through Kafka Connect's REST API runs
// Kafka's FileStreamSource and FileStreamSink configurations; the source resumes from its
// committed offset after the worker is SIGKILLed (no line lost; duplicates only of lines after
// the last commit, as Kafka Connect's at-least-once allows); pause, stop, offsets (KIP-875)
// and the error bodies behave as Kafka Connect's.
func TestConnectFileStandalone(t *testing.T) {
	n := startNode(t)
	n.createTopic("lines", 1, nil)
	dir := t.TempDir()
	in, out, offsets := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt"), filepath.Join(dir, "offsets.json")
	conv := []string{"--override", "offset.flush.interval.ms=300",
		"--override", "key.converter=org.apache.kafka.connect.storage.StringConverter",
		"--override", "value.converter=org.apache.kafka.connect.storage.StringConverter"}
	w := startConnectWorker(t, n, offsets, conv...)

	if body := w.mustCall("GET", "/", "", 200); !strings.Contains(body, `"version"`) || !strings.Contains(body, `"kafka_cluster_id":"`) {
		t.Errorf("GET /: %s", body)
	}
	if body := w.mustCall("GET", "/connector-plugins", "", 200); !strings.Contains(body, `"class":"org.apache.kafka.connect.file.FileStreamSourceConnector","type":"source"`) {
		t.Errorf("plugins: %s", body)
	}
	validate := w.mustCall("PUT", "/connector-plugins/FileStreamSourceConnector/config/validate", `{"connector.class":"FileStreamSource","name":"x","file":"/tmp/x"}`, 200)
	if !strings.Contains(validate, `"error_count":1`) || !strings.Contains(validate, `Missing required configuration \"topic\"`) {
		t.Errorf("validate without a topic: %s", validate)
	}

	source := fmt.Sprintf(`{"name":"file-source","config":{"connector.class":"FileStreamSource","tasks.max":"1","file":%q,"topic":"lines"}}`, in)
	created := w.mustCall("POST", "/connectors", source, 201)
	if !strings.Contains(created, `"tasks":[{"connector":"file-source","task":0}]`) || !strings.Contains(created, `"type":"source"`) {
		t.Errorf("create: %s", created)
	}
	if body := w.mustCall("POST", "/connectors", source, 409); body != "{\"error_code\":409,\"message\":\"Connector file-source already exists\"}\n" {
		t.Errorf("409 body: %q", body)
	}
	if body := w.mustCall("GET", "/connectors/nope", "", 404); body != "{\"error_code\":404,\"message\":\"Connector nope not found\"}\n" {
		t.Errorf("404 body: %q", body)
	}
	if body := w.mustCall("POST", "/connectors", `{"name":"bad","config":{"connector.class":"com.example.Nope"}}`, 400); !strings.Contains(body, `"error_code":400`) {
		t.Errorf("unknown class: %s", body)
	}
	w.waitState("file-source", "RUNNING")

	appendLines(t, in, 0, 100)
	want := func(from, to int) []string {
		var s []string
		for i := from; i < to; i++ {
			s = append(s, fmt.Sprintf("line-%04d", i))
		}
		return s
	}
	if got := readTopicValues(t, n, "lines", 100); strings.Join(got, ",") != strings.Join(want(0, 100), ",") {
		t.Fatalf("first 100 lines: %v", got)
	}

	metrics := w.mustCall("GET", "/metrics", "", 200)
	for _, want := range []string{`sluice_connect_source_record_poll_total{connector="file-source",task="0"} 100`,
		`sluice_connect_source_record_write_total{connector="file-source",task="0"} 100`,
		`sluice_connect_task_state{connector="file-source",state="RUNNING",task="0"} 1`} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}

	sink := fmt.Sprintf(`{"connector.class":"org.apache.kafka.connect.file.FileStreamSinkConnector","topics":"lines","file":%q}`, out)
	w.mustCall("PUT", "/connectors/file-sink/config", sink, 201)
	w.mustCall("PUT", "/connectors/file-sink/config", sink, 200)
	w.waitState("file-sink", "RUNNING")
	waitFileLines(t, out, want(0, 100))
	if body := w.mustCall("GET", "/connectors?expand=status", "", 200); !strings.Contains(body, `"file-sink":{"status"`) {
		t.Errorf("expand=status: %s", body)
	}
	if body := w.mustCall("GET", "/connectors/file-sink/topics", "", 200); body != "{\"file-sink\":{\"topics\":[\"lines\"]}}\n" {
		t.Errorf("topics: %q", body)
	}

	// SIGKILL with lines in flight; the restarted worker (connectors from files, as Kafka's
	// standalone worker takes them) resumes from the committed position.
	appendLines(t, in, 100, 200)
	readTopicValues(t, n, "lines", 200)
	w.kill()
	appendLines(t, in, 200, 300)
	srcFile := filepath.Join(dir, "source.json")
	os.WriteFile(srcFile, []byte(source), 0o644)
	w = startConnectWorker(t, n, offsets, append(conv, srcFile)...)
	w.waitState("file-source", "RUNNING")
	got := readDistinct(t, n, "lines", 300, 30*time.Second)
	checkAtLeastOnce(t, got, want(0, 300))
	t.Logf("after SIGKILL and restart: %d records for 300 lines", len(got))

	// Pause: nothing more is read until resumed.
	w.mustCall("PUT", "/connectors/file-source/pause", "", 202)
	w.waitState("file-source", "PAUSED")
	end := len(readAllNow(t, n, "lines"))
	appendLines(t, in, 300, 310)
	time.Sleep(1500 * time.Millisecond)
	if now := len(readAllNow(t, n, "lines")); now != end {
		t.Errorf("a paused source produced %d records", now-end)
	}
	w.mustCall("PUT", "/connectors/file-source/resume", "", 202)
	w.waitState("file-source", "RUNNING")
	checkAtLeastOnce(t, readTopicValues(t, n, "lines", end+10), want(0, 310))

	// Offsets (KIP-875): read them, refuse to alter a running connector, rewind a stopped one.
	time.Sleep(time.Second) // one flush interval and more: the last lines' offset is committed
	offs := w.mustCall("GET", "/connectors/file-source/offsets", "", 200)
	if !strings.Contains(offs, fmt.Sprintf(`{"offsets":[{"partition":{"filename":%q},"offset":{"position":%d}}]}`, in, 310*10)) {
		t.Errorf("offsets: %s", offs)
	}
	rewind := fmt.Sprintf(`{"offsets":[{"partition":{"filename":%q},"offset":{"position":0}}]}`, in)
	if body := w.mustCall("PATCH", "/connectors/file-source/offsets", rewind, 400); !strings.Contains(body, "STOPPED") {
		t.Errorf("altering a running connector's offsets: %s", body)
	}
	w.mustCall("PUT", "/connectors/file-source/stop", "", 204)
	before := len(readAllNow(t, n, "lines"))
	w.mustCall("PATCH", "/connectors/file-source/offsets", rewind, 200)
	w.mustCall("PUT", "/connectors/file-source/resume", "", 202)
	again := readTopicValues(t, n, "lines", before+310)
	if strings.Join(again[before:], ",") != strings.Join(want(0, 310), ",") {
		t.Errorf("after rewinding to 0 the file was not read again from the start: %v", again[before:])
	}
	w.mustCall("DELETE", "/connectors/file-source", "", 204)
	w.mustCall("GET", "/connectors/file-source", "", 404)
}

// readDistinct reads topic until it holds want distinct values (duplicates are allowed) or
// time runs out, and returns what it holds.
func readDistinct(t *testing.T, n *node, topic string, want int, within time.Duration) []string {
	t.Helper()
	for deadline := time.Now().Add(within); ; {
		got := readAllNow(t, n, topic)
		distinct := map[string]bool{}
		for _, g := range got {
			distinct[g] = true
		}
		if len(distinct) >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkAtLeastOnce: got holds every line of want, first seen in want's order, and nothing else.
func checkAtLeastOnce(t *testing.T, got, want []string) {
	t.Helper()
	seen := map[string]bool{}
	var firsts []string
	allowed := map[string]bool{}
	for _, w := range want {
		allowed[w] = true
	}
	for _, g := range got {
		if !allowed[g] {
			t.Fatalf("read %q, which was never written", g)
		}
		if !seen[g] {
			seen[g] = true
			firsts = append(firsts, g)
		}
	}
	if strings.Join(firsts, ",") != strings.Join(want, ",") {
		t.Fatalf("lines lost or reordered: %d distinct of %d", len(firsts), len(want))
	}
}

// readAllNow reads what topic holds now (up to its end offset).
func readAllNow(t *testing.T, n *node, topic string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := n.admin().ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(topic, 0)
	if end.Offset == 0 {
		return nil
	}
	return readTopicValues(t, n, topic, int(end.Offset))
}

func waitFileLines(t *testing.T, path string, want []string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d lines, want %d", path, len(got), len(want))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestConnectErrorsDeadLetterQueue: with errors.tolerance=all a sink skips records its
// converter cannot read and writes them, untouched and with __connect.errors.* headers, to the
// dead letter queue; the good ones reach the sink. With the default tolerance the same input
// fails the task, with the error as its trace.
func TestConnectErrorsDeadLetterQueue(t *testing.T) {
	n := startNode(t)
	n.createTopic("mixed", 1, nil)
	cl := n.client()
	var want []string
	for i := range 30 {
		v := fmt.Sprintf(`{"n":%d}`, i)
		if i%7 == 3 {
			v = fmt.Sprintf("not json %d", i)
		} else {
			want = append(want, fmt.Sprintf("map[n:%d]", i))
		}
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "mixed", Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	w := startConnectWorker(t, n, filepath.Join(dir, "offsets.json"), "--override", "offset.flush.interval.ms=300",
		"--override", "value.converter.schemas.enable=false")
	out := filepath.Join(dir, "good.txt")
	w.mustCall("POST", "/connectors", fmt.Sprintf(`{"name":"tolerant","config":{"connector.class":"FileStreamSink","topics":"mixed","file":%q,
		"errors.tolerance":"all","errors.log.enable":"true","errors.deadletterqueue.topic.name":"dlq-mixed",
		"errors.deadletterqueue.context.headers.enable":"true"}}`, out), 201)
	waitFileLines(t, out, want)
	dlq := n.client(kgo.ConsumeTopics("dlq-mixed"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var dead []*kgo.Record
	for len(dead) < 4 { // i%7 == 3 below 30: 3, 10, 17, 24
		fetches := dlq.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of 4 records in the dead letter queue", len(dead))
		}
		fetches.EachRecord(func(r *kgo.Record) { dead = append(dead, r) })
	}
	for i, r := range dead {
		h := map[string]string{}
		for _, x := range r.Headers {
			h[x.Key] = string(x.Value)
		}
		want := 3 + 7*i
		if string(r.Value) != fmt.Sprintf("not json %d", want) || h["__connect.errors.topic"] != "mixed" ||
			h["__connect.errors.offset"] != fmt.Sprint(want) || h["__connect.errors.stage"] != "VALUE_CONVERTER" ||
			h["__connect.errors.connector.name"] != "tolerant" || h["__connect.errors.exception.message"] == "" {
			t.Errorf("dead letter %d: %q %v", i, r.Value, h)
		}
	}

	metrics := w.mustCall("GET", "/metrics", "", 200)
	for _, want := range []string{`sluice_connect_record_errors_total{connector="tolerant",task="0"} 4`,
		`sluice_connect_deadletterqueue_produce_total{connector="tolerant",task="0"} 4`,
		`sluice_connect_sink_record_read_total{connector="tolerant",task="0"} 30`,
		`sluice_connect_sink_record_send_total{connector="tolerant",task="0"} 26`} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}

	w.mustCall("POST", "/connectors", fmt.Sprintf(`{"name":"strict","config":{"connector.class":"FileStreamSink","topics":"mixed","file":%q}}`,
		filepath.Join(dir, "strict.txt")), 201)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, body := w.call("GET", "/connectors/strict/tasks/0/status", "")
		if strings.Contains(body, `"state":"FAILED"`) && strings.Contains(body, "mixed-0@3") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the strict connector's task did not fail on the bad record: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
