package group

import (
	"context"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/storage"
)

// offsetsPartition hosts __consumer_offsets-0 led by node 1 over real storage.
func offsetsPartition(t *testing.T) *partition.Manager {
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
	p, err := m.Create(partition.TopicPartition{Topic: metadata.ConsumerOffsetsTopic, Partition: 0}, [16]byte{9}, storage.DefaultLogConfig(), partition.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetState(partition.State{Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestElectedLoadsAndResignedUnloads: a coordinator that becomes the leader of a
// __consumer_offsets partition after start loads its groups (classic offsets and a consumer
// group); when leadership moves away it forgets them.
func TestElectedLoadsAndResignedUnloads(t *testing.T) {
	parts := offsetsPartition(t)
	log := &PartitionLog{Partitions: parts, NumPartitions: 1}
	cfg := Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: log, NumPartitions: 1}
	a := New(cfg)
	t.Cleanup(a.Close)
	if err := a.CommitOffsets(context.Background(), "g", "", "", -1, []OffsetCommit{{Topic: "t", Offset: 42, LeaderEpoch: -1}}); err != nil {
		t.Fatal(err)
	}
	cc := newConsumerClient(t, a, "m", "orders")
	cc.group = "cg"
	cc.beat(topicsImage(t, map[string]int{"orders": 2}))

	b := New(cfg)
	t.Cleanup(b.Close)
	p, _ := parts.Partition(metadata.ConsumerOffsetsTopic, 0)
	b.Elected(p)
	deadline := time.Now().Add(10 * time.Second)
	for {
		o, ok := b.FetchOffset("g", "t", 0)
		d, err := b.DescribeConsumerGroup("cg")
		if ok && o.Offset == 42 && err == nil && len(d.Members) == 1 && d.Members[0].MemberEpoch == cc.epoch {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not loaded: offset %+v %v, consumer group %+v %v", o, ok, d, err)
		}
		time.Sleep(time.Millisecond)
	}
	b.Resigned(0)
	if l := b.List(); len(l) != 0 {
		t.Fatalf("groups after resigning: %+v", l)
	}
	if _, err := b.DescribeConsumerGroup("cg"); err == nil {
		t.Fatal("consumer group still described after resigning")
	}
}
