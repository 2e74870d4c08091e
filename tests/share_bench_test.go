package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestShareGroupThroughput measures share-group consumption of one partition with 1, 4 and 16
// franz-go share consumers, on Sluice and on kfake (franz-go's reference broker, bench/kfake,
// its own process) in the same run, and logs records/s per cell and the ratio. It is a
// measurement, not a check: it runs only with SLUICE_SHARE_BENCH=1:
//
//	SLUICE_SHARE_BENCH=1 go test ./tests -run TestShareGroupThroughput -v -timeout 20m
//
// Each cell: a fresh broker, a one-partition topic, the consumers joined (a warm-up record
// received: share groups start at the latest offset), then 100000 records of 100 B produced
// in batches of up to 100 while the consumers read; the figure is records / time from the
// first produce to the last record received. Consumers accept every record (franz-go
// accepts a poll's records at the next poll).
func TestShareGroupThroughput(t *testing.T) {
	if os.Getenv("SLUICE_SHARE_BENCH") == "" {
		t.Skip("a measurement: set SLUICE_SHARE_BENCH=1")
	}
	kfakeBin := filepath.Join(t.TempDir(), "kfake")
	if out, err := exec.Command("go", "build", "-o", kfakeBin, "../bench/kfake").CombinedOutput(); err != nil {
		t.Fatalf("build kfake: %v\n%s", err, out)
	}
	const records = 100000
	results := map[string]float64{}
	for _, consumers := range []int{1, 4, 16} {
		for _, broker := range []string{"sluice", "kfake"} {
			var addr string
			if broker == "sluice" {
				n := startNode(t)
				addr = n.kafkaAddr
			} else {
				addr = startKfake(t, kfakeBin)
			}
			rate := shareThroughput(t, addr, consumers, records)
			results[fmt.Sprintf("%s/%d", broker, consumers)] = rate
			t.Logf("%s, %d consumers: %.0f records/s", broker, consumers, rate)
		}
		t.Logf("%d consumers: Sluice / kfake = %.2f", consumers,
			results[fmt.Sprintf("sluice/%d", consumers)]/results[fmt.Sprintf("kfake/%d", consumers)])
	}
}

// startKfake runs bench/kfake on a free port until the test ends and returns its address.
func startKfake(t *testing.T, bin string) string {
	t.Helper()
	addr := freeAddr(t)
	port := addr[strings.LastIndex(addr, ":")+1:]
	cmd := exec.Command(bin, "--port", port, "--data-dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := cl.Ping(ctx)
		cancel()
		if err == nil {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("kfake did not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shareThroughput runs one cell and returns records/s.
func shareThroughput(t *testing.T, addr string, consumers, records int) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	admin, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := kadm.NewClient(admin).CreateTopic(ctx, 1, 1, nil, "bench"); err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		seen     = map[int64]bool{}
		warm     atomic.Bool
		received atomic.Int64
		done     = make(chan struct{})
		wg       sync.WaitGroup
	)
	for i := range consumers {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("bench"), kgo.ShareGroup("bench-group"),
			kgo.ClientID(fmt.Sprintf("consumer-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Close()
			for {
				select {
				case <-done:
					return
				default:
				}
				pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
				fetches := cl.PollFetches(pctx)
				pcancel()
				fetches.EachRecord(func(r *kgo.Record) {
					if string(r.Key) == "warmup" {
						warm.Store(true)
						return
					}
					mu.Lock()
					if !seen[r.Offset] {
						seen[r.Offset] = true
						if received.Add(1) == int64(records) {
							close(done)
						}
					}
					mu.Unlock()
				})
			}
		}()
	}
	producer, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("bench"), kgo.MaxBufferedRecords(1<<16),
		kgo.ProducerLinger(5*time.Millisecond), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	for !warm.Load() {
		if err := producer.ProduceSync(ctx, &kgo.Record{Key: []byte("warmup"), Partition: 0}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			t.Fatal("no consumer received a warm-up record")
		case <-time.After(200 * time.Millisecond):
		}
	}
	value := make([]byte, 100)
	began := time.Now()
	for range records {
		producer.Produce(ctx, &kgo.Record{Value: value, Partition: 0}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := producer.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("%d of %d records received", received.Load(), records)
	}
	elapsed := time.Since(began)
	wg.Wait()
	return float64(records) / elapsed.Seconds()
}
