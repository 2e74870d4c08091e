package tests

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// restartStallBound is how long a restarted GroupTransactSession may wait for its first
// records. It is well under the session's transaction timeout (10 s in eosapp): a restart
// that waits longer waited for the abandoned transaction to time out.
const restartStallBound = 4 * time.Second

// TestGroupTransactSessionRestartUnderLoad: under CPU load on every core, a
// consume-transform-produce process on franz-go's GroupTransactSession is SIGKILLed in the
// middle of a transaction — after its records were acknowledged, or after its
// TxnOffsetCommit was answered but before EndTxn — and restarted with the same
// transactional id, group and instance id, ten times. Every restart receives records again
// within restartStallBound, and at the end the output, read read_committed, holds every
// input exactly once.
//
// Why a kill after TxnOffsetCommit used to stall a restart for 13–20 s: the new session
// fetches its offsets with require_stable before it ever sends InitProducerId (franz-go
// initializes the producer id at the first Begin, once it has records); the killed
// transaction's offsets were pending, so OffsetFetch answered UNSTABLE_OFFSET_COMMIT (retried
// every second) until the timeout sweep aborted the transaction: 10 s of transaction timeout
// plus up to 10 s of cleanup interval. The broker now aborts a transaction whose offsets were
// committed by a member that left or whose static instance was taken over
// (group.TxnAborter), so the restart waits only for its join.
func TestGroupTransactSessionRestartUnderLoad(t *testing.T) {
	n := startNode(t)
	n.createTopic("rs-in", 3, nil)
	n.createTopic("rs-out", 3, nil)
	const total = 600
	prod := n.client(kgo.DefaultProduceTopic("rs-in"))
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
	args := []string{n.kafkaAddr, "rs-in", "rs-out", "rs-group", "rs-txn"}

	loadCPU(t, 90*time.Second)
	const restarts = 10
	var waits []time.Duration
	for i := range restarts + 1 {
		stage := []string{"produced", "offsets"}[i%2]
		began := time.Now()
		p := startEOSAppEnv(t, []string{"EOSAPP_HOLD=" + stage, "EOSAPP_LOG=info"}, bin, args...)
		select {
		case <-p.received:
		case <-p.exited:
			t.Fatalf("run %d exited\n%s", i, tail(p.stderr.String(), 40))
		case <-time.After(25 * time.Second): // the transaction timeout and a cleanup interval
			t.Fatalf("run %d received nothing in 25s\n%s", i, tail(p.stderr.String(), 40))
		}
		waited := time.Since(began)
		waits = append(waits, waited)
		if i > 0 && waited > restartStallBound { // one is enough: stop, so a failing run stays short
			t.Fatalf("restart %d (after a kill at %q) waited %v for records (bound %v); its franz-go log:\n%s",
				i, []string{"produced", "offsets"}[(i-1)%2], waited.Round(time.Millisecond), restartStallBound, tail(p.stderr.String(), 60))
		}
		select {
		case got := <-p.holding:
			if got != stage {
				t.Fatalf("run %d held at %q, want %q", i, got, stage)
			}
		case <-p.exited:
			t.Fatalf("run %d exited\n%s", i, tail(p.stderr.String(), 40))
		case <-time.After(30 * time.Second):
			t.Fatalf("run %d did not reach its kill point %q\n%s", i, stage, tail(p.stderr.String(), 40))
		}
		p.kill()
	}
	t.Logf("time from start to first records: first run %v, restarts %v", waits[0].Round(time.Millisecond), roundAll(waits[1:]))

	final := startEOSApp(t, bin, args...)
	out := readValues(t, n, "rs-out", kgo.ReadCommitted(), total, 60*time.Second)
	final.kill()
	missing, dup := exactlyOnce(out, total)
	if len(missing) > 0 || len(dup) > 0 || len(out) != total {
		t.Fatalf("read_committed output: %d records, %d missing (%v), %d duplicated (%v); final run stderr:\n%s",
			len(out), len(missing), head(missing), len(dup), head(dup), tail(final.stderr.String(), 20))
	}
}

// loadCPU keeps every core busy with spinning goroutines until the test ends or limit
// passes, so the broker and the clients run under CPU contention.
func loadCPU(t *testing.T, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	for range runtime.NumCPU() {
		go func() {
			x := 0
			for ctx.Err() == nil {
				for i := range 1 << 16 {
					x += i
				}
			}
			_ = x
		}()
	}
}

func roundAll(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Round(time.Millisecond).String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}
