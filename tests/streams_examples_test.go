package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The examples tests build each program of examples/ as a user would run it, run it against a
// real `sluice serve`, feed its input topics with franz-go and check its output topic against
// a model computed from the input.

var examplesBuilt sync.Map // name -> *exampleBuild

type exampleBuild struct {
	once sync.Once
	bin  string
	err  error
}

// buildExample builds examples/name once per test binary.
func buildExample(t *testing.T, name string) string {
	t.Helper()
	v, _ := examplesBuilt.LoadOrStore(name, &exampleBuild{})
	b := v.(*exampleBuild)
	b.once.Do(func() {
		// Next to the sluice binary: TestMain removes that directory at the end.
		b.bin = filepath.Join(filepath.Dir(sluiceBin), "example-"+name)
		if out, err := exec.Command("go", "build", "-o", b.bin, "../examples/"+name).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("build examples/%s: %v\n%s", name, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.bin
}

// exampleProc is one run of an example program.
type exampleProc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan struct{}
}

func startExample(t *testing.T, name string, args ...string) *exampleProc {
	t.Helper()
	p := &exampleProc{t: t, name: name, cmd: exec.Command(buildExample(t, name), args...), logs: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(p.logs.String(), 40))
		}
	})
	return p
}

// interrupt sends SIGINT (Ctrl-C) and waits for a clean exit (status 0).
func (p *exampleProc) interrupt() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(40 * time.Second):
		p.t.Fatalf("%s did not exit within 40s of SIGINT\n%s", p.name, tail(p.logs.String(), 40))
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		p.t.Fatalf("%s exited with %d after SIGINT\n%s", p.name, code, tail(p.logs.String(), 40))
	}
}

func (p *exampleProc) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

// failIfExited fails the test if the program has exited.
func (p *exampleProc) failIfExited() {
	p.t.Helper()
	select {
	case <-p.exited:
		p.t.Fatalf("%s exited: %v\n%s", p.name, p.cmd.ProcessState, tail(p.logs.String(), 40))
	default:
	}
}

// outputReader reads a topic from given offsets (the start by default), keeping every record.
type outputReader struct {
	t    *testing.T
	cl   *kgo.Client
	recs []*kgo.Record
}

func newOutputReader(t *testing.T, n *node, topic string, committed bool, from map[int32]kgo.Offset) *outputReader {
	opts := []kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if from != nil {
		opts = []kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from})}
	}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	return &outputReader{t: t, cl: n.client(opts...)}
}

// readUntil polls until done is true or timeout passes, failing the test then (and if a
// program of procs exits); it returns the records read so far.
func (r *outputReader) readUntil(timeout time.Duration, done func([]*kgo.Record) bool, procs ...*exampleProc) []*kgo.Record {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for !done(r.recs) {
		for _, p := range procs {
			p.failIfExited()
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("output incomplete after %v: %d records", timeout, len(r.recs))
		}
		r.poll(500 * time.Millisecond)
	}
	return r.recs
}

// linger keeps reading for d (to see records that should not come) and returns all records.
func (r *outputReader) linger(d time.Duration) []*kgo.Record {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		r.poll(300 * time.Millisecond)
	}
	return r.recs
}

func (r *outputReader) poll(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	fs := r.cl.PollFetches(ctx)
	for _, e := range fs.Errors() {
		if e.Err != context.DeadlineExceeded {
			r.t.Fatalf("fetch: %v", e.Err)
		}
	}
	fs.EachRecord(func(rec *kgo.Record) { r.recs = append(r.recs, rec) })
}

// latest is the last value of each key.
func latest(recs []*kgo.Record) map[string]string {
	m := map[string]string{}
	for _, r := range recs {
		m[string(r.Key)] = string(r.Value)
	}
	return m
}

