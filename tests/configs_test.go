package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestConfigBrokerRack: broker.rack is registered with the controller and reported as this
// broker's rack by Metadata and DescribeCluster.
func TestConfigBrokerRack(t *testing.T) {
	n := startNode(t, "--override", "broker.rack=rack-a")
	ctx := ctxTimeout(t, 30*time.Second)
	cl := n.client()
	md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Brokers) != 1 || md.Brokers[0].Rack == nil || *md.Brokers[0].Rack != "rack-a" {
		t.Fatalf("Metadata brokers %+v; want one with rack rack-a", md.Brokers)
	}
	resp, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Brokers) != 1 || resp.Brokers[0].Rack == nil || *resp.Brokers[0].Rack != "rack-a" {
		t.Fatalf("DescribeCluster brokers %+v; want one with rack rack-a", resp.Brokers)
	}
}

// TestConfigOffsetsTopicSegmentBytes: __consumer_offsets is created with
// offsets.topic.segment.bytes as its segment.bytes (100 MiB by default, as Kafka, instead of
// the 1 GiB of ordinary topics), and its segments do roll at that size.
func TestConfigOffsetsTopicSegmentBytes(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		n := startNode(t)
		commitBigOffsets(t, n, 1)
		if got := offsetsTopicConfig(t, n, "segment.bytes"); got != "104857600" {
			t.Fatalf("__consumer_offsets segment.bytes = %s, want 104857600", got)
		}
	})
	t.Run("override", func(t *testing.T) {
		const segmentBytes = 1 << 20
		n := startNode(t, "--override", "offsets.topic.segment.bytes=1048576", "--override", "offsets.topic.num.partitions=1")
		commitBigOffsets(t, n, 400) // 400 commits of ~4 KiB of metadata: ~1.6 MiB in one partition
		if got := offsetsTopicConfig(t, n, "segment.bytes"); got != "1048576" {
			t.Fatalf("__consumer_offsets segment.bytes = %s, want 1048576", got)
		}
		entries, err := os.ReadDir(filepath.Join(n.dataDir, "__consumer_offsets-0"))
		if err != nil {
			t.Fatal(err)
		}
		var logs []string
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".log") {
				logs = append(logs, e.Name())
				if info, err := e.Info(); err == nil && info.Size() > segmentBytes {
					t.Errorf("segment %s is %d bytes, over segment.bytes %d", e.Name(), info.Size(), segmentBytes)
				}
			}
		}
		if len(logs) < 2 {
			t.Fatalf("__consumer_offsets-0 has segments %v after ~1.6 MiB at segment.bytes 1 MiB; want it rolled", logs)
		}
	})
}

// commitBigOffsets commits count times an offset carrying ~4 KiB of metadata.
func commitBigOffsets(t *testing.T, n *node, count int) {
	t.Helper()
	n.createTopic("t", 1, nil)
	ctx := ctxTimeout(t, 60*time.Second)
	adm := n.admin()
	meta := strings.Repeat("m", 4000)
	for i := range count {
		var offs kadm.Offsets
		offs.Add(kadm.Offset{Topic: "t", Partition: 0, At: int64(i), LeaderEpoch: -1, Metadata: meta})
		resp, err := adm.CommitOffsets(ctx, "big-metadata", offs)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
}

func offsetsTopicConfig(t *testing.T, n *node, name string) string {
	t.Helper()
	rcs, err := n.admin().DescribeTopicConfigs(ctxTimeout(t, 10*time.Second), "__consumer_offsets")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On("__consumer_offsets", nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describe __consumer_offsets: %v %v", err, rc.Err)
	}
	for _, c := range rc.Configs {
		if c.Key == name {
			return c.MaybeValue()
		}
	}
	t.Fatalf("__consumer_offsets has no config %s", name)
	return ""
}

// TestConfigFileDeleteDelay: a topic's file.delete.delay.ms reaches its log. Segments deleted
// (here below a DeleteRecords log start) are renamed *.deleted and wait out the delay; with a
// delay of 0 they are gone at once.
func TestConfigFileDeleteDelay(t *testing.T) {
	n := startNode(t, "--override", "log.retention.check.interval.ms=100")
	ctx := ctxTimeout(t, 30*time.Second)
	adm := n.admin()
	cl := n.client()
	for topic, delay := range map[string]string{"delayed": "3600000", "at-once": "0"} {
		n.createTopic(topic, 1, map[string]*string{"segment.ms": kadm.StringPtr("1"), "file.delete.delay.ms": kadm.StringPtr(delay)})
		base := time.Now()
		for i := range 3 { // one segment each: segment.ms=1 and timestamps 10 ms apart
			r := &kgo.Record{Topic: topic, Value: []byte("v"), Timestamp: base.Add(time.Duration(10*i) * time.Millisecond)}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		var offs kadm.Offsets
		offs.Add(kadm.Offset{Topic: topic, Partition: 0, At: 2})
		res, err := adm.DeleteRecords(ctx, offs)
		if err != nil || res.Error() != nil {
			t.Fatalf("DeleteRecords %s: %v %v", topic, err, res.Error())
		}
	}
	dir := func(topic string) string { return filepath.Join(n.dataDir, topic+"-0") }
	gone := func(topic string) bool {
		_, err := os.Stat(filepath.Join(dir(topic), "00000000000000000000.log"))
		return os.IsNotExist(err)
	}
	for deadline := time.Now().Add(20 * time.Second); !gone("delayed") || !gone("at-once"); {
		if time.Now().After(deadline) {
			t.Fatal("segments below the log start not deleted within 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	delayed, _ := filepath.Glob(filepath.Join(dir("delayed"), "*.deleted"))
	atOnce, _ := filepath.Glob(filepath.Join(dir("at-once"), "*.deleted"))
	if len(delayed) != 6 {
		t.Errorf("file.delete.delay.ms=3600000: *.deleted files %v, want the 3 files of 2 segments", delayed)
	}
	if len(atOnce) != 0 {
		t.Errorf("file.delete.delay.ms=0: *.deleted files %v, want none", atOnce)
	}
}

// TestConfigNodeIDFromBrokerConfig: node.id given as a Kafka broker config (not --node-id) is
// the id the broker registers and clients see.
func TestConfigNodeIDFromBrokerConfig(t *testing.T) {
	n := startNode(t, "--override", "node.id=7")
	md, err := n.admin().BrokerMetadata(ctxTimeout(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Brokers) != 1 || md.Brokers[0].NodeID != 7 {
		t.Fatalf("brokers %+v, want node 7", md.Brokers)
	}
}
