package tests

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLegacyMessageFormats: real clients speaking message formats v0 and v1 (Produce v1–v2,
// Fetch v1–v2) against a broker that stores v2 batches. librdkafka with api.version.request
// off and broker.version.fallback 0.9.0 (magic 0) with none, gzip, snappy and lz4 (with
// Kafka's old LZ4 header checksum), and kafka-python with api_version (0, 9) (magic 0) and
// (0, 10) (magic 1) with none and gzip, produce 60 records each; the same old client and a
// modern librdkafka read them all back with their values, offsets and (v1) timestamps; old
// clients of both formats read records a modern producer wrote. librdkafka's protocol log
// shows the old versions were the ones used (kafka-python's api_version pins its versions), and
// the broker's conversion counters count every record converted.
// librdkafka with fallback 0.10.0 is not among them: it asks for ApiVersions and then
// speaks v2 batches.
func TestLegacyMessageFormats(t *testing.T) {
	requirePython(t, "kafka")
	requirePython(t, "confluent_kafka")
	n := startNode(t)
	out := runClient(t, 240*time.Second, "", "/usr/bin/python3", "python/legacy_formats.py", n.kafkaAddr)
	var cases []struct {
		Topic   string `json:"topic"`
		Magic   int    `json:"magic"`
		Readers map[string]struct {
			Count int      `json:"count"`
			Bad   []string `json:"bad"`
		} `json:"readers"`
		RdVersions []string `json:"rd_versions"`
	}
	if err := json.Unmarshal([]byte(out), &cases); err != nil {
		t.Fatalf("bad output %q: %v", out, err)
	}
	if len(cases) != 10 {
		t.Fatalf("%d cases, want 10", len(cases))
	}
	metrics := scrapeMetrics(t, n)
	for _, c := range cases {
		produced := metrics[`sluice_topic_produce_message_conversions_total{topic="`+c.Topic+`"}`]
		fetched := metrics[`sluice_topic_fetch_message_conversions_total{topic="`+c.Topic+`"}`]
		wantProduced, oldReaders := 60.0, 1.0
		if c.Magic == 2 {
			wantProduced, oldReaders = 0, float64(len(c.Readers)-1)
		}
		if produced != wantProduced || fetched < 60*oldReaders {
			t.Errorf("%s: %v records converted on produce (want %v), %v on fetch (want at least %v)",
				c.Topic, produced, wantProduced, fetched, 60*oldReaders)
		}
		if len(c.Readers) < 2 {
			t.Errorf("%s: read by %d clients", c.Topic, len(c.Readers))
		}
		for reader, r := range c.Readers {
			if r.Count != 60 || len(r.Bad) != 0 {
				t.Errorf("%s read by %s: %d records, wrong: %v", c.Topic, reader, r.Count, r.Bad)
			}
		}
		var want []string
		switch {
		case strings.HasPrefix(c.Topic, "rd-0.9.0-"):
			want = []string{"Produce v1", "Fetch v1"} // magic 0
		case strings.HasPrefix(c.Topic, "modern-"):
			want = []string{"Fetch v1"} // the old librdkafka reader
		}
		for _, v := range want {
			if !slices.Contains(c.RdVersions, v) {
				t.Errorf("%s: librdkafka sent %v, want %s among them", c.Topic, c.RdVersions, v)
			}
		}
	}
}
