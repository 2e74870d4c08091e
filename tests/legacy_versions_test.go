package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// advertisedMin is the lowest version of key the node advertises in ApiVersions.
func advertisedMin(t *testing.T, n *node, key int16) int16 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrApiVersionsRequest()
	req.ClientSoftwareName, req.ClientSoftwareVersion = "legacy-test", "1"
	resp, err := req.RequestWith(ctx, n.client())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range resp.ApiKeys {
		if k.ApiKey == key {
			return k.MinVersion
		}
	}
	t.Fatalf("key %d not advertised", key)
	return 0
}

// setLegacyVersions sets sluice.protocol.legacy.versions.enable as the cluster-wide default and
// waits until ApiVersions reflects it (ListOffsets from v0 or v1).
func setLegacyVersions(t *testing.T, n *node, on bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := n.admin().AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: "sluice.protocol.legacy.versions.enable", Value: kadm.StringPtr(fmt.Sprint(on))}})
	if err == nil {
		for _, r := range res {
			if r.Err != nil {
				err = r.Err
			}
		}
	}
	if err != nil {
		t.Fatalf("set sluice.protocol.legacy.versions.enable=%v: %v", on, err)
	}
	want := int16(1)
	if on {
		want = 0
	}
	for advertisedMin(t, n, 2) != want {
		if ctx.Err() != nil {
			t.Fatalf("ListOffsets still advertised from v%d", advertisedMin(t, n, 2))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKafkaPythonLegacyVersions: kafka-python pinned to api_version=(0, 10) (the request versions
// a Kafka 0.10.0 client sends, which Kafka 4 no longer serves) produces, consumes in a group,
// commits and reads end offsets (ListOffsets v0). Switching sluice.protocol.legacy.versions.enable
// off at run time refuses the same client as Kafka 4 would (ApiVersions advertises Kafka 4's
// minimums); switching it back on serves it again.
func TestKafkaPythonLegacyVersions(t *testing.T) {
	requirePython(t, "kafka")
	n := startNode(t)
	n.createTopic("old-clients", 3, nil)
	const count = 90
	roundtrip := func(group string, before [3]int64) {
		t.Helper()
		out := runClient(t, 120*time.Second, "", "/usr/bin/python3", "python/kafka_python_legacy.py", "roundtrip", n.kafkaAddr, "old-clients", group, fmt.Sprint(count))
		var got struct {
			Produced   map[string][2]int64           `json:"produced"`
			Seen       map[string][4]json.RawMessage `json:"seen"`
			Committed  []int64                       `json:"committed"`
			EndOffsets []int64                       `json:"end_offsets"`
			Reread     int                           `json:"reread"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("bad output %q: %v", out, err)
		}
		if len(got.Produced) != count {
			t.Fatalf("%d records acknowledged, want %d", len(got.Produced), count)
		}
		want := [3]int64{}
		for p := range 3 {
			want[p] = before[p] + count/3
		}
		if fmt.Sprint(got.EndOffsets) != fmt.Sprint(want[:]) || fmt.Sprint(got.Committed) != fmt.Sprint(want[:]) {
			t.Fatalf("end offsets %v, committed %v; want both %v", got.EndOffsets, got.Committed, want)
		}
		// The group is new: it reads the topic from the start, every record of this round among them.
		for i := range count {
			k := fmt.Sprintf("%s-k%d", group, i)
			rec, ok := got.Seen[k]
			if !ok {
				t.Fatalf("%s never consumed (%d seen)", k, len(got.Seen))
			}
			var value string
			var partition, offset, ts int64
			json.Unmarshal(rec[0], &value)
			json.Unmarshal(rec[1], &partition)
			json.Unmarshal(rec[2], &offset)
			json.Unmarshal(rec[3], &ts)
			if value != fmt.Sprintf("v%d", i) || partition != int64(i%3) || [2]int64{partition, offset} != got.Produced[k] || ts != 1_600_000_000_000+int64(i) {
				t.Fatalf("%s: value %q partition %d offset %d timestamp %d; produced at %v", k, value, partition, offset, ts, got.Produced[k])
			}
		}
		if got.Reread != 0 {
			t.Fatalf("a new member of the group re-read %d records after the commit", got.Reread)
		}
	}
	roundtrip("old-group-1", [3]int64{})
	if m := advertisedMin(t, n, 9); m != 0 {
		t.Fatalf("OffsetFetch advertised from v%d with legacy versions on, want v0", m)
	}

	setLegacyVersions(t, n, false)
	for key, want := range map[int16]int16{2: 1, 8: 2, 9: 1, 19: 2, 32: 1} {
		if m := advertisedMin(t, n, key); m != want {
			t.Errorf("%s advertised from v%d with legacy versions off, want v%d (Kafka 4)", kmsg.NameForKey(key), m, want)
		}
	}
	out := runClient(t, 90*time.Second, "", "/usr/bin/python3", "python/kafka_python_legacy.py", "refused", n.kafkaAddr, "old-clients")
	var refused map[string]string
	if err := json.Unmarshal([]byte(out), &refused); err != nil {
		t.Fatalf("bad output %q: %v", out, err)
	}
	if refused["produce"] == "ok" || refused["end_offsets"] == "ok" {
		t.Fatalf("a Kafka 0.10 client was served with legacy versions off: %v", refused)
	}
	t.Logf("with legacy versions off kafka-python (0, 10) got %v", refused)

	setLegacyVersions(t, n, true)
	roundtrip("old-group-2", [3]int64{count / 3, count / 3, count / 3})
}

// TestKafkaPythonZooKeeperEraOffsets: kafka-python pinned to Kafka 0.8.1 sends Produce, Fetch,
// ListOffsets, Metadata, OffsetCommit and OffsetFetch at v0 (0.8.1 kept offsets in ZooKeeper;
// Sluice keeps them with the group), pinned to 0.8.2 OffsetCommit and OffsetFetch v1: each
// produces, reads with an assigned consumer, commits and reads its commit back. A modern client
// then sees the same committed offsets.
func TestKafkaPythonZooKeeperEraOffsets(t *testing.T) {
	requirePython(t, "kafka")
	n := startNode(t)
	for _, c := range []struct {
		version string
		sent    []string
	}{
		{"0.8.1", []string{"FetchRequest_v0", "MetadataRequest_v0", "OffsetCommitRequest_v0", "OffsetFetchRequest_v0", "OffsetRequest_v0", "ProduceRequest_v0"}},
		{"0.8.2", []string{"OffsetCommitRequest_v1", "OffsetFetchRequest_v1"}},
	} {
		t.Run(c.version, func(t *testing.T) {
			topic, group := "zk-era-"+strings.ReplaceAll(c.version, ".", "-"), "zk-era-group-"+c.version
			n.createTopic(topic, 1, nil)
			out := runClient(t, 90*time.Second, "", "/usr/bin/python3", "python/kafka_python_legacy.py", "assigned", n.kafkaAddr, topic, c.version, group)
			var got struct {
				Got       []string `json:"got"`
				Committed int64    `json:"committed"`
				End       int64    `json:"end"`
				Sent      []string `json:"sent"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("bad output %q: %v", out, err)
			}
			if fmt.Sprint(got.Got) != "[v0 v1 v2 v3 v4]" || got.Committed != 3 || got.End != 5 {
				t.Fatalf("read %v, committed %d, end offset %d; want v0..v4, 3 and 5", got.Got, got.Committed, got.End)
			}
			for _, want := range c.sent {
				if !slices.Contains(got.Sent, want) {
					t.Errorf("the client did not send %s (sent %v)", want, got.Sent)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			offsets, err := n.admin().FetchOffsets(ctx, group)
			if err != nil {
				t.Fatal(err)
			}
			if o, ok := offsets.Lookup(topic, 0); !ok || o.At != 3 || o.Metadata != "zk-era" {
				t.Fatalf("a modern client sees the commit as %+v (found %v), want offset 3 with metadata zk-era", o, ok)
			}
		})
	}
}
