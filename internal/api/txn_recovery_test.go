package api_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/txn"
)

// offlineMarkers is a MarkerWriter whose partitions never take a marker, as if the broker
// died right after PrepareCommit was durable.
type offlineMarkers struct{}

func (offlineMarkers) WriteTxnMarker(context.Context, string, int32, txn.Marker) error {
	return errors.New("broker stopped before writing markers")
}

// TestRecoveryCompletesPreparedCommitOnRealPartitions: a transaction is prepared (commit) in
// __transaction_state but none of its markers is written; a coordinator started afterwards
// over the same partitions loads the state, writes the commit marker and completes it — the
// partition's last stable offset moves past the records and read_committed consumers see them.
func TestRecoveryCompletesPreparedCommitOnRealPartitions(t *testing.T) {
	tb := startTxnBroker(t)
	tb.createTopic("t", 1, nil)
	ctl := tb.env.Controller.(*metadata.Controller)
	cfg := func(markers txn.MarkerWriter) txn.Config {
		return txn.Config{ProducerIDs: txn.NewProducerIDs(ctl, tb.nodeID, 0),
			Log:           &txn.PartitionLog{Partitions: tb.parts, Controller: ctl, NumPartitions: 3, ReplicationFactor: 1},
			NumPartitions: 3, OffsetsNumPartitions: 3, Markers: markers}
	}
	ctx := context.Background()
	first := txn.New(cfg(offlineMarkers{}))
	first.Start()
	ids, err := first.InitProducerID(ctx, txn.InitRequest{TransactionalID: "rec", TransactionTimeoutMs: 60000, ProducerID: -1, ProducerEpoch: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.AddPartitions(ctx, "rec", ids.ProducerID, ids.ProducerEpoch, txn.TopicPartitions{"t": {0}}); err != nil {
		t.Fatal(err)
	}
	b := record.NewBuilder(record.None)
	b.ProducerID, b.ProducerEpoch, b.BaseSequence, b.Transactional = ids.ProducerID, ids.ProducerEpoch, 0, true
	b.Add(time.Now().UnixMilli(), nil, []byte("in-the-transaction"))
	batch, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := tb.parts.Partition("t", 0)
	if _, err := p.Append(batch, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := first.EndTxn(ctx, txn.EndRequest{TransactionalID: "rec", ProducerID: ids.ProducerID, ProducerEpoch: ids.ProducerEpoch, Commit: true}); err != nil {
		t.Fatal(err)
	}
	first.Close()
	if p.LastStableOffset() != 0 {
		t.Fatalf("last stable offset %d with the transaction open, want 0", p.LastStableOffset())
	}

	second := txn.New(cfg(&txn.PartitionMarkers{Partitions: tb.parts}))
	defer second.Close()
	if err := txn.LoadPartitions(second, tb.parts); err != nil {
		t.Fatal(err)
	}
	second.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := second.Describe("rec")
		if err == nil && d.State == txn.CompleteCommit && p.LastStableOffset() == p.HighWatermark() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not completed: %+v, %v; LSO %d HW %d", d, err, p.LastStableOffset(), p.HighWatermark())
		}
		time.Sleep(5 * time.Millisecond)
	}
	got := consumeAll(t, tb.txnAddr, "t", kgo.ReadCommitted(), 1)
	if len(got) != 1 || got[0] != "in-the-transaction" {
		t.Fatalf("read_committed after recovery: %v", got)
	}
}
