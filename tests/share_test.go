package tests

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Share groups (KIP-932) end to end: `sluice serve` processes, franz-go's share consumer in
// tests/shareapp processes, and a recorded history of what each consumer received and had
// acknowledged, checked against what was produced.

// shareEvent is one line of a shareapp's output.
type shareEvent struct {
	consumer      string
	kind          string // recv, acked
	offset        int64
	deliveryCount int
	value         string // recv
	status        string // acked
	index         int    // position in the history
}

// shareProc is one shareapp process.
type shareProc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *syncBuffer
	killed bool
}

// shareHistory collects every shareapp's events.
type shareHistory struct {
	mu     sync.Mutex
	events []shareEvent
}

func (h *shareHistory) add(e shareEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e.index = len(h.events)
	h.events = append(h.events, e)
}

func (h *shareHistory) snapshot() []shareEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]shareEvent(nil), h.events...)
}

func buildShareApp(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shareapp")
	if out, err := exec.Command("go", "build", "-o", bin, "./shareapp").CombinedOutput(); err != nil {
		t.Fatalf("build shareapp: %v\n%s", err, out)
	}
	return bin
}

// startShareApp runs shareapp as consumer name of group on topic; its events go to h.
func startShareApp(t *testing.T, bin string, n *node, topic, group, name string, h *shareHistory, env ...string) *shareProc {
	t.Helper()
	p := &shareProc{name: name, exited: make(chan struct{}), stderr: &syncBuffer{}}
	p.cmd = exec.Command(bin, n.kafkaAddr, topic, group)
	p.cmd.Env = append(p.cmd.Environ(), env...)
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if e, ok := parseShareEvent(name, sc.Text()); ok {
				h.add(e)
			}
		}
		p.cmd.Wait()
	}()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, tail(p.stderr.String(), 20))
		}
	})
	return p
}

func parseShareEvent(consumer, line string) (shareEvent, bool) {
	f := strings.SplitN(line, " ", 5)
	e := shareEvent{consumer: consumer, kind: f[0]}
	switch {
	case f[0] == "recv" && len(f) == 5:
		e.offset, _ = strconv.ParseInt(f[2], 10, 64)
		e.deliveryCount, _ = strconv.Atoi(f[3])
		e.value = f[4]
	case f[0] == "acked" && len(f) == 4:
		e.offset, _ = strconv.ParseInt(f[2], 10, 64)
		e.status = f[3]
	default:
		return e, false
	}
	return e, true
}

