package tests

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFaultScheduleSchedules checks what a schedule is made of: the same seed gives the same
// schedule, every fault is healed within the duration, and an Exactly kind is there exactly.
func TestFaultScheduleSchedules(t *testing.T) {
	t.Parallel()
	kinds := func() []faultKind {
		nop := func() error { return nil }
		return []faultKind{
			{Name: "a", Weight: 3, Plan: func(r *rand.Rand) (string, func() error, func() error, time.Duration) {
				d := randDur(r, 100*time.Millisecond, 2*time.Second)
				return d.String(), nop, nop, d
			}},
			{Name: "b", Weight: 1, Plan: func(*rand.Rand) (string, func() error, func() error, time.Duration) { return "", nop, nil, 0 }},
			{Name: "once", Exactly: 1, Plan: func(*rand.Rand) (string, func() error, func() error, time.Duration) { return "", nop, nil, 0 }},
		}
	}
	for seed := int64(1); seed <= 50; seed++ {
		s := newFaultSchedule(seed, 10*time.Second, 200*time.Millisecond, time.Second, kinds())
		if again := newFaultSchedule(seed, 10*time.Second, 200*time.Millisecond, time.Second, kinds()); again.String() != s.String() {
			t.Fatalf("seed %d gave two schedules:\n%s\n%s", seed, s, again)
		}
		once, opened := 0, 0
		for i, st := range s.Steps {
			if st.At > s.Dur {
				t.Fatalf("seed %d: step %d at %v, after %v\n%s", seed, i, st.At, s.Dur, s)
			}
			switch {
			case st.What == "once: ":
				once++
			case len(st.What) > 3 && st.What[:3] == "a: ":
				opened++
			case st.What == "heal a":
				opened--
			}
			if opened < 0 || opened > 1 {
				t.Fatalf("seed %d: faults overlap or heal before they start\n%s", seed, s)
			}
		}
		if once != 1 || opened != 0 || len(s.Steps) < 4 {
			t.Fatalf("seed %d: %d once-faults, %d not healed, %d steps\n%s", seed, once, opened, len(s.Steps), s)
		}
	}
}

// TestFaultScheduleHistory drives idempotent franz-go producers (acks=all) and consumers
// through a faultNet to one `sluice serve` under a seeded schedule of connection resets,
// delays, held Produce responses, black holes, refused connections, SIGSTOP and one SIGKILL
// and restart; after the faults heal, a final read of every partition must pass checkHistory.
func TestFaultScheduleHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a ~30 s fault schedule")
	}
	t.Parallel()
	seed := faultSeed(t)
	n := startNode(t)
	const topic = "history"
	n.createTopic(topic, 3, nil)
	p := startFaultNet(t, n.kafkaAddr)
	proxies := map[string]*faultNet{n.kafkaAddr: p}

	proc := &countingProc{faultProc: singleProc{n}}
	kinds := append(proxyKinds(p), procPauseKind(proc, 1, 300*time.Millisecond, 1500*time.Millisecond), procKillRestartKind(proc, 1))
	sched := newFaultSchedule(seed, 25*time.Second, 300*time.Millisecond, 1500*time.Millisecond, kinds)
	runHistoryWorkload(t, seed, sched, historyWorkload{bootstrap: n.kafkaAddr, topic: topic, partitions: 3, proxies: proxies})
	if proc.kills.Load() != 1 {
		t.Errorf("%d SIGKILLs, want 1", proc.kills.Load())
	}
}

// TestFaultScheduleHistoryCluster is the same on the three-process cluster, a proxy in front of
// each node, topics with replication factor 1 (replicated partitions do not move their high
// watermark until #13): faults on random nodes, one node SIGKILLed and restarted.
func TestFaultScheduleHistoryCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a ~25 s fault schedule on three processes")
	}
	t.Parallel()
	seed := faultSeed(t)
	c := startProcCluster(t, 3)
	const topic, partitions = "history", 6
	adm := kadm.NewClient(c.node(1).client())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatal(err)
	}
	proxies := make(map[string]*faultNet)
	var ps []*faultNet
	var pauses, kills []faultKind
	var counting []*countingProc
	for _, nd := range c.nodes {
		p := startFaultNet(t, nd.kafkaAddr)
		proxies[nd.kafkaAddr] = p
		ps = append(ps, p)
		cp := &countingProc{faultProc: clusterProc{nd}}
		counting = append(counting, cp)
		pauses = append(pauses, procPauseKind(cp, 1, 300*time.Millisecond, 1500*time.Millisecond))
		kills = append(kills, procKillRestartKind(cp, 1))
	}
	kinds := append(proxyKinds(ps...), anyOfKind("pause", 2, 0, pauses), anyOfKind("kill", 0, 1, kills))
	sched := newFaultSchedule(seed, 20*time.Second, 300*time.Millisecond, 1500*time.Millisecond, kinds)
	runHistoryWorkload(t, seed, sched, historyWorkload{bootstrap: c.bootstrap(), topic: topic, partitions: partitions, proxies: proxies})
	var killed int64
	for _, cp := range counting {
		killed += cp.kills.Load()
	}
	if killed != 1 {
		t.Errorf("%d SIGKILLs, want 1", killed)
	}
	if t.Failed() {
		t.Logf("cluster logs:\n%s", c.logTails(30))
	}
}

