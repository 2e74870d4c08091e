package txn

import (
	"context"
	"errors"
	"testing"
)

// blockLog is a BlockSource over an in-memory high mark, as the metadata log keeps it.
type blockLog struct {
	next  int64
	calls int
	err   error
}

func (l *blockLog) AllocateProducerIDs(_ context.Context, _ int32, size int64) (int64, error) {
	if l.err != nil {
		return 0, l.err
	}
	l.calls++
	first := l.next
	l.next += size
	return first, nil
}

func TestProducerIDsDrawBlocks(t *testing.T) {
	src := &blockLog{next: 5000}
	ids := NewProducerIDs(src, 1, 3)
	var got []int64
	for range 7 {
		id, err := ids.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	want := []int64{5000, 5001, 5002, 5003, 5004, 5005, 5006}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ids %v, want %v", got, want)
		}
	}
	if src.calls != 3 {
		t.Fatalf("%d blocks fetched, want 3", src.calls)
	}
	src.err = errors.New("not the controller")
	for _, want := range []int64{5007, 5008} {
		if id, err := ids.Next(context.Background()); err != nil || id != want {
			t.Fatalf("the rest of the block must still serve: %d, %v; want %d", id, err, want)
		}
	}
	if _, err := ids.Next(context.Background()); !errors.Is(err, ErrCoordinatorNotAvailable) {
		t.Fatalf("err %v, want ErrCoordinatorNotAvailable", err)
	}
}
