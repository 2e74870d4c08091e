package tests

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluicehq/sluice/internal/testkit"
)

// The cluster benchmarks time what an operator waits for, on three `sluice serve` processes on
// 127.0.0.1-3, one cluster per iteration:
//
//	go test ./tests -run '^$' -bench Cluster -benchtime 5x
//
// Each reports its figure in ms per iteration (ms/op covers the setup too).

// BenchmarkClusterFormation: launch of three processes → every node lists three active brokers.
func BenchmarkClusterFormation(b *testing.B) { benchStart(b, 3, "formation-ms") }

// BenchmarkClusterOneNode is the reference for formation: launch of one process with the same
// flags (a one-voter quorum) → it lists itself as an active broker.
func BenchmarkClusterOneNode(b *testing.B) { benchStart(b, 1, "start-ms") }

// benchStart reports the mean time from launching n processes to all of them ready.
func benchStart(b *testing.B, n int, metric string) {
	var total time.Duration
	for range b.N {
		began := time.Now()
		c := startProcCluster(b, n)
		total += time.Since(began)
		c.cleanup()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), metric)
}

// BenchmarkClusterFailover: SIGKILL of the controller → another node answers CreateTopics.
func BenchmarkClusterFailover(b *testing.B) {
	var total time.Duration
	for i := range b.N {
		c := startProcCluster(b, 3)
		ctrl := c.controller()
		survivor := c.node(c.other(ctrl))
		adm := kadm.NewClient(survivor.client())
		c.node(ctrl).kill()
		killedAt := time.Now()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			resp, err := adm.CreateTopic(ctx, 1, 1, nil, fmt.Sprintf("failover-%d", i))
			cancel()
			if err == nil && resp.Err == nil {
				break
			}
			if time.Since(killedAt) > 60*time.Second {
				b.Fatalf("no CreateTopics answer within 60 s of the controller's SIGKILL: %v %v", err, resp.Err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		total += time.Since(killedAt)
		c.cleanup()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "failover-ms")
}

// BenchmarkClusterFence: a broker that is not the controller stops → the controller's
// DescribeCluster marks it fenced. SIGKILL closes its connections, so connection-loss fencing
// (sluice.broker.connection.loss.fence.ms) applies; SIGSTOP keeps them open, so the session
// timeout does, at the default broker.session.timeout.ms and a short one.
func BenchmarkClusterFence(b *testing.B) {
	for _, tc := range []struct {
		name  string
		pause bool
		args  []string
	}{
		{"SIGKILL/session.timeout.ms=9000", false, nil},
		{"SIGSTOP/session.timeout.ms=9000", true, nil},
		{"SIGSTOP/session.timeout.ms=3000", true, []string{"--override", "broker.session.timeout.ms=3000", "--override", "broker.heartbeat.interval.ms=500"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				c := startProcCluster(b, 3, tc.args...)
				ctrl := c.controller()
				victim := c.node(c.other(ctrl))
				if tc.pause {
					victim.pause()
				} else {
					victim.kill()
				}
				stoppedAt := time.Now()
				c.waitFor("the stopped broker fenced", 60*time.Second, func(v testkit.View) bool { return slices.Contains(v.Fenced, victim.id) })
				total += time.Since(stoppedAt)
				if tc.pause {
					victim.resume()
				}
				c.cleanup()
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "fence-ms")
		})
	}
}