// proxyKinds is the proxy faults of these tests, each on one of ps picked by the seed; reset,
// delay and hold happen at least once each.
func proxyKinds(ps ...*faultNet) []faultKind {
	const lo, hi = 300 * time.Millisecond, 2 * time.Second
	delay := func(r *rand.Rand) faultRule {
		return delayRule([]faultDir{anyDir, toBroker, toClient}[r.Intn(3)], anyAPI, randDur(r, 10*time.Millisecond, 300*time.Millisecond))
	}
	hold := func(*rand.Rand) faultRule { return holdRule(toClient, 0) }
	blackHole := func(r *rand.Rand) faultRule {
		return blackHoleRule([]faultDir{anyDir, toBroker, toClient}[r.Intn(3)], anyAPI)
	}
	var resets, delays, holds, holes, refusals []faultKind
	for _, p := range ps {
		resets = append(resets, proxyResetKind(p, 1))
		delays = append(delays, proxyRuleKind(p, "delay", 1, lo, hi, delay))
		holds = append(holds, proxyRuleKind(p, "hold", 1, lo, hi, hold))
		holes = append(holes, proxyRuleKind(p, "black-hole", 1, lo, 1500*time.Millisecond, blackHole))
		refusals = append(refusals, proxyRefuseKind(p, 1, lo, 1500*time.Millisecond))
	}
	return []faultKind{
		anyOfKind("reset", 3, 1, resets),
		anyOfKind("delay", 3, 1, delays),
		anyOfKind("hold", 3, 1, holds),
		anyOfKind("black-hole", 1, 0, holes),
		anyOfKind("refuse", 1, 0, refusals),
	}
}

// historyWorkload is what runHistoryWorkload drives: producers and consumers of one topic
// whose connections to the brokers (by advertised address) go through proxies.
type historyWorkload struct {
	bootstrap  string // comma-separated, the brokers' own addresses
	topic      string
	partitions int32
	proxies    map[string]*faultNet // routes for faultDialer (none: the advertised addresses are proxies)
	// status are proxies whose counters are logged (the routes' when empty).
	status []*faultNet
	// faults, when set, is run instead of a schedule (sched is then nil): a scripted scenario.
	faults func()
	// patient: producer p1 waits up to 30 s for a produce answer (the default waits ~3 s), so
	// that its requests are still waiting when a paused leader resumes (a zombie's late writes).
	patient bool
	// minAcked is how many acknowledged sends the run must have (0: 1000).
	minAcked int
	// noResets: the run need not have reset a connection (scripted scenarios).
	noResets bool
	// h, when set, is the history to record into (so that faults can record sends of their own).
	h *history
}

