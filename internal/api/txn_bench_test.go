package api_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkTransactions measures transactions of 100 records (1 KiB each, three partitions)
// through franz-go's transactional producer and the real coordinator, partitions and storage:
// one op is BeginTransaction, 100 produces, EndTransaction(commit) — AddPartitionsToTxn,
// the produce requests, EndTxn, and the markers the coordinator writes before the next
// transaction may start. BenchmarkAcksAll100 is the reference: one op is 100 of the same
// records with acks=all and no transaction, waited for. Run both in one process:
//
//	go test -run XXX -bench 'Transactions|AcksAll100' -benchtime 2000x -count 3 ./internal/api/
func BenchmarkTransactions(b *testing.B) {
	tb := startTxnBroker(b)
	tb.createTopic("bench-txn", 3, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(tb.txnAddr), kgo.TransactionalID("bench"), kgo.DefaultProduceTopic("bench-txn"),
		kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.TransactionTimeout(time.Minute),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	ctx := context.Background()
	value := make([]byte, 1024)
	b.SetBytes(100 * int64(len(value)))
	b.ResetTimer()
	for range b.N {
		if err := cl.BeginTransaction(); err != nil {
			b.Fatal(err)
		}
		produce100(b, cl, value)
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "txn/s")
}

// BenchmarkAcksAll100 is BenchmarkTransactions' reference: 100 records with acks=all per op.
func BenchmarkAcksAll100(b *testing.B) {
	tb := startTxnBroker(b)
	tb.createTopic("bench-plain", 3, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(tb.txnAddr), kgo.DefaultProduceTopic("bench-plain"), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DisableIdempotentWrite(), kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	value := make([]byte, 1024)
	b.SetBytes(100 * int64(len(value)))
	b.ResetTimer()
	for range b.N {
		produce100(b, cl, value)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches-of-100/s")
}

func produce100(b *testing.B, cl *kgo.Client, value []byte) {
	var wg sync.WaitGroup
	wg.Add(100)
	for i := range 100 {
		cl.Produce(context.Background(), &kgo.Record{Value: value, Partition: int32(i % 3)}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
}
