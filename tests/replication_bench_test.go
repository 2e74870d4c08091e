package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The replication benchmarks, on three `sluice serve` processes on 127.0.0.1-3 at default
// settings (no proxies), a new cluster per iteration:
//
//	go test ./tests -run '^$' -bench Replication -benchtime 3x
//
// BenchmarkReplicationThroughput runs `sluice bench produce` (1 KiB records, acks=all) on a
// topic of replication factor 1 and then on one of replication factor 3 (min.insync.replicas=2)
// in the same cluster, and a run paced at 10,000 records/s on the RF 3 topic for its latency;
// the unavailability benchmarks time a producer (acks=all) to a partition of replication
// factor 3 from a fault to its next acknowledged record.

// syncDisks writes the page cache back (sync(1)), so the next run does not pay for the
// previous one's dirty pages.
func syncDisks(b *testing.B) {
	b.Helper()
	if err := exec.Command("sync").Run(); err != nil {
		b.Fatalf("sync: %v", err)
	}
}

// benchProduce runs `sluice bench produce --json` against brokers with args and returns its
// result.
func benchProduce(b *testing.B, brokers string, args ...string) benchResultJSON {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sluiceBin, append([]string{"bench", "produce", "--brokers", brokers, "--json"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("sluice bench produce %v: %v\n%s", args, err, stderr.String())
	}
	var r benchResultJSON
	if err := json.Unmarshal(out, &r); err != nil {
		b.Fatalf("sluice bench produce output %q: %v", out, err)
	}
	return r
}

type benchResultJSON struct {
	Records       int64   `json:"records"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	Errors        int64   `json:"errors"`
	LatencyMs     struct {
		P50 float64 `json:"p50"`
		P99 float64 `json:"p99"`
		Max float64 `json:"max"`
	} `json:"latency_ms"`
}

// createRF3Topic creates topic with partitions and replication factor rf (min.insync.replicas=2
// when rf is 3) and waits until each partition has a leader.
func createBenchTopic(b *testing.B, c *procCluster, topic string, partitions int32, rf int16) {
	b.Helper()
	adm := kadm.NewClient(c.node(1).client())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var cfg map[string]*string
	if rf == 3 {
		two := "2"
		cfg = map[string]*string{"min.insync.replicas": &two}
	}
	resp, err := adm.CreateTopic(ctx, partitions, rf, cfg, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		b.Fatal(err)
	}
	for p := range partitions {
		if leaderOf(c, topic, p, -1, 30*time.Second) < 0 {
			b.Fatalf("%s/%d has no leader", topic, p)
		}
	}
}

// leaderOf waits up to timeout for partition p of topic to have a leader other than not, as
// a running node reports it; -1 if none came.
func leaderOf(c *procCluster, topic string, p, not int32, timeout time.Duration) int32 {
	deadline := time.Now().Add(timeout)
	for {
		for _, nd := range c.nodes {
			if !nd.running() || nd.paused {
				continue
			}
			md, err := metadataFrom(nd, topic)
			if err != nil {
				continue
			}
			if pm, ok := md.Topics[topic][fmt.Sprint(p)]; ok && pm.Leader >= 0 && pm.Leader != not {
				return pm.Leader
			}
		}
		if time.Now().After(deadline) {
			return -1
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkReplicationThroughput: records/s of acks=all on RF 1 and RF 3 in one cluster, their
// ratio, and the produce latency at 10,000 records/s on RF 3.
func BenchmarkReplicationThroughput(b *testing.B) {
	var rf1, rf3, rf3acks1, p50, p99 float64
	for range b.N {
		c := startProcCluster(b, 3)
		createBenchTopic(b, c, "rf1", 6, 1)
		createBenchTopic(b, c, "rf3", 6, 3)
		createBenchTopic(b, c, "paced", 6, 3)
		brokers := c.bootstrap()
		// The paced run first, and the page cache written back (sync) before each run: a run
		// right after gigabytes of writes measures the kernel's writeback of the previous one
		// (write(2) blocked in dirty-page throttling for seconds), not this run.
		syncDisks(b)
		paced := benchProduce(b, brokers, "--topic", "paced", "--acks", "all", "--duration", "10s", "--throughput", "10000")
		syncDisks(b)
		r1 := benchProduce(b, brokers, "--topic", "rf1", "--acks", "all", "--duration", "10s")
		syncDisks(b)
		r3 := benchProduce(b, brokers, "--topic", "rf3", "--acks", "all", "--duration", "10s")
		syncDisks(b)
		// acks=1 on RF 3: the followers still fetch everything, the producer does not wait for
		// them; against acks=all it separates the cost of replicating from that of waiting.
		r31 := benchProduce(b, brokers, "--topic", "rf3", "--acks", "1", "--duration", "10s")
		if r1.Errors+r3.Errors+r31.Errors+paced.Errors > 0 {
			b.Fatalf("produce errors: rf1 %d, rf3 %d, paced %d", r1.Errors, r3.Errors, paced.Errors)
		}
		b.Logf("RF 1: %.0f records/s (%.1f MB/s, p99 %.1f ms); RF 3: %.0f records/s (%.1f MB/s, p99 %.1f ms), ratio %.2f; RF 3 acks=1: %.0f records/s; RF 3 at 10,000/s: %.0f records/s, p50 %.2f ms, p99 %.2f ms, max %.1f ms",
			r1.RecordsPerSec, r1.MBPerSec, r1.LatencyMs.P99, r3.RecordsPerSec, r3.MBPerSec, r3.LatencyMs.P99, r3.RecordsPerSec/r1.RecordsPerSec, r31.RecordsPerSec,
			paced.RecordsPerSec, paced.LatencyMs.P50, paced.LatencyMs.P99, paced.LatencyMs.Max)
		rf1 += r1.RecordsPerSec
		rf3 += r3.RecordsPerSec
		rf3acks1 += r31.RecordsPerSec
		p50 += paced.LatencyMs.P50
		p99 += paced.LatencyMs.P99
		c.cleanup()
	}
	n := float64(b.N)
	b.ReportMetric(rf1/n, "rf1-rec/s")
	b.ReportMetric(rf3/n, "rf3-rec/s")
	b.ReportMetric(rf3/rf1, "rf3/rf1")
	b.ReportMetric(rf3acks1/n, "rf3-acks1-rec/s")
	b.ReportMetric(p50/n, "p50-ms@10k")
	b.ReportMetric(p99/n, "p99-ms@10k")
}

// unavailability produces one record at a time (acks=all, franz-go retrying at once, metadata
// refreshed as often as it asks) to partition 0 of an RF 3 topic, applies fault (which
// returns once the fault is complete: the process gone), produces on for another 2 s, and
// returns the longest gap between two consecutive acknowledgements that ends after the fault
// began: what a producer waits at worst. For a SIGKILL that is the kill to the next
// acknowledgement (plus at most one produce's latency before the kill); for a controlled
// shutdown, the longest stall while leadership moves.
func unavailability(b *testing.B, c *procCluster, topic string, fault func()) time.Duration {
	b.Helper()
	cl := c.node(1).client(kgo.SeedBrokers(strings.Split(c.bootstrap(), ",")...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.MetadataMinAge(50*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }),
		kgo.RequestTimeoutOverhead(time.Second), kgo.ProduceRequestTimeout(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for i := range 50 { // warm: connections, producer id
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprint("warm-", i))}).FirstErr(); err != nil {
			b.Fatal(err)
		}
	}
	var began, done atomic.Int64 // unix nanos: the fault began, it is complete
	go func() {
		time.Sleep(200 * time.Millisecond)
		began.Store(time.Now().UnixNano())
		fault()
		done.Store(time.Now().UnixNano())
	}()
	last := time.Now()
	var worst time.Duration
	for seq := 0; ; seq++ {
		err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprint("v-", seq))}).FirstErr()
		now := time.Now()
		if err == nil {
			if b0 := began.Load(); b0 != 0 && now.Sub(last) > worst {
				worst = now.Sub(last)
			}
			last = now
		}
		if d := done.Load(); d != 0 && now.Sub(time.Unix(0, d)) > 2*time.Second && err == nil {
			return worst
		}
		if ctx.Err() != nil {
			b.Fatalf("no acknowledged produce within 90 s of the fault: %v\n%s", err, c.logTails(20))
		}
	}
}

// benchUnavailability runs fault on the leader of partition 0 (a node that is not the
// controller, so only the partition fails over) in a fresh cluster per iteration and
// reports the mean unavailability.
func benchUnavailability(b *testing.B, metric string, fault func(c *procCluster, leader *procNode)) {
	var total time.Duration
	for i := range b.N {
		c := startProcCluster(b, 3)
		topic := fmt.Sprintf("unavail-%d", i)
		ctl := c.controller()
		// Find a partition led by a node that is not the controller and use a one-partition
		// topic there: preferred leaders go round the brokers, so try a few topics.
		var leader int32 = -1
		for attempt := 0; attempt < 6; attempt++ {
			topic = fmt.Sprintf("unavail-%d-%d", i, attempt)
			createBenchTopic(b, c, topic, 1, 3)
			if leader = leaderOf(c, topic, 0, -1, 10*time.Second); leader != ctl {
				break
			}
		}
		if leader == ctl {
			b.Fatalf("every topic's leader is the controller %d", ctl)
		}
		d := unavailability(b, c, topic, func() { fault(c, c.node(leader)) })
		b.Logf("iteration %d: leader %d, controller %d: %v", i, leader, ctl, d.Round(time.Millisecond))
		total += d
		c.cleanup()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), metric)
}

// BenchmarkReplicationLeaderKill: SIGKILL of a partition's leader → the next acknowledged
// record (default broker.session.timeout.ms).
func BenchmarkReplicationLeaderKill(b *testing.B) {
	benchUnavailability(b, "unavailable-ms", func(_ *procCluster, l *procNode) { l.kill() })
}

// BenchmarkReplicationLeaderShutdown: SIGTERM of a partition's leader (controlled shutdown:
// leadership moves before it exits) → the next acknowledged record.
func BenchmarkReplicationLeaderShutdown(b *testing.B) {
	benchUnavailability(b, "unavailable-ms", func(_ *procCluster, l *procNode) { l.terminate(60 * time.Second) })
}

// BenchmarkReplicationClusterRestart: SIGTERM of all three nodes, then the launch of all three
// on their data → the first acknowledged record (acks=all) to an RF 3 partition.
func BenchmarkReplicationClusterRestart(b *testing.B) {
	var total time.Duration
	for i := range b.N {
		c := startProcCluster(b, 3)
		topic := fmt.Sprintf("restart-%d", i)
		createBenchTopic(b, c, topic, 1, 3)
		brokers := strings.Split(c.bootstrap(), ",")
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("before")}).FirstErr(); err != nil {
			b.Fatal(err)
		}
		cl.Close()
		for _, nd := range c.nodes {
			nd.terminate(60 * time.Second)
		}
		began := time.Now()
		for _, nd := range c.nodes {
			if err := nd.launch(); err != nil {
				b.Fatal(err)
			}
		}
		cl, err = kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic), kgo.MetadataMinAge(50*time.Millisecond),
			kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }))
		if err != nil {
			b.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("after")}).FirstErr(); err != nil {
			b.Fatalf("first produce after the restart: %v\n%s", err, c.logTails(20))
		}
		d := time.Since(began)
		cl.Close()
		cancel()
		b.Logf("iteration %d: launch of all three → first acknowledged record %v", i, d.Round(time.Millisecond))
		total += d
		c.cleanup()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "restart-ms")
}
