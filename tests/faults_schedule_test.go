package tests

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// faultSeedEnv replays a schedule: SLUICE_FAULT_SEED=<seed logged by a failed run>.
const faultSeedEnv = "SLUICE_FAULT_SEED"

// faultSeed is the seed of this run's schedules: SLUICE_FAULT_SEED if set, else the clock. It is
// logged so that a failure can be replayed.
func faultSeed(t testing.TB) int64 {
	t.Helper()
	seed := time.Now().UnixNano()
	if s := os.Getenv(faultSeedEnv); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", faultSeedEnv, s, err)
		}
		seed = v
	}
	t.Logf("fault schedule seed %d (replay with %s=%d)", seed, faultSeedEnv, seed)
	return seed
}

// faultKind is one kind of fault a schedule may pick. Plan draws the fault's parameters from r
// when the schedule is built (so the seed alone decides what happens when) and returns what it
// is, the action that starts it, the action that heals it (nil: nothing to heal, as for a
// reset or a kill+restart) and how long it lasts before the heal.
type faultKind struct {
	Name   string
	Weight int // relative chance of being picked for a slot; 0 with Exactly > 0
	// Exactly > 0 places the fault exactly that many times, in random slots of the first half.
	Exactly int
	Plan    func(r *rand.Rand) (what string, do, heal func() error, lasts time.Duration)
}

// faultStep is one timed action of a schedule.
type faultStep struct {
	At   time.Duration
	What string
	Do   func() error
}

// faultSchedule is a list of timed fault actions built from a seed, bounded to a duration.
// Faults do not overlap: each is healed before the next starts, after a random gap.
type faultSchedule struct {
	Seed  int64
	Dur   time.Duration
	Steps []faultStep
	// Status, when set, is logged after each step (the proxies' counters, say).
	Status func() string
}

// newFaultSchedule draws faults from kinds until dur is used: gaps of minGap..maxGap between
// them, every fault healed before dur.
func newFaultSchedule(seed int64, dur, minGap, maxGap time.Duration, kinds []faultKind) *faultSchedule {
	r := rand.New(rand.NewSource(seed))
	gap := func() time.Duration { return minGap + time.Duration(r.Int63n(int64(maxGap-minGap)+1)) }
	// The number of slots: as many as fit with an average fault of one gap's length.
	slots := int(dur / (minGap + maxGap))
	for i := range kinds {
		slots -= kinds[i].Exactly
	}
	var chosen []*faultKind
	total := 0
	for i := range kinds {
		total += kinds[i].Weight
	}
	for range slots {
		if total == 0 {
			break
		}
		x := r.Intn(total)
		for i := range kinds {
			if x < kinds[i].Weight {
				chosen = append(chosen, &kinds[i])
				break
			}
			x -= kinds[i].Weight
		}
	}
	for i := range kinds {
		for range kinds[i].Exactly {
			at := r.Intn(len(chosen)/2 + 1) // in the first half, to leave time to recover
			chosen = append(chosen[:at], append([]*faultKind{&kinds[i]}, chosen[at:]...)...)
		}
	}
	s := &faultSchedule{Seed: seed, Dur: dur}
	at := gap()
	for _, k := range chosen {
		what, do, heal, lasts := k.Plan(r)
		if at >= dur {
			if k.Exactly == 0 {
				continue
			}
			at = dur // Exactly faults happen, at the latest at the end
		}
		if at+lasts > dur {
			lasts = max(0, dur-at)
		}
		s.Steps = append(s.Steps, faultStep{At: at, What: k.Name + ": " + what, Do: do})
		if heal != nil {
			s.Steps = append(s.Steps, faultStep{At: at + lasts, What: "heal " + k.Name, Do: heal})
		}
		at += lasts + gap()
	}
	sort.SliceStable(s.Steps, func(i, j int) bool { return s.Steps[i].At < s.Steps[j].At })
	return s
}

// String lists the schedule, one step a line.
func (s *faultSchedule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d, %v:", s.Seed, s.Dur)
	for _, st := range s.Steps {
		fmt.Fprintf(&b, "\n  %7.2fs %s", st.At.Seconds(), st.What)
	}
	return b.String()
}

// Run performs the steps at their times (from now) and returns when the last is done or ctx
// ends; a step's error fails the test (the run goes on).
func (s *faultSchedule) Run(ctx context.Context, t testing.TB) {
	began := time.Now()
	for _, st := range s.Steps {
		if d := time.Until(began.Add(st.At)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return
			}
		}
		t.Logf("fault %6.2fs (planned %.2fs): %s", time.Since(began).Seconds(), st.At.Seconds(), st.What)
		if err := st.Do(); err != nil {
			t.Errorf("fault step %q: %v", st.What, err)
		}
		if s.Status != nil {
			t.Logf("  after it: %s", s.Status())
		}
	}
}

