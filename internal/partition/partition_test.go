package partition

import (
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/storage"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newTestPartition hosts one partition over real storage in a temp dir.
func newTestPartition(t *testing.T, cfg Config, state State) *Partition {
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
	m := NewManager(ManagerOptions{NodeID: 1, Storage: store})
	p, err := m.Create(TopicPartition{Topic: "t", Partition: 0}, [16]byte{1}, storage.DefaultLogConfig(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetState(state); err != nil {
		t.Fatal(err)
	}
	return p
}

func soleLeader() State {
	return State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1}, ISR: []int32{1}}
}

func records(t *testing.T, n int) []byte {
	t.Helper()
	b := record.NewBuilder(record.None)
	for i := range n {
		b.Add(time.Now().UnixMilli(), []byte{byte(i)}, []byte("value"))
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHighWatermarkFollowsSoleLeader(t *testing.T) {
	p := newTestPartition(t, DefaultConfig(), soleLeader())
	res, err := p.Append(records(t, 3), -1)
	if err != nil {
		t.Fatal(err)
	}
	if res.BaseOffset != 0 || res.LastOffset != 2 || p.HighWatermark() != 3 {
		t.Fatalf("append [%d,%d], hw %d", res.BaseOffset, res.LastOffset, p.HighWatermark())
	}
	if ok, err := p.Committed(3); !ok || err != nil {
		t.Fatalf("committed: %v %v", ok, err)
	}
}

func TestHighWatermarkWaitsForFollowers(t *testing.T) {
	state := State{Leader: 1, LeaderEpoch: 3, PartitionEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}
	cfg := DefaultConfig()
	cfg.MinInsyncReplicas = 2
	p := newTestPartition(t, cfg, state)
	res, err := p.Append(records(t, 2), -1)
	if err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 0 {
		t.Fatalf("hw %d before the follower fetched", hw)
	}
	w := NewWaiter()
	p.Watch(w)
	if ok, _ := p.Committed(res.LastOffset + 1); ok {
		t.Fatal("committed before the follower had the records")
	}
	if err := p.UpdateFollowerFetch(2, -1, 1); err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 1 {
		t.Fatalf("hw %d after follower fetched from 1", hw)
	}
	select {
	case <-w.C():
	default:
		t.Fatal("high watermark moved without waking the waiter")
	}
	if err := p.UpdateFollowerFetch(2, -1, 2); err != nil {
		t.Fatal(err)
	}
	if ok, err := p.Committed(res.LastOffset + 1); !ok || err != nil {
		t.Fatalf("committed after follower caught up: %v %v", ok, err)
	}

	// The ISR shrinks below min.insync.replicas: acks=all is refused.
	state.ISR, state.PartitionEpoch = []int32{1}, 2
	if err := p.SetState(state); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Append(records(t, 1), -1); !errors.Is(err, ErrNotEnoughReplicas) {
		t.Fatalf("acks=all with a short ISR: %v", err)
	}
	if _, err := p.Append(records(t, 1), 1); err != nil {
		t.Fatalf("acks=1 with a short ISR: %v", err)
	}
}

func TestFollowerRefusesClientsAndStaleStateIgnored(t *testing.T) {
	p := newTestPartition(t, DefaultConfig(), State{Leader: 1, LeaderEpoch: 1, PartitionEpoch: 5, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	if err := p.SetState(State{Leader: 2, LeaderEpoch: 2, PartitionEpoch: 4, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}); err != nil {
		t.Fatal(err)
	}
	if !p.IsLeader() {
		t.Fatal("an older partition epoch changed the leader")
	}
	if err := p.SetState(State{Leader: 2, LeaderEpoch: 2, PartitionEpoch: 6, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Append(records(t, 1), 1); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("append on a follower: %v", err)
	}
	if _, err := p.Read(0, ReadOptions{MaxBytes: 1 << 20, CurrentLeaderEpoch: NoLeaderEpoch, LastFetchedEpoch: NoLeaderEpoch, Replica: -1}); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("read on a follower: %v", err)
	}
}

func TestReadBoundsAndEpochs(t *testing.T) {
	p := newTestPartition(t, DefaultConfig(), State{Leader: 1, LeaderEpoch: 4, Replicas: []int32{1}, ISR: []int32{1}})
	if _, err := p.Append(records(t, 5), 1); err != nil {
		t.Fatal(err)
	}
	opts := ReadOptions{MaxBytes: 1 << 20, CurrentLeaderEpoch: NoLeaderEpoch, LastFetchedEpoch: NoLeaderEpoch, Replica: -1}
	cases := []struct {
		name   string
		offset int64
		epoch  int32
		want   error
		bytes  bool
	}{
		{"from start", 0, NoLeaderEpoch, nil, true},
		{"at the end", 5, NoLeaderEpoch, nil, false},
		{"past the end", 6, NoLeaderEpoch, ErrOffsetOutOfRange, false},
		{"current epoch", 0, 4, nil, true},
		{"fenced epoch", 0, 3, ErrFencedLeaderEpoch, false},
		{"unknown epoch", 0, 5, ErrUnknownLeaderEpoch, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := opts
			o.CurrentLeaderEpoch = c.epoch
			res, err := p.Read(c.offset, o)
			defer res.Records.Release()
			if !errors.Is(err, c.want) || (err == nil) != (c.want == nil) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if got := res.Records.Bytes() > 0; got != c.bytes {
				t.Fatalf("returned bytes: %v, want %v", got, c.bytes)
			}
		})
	}
	// A fetcher whose last fetched epoch ended before its fetch offset
	// diverged: it must truncate to where that epoch ended here.
	o := opts
	o.LastFetchedEpoch = 2
	res, err := p.Read(5, o)
	if err != nil || !res.Diverging || res.DivergingEpoch != 2 || res.DivergingEndOffset != 0 {
		t.Fatalf("divergence: err %v %+v", err, res)
	}
	// An epoch newer than the log knows is out of range, as in Kafka.
	o.LastFetchedEpoch = 9
	if _, err := p.Read(5, o); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("unknown last fetched epoch: %v", err)
	}
}

func TestDeleteWakesWaiters(t *testing.T) {
	store, err := storage.Open(storage.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	m := NewManager(ManagerOptions{NodeID: 1, Storage: store})
	tp := TopicPartition{Topic: "gone", Partition: 0}
	p, err := m.Create(tp, [16]byte{2}, storage.DefaultLogConfig(), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetState(soleLeader()); err != nil {
		t.Fatal(err)
	}
	w := NewWaiter()
	p.Watch(w)
	if err := m.Delete(tp); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.C():
	default:
		t.Fatal("deleting the partition did not wake its waiter")
	}
	if _, err := p.Append(records(t, 1), 1); !errors.Is(err, ErrDeleted) {
		t.Fatalf("append after delete: %v", err)
	}
	if _, ok := m.Partition("gone", 0); ok {
		t.Fatal("deleted partition still hosted")
	}
}

func TestUnwatch(t *testing.T) {
	p := newTestPartition(t, DefaultConfig(), soleLeader())
	w := NewWaiter()
	p.Watch(w)
	p.Watch(w) // idempotent
	if n := p.Watchers(); n != 1 {
		t.Fatalf("%d watchers after watching twice", n)
	}
	p.Unwatch(w)
	if _, err := p.Append(records(t, 1), 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.C():
		t.Fatal("an unwatched waiter was woken")
	default:
	}
}
