package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

var (
	oldSaramaOnce sync.Once
	oldSaramaBin  string
	oldSaramaErr  error
)

// buildOldSarama builds tests/oldsarama (its own module, requiring sarama 1.22.1 from the
// module proxy) once per test binary.
func buildOldSarama(t *testing.T) string {
	t.Helper()
	oldSaramaOnce.Do(func() {
		dir, err := filepath.Abs("oldsarama")
		if err != nil {
			oldSaramaErr = err
			return
		}
		oldSaramaBin = filepath.Join(filepath.Dir(sluiceBin), "oldsarama")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", oldSaramaBin, ".")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			oldSaramaErr = fmt.Errorf("go build tests/oldsarama: %v\n%s", err, out)
		}
	})
	if oldSaramaErr != nil {
		t.Fatal(oldSaramaErr)
	}
	return oldSaramaBin
}

// readBack reads every record of topic from the start with franz-go: key to value, and the
// earliest record timestamp.
func readBack(t *testing.T, n *node, topic string, want int) (map[string]string, time.Time) {
	t.Helper()
	cl := n.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got := map[string]string{}
	var earliest time.Time
	for len(got) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("franz-go consumed %d of %d records of %s", len(got), want, topic)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("franz-go fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) {
			got[string(r.Key)] = string(r.Value)
			if earliest.IsZero() || r.Timestamp.Before(earliest) {
				earliest = r.Timestamp
			}
		})
	}
	return got, earliest
}

// committedTotal is the sum of group's committed offsets over topic's partitions.
func committedTotal(t *testing.T, n *node, group, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offs, err := n.admin().FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil && o.At > 0 {
			total += o.At
		}
	})
	return total
}

