package tests

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testkit"
)

// The fault schedules against replication: a proxied three-process cluster
// (startProxiedCluster), one topic of replication factor 3 with min.insync.replicas=2, two
// idempotent producers (acks=all) and two consumers recording every send and poll
// (runHistoryWorkload), one scripted fault scenario, then a final read and checkHistory: no
// acknowledged record lost or moved, none duplicated, nothing read that was not sent or whose
// send failed, consumers monotonic and in agreement.
//
// Failure detection is shortened so that each scenario's faults fit in well under a minute:
// broker.session.timeout.ms=4000 (heartbeats every 500 ms) and replica.lag.time.max.ms=4000.
// The seed (logged; SLUICE_FAULT_SEED replays it) picks the partition whose leader is hit.

// knownFailEnv runs the scenarios that fail on main today (each says how in its skip message):
// SLUICE_FAULT_KNOWN=1 go test ./tests -run TestRF3 -v.
const knownFailEnv = "SLUICE_FAULT_KNOWN"

// knownFailure skips a scenario that finds a bug not fixed yet, unless SLUICE_FAULT_KNOWN is
// set: a test red on main would hide new failures behind a known one.
func knownFailure(t *testing.T, how string) {
	t.Helper()
	if os.Getenv(knownFailEnv) == "" {
		t.Skipf("fails on main under load (the whole tests/ suite): %s (run it with %s=1)", how, knownFailEnv)
	}
}

// rf3Args are the broker settings of the scenarios.
var rf3Args = []string{
	"--override", "broker.session.timeout.ms=4000", "--override", "broker.heartbeat.interval.ms=500",
	"--override", "replica.lag.time.max.ms=4000", "--override", "min.insync.replicas=2",
	"--override", "default.replication.factor=3", "--override", "offsets.topic.replication.factor=3",
	"--override", "transaction.state.log.replication.factor=3", "--override", "transaction.state.log.min.isr=2",
}

const rf3Partitions = 3

// rf3Env is what a scenario acts on.
type rf3Env struct {
	t     *testing.T
	c     *procCluster
	r     *rand.Rand
	topic string
	began time.Time
}

// step logs what the scenario does, with the time since the workload started.
func (e *rf3Env) step(f string, args ...any) {
	e.t.Logf("scenario %6.2fs: %s", time.Since(e.began).Seconds(), fmt.Sprintf(f, args...))
}

// leader is the leader of partition p as a running, reachable node reports it (-1: none).
func (e *rf3Env) leader(p int32) int32 {
	for _, nd := range e.c.nodes {
		if !nd.running() || nd.paused || nd.isolated {
			continue
		}
		md, err := metadataFrom(nd, e.topic)
		if err != nil {
			continue
		}
		if pm, ok := md.Topics[e.topic][fmt.Sprint(p)]; ok {
			return pm.Leader
		}
	}
	return -1
}

