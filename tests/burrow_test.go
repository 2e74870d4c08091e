package tests

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// produceCounts appends counts[p] records to each partition p of topic.
func produceCounts(t *testing.T, n *node, topic string, counts []int) {
	t.Helper()
	cl := n.client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for p, c := range counts {
		for i := range c {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(p), Value: fmt.Appendf(nil, "p%d-%d", p, i)})
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// commitAt commits group's offsets for topic's partitions (an admin commit, no member).
func commitAt(t *testing.T, n *node, group, topic string, offsets map[int32]int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	os := make(kadm.Offsets)
	for p, o := range offsets {
		os.Add(kadm.Offset{Topic: topic, Partition: p, At: o, LeaderEpoch: -1})
	}
	resp, err := n.admin().CommitOffsets(ctx, group, os)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("commit %s: %v", group, err)
	}
}

// TestBurrowReportsLag runs Debian's Burrow 1.2.1 (sarama 1.22) with a throwaway ZooKeeper
// against a broker: Burrow lists the topics (Metadata), polls every partition's log end with
// ListOffsets v0, consumes __consumer_offsets from the oldest offset (Fetch across its
// partitions, Kafka's offset commit records) and must report the lag the test made: the
// produced end offsets minus the committed offsets, per partition and in total, then again
// after more records and a new commit. Each subtest is one of Burrow's client-profile
// kafka-version settings, which decide the request versions sarama sends: 2.0.0 (Metadata v5,
// Fetch v4), 0.10.2 (Burrow's default: Metadata v1, Fetch v3 with message format v1), 0.8.2
// (Metadata v0, Fetch v0 with message format v0): Fetch v0–v3 down-convert the commit records.
func TestBurrowReportsLag(t *testing.T) {
	requireZooKeeper(t)
	requireBurrow(t)
	n := startNode(t)
	zk := startZooKeeper(t)
	const topic = "burrow-lag"
	n.createTopic(topic, 3, nil)
	produceCounts(t, n, topic, []int{30, 20, 10})
	// Burrow's consumer module needs __consumer_offsets to exist when it starts.
	commitAt(t, n, "burrow-warmup", topic, map[int32]int64{0: 1})

	for _, version := range []string{"2.0.0", "0.10.2", "0.8.2"} {
		t.Run("kafka-version="+version, func(t *testing.T) {
			checkBurrowLag(t, n, zk, n.kafkaAddr, topic, version)
		})
	}
}

// TestBurrowReportsLagCluster: Burrow (its default kafka-version, 0.10.2) against three
// brokers, a topic of six partitions at replication factor 3 and __consumer_offsets spread over
// the three: Burrow sends each leader its own ListOffsets v0 and fetches each
// __consumer_offsets partition from its leader (Fetch v3).
func TestBurrowReportsLagCluster(t *testing.T) {
	requireZooKeeper(t)
	requireBurrow(t)
	c := startProcCluster(t, 3)
	n := c.node(1).asNode()
	zk := startZooKeeper(t)
	const topic = "burrow-cluster"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if resp, err := n.admin().CreateTopic(ctx, 6, 3, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create %s: %v %v", topic, err, resp.Err)
	}
	produceCounts(t, n, topic, []int{30, 25, 20, 15, 10, 5})
	commitAt(t, n, "burrow-warmup", topic, map[int32]int64{0: 1})
	checkBurrowLag(t, n, zk, c.bootstrap(), topic, "0.10.2")
}

// checkBurrowLag starts Burrow at kafkaVersion against bootstrap, waits until it reports
// topic's log end offsets, then commits a group at known lags and waits until Burrow reports
// exactly them — per partition (current_lag) and in total — then again after more records in
// partition 1 and a commit of partition 0 at its end. Burrow must log no consume error.
func checkBurrowLag(t *testing.T, n *node, zk, bootstrap, topic, kafkaVersion string) {
	t.Helper()
	ends := logEnds(t, n, topic)
	b := startBurrow(t, zk, bootstrap, kafkaVersion)
	deadline := time.Now().Add(60 * time.Second)
	for !slices.Equal(b.topicOffsets(topic), ends) {
		if time.Now().After(deadline) {
			t.Fatalf("Burrow's broker offsets for %s: %v, want %v (Metadata and ListOffsets v0)", topic, b.topicOffsets(topic), ends)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Burrow keeps a commit only for a partition whose broker offset it has, so the group
	// commits now that it has them: partition p lags by 2p+1 records (or all it has).
	group := "burrow-group-" + kafkaVersion
	lags := make([]uint64, len(ends))
	commits := map[int32]int64{}
	for p, end := range ends {
		lag := min(int64(2*p+1), end)
		if p == 1 {
			lag = 0
		}
		lags[p], commits[int32(p)] = uint64(lag), end-lag
	}
	commitAt(t, n, group, topic, commits)
	waitBurrowLag(t, b, group, topic, lags)

	// More records in partition 1 and a new commit for partition 0.
	more := make([]int, len(ends))
	more[1] = 5
	produceCounts(t, n, topic, more)
	commitAt(t, n, group, topic, map[int32]int64{0: ends[0]})
	lags[0], lags[1] = 0, 5
	waitBurrowLag(t, b, group, topic, lags)

	// sarama decodes a Fetch response's topics into a map by name: a topic repeated in several
	// entries loses partitions, which Burrow logs as consume errors ("response did not contain
	// all the expected topic/partition blocks") and retries; none may appear.
	if logs := b.proc.logs.String(); strings.Contains(logs, "consume error") {
		t.Fatalf("Burrow logged consume errors reading __consumer_offsets:\n%s", grepLines(logs, "consume error", 5))
	}
}

// logEnds is each partition's log end offset, from the broker.
func logEnds(t *testing.T, n *node, topic string) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := n.admin().ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for p := int32(0); ; p++ {
		o, ok := ends.Lookup(topic, p)
		if !ok {
			return out
		}
		out = append(out, o.Offset)
	}
}

// waitBurrowLag waits until Burrow reports want as the group's current lag per partition of
// topic, and their sum as its total lag.
func waitBurrowLag(t *testing.T, b *burrow, group, topic string, want []uint64) {
	t.Helper()
	var total uint64
	for _, l := range want {
		total += l
	}
	var last *burrowLag
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if last = b.lag(group); last != nil && last.TotalLag == total {
			got := make([]uint64, len(want))
			seen := 0
			for _, p := range last.Partitions {
				if p.Topic == topic && int(p.Partition) < len(want) {
					got[p.Partition] = p.CurrentLag
					seen++
				}
			}
			if seen == len(want) && slices.Equal(got, want) {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("Burrow's lag for %s: %+v, want per-partition %v, total %d", group, last, want, total)
}

// grepLines is the first max lines of s containing sub.
func grepLines(s, sub string, max int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
			if len(out) == max {
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
