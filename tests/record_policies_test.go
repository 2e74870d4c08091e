package tests

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/record"
)

// rawBatches fetches partition 0 of topic from offset 0 over a raw
// connection and returns the stored batch headers, as a tool reading the
// wire bytes would see them.
func rawBatches(t *testing.T, c *rawConn, topic string) []record.Header {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(11) // topic names, not ids
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 100, 1, 1<<20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = topic
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	fp.CurrentLeaderEpoch = -1
	ft.Partitions = append(ft.Partitions, fp)
	req.Topics = append(req.Topics, ft)
	resp := c.roundTrip(req).(*kmsg.FetchResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("fetch answered %d topics", len(resp.Topics))
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		t.Fatalf("fetch: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	var hs []record.Header
	it := record.NewBatches(p.RecordBatches)
	for batch, _, ok := it.Next(); ok; batch, _, ok = it.Next() {
		h, err := record.Validate(batch, record.ValidateOptions{DecodeRecords: true})
		if err != nil {
			t.Fatalf("fetched batch invalid: %v", err)
		}
		hs = append(hs, h)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return hs
}

// TestTopicCompressionType produces uncompressed and gzip batches to topics
// whose compression.type differs and reads the raw batch attributes back:
// the broker rewrote each batch with the topic's codec, and a consumer
// still reads the same records.
func TestTopicCompressionType(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tests := []struct {
		topic, compression string
		producer           kgo.CompressionCodec
		want               record.Codec
	}{
		{"to-zstd", "zstd", kgo.NoCompression(), record.Zstd},
		{"to-lz4", "lz4", kgo.GzipCompression(), record.LZ4},
		{"to-none", "uncompressed", kgo.SnappyCompression(), record.None},
		{"keep-producer", "producer", kgo.GzipCompression(), record.Gzip},
	}
	c := dialRaw(t, n.kafkaAddr)
	for _, tc := range tests {
		t.Run(tc.topic, func(t *testing.T) {
			comp := tc.compression
			n.createTopic(tc.topic, 1, map[string]*string{"compression.type": &comp})
			cl := n.client(kgo.ProducerBatchCompression(tc.producer), kgo.DefaultProduceTopic(tc.topic))
			defer cl.Close()
			var rs []*kgo.Record
			for i := range 50 {
				rs = append(rs, &kgo.Record{Key: []byte{byte(i)}, Value: []byte("a value that compresses well, a value that compresses well")})
			}
			if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			hs := rawBatches(t, c, tc.topic)
			total := 0
			for _, h := range hs {
				if h.Compression() != tc.want {
					t.Fatalf("stored batch at %d has codec %v, want %v", h.BaseOffset, h.Compression(), tc.want)
				}
				total += int(h.NumRecords)
			}
			if total != 50 {
				t.Fatalf("%d records stored, want 50", total)
			}
			consumer := n.client(kgo.ConsumeTopics(tc.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			defer consumer.Close()
			got := 0
			for got < 50 {
				fs := consumer.PollFetches(ctx)
				if err := fs.Err(); err != nil {
					t.Fatal(err)
				}
				fs.EachRecord(func(r *kgo.Record) {
					if r.Key[0] != byte(r.Offset) {
						t.Errorf("offset %d has key %d", r.Offset, r.Key[0])
					}
					got++
				})
			}
		})
	}
}

// TestLogAppendTimeAndTimestampBounds checks message.timestamp.type
// LogAppendTime (the broker stamps its clock, the batch says so, the
// produce answer carries it) and message.timestamp.after.max.ms, and
// max.message.bytes answering MESSAGE_TOO_LARGE, and a compacted topic
// refusing a record without a key with INVALID_RECORD.
func TestLogAppendTimeAndTimestampBounds(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lat, after, small, compact := "LogAppendTime", "60000", "2000", "compact"
	n.createTopic("table", 1, map[string]*string{"cleanup.policy": &compact})
	n.createTopic("stamped", 1, map[string]*string{"message.timestamp.type": &lat})
	n.createTopic("bounded", 1, map[string]*string{"message.timestamp.after.max.ms": &after})
	n.createTopic("small", 1, map[string]*string{"max.message.bytes": &small})

	cl := n.client(kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordRetries(1))
	defer cl.Close()
	old := time.Now().Add(-48 * time.Hour)
	before := time.Now().Add(-time.Second).UnixMilli()
	r := &kgo.Record{Topic: "stamped", Value: []byte("v"), Timestamp: old}
	if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatal(err)
	}
	afterProduce := time.Now().Add(time.Second).UnixMilli()
	hs := rawBatches(t, dialRaw(t, n.kafkaAddr), "stamped")
	if len(hs) != 1 || !hs[0].LogAppendTime() {
		t.Fatalf("stored batches %+v: want one LogAppendTime batch", hs)
	}
	if ts := hs[0].MaxTimestamp; ts < before || ts > afterProduce {
		t.Fatalf("batch max timestamp %d outside the produce window [%d, %d]", ts, before, afterProduce)
	}
	consumer := n.client(kgo.ConsumeTopics("stamped"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer consumer.Close()
	fs := consumer.PollFetches(ctx)
	if err := fs.Err(); err != nil {
		t.Fatal(err)
	}
	recs := fs.Records()
	if len(recs) != 1 || recs[0].Attrs.TimestampType() != 1 || recs[0].Timestamp.UnixMilli() != hs[0].MaxTimestamp {
		t.Fatalf("consumed %d records; want one with LogAppendTime %d", len(recs), hs[0].MaxTimestamp)
	}

	future := &kgo.Record{Topic: "bounded", Value: []byte("v"), Timestamp: time.Now().Add(time.Hour)}
	if err := cl.ProduceSync(ctx, future).FirstErr(); !errors.Is(err, kerr.InvalidTimestamp) {
		t.Fatalf("future timestamp: %v, want INVALID_TIMESTAMP", err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "bounded", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("timestamp now: %v", err)
	}
	big := &kgo.Record{Topic: "small", Value: make([]byte, 4096)}
	if err := cl.ProduceSync(ctx, big).FirstErr(); !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("4 KiB record to max.message.bytes=2000: %v, want MESSAGE_TOO_LARGE", err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "table", Value: []byte("no key")}).FirstErr(); !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("keyless record to a compacted topic: %v, want INVALID_RECORD", err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "table", Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("keyed record to a compacted topic: %v", err)
	}
}