// waitLeader waits until partition p has a leader other than not (up to timeout) and returns it.
func (e *rf3Env) waitLeader(p int32, not int32, timeout time.Duration) int32 {
	deadline := time.Now().Add(timeout)
	for {
		if l := e.leader(p); l >= 0 && l != not {
			return l
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("partition %d has no leader other than %d after %v\n%s", p, not, timeout, e.c.logTails(30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// partition is the partition the seed picks.
func (e *rf3Env) partition() int32 { return int32(e.r.Intn(rf3Partitions)) }

// runRF3Scenario runs scenario during the history workload on a fresh proxied cluster.
func runRF3Scenario(t *testing.T, patient bool, scenario func(e *rf3Env)) {
	if testing.Short() {
		t.Skip("a fault scenario on three processes")
	}
	t.Parallel()
	seed := faultSeed(t)
	c := startProxiedCluster(t, 3, rf3Args...)
	const topic = "history"
	adm := kadm.NewClient(c.node(1).client())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	minISR := "2"
	resp, err := adm.CreateTopic(ctx, rf3Partitions, 3, map[string]*string{"min.insync.replicas": &minISR}, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatal(err)
	}
	e := &rf3Env{t: t, c: c, r: rand.New(rand.NewSource(seed)), topic: topic}
	for p := range int32(rf3Partitions) {
		e.waitLeader(p, -1, 30*time.Second)
	}
	h := &history{}
	w := historyWorkload{bootstrap: c.bootstrap(), topic: topic, partitions: rf3Partitions, status: c.proxies(),
		patient: patient, noResets: true, minAcked: 500, h: h,
		faults: func() {
			e.began = time.Now()
			time.Sleep(2 * time.Second) // traffic before the faults
			scenario(e)
			e.step("scenario done; the cluster recovers")
			c.waitFor("all three brokers unfenced", 60*time.Second, func(v testkit.View) bool { return len(v.Active) == 3 })
			e.step("all three brokers unfenced")
			e.probe(h)
			time.Sleep(3 * time.Second) // traffic after the recovery
		}}
	runHistoryWorkload(t, seed, nil, w)
	if t.Failed() {
		t.Logf("seed %d; replay with %s=%d", seed, faultSeedEnv, seed)
		t.Logf("cluster logs:\n%s", c.logTails(40))
	}
}

// probe requires every partition to take an acks=all record within 30 s of the recovery
// (recorded in h, as the workload's sends are), and logs each node's view of the partitions.
func (e *rf3Env) probe(h *history) {
	e.t.Helper()
	cl := e.c.node(1).client(kgo.SeedBrokers(strings.Split(e.c.bootstrap(), ",")...), kgo.DefaultProduceTopic(e.topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.MetadataMinAge(200*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for p := range int32(rf3Partitions) {
		began := time.Now()
		r := &kgo.Record{Partition: p, Value: []byte(h.Value("probe", int(p)))}
		res := cl.ProduceSync(ctx, r)
		h.recordFranzSend("probe")(r, res.FirstErr())
		if err := res.FirstErr(); err != nil {
			e.t.Errorf("partition %d takes no acks=all record after the recovery (%v): %v", p, time.Since(began).Round(time.Millisecond), err)
			e.t.Logf("partitions as the nodes see them: %s", e.partitionViews())
			return
		}
	}
	e.step("every partition took a record; partitions: %s", e.partitionViews())
}

// partitionViews is each running node's metadata of the topic's partitions (leader, replicas, ISR).
func (e *rf3Env) partitionViews() string {
	var parts []string
	for _, nd := range e.c.nodes {
		if !nd.running() || nd.paused {
			continue
		}
		md, err := metadataFrom(nd, e.topic)
		if err != nil {
			parts = append(parts, fmt.Sprintf("node %d: %v", nd.id, err))
			continue
		}
		parts = append(parts, fmt.Sprintf("node %d: %v", nd.id, md.Topics[e.topic]))
	}
	return strings.Join(parts, "; ")
}

// TestRF3LeaderKill: the leader of a partition is SIGKILLed; another replica of the ISR takes
// over; the old leader restarts and catches up as a follower.
func TestRF3LeaderKill(t *testing.T) {
	runRF3Scenario(t, false, func(e *rf3Env) {
		p := e.partition()
		l := e.leader(p)
		e.step("SIGKILL node %d, leader of partition %d", l, p)
		e.c.node(l).kill()
		nl := e.waitLeader(p, l, 30*time.Second)
		e.step("node %d leads partition %d", nl, p)
		time.Sleep(3 * time.Second)
		e.step("restart node %d", l)
		e.c.node(l).restart()
	})
}

// TestRF3LeaderPauseZombie: the leader of a partition is SIGSTOPped past the broker session
// timeout, so it is fenced and a new leader elected; producer p1 keeps its requests to the
// paused leader waiting (a patient producer), so when the zombie is continued it handles them
// with a stale leader epoch: none of those late writes may be acknowledged unless it is in the
// final read at its offset.
func TestRF3LeaderPauseZombie(t *testing.T) {
	runRF3Scenario(t, true, func(e *rf3Env) {
		p := e.partition()
		l := e.leader(p)
		e.step("SIGSTOP node %d, leader of partition %d", l, p)
		e.c.node(l).pause()
		nl := e.waitLeader(p, l, 30*time.Second)
		e.step("node %d leads partition %d", nl, p)
		time.Sleep(2 * time.Second)
		e.step("SIGCONT node %d", l)
		e.c.node(l).resume()
		time.Sleep(2 * time.Second)
	})
}

// TestRF3Isolated: the leader of a partition is cut off by the proxies (clients, replica
// fetchers, Raft and heartbeats, both ways) for ~10 s; the others fence it and elect a new
// leader; after the heal it rejoins.
func TestRF3Isolated(t *testing.T) {
	runRF3Scenario(t, false, func(e *rf3Env) {
		p := e.partition()
		l := e.leader(p)
		e.step("isolate node %d, leader of partition %d", l, p)
		heal := e.c.isolate(l)
		nl := e.waitLeader(p, l, 30*time.Second)
		e.step("node %d leads partition %d", nl, p)
		time.Sleep(3 * time.Second)
		e.step("heal node %d", l)
		heal()
	})
}

// TestRF3ControllerKill: the active controller is SIGKILLed (with the partitions it leads);
// the quorum elects another; the node restarts.
func TestRF3ControllerKill(t *testing.T) {
	runRF3Scenario(t, false, func(e *rf3Env) {
		ctl := e.c.controller()
		e.step("SIGKILL node %d, the active controller", ctl)
		e.c.node(ctl).kill()
		nc := e.c.waitFor("a new controller", 30*time.Second, func(v testkit.View) bool { return v.Controller != ctl && v.Controller >= 0 })
		for _, v := range nc {
			e.step("node %d is the controller", v.Controller)
			break
		}
		time.Sleep(3 * time.Second)
		e.step("restart node %d", ctl)
		e.c.node(ctl).restart()
	})
}

// TestRF3RollingRestart: every node in turn is stopped with SIGTERM (controlled shutdown:
// its partitions' leadership moves first) and restarted, waiting for all three to be unfenced
// before the next.
func TestRF3RollingRestart(t *testing.T) {
	runRF3Scenario(t, false, func(e *rf3Env) {
		for _, nd := range e.c.nodes {
			e.step("SIGTERM node %d", nd.id)
			nd.terminate(30 * time.Second)
			e.step("restart node %d", nd.id)
			nd.restart()
			e.c.waitFor("all three brokers unfenced", 60*time.Second, func(v testkit.View) bool { return len(v.Active) == 3 })
			time.Sleep(time.Second)
		}
	})
}

// TestRF3DoubleFailover: the leader of a partition is SIGKILLed; as soon as another leads, the
// first is restarted and the new leader SIGKILLed too: the partition must fail over again to a
// replica that has every acknowledged record (the restarted one only once it caught up).
func TestRF3DoubleFailover(t *testing.T) {
	runRF3Scenario(t, false, func(e *rf3Env) {
		p := e.partition()
		l1 := e.leader(p)
		e.step("SIGKILL node %d, leader of partition %d", l1, p)
		e.c.node(l1).kill()
		l2 := e.waitLeader(p, l1, 30*time.Second)
		e.step("node %d leads partition %d; restart node %d and SIGKILL node %d", l2, p, l1, l2)
		e.c.node(l1).restart()
		e.c.node(l2).kill()
		l3 := e.waitLeader(p, l2, 30*time.Second)
		e.step("node %d leads partition %d", l3, p)
		time.Sleep(2 * time.Second)
		e.step("restart node %d", l2)
		e.c.node(l2).restart()
	})
}

// TestRF3DiskWiped: a follower of a partition is SIGKILLed, its whole data directory removed,
// and it is restarted (a new directory id: it follows the metadata quorum as an observer until
// the voter set names its new directory, which the test changes as an operator would); then
// the partition's leader is SIGKILLed. The wiped node must not have been let back into the ISR
// before it caught up (KIP-903), so the partition's new leader has every acknowledged record.
func TestRF3DiskWiped(t *testing.T) {
	runRF3Scenario(t, false, func(e *rf3Env) {
		p := e.partition()
		l := e.leader(p)
		w := e.c.other(l)
		nd := e.c.node(w)
		e.step("SIGKILL node %d (a follower of partition %d, led by %d), wipe its data directory, restart it", w, p, l)
		nd.kill()
		if err := os.RemoveAll(nd.dataDir); err != nil {
			e.t.Fatal(err)
		}
		nd.restart()
		via := e.c.node(e.c.other(w))
		v := waitQuorum(e.t, via, "the wiped node to observe", func(v quorumView) bool { return len(v.status(w)["observer"]) == 1 })
		oldDir, newDir := v.status(w)["voter"], v.status(w)["observer"][0]
		for _, args := range [][]string{
			{"cluster", "remove-voter", "--node-id", fmt.Sprint(w), "--directory-id", oldDir[0]},
			{"cluster", "add-voter", "--node-id", fmt.Sprint(w), "--directory-id", newDir, "--controller-addr", nd.controllerAddr},
		} {
			if res := runSluice(e.t, via.asNode(), "", args...); res.code != 0 {
				e.t.Fatalf("%v: exit %d: %s%s", args, res.code, res.stdout, res.stderr)
			}
		}
		waitQuorum(e.t, via, "the new directory to vote", func(v quorumView) bool {
			return v.voters() == 3 && len(v.status(w)["voter"]) == 1 && v.status(w)["voter"][0] == newDir
		})
		e.step("node %d votes with its new directory; SIGKILL node %d, leader of partition %d", w, l, p)
		e.c.node(l).kill()
		nl := e.waitLeader(p, l, 30*time.Second)
		e.step("node %d leads partition %d", nl, p)
		time.Sleep(2 * time.Second)
		e.step("restart node %d", l)
		e.c.node(l).restart()
	})
}

// TestRF3FaultSchedule: a seeded random schedule (~30 s) on the proxied RF 3 cluster: on
// every link, client and replica alike, resets, delays, held Produce responses, black holes
// and refusals (proxyKinds); replica fetches of one node held on every proxy (it falls out of
// the ISRs, then catches up); a node isolated; short SIGSTOPs; exactly one SIGKILL and restart.
// Faults do not overlap. checkHistory and the recovery probe must pass.
func TestRF3FaultSchedule(t *testing.T) {
	runRF3Scenario(t, false, func(e *rf3Env) {
		var kafka []*faultNet
		var holds, isolations, pauses, kills []faultKind
		for _, nd := range e.c.nodes {
			kafka = append(kafka, nd.kafkaProxy)
			src := fmt.Sprintf("node-%d", nd.id)
			holds = append(holds, faultKind{Name: "hold replica fetches", Plan: func(r *rand.Rand) (string, func() error, func() error, time.Duration) {
				lasts := randDur(r, time.Second, 4*time.Second)
				var ids []int
				var on []*faultNet
				return fmt.Sprintf("of %s for %v", src, lasts),
					func() error {
						for _, other := range e.c.nodes {
							if other.id != nd.id {
								on = append(on, other.kafkaProxy)
								ids = append(ids, other.kafkaProxy.Add(holdRule(anyDir, 1).from(src)))
							}
						}
						return nil
					},
					func() error {
						for i, p := range on {
							p.Remove(ids[i])
						}
						on, ids = nil, nil
						return nil
					}, lasts
			}})
			id := nd.id
			isolations = append(isolations, faultKind{Name: "isolate", Plan: func(r *rand.Rand) (string, func() error, func() error, time.Duration) {
				lasts := randDur(r, 2*time.Second, 4*time.Second)
				var heal func()
				return fmt.Sprintf("node %d for %v", id, lasts),
					func() error { heal = e.c.isolate(id); return nil },
					func() error { heal(); return nil }, lasts
			}})
			pauses = append(pauses, procPauseKind(clusterProc{nd}, 1, 300*time.Millisecond, 1500*time.Millisecond))
			kills = append(kills, procKillRestartKind(clusterProc{nd}, 1))
		}
		kinds := append(proxyKinds(kafka...),
			anyOfKind("hold replica fetches", 2, 1, holds),
			anyOfKind("isolate", 1, 1, isolations),
			anyOfKind("pause", 2, 0, pauses),
			anyOfKind("kill", 0, 1, kills))
		sched := newFaultSchedule(e.r.Int63(), 30*time.Second, time.Second, 3*time.Second, kinds)
		e.step("schedule %s", sched)
		ctx, cancel := context.WithTimeout(context.Background(), 2*sched.Dur)
		defer cancel()
		sched.Run(ctx, e.t)
		for _, p := range e.c.proxies() {
			p.Heal()
		}
		for _, nd := range e.c.nodes {
			nd.isolated = false
		}
	})
}
