package tests

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// TestKafkaPython drives kafka-python 2.0 (Debian's package) through admin, producer and
// consumer against a real broker.
func TestKafkaPython(t *testing.T) {
	requirePython(t, "kafka")
	n := startNode(t)
	const count = 300
	out := runClient(t, 90*time.Second, "", "/usr/bin/python3", "python/kafka_python_roundtrip.py", n.kafkaAddr, "kp-topic", fmt.Sprint(count))
	var got struct {
		Listed     bool                          `json:"listed"`
		Retention  string                        `json:"retention"`
		MaxOffset  int64                         `json:"max_offset"`
		Seen       map[string][4]json.RawMessage `json:"seen"`
		EndOffsets []int64                       `json:"end_offsets"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("bad output %q: %v", out, err)
	}
	if !got.Listed || got.Retention != "3600000" {
		t.Fatalf("admin: listed=%v retention.ms=%q, want true and 3600000", got.Listed, got.Retention)
	}
	if len(got.Seen) != count {
		t.Fatalf("consumed %d distinct keys, want %d", len(got.Seen), count)
	}
	for i := 0; i < count; i++ {
		rec, ok := got.Seen[fmt.Sprintf("k%d", i)]
		if !ok {
			t.Fatalf("key k%d never consumed", i)
		}
		var value string
		var headers map[string]string
		json.Unmarshal(rec[0], &value)
		json.Unmarshal(rec[3], &headers)
		if value != fmt.Sprintf("v%d", i) || headers["h"] != fmt.Sprint(i) {
			t.Fatalf("k%d = %q headers %v", i, value, headers)
		}
	}
	if want := []int64{count / 3, count / 3, count / 3}; fmt.Sprint(got.EndOffsets) != fmt.Sprint(want) {
		t.Fatalf("end offsets %v, want %v", got.EndOffsets, want)
	}
}

// TestConfluentKafka drives confluent-kafka (librdkafka 2.0) through admin, an acks=all lz4
// producer and a manually assigned consumer.
func TestConfluentKafka(t *testing.T) {
	requirePython(t, "confluent_kafka")
	n := startNode(t)
	const count = 400
	out := runClient(t, 90*time.Second, "", "/usr/bin/python3", "python/confluent_roundtrip.py", n.kafkaAddr, "ck-topic", fmt.Sprint(count))
	var got struct {
		Delivered int               `json:"delivered"`
		Seen      map[string]string `json:"seen"`
		Cleanup   string            `json:"cleanup"`
		P0Low     int64             `json:"p0_low"`
		P0High    int64             `json:"p0_high"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("bad output %q: %v", out, err)
	}
	if got.Delivered != count || len(got.Seen) != count {
		t.Fatalf("delivered %d, consumed %d, want %d each", got.Delivered, len(got.Seen), count)
	}
	for i := 0; i < count; i++ {
		if v := got.Seen[fmt.Sprintf("k%d", i)]; v != fmt.Sprintf("v%d", i) {
			t.Fatalf("k%d = %q", i, v)
		}
	}
	if got.Cleanup != "delete" || got.P0Low != 0 || got.P0High != count/2 {
		t.Fatalf("cleanup.policy=%q watermarks p0 [%d,%d), want delete [0,%d)", got.Cleanup, got.P0Low, got.P0High, count/2)
	}
}
