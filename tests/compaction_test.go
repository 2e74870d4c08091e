package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// compactedView is a compacted topic read from its start to its end.
type compactedView struct {
	latest     map[string]string // key → last value read ("" for a tombstone)
	records    int
	tombstones int
}

// readCompacted reads partition 0 of topic from the log start to the end offset, failing on
// offsets that do not increase.
func readCompacted(t *testing.T, n *node, topic string) compactedView {
	t.Helper()
	ctx := ctxTimeout(t, 30*time.Second)
	ends, err := n.admin().ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(topic, 0)
	v := compactedView{latest: map[string]string{}}
	if end.Offset == 0 {
		return v
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.kafkaAddr),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	last := int64(-1)
	for last < end.Offset-1 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read up to offset %d of %d before the deadline", last, end.Offset)
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset <= last {
				t.Fatalf("offset %d after %d", r.Offset, last)
			}
			last = r.Offset
			v.records++
			if len(r.Value) == 0 {
				v.tombstones++
				v.latest[string(r.Key)] = ""
				return
			}
			v.latest[string(r.Key)] = string(r.Value)
		})
	}
	return v
}

// keyWriters produce updates to a compacted topic: each of 4 writers owns a quarter of the
// keys, so acknowledged order is per-key order, and remembers each key's last acknowledged
// value ("" once deleted).
type keyWriters struct {
	t      *testing.T
	topic  string
	client *kgo.Client
	keys   int
	pad    string
	mu     sync.Mutex
	latest map[string]string
	seq    int
}

func newKeyWriters(t *testing.T, n *node, topic string, keys int) *keyWriters {
	return &keyWriters{t: t, topic: topic, keys: keys, latest: map[string]string{}, pad: strings.Repeat("p", 100),
		client: n.client(kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(time.Millisecond))}
}

func keyName(k int) string { return fmt.Sprintf("key-%03d", k) }

// write produces total updates (random keys of each writer's quarter) in batches of 50.
func (w *keyWriters) write(ctx context.Context, total int, keysFrom int) {
	var wg sync.WaitGroup
	for writer := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(writer), uint64(total)))
			var mine []int
			for k := keysFrom; k < w.keys; k++ {
				if k%4 == writer {
					mine = append(mine, k)
				}
			}
			for done := 0; done < total/4; done += 50 {
				recs := make([]*kgo.Record, 0, 50)
				for range 50 {
					w.mu.Lock()
					w.seq++
					seq := w.seq
					w.mu.Unlock()
					key := keyName(mine[rng.IntN(len(mine))])
					recs = append(recs, &kgo.Record{Topic: w.topic, Key: []byte(key), Value: fmt.Appendf(nil, "%s-v%07d-%s", key, seq, w.pad)})
				}
				if err := w.client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
					w.t.Errorf("produce: %v", err)
					return
				}
				w.mu.Lock()
				for _, r := range recs {
					w.latest[string(r.Key)] = string(r.Value)
				}
				w.mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// touch writes one more update of touchKeys live keys: after segment.ms it rolls the active
// segment, and it is enough new data (above min.cleanable.dirty.ratio) for a clean.
func (w *keyWriters) touch(ctx context.Context) {
	w.mu.Lock()
	var recs []*kgo.Record
	for i := range touchKeys {
		w.seq++
		key := keyName(20 + (w.seq+i)%(w.keys-20))
		recs = append(recs, &kgo.Record{Topic: w.topic, Key: []byte(key), Value: fmt.Appendf(nil, "%s-v%07d-touch-%s", key, w.seq, w.pad)})
	}
	w.mu.Unlock()
	if err := w.client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		w.t.Fatalf("produce: %v", err)
	}
	w.mu.Lock()
	for _, r := range recs {
		w.latest[string(r.Key)] = string(r.Value)
	}
	w.mu.Unlock()
}

// touchKeys is how many keys a touch updates: the active segment holds them (uncleaned) on top
// of one record per live key in the cleaned segments.
const touchKeys = 40

// deleteKeys writes a tombstone for keys [0, n).
func (w *keyWriters) deleteKeys(ctx context.Context, n int) {
	var recs []*kgo.Record
	for k := range n {
		recs = append(recs, &kgo.Record{Topic: w.topic, Key: []byte(keyName(k))})
	}
	if err := w.client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		w.t.Fatalf("produce tombstones: %v", err)
	}
	w.mu.Lock()
	for k := range n {
		w.latest[keyName(k)] = ""
	}
	w.mu.Unlock()
}

