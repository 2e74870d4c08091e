package tests

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testkit"
)

// TestClusterControlledShutdown: SIGTERM to a broker that leads partitions while a producer
// writes to them: the broker asks the controller to move its leaderships, waits until it has,
// and exits cleanly; the producer sees no error (a metadata refresh moves it to the new
// leaders) and the other nodes report no partition led by the stopped broker. Until
// replication (#13) the new leaders do not have the old leader's records, so the producer
// uses acks=1 and the test checks errors and leadership, not the data.
func TestClusterControlledShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	t.Parallel()
	c := startProcCluster(t, 3, "--override", "broker.heartbeat.interval.ms=500")
	ctrl := c.controller()
	stopping := c.node(c.other(ctrl))
	survivor := c.node(ctrl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if resp, err := kadm.NewClient(survivor.client()).CreateTopic(ctx, 6, 3, nil, "moving"); err != nil || resp.Err != nil {
		t.Fatalf("create: %v %v", err, resp.Err)
	}
	md, err := metadataFrom(survivor, "moving")
	if err != nil {
		t.Fatal(err)
	}
	led := 0
	for _, p := range md.Topics["moving"] {
		if p.Leader == stopping.id {
			led++
		}
	}
	if led == 0 {
		t.Fatalf("broker %d leads no partition of %+v", stopping.id, md.Topics["moving"])
	}

	cl := survivor.client(kgo.SeedBrokers(strings.Split(c.bootstrap(), ",")...), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(),
		kgo.DefaultProduceTopic("moving"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	var acked, failed atomic.Int64
	var errMu sync.Mutex
	var firstErr error
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
			err := cl.ProduceSync(pctx, &kgo.Record{Value: []byte("v")}).FirstErr()
			pcancel()
			if err != nil {
				failed.Add(1)
				errMu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				errMu.Unlock()
			} else {
				acked.Add(1)
			}
		}
	}()
	if !waitForCount(&acked, 50) {
		errMu.Lock()
		defer errMu.Unlock()
		t.Fatalf("%d produced, %d failed before the shutdown, the first error: %v", acked.Load(), failed.Load(), firstErr)
	}
	stopping.terminate(30 * time.Second)
	before := acked.Load()
	carriedOn := waitForCount(&acked, before+200) // the producer carries on on the new leaders
	close(stop)
	wg.Wait()
	if !carriedOn {
		t.Errorf("%d records acknowledged after the shutdown", acked.Load()-before)
	}
	if n := failed.Load(); n > 0 {
		t.Errorf("%d produce errors while broker %d shut down, the first: %v", n, stopping.id, firstErr)
	}
	if !strings.Contains(stopping.logTail(400), "controlled shutdown complete") {
		t.Errorf("broker %d did not complete a controlled shutdown:\n%s", stopping.id, stopping.logTail(40))
	}
	c.waitFor("two active brokers", 20*time.Second, func(v testkit.View) bool { return len(v.Active) == 2 })
	md, err = metadataFrom(survivor, "moving")
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range md.Topics["moving"] {
		if p.Leader == stopping.id || p.Leader < 0 {
			t.Errorf("partition %s led by %d after broker %d's controlled shutdown", i, p.Leader, stopping.id)
		}
	}
}

// waitForCount waits (30 s at most) until n reaches want.
func waitForCount(n *atomic.Int64, want int64) bool {
	deadline := time.Now().Add(30 * time.Second)
	for n.Load() < want {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
