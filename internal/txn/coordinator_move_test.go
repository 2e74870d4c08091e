package txn

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/storage"
)

// TestTxnNewLeaderLoadsPastItsHighWatermark: a follower of __transaction_state holds the old
// coordinator's PrepareCommit but has not yet learned the high watermark that committed it (as
// when the old leader stops right after): elected leader, it loads its whole log, as Kafka's
// coordinator does, and completes the transaction with markers at its own leader epoch as
// coordinator epoch (and a prepared abort likewise), instead of finding the transactions still
// open.
func TestTxnNewLeaderLoadsPastItsHighWatermark(t *testing.T) {
	parts, old := statePartition(t)
	ids := &blockLog{}
	ctx := context.Background()
	prev := New(Config{ProducerIDs: NewProducerIDs(ids, 1, 10), Log: &PartitionLog{Partitions: parts, NumPartitions: 1},
		Markers: &markerLog{hold: true}, NumPartitions: 1, OffsetsNumPartitions: 1})
	prev.Start()
	res := initTxn(t, prev, "app")
	if err := prev.AddPartitions(ctx, "app", res.ProducerID, res.ProducerEpoch, TopicPartitions{"orders": {0}}); err != nil {
		t.Fatal(err)
	}
	if _, err := prev.EndTxn(ctx, EndRequest{TransactionalID: "app", ProducerID: res.ProducerID, ProducerEpoch: res.ProducerEpoch, Commit: true}); err != nil {
		t.Fatal(err)
	}
	res2 := initTxn(t, prev, "app2")
	if err := prev.AddPartitions(ctx, "app2", res2.ProducerID, res2.ProducerEpoch, TopicPartitions{"payments": {1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := prev.EndTxn(ctx, EndRequest{TransactionalID: "app2", ProducerID: res2.ProducerID, ProducerEpoch: res2.ProducerEpoch}); err != nil {
		t.Fatal(err)
	}
	prev.Close()

	// Node 1 of another replica set follows node 2 at epoch 3 and has the same log, its high
	// watermark still 0.
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
	state := partition.State{Leader: 2, LeaderEpoch: 3, PartitionEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}
	if err := p.SetState(state); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := old.Replay(ctx, old.LogEndOffset(), 0, func(b []byte) error { log.Write(b); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AppendAsFollower(log.Bytes(), 3); err != nil {
		t.Fatal(err)
	}
	state.Leader, state.LeaderEpoch, state.PartitionEpoch = 1, 4, 2
	if err := p.SetState(state); err != nil {
		t.Fatal(err)
	}
	if hw, leo := p.HighWatermark(), p.LogEndOffset(); hw != 0 || leo == 0 {
		t.Fatalf("new leader: high watermark %d, log end %d; want 0 and more", hw, leo)
	}

	markers := &markerLog{}
	c := New(Config{ProducerIDs: NewProducerIDs(ids, 1, 10), Log: &PartitionLog{Partitions: m, NumPartitions: 1},
		Markers: markers, NumPartitions: 1, OffsetsNumPartitions: 1, FollowLeadership: true})
	c.Start()
	defer c.Close()
	c.Elected(p)
	deadline := time.Now().Add(10 * time.Second)
	for len(markers.markers()) < 2 {
		if time.Now().After(deadline) {
			d, err := c.Describe("app")
			t.Fatalf("no marker sent; app is %+v (%v)", d, err)
		}
		time.Sleep(time.Millisecond)
	}
	byTopic := map[string]sentMarker{}
	for _, m := range markers.markers() {
		byTopic[m.topic] = m
	}
	if m, ok := byTopic["orders"]; len(byTopic) != 2 || !ok || !m.Commit || m.CoordinatorEpoch != 4 {
		t.Fatalf("markers %+v, want a commit marker for orders-0 at coordinator epoch 4", markers.markers())
	}
	if m, ok := byTopic["payments"]; !ok || m.Commit || m.CoordinatorEpoch != 4 {
		t.Fatalf("markers %+v, want an abort marker for payments-1 at coordinator epoch 4", markers.markers())
	}
	// The follower catches up; the completion commits.
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			if err := p.UpdateFollowerFetch(2, -1, p.LogEndOffset()); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	waitState(t, c, "app", CompleteCommit)
	waitState(t, c, "app2", CompleteAbort)
	close(stop)
	<-stopped
}
