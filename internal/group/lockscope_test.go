package group

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// otherGroupOps runs, on groups other than "g", the operations that used to serialize on one
// coordinator-wide mutex: a classic group's join, sync, heartbeat and offset commit and fetch,
// a KIP-848 member's join heartbeat, and a transactional offset commit and its marker.
func otherGroupOps(c *Coordinator) error {
	ctx := context.Background()
	req := joinReq("", "range")
	req.Group = "h"
	r := <-c.Join(req)
	if !errors.Is(r.Err, ErrMemberIDRequired) {
		return fmt.Errorf("first join of h: %+v", r)
	}
	req.MemberID = r.MemberID
	if r = <-c.Join(req); r.Err != nil {
		return fmt.Errorf("join of h: %w", r.Err)
	}
	s := <-c.Sync(SyncRequest{Group: "h", MemberID: r.MemberID, Generation: r.Generation, Assignments: map[string][]byte{r.MemberID: []byte("x")}})
	if s.Err != nil {
		return fmt.Errorf("sync of h: %w", s.Err)
	}
	if err := c.Heartbeat("h", r.MemberID, "", r.Generation); err != nil {
		return fmt.Errorf("heartbeat of h: %w", err)
	}
	if err := c.CommitOffsets(ctx, "h", r.MemberID, "", r.Generation, []OffsetCommit{{Topic: "t", Partition: 0, Offset: 7}}); err != nil {
		return fmt.Errorf("commit of h: %w", err)
	}
	if o, ok := c.FetchOffset("h", "t", 0); !ok || o.Offset != 7 {
		return fmt.Errorf("fetch of h: %+v %v", o, ok)
	}
	tc := TxnCommit{Group: "x", MemberID: "", Generation: -1, ProducerID: 9, Offsets: []OffsetCommit{{Topic: "t", Partition: 1, Offset: 3}}}
	if err := c.CommitTxnOffsets(ctx, tc); err != nil {
		return fmt.Errorf("txn commit of x: %w", err)
	}
	c.CompleteTxnOffsets(-1, 9, true)
	if o, ok := c.FetchOffset("x", "t", 1); !ok || o.Offset != 3 {
		return fmt.Errorf("fetch of x after its commit marker: %+v %v", o, ok)
	}
	return nil
}

// TestGroupLockCoversOneGroup holds group "g"'s mutex, as a long operation on "g" would, and
// shows that operations on other groups complete meanwhile, while "g"'s own heartbeat waits
// for the mutex.
func TestGroupLockCoversOneGroup(t *testing.T) {
	c := newCoordinator(t, 0)
	ids, gen := stableGroup(t, c, 1)
	img := topicsImage(t, map[string]int{"t": 4})

	g := c.lockGroup("g", false)
	held := true
	defer func() {
		if held {
			g.mu.Unlock()
		}
	}()
	done := make(chan error, 2)
	go func() { done <- otherGroupOps(c) }()
	go func() {
		res := c.ConsumerHeartbeat(context.Background(), ConsumerHeartbeatRequest{Group: "k", MemberID: "m1", RebalanceTimeout: time.Minute,
			SubscribedTopicNames: []string{"t"}, Owned: []TopicPartitions{}, Image: img, ClientID: "test"})
		if res.Err != nil || res.MemberEpoch != 1 {
			done <- fmt.Errorf("consumer join of k: epoch %d, %v", res.MemberEpoch, res.Err)
			return
		}
		done <- nil
	}()
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(wait):
			t.Fatal("an operation on another group waited on group g's mutex")
		}
	}

	// The mutex does cover "g": its heartbeat proceeds only once the mutex is released.
	hb := make(chan error, 1)
	go func() { hb <- c.Heartbeat("g", ids[0], "", gen) }()
	select {
	case err := <-hb:
		t.Fatalf("heartbeat of g ran while g's mutex was held: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	g.mu.Unlock()
	held = false
	select {
	case err := <-hb:
		if err != nil {
			t.Fatalf("heartbeat of g: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("heartbeat of g never completed")
	}
}

// TestPartitionLoadHoldsItsGroupsOnly marks a __consumer_offsets partition as loading, as
// loadPartitionBatches does while it applies records, and shows that a commit to a group of
// that partition waits for the load's end while a group of another partition commits at once.
func TestPartitionLoadHoldsItsGroupsOnly(t *testing.T) {
	c := New(Config{NumPartitions: 4, MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour})
	defer c.Close()
	loading, other := "a", "b"
	for Partition(other, 4) == Partition(loading, 4) {
		other += "b"
	}
	commit := func(gid string) <-chan error {
		ch := make(chan error, 1)
		go func() {
			ch <- c.CommitOffsets(context.Background(), gid, "", "", -1, []OffsetCommit{{Topic: "t", Offset: 1}})
		}()
		return ch
	}
	done := c.startLoad(Partition(loading, 4))
	ended := false
	defer func() {
		if !ended {
			done()
		}
	}()
	select {
	case err := <-commit(other):
		if err != nil {
			t.Fatalf("commit to %s: %v", other, err)
		}
	case <-time.After(wait):
		t.Fatalf("commit to %s waited on the load of another partition", other)
	}
	held := commit(loading)
	select {
	case err := <-held:
		t.Fatalf("commit to %s ran during its partition's load: %v", loading, err)
	case <-time.After(100 * time.Millisecond):
	}
	done()
	ended = true
	select {
	case err := <-held:
		if err != nil {
			t.Fatalf("commit to %s: %v", loading, err)
		}
	case <-time.After(wait):
		t.Fatalf("commit to %s never ran after the load", loading)
	}
	if o, ok := c.FetchOffset(loading, "t", 0); !ok || o.Offset != 1 {
		t.Fatalf("fetch of %s: %+v %v", loading, o, ok)
	}
}
