package group

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// panickingLog panics on its first append, as a bug reached by a client's bytes would, and
// appends nothing.
type panickingLog struct{ once sync.Once }

func (l *panickingLog) Append(context.Context, int32, []byte) error {
	l.once.Do(func() { panic("injected") })
	return nil
}

// TestMetadataWriterPanicFailsTheSync: a panic in a group metadata writer answers the waiting
// SyncGroup with COORDINATOR_NOT_AVAILABLE, is counted, and leaves the coordinator working
// (the process would have died without the recover).
func TestMetadataWriterPanicFailsTheSync(t *testing.T) {
	var mu sync.Mutex
	var panics []string
	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: &panickingLog{}, NumPartitions: 1,
		PanicRecovered: func(where string) { mu.Lock(); panics = append(panics, where); mu.Unlock() }})
	defer c.Close()
	id := memberID(t, c, joinReq("", "range"))
	if r := recvJoin(t, c.Join(joinReq(id, "range"))); r.Err != nil {
		t.Fatal(r.Err)
	}
	s := recvSync(t, c.Sync(SyncRequest{Group: "g", MemberID: id, Generation: 1, Assignments: map[string][]byte{id: []byte("all")}}))
	if !errors.Is(s.Err, ErrCoordinatorUnavailable) {
		t.Fatalf("sync after a writer panic: %v, want ErrCoordinatorUnavailable", s.Err)
	}
	mu.Lock()
	got := append([]string(nil), panics...)
	mu.Unlock()
	if len(got) != 1 || got[0] != "group.writer" {
		t.Fatalf("panics counted %v, want [group.writer]", got)
	}
	// The group's store mutex was released: the next write goes through.
	if err := c.CommitOffsets(context.Background(), "g", id, "", 1, []OffsetCommit{{Topic: "t", Offset: 1}}); err != nil {
		t.Fatalf("commit after the recovered panic: %v", err)
	}
}

// TestTimerPanicIsRecovered: a panic in a callback guarded as the coordinator's timers are is
// logged and counted instead of ending the process.
func TestTimerPanicIsRecovered(t *testing.T) {
	counted := make(chan string, 1)
	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour,
		PanicRecovered: func(where string) { counted <- where }})
	defer c.Close()
	done := make(chan struct{})
	time.AfterFunc(time.Millisecond, func() {
		defer close(done)
		defer c.guard("group.timer", nil)
		panic("injected")
	})
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("timer never ran")
	}
	if where := <-counted; where != "group.timer" {
		t.Fatalf("counted %q", where)
	}
}
