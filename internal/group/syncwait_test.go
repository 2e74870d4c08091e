package group

import (
	"context"
	"errors"
	"testing"
)

// gatedLog holds every append until the test opens the gate; fail makes appends fail.
type gatedLog struct {
	memLog
	gate chan struct{}
	fail bool
}

func (l *gatedLog) Append(ctx context.Context, p int32, batch []byte) error {
	select {
	case <-l.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	if l.fail {
		return errors.New("disk on fire")
	}
	return l.memLog.Append(ctx, p, batch)
}

func TestSyncAnswersAfterGroupMetadataIsDurable(t *testing.T) {
	for _, fail := range []bool{false, true} {
		name := map[bool]string{false: "durable", true: "append fails"}[fail]
		t.Run(name, func(t *testing.T) {
			log := &gatedLog{gate: make(chan struct{}), fail: fail}
			c := New(Config{MinSessionTimeout: 1, MaxSessionTimeout: 1 << 62, Log: log, NumPartitions: 1})
			t.Cleanup(c.Close)
			id := memberID(t, c, joinReq("", "range"))
			j := recvJoin(t, c.Join(joinReq(id, "range")))
			ch := c.Sync(SyncRequest{Group: "g", MemberID: id, Generation: j.Generation, Assignments: map[string][]byte{id: []byte("all")}})
			select {
			case r := <-ch:
				t.Fatalf("sync answered before the group metadata was written: %+v", r)
			default:
			}
			close(log.gate)
			r := recvSync(t, ch)
			switch {
			case fail && !errors.Is(r.Err, ErrCoordinatorUnavailable):
				t.Fatalf("sync after a failed write: %+v, want ErrCoordinatorUnavailable", r)
			case !fail && (r.Err != nil || string(r.Assignment) != "all"):
				t.Fatalf("sync: %+v", r)
			}
			if !fail {
				c2 := New(Config{MinSessionTimeout: 1, MaxSessionTimeout: 1 << 62})
				t.Cleanup(c2.Close)
				if err := c2.Load(log.bytes()); err != nil {
					t.Fatal(err)
				}
				if d := c2.Describe("g"); d.State != Stable || len(d.Members) != 1 {
					t.Fatalf("reloaded group: %+v", d)
				}
			}
		})
	}
}