// kill SIGKILLs the consumer: whatever it held unacknowledged is in flight.
func (p *shareProc) kill() {
	p.killed = true
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// waitShare polls cond until it holds or the timeout passes.
func waitShare(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// produceValues produces values to topic partition 0 in order and returns value → offset.
func produceShareValues(t *testing.T, n *node, topic string, values []string) map[string]int64 {
	t.Helper()
	cl := n.client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	offsets := map[string]int64{}
	for len(values) > 0 {
		// Batches of 10: a share consumer acquires whole batches (batch_optimized).
		chunk := values[:min(10, len(values))]
		values = values[len(chunk):]
		var recs []*kgo.Record
		for _, v := range chunk {
			recs = append(recs, &kgo.Record{Value: []byte(v), Partition: 0})
		}
		res := cl.ProduceSync(ctx, recs...)
		if err := res.FirstErr(); err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			offsets[string(r.Record.Value)] = r.Record.Offset
		}
	}
	return offsets
}

// warmUp produces warm-up records until a consumer of h received one: share groups start
// at the latest offset (share.auto.offset.reset's default), so records produced before the
// group's first fetch are not delivered. Warm-up records are left out of the checks.
func warmUp(t *testing.T, n *node, topic string, h *shareHistory) {
	t.Helper()
	for i := 0; ; i++ {
		produceShareValues(t, n, topic, []string{fmt.Sprintf("warmup-%d", i)})
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			for _, e := range h.snapshot() {
				if e.kind == "recv" && strings.HasPrefix(e.value, "warmup-") {
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		if i == 30 {
			t.Fatal("no consumer received a warm-up record in 30s")
		}
	}
}

// shareOutcome is what the history says of one produced record.
type shareOutcome struct {
	recvs     []shareEvent
	confirmed []shareEvent // acked events
}

// shareFaults are the faults a history went through, which excuse a missing confirmation.
type shareFaults struct {
	procs map[string]*shareProc // killed consumers
	// restartAt is the history position where the broker was killed and restarted (0:
	// never): an acknowledgement in flight then may have been applied without its answer
	// reaching the consumer, and a delivery in flight (acquired, never persisted) comes
	// back with the delivery count it had.
	restartAt int
}

// checkShareHistory checks the recorded history against the produced records (value →
// offset): nothing invented (every received record was produced, at its offset), nothing
// lost and nothing done twice (every record is accepted or rejected exactly once, confirmed
// by the broker, except one whose last delivery went to a killed consumer or came before a
// broker restart, which may have been applied without the answer arriving; released records
// come back until the delivery count limit), and delivery counts rise with each delivery
// seen. It returns the outcome per value.
func checkShareHistory(t *testing.T, h *shareHistory, produced map[string]int64, faults shareFaults, limit int) map[string]*shareOutcome {
	t.Helper()
	byOffset := map[int64]string{}
	for v, o := range produced {
		byOffset[o] = v
	}
	out := map[string]*shareOutcome{}
	for v := range produced {
		out[v] = &shareOutcome{}
	}
	for _, e := range h.snapshot() {
		switch e.kind {
		case "recv":
			if strings.HasPrefix(e.value, "warmup-") {
				continue
			}
			o, ok := out[e.value]
			if !ok || produced[e.value] != e.offset {
				t.Errorf("invented: %s received %q at offset %d (produced at %d)", e.consumer, e.value, e.offset, produced[e.value])
				continue
			}
			o.recvs = append(o.recvs, e)
		case "acked":
			v, ok := byOffset[e.offset]
			if !ok {
				continue // a warm-up record
			}
			out[v].confirmed = append(out[v].confirmed, e)
		}
	}
	for v, o := range out {
		var terminal []shareEvent
		for _, c := range o.confirmed {
			if c.status != "release" {
				terminal = append(terminal, c)
			}
		}
		// The history interleaves the consumers' output in the order the harness read their
		// pipes, not the order the broker delivered: a record released by one consumer and
		// delivered to another may be read from the second's pipe first. So delivery counts
		// are checked in delivery-count order across consumers (no count twice) and in line
		// order within one consumer (never falling).
		byCount := slices.Clone(o.recvs)
		slices.SortStableFunc(byCount, func(a, b shareEvent) int { return a.deliveryCount - b.deliveryCount })
		last := map[string]int{}
		for i, r := range byCount {
			// Acquisitions are not persisted (share.StateAcquired): deliveries in flight
			// when the broker went down come back with the count last persisted, so around a
			// restart a count may repeat, never fall.
			if i > 0 && faults.restartAt == 0 && r.deliveryCount == byCount[i-1].deliveryCount {
				t.Errorf("%q: delivery count %d twice", v, r.deliveryCount)
			}
		}
		for _, r := range o.recvs {
			if prev, ok := last[r.consumer]; ok && r.deliveryCount < prev {
				t.Errorf("%q: delivery count %d after %d at %s", v, r.deliveryCount, prev, r.consumer)
			}
			last[r.consumer] = r.deliveryCount
		}
		switch {
		case strings.HasPrefix(v, "release-"):
			if len(o.recvs) != limit || len(terminal) != 0 {
				t.Errorf("%q: always released, delivered %d times (limit %d)", v, len(o.recvs), limit)
			} else if last := byCount[len(byCount)-1]; last.deliveryCount != limit {
				t.Errorf("%q: highest delivery count %d, want %d", v, last.deliveryCount, limit)
			}
		case len(o.recvs) == 0:
			t.Errorf("lost: %q was never delivered", v)
		case len(terminal) > 1:
			t.Errorf("%q acknowledged %d times: %v", v, len(terminal), terminal)
		case len(terminal) == 0:
			last := byCount[len(byCount)-1] // the last delivery
			killed := faults.procs[last.consumer] != nil && faults.procs[last.consumer].killed
			if !killed && !(last.index < faults.restartAt) {
				t.Errorf("lost: %q delivered %d times, never acknowledged", v, len(o.recvs))
			}
		default:
			want := "accept"
			if strings.HasPrefix(v, "reject-") {
				want = "reject"
			}
			if terminal[0].status != want {
				t.Errorf("%q: %s, want %s", v, terminal[0].status, want)
			}
		}
	}
	return out
}

// waitSettled waits until settled, reporting the unsettled records' events on timeout.
func waitSettled(t *testing.T, h *shareHistory, produced map[string]int64, limit int, faults shareFaults, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !settled(h, produced, limit, faults) {
		if time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		events := h.snapshot()
		byOffset := map[int64]string{}
		for v, o := range produced {
			byOffset[o] = v
		}
		done := map[string]bool{}
		for _, e := range events {
			if v, ok := byOffset[e.offset]; ok && e.kind == "acked" && e.status != "release" {
				done[v] = true
			}
		}
		shown := 0
		for v, o := range produced {
			if done[v] || strings.HasPrefix(v, "release-") || shown == 5 {
				continue
			}
			shown++
			var seen []string
			for _, e := range events {
				if e.offset == o {
					seen = append(seen, fmt.Sprintf("%s:%s/%d/%s", e.consumer, e.kind, e.deliveryCount, e.status))
				}
			}
			t.Logf("unsettled %q at %d: %v", v, o, seen)
		}
		t.Fatalf("timed out after %v waiting for every record to settle (%d events)", timeout, len(events))
	}
}

// settled reports whether every produced record has its final outcome in the history.
func settled(h *shareHistory, produced map[string]int64, limit int, faults shareFaults) bool {
	byOffset := map[int64]string{}
	for v, o := range produced {
		byOffset[o] = v
	}
	recvs, done := map[string]int{}, map[string]bool{}
	for _, e := range h.snapshot() {
		switch e.kind {
		case "recv":
			recvs[e.value]++
			// A delivery the consumer never confirmed may have been acknowledged without
			// the answer arriving (its consumer killed, or the broker restarted): unknown,
			// but settled unless delivered again.
			killed := faults.procs[e.consumer] != nil && faults.procs[e.consumer].killed
			done[e.value] = killed || e.index < faults.restartAt
		case "acked":
			if v, ok := byOffset[e.offset]; ok && e.status != "release" {
				done[v] = true
			}
		}
	}
	for v := range produced {
		if strings.HasPrefix(v, "release-") {
			if recvs[v] < limit {
				return false
			}
		} else if !done[v] {
			return false
		}
	}
	return true
}

func shareValues(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%05d", prefix, i)
	}
	return out
}

// TestShareGroupConsumersSplitPartition: three share consumers split one partition's
// records; every record is accepted exactly once, and each consumer gets some.
func TestShareGroupConsumersSplitPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("starts broker and consumer processes")
	}
	n := startNode(t)
	n.createTopic("jobs", 1, nil)
	bin := buildShareApp(t)
	h := &shareHistory{}
	procs := map[string]*shareProc{}
	for i := range 3 {
		name := fmt.Sprintf("c%d", i)
		procs[name] = startShareApp(t, bin, n, "jobs", "workers", name, h, "SHAREAPP_MAX_RECORDS=50")
	}
	warmUp(t, n, "jobs", h)
	var produced = map[string]int64{}
	for round := range 6 {
		for v, o := range produceShareValues(t, n, "jobs", shareValues(fmt.Sprintf("job-%d-", round), 500)) {
			produced[v] = o
		}
	}
	waitSettled(t, h, produced, 0, shareFaults{procs: procs}, 60*time.Second)
	checkShareHistory(t, h, produced, shareFaults{procs: procs}, 0)
	per := map[string]int{}
	for _, e := range h.snapshot() {
		if e.kind == "acked" {
			per[e.consumer]++
		}
	}
	for name := range procs {
		if per[name] == 0 {
			t.Errorf("consumer %s acknowledged nothing: %v", name, per)
		}
	}
	t.Logf("acknowledged per consumer: %v", per)
}

