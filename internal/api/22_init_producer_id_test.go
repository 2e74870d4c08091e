package api_test

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/txn"
)

// txnBroker is the in-process test broker with a real transaction coordinator: a second
// server whose Env carries it, registered in metadata as the node's endpoint.
type txnBroker struct {
	*testBroker
	txnAddr string
	coord   *txn.Coordinator
}

func startTxnBroker(t testing.TB) *txnBroker {
	t.Helper()
	b := startBroker(t)
	ctl := b.env.Controller.(*metadata.Controller)
	groups := group.New(group.Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, NumPartitions: 3,
		Log: &group.PartitionLog{Partitions: b.parts, Controller: ctl, NumPartitions: 3, ReplicationFactor: 1}})
	coord := txn.New(txn.Config{ProducerIDs: txn.NewProducerIDs(ctl, b.nodeID, 0),
		Log:           &txn.PartitionLog{Partitions: b.parts, Controller: ctl, NumPartitions: 3, ReplicationFactor: 1},
		NumPartitions: 3, OffsetsNumPartitions: 3,
		Markers: &txn.PartitionMarkers{Partitions: b.parts, Offsets: groups}})
	coord.Start()
	env := *b.env
	env.Txns, env.Groups = coord, groups
	addr := b.serveAsNode(&env, func() {
		coord.Close()
		groups.Close()
	})
	return &txnBroker{testBroker: b, txnAddr: addr, coord: coord}
}

func (tb *txnBroker) txnConn() *rawConn {
	tb.t.Helper()
	nc, err := net.Dial("tcp", tb.txnAddr)
	if err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Cleanup(func() { nc.Close() })
	return &rawConn{t: tb.t, nc: nc, br: bufio.NewReader(nc)}
}

// TestInitProducerIDIdempotent: every version hands an idempotent producer a fresh id at
// epoch 0, drawn from a block the metadata log recorded.
func TestInitProducerIDIdempotent(t *testing.T) {
	tb := startTxnBroker(t)
	c := tb.txnConn()
	seen := map[int64]bool{}
	for v := int16(0); v <= 5; v++ {
		t.Run("v"+strconv.Itoa(int(v)), func(t *testing.T) {
			req := kmsg.NewPtrInitProducerIDRequest()
			req.Version = v
			req.TransactionTimeoutMillis = 60000
			req.ProducerID, req.ProducerEpoch = -1, -1
			resp := c.send(req).(*kmsg.InitProducerIDResponse)
			if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
				t.Fatal(err)
			}
			if resp.ProducerID < 0 || resp.ProducerEpoch != 0 || seen[resp.ProducerID] {
				t.Fatalf("producer id %d epoch %d (seen before: %v)", resp.ProducerID, resp.ProducerEpoch, seen[resp.ProducerID])
			}
			seen[resp.ProducerID] = true
		})
	}
	if next := tb.Image().NextProducerID(); next != txn.ProducerIDBlockSize {
		t.Fatalf("metadata next producer id %d, want one block (%d)", next, txn.ProducerIDBlockSize)
	}
}

// TestIdempotentProduceThroughFranzGo: franz-go's default (idempotent) producer initializes
// its producer id here and produces.
func TestIdempotentProduceThroughFranzGo(t *testing.T) {
	tb := startTxnBroker(t)
	tb.createTopic("idem", 1, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(tb.txnAddr), kgo.DefaultProduceTopic("idem"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 10 {
		if err := cl.ProduceSync(ctx, kgo.StringRecord("r"+strconv.Itoa(i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := tb.parts.Partition("idem", 0)
	if p.HighWatermark() != 10 {
		t.Fatalf("high watermark %d, want 10", p.HighWatermark())
	}
	if tb.Image().NextProducerID() == 0 {
		t.Fatal("no producer id block was allocated")
	}
}