func produceAll(t *testing.T, cl *kgo.Client, recs []*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// quarters is a random amount in [lo, hi) that is a multiple of 0.25: sums of such amounts are
// exact in float64 whatever their order.
func quarters(rng *rand.Rand, lo, hi int) float64 {
	return float64(lo) + float64(rng.IntN((hi-lo)*4))/4
}

// TestStreamsExampleFraudDetection: transactions of 8 customers over about 100 minutes, a
// tenth out of order within the one-minute grace and a few later than it, are written to
// explicit partitions so that each partition's order (and so its stream time) is known. The
// program is SIGKILLed once it has reported a first alert and restarted; the read_committed
// output must hold exactly one alert for every window whose total (of the transactions not
// dropped as late) is over 10,000, and nothing else.
func TestStreamsExampleFraudDetection(t *testing.T) {
	const partitions = 3
	n := startNode(t)
	n.createTopic("transactions", partitions, nil)
	n.createTopic("suspicious-transactions", partitions, nil)

	type tx struct {
		CustomerID string    `json:"customer_id"`
		Amount     float64   `json:"amount"`
		Timestamp  time.Time `json:"timestamp"`
	}
	type window struct {
		customer string
		start    int64
	}
	const size, grace = int64(10 * time.Minute / time.Millisecond), int64(time.Minute / time.Millisecond)
	rng := rand.New(rand.NewPCG(17, 4))
	t0 := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	var recs []*kgo.Record
	totals := map[window]float64{}
	streamTime := make([]int64, partitions)
	add := func(c int, ts time.Time, amount float64) {
		customer := "c" + strconv.Itoa(c)
		p := int32(c % partitions)
		recs = append(recs, &kgo.Record{Topic: "transactions", Partition: p, Key: []byte(customer),
			Value: mustJSON(t, tx{customer, amount, ts})})
		ms := ts.UnixMilli()
		streamTime[p] = max(streamTime[p], ms)
		w := window{customer, ms / size * size}
		if w.start+size > streamTime[p]-grace { // not late
			totals[w] += amount
		}
	}
	now := t0
	for range 600 {
		now = now.Add(time.Duration(rng.IntN(20_000)) * time.Millisecond)
		ts := now
		switch rng.IntN(30) {
		case 0, 1, 2:
			ts = ts.Add(-time.Duration(rng.IntN(50_000)) * time.Millisecond) // out of order, within grace
		case 3:
			ts = ts.Add(-2*time.Minute - time.Duration(rng.IntN(180_000))*time.Millisecond) // later than grace
		}
		add(rng.IntN(8), ts, quarters(rng, 100, 3000))
	}
	half := len(recs) / 2
	// Then one transaction of 0 per partition half an hour later closes every window.
	for c := range partitions {
		add(c, now.Add(30*time.Minute), 0)
	}
	want := map[string]float64{} // "customer@start" -> total
	for w, total := range totals {
		if total > 10_000 {
			want[w.customer+"@"+time.UnixMilli(w.start).UTC().Format(time.RFC3339)] = total
		}
	}
	if len(want) < 5 || len(want) > len(totals)-5 {
		t.Fatalf("input makes %d alerts of %d windows: want some of each", len(want), len(totals))
	}

	cl := n.client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	stateDir := t.TempDir()
	args := []string{"--brokers", n.kafkaAddr, "--state-dir", stateDir}
	p := startExample(t, "fraud-detection", args...)
	produceAll(t, cl, recs[:half])
	out := newOutputReader(t, n, "suspicious-transactions", true, nil)
	out.readUntil(90*time.Second, func(r []*kgo.Record) bool { return len(r) > 0 }, p)
	p.kill() // mid-run, possibly mid-transaction
	produceAll(t, cl, recs[half:])
	p = startExample(t, "fraud-detection", args...)
	got := out.readUntil(90*time.Second, func(r []*kgo.Record) bool { return len(r) >= len(want) }, p)
	got = out.linger(3 * time.Second)
	p.interrupt()

	type alert struct {
		CustomerID  string  `json:"customer_id"`
		Total       float64 `json:"total"`
		WindowStart string  `json:"window_start"`
		WindowEnd   string  `json:"window_end"`
	}
	seen := map[string]int{}
	for _, r := range got {
		var a alert
		if err := json.Unmarshal(r.Value, &a); err != nil {
			t.Fatalf("output %q: %v", r.Value, err)
		}
		k := a.CustomerID + "@" + a.WindowStart
		seen[k]++
		start, err1 := time.Parse(time.RFC3339, a.WindowStart)
		end, err2 := time.Parse(time.RFC3339, a.WindowEnd)
		switch {
		case string(r.Key) != a.CustomerID:
			t.Errorf("alert %s has key %q", r.Value, r.Key)
		case err1 != nil || err2 != nil || end.Sub(start) != 10*time.Minute:
			t.Errorf("alert %s: window is not 10 minutes in RFC 3339 (%v, %v)", r.Value, err1, err2)
		case seen[k] > 1:
			t.Errorf("alert for %s written %d times", k, seen[k])
		case want[k] == 0:
			t.Errorf("alert %s: no window over 10,000 there", r.Value)
		case a.Total != want[k]:
			t.Errorf("alert %s: total %v, want %v", r.Value, a.Total, want[k])
		}
	}
	for k := range want {
		if seen[k] == 0 {
			t.Errorf("no alert for %s (total %v)", k, want[k])
		}
	}
}

// TestStreamsExampleWordCount: lines of words from a small vocabulary in mixed case and
// punctuation; the latest count of each word in "word-counts" must be its number of
// occurrences, every count a decimal string.
func TestStreamsExampleWordCount(t *testing.T) {
	n := startNode(t)
	n.createTopic("text-lines", 2, nil)
	n.createTopic("word-counts", 2, nil)
	vocab := []string{"the", "Quick", "brown", "FOX", "jumps", "over", "lazy", "dog", "kafka", "streams", "go", "sluice"}
	rng := rand.New(rand.NewPCG(3, 9))
	want := map[string]string{}
	counts := map[string]int{}
	var recs []*kgo.Record
	for i := range 300 {
		var line bytes.Buffer
		for j := range 1 + rng.IntN(8) {
			if j > 0 {
				line.WriteString([]string{" ", ", ", "; ", "  ", "! "}[rng.IntN(5)])
			}
			w := vocab[rng.IntN(len(vocab))]
			line.WriteString(w)
			counts[string(bytes.ToLower([]byte(w)))]++
		}
		recs = append(recs, &kgo.Record{Topic: "text-lines", Key: []byte(strconv.Itoa(i)), Value: line.Bytes()})
	}
	for w, c := range counts {
		want[w] = strconv.Itoa(c)
	}
	p := startExample(t, "word-count", "--brokers", n.kafkaAddr, "--state-dir", t.TempDir())
	produceAll(t, n.client(), recs)
	out := newOutputReader(t, n, "word-counts", false, nil)
	out.readUntil(90*time.Second, func(r []*kgo.Record) bool {
		got := latest(r)
		for w, c := range want {
			if got[w] != c {
				return false
			}
		}
		return true
	}, p)
	got := latest(out.linger(time.Second))
	p.interrupt()
	for w, c := range got {
		if want[w] != c {
			t.Errorf("word %q: count %q, want %q", w, c, want[w])
		}
	}
}

// TestStreamsExampleAccountBalance: deposits and withdrawals of 10 accounts, keyed by event id
// (so the program must regroup them by account); the latest balance of every account must be
// the model's. A second run under a new application id replays the events from the start and
// writes every balance again, ending with the same values.
func TestStreamsExampleAccountBalance(t *testing.T) {
	n := startNode(t)
	n.createTopic("account-events", 3, nil)
	n.createTopic("account-balances", 2, nil)
	type event struct {
		AccountID string  `json:"account_id"`
		Type      string  `json:"type"`
		Amount    float64 `json:"amount"`
	}
	type balance struct {
		AccountID string  `json:"account_id"`
		Balance   float64 `json:"balance"`
	}
	rng := rand.New(rand.NewPCG(5, 6))
	model := map[string]float64{}
	var recs []*kgo.Record
	for i := range 400 {
		e := event{AccountID: "a" + strconv.Itoa(rng.IntN(10)), Type: "deposit", Amount: quarters(rng, 1, 500)}
		if rng.IntN(3) == 0 {
			e.Type = "withdrawal"
			model[e.AccountID] -= e.Amount
		} else {
			model[e.AccountID] += e.Amount
		}
		recs = append(recs, &kgo.Record{Topic: "account-events", Key: []byte("e" + strconv.Itoa(i)), Value: mustJSON(t, e)})
	}
	produceAll(t, n.client(), recs)

	check := func(out *outputReader, p *exampleProc) []*kgo.Record {
		got := func(r []*kgo.Record) map[string]float64 {
			m := map[string]float64{}
			for k, v := range latest(r) {
				var b balance
				if err := json.Unmarshal([]byte(v), &b); err != nil || b.AccountID != k {
					t.Fatalf("output %s=%s: not a balance of the key (%v)", k, v, err)
				}
				m[k] = b.Balance
			}
			return m
		}
		recs := out.readUntil(90*time.Second, func(r []*kgo.Record) bool {
			g := got(r)
			for a, b := range model {
				if g[a] != b {
					return false
				}
			}
			return true
		}, p)
		for a, b := range got(out.linger(time.Second)) {
			if model[a] != b {
				t.Errorf("account %s: balance %v, want %v", a, b, model[a])
			}
		}
		return recs
	}
	p := startExample(t, "account-balance", "--brokers", n.kafkaAddr, "--state-dir", t.TempDir())
	first := check(newOutputReader(t, n, "account-balances", false, nil), p)
	p.interrupt()
	// With the record cache an account's updates within a commit interval give one output:
	// between one per account and one per event.
	accounts := func(out []*kgo.Record) int { return len(latest(out)) }
	if accounts(first) != len(model) || len(first) > len(recs) {
		t.Errorf("first run wrote %d balances of %d accounts for %d events; want every account's, at most one per event", len(first), accounts(first), len(recs))
	}

	ends, err := n.admin().ListEndOffsets(t.Context(), "account-balances")
	if err != nil {
		t.Fatal(err)
	}
	from := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) { from[o.Partition] = kgo.NewOffset().At(o.Offset) })
	p = startExample(t, "account-balance", "--brokers", n.kafkaAddr, "--state-dir", t.TempDir(), "--application-id", "account-balance-v2")
	replay := check(newOutputReader(t, n, "account-balances", false, from), p)
	p.interrupt()
	if accounts(replay) != len(model) || len(replay) > len(recs) {
		t.Errorf("the replay wrote %d balances of %d accounts for %d events; want every account's again, at most one per event", len(replay), accounts(replay), len(recs))
	}
}