// TestShareGroupRejectsAndDeliveryLimit: rejected records are acknowledged once and never
// come back; records always released come back until share.delivery.count.limit (3 here)
// archives them, with delivery counts 1, 2, 3.
func TestShareGroupRejectsAndDeliveryLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts broker and consumer processes")
	}
	const limit = 3
	n := startNode(t, "--override", "group.share.delivery.count.limit="+strconv.Itoa(limit))
	n.createTopic("jobs", 1, nil)
	bin := buildShareApp(t)
	h := &shareHistory{}
	procs := map[string]*shareProc{
		"c0": startShareApp(t, bin, n, "jobs", "workers", "c0", h),
		"c1": startShareApp(t, bin, n, "jobs", "workers", "c1", h),
	}
	warmUp(t, n, "jobs", h)
	var values []string
	for i := range 300 {
		switch i % 10 {
		case 3:
			values = append(values, fmt.Sprintf("reject-%05d", i))
		case 7:
			values = append(values, fmt.Sprintf("release-%05d", i))
		default:
			values = append(values, fmt.Sprintf("job-%05d", i))
		}
	}
	produced := produceShareValues(t, n, "jobs", values)
	waitSettled(t, h, produced, limit, shareFaults{procs: procs}, 60*time.Second)
	// Released records must not come back after the limit: give them the time to.
	time.Sleep(time.Second)
	checkShareHistory(t, h, produced, shareFaults{procs: procs}, limit)
}

