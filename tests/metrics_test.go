package tests

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// scrapeMetrics reads /metrics and returns each sample's value by its series text, e.g.
// `sluice_topic_records_in_total{topic="m"}`.
func scrapeMetrics(t *testing.T, n *node) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + n.httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("/metrics: %s\n%s", resp.Status, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMetrics produces and consumes through a real broker and checks what /metrics reports:
// per-topic bytes and records in and out, partition offsets and size, requests per API, errors
// by code and connections.
func TestMetrics(t *testing.T) {
	n := startNode(t)
	n.createTopic("metered", 1, nil)
	cl := n.client()
	produceSync(t, cl, "metered", 40)
	consumeN(t, n, "metered", 40)

	// Describe a topic that does not exist, so an error code is counted.
	req := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "absent"
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctxTimeout(t, 10*time.Second), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Resources) != 1 || resp.Resources[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("DescribeConfigs of an absent topic: %+v", resp.Resources)
	}

	m := scrapeMetrics(t, n)
	want := func(series string, value float64) {
		t.Helper()
		got, ok := m[series]
		if !ok {
			t.Errorf("%s missing from /metrics", series)
			return
		}
		if got != value {
			t.Errorf("%s = %v, want %v", series, got, value)
		}
	}
	size := m[`sluice_partition_log_size_bytes{partition="0",topic="metered"}`]
	if size <= 0 {
		t.Fatalf("partition log size %v, want > 0", size)
	}
	// Batches are stored unchanged, so the bytes produced are the log's size; the consumer read
	// each batch once, so the bytes fetched are too.
	want(`sluice_topic_bytes_in_total{topic="metered"}`, size)
	want(`sluice_topic_records_in_total{topic="metered"}`, 40)
	want(`sluice_topic_bytes_out_total{topic="metered"}`, size)
	want(`sluice_topic_records_out_total{topic="metered"}`, 40)
	want(`sluice_partition_log_end_offset{partition="0",topic="metered"}`, 40)
	want(`sluice_partition_log_start_offset{partition="0",topic="metered"}`, 0)
	want(`sluice_under_replicated_partitions`, 0)
	want(`sluice_offline_partitions`, 0)
	for _, series := range []string{`sluice_requests_total{api="Produce"}`, `sluice_requests_total{api="Fetch"}`,
		`sluice_request_duration_seconds_count{api="Produce"}`, `sluice_errors_total{api="DescribeConfigs",error="UNKNOWN_TOPIC_OR_PARTITION"}`,
		`sluice_connections_accepted_total`, `sluice_connections`} {
		if m[series] < 1 {
			t.Errorf("%s = %v, want >= 1", series, m[series])
		}
	}
}

// TestConsumerLagMetric: a group that committed 60 of a topic's 100 records is 40 behind, and
// the broker itself says so in /metrics, per partition and summed per group.
func TestConsumerLagMetric(t *testing.T) {
	n := startNode(t)
	n.createTopic("backlog", 1, nil)
	produceSync(t, n.client(), "backlog", 100)
	runClient(t, 60*time.Second, "", sluiceBin, "consume", "backlog", "--brokers", n.kafkaAddr,
		"-g", "lagging", "-o", "start", "-n", "60")
	m := scrapeMetrics(t, n)
	lag := m[`sluice_consumer_group_lag{group="lagging",partition="0",topic="backlog"}`]
	sum := m[`sluice_consumer_group_lag_sum{group="lagging"}`]
	if lag != 40 || sum != 40 {
		t.Fatalf("lag %v, sum %v; want 40 and 40", lag, sum)
	}
	produceSync(t, n.client(), "backlog", 5)
	if lag := scrapeMetrics(t, n)[`sluice_consumer_group_lag{group="lagging",partition="0",topic="backlog"}`]; lag != 45 {
		t.Fatalf("lag after 5 more records: %v, want 45", lag)
	}
}