// TestSarama122 runs sarama 1.22.1 (Burrow 1.2.1's client) at three of its Kafka versions,
// each a different set of request versions and a different message format: 0.8.2.0 (Produce
// and Fetch v0, message format v0, Metadata v0, OffsetCommit/OffsetFetch v1 through an offset
// manager), 0.10.2.0 (Produce v2 and Fetch v3 with message format v1, Metadata v1, the
// consumer group: JoinGroup v1, SyncGroup and Heartbeat v0, OffsetCommit v2, OffsetFetch v1)
// and 1.0.0 (Produce v3 and Fetch v4, RecordBatch, Metadata v5). Each produces (compressed),
// consumes and commits, produces more and consumes again from its committed offsets: nothing
// lost, nothing read twice; franz-go reads the same records back. One more run at 0.10.2.0
// produces to a topic that does not exist: its Metadata v1 auto-creates it and is answered
// LEADER_NOT_AVAILABLE without partitions, and sarama retries until it is described.
func TestSarama122(t *testing.T) {
	bin := buildOldSarama(t)
	n := startNode(t)
	for _, tc := range []struct {
		version, codec string
		timestamps     bool // message format v1+ carries the producer's timestamps
		autoCreate     bool // the topic is created by sarama's first Metadata request
	}{
		{"0.8.2.0", "snappy", false, false},
		{"0.10.2.0", "gzip", true, false},
		{"1.0.0", "lz4", true, false},
		{"0.10.2.0", "none", true, true},
	} {
		name := tc.version
		if tc.autoCreate {
			name += "-auto-created"
		}
		t.Run(name, func(t *testing.T) {
			const count, more = 120, 30
			topic := "sarama-" + strings.ReplaceAll(name, ".", "-")
			group := topic + "-group"
			if !tc.autoCreate {
				n.createTopic(topic, 3, nil)
			}
			start := time.Now().Add(-time.Minute)
			out := runClient(t, 3*time.Minute, "", bin, "-brokers", n.kafkaAddr, "-topic", topic, "-group", group,
				"-version", tc.version, "-compression", tc.codec, "-count", fmt.Sprint(count), "-more", fmt.Sprint(more))
			var r struct {
				Produced   int               `json:"produced"`
				Phase1     map[string]string `json:"phase1"`
				Phase2     map[string]string `json:"phase2"`
				Repeats    int               `json:"repeats"`
				Timestamps int               `json:"timestamps"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("bad output %q: %v", out, err)
			}
			if r.Produced != count+more || len(r.Phase1) != count || len(r.Phase2) != more || r.Repeats != 0 {
				t.Fatalf("produced %d, consumed %d then %d, %d repeats; want %d, %d then %d, none",
					r.Produced, len(r.Phase1), len(r.Phase2), r.Repeats, count+more, count, more)
			}
			for i := range count + more {
				k, want := fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)
				phase := r.Phase1
				if i >= count {
					phase = r.Phase2 // after the commit: only the new records
				}
				if phase[k] != want {
					t.Fatalf("%s = %q in its phase, want %q", k, phase[k], want)
				}
			}
			wantTimestamps := 0 // message format v0 has none
			if tc.timestamps {
				wantTimestamps = count + more
			}
			if r.Timestamps != wantTimestamps {
				t.Fatalf("%d of %d records consumed with a timestamp, want %d", r.Timestamps, count+more, wantTimestamps)
			}
			if c := committedTotal(t, n, group, topic); c != count+more {
				t.Fatalf("group %s committed offsets summing to %d, want %d", group, c, count+more)
			}
			got, earliest := readBack(t, n, topic, count+more)
			for i := range count + more {
				if k := fmt.Sprintf("k%d", i); got[k] != fmt.Sprintf("v%d", i) {
					t.Fatalf("franz-go read %s = %q", k, got[k])
				}
			}
			if tc.timestamps && earliest.Before(start) {
				t.Fatalf("franz-go read a timestamp %v, before the test started", earliest)
			}
		})
	}
}

// TestSarama122LegacyVersionsOff: with sluice.protocol.legacy.versions.enable=false the broker
// serves Kafka 4's versions, and sarama 1.22 at 0.10.2.0 fails as against Kafka 4: its Produce
// v2 (message format v1) is answered UNSUPPORTED_VERSION and nothing is appended.
func TestSarama122LegacyVersionsOff(t *testing.T) {
	bin := buildOldSarama(t)
	n := startNode(t, "--override", "sluice.protocol.legacy.versions.enable=false")
	n.createTopic("sarama-off", 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-brokers", n.kafkaAddr, "-topic", "sarama-off", "-group", "off",
		"-version", "0.10.2.0", "-count", "5", "-more", "1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "produce: kafka: Failed to deliver 5 messages") {
		t.Fatalf("sarama at 0.10.2.0 with legacy versions off: %v\n%s", err, tail(string(out), 20))
	}
	if ends := logEnds(t, n, "sarama-off"); len(ends) != 1 || ends[0] != 0 {
		t.Fatalf("log end offsets %v after refused produces, want [0]", ends)
	}
}

// runClientOut runs an external client and returns its stdout and stderr; the test fails on
// a non-zero exit.
func runClientOut(t *testing.T, timeout time.Duration, stdin string, name string, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader(stdin)
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, tail(stdout.String(), 20), tail(stderr.String(), 40))
	}
	return stdout.String(), stderr.String()
}

// sentVersions is the set of "Name vN" requests librdkafka's protocol debug log says it sent.
func sentVersions(log string) []string {
	seen := map[string]bool{}
	for _, line := range strings.Split(log, "\n") {
		i := strings.Index(line, "Sent ")
		if i < 0 {
			continue
		}
		var name string
		var v int
		if _, err := fmt.Sscanf(line[i:], "Sent %s (v%d", &name, &v); err == nil {
			seen[fmt.Sprintf("%s v%d", strings.TrimSuffix(name, "Request"), v)] = true
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestLibrdkafkaVersionFallback010: librdkafka (kcat, Debian's librdkafka 2.0) configured as
// for a pre-0.10 broker — api.version.request=false, broker.version.fallback=0.10.0 — produces,
// consumes in a group (-G) and commits, then after more records resumes from its commits
// with nothing lost or repeated. librdkafka still asks a 0.10.0 broker for its ApiVersions
// (0.10.0 has ApiVersions) and picks its request versions from the answer; the versions it
// used are logged.
func TestLibrdkafkaVersionFallback010(t *testing.T) {
	requireKcat(t)
	n := startNode(t)
	const topic, group = "rdkafka-fallback", "rdkafka-fallback-group"
	n.createTopic(topic, 3, nil)
	fallback := []string{"-X", "api.version.request=false", "-X", "broker.version.fallback=0.10.0", "-d", "protocol"}
	produce := func(from, count int) string {
		var in strings.Builder
		for i := from; i < from+count; i++ {
			fmt.Fprintf(&in, "k%d:v%d\n", i, i)
		}
		_, log := runClientOut(t, 60*time.Second, in.String(), "kcat", append([]string{"-b", n.kafkaAddr, "-P", "-t", topic, "-K", ":", "-z", "gzip"}, fallback...)...)
		return log
	}
	consume := func(count int) (map[string]string, string) {
		out, log := runClientOut(t, 90*time.Second, "", "kcat", append([]string{"-b", n.kafkaAddr, "-G", group, topic,
			"-X", "auto.offset.reset=earliest", "-c", fmt.Sprint(count), "-f", "%k:%s\n"}, fallback...)...)
		got := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			k, v, _ := strings.Cut(line, ":")
			if _, dup := got[k]; dup {
				t.Fatalf("%s consumed twice", k)
			}
			got[k] = v
		}
		return got, log
	}
	const count, more = 90, 15
	plog := produce(0, count)
	first, clog := consume(count)
	if len(first) != count {
		t.Fatalf("consumed %d records, want %d", len(first), count)
	}
	if c := committedTotal(t, n, group, topic); c != count {
		t.Fatalf("committed offsets sum to %d after the first run, want %d", c, count)
	}
	produce(count, more)
	second, _ := consume(more)
	for i := range count + more {
		k, phase := fmt.Sprintf("k%d", i), first
		if i >= count {
			phase = second // resumed from the commits: only the new records
		}
		if phase[k] != fmt.Sprintf("v%d", i) {
			t.Fatalf("%s = %q in its run", k, phase[k])
		}
	}
	if len(second) != more {
		t.Fatalf("second run consumed %d records, want the %d new ones", len(second), more)
	}
	if c := committedTotal(t, n, group, topic); c != count+more {
		t.Fatalf("committed offsets sum to %d, want %d", c, count+more)
	}
	t.Logf("librdkafka sent: producer %v; consumer %v", sentVersions(plog), sentVersions(clog))
}