// TestShareGroupConsumerKilledAndLockTimeout: a consumer SIGKILLed while holding records
// (its connection closes, so the broker releases them at once), and a consumer that holds
// its records past share.record.lock.duration.ms (2 s here: the broker takes them back, its
// late acknowledgements fail) — their records are redelivered to the other consumers with
// higher delivery counts, and every record is still accepted exactly once.
func TestShareGroupConsumerKilledAndLockTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("starts broker and consumer processes")
	}
	n := startNode(t, "--override", "group.share.min.record.lock.duration.ms=1000",
		"--override", "group.share.record.lock.duration.ms=2000")
	n.createTopic("jobs", 1, nil)
	bin := buildShareApp(t)
	h := &shareHistory{}
	procs := map[string]*shareProc{
		"steady": startShareApp(t, bin, n, "jobs", "workers", "steady", h, "SHAREAPP_MAX_RECORDS=20"),
	}
	warmUp(t, n, "jobs", h)
	procs["victim"] = startShareApp(t, bin, n, "jobs", "workers", "victim", h, "SHAREAPP_HOLD=1h", "SHAREAPP_MAX_RECORDS=100")
	procs["sleepy"] = startShareApp(t, bin, n, "jobs", "workers", "sleepy", h, "SHAREAPP_HOLD=5s", "SHAREAPP_MAX_RECORDS=100")
	time.Sleep(2 * time.Second) // both joined and fetching
	produced := produceShareValues(t, n, "jobs", shareValues("job-", 1000))
	held := func(name string) bool {
		for _, e := range h.snapshot() {
			if e.kind == "recv" && e.consumer == name && !strings.HasPrefix(e.value, "warmup-") {
				return true
			}
		}
		return false
	}
	waitShare(t, 30*time.Second, "the victim holding records", func() bool { return held("victim") })
	procs["victim"].kill()
	waitSettled(t, h, produced, 0, shareFaults{procs: procs}, 90*time.Second)
	out := checkShareHistory(t, h, produced, shareFaults{procs: procs}, 0)
	redelivered := map[string]int{}
	for _, o := range out {
		if len(o.recvs) > 1 {
			redelivered[o.recvs[0].consumer]++
			if o.recvs[len(o.recvs)-1].deliveryCount < 2 {
				t.Errorf("redelivered record %q with delivery count %d", o.recvs[0].value, o.recvs[len(o.recvs)-1].deliveryCount)
			}
		}
	}
	if redelivered["victim"] == 0 {
		t.Errorf("nothing the killed consumer held was redelivered: %v", redelivered)
	}
	if held("sleepy") && redelivered["sleepy"] == 0 {
		t.Errorf("nothing the consumer holding past the lock duration had was redelivered: %v", redelivered)
	}
	t.Logf("redelivered, by first consumer: %v", redelivered)
}

// TestShareGroupBrokerRestart: the broker restarts (SIGKILL) while consumers are working;
// the share-partition state comes back from __share_group_state, and every record is still
// accepted exactly once (records in flight at the kill are delivered again).
func TestShareGroupBrokerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts broker and consumer processes")
	}
	n := startNode(t)
	n.createTopic("jobs", 1, nil)
	bin := buildShareApp(t)
	h := &shareHistory{}
	procs := map[string]*shareProc{
		"c0": startShareApp(t, bin, n, "jobs", "workers", "c0", h, "SHAREAPP_MAX_RECORDS=20", "SHAREAPP_HOLD=200ms"),
		"c1": startShareApp(t, bin, n, "jobs", "workers", "c1", h, "SHAREAPP_MAX_RECORDS=20", "SHAREAPP_HOLD=200ms"),
	}
	warmUp(t, n, "jobs", h)
	produced := produceShareValues(t, n, "jobs", shareValues("job-", 2000))
	acked := func() int {
		c := 0
		for _, e := range h.snapshot() {
			if e.kind == "acked" {
				c++
			}
		}
		return c
	}
	waitShare(t, 60*time.Second, "some records acknowledged", func() bool { return acked() > 300 })
	n.kill()
	before, restartAt := acked(), len(h.snapshot())
	n.start()
	for v, o := range produceShareValues(t, n, "jobs", shareValues("after-", 500)) {
		produced[v] = o
	}
	t.Cleanup(func() {
		if t.Failed() {
			if resp, err := n.httpGet("/metrics"); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				for _, l := range strings.Split(string(b), "\n") {
					if strings.HasPrefix(l, "sluice_share_") {
						t.Log(l)
					}
				}
			}
			for _, l := range strings.Split(n.logs.String(), "\n") {
				if strings.Contains(strings.ToLower(l), "share") {
					t.Log(l)
				}
			}
		}
	})
	t.Cleanup(func() {
		after := map[string]int{}
		for _, e := range h.snapshot()[restartAt:] {
			after[e.consumer+" "+e.kind]++
		}
		t.Logf("events after the restart: %v", after)
	})
	waitSettled(t, h, produced, 0, shareFaults{procs: procs, restartAt: restartAt}, 60*time.Second)
	checkShareHistory(t, h, produced, shareFaults{procs: procs, restartAt: restartAt}, 0)
	t.Logf("acknowledged before the restart: %d, in all: %d", before, acked())
}
