package tests

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestConsoleSiteBench loads each overview, brokers, topics, security and quotas page N times
// (SLUICE_CONSOLE_BENCH_N, default 20) in Chromium with 1,000 topics on the node and logs the
// median and p95 of the server's time (Navigation Timing responseEnd - requestStart) and of
// the full load (loadEventEnd). Skipped unless SLUICE_CONSOLE_BENCH=1; figures are in
// docs/benchmarks.md.
func TestConsoleSiteBench(t *testing.T) {
	runs := consoleBenchRuns(t)
	n := startNode(t)
	adm := n.admin()
	const topics = 1000
	for i := 0; i < topics; i += 100 {
		var names []string
		for j := i; j < i+100; j++ {
			names = append(names, fmt.Sprintf("bench-%04d", j))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		res, err := adm.CreateTopics(ctx, 3, 1, nil, names...)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("%s: %v", r.Topic, r.Err)
			}
		}
	}
	ctx := newBrowser(t)
	logPageLoads(t, ctx, n, runs, fmt.Sprintf(", %d topics", topics),
		"/", "/brokers", "/brokers/1", "/topics", "/topics?q=bench-09", "/topics/bench-0500", "/security", "/quotas")
}
