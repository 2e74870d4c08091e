package group

import (
	"context"
	"errors"
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

// waitStatus waits until c's CoordinatorStatus of gid is want.
func waitStatus(t *testing.T, c *Coordinator, gid string, want error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := c.CoordinatorStatus(gid)
		if errors.Is(err, want) || (want == nil && err == nil) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("CoordinatorStatus(%s) = %v, want %v", gid, err, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFollowLeadership: a coordinator that follows leadership serves no group of a partition
// it was not elected for (NOT_COORDINATOR), answers COORDINATOR_LOAD_IN_PROGRESS while an
// elected partition loads, serves the loaded groups, and after resigning answers
// NOT_COORDINATOR again, to waiting joins too, and lists nothing.
func TestFollowLeadership(t *testing.T) {
	parts := offsetsPartition(t)
	log := &PartitionLog{Partitions: parts, NumPartitions: 1}
	writer := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: log, NumPartitions: 1})
	t.Cleanup(writer.Close)
	if err := writer.CommitOffsets(context.Background(), "g", "", "", -1, []OffsetCommit{{Topic: "t", Offset: 7, LeaderEpoch: -1}}); err != nil {
		t.Fatal(err)
	}

	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: log, NumPartitions: 1,
		FollowLeadership: true, InitialRebalanceDelay: time.Hour})
	t.Cleanup(c.Close)
	if err := c.CoordinatorStatus("g"); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("before election: %v, want ErrNotCoordinator", err)
	}
	if res := <-c.Join(JoinRequest{Group: "other", ProtocolType: "consumer", Protocols: []Protocol{{Name: "range"}},
		SessionTimeout: time.Second, RebalanceTimeout: time.Second}); res.Err == nil {
		t.Fatal("a join created a group of a partition not coordinated here")
	}

	// Hold group g's mutex so the load blocks on g's record: the partition is loading.
	blocker := newGroup("g")
	c.mu.Lock()
	c.mu.groups["g"] = blocker
	c.mu.Unlock()
	blocker.mu.Lock()
	p, _ := parts.Partition(metadata.ConsumerOffsetsTopic, 0)
	c.Elected(p)
	if err := c.CoordinatorStatus("g"); !errors.Is(err, ErrCoordinatorLoadInProgress) {
		t.Fatalf("while loading: %v, want ErrCoordinatorLoadInProgress", err)
	}
	if err := c.ListStatus(); !errors.Is(err, ErrCoordinatorLoadInProgress) {
		t.Fatalf("ListStatus while loading: %v", err)
	}
	blocker.mu.Unlock()
	waitStatus(t, c, "g", nil)
	if o, ok := c.FetchOffset("g", "t", 0); !ok || o.Offset != 7 {
		t.Fatalf("loaded offset %+v %v, want 7", o, ok)
	}
	if err := c.ListStatus(); err != nil {
		t.Fatal(err)
	}

	join := c.Join(JoinRequest{Group: "g", ProtocolType: "consumer", Protocols: []Protocol{{Name: "range"}},
		SessionTimeout: time.Second, RebalanceTimeout: time.Second}) // waits: initial rebalance delay
	c.Resigned(0)
	select {
	case res := <-join:
		if !errors.Is(res.Err, ErrNotCoordinator) {
			t.Fatalf("waiting join after resigning: %v, want ErrNotCoordinator", res.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waiting join not answered after resigning")
	}
	if err := c.CoordinatorStatus("g"); !errors.Is(err, ErrNotCoordinator) {
		t.Fatalf("after resigning: %v, want ErrNotCoordinator", err)
	}
	if l := c.List(); len(l) != 0 {
		t.Fatalf("groups listed after resigning: %+v", l)
	}
}

// TestResignedDuringLoad: a partition resigned while it is still loading keeps none of the
// groups the load goes on to read.
func TestResignedDuringLoad(t *testing.T) {
	parts := offsetsPartition(t)
	log := &PartitionLog{Partitions: parts, NumPartitions: 1}
	writer := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: log, NumPartitions: 1})
	t.Cleanup(writer.Close)
	for _, gid := range []string{"a", "g", "z"} {
		if err := writer.CommitOffsets(context.Background(), gid, "", "", -1, []OffsetCommit{{Topic: "t", Offset: 1, LeaderEpoch: -1}}); err != nil {
			t.Fatal(err)
		}
	}
	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: log, NumPartitions: 1, FollowLeadership: true})
	t.Cleanup(c.Close)
	blocker := newGroup("g")
	c.mu.Lock()
	c.mu.groups["g"] = blocker
	c.mu.Unlock()
	blocker.mu.Lock()
	p, _ := parts.Partition(metadata.ConsumerOffsetsTopic, 0)
	c.Elected(p)
	resigned := make(chan struct{})
	go func() { c.Resigned(0); close(resigned) }() // waits for blocker (lockListed)
	deadline := time.Now().Add(10 * time.Second)
	for !errors.Is(c.CoordinatorStatus("g"), ErrNotCoordinator) {
		if time.Now().After(deadline) {
			t.Fatal("Resigned did not take the partition")
		}
		time.Sleep(time.Millisecond)
	}
	blocker.mu.Unlock()
	<-resigned
	c.loaders.wg.Wait()
	if l := c.List(); len(l) != 0 {
		t.Fatalf("groups kept from a load resigned midway: %+v", l)
	}
}

// TestLoadPartitionsFollowsLeadership: at start a coordinator following leadership loads and
// serves the hosted __consumer_offsets partitions it leads, not those it follows.
func TestLoadPartitionsFollowsLeadership(t *testing.T) {
	for _, tc := range []struct {
		name   string
		leader int32
		want   error
	}{
		{"leader", 1, nil},
		{"follower", 2, ErrNotCoordinator},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts := offsetsPartition(t)
			p, _ := parts.Partition(metadata.ConsumerOffsetsTopic, 0)
			if err := p.SetState(partition.State{Leader: tc.leader, LeaderEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}); err != nil {
				t.Fatal(err)
			}
			c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, NumPartitions: 1, FollowLeadership: true,
				Log: &PartitionLog{Partitions: parts, NumPartitions: 1}})
			t.Cleanup(c.Close)
			if err := LoadPartitions(c, parts); err != nil {
				t.Fatal(err)
			}
			if err := c.CoordinatorStatus("g"); !errors.Is(err, tc.want) && (tc.want != nil || err != nil) {
				t.Fatalf("CoordinatorStatus = %v, want %v", err, tc.want)
			}
		})
	}
}