// live is the expected content: every key not deleted, with its last value.
func (w *keyWriters) live() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]string{}
	for k, v := range w.latest {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// waitCompacted waits until reading the topic gives exactly want (no deleted key, no
// tombstone, each live key's latest value) and at most touchKeys records beyond one per key.
// Between reads it writes one more update of a live key (after segment.ms), which rolls the
// active segment so the cleaner can reach everything before it.
func waitCompacted(t *testing.T, n *node, w *keyWriters, deadline time.Duration) compactedView {
	t.Helper()
	ctx := ctxTimeout(t, deadline+30*time.Second)
	stop := time.Now().Add(deadline)
	var v compactedView
	for {
		want := w.live()
		v = readCompacted(t, n, w.topic)
		ok := v.tombstones == 0 && v.records <= len(want)+touchKeys
		for k, val := range v.latest {
			if want[k] != val {
				ok = false
			}
		}
		for k := range want {
			if _, found := v.latest[k]; !found {
				ok = false
			}
		}
		if ok {
			return v
		}
		if time.Now().After(stop) {
			t.Fatalf("not compacted after %v: %d records, %d tombstones, %d keys read, %d live keys expected",
				deadline, v.records, v.tombstones, len(v.latest), len(want))
		}
		w.touch(ctx)
		time.Sleep(600 * time.Millisecond) // segment.ms, and time for a clean
	}
}

// TestCompactedTopic: 20,000 updates of 200 keys and tombstones for 20 of them, while the
// cleaner works and producers keep writing, end up as exactly the latest value of each of the
// 180 live keys, with no tombstone left after delete.retention.ms and offsets increasing; a
// SIGKILL while a clean is in progress loses nothing.
func TestCompactedTopic(t *testing.T) {
	n := startNode(t, "--override", "log.cleaner.backoff.ms=100")
	t.Cleanup(func() {
		if t.Failed() {
			os.WriteFile("/tmp/compaction.log", []byte(n.logs.String()), 0o644)
		}
	})
	cfg := func(s string) *string { return &s }
	topic := "compacted"
	n.createTopic(topic, 1, map[string]*string{
		"cleanup.policy":            cfg("compact"),
		"segment.bytes":             cfg("1048576"),
		"segment.ms":                cfg("500"),
		"min.cleanable.dirty.ratio": cfg("0.01"),
		"delete.retention.ms":       cfg("1000"),
	})
	ctx := ctxTimeout(t, 120*time.Second)
	w := newKeyWriters(t, n, topic, 200)
	w.write(ctx, 20000, 0)
	w.deleteKeys(ctx, 20)
	// Producers keep writing (live keys only) while the cleaner removes the tombstones.
	w.write(ctx, 2000, 20)
	v := waitCompacted(t, n, w, 40*time.Second)
	if len(v.latest) != 180 {
		t.Fatalf("%d keys read, want the 180 live ones", len(v.latest))
	}
	if !n.loggedWithin("cleaned log", 5*time.Second) {
		t.Fatal("the broker never logged a clean")
	}

	// A SIGKILL during a clean: slow the cleaner down (a restart with an I/O limit), write a
	// lot, and kill the broker while cleaned files are on disk.
	n.kill()
	n.extraArgs = append(n.extraArgs, "--override", "log.cleaner.io.max.bytes.per.second=1000000")
	n.start()
	// Uncompressed, so the data fills several segments.
	w.client = n.client(kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(time.Millisecond),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	w.pad = strings.Repeat("q", 400)
	w.write(ctx, 12000, 20)
	if ends, err := n.admin().ListEndOffsets(ctx, topic); err == nil {
		e, _ := ends.Lookup(topic, 0)
		t.Logf("end offset after the second round of writes: %d", e.Offset)
	}
	partDir := filepath.Join(n.dataDir, topic+"-0")
	cleaning := func() bool {
		names, _ := os.ReadDir(partDir)
		for _, e := range names {
			if strings.HasSuffix(e.Name(), ".cleaned") || strings.HasSuffix(e.Name(), ".swap") {
				return true
			}
		}
		return false
	}
	caught := false
	for until, touched := time.Now().Add(30*time.Second), time.Now(); time.Now().Before(until); {
		if cleaning() {
			caught = true
			break
		}
		if time.Since(touched) > 600*time.Millisecond {
			w.touch(ctx) // keeps segments rolling (segment.ms) until a clean starts
			touched = time.Now()
		}
		time.Sleep(2 * time.Millisecond)
	}
	if !caught {
		t.Fatal("never saw a clean in progress")
	}
	n.kill()
	n.extraArgs = n.extraArgs[:len(n.extraArgs)-2]
	n.start()
	w.client = n.client(kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(time.Millisecond))
	// Nothing acknowledged is lost: right after the restart every key reads as its latest.
	got := readCompacted(t, n, topic)
	for k, val := range w.live() {
		if got.latest[k] != val {
			t.Fatalf("after the SIGKILL key %s reads %.30q, want %.30q", k, got.latest[k], val)
		}
	}
	for k, val := range got.latest {
		if val != "" && w.live()[k] == "" {
			t.Fatalf("deleted key %s came back after the SIGKILL", k)
		}
	}
	v = waitCompacted(t, n, w, 40*time.Second)
	if len(v.latest) != 180 {
		t.Fatalf("%d keys read after the restart, want 180", len(v.latest))
	}
}
