package api_test

import (
	"context"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkProduceAcksAll produces 1 KiB records with acks=all to six
// partitions through franz-go and the real server and storage, the shape
// of the throughput target. Run:
//
//	go test -run XXX -bench Produce -benchtime 100000x ./internal/api/
func BenchmarkProduceAcksAll(b *testing.B) {
	br := startBroker(b)
	br.createTopic("bench", 6, nil)
	cl := br.client(kgo.DefaultProduceTopic("bench"), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()))
	value := make([]byte, 1024)
	ctx := context.Background()
	var wg sync.WaitGroup
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	for range b.N {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
}

// BenchmarkConsume reads back 1 KiB records from six partitions.
func BenchmarkConsume(b *testing.B) {
	br := startBroker(b)
	br.createTopic("bench", 6, nil)
	producer := br.client(kgo.DefaultProduceTopic("bench"), kgo.ProducerBatchCompression(kgo.NoCompression()))
	value := make([]byte, 1024)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range b.N {
		wg.Add(1)
		producer.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	consumer := br.client(kgo.ConsumeTopics("bench"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	for n := 0; n < b.N; {
		fetches := consumer.PollFetches(ctx)
		fetches.EachError(func(_ string, _ int32, err error) { b.Fatal(err) })
		n += fetches.NumRecords()
	}
}

// BenchmarkProduceAcksAllKfake is the reference for BenchmarkProduceAcksAll:
// the same client and workload against kfake with a data directory, in the
// same run, so the two can be compared as a ratio.
func BenchmarkProduceAcksAllKfake(b *testing.B) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, "bench"), kfake.DataDir(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	defer cluster.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic("bench"),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	value := make([]byte, 1024)
	ctx := context.Background()
	var wg sync.WaitGroup
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	for range b.N {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
}