// TestStreamsExampleEnrichment: customer profiles are created, updated and deleted in phases;
// before each phase's orders the test waits until a probe order shows the program sees every
// profile change (the table is then settled), so every order of the phase must carry exactly
// the profile current in the model (null for customers without one).
func TestStreamsExampleEnrichment(t *testing.T) {
	n := startNode(t)
	compact := "compact"
	n.createTopic("orders", 3, nil)
	n.createTopic("customers", 3, map[string]*string{"cleanup.policy": &compact})
	n.createTopic("orders-enriched", 3, nil)
	type order struct {
		OrderID    string  `json:"order_id"`
		CustomerID string  `json:"customer_id"`
		Amount     float64 `json:"amount"`
	}
	type enriched struct {
		order
		Customer json.RawMessage `json:"customer"`
	}
	cl := n.client()
	p := startExample(t, "enrichment", "--brokers", n.kafkaAddr, "--state-dir", t.TempDir())
	out := newOutputReader(t, n, "orders-enriched", false, nil)
	byID := map[string]enriched{}
	index := func(r []*kgo.Record) {
		for _, rec := range r[len(byID):] {
			var e enriched
			if err := json.Unmarshal(rec.Value, &e); err != nil || e.OrderID != string(rec.Key) {
				t.Fatalf("output %s=%s: not an enriched order of its key (%v)", rec.Key, rec.Value, err)
			}
			if _, dup := byID[e.OrderID]; dup {
				t.Fatalf("order %s written twice", e.OrderID)
			}
			byID[e.OrderID] = e
		}
	}

	profiles := map[string]string{} // the model: customer -> profile JSON
	rng := rand.New(rand.NewPCG(8, 1))
	probes := 0
	phase := func(num int, changes map[string]string) { // "" deletes
		var recs []*kgo.Record
		for c, prof := range changes {
			r := &kgo.Record{Topic: "customers", Key: []byte(c)}
			if prof != "" {
				r.Value = []byte(prof)
				profiles[c] = prof
			} else {
				delete(profiles, c)
			}
			recs = append(recs, r)
		}
		produceAll(t, cl, recs)
		// Probe each changed customer until an order shows its new profile.
		for c := range changes {
			wantProf := "null"
			if prof, ok := profiles[c]; ok {
				wantProf = prof
			}
			for settled := false; !settled; {
				probes++
				id := "probe-" + strconv.Itoa(probes)
				produceAll(t, cl, []*kgo.Record{{Topic: "orders", Key: []byte(id), Value: mustJSON(t, order{id, c, 1})}})
				out.readUntil(60*time.Second, func(r []*kgo.Record) bool { index(r); _, ok := byID[id]; return ok }, p)
				settled = string(byID[id].Customer) == wantProf
				if !settled && probes > 200 {
					t.Fatalf("customer %s: orders still enriched with %s, want %s", c, byID[id].Customer, wantProf)
				}
			}
		}
		var orders []*kgo.Record
		var ids []string
		for i := range 60 {
			o := order{OrderID: fmt.Sprintf("o%d-%d", num, i), CustomerID: "c" + strconv.Itoa(rng.IntN(8)), Amount: quarters(rng, 1, 100)}
			orders = append(orders, &kgo.Record{Topic: "orders", Key: []byte(o.OrderID), Value: mustJSON(t, o)})
			ids = append(ids, o.OrderID)
		}
		snapshot := map[string]string{}
		for c, prof := range profiles {
			snapshot[c] = prof
		}
		produceAll(t, cl, orders)
		out.readUntil(60*time.Second, func(r []*kgo.Record) bool {
			index(r)
			for _, id := range ids {
				if _, ok := byID[id]; !ok {
					return false
				}
			}
			return true
		}, p)
		for i, id := range ids {
			e := byID[id]
			var o order
			json.Unmarshal(orders[i].Value, &o)
			wantProf, ok := snapshot[o.CustomerID]
			if !ok {
				wantProf = "null"
			}
			if e.order != o || string(e.Customer) != wantProf {
				t.Errorf("phase %d: order %s enriched as %+v %s, want %+v %s", num, id, e.order, e.Customer, o, wantProf)
			}
		}
	}
	prof := func(c string, v int) string {
		return fmt.Sprintf(`{"customer_id":%q,"name":"Customer %s","version":%d}`, c, c, v)
	}
	phase(1, map[string]string{"c0": prof("c0", 1), "c1": prof("c1", 1), "c2": prof("c2", 1), "c3": prof("c3", 1), "c4": prof("c4", 1), "c5": prof("c5", 1)})
	phase(2, map[string]string{"c1": prof("c1", 2), "c3": prof("c3", 2), "c2": "", "c6": prof("c6", 1)})
	phase(3, map[string]string{"c0": prof("c0", 3), "c2": prof("c2", 3), "c6": ""})
	p.interrupt()
}

