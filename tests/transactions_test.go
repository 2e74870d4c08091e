package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// eosProcess is one run of tests/eosapp.
type eosProcess struct {
	cmd       *exec.Cmd
	exited    chan struct{}
	mu        sync.Mutex
	committed int           // the last "committed N" line
	inflight  chan struct{} // receives (without blocking) on each "inflight" line
	received  chan struct{} // closed at the first "received N" line
	holding   chan string   // receives the stage of a "holding STAGE" line
	stderr    *syncBuffer
}

func startEOSApp(t *testing.T, bin string, args ...string) *eosProcess {
	t.Helper()
	return startEOSAppEnv(t, nil, bin, args...)
}

// startEOSAppEnv starts eosapp with env added to the test's environment.
func startEOSAppEnv(t *testing.T, env []string, bin string, args ...string) *eosProcess {
	t.Helper()
	p := &eosProcess{cmd: exec.Command(bin, args...), exited: make(chan struct{}), stderr: &syncBuffer{},
		inflight: make(chan struct{}, 1), received: make(chan struct{}), holding: make(chan string, 1)}
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		receivedOnce := false
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "received ") && !receivedOnce {
				receivedOnce = true
				close(p.received)
			}
			if stage, ok := strings.CutPrefix(sc.Text(), "holding "); ok {
				select {
				case p.holding <- stage:
				default:
				}
			}
			if sc.Text() == "inflight" {
				select {
				case p.inflight <- struct{}{}:
				default:
				}
			}
			if n, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
				v, _ := strconv.Atoi(n)
				p.mu.Lock()
				p.committed = v
				p.mu.Unlock()
			}
		}
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.kill)
	return p
}

func (p *eosProcess) progress() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.committed
}