// runHistoryWorkload runs two idempotent producers (acks=all) and two consumers (each reading
// every partition from the start) through w.proxies while sched runs, heals, flushes, reads
// every partition from the start straight from the brokers and fails the test on any
// violation checkHistory reports or if too little happened.
func runHistoryWorkload(t *testing.T, seed int64, sched *faultSchedule, w historyWorkload) {
	t.Helper()
	if len(w.status) == 0 {
		for _, p := range w.proxies {
			w.status = append(w.status, p)
		}
	}
	if sched != nil {
		sched.Status = func() string {
			var parts []string
			for _, p := range w.status {
				parts = append(parts, fmt.Sprintf("[%s → %s] %s; in flight: %s", p.Addr(), p.target(), p.Stats(), p.Pending()))
			}
			sort.Strings(parts)
			return strings.Join(parts, "\n    ")
		}
		t.Logf("schedule %s", sched)
	}

	h := w.h
	if h == nil {
		h = &history{}
	}
	seeds := strings.Split(w.bootstrap, ",")
	clientOpts := []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.Dialer(faultDialer(w.proxies)),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
		// After a lost connection franz-go waits for a metadata refresh, by default at most
		// every 5 s: clients would sit out most faults.
		kgo.MetadataMinAge(200 * time.Millisecond),
		// A black-holed request is given up after ~3 s, not Kafka's 30 s.
		kgo.RequestTimeoutOverhead(2 * time.Second), kgo.ProduceRequestTimeout(time.Second),
	}
	runCtx, stopClients := context.WithCancel(context.Background())
	defer stopClients()
	// Records buffered when the run stops still go out, until a minute after it: then a
	// producer blocked on a full buffer (a partition that stays unavailable) gives up.
	produceCtx, stopProducing := context.WithCancel(context.Background())
	defer stopProducing()
	go func() {
		<-runCtx.Done()
		select {
		case <-time.After(60 * time.Second):
		case <-produceCtx.Done():
		}
		stopProducing()
	}()
	var producers, consumers sync.WaitGroup
	for i := range 2 {
		name := fmt.Sprintf("p%d", i)
		opts := append(clientOpts, kgo.DefaultProduceTopic(w.topic), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.MaxBufferedRecords(500))
		if w.patient && i == 1 {
			opts = append(opts, kgo.ProduceRequestTimeout(20*time.Second), kgo.RequestTimeoutOverhead(10*time.Second))
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		producers.Add(1)
		go func() {
			defer producers.Done()
			defer cl.Close()
			for seq := 0; runCtx.Err() == nil; seq++ {
				cl.Produce(produceCtx, &kgo.Record{Value: []byte(h.Value(name, seq))}, h.recordFranzSend(name))
				time.Sleep(2 * time.Millisecond)
			}
			flushCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := cl.Flush(flushCtx); err != nil {
				t.Errorf("%s: flush after the schedule: %v", name, err)
			}
		}()
	}
	clientLog := &resetLog{}
	for i := range 2 {
		name := fmt.Sprintf("c%d", i)
		offsets := map[string]map[int32]kgo.Offset{w.topic: {}}
		for part := range w.partitions {
			offsets[w.topic][part] = kgo.NewOffset().AtStart()
		}
		cl, err := kgo.NewClient(append(clientOpts, kgo.ConsumePartitions(offsets),
			kgo.WithLogger(kgo.BasicLogger(clientLog, kgo.LogLevelInfo, func() string { return name + " " })))...)
		if err != nil {
			t.Fatal(err)
		}
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			defer cl.Close()
			for runCtx.Err() == nil {
				h.recordFranzPolls(name, cl.PollFetches(runCtx))
			}
		}()
	}

	if w.faults != nil {
		w.faults()
	} else {
		schedCtx, cancel := context.WithTimeout(context.Background(), 2*sched.Dur)
		sched.Run(schedCtx, t)
		cancel()
	}
	for _, p := range w.status {
		p.Heal()
	}
	time.Sleep(500 * time.Millisecond) // let consumers read what was acknowledged last
	stopClients()
	producers.Wait()
	consumers.Wait()

	ctx, cancel2 := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel2()
	if err := h.finalRead(ctx, []string{w.topic}, kgo.SeedBrokers(seeds...)); err != nil {
		t.Fatal(err)
	}
	var resets int64
	for _, p := range w.status {
		resets += p.Resets.Load()
		t.Logf("proxy %s to %s: %s", p.Addr(), p.target(), p.Stats())
	}
	t.Logf("history: %s", h.Counts())
	for _, v := range h.Check() {
		t.Errorf("%v", v)
	}
	// The run must have exercised what it claims.
	acked := 0
	for _, s := range h.sends {
		if s.Outcome == sendOK {
			acked++
		}
	}
	if w.minAcked == 0 {
		w.minAcked = 1000
	}
	if acked < w.minAcked || len(h.polls) < w.minAcked || (resets == 0 && !w.noResets) {
		t.Errorf("too little happened: %d acknowledged, %d polled, %d resets", acked, len(h.polls), resets)
	}
	if t.Failed() {
		t.Logf("the consumers' franz-go log lines about resets, data loss and epochs:\n%s", clientLog)
	}
	if t.Failed() && seed != 0 {
		t.Logf("seed %d; replay with %s=%d", seed, faultSeedEnv, seed)
	}
}

// resetLog keeps the last franz-go log lines that explain a consumer's position moving: offset
// resets (OFFSET_OUT_OF_RANGE), data loss detection, leader epoch validation; printed when
// the run fails.
type resetLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *resetLog) Write(p []byte) (int, error) {
	line := string(p)
	low := strings.ToLower(line)
	if strings.Contains(low, "reset by peer") {
		return len(p), nil
	}
	for _, w := range []string{"reset", "loss", "out_of_range", "out of range", "truncat", "epoch", "lost"} {
		if strings.Contains(low, w) {
			l.mu.Lock()
			l.lines = append(l.lines, strings.TrimRight(line, "\n"))
			if len(l.lines) > 100 {
				l.lines = l.lines[len(l.lines)-100:]
			}
			l.mu.Unlock()
			break
		}
	}
	return len(p), nil
}

func (l *resetLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
