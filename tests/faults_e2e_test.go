package tests

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

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
	const topic, partitions = "history", 3
	n.createTopic(topic, partitions, nil)
	p := startFaultNet(t, n.kafkaAddr)
	via := kgo.Dialer(faultDialer(map[string]*faultNet{n.kafkaAddr: p}))

	proc := singleProc{n}
	sched := newFaultSchedule(seed, 25*time.Second, 300*time.Millisecond, 1500*time.Millisecond, []faultKind{
		proxyResetKind(p, 3),
		proxyRuleKind(p, "delay", 3, 300*time.Millisecond, 2*time.Second, func(r *rand.Rand) faultRule {
			return delayRule([]faultDir{anyDir, toBroker, toClient}[r.Intn(3)], anyAPI, randDur(r, 10*time.Millisecond, 300*time.Millisecond))
		}),
		proxyRuleKind(p, "hold", 3, 300*time.Millisecond, 2*time.Second, func(*rand.Rand) faultRule { return holdRule(toClient, 0) }),
		proxyRuleKind(p, "black-hole", 1, 300*time.Millisecond, 1500*time.Millisecond, func(r *rand.Rand) faultRule {
			return blackHoleRule([]faultDir{anyDir, toBroker, toClient}[r.Intn(3)], anyAPI)
		}),
		proxyRefuseKind(p, 1, 300*time.Millisecond, 1500*time.Millisecond),
		procPauseKind(proc, 1, 300*time.Millisecond, 1500*time.Millisecond),
		procKillRestartKind(proc, 1),
	})
	sched.Status = func() string { return p.Stats() + "; in flight: " + p.Pending() }
	t.Logf("schedule %s", sched)

	h := &history{}
	clientOpts := []kgo.Opt{kgo.SeedBrokers(n.kafkaAddr), via,
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
		// After a lost connection franz-go waits for a metadata refresh, by default at most
		// every 5 s: clients would sit out most faults.
		kgo.MetadataMinAge(200 * time.Millisecond),
		// A black-holed request is given up after ~3 s, not Kafka's 30 s.
		kgo.RequestTimeoutOverhead(2 * time.Second), kgo.ProduceRequestTimeout(time.Second),
	}
	runCtx, stopClients := context.WithCancel(context.Background())
	defer stopClients()
	var producers, consumers sync.WaitGroup
	for i := range 2 {
		name := fmt.Sprintf("p%d", i)
		cl, err := kgo.NewClient(append(clientOpts, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.MaxBufferedRecords(500))...)
		if err != nil {
			t.Fatal(err)
		}
		producers.Add(1)
		go func() {
			defer producers.Done()
			defer cl.Close()
			for seq := 0; runCtx.Err() == nil; seq++ {
				// The producer's own context: records buffered when the run stops still go out.
				cl.Produce(context.Background(), &kgo.Record{Value: []byte(h.Value(name, seq))}, h.recordFranzSend(name))
				time.Sleep(2 * time.Millisecond)
			}
			flushCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := cl.Flush(flushCtx); err != nil {
				t.Errorf("%s: flush after the schedule: %v", name, err)
			}
		}()
	}
	for i := range 2 {
		name := fmt.Sprintf("c%d", i)
		offsets := map[string]map[int32]kgo.Offset{topic: {}}
		for part := range int32(partitions) {
			offsets[topic][part] = kgo.NewOffset().AtStart()
		}
		cl, err := kgo.NewClient(append(clientOpts, kgo.ConsumePartitions(offsets))...)
		if err != nil {
			t.Fatal(err)
		}
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			defer cl.Close()
			for runCtx.Err() == nil {
				fs := cl.PollFetches(runCtx)
				h.recordFranzPolls(name, fs)
			}
		}()
	}

	schedCtx, cancel := context.WithTimeout(context.Background(), 2*sched.Dur)
	sched.Run(schedCtx, t)
	cancel()
	p.Heal()
	time.Sleep(500 * time.Millisecond) // let consumers read what was acknowledged last
	stopClients()
	producers.Wait()
	consumers.Wait()

	ctx, cancel2 := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel2()
	if err := h.finalRead(ctx, []string{topic}, kgo.SeedBrokers(n.kafkaAddr)); err != nil {
		t.Fatal(err)
	}
	t.Logf("history: %s; proxy: %s", h.Counts(), p.Stats())
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
	if acked < 1000 || len(h.polls) < 1000 || p.Resets.Load() == 0 {
		t.Errorf("too little happened: %d acknowledged, %d polled, %d resets", acked, len(h.polls), p.Resets.Load())
	}
	if t.Failed() {
		t.Logf("seed %d; replay with %s=%d", seed, faultSeedEnv, seed)
	}
}