func (p *eosProcess) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// readValues reads topic from the start at the isolation level until want values arrived
// (then briefly on, to catch any extra) or the deadline passed.
func readValues(t *testing.T, n *node, topic string, isolation kgo.IsolationLevel, want int, deadline time.Duration) []string {
	t.Helper()
	cl := n.client(kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(isolation),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	var got []string
	for ctx.Err() == nil {
		pollCtx := ctx
		if len(got) >= want {
			// Everything expected is here: one more short poll shows any duplicate, since the
			// log is complete (no producer is running).
			var c context.CancelFunc
			pollCtx, c = context.WithTimeout(ctx, time.Second)
			fs := cl.PollFetches(pollCtx)
			c()
			fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
			break
		}
		fs := cl.PollFetches(pollCtx)
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got
}

// TestGroupTransactSessionExactlyOnce: a consume-transform-produce process on franz-go's
// GroupTransactSession is SIGKILLed mid-run and restarted; the output, read read_committed,
// holds every input exactly once.
func TestGroupTransactSessionExactlyOnce(t *testing.T) {
	n := startNode(t)
	n.createTopic("eos-in", 3, nil)
	n.createTopic("eos-out", 3, nil)
	const total = 600
	prod := n.client(kgo.DefaultProduceTopic("eos-in"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for i := range total {
		recs = append(recs, kgo.StringRecord(fmt.Sprintf("v%04d", i)))
	}
	if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	bin := buildEOSApp(t)
	args := []string{n.kafkaAddr, "eos-in", "eos-out", "eos-group", "eos-txn"}
	first := startEOSApp(t, bin, args...)
	waitFor(t, 30*time.Second, "the first run commits some transactions", func() bool {
		return first.progress() >= 60
	}, first)
	// Kill it at the next transaction whose records are in the log but not yet committed.
	select {
	case <-first.inflight: // one that predates the progress check: wait for a fresh one
	default:
	}
	select {
	case <-first.inflight:
	case <-first.exited:
		t.Fatalf("the first run exited\n%s", tail(first.stderr.String(), 20))
	case <-time.After(30 * time.Second):
		t.Fatal("the first run started no further transaction")
	}
	first.kill()

	second := startEOSApp(t, bin, args...)
	out := readValues(t, n, "eos-out", kgo.ReadCommitted(), total, 60*time.Second)
	second.kill()
	missing, dup := exactlyOnce(out, total)
	if len(missing) > 0 || len(dup) > 0 || len(out) != total {
		t.Fatalf("read_committed output: %d records, %d missing (%v), %d duplicated (%v); first run stderr:\n%s\nsecond run stderr:\n%s",
			len(out), len(missing), head(missing), len(dup), head(dup), tail(first.stderr.String(), 20), tail(second.stderr.String(), 20))
	}
	// The killed transaction's records are in the log, aborted: read_uncommitted sees them.
	all := readValues(t, n, "eos-out", kgo.ReadUncommitted(), total+1, 10*time.Second)
	if len(all) <= total {
		t.Fatalf("read_uncommitted sees %d output records: the kill did not land inside a transaction", len(all))
	}
	t.Logf("first run committed %d records before the kill; read_uncommitted sees %d output records (the aborted ones included)", first.progress(), len(all))
}

// buildEOSApp builds tests/eosapp into the test's temporary directory.
func buildEOSApp(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "eosapp")
	if out, err := exec.Command("go", "build", "-o", bin, "./eosapp").CombinedOutput(); err != nil {
		t.Fatalf("build eosapp: %v\n%s", err, out)
	}
	return bin
}

func head(s []string) []string { return s[:min(len(s), 5)] }

// exactlyOnce checks eosapp's output values against its inputs 0 .. total-1: the values
// missing from out and those in it more than once.
func exactlyOnce(out []string, total int) (missing, dup []string) {
	counts := map[string]int{}
	for _, v := range out {
		counts[v]++
	}
	for i := range total {
		v := fmt.Sprintf("out-v%04d", i)
		switch counts[v] {
		case 1:
		case 0:
			missing = append(missing, v)
		default:
			dup = append(dup, v)
		}
	}
	return missing, dup
}

// waitFor polls cond until it holds, failing after timeout (or when the process exits).
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool, p *eosProcess) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-p.exited:
			t.Fatalf("%s: the process exited\n%s", what, tail(p.stderr.String(), 20))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v\n%s", what, timeout, tail(p.stderr.String(), 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConfluentTransactions: librdkafka's transactional producer commits, aborts and commits;
// read_committed consumers see only the committed transactions, read_uncommitted all three,
// also after a broker restart; a new producer with the same transactional id then works.
func TestConfluentTransactions(t *testing.T) {
	requirePython(t, "confluent_kafka")
	n := startNode(t)
	n.createTopic("ck-txn", 2, nil)
	type result struct{ Committed, Uncommitted []string }
	run := func(mode string) result {
		out := runClient(t, 90*time.Second, "", "/usr/bin/python3", "python/confluent_transactions.py", n.kafkaAddr, "ck-txn", "ck-txn-id", mode)
		var r result
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%s: %v\n%s", mode, err, out)
		}
		return r
	}
	want := func(prefixes ...string) []string {
		var out []string
		for _, p := range prefixes {
			for i := range 10 {
				out = append(out, p+strconv.Itoa(i))
			}
		}
		slices.Sort(out)
		return out
	}
	check := func(when string, r result, committed, uncommitted []string) {
		t.Helper()
		if !slices.Equal(r.Committed, committed) {
			t.Fatalf("%s: read_committed saw %v, want %v", when, r.Committed, committed)
		}
		if !slices.Equal(r.Uncommitted, uncommitted) {
			t.Fatalf("%s: read_uncommitted saw %v, want %v", when, r.Uncommitted, uncommitted)
		}
	}
	check("after the transactions", run("produce"), want("a", "c"), want("a", "b", "c"))
	before := describeTxn(t, n, "ck-txn-id")
	n.kill()
	n.start()
	check("after a broker restart", run("verify"), want("a", "c"), want("a", "b", "c"))
	// The coordinator reloaded the id from __transaction_state: same producer id and epoch.
	if after := describeTxn(t, n, "ck-txn-id"); after.ProducerID != before.ProducerID || after.ProducerEpoch != before.ProducerEpoch || after.State != "CompleteCommit" {
		t.Fatalf("transactional id after the restart %+v, before %+v", after, before)
	}
	// The same transactional id again: fenced and re-initialized, three more transactions.
	check("a second producer", run("produce"), want("a", "a", "c", "c"), want("a", "a", "b", "b", "c", "c"))
}

// describeTxn describes a transactional id through kadm (DescribeTransactions).
func describeTxn(t *testing.T, n *node, id string) kadm.DescribedTransaction {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	described, err := n.admin().DescribeTransactions(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := described[id]
	if !ok || d.Err != nil {
		t.Fatalf("describe %s: %+v", id, d)
	}
	return d
}
