package tests

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testkit"
)

// TestClusterKilledBrokerFencedFast: at the default broker.session.timeout.ms (9 s), a broker
// that is SIGKILLed is fenced long before its session runs out: its sockets close with it, and
// the controller fences it sluice.broker.connection.loss.fence.ms (500 ms) after the last of
// its heartbeat connections closed. A broker that is only paused keeps its connections and is
// not fenced by that rule (TestClusterFailover covers the session timeout).
func TestClusterKilledBrokerFencedFast(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	t.Parallel()
	c := startProcCluster(t, 3)
	ctrl := c.controller()

	paused := c.node(c.other(ctrl))
	paused.pause()
	time.Sleep(2 * time.Second) // past the grace: a paused broker's connections stay open
	if v, err := c.node(ctrl).describe(); err != nil || len(v.Active) != 3 {
		t.Fatalf("a broker paused for 2 s was fenced (view %+v, %v): connection-loss fencing must not fence a live connection", v, err)
	}
	paused.resume()

	killed := c.node(c.other(ctrl))
	killed.kill()
	killedAt := time.Now()
	c.waitFor(fmt.Sprintf("broker %d fenced", killed.id), 30*time.Second, func(v testkit.View) bool {
		return slices.Contains(v.Fenced, killed.id) && len(v.Active) == 2
	})
	took := time.Since(killedAt)
	t.Logf("time to fence a SIGKILLed broker (default session 9 s): %v", took.Round(time.Millisecond))
	if took >= 9*time.Second {
		t.Errorf("a SIGKILLed broker was fenced after %v, not before its 9 s session ran out", took)
	}
	killed.restart()
	c.waitFor("the killed node back", 30*time.Second, func(v testkit.View) bool { return len(v.Active) == 3 })
}
