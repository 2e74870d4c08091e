package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/cli with the current output")

// cliResult is one run of the sluice binary as a client.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runSluice runs the built binary with SLUICE_BROKERS pointing at n.
func runSluice(t *testing.T, n *node, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sluiceBin, args...)
	cmd.Env = append(os.Environ(), "SLUICE_BROKERS="+n.kafkaAddr)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("sluice %s: %v", strings.Join(args, " "), err)
	}
	return res
}

var (
	clusterIDLine = regexp.MustCompile(`(Cluster ID: |"cluster_id": ")[A-Za-z0-9_-]+`)
	topicID       = regexp.MustCompile(`[A-Za-z0-9_+/-]{22}==`)
	jsonTimestamp = regexp.MustCompile(`"timestamp":\d+`)
	columnGap     = regexp.MustCompile(`(\S) {2,}`)
)

// maskOutput replaces what changes between runs (ports, ids, timestamps, paths) with
// placeholders. Masking changes widths, so when anything was masked every column gap (two or
// more spaces after text; indentation is kept) is collapsed to two spaces.
func maskOutput(n *node, s string) string {
	_, port, _ := net.SplitHostPort(n.kafkaAddr)
	lines := strings.Split(s, "\n")
	anyMasked := false
	for i, line := range lines {
		masked := strings.NewReplacer(n.dataDir, "<DATA-DIR>", n.kafkaAddr, "<KAFKA-ADDR>", n.httpAddr, "<HTTP-ADDR>",
			n.controllerAddr, "<CONTROLLER-ADDR>").Replace(line)
		masked = regexp.MustCompile(`\b`+port+`\b`).ReplaceAllString(masked, "<PORT>")
		masked = clusterIDLine.ReplaceAllString(masked, "${1}<CLUSTER-ID>")
		masked = topicID.ReplaceAllString(masked, "<TOPIC-ID>")
		masked = jsonTimestamp.ReplaceAllString(masked, `"timestamp":<TIMESTAMP>`)
		anyMasked = anyMasked || masked != line
		lines[i] = masked
	}
	out := strings.Join(lines, "\n")
	if anyMasked {
		out = collapseGaps(out)
	}
	return out
}

func collapseGaps(s string) string {
	return columnGap.ReplaceAllString(s, "${1}  ")
}

