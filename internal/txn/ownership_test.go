package txn

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/storage"
)

// statePartition hosts __transaction_state-0 on node 1 over real storage, led by node 1 at
// leader epoch 3.
func statePartition(t *testing.T) (*partition.Manager, *partition.Partition) {
	t.Helper()
	store, err := storage.Open(storage.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Error(err)
		}
	})
	m := partition.NewManager(partition.ManagerOptions{NodeID: 1, Storage: store})
	p, err := m.Create(partition.TopicPartition{Topic: metadata.TransactionStateTopic, Partition: 0}, [16]byte{7}, storage.DefaultLogConfig(), partition.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetState(partition.State{Leader: 1, LeaderEpoch: 3, Replicas: []int32{1}, ISR: []int32{1}}); err != nil {
		t.Fatal(err)
	}
	return m, p
}

// TestTxnFollowLeadership: a transaction coordinator following leadership answers
// NOT_COORDINATOR for ids of a partition it was not elected for; once elected it loads the
// partition, completes the transaction another coordinator left prepared (markers carrying the
// partition's leader epoch as coordinator epoch) and serves its ids; after resigning it answers
// NOT_COORDINATOR again and lists nothing.
func TestTxnFollowLeadership(t *testing.T) {
	parts, p := statePartition(t)
	log := &PartitionLog{Partitions: parts, NumPartitions: 1}
	ids := &blockLog{}
	ctx := context.Background()

	// The previous coordinator prepares a commit whose markers never get written.
	held := &markerLog{hold: true}
	prev := New(Config{ProducerIDs: NewProducerIDs(ids, 1, 10), Log: log, Markers: held, NumPartitions: 1, OffsetsNumPartitions: 1})
	prev.Start()
	res := initTxn(t, prev, "app")
	if err := prev.AddPartitions(ctx, "app", res.ProducerID, res.ProducerEpoch, TopicPartitions{"orders": {0}}); err != nil {
		t.Fatal(err)
	}
	if _, err := prev.EndTxn(ctx, EndRequest{TransactionalID: "app", ProducerID: res.ProducerID, ProducerEpoch: res.ProducerEpoch, Commit: true}); err != nil {
		t.Fatal(err)
	}
	prev.Close()

	markers := &markerLog{}
	c := New(Config{ProducerIDs: NewProducerIDs(ids, 1, 10), Log: log, Markers: markers, NumPartitions: 1, OffsetsNumPartitions: 1,
		FollowLeadership: true})
	c.Start()
	defer c.Close()
	if _, err := c.Describe("app"); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("Describe before election: %v, want ErrNotCoordinator", err)
	}
	if _, err := c.InitProducerID(ctx, InitRequest{TransactionalID: "other", TransactionTimeoutMs: 1000, ProducerID: -1, ProducerEpoch: -1}); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("InitProducerId before election: %v, want ErrNotCoordinator", err)
	}

	c.Elected(p)
	d := waitState(t, c, "app", CompleteCommit)
	if d.ProducerID != res.ProducerID {
		t.Fatalf("loaded %+v, want producer %d", d, res.ProducerID)
	}
	sent := markers.markers()
	if len(sent) != 1 || sent[0].topic != "orders" || !sent[0].Commit || sent[0].CoordinatorEpoch != 3 {
		t.Fatalf("markers %+v, want one commit marker for orders-0 at coordinator epoch 3", sent)
	}
	initTxn(t, c, "other")
	if l, err := c.List(ListFilter{}); err != nil || len(l) != 2 {
		t.Fatalf("List: %+v %v", l, err)
	}

	c.Resigned(0)
	if _, err := c.Describe("app"); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("Describe after resigning: %v, want ErrNotCoordinator", err)
	}
	if _, err := c.EndTxn(ctx, EndRequest{TransactionalID: "other", ProducerID: 0, ProducerEpoch: 0}); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("EndTxn after resigning: %v, want ErrNotCoordinator", err)
	}
	if l, err := c.List(ListFilter{}); err != nil || len(l) != 0 {
		t.Fatalf("List after resigning: %+v %v", l, err)
	}
}

// TestTxnLoadInProgress: while an elected partition loads, its ids and ListTransactions get
// ErrCoordinatorLoading; once it is loaded they are served.
func TestTxnLoadInProgress(t *testing.T) {
	_, p := statePartition(t)
	c := New(Config{NumPartitions: 1, OffsetsNumPartitions: 1, FollowLeadership: true})
	c.Start()
	defer c.Close()
	release := make(chan struct{})
	c.loadedHook = func() { <-release }
	c.Elected(p)
	if _, err := c.Describe("app"); !errors.Is(err, ErrCoordinatorLoading) {
		t.Fatalf("Describe while loading: %v, want ErrCoordinatorLoading", err)
	}
	if _, err := c.InitProducerID(context.Background(), InitRequest{TransactionalID: "app", TransactionTimeoutMs: 1000, ProducerID: -1, ProducerEpoch: -1}); !errors.Is(err, ErrCoordinatorLoading) {
		t.Fatalf("InitProducerId while loading: %v, want ErrCoordinatorLoading", err)
	}
	if _, err := c.List(ListFilter{}); !errors.Is(err, ErrCoordinatorLoading) {
		t.Fatalf("List while loading: %v, want ErrCoordinatorLoading", err)
	}
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := c.Describe("app")
		if errors.Is(err, ErrTransactionalIDNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Describe after the load: %v, want ErrTransactionalIDNotFound", err)
		}
		time.Sleep(time.Millisecond)
	}
}