// TestStreamsExampleReadme runs the commands of the README's "Process streams" section (kept
// in step by hand): two transactions of c1, the second closing the first one's window, give
// one alert of 10,500.
func TestStreamsExampleReadme(t *testing.T) {
	n := startNode(t)
	sluice := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(sluiceBin, args...)
		cmd.Env = append(os.Environ(), "SLUICE_BROKERS="+n.kafkaAddr)
		cmd.Stdin = strings.NewReader(stdin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(90 * time.Second):
				cmd.Process.Kill()
			}
		}()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("sluice %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return string(out)
	}
	sluice("", "topic", "create", "transactions", "-p", "3")
	sluice("", "topic", "create", "suspicious-transactions", "-p", "3")
	p := startExample(t, "fraud-detection", "--brokers", n.kafkaAddr, "--state-dir", t.TempDir())
	sluice(`c1|{"customer_id":"c1","amount":10500,"timestamp":"2026-01-15T10:30:00Z"}`+"\n"+
		`c1|{"customer_id":"c1","amount":1,"timestamp":"2026-01-15T10:45:00Z"}`+"\n",
		"produce", "transactions", "-K", "|")
	out := sluice("", "consume", "suspicious-transactions", "-o", "start", "-n", "1")
	want := `{"customer_id":"c1","total":10500,"window_start":"2026-01-15T10:30:00Z","window_end":"2026-01-15T10:40:00Z"}`
	if !strings.Contains(out, want) {
		t.Errorf("consumed %q, want a line with %s", out, want)
	}
	p.interrupt()
}

