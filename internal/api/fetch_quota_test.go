package api_test

import (
	"bufio"
	"context"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/security/quota"
)

// TestFetchThrottledResponse: a consumer over its consumer_byte_rate gets Kafka's throttled
// Fetch answer (no partitions, throttle_time_ms set) instead of records, and its response is
// bounded by what the quota allows in 10 windows.
func TestFetchThrottledResponse(t *testing.T) {
	b := startBroker(t)
	id := b.createTopic("q", 1, nil)
	cl := b.client(kgo.DefaultProduceTopic("q"), kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()))
	value := make([]byte, 100)
	for range 200 { // one batch each: 200 batches of about 170 bytes
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Value: value}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	b.apply([]metadata.Record{&metadata.ClientQuotaRecord{Entity: []metadata.QuotaEntityPart{{Type: metadata.QuotaEntityClientID, Default: true}},
		Key: metadata.QuotaConsumerByteRate, Value: 1000}})
	// A second server on the same Env, now with a quota manager: its goroutines start after the
	// Env is complete.
	b.env.Quotas = quota.New(quota.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, b.env, ln, func() {})
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
	fetch := func(offset int64) *kmsg.FetchResponse {
		req := kmsg.NewPtrFetchRequest()
		req.Version, req.ReplicaID, req.MaxBytes, req.SessionEpoch = 13, -1, 1<<20, -1
		rt := kmsg.NewFetchRequestTopic()
		rt.TopicID = id
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.FetchOffset, rp.PartitionMaxBytes = offset, 1<<20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return c.send(req).(*kmsg.FetchResponse)
	}
	first := fetch(0)
	if first.ThrottleMillis != 0 || len(first.Topics) != 1 {
		t.Fatalf("first fetch: throttle %d, %d topics", first.ThrottleMillis, len(first.Topics))
	}
	n := len(first.Topics[0].Partitions[0].RecordBatches)
	if n == 0 || n > 10000 {
		t.Fatalf("first fetch returned %d bytes; want some, at most the quota's 10 windows (10000)", n)
	}
	second := fetch(1)
	if second.ThrottleMillis <= 0 || len(second.Topics) != 0 || second.ErrorCode != 0 {
		t.Fatalf("second fetch: throttle %d, %d topics, code %d; want Kafka's empty throttled answer", second.ThrottleMillis, len(second.Topics), second.ErrorCode)
	}
}
