package metadata

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestConnectionLossFencing: a broker whose every heartbeat connection closed is fenced once
// the grace has passed without a heartbeat, and not before; a heartbeat on a new connection
// within the grace keeps it; and the controller's fence loop is kicked when the grace ends.
func TestConnectionLossFencing(t *testing.T) {
	ctl, log, clock := newClockedController(t, []int32{1, 2, 3}, nil)
	ctl.sessions.lossGrace = 100 * time.Millisecond
	ctx := context.Background()
	heartbeatOn := func(id int32, conn <-chan struct{}) {
		t.Helper()
		b := mustBroker(t, log.img, id)
		if _, err := ctl.BrokerHeartbeat(ctx, Heartbeat{ID: id, Epoch: b.Epoch, MetadataOffset: log.img.Offset(), Conn: conn}); err != nil {
			t.Fatal(err)
		}
	}
	lostAt := func(id int32) time.Time {
		ctl.sessions.mu.Lock()
		defer ctl.sessions.mu.Unlock()
		return ctl.sessions.mu.brokers[id].lostAt
	}
	waitLost := func(id int32, after time.Time) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !lostAt(id).After(after); {
			if time.Now().After(deadline) {
				t.Fatalf("broker %d's connection loss not noticed", id)
			}
			time.Sleep(time.Millisecond)
		}
	}

	c1, c1b := make(chan struct{}), make(chan struct{})
	heartbeatOn(1, c1)
	heartbeatOn(1, c1b)
	c2a := make(chan struct{})
	heartbeatOn(2, c2a)
	close(c1)
	time.Sleep(20 * time.Millisecond)
	if !lostAt(1).IsZero() {
		t.Fatal("one of two heartbeat connections closing counted as losing the broker")
	}
	close(c1b)
	waitLost(1, time.Time{})
	clock.Advance(99 * time.Millisecond)
	if fenced, err := ctl.FenceStaleBrokers(ctx); err != nil || len(fenced) != 0 {
		t.Fatalf("inside the grace: fenced %v err %v", fenced, err)
	}
	select {
	case <-ctl.FenceSoon():
	case <-time.After(5 * time.Second):
		t.Fatal("the fence loop was not kicked when the grace ended")
	}
	clock.Advance(2 * time.Millisecond)
	if fenced, err := ctl.FenceStaleBrokers(ctx); err != nil || !slices.Equal(fenced, []int32{1}) {
		t.Fatalf("past the grace: fenced %v err %v, want [1]", fenced, err)
	}

	// Broker 2 loses its connection but heartbeats again on a new one within the grace.
	c2 := make(chan struct{})
	heartbeatOn(2, c2)
	before := lostAt(2)
	close(c2a)
	close(c2)
	waitLost(2, before)
	clock.Advance(50 * time.Millisecond)
	heartbeatOn(2, make(chan struct{}))
	clock.Advance(time.Second)
	if fenced, err := ctl.FenceStaleBrokers(ctx); err != nil || len(fenced) != 0 {
		t.Fatalf("a broker that reconnected was fenced: %v %v", fenced, err)
	}
	// Broker 3 never gave a connection (in-process heartbeats): only its session counts.
	if mustBroker(t, log.img, 3).Fenced {
		t.Fatal("broker 3 fenced")
	}
}