// Fault kinds on a faultNet and on a process; tests pick and weigh them.

func randDur(r *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.Int63n(int64(hi-lo)+1))
}

// proxyResetKind resets every connection through p.
func proxyResetKind(p *faultNet, weight int) faultKind {
	return faultKind{Name: "reset", Weight: weight, Plan: func(*rand.Rand) (string, func() error, func() error, time.Duration) {
		return "all connections", func() error { p.ResetAll(); return nil }, nil, 0
	}}
}

// proxyRuleKind installs a rule made by rule(r) for lo..hi, then removes it.
func proxyRuleKind(p *faultNet, name string, weight int, lo, hi time.Duration, rule func(r *rand.Rand) faultRule) faultKind {
	return faultKind{Name: name, Weight: weight, Plan: func(r *rand.Rand) (string, func() error, func() error, time.Duration) {
		ru := rule(r)
		lasts := randDur(r, lo, hi)
		var id int
		return fmt.Sprintf("%v for %v", ru, lasts),
			func() error { id = p.Add(ru); return nil },
			func() error { p.Remove(id); return nil }, lasts
	}}
}

// proxyRefuseKind refuses new connections and resets the open ones for lo..hi.
func proxyRefuseKind(p *faultNet, weight int, lo, hi time.Duration) faultKind {
	return faultKind{Name: "refuse", Weight: weight, Plan: func(r *rand.Rand) (string, func() error, func() error, time.Duration) {
		lasts := randDur(r, lo, hi)
		return fmt.Sprintf("new connections, open ones reset, for %v", lasts),
			func() error { p.Refuse(true); p.ResetAll(); return nil },
			func() error { p.Refuse(false); return nil }, lasts
	}}
}

// faultProc is a broker process a schedule can signal and restart (adapters below for the
// single-node *node and the cluster's *procNode).
type faultProc interface {
	Signal(sig os.Signal) error
	Kill()
	Start() error
}

// procPauseKind SIGSTOPs the process for lo..hi, then SIGCONTs it.
func procPauseKind(p faultProc, weight int, lo, hi time.Duration) faultKind {
	return faultKind{Name: "pause", Weight: weight, Plan: func(r *rand.Rand) (string, func() error, func() error, time.Duration) {
		lasts := randDur(r, lo, hi)
		return fmt.Sprintf("SIGSTOP for %v", lasts),
			func() error { return p.Signal(syscall.SIGSTOP) },
			func() error { return p.Signal(syscall.SIGCONT) }, lasts
	}}
}

// procKillRestartKind SIGKILLs the process and starts it again on its data directory.
func procKillRestartKind(p faultProc, exactly int) faultKind {
	return faultKind{Name: "kill", Exactly: exactly, Plan: func(*rand.Rand) (string, func() error, func() error, time.Duration) {
		return "SIGKILL and restart", func() error { p.Kill(); return p.Start() }, nil, 0
	}}
}

// atLeastOnce makes k happen exactly once outside the random draws (so at least once).
func atLeastOnce(k faultKind) faultKind {
	k.Weight, k.Exactly = 0, 1
	return k
}

// anyOfKind is a fault of one of kinds, picked by the schedule's seed (a fault on one of
// several proxies or processes); the picked kind's Plan is used.
func anyOfKind(name string, weight, exactly int, kinds []faultKind) faultKind {
	return faultKind{Name: name, Weight: weight, Exactly: exactly, Plan: func(r *rand.Rand) (string, func() error, func() error, time.Duration) {
		i := r.Intn(len(kinds))
		what, do, heal, lasts := kinds[i].Plan(r)
		return fmt.Sprintf("#%d %s", i+1, what), do, heal, lasts
	}}
}

// countingProc counts the SIGKILLs sent to a faultProc (so a test can require them).
type countingProc struct {
	faultProc
	kills atomic.Int64
}

func (c *countingProc) Kill() { c.kills.Add(1); c.faultProc.Kill() }

// singleProc adapts a single-node broker to faultProc.
type singleProc struct{ n *node }

func (s singleProc) Signal(sig os.Signal) error { return s.n.cmd.Process.Signal(sig) }
func (s singleProc) Kill()                      { s.n.kill() }
func (s singleProc) Start() error               { return s.n.tryStart() }

// clusterProc adapts a node of the three-process cluster to faultProc.
type clusterProc struct{ nd *procNode }

func (c clusterProc) Signal(sig os.Signal) error {
	c.nd.paused = sig == syscall.SIGSTOP // the cluster's cleanup continues a paused node
	return c.nd.cmd.Process.Signal(sig)
}
func (c clusterProc) Kill() { c.nd.kill() }
func (c clusterProc) Start() error {
	if err := c.nd.launch(); err != nil {
		return err
	}
	return c.nd.waitReady(60 * time.Second)
}
