package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestProduceConsumeRoundTrip produces with franz-go at every acks level
// and every codec, then consumes everything back in order.
func TestProduceConsumeRoundTrip(t *testing.T) {
	b := startBroker(t)
	b.createTopic("orders", 3, nil)
	ctx := ctxT(t)
	cases := []struct {
		name  string
		acks  kgo.Acks
		codec kgo.CompressionCodec
	}{
		{"acks=all none", kgo.AllISRAcks(), kgo.NoCompression()},
		{"acks=1 gzip", kgo.LeaderAck(), kgo.GzipCompression()},
		{"acks=0 snappy", kgo.NoAck(), kgo.SnappyCompression()},
		{"acks=all lz4", kgo.AllISRAcks(), kgo.Lz4Compression()},
		{"acks=all zstd", kgo.AllISRAcks(), kgo.ZstdCompression()},
	}
	want := map[string]bool{}
	for _, c := range cases {
		cl := b.client(kgo.RequiredAcks(c.acks), kgo.ProducerBatchCompression(c.codec), kgo.DefaultProduceTopic("orders"))
		for i := range 50 {
			v := fmt.Sprintf("%s-%d", c.name, i)
			want[v] = true
			cl.Produce(ctx, &kgo.Record{Key: []byte(v), Value: []byte(v)}, func(_ *kgo.Record, err error) {
				if err != nil {
					t.Errorf("produce %s: %v", v, err)
				}
			})
		}
		if err := cl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	consumer := b.client(kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	lastOffset := map[int32]int64{}
	for len(want) > 0 {
		fetches := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("%d records never arrived", len(want))
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		fetches.EachRecord(func(r *kgo.Record) {
			if last, ok := lastOffset[r.Partition]; ok && r.Offset != last+1 {
				t.Fatalf("partition %d: offset %d after %d", r.Partition, r.Offset, last)
			}
			lastOffset[r.Partition] = r.Offset
			if !want[string(r.Value)] {
				t.Fatalf("unexpected or duplicate record %q", r.Value)
			}
			delete(want, string(r.Value))
		})
	}
}

// TestLongPollWokenByProduce starts a fetch that must wait (MinBytes 1,
// a long MaxWait), produces, and expects the fetch to return the record:
// the append woke it, long before MaxWait.
func TestLongPollWokenByProduce(t *testing.T) {
	b := startBroker(t)
	id := b.createTopic("events", 1, nil)
	c := b.dial()
	fetched := make(chan *kmsg.FetchResponse, 1)
	go func() {
		req := kmsg.NewPtrFetchRequest()
		req.Version, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 13, 600_000, 1, 1<<20
		rt := kmsg.NewFetchRequestTopic()
		rt.TopicID = id
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.PartitionMaxBytes = 1 << 20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		fetched <- c.send(req).(*kmsg.FetchResponse)
	}()
	// The fetch is parked once the partition has a watcher; produce only
	// then, so the test shows a wake-up rather than a lucky first read.
	p, _ := b.parts.Partition("events", 0)
	waitFor(t, func() bool { return p.Watchers() > 0 })
	cl := b.client(kgo.DefaultProduceTopic("events"))
	if err := cl.ProduceSync(ctxT(t), &kgo.Record{Value: []byte("wake up")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	select {
	case resp := <-fetched:
		rp := resp.Topics[0].Partitions[0]
		if rp.ErrorCode != 0 || rp.HighWatermark != 1 || len(rp.RecordBatches) == 0 {
			t.Fatalf("fetch answered error %d, hw %d, %d record bytes", rp.ErrorCode, rp.HighWatermark, len(rp.RecordBatches))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("long poll was not woken by the produce")
	}
}

// waitFor polls cond (a state the test cannot be told about directly).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 3000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition never held")
}
