package tests

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestKcatCodecs produces with librdkafka through kcat with every codec and reads everything
// back, in order, with the keys intact.
func TestKcatCodecs(t *testing.T) {
	requireKcat(t)
	n := startNode(t)
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			topic := "kcat-" + codec
			n.createTopic(topic, 1, nil)
			var in strings.Builder
			const count = 500
			for i := 0; i < count; i++ {
				fmt.Fprintf(&in, "key-%d:value-%d-%s\n", i, i, strings.Repeat("x", i%50))
			}
			runClient(t, 30*time.Second, in.String(), "kcat", "-b", n.kafkaAddr, "-P", "-t", topic,
				"-p", "0", "-K", ":", "-z", codec, "-X", "linger.ms=20")
			out := runClient(t, 30*time.Second, "", "kcat", "-b", n.kafkaAddr, "-C", "-t", topic,
				"-p", "0", "-o", "beginning", "-e", "-f", "%o %k:%s\n")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != count {
				t.Fatalf("read %d records, want %d; first lines: %q", len(lines), count, lines[:min(len(lines), 3)])
			}
			for i, line := range lines {
				want := fmt.Sprintf("%d key-%d:value-%d-%s", i, i, i, strings.Repeat("x", i%50))
				if line != want {
					t.Fatalf("record %d = %q, want %q", i, line, want)
				}
			}
		})
	}
}

// TestKcatMetadata lists the cluster with kcat -L and finds the broker and the topic's
// partitions led by it.
func TestKcatMetadata(t *testing.T) {
	requireKcat(t)
	n := startNode(t)
	n.createTopic("listed", 3, nil)
	out := runClient(t, 30*time.Second, "", "kcat", "-b", n.kafkaAddr, "-L", "-J")
	var md struct {
		Brokers []struct {
			ID   int32  `json:"id"`
			Name string `json:"name"`
		} `json:"brokers"`
		Topics []struct {
			Topic      string `json:"topic"`
			Partitions []struct {
				Partition int32 `json:"partition"`
				Leader    int32 `json:"leader"`
			} `json:"partitions"`
		} `json:"topics"`
	}
	if err := json.Unmarshal([]byte(out), &md); err != nil {
		t.Fatalf("kcat -L -J: %v\n%s", err, out)
	}
	if len(md.Brokers) != 1 || md.Brokers[0].ID != 1 || md.Brokers[0].Name != n.kafkaAddr {
		t.Fatalf("brokers = %+v, want node 1 at %s", md.Brokers, n.kafkaAddr)
	}
	for _, topic := range md.Topics {
		if topic.Topic != "listed" {
			continue
		}
		if len(topic.Partitions) != 3 {
			t.Fatalf("listed has %d partitions, want 3", len(topic.Partitions))
		}
		for _, p := range topic.Partitions {
			if p.Leader != 1 {
				t.Fatalf("partition %d leader %d, want 1", p.Partition, p.Leader)
			}
		}
		return
	}
	t.Fatalf("topic listed missing from metadata: %s", out)
}
