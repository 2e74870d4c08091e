package tests

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/processor"
)

// The streams runtime tests run tests/streamsapp (a stateful count: "COUNT:ID" per input
// record, per key) as separate processes against a real `sluice serve`, feed it records
// whose values are unique ids, and check the output against the recorded input.

var (
	streamsAppOnce sync.Once
	streamsAppBin  string
	streamsAppErr  error
)

func buildStreamsApp(t *testing.T) string {
	t.Helper()
	streamsAppOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-streamsapp")
		if err != nil {
			streamsAppErr = err
			return
		}
		streamsAppBin = filepath.Join(dir, "streamsapp")
		out, err := exec.Command("go", "build", "-o", streamsAppBin, "./streamsapp").CombinedOutput()
		if err != nil {
			streamsAppErr = fmt.Errorf("build streamsapp: %v\n%s", err, out)
		}
	})
	if streamsAppErr != nil {
		t.Fatal(streamsAppErr)
	}
	return streamsAppBin
}

// streamsProc is one run of streamsapp.
type streamsProc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stderr *syncBuffer
	mu     sync.Mutex
	states []string
	exited chan struct{}
}

type streamsAppArgs struct {
	brokers, app, input, output, stateDir string
	eos                                   bool
	commitMS, standbys                    int
	windowMS                              int64 // > 0: the windowed count
	caching                               bool  // the store behind the record cache
}

func startStreamsApp(t *testing.T, name string, a streamsAppArgs) *streamsProc {
	t.Helper()
	args := []string{"-brokers", a.brokers, "-app", a.app, "-input", a.input, "-output", a.output,
		"-state-dir", a.stateDir, "-commit-ms", strconv.Itoa(a.commitMS), "-standbys", strconv.Itoa(a.standbys), "-log", "info"}
	if a.eos {
		args = append(args, "-eos")
	}
	if a.windowMS > 0 {
		args = append(args, "-window-ms", strconv.FormatInt(a.windowMS, 10))
	}
	if a.caching {
		args = append(args, "-caching")
	}
	p := &streamsProc{t: t, name: name, cmd: exec.Command(buildStreamsApp(t), args...), stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if s, ok := strings.CutPrefix(sc.Text(), "state "); ok {
				p.mu.Lock()
				p.states = append(p.states, s)
				p.mu.Unlock()
			}
		}
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGCONT)
		p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, tail(p.stderr.String(), 40))
		}
	})
	return p
}

func (p *streamsProc) state() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.states) == 0 {
		return ""
	}
	return p.states[len(p.states)-1]
}

// waitRunning waits until the app reports RUNNING.
func (p *streamsProc) waitRunning(timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for p.state() != "RUNNING" {
		select {
		case <-p.exited:
			p.t.Fatalf("%s exited: %v\n%s", p.name, p.cmd.ProcessState, tail(p.stderr.String(), 40))
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s not RUNNING after %v (state %q)\n%s", p.name, timeout, p.state(), tail(p.stderr.String(), 40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// term sends SIGTERM and waits for a clean exit.
func (p *streamsProc) term() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(40 * time.Second):
		p.t.Fatalf("%s did not exit within 40s of SIGTERM\n%s", p.name, tail(p.stderr.String(), 40))
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		p.t.Fatalf("%s exited with %d\n%s", p.name, code, tail(p.stderr.String(), 40))
	}
}

func (p *streamsProc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// countInput is one input record: key and id.
type countInput struct{ key, id string }

// countOutput is one output record of the count: key, count, id.
type countOutput struct {
	key   string
	count int
	id    string
}

// countInputTime is the event time of input i: 10 ms apart from a fixed start, so that
// windows are the same in every run.
func countInputTime(i int) time.Time { return time.UnixMilli(countEpoch + int64(i)*10) }

const countEpoch = 1_767_225_600_000 // 2026-01-01T00:00:00Z

// windowed returns the inputs keyed as the windowed count writes them: KEY@WINDOWSTART.
func windowed(in []countInput, size int64) []countInput {
	out := make([]countInput, len(in))
	for i, c := range in {
		id, _ := strconv.Atoi(c.id)
		ts := countInputTime(id).UnixMilli()
		out[i] = countInput{key: c.key + "@" + strconv.FormatInt(ts-ts%size, 10), id: c.id}
	}
	return out
}

// produceCountInput writes n records with ids from first on, keys k0..k(keys-1) in turn,
// and returns them in the order written.
func produceCountInput(t *testing.T, cl *kgo.Client, topic string, first, n, keys int) []countInput {
	t.Helper()
	var in []countInput
	var recs []*kgo.Record
	for i := first; i < first+n; i++ {
		c := countInput{key: fmt.Sprintf("k%d", i%keys), id: strconv.Itoa(i)}
		in = append(in, c)
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(c.key), Value: []byte(c.id), Timestamp: countInputTime(i)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce input: %v", err)
	}
	return in
}

// readCountOutput reads the output topic from its start (read_committed if asked) until
// done says the outputs are complete or the timeout passes.
func readCountOutput(t *testing.T, n *node, topic string, committed bool, timeout time.Duration, done func([]countOutput) bool) []countOutput {
	t.Helper()
	opts := []kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl := n.client(opts...)
	defer cl.Close()
	var outs []countOutput
	deadline := time.Now().Add(timeout)
	for !done(outs) && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			count, id, ok := strings.Cut(string(r.Value), ":")
			c, err := strconv.Atoi(count)
			if !ok || err != nil {
				t.Errorf("output %q: not COUNT:ID", r.Value)
				return
			}
			outs = append(outs, countOutput{key: string(r.Key), count: c, id: id})
		})
	}
	return outs
}