// checkGolden compares got with testdata/cli/name.txt, or rewrites it under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "cli", name+".txt")
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./tests -run TestCLI -update` to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

// cliStep is one command of TestCLI, run in order against one broker.
type cliStep struct {
	name  string
	args  []string
	stdin string
	// golden compares masked stdout with testdata/cli/<name>.txt.
	golden bool
	// stdout and stderr must contain these (after masking and collapsing column gaps).
	stdout, stderr []string
	// wantFail expects a non-zero exit.
	wantFail bool
}

// TestCLI drives every client command against a real broker and checks text output
// against golden files.
func TestCLI(t *testing.T) {
	n := startNode(t)
	tmpl := "{{.Topic}}/{{.Partition}}@{{.Offset}} {{.Key}}={{.Value}}{{range .Headers}} [{{.Key}}:{{.Value}}]{{end}}"
	steps := []cliStep{
		{name: "cluster_info", args: []string{"cluster", "info"}, golden: true},
		{name: "cluster_info_json", args: []string{"cluster", "info", "--format", "json"}, golden: true},
		{name: "cluster_config", args: []string{"cluster", "config"},
			stdout: []string{"CONFIG  VALUE  SOURCE", "num.partitions  1  ", "log.retention.ms  "}},
		{name: "topic_create", args: []string{"topic", "create", "cli-orders", "-p", "3", "-r", "1", "-c", "retention.ms=86400000", "-c", "max.message.bytes=2000000"}, golden: true},
		{name: "topic_create_again", args: []string{"topic", "create", "cli-orders", "-p", "3"}, wantFail: true,
			stderr: []string{"create topic cli-orders: TOPIC_ALREADY_EXISTS"}},
		{name: "topic_create_if_not_exists", args: []string{"topic", "create", "cli-orders", "-p", "3", "--if-not-exists"},
			stdout: []string{"topic cli-orders already exists"}},
		{name: "topic_create_bad_config", args: []string{"topic", "create", "cli-bad", "-c", "retention.ms"}, wantFail: true,
			stderr: []string{`--config "retention.ms": expected key=value`}},
		{name: "produce_keyed", args: []string{"produce", "cli-orders", "-K", ":", "-H", "source=cli", "-H", "trace=7", "-p", "1"},
			stdin: "k1:first\nk2:second:with:colons\nno key here\n", stderr: []string{"produced 3 records to cli-orders"}},
		{name: "produce_gzip_acks1", args: []string{"produce", "cli-orders", "-p", "2", "-z", "gzip", "--acks", "1"},
			stdin: "alpha\nbeta\n", stderr: []string{"produced 2 records to cli-orders"}},
		{name: "produce_bad_acks", args: []string{"produce", "cli-orders", "--acks", "2"}, wantFail: true,
			stderr: []string{`--acks "2": use 0, 1 or all`}},
		{name: "consume_start", args: []string{"consume", "cli-orders", "-o", "start", "-n", "3", "-p", "1", "-t", tmpl}, golden: true},
		{name: "consume_offset", args: []string{"consume", "cli-orders", "-o", "1", "-n", "2", "-p", "1"}, golden: true},
		{name: "consume_timestamp", args: []string{"consume", "cli-orders", "-o", "@0", "-n", "2", "-p", "2", "--isolation", "read_committed"}, golden: true},
		{name: "consume_json", args: []string{"consume", "cli-orders", "-o", "start", "-n", "1", "-p", "1", "--format", "json"}, golden: true},
		{name: "consume_bad_offset", args: []string{"consume", "cli-orders", "-o", "latest"}, wantFail: true,
			stderr: []string{`--offset "latest": use start, end`}},
		{name: "consume_missing_topic", args: []string{"consume", "cli-nosuch", "-o", "start", "-n", "1"}, wantFail: true,
			stderr: []string{"topic cli-nosuch: UNKNOWN_TOPIC_OR_PARTITION", "sluice topic create cli-nosuch"}},
		{name: "consume_missing_partition", args: []string{"consume", "cli-orders", "-p", "9"}, wantFail: true,
			stderr: []string{"topic cli-orders has no partition 9 (it has 3"}},
		{name: "produce_missing_topic", args: []string{"produce", "cli-nosuch"}, stdin: "x\n", wantFail: true,
			stderr: []string{"UNKNOWN_TOPIC_OR_PARTITION", "sluice topic create cli-nosuch"}},
		{name: "topic_list", args: []string{"topic", "list"}, golden: true},
		{name: "topic_describe", args: []string{"topic", "describe", "cli-orders"}, golden: true},
		{name: "topic_alter_config", args: []string{"topic", "alter-config", "cli-orders", "--set", "retention.ms=3600000", "--delete", "max.message.bytes"}, golden: true},
		{name: "topic_describe_altered", args: []string{"topic", "describe", "cli-orders"},
			stdout: []string{"retention.ms  3600000  DYNAMIC_TOPIC_CONFIG", "max.message.bytes  1048588  DEFAULT_CONFIG"}},
		{name: "topic_add_partitions", args: []string{"topic", "add-partitions", "cli-orders", "-n", "2"}, golden: true},
		{name: "topic_list_json", args: []string{"topic", "list", "--format", "json"}, golden: true},
		{name: "topic_delete", args: []string{"topic", "delete", "cli-orders"}, golden: true},
		{name: "topic_describe_deleted", args: []string{"topic", "describe", "cli-orders"}, wantFail: true,
			stderr: []string{"topic cli-orders: UNKNOWN_TOPIC_OR_PARTITION", "sluice topic list"}},
		{name: "topic_list_empty", args: []string{"topic", "list"}, golden: true},
		// -g commits exactly the records printed: a second member of the group goes on from there.
		{name: "group_topic", args: []string{"topic", "create", "cli-grouped", "-p", "1"}, stdout: []string{"created topic cli-grouped"}},
		{name: "group_produce", args: []string{"produce", "cli-grouped"}, stdin: "a\nb\nc\nd\n", stderr: []string{"produced 4 records"}},
		{name: "consume_group_first", args: []string{"consume", "cli-grouped", "-g", "cli-group", "-o", "start", "-n", "2", "-t", "{{.Offset}} {{.Value}}"}, golden: true},
		{name: "consume_group_next", args: []string{"consume", "cli-grouped", "-g", "cli-group", "-o", "start", "-n", "1", "-t", "{{.Offset}} {{.Value}}"}, golden: true},
		{name: "consume_group_with_partition", args: []string{"consume", "cli-grouped", "-g", "cli-group", "-p", "0"}, wantFail: true,
			stderr: []string{"-p cannot be combined with -g"}},
		// The group commands on the group the steps above left Empty at offset 3 of 4.
		{name: "group_list", args: []string{"group", "list"}, golden: true},
		{name: "group_list_json", args: []string{"group", "list", "--format", "json"}, golden: true},
		{name: "group_describe", args: []string{"group", "describe", "cli-group"}, golden: true},
		{name: "group_describe_json", args: []string{"group", "describe", "cli-group", "--format", "json"}, golden: true},
		{name: "group_lag", args: []string{"group", "lag", "cli-group"}, golden: true},
		{name: "group_describe_missing", args: []string{"group", "describe", "cli-nosuch-group"}, wantFail: true,
			stderr: []string{"describe group cli-nosuch-group: GROUP_ID_NOT_FOUND", "sluice group list"}},
		{name: "group_seek_dry_run", args: []string{"group", "seek", "cli-group", "--to", "start", "--dry-run"}, golden: true},
		{name: "group_lag_after_dry_run", args: []string{"group", "lag", "cli-group"}, stdout: []string{"cli-grouped  0  3  4  1", "Total lag: 1"}},
		{name: "group_seek_start", args: []string{"group", "seek", "cli-group", "--to", "start"}, golden: true},
		{name: "group_lag_after_seek", args: []string{"group", "lag", "cli-group"}, stdout: []string{"cli-grouped  0  0  4  4", "Total lag: 4"}},
		{name: "consume_group_after_seek", args: []string{"consume", "cli-grouped", "-g", "cli-group", "-n", "1", "-t", "{{.Offset}} {{.Value}}"}, stdout: []string{"0 a"}},
		{name: "group_seek_offset_clamped", args: []string{"group", "seek", "cli-group", "--to", "99"}, stdout: []string{"cli-grouped  0  1  4", "moved group cli-group to 99 on 1 partition"}},
		{name: "group_seek_timestamp", args: []string{"group", "seek", "cli-group", "--to", "@0", "--format", "json"}, stdout: []string{`"current": 4`, `"new": 0`, `"committed": true`}},
		{name: "group_seek_new_group", args: []string{"group", "seek", "cli-other", "--topic", "cli-grouped", "--to", "end"}, golden: true},
		{name: "group_seek_no_offsets", args: []string{"group", "seek", "cli-empty", "--to", "start"}, wantFail: true,
			stderr: []string{"group cli-empty has no committed offsets: name the topics to move with --topic"}},
		{name: "group_seek_missing_topic", args: []string{"group", "seek", "cli-group", "--topic", "cli-nosuch", "--to", "end"}, wantFail: true,
			stderr: []string{"topic cli-nosuch", "sluice topic create cli-nosuch"}},
		{name: "group_seek_bad_to", args: []string{"group", "seek", "cli-group", "--to", "yesterday"}, wantFail: true,
			stderr: []string{`--to "yesterday": use start, end, an offset (0 or more) or @TIMESTAMP`}},
		{name: "group_delete", args: []string{"group", "delete", "cli-group", "cli-other"}, golden: true},
		{name: "group_delete_missing", args: []string{"group", "delete", "cli-group"}, wantFail: true,
			stderr: []string{"delete group cli-group: GROUP_ID_NOT_FOUND", "sluice group list"}},
		{name: "group_list_empty", args: []string{"group", "list"}, golden: true},
		{name: "unreachable", args: []string{"topic", "list", "--brokers", "127.0.0.1:1", "--timeout", "3s"}, wantFail: true,
			stderr: []string{"cannot reach a broker at 127.0.0.1:1", "--brokers (or SLUICE_BROKERS)"}},
	}
	for _, step := range steps {
		if !t.Run(step.name, func(t *testing.T) { runCLIStep(t, n, step) }) {
			t.FailNow() // later steps build on earlier ones
		}
	}
}

func runCLIStep(t *testing.T, n *node, step cliStep) {
	res := runSluice(t, n, step.stdin, step.args...)
	if failed := res.code != 0; failed != step.wantFail {
		t.Fatalf("sluice %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(step.args, " "), res.code, res.stdout, res.stderr)
	}
	stdout := maskOutput(n, res.stdout)
	if step.golden {
		checkGolden(t, step.name, stdout)
	}
	collapsed := collapseGaps(stdout)
	for _, want := range step.stdout {
		if !strings.Contains(collapsed, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, want := range step.stderr {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	}
}

// TestCLIGroupWithMembers checks the group commands against a group with a live member: describe
// shows the member and its assignment, seek and delete refuse with a message that says what to
// do, and seek works once the member has left.
func TestCLIGroupWithMembers(t *testing.T) {
	n := startNode(t)
	n.createTopic("cli-live", 2, nil)
	member := n.client(kgo.ConsumerGroup("cli-live-group"), kgo.ConsumeTopics("cli-live"), kgo.ClientID("cli-live-member"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	awaitGroup(t, n, "cli-live-group", 1, 30*time.Second)
	steps := []cliStep{
		{name: "list_stable", args: []string{"group", "list"}, stdout: []string{"cli-live-group  classic  Stable  consumer"}},
		{name: "describe_member", args: []string{"group", "describe", "cli-live-group"},
			stdout: []string{"State: Stable", "Protocol type: consumer", "Members: 1", "cli-live-member", "cli-live:0,1", "cli-live  0  -  0  -  "}},
		{name: "seek_refused", args: []string{"group", "seek", "cli-live-group", "--to", "start", "--topic", "cli-live"}, wantFail: true,
			stderr: []string{"group cli-live-group has 1 active members (state Stable)", "stop its consumers", "sluice group describe cli-live-group"}},
		{name: "delete_refused", args: []string{"group", "delete", "cli-live-group"}, wantFail: true,
			stderr: []string{"delete group cli-live-group: NON_EMPTY_GROUP", "stop its consumers"}},
	}
	for _, step := range steps {
		if !t.Run(step.name, func(t *testing.T) { runCLIStep(t, n, step) }) {
			t.FailNow()
		}
	}
	member.Close() // leaves the group
	runCLIStep(t, n, cliStep{name: "seek_after_leave", args: []string{"group", "seek", "cli-live-group", "--to", "start", "--topic", "cli-live"},
		stdout: []string{"cli-live  0  -  0", "cli-live  1  -  0", "moved group cli-live-group to start on 2 partitions"}})
}

// TestCLIBench runs the bench modes briefly against a real broker and checks what they report
// (counts and the presence of latencies, never their values).
func TestCLIBench(t *testing.T) {
	n := startNode(t)
	compact := "compact"
	n.createTopic("bench-kv", 1, map[string]*string{"cleanup.policy": &compact}) // refuses keyless records
	type latency struct{ P50, Max *float64 }
	cases := []struct {
		name  string
		args  []string
		check func(t *testing.T, out map[string]json.RawMessage)
	}{
		{name: "e2e", args: []string{"bench", "e2e", "--topic", "bench-e2e", "--partitions", "2", "--record-bytes", "100", "--num-records", "300", "--throughput", "3000", "--acks", "1"},
			check: func(t *testing.T, out map[string]json.RawMessage) {
				wantJSON(t, out, "records", "300")
				wantJSON(t, out, "errors", "0")
				wantJSON(t, out, "bytes", "30000")
			}},
		{name: "produce_keyed", args: []string{"bench", "produce", "--topic", "bench-kv", "--keys", "10", "--record-bytes", "100", "--num-records", "200"},
			check: func(t *testing.T, out map[string]json.RawMessage) {
				wantJSON(t, out, "records", "200")
				wantJSON(t, out, "errors", "0")
				wantJSON(t, out, "bytes", "21000") // 200 × (100-byte value + 5-byte key "key-N")
			}},
		{name: "rebalance", args: []string{"bench", "rebalance", "--topic", "bench-rebalance", "--partitions", "4", "--members", "2", "--rounds", "1", "--heartbeat-interval", "100ms", "--balancer", "eager"},
			check: func(t *testing.T, out map[string]json.RawMessage) {
				wantJSON(t, out, "members", "2")
				wantJSON(t, out, "partitions", "4")
				for _, k := range []string{"leave_ms", "join_ms"} {
					var l latency
					if err := json.Unmarshal(out[k], &l); err != nil || l.P50 == nil || l.Max == nil {
						t.Errorf("%s: %s (%v)", k, out[k], err)
					}
				}
			}},
		{name: "commit", args: []string{"bench", "commit", "--topic", "bench-commit", "--partitions", "3", "--parallel", "4", "--num-commits", "40"},
			check: func(t *testing.T, out map[string]json.RawMessage) {
				wantJSON(t, out, "commits", "40")
				wantJSON(t, out, "errors", "0")
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := runSluice(t, n, "", append(tc.args, "--json")...)
			if res.code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
			}
			var out map[string]json.RawMessage
			if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
				t.Fatalf("stdout is not one JSON object: %v\n%s", err, res.stdout)
			}
			tc.check(t, out)
		})
	}
	// The commits of the commit run are visible to the group commands.
	res := runSluice(t, n, "", "group", "list")
	if !strings.Contains(res.stdout, "sluice-bench-commit-") {
		t.Errorf("group list lacks the bench commit group:\n%s", res.stdout)
	}
}

func wantJSON(t *testing.T, out map[string]json.RawMessage, key, want string) {
	t.Helper()
	if got := string(out[key]); got != want {
		t.Errorf("%s = %s, want %s", key, got, want)
	}
}
