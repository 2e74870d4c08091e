package coordinator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/share"
)

// memLog is a StateLog in memory: the batches appended to each partition, in order. fail,
// when set, fails the next appends.
type memLog struct {
	mu      sync.Mutex
	batches map[int32][][]byte
	fail    error
}

func (l *memLog) Append(_ context.Context, p int32, batch []byte) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return -1, l.fail
	}
	if l.batches == nil {
		l.batches = map[int32][][]byte{}
	}
	l.batches[p] = append(l.batches[p], batch)
	return int64(len(l.batches[p]) - 1), nil // one record per batch in these tests: offset = index
}

// types returns the record types appended to p, a tombstone as -1.
func (l *memLog) types(t *testing.T, p int32) []int16 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int16
	for _, b := range l.batches[p] {
		recs, _, err := record.Iterate(b, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		var rec record.Record
		for recs.Next(&rec) {
			k, err := DecodeKey(rec.Key)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Value == nil {
				out = append(out, -1)
			} else {
				out = append(out, k.Type)
			}
		}
	}
	return out
}

// reload is a new coordinator loaded from every partition of l.
func (l *memLog) reload(t *testing.T, cfg Config) *Coordinator {
	l.mu.Lock()
	defer l.mu.Unlock()
	cfg.Log = l
	c := New(cfg)
	for _, bs := range l.batches {
		for _, b := range bs {
			if err := c.Load(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	return c
}

func mustKerr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

func TestInitializeReadWrite(t *testing.T) {
	ctx := context.Background()
	log := &memLog{}
	cfg := Config{Log: log, SnapshotUpdateRecordsPerSnapshot: 2}
	c := New(cfg)
	k := testKey
	p := c.Partition(k)

	_, err := c.Read(ctx, k, -1)
	mustKerr(t, err, kerr.UnknownTopicOrPartition)
	_, err = c.ReadSummary(ctx, k, -1)
	mustKerr(t, err, kerr.UnknownTopicOrPartition)

	if err := c.Initialize(ctx, k, 1, 10); err != nil {
		t.Fatal(err)
	}
	st, err := c.Read(ctx, k, 0) // leader epoch 0: stored (an update)
	if err != nil || st.StartOffset != 10 || st.StateEpoch != 1 || st.LeaderEpoch != 0 || len(st.Batches) != 0 {
		t.Fatalf("read %+v %v", st, err)
	}
	w := share.Write{StateEpoch: 1, LeaderEpoch: 0, StartOffset: -1, DeliveryCompleteCount: 2,
		Batches: []share.StateBatch{sb(10, 11, share.StateAcknowledged, 1), sb(12, 14, share.StateAvailable, 1)}}
	if err := c.Write(ctx, k, w); err != nil {
		t.Fatal(err)
	}
	w = share.Write{StateEpoch: 1, LeaderEpoch: 0, StartOffset: 12, DeliveryCompleteCount: 1,
		Batches: []share.StateBatch{sb(13, 13, share.StateArchived, 5)}}
	if err := c.Write(ctx, k, w); err != nil {
		t.Fatal(err)
	}
	// Initialize: snapshot; Read's leader epoch: update 1; writes: update 2, then (2 updates
	// since the snapshot) a snapshot.
	if got, want := log.types(t, p), []int16{TypeSnapshot, TypeUpdate, TypeUpdate, TypeSnapshot}; !reflect.DeepEqual(got, want) {
		t.Fatalf("records %v, want %v", got, want)
	}
	want := share.PartitionState{StateEpoch: 1, LeaderEpoch: 0, StartOffset: 12, DeliveryCompleteCount: 1,
		Batches: []share.StateBatch{sb(12, 12, share.StateAvailable, 1), sb(13, 13, share.StateArchived, 5), sb(14, 14, share.StateAvailable, 1)}}
	if st, err := c.Read(ctx, k, -1); err != nil || !reflect.DeepEqual(st, want) {
		t.Fatalf("read %+v %v, want %+v", st, err, want)
	}
	if s, err := c.ReadSummary(ctx, k, -1); err != nil || s != (share.Summary{StateEpoch: 1, LeaderEpoch: 0, StartOffset: 12, DeliveryCompleteCount: 1}) {
		t.Fatalf("summary %+v %v", s, err)
	}
	// A restarted coordinator finds the same state, from the snapshot and the updates after it.
	w = share.Write{StateEpoch: 1, LeaderEpoch: 0, StartOffset: -1, DeliveryCompleteCount: -1,
		Batches: []share.StateBatch{sb(14, 14, share.StateAcknowledged, 1)}}
	if err := c.Write(ctx, k, w); err != nil {
		t.Fatal(err)
	}
	want.Batches[2].DeliveryState = share.StateAcknowledged
	c2 := log.reload(t, cfg)
	if st, err := c2.Read(ctx, k, -1); err != nil || !reflect.DeepEqual(st, want) {
		t.Fatalf("reloaded %+v %v, want %+v", st, err, want)
	}
}

func TestFencing(t *testing.T) {
	ctx := context.Background()
	log := &memLog{}
	cfg := Config{Log: log}
	c := New(cfg)
	k := testKey
	if err := c.Initialize(ctx, k, 3, 0); err != nil {
		t.Fatal(err)
	}
	mustKerr(t, c.Initialize(ctx, k, 2, 0), kerr.FencedStateEpoch)
	mustKerr(t, c.Write(ctx, k, share.Write{StateEpoch: 2, LeaderEpoch: 0, StartOffset: -1}), kerr.FencedStateEpoch)
	// A new leader reads at epoch 5: the old leader's writes (epoch 4) are fenced from then,
	// also after a restart of the coordinator.
	if _, err := c.Read(ctx, k, 5); err != nil {
		t.Fatal(err)
	}
	mustKerr(t, c.Write(ctx, k, share.Write{StateEpoch: 3, LeaderEpoch: 4, StartOffset: -1}), kerr.FencedLeaderEpoch)
	_, err := c.Read(ctx, k, 4)
	mustKerr(t, err, kerr.FencedLeaderEpoch)
	_, err = c.ReadSummary(ctx, k, 4)
	mustKerr(t, err, kerr.FencedLeaderEpoch)
	c2 := log.reload(t, cfg)
	mustKerr(t, c2.Write(ctx, k, share.Write{StateEpoch: 3, LeaderEpoch: 4, StartOffset: -1}), kerr.FencedLeaderEpoch)
	if err := c2.Write(ctx, k, share.Write{StateEpoch: 3, LeaderEpoch: 5, StartOffset: 7}); err != nil {
		t.Fatal(err)
	}
	// Re-initializing at a higher state epoch (AlterShareGroupOffsets) resets the state.
	if err := c2.Initialize(ctx, k, 4, 100); err != nil {
		t.Fatal(err)
	}
	if st, err := c2.Read(ctx, k, -1); err != nil || st.StateEpoch != 4 || st.StartOffset != 100 || st.LeaderEpoch != -1 {
		t.Fatalf("after re-initialize %+v %v", st, err)
	}
}

func TestDeleteAndFailedWrite(t *testing.T) {
	ctx := context.Background()
	log := &memLog{}
	cfg := Config{Log: log}
	c := New(cfg)
	k := testKey
	if err := c.Delete(ctx, k); err != nil { // nothing to delete
		t.Fatal(err)
	}
	if len(log.types(t, c.Partition(k))) != 0 {
		t.Fatal("deleting nothing wrote records")
	}
	if err := c.Initialize(ctx, k, 0, 5); err != nil {
		t.Fatal(err)
	}
	// A write that cannot be committed changes nothing and is retriable for the caller.
	log.fail = errors.New("no")
	mustKerr(t, c.Write(ctx, k, share.Write{StateEpoch: 0, LeaderEpoch: 0, StartOffset: 9}), kerr.CoordinatorNotAvailable)
	log.fail = nil
	if st, err := c.Read(ctx, k, -1); err != nil || st.StartOffset != 5 {
		t.Fatalf("after a failed write %+v %v", st, err)
	}
	if err := c.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	_, err := c.Read(ctx, k, -1)
	mustKerr(t, err, kerr.UnknownTopicOrPartition)
	if got := log.types(t, c.Partition(k)); !reflect.DeepEqual(got[len(got)-2:], []int16{-1, -1}) {
		t.Fatalf("records %v: want two tombstones last", got)
	}
	c2 := log.reload(t, cfg)
	_, err = c2.Read(ctx, k, -1)
	mustKerr(t, err, kerr.UnknownTopicOrPartition)
	if len(c2.Keys("")) != 0 {
		t.Fatalf("keys after delete: %v", c2.Keys(""))
	}
}

// TestConcurrentWrites: writes of many keys and of one key from many goroutines apply in log
// order (run with -race).
func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	log := &memLog{}
	cfg := Config{Log: log, SnapshotUpdateRecordsPerSnapshot: 3}
	c := New(cfg)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := share.Key{Group: fmt.Sprintf("g%d", g%4), TopicID: testKey.TopicID, Partition: int32(g % 2)}
			for i := range 50 {
				off := int64(g*1000 + i)
				if err := c.Write(ctx, k, share.Write{StateEpoch: 0, LeaderEpoch: 0, StartOffset: -1, DeliveryCompleteCount: -1,
					Batches: []share.StateBatch{sb(off, off, share.StateAcknowledged, 1)}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c2 := log.reload(t, cfg)
	for _, k := range c.Keys("") {
		a, err1 := c.Read(ctx, k, -1)
		b, err2 := c2.Read(ctx, k, -1)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("%v: live %+v %v, reloaded %+v %v", k, a, err1, b, err2)
		}
		if len(a.Batches) != 2 { // two goroutines' offsets per key
			t.Fatalf("%v: batches %+v", k, a.Batches)
		}
	}
}

// TestPrunePoints: a state partition may lose the records below the oldest snapshot of its
// share-partitions; one without share-partitions everything; one with a first write in
// flight nothing.
func TestPrunePoints(t *testing.T) {
	ctx := context.Background()
	log := &memLog{}
	c := New(Config{Log: log, NumPartitions: 1, SnapshotUpdateRecordsPerSnapshot: 1})
	a, b := testKey, share.Key{Group: "other", TopicID: testKey.TopicID, Partition: 1}
	if got := c.PrunePoints(); got[0] != math.MaxInt64 {
		t.Fatalf("empty: %v", got)
	}
	w := share.Write{StateEpoch: 0, LeaderEpoch: 0, StartOffset: -1, DeliveryCompleteCount: -1}
	for _, k := range []share.Key{a, a, b, a} { // a: snapshot 0, update 1; b: snapshot 2; a: snapshot 3
		if err := c.Write(ctx, k, w); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.PrunePoints(); got[0] != 2 {
		t.Fatalf("points %v, want 2 (b's snapshot)", got)
	}
	if err := c.Delete(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got := c.PrunePoints(); got[0] != 3 {
		t.Fatalf("points %v after deleting b, want 3", got)
	}
	c.mu.Lock()
	c.mu.keys[share.Key{Group: "new"}] = &entry{} // a first write in flight
	c.mu.Unlock()
	if got := c.PrunePoints(); len(got) != 0 {
		t.Fatalf("points %v with a first write in flight, want none", got)
	}
}
