package group

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/storage"
)

// TestElectedLoadsPastItsHighWatermark: a follower of __consumer_offsets holds a commit the
// old leader acknowledged but has not yet learned the high watermark covering it; elected
// leader, its coordinator loads the whole log (as Kafka's does) and serves the offset.
func TestElectedLoadsPastItsHighWatermark(t *testing.T) {
	parts := offsetsPartition(t)
	cfg := Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour,
		Log: &PartitionLog{Partitions: parts, NumPartitions: 1}, NumPartitions: 1}
	a := New(cfg)
	t.Cleanup(a.Close)
	if err := a.CommitOffsets(context.Background(), "g", "", "", -1, []OffsetCommit{{Topic: "t", Offset: 42, LeaderEpoch: 7}}); err != nil {
		t.Fatal(err)
	}
	old, _ := parts.Partition(metadata.ConsumerOffsetsTopic, 0)
	var log bytes.Buffer
	if err := old.Replay(context.Background(), old.LogEndOffset(), 0, func(b []byte) error { log.Write(b); return nil }); err != nil {
		t.Fatal(err)
	}

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
	p, err := m.Create(partition.TopicPartition{Topic: metadata.ConsumerOffsetsTopic, Partition: 0}, [16]byte{9}, storage.DefaultLogConfig(), partition.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	state := partition.State{Leader: 2, LeaderEpoch: 1, PartitionEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}
	if err := p.SetState(state); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AppendAsFollower(log.Bytes(), 1); err != nil {
		t.Fatal(err)
	}
	state.Leader, state.LeaderEpoch, state.PartitionEpoch = 1, 2, 2
	if err := p.SetState(state); err != nil {
		t.Fatal(err)
	}
	if hw, leo := p.HighWatermark(), p.LogEndOffset(); hw != 0 || leo == 0 {
		t.Fatalf("new leader: high watermark %d, log end %d; want 0 and more", hw, leo)
	}

	b := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour,
		Log: &PartitionLog{Partitions: m, NumPartitions: 1}, NumPartitions: 1})
	t.Cleanup(b.Close)
	b.Elected(p)
	deadline := time.Now().Add(10 * time.Second)
	for {
		o, ok := b.FetchOffset("g", "t", 0)
		if ok && o.Offset == 42 && o.LeaderEpoch == 7 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not loaded: offset %+v %v (status %v)", o, ok, b.CoordinatorStatus("g"))
		}
		time.Sleep(time.Millisecond)
	}
}
