package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

type ackedRecord struct {
	partition int32
	offset    int64
	value     string
}

// TestSigkillUnderAcksAll kills the broker with SIGKILL while producers with acks=all are
// writing, restarts it on the same data directory, and checks that every acknowledged record
// is there at the offset it was acknowledged with, and that no partition has an offset gap.
// It runs in the default (page cache) mode and in group-commit mode.
func TestSigkillUnderAcksAll(t *testing.T) {
	for _, mode := range []struct {
		name string
		args []string
	}{
		{name: "page-cache"},
		{name: "group-commit", args: []string{"--override", "sluice.group.commit=true"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			n := startNode(t, mode.args...)
			n.createTopic("ledger", 6, nil)

			var mu sync.Mutex
			var acked []ackedRecord
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for w := 0; w < 4; w++ {
				cl := n.client(kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordRetries(0), kgo.ProducerLinger(time.Millisecond))
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; ctx.Err() == nil; i++ {
						value := fmt.Sprintf("w%d-%d", w, i)
						cl.Produce(ctx, &kgo.Record{Topic: "ledger", Value: []byte(value)}, func(r *kgo.Record, err error) {
							if err == nil {
								mu.Lock()
								acked = append(acked, ackedRecord{r.Partition, r.Offset, value})
								mu.Unlock()
							}
						})
						if i%64 == 0 {
							time.Sleep(time.Millisecond)
						}
					}
				}(w)
			}
			time.Sleep(1500 * time.Millisecond)
			n.kill()
			cancel()
			wg.Wait()
			mu.Lock()
			snapshot := append([]ackedRecord(nil), acked...)
			mu.Unlock()
			if len(snapshot) < 100 {
				t.Fatalf("only %d records acknowledged before the kill; the load did not run", len(snapshot))
			}

			n.start()
			t.Logf("%d acknowledged records; restart after SIGKILL took %v", len(snapshot), n.startup)
			stored := readAll(t, n, "ledger", 6)
			for _, a := range snapshot {
				got, ok := stored[a.partition][a.offset]
				if !ok || got != a.value {
					t.Fatalf("acknowledged %q at %d/%d, found %q (present=%v)", a.value, a.partition, a.offset, got, ok)
				}
			}
			for p, records := range stored {
				offsets := make([]int64, 0, len(records))
				for o := range records {
					offsets = append(offsets, o)
				}
				sort.Slice(offsets, func(i, j int) bool { return offsets[i] < offsets[j] })
				for i, o := range offsets {
					if o != int64(i) {
						t.Fatalf("partition %d: offset %d at position %d, a gap", p, o, i)
					}
				}
			}
		})
	}
}

// readAll reads every record of every partition, from the log start to the end offset.
func readAll(t *testing.T, n *node, topic string, partitions int32) map[int32]map[int64]string {
	t.Helper()
	ctx := ctxTimeout(t, 60*time.Second)
	adm := n.admin()
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[int32]map[int64]string)
	var want int64
	for p := int32(0); p < partitions; p++ {
		out[p] = make(map[int64]string)
		s, _ := starts.Lookup(topic, p)
		e, _ := ends.Lookup(topic, p)
		want += e.Offset - s.Offset
	}
	if want == 0 {
		return out
	}
	offsets := map[string]map[int32]kgo.Offset{topic: {}}
	for p := int32(0); p < partitions; p++ {
		offsets[topic][p] = kgo.NewOffset().AtStart()
	}
	cl := n.client(kgo.ConsumePartitions(offsets))
	var got int64
	for got < want {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records before timeout", got, want)
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fetches.EachRecord(func(r *kgo.Record) {
			out[r.Partition][r.Offset] = string(r.Value)
			got++
		})
	}
	return out
}

// TestCleanRestartAndLayout stops the broker with SIGTERM and finds, on the next start, every
// record and topic as it was; the data directory has Kafka's file layout.
func TestCleanRestartAndLayout(t *testing.T) {
	n := startNode(t)
	n.createTopic("layout", 2, nil)
	cl := n.client()
	produceSync(t, cl, "layout", 100)
	n.stop()

	for _, rel := range []string{
		"layout-0/00000000000000000000.log",
		"layout-0/00000000000000000000.index",
		"layout-0/00000000000000000000.timeindex",
		"layout-0/leader-epoch-checkpoint",
		"layout-0/partition.metadata",
		"layout-1/00000000000000000000.log",
		"recovery-point-offset-checkpoint",
		"log-start-offset-checkpoint",
	} {
		if _, err := os.Stat(filepath.Join(n.dataDir, rel)); err != nil {
			t.Errorf("data dir lacks %s: %v", rel, err)
		}
	}
	meta, err := os.ReadFile(filepath.Join(n.dataDir, "layout-0", "partition.metadata"))
	if err != nil || !strings.Contains(string(meta), "topic_id:") {
		t.Errorf("partition.metadata = %q, %v; want a topic_id line", meta, err)
	}

	n.start()
	t.Logf("clean restart took %v", n.startup)
	stored := readAll(t, n, "layout", 2)
	total := len(stored[0]) + len(stored[1])
	if total != 100 {
		t.Fatalf("after restart found %d records, want 100", total)
	}
}

// TestRetentionBytes writes past retention.bytes on a topic with small segments (Kafka 4's
// minimum segment.bytes, 1 MiB) and sees the broker delete old segments, moving the log start
// offset, while the newest data stays.
func TestRetentionBytes(t *testing.T) {
	n := startNode(t, "--override", "log.retention.check.interval.ms=200")
	n.createTopic("bounded", 1, map[string]*string{
		"segment.bytes":   kadm.StringPtr("1048576"),
		"retention.bytes": kadm.StringPtr("2097152"),
	})
	// Uncompressed: kgo's default snappy would shrink these repetitive values to almost nothing.
	cl := n.client(kgo.ProducerBatchMaxBytes(64<<10), kgo.ProducerBatchCompression(kgo.NoCompression()))
	value := []byte(strings.Repeat("r", 1000))
	const count = 5000
	for i := 0; i < count; i++ {
		cl.Produce(context.Background(), &kgo.Record{Topic: "bounded", Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := cl.Flush(ctxTimeout(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	adm := n.admin()
	deadline := time.Now().Add(20 * time.Second)
	for {
		starts, err := adm.ListStartOffsets(ctxTimeout(t, 10*time.Second), "bounded")
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := starts.Lookup("bounded", 0); s.Offset > 0 {
			ends, _ := adm.ListEndOffsets(ctxTimeout(t, 10*time.Second), "bounded")
			e, _ := ends.Lookup("bounded", 0)
			// 2 MiB of ~1 KB records is ~1900 records; at least one whole segment beyond the
			// active one must remain.
			if e.Offset != count || e.Offset-s.Offset < 900 {
				t.Fatalf("after retention: start %d end %d; want end %d and about 2 MiB kept", s.Offset, e.Offset, count)
			}
			got := readAll(t, n, "bounded", 1)
			if int64(len(got[0])) != e.Offset-s.Offset {
				t.Fatalf("read %d records between start %d and end %d", len(got[0]), s.Offset, e.Offset)
			}
			return
		}
		if time.Now().After(deadline) {
			files, _ := filepath.Glob(filepath.Join(n.dataDir, "bounded-0", "*"))
			t.Fatalf("log start offset still 0 after 20s; retention.bytes did not delete segments; files: %v", files)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
