package group

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/record"
)

// TestCommitTimeout: with offsets.commit.timeout.ms set, a commit whose append is never
// committed fails with ErrCoordinatorUnavailable (COORDINATOR_NOT_AVAILABLE, as Kafka's group
// coordinator answers a timed-out write) although the request's own context has no deadline,
// and the offset is not visible.
func TestCommitTimeout(t *testing.T) {
	log := &gatedLog{gate: make(chan struct{})} // never opened: the append is never committed
	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: log, NumPartitions: 1,
		CommitTimeout: 20 * time.Millisecond})
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		done <- c.CommitOffsets(context.Background(), "g", "", "", -1, []OffsetCommit{{Topic: "t", Offset: 5}})
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("commit still waiting 30s after a 20ms offsets.commit.timeout.ms")
	}
	if !errors.Is(err, ErrCoordinatorUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("commit error %v; want ErrCoordinatorUnavailable and not the request's deadline", err)
	}
	if o, ok := c.FetchOffset("g", "t", 0); ok {
		t.Fatalf("timed-out commit is visible: %+v", o)
	}
}

// TestCommitWithoutTimeoutWaitsForTheRequest: with no commit timeout only the caller's
// context bounds the wait, and its expiry is the caller's (context.DeadlineExceeded).
func TestCommitWithoutTimeoutWaitsForTheRequest(t *testing.T) {
	log := &gatedLog{gate: make(chan struct{})}
	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: log, NumPartitions: 1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := c.CommitOffsets(ctx, "g", "", "", -1, []OffsetCommit{{Topic: "t", Offset: 5}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("commit error %v; want the request's deadline", err)
	}
}

// TestOffsetsCompressionCodec: every batch the coordinator writes uses
// offsets.topic.compression.codec, and a coordinator loading them reads them back.
func TestOffsetsCompressionCodec(t *testing.T) {
	for _, codec := range []record.Codec{record.None, record.Gzip, record.Zstd} {
		t.Run(codec.String(), func(t *testing.T) {
			log := &memLog{}
			c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: log, NumPartitions: 1,
				Compression: codec})
			defer c.Close()
			ctx := context.Background()
			for i := range 3 {
				if err := c.CommitOffsets(ctx, "g", "", "", -1, []OffsetCommit{{Topic: "t", Partition: int32(i), Offset: 7}}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.DeleteOffsets(ctx, "g", []OffsetCommit{{Topic: "t", Partition: 2}}, nil); err != nil {
				t.Fatal(err)
			}
			bs := record.NewBatches(log.bytes())
			n := 0
			for {
				_, h, ok := bs.Next()
				if !ok {
					break
				}
				n++
				if h.Compression() != codec {
					t.Errorf("batch %d written with %s, want %s", n, h.Compression(), codec)
				}
			}
			if bs.Err() != nil || n != 4 {
				t.Fatalf("read %d batches (err %v), want 4", n, bs.Err())
			}
			reloaded := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour})
			defer reloaded.Close()
			if err := reloaded.Load(log.bytes()); err != nil {
				t.Fatal(err)
			}
			if o, ok := reloaded.FetchOffset("g", "t", 1); !ok || o.Offset != 7 {
				t.Errorf("reloaded offset %+v %v, want 7", o, ok)
			}
			if _, ok := reloaded.FetchOffset("g", "t", 2); ok {
				t.Error("deleted offset came back")
			}
		})
	}
}

// TestGroupMaxSize: with group.max.size members a classic group turns new members away with
// ErrGroupMaxSizeReached (GROUP_MAX_SIZE_REACHED) while its members still rejoin.
func TestGroupMaxSize(t *testing.T) {
	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, MaxSize: 1})
	t.Cleanup(c.Close)
	a := memberID(t, c, joinReq("", "range"))
	if r := recvJoin(t, c.Join(joinReq(a, "range"))); r.Err != nil {
		t.Fatalf("first member: %v", r.Err)
	}
	if r := recvJoin(t, c.Join(joinReq("", "range"))); !errors.Is(r.Err, ErrGroupMaxSizeReached) {
		t.Fatalf("second member: %+v, want ErrGroupMaxSizeReached", r)
	}
	static := joinReq("", "range")
	static.InstanceID = "i-2"
	if r := recvJoin(t, c.Join(static)); !errors.Is(r.Err, ErrGroupMaxSizeReached) {
		t.Fatalf("new static member: %+v, want ErrGroupMaxSizeReached", r)
	}
	if r := recvJoin(t, c.Join(joinReq(a, "range"))); r.Err != nil {
		t.Fatalf("member rejoining a full group: %v", r.Err)
	}
}
