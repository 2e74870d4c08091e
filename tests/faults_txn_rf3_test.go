package tests

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testkit"
)

// startRF3Topics starts the proxied cluster of the RF 3 scenarios and creates topics there
// (replication factor 3, min.insync.replicas=2); it waits until each partition has a leader.
func startRF3Topics(t *testing.T, seed int64, partitions int32, topics ...string) *rf3Env {
	t.Helper()
	c := startProxiedCluster(t, 3, rf3Args...)
	adm := kadm.NewClient(c.node(1).client())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	minISR := "2"
	resps, err := adm.CreateTopics(ctx, partitions, 3, map[string]*string{"min.insync.replicas": &minISR}, topics...)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	e := &rf3Env{t: t, c: c, r: rand.New(rand.NewSource(seed)), began: time.Now()}
	for _, topic := range topics {
		e.topic = topic
		for p := range partitions {
			e.waitLeader(p, -1, 30*time.Second)
		}
	}
	e.topic = topics[0]
	return e
}

// txnCoordinator is the node coordinating transactional id txnID.
func (e *rf3Env) txnCoordinator(txnID string) int32 {
	e.t.Helper()
	for _, nd := range e.c.nodes {
		if !nd.running() || nd.paused || nd.isolated {
			continue
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(nd.kafkaAddr))
		if err != nil {
			e.t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp := kadm.NewClient(cl).FindTxnCoordinators(ctx, txnID)
		cancel()
		cl.Close()
		for _, r := range resp {
			if r.Err == nil {
				return r.NodeID
			}
		}
	}
	e.t.Fatalf("no coordinator found for transactional id %s", txnID)
	return -1
}

// TestRF3ReadCommittedAborts: a transactional producer commits two transactions in three and
// aborts the third, while the node coordinating its transactions is SIGKILLed and restarted
// and then the leader of a partition is; two read_committed consumers record what they poll.
// checkHistory, with the records of aborted transactions recorded as failed sends and those
// of committed ones as acknowledged, then shows that no consumer and not the final
// read_committed read saw an aborted record, and that every committed record is there once,
// at the offset it was acknowledged at.
func TestRF3ReadCommittedAborts(t *testing.T) {
	if testing.Short() {
		t.Skip("a fault scenario on three processes")
	}
	t.Parallel()
	seed := faultSeed(t)
	const topic, txnID = "txn-history", "history-txn"
	e := startRF3Topics(t, seed, rf3Partitions, topic)
	c := e.c
	seeds := strings.Split(c.bootstrap(), ",")
	h := &history{}
	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup

	prod, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.TransactionalID(txnID), kgo.DefaultProduceTopic(topic),
		kgo.TransactionTimeout(10*time.Second), kgo.MetadataMinAge(200*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	var committed, aborted, unknown int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for txn := 0; runCtx.Err() == nil; txn++ {
			commit := txn%3 != 2
			if err := prod.BeginTransaction(); err != nil {
				t.Errorf("begin transaction %d: %v", txn, err)
				return
			}
			type sent struct {
				r   *kgo.Record
				err error
			}
			var mu sync.Mutex
			var recs []sent
			var pw sync.WaitGroup
			for i := range 10 {
				pw.Add(1)
				prod.Produce(context.Background(), &kgo.Record{Value: []byte(fmt.Sprintf("t%d-%d", txn, i))}, func(r *kgo.Record, err error) {
					mu.Lock()
					recs = append(recs, sent{r, err})
					mu.Unlock()
					pw.Done()
				})
			}
			pw.Wait()
			produced := true
			for _, s := range recs {
				produced = produced && s.err == nil
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			end := kgo.TryAbort
			if commit && produced {
				end = kgo.TryCommit
			}
			err := prod.EndTransaction(ctx, end)
			cancel()
			for _, s := range recs {
				ev := sendEvent{Producer: "txn", Value: string(s.r.Value), Topic: s.r.Topic, Partition: s.r.Partition, Offset: s.r.Offset}
				switch {
				case err == nil && end == kgo.TryCommit:
					ev.Outcome = sendOK
				case err == nil:
					// Aborted: none of its records may be read read_committed.
					ev.Outcome, ev.Err = sendFailed, "aborted"
				default:
					ev.Outcome, ev.Err = sendUnknown, err.Error()
				}
				h.Send(ev)
			}
			switch {
			case err == nil && end == kgo.TryCommit:
				committed++
			case err == nil:
				aborted++
			default:
				unknown++
				// A failed EndTxn leaves the producer needing an abort (or fenced): start over.
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if aerr := prod.AbortBufferedRecords(ctx); aerr != nil {
					t.Logf("abort buffered records after %v: %v", err, aerr)
				}
				if err := prod.EndTransaction(ctx, kgo.TryAbort); err != nil {
					t.Logf("abort after a failed end of transaction %d: %v", txn, err)
				}
				cancel()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	for i := range 2 {
		name := fmt.Sprintf("c%d", i)
		cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.MetadataMinAge(200*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Close()
			for runCtx.Err() == nil {
				h.recordFranzPolls(name, cl.PollFetches(runCtx))
			}
		}()
	}

	time.Sleep(3 * time.Second)
	co := e.txnCoordinator(txnID)
	e.step("SIGKILL node %d, the transaction coordinator of %s", co, txnID)
	c.node(co).kill()
	time.Sleep(4 * time.Second)
	e.step("restart node %d", co)
	c.node(co).restart()
	c.waitFor("all three brokers unfenced", 60*time.Second, func(v testkit.View) bool { return len(v.Active) == 3 })
	p := e.partition()
	l := e.leader(p)
	e.step("SIGKILL node %d, leader of partition %d", l, p)
	c.node(l).kill()
	e.waitLeader(p, l, 30*time.Second)
	time.Sleep(3 * time.Second)
	e.step("restart node %d", l)
	c.node(l).restart()
	c.waitFor("all three brokers unfenced", 60*time.Second, func(v testkit.View) bool { return len(v.Active) == 3 })
	time.Sleep(3 * time.Second)
	stop()
	wg.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := h.finalReadCommitted(ctx, topic, kgo.SeedBrokers(seeds...)); err != nil {
		t.Fatal(err)
	}
	t.Logf("transactions: %d committed, %d aborted, %d unknown; history: %s", committed, aborted, unknown, h.Counts())
	for _, v := range h.Check() {
		t.Errorf("%v", v)
	}
	if committed < 20 || aborted < 10 {
		t.Errorf("too little happened: %d transactions committed, %d aborted", committed, aborted)
	}
	if t.Failed() {
		t.Logf("seed %d; replay with %s=%d\ncluster logs:\n%s", seed, faultSeedEnv, seed, c.logTails(40))
	}
}

// finalReadCommitted reads every partition of topic from the start, read_committed, into
// h.Final until nothing more comes for 5 s (its end is a transaction marker, so the end offset
// is not a record the read would see).
func (h *history) finalReadCommitted(ctx context.Context, topic string, opts ...kgo.Opt) error {
	cl, err := kgo.NewClient(append(opts, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		pollCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		fs := cl.PollFetches(pollCtx)
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("final read_committed read: %w", ctx.Err())
		}
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			h.Final(pollEvent{Consumer: "final", Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)})
		})
		if n == 0 && pollCtx.Err() != nil {
			return nil
		}
	}
}

// TestRF3ExactlyOnceGroup: a consume-transform-produce process (tests/eosapp, franz-go's
// GroupTransactSession) copies 3000 records while the node coordinating its transactions is
// SIGKILLed and restarted, then the leader of an output partition; if the process gives up it
// is started again. The output, read read_committed, holds each input exactly once.
func TestRF3ExactlyOnceGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("a fault scenario on three processes")
	}
	t.Parallel()
	seed := faultSeed(t)
	const in, out, group, txnID, total = "eos-in", "eos-out", "eos-group", "eos-txn", 3000
	e := startRF3Topics(t, seed, rf3Partitions, in, out)
	c := e.c
	seeds := strings.Split(c.bootstrap(), ",")
	prod := c.node(1).client(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(in))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for i := range total {
		recs = append(recs, kgo.StringRecord(fmt.Sprintf("v%04d", i)))
	}
	if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	bin := buildEOSApp(t)
	var mu sync.Mutex
	var app *eosProcess
	runs := 0
	stopApps := make(chan struct{})
	appsDone := make(chan struct{})
	go func() { // keep one eosapp running, through any bootstrap node
		defer close(appsDone)
		for {
			mu.Lock()
			runs++
			app = startEOSApp(t, bin, seeds[runs%len(seeds)], in, out, group, txnID)
			p := app
			mu.Unlock()
			select {
			case <-stopApps:
				return
			case <-p.exited:
				t.Logf("eosapp run %d exited (%v):\n%s", runs, p.cmd.ProcessState, tail(p.stderr.String(), 10))
				time.Sleep(500 * time.Millisecond)
			}
		}
	}()
	progress := func() int {
		mu.Lock()
		defer mu.Unlock()
		if app == nil {
			return 0
		}
		return app.progress()
	}
	deadline := time.Now().Add(30 * time.Second)
	for progress() < 100 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	co := e.txnCoordinator(txnID)
	e.step("SIGKILL node %d, the transaction coordinator of %s", co, txnID)
	c.node(co).kill()
	time.Sleep(4 * time.Second)
	e.step("restart node %d", co)
	c.node(co).restart()
	c.waitFor("all three brokers unfenced", 60*time.Second, func(v testkit.View) bool { return len(v.Active) == 3 })
	e.topic = out
	p := e.partition()
	l := e.leader(p)
	e.step("SIGKILL node %d, leader of %s partition %d", l, out, p)
	c.node(l).kill()
	e.waitLeader(p, l, 30*time.Second)
	time.Sleep(3 * time.Second)
	e.step("restart node %d", l)
	c.node(l).restart()

	got := readValues(t, c.node(c.other(l)).asNode(), out, kgo.ReadCommitted(), total, 90*time.Second)
	close(stopApps)
	<-appsDone
	missing, dup := exactlyOnce(got, total)
	mu.Lock()
	t.Logf("eosapp runs: %d; output read read_committed: %d records", runs, len(got))
	mu.Unlock()
	if len(missing) > 0 || len(dup) > 0 || len(got) != total {
		t.Errorf("read_committed output: %d records, %d missing (%v), %d duplicated (%v)", len(got), len(missing), head(missing), len(dup), head(dup))
		t.Logf("seed %d; replay with %s=%d\ncluster logs:\n%s", seed, faultSeedEnv, seed, c.logTails(40))
	}
}
