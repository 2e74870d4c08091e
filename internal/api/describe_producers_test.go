package api_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/record"
)

// producerBatch builds one batch of n records of a producer.
func producerBatch(t *testing.T, id int64, epoch int16, seq int32, n int, txn bool) []byte {
	t.Helper()
	b := record.NewBuilder(record.None)
	b.ProducerID, b.ProducerEpoch, b.BaseSequence, b.Transactional = id, epoch, seq, txn
	for range n {
		b.Add(time.Now().UnixMilli(), nil, []byte("v"))
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIdempotentProduceAndDescribeProducers: a retried batch gets its
// original offset, a gap is OUT_OF_ORDER_SEQUENCE_NUMBER, an old epoch
// INVALID_PRODUCER_EPOCH, and DescribeProducers reports the producer.
func TestIdempotentProduceAndDescribeProducers(t *testing.T) {
	b := startBroker(t)
	b.createTopic("idem", 1, nil)
	c := b.dial()
	steps := []struct {
		name     string
		records  []byte
		wantCode int16
		wantBase int64
	}{
		{"first", producerBatch(t, 42, 3, 0, 2, false), 0, 0},
		{"second", producerBatch(t, 42, 3, 2, 1, false), 0, 2},
		{"retry of first", producerBatch(t, 42, 3, 0, 2, false), 0, 0},
		{"gap", producerBatch(t, 42, 3, 9, 1, false), kerr.OutOfOrderSequenceNumber.Code, -1},
		{"old epoch", producerBatch(t, 42, 2, 3, 1, false), kerr.InvalidProducerEpoch.Code, -1},
	}
	for _, s := range steps {
		sp := produceRaw(c, 9, "idem", s.records)
		if sp.ErrorCode != s.wantCode || sp.BaseOffset != s.wantBase {
			t.Fatalf("%s: code %d base %d, want %d and %d", s.name, sp.ErrorCode, sp.BaseOffset, s.wantCode, s.wantBase)
		}
	}
	req := kmsg.NewPtrDescribeProducersRequest()
	rt := kmsg.NewDescribeProducersRequestTopic()
	rt.Topic, rt.Partitions = "idem", []int32{0, 7}
	req.Topics = append(req.Topics, rt)
	resp := c.send(req).(*kmsg.DescribeProducersResponse)
	parts := resp.Topics[0].Partitions
	if len(parts) != 2 || parts[0].ErrorCode != 0 || parts[1].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("partitions %+v", parts)
	}
	ap := parts[0].ActiveProducers
	if len(ap) != 1 || ap[0].ProducerID != 42 || ap[0].ProducerEpoch != 3 || ap[0].LastSequence != 2 || ap[0].CurrentTxnStartOffset != -1 {
		t.Fatalf("active producers %+v", ap)
	}
}

// TestReadCommittedFetchGetsAbortedTransactions: a read_committed fetch
// stops at an open transaction and, after the abort, lists it.
func TestReadCommittedFetchGetsAbortedTransactions(t *testing.T) {
	b := startBroker(t)
	b.createTopic("txns", 1, nil)
	c := b.dial()
	if sp := produceRaw(c, 9, "txns", producerBatch(t, 7, 0, 0, 3, true)); sp.ErrorCode != 0 {
		t.Fatalf("transactional produce: %d", sp.ErrorCode)
	}
	if sp := produceRaw(c, 9, "txns", producerBatch(t, -1, -1, -1, 2, false)); sp.ErrorCode != 0 {
		t.Fatalf("plain produce: %d", sp.ErrorCode)
	}
	fetch := func() kmsg.FetchResponseTopicPartition {
		req := kmsg.NewPtrFetchRequest()
		req.Version, req.IsolationLevel, req.MaxBytes, req.ReplicaID = 11, 1, 1<<20, -1
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic = "txns"
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.PartitionMaxBytes, fp.CurrentLeaderEpoch = 1<<20, -1
		ft.Partitions = append(ft.Partitions, fp)
		req.Topics = append(req.Topics, ft)
		return c.send(req).(*kmsg.FetchResponse).Topics[0].Partitions[0]
	}
	open := fetch()
	if open.ErrorCode != 0 || open.LastStableOffset != 0 || open.HighWatermark != 5 || len(open.RecordBatches) != 0 {
		t.Fatalf("open transaction: code %d lso %d hw %d, %d bytes", open.ErrorCode, open.LastStableOffset, open.HighWatermark, len(open.RecordBatches))
	}
	p, _ := b.parts.Partition("txns", 0)
	if _, err := p.WriteTxnMarker(partition.TxnMarker{ProducerID: 7, ProducerEpoch: 0}); err != nil {
		t.Fatal(err)
	}
	done := fetch()
	if done.LastStableOffset != 6 || len(done.RecordBatches) == 0 {
		t.Fatalf("after abort: lso %d, %d bytes", done.LastStableOffset, len(done.RecordBatches))
	}
	if at := done.AbortedTransactions; len(at) != 1 || at[0].ProducerID != 7 || at[0].FirstOffset != 0 {
		t.Fatalf("aborted transactions %+v, want producer 7 from 0", at)
	}
}