// countsDone reports whether every key's largest count reached its number of inputs.
func countsDone(in []countInput) func([]countOutput) bool {
	want := map[string]int{}
	for _, c := range in {
		want[c.key]++
	}
	return func(outs []countOutput) bool {
		got := map[string]int{}
		for _, o := range outs {
			got[o.key] = max(got[o.key], o.count)
		}
		for k, n := range want {
			if got[k] < n {
				return false
			}
		}
		return true
	}
}

// checkCountsExact checks exactly-once: each key's outputs, in order, are the counts 1..n
// with the ids of its inputs in input order.
func checkCountsExact(t *testing.T, in []countInput, outs []countOutput) {
	t.Helper()
	want := map[string][]string{}
	for _, c := range in {
		want[c.key] = append(want[c.key], c.id)
	}
	got := map[string][]countOutput{}
	for _, o := range outs {
		got[o.key] = append(got[o.key], o)
	}
	bad := 0
	for k, ids := range want {
		g := got[k]
		if len(g) != len(ids) {
			t.Errorf("key %s: %d outputs for %d inputs", k, len(g), len(ids))
			bad++
		}
		for i := range min(len(g), len(ids)) {
			if g[i].count != i+1 || g[i].id != ids[i] {
				t.Errorf("key %s: output %d is %d:%s, want %d:%s", k, i, g[i].count, g[i].id, i+1, ids[i])
				if bad++; bad > 10 {
					return
				}
				break
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("outputs for %d keys, inputs for %d", len(got), len(want))
	}
}

// checkCountsAtLeastOnce checks at-least-once: every input id appears in its key's output
// and each key's largest count is at least its number of inputs.
func checkCountsAtLeastOnce(t *testing.T, in []countInput, outs []countOutput) {
	t.Helper()
	seen := map[countInput]bool{}
	maxCount := map[string]int{}
	for _, o := range outs {
		seen[countInput{o.key, o.id}] = true
		maxCount[o.key] = max(maxCount[o.key], o.count)
	}
	want := map[string]int{}
	missing := 0
	for _, c := range in {
		want[c.key]++
		if !seen[c] {
			if missing++; missing <= 5 {
				t.Errorf("input %s:%s never counted", c.key, c.id)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d inputs never counted", missing, len(in))
	}
	for k, n := range want {
		if maxCount[k] < n {
			t.Errorf("key %s: largest count %d < %d inputs", k, maxCount[k], n)
		}
	}
}

// runStreamsApp runs an App of topo under cfg in the test process until the test ends (ctx
// done or cleanup), and fails the test if Run returns an error.
func runStreamsApp(t *testing.T, ctx context.Context, topo *processor.Topology, cfg streams.Config) *streams.App {
	t.Helper()
	app, err := streams.NewApp(topo, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return app
}
