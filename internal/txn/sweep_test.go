package txn

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestSweepIntervalsAreSeparate: the abort of timed-out transactions runs every
// transaction.abort.timed.out.transaction.cleanup.interval.ms and the removal of expired ids
// every transaction.remove.expired.transaction.cleanup.interval.ms, each on its own schedule.
func TestSweepIntervalsAreSeparate(t *testing.T) {
	for _, c := range []struct {
		name                    string
		abortEvery, expireEvery time.Duration
		wantAborted, wantGone   bool
	}{
		{"only the expired-id sweep is due", time.Hour, 5 * time.Millisecond, false, true},
		{"only the abort sweep is due", 5 * time.Millisecond, time.Hour, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fixture{log: &memStateLog{}, markers: &markerLog{}, clock: &clock{now: time.UnixMilli(1_700_000_000_000)}, ids: &blockLog{}}
			coord := New(Config{ProducerIDs: NewProducerIDs(f.ids, 1, 10), Log: f.log, Markers: f.markers,
				NumPartitions: 5, OffsetsNumPartitions: 5, Now: f.clock.Now, IDExpiration: 24 * time.Hour, MaxTimeout: time.Minute,
				CleanupInterval: c.abortEvery, ExpiredIDCleanupInterval: c.expireEvery})
			coord.Start()
			t.Cleanup(coord.Close)
			ctx := context.Background()
			p := initTxn(t, coord, "slow")
			initTxn(t, coord, "idle")
			if err := coord.AddPartitions(ctx, "slow", p.ProducerID, p.ProducerEpoch, TopicPartitions{"t": {0}}); err != nil {
				t.Fatal(err)
			}
			f.clock.advance(25 * time.Hour) // past both the 10 s timeout and the id expiration
			aborted := func() bool { d, err := coord.Describe("slow"); return err == nil && d.State == CompleteAbort }
			gone := func() bool { _, err := coord.Describe("idle"); return errors.Is(err, ErrTransactionalIDNotFound) }
			for deadline := time.Now().Add(10 * time.Second); aborted() != c.wantAborted || gone() != c.wantGone; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("after 10 s: slow aborted %v (want %v), idle removed %v (want %v)", aborted(), c.wantAborted, gone(), c.wantGone)
				}
			}
			time.Sleep(50 * time.Millisecond) // ten ticks of the due sweep: the other one must not have run
			if aborted() != c.wantAborted || gone() != c.wantGone {
				t.Fatalf("slow aborted %v (want %v), idle removed %v (want %v)", aborted(), c.wantAborted, gone(), c.wantGone)
			}
		})
	}
}