// TestStreamsExampleEnrichmentPartitionCounts: with "customers" in fewer partitions than
// "orders", the orders' repartition topic takes the customers' count (Kafka Streams sizes a
// repartition topic of a co-partition group after the group's other topics), so the join runs
// and orders come out enriched.
func TestStreamsExampleEnrichmentPartitionCounts(t *testing.T) {
	n := startNode(t)
	compact := "compact"
	n.createTopic("orders", 3, nil)
	n.createTopic("customers", 2, map[string]*string{"cleanup.policy": &compact})
	n.createTopic("orders-enriched", 3, nil)
	cl := n.client()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "customers", Key: []byte("c1"), Value: []byte(`{"name":"Ann"}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	p := startExample(t, "enrichment", "--brokers", n.kafkaAddr, "--state-dir", t.TempDir())
	out := n.client(kgo.ConsumeTopics("orders-enriched"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for i := 0; ; i++ {
		// An order now and then, until one finds the profile in the table.
		order := fmt.Sprintf(`{"order_id":"o-%d","customer_id":"c1","amount":1}`, i)
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "orders", Key: []byte(fmt.Sprintf("o-%d", i)), Value: []byte(order)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		found := false
		out.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
			if strings.Contains(string(r.Value), `"customer":{"name":"Ann"}`) {
				found = true
			}
		})
		pcancel()
		if found {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no order came out enriched\n%s", tail(p.logs.String(), 20))
		}
	}
	p.interrupt()
}
