package tests

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleSiteBench loads each overview, brokers, topics, security and quotas page N times
// (SLUICE_CONSOLE_BENCH_N, default 20) in Chromium with 1,000 topics on the node and logs the
// median and p95 of the server's time (Navigation Timing responseEnd - requestStart) and of
// the full load (loadEventEnd). Skipped unless SLUICE_CONSOLE_BENCH=1; figures are in
// docs/benchmarks.md.
func TestConsoleSiteBench(t *testing.T) {
	if os.Getenv("SLUICE_CONSOLE_BENCH") != "1" {
		t.Skip("set SLUICE_CONSOLE_BENCH=1 to measure the console's page loads")
	}
	runs := 20
	if v, err := strconv.Atoi(os.Getenv("SLUICE_CONSOLE_BENCH_N")); err == nil && v > 0 {
		runs = v
	}
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
	type timing struct {
		Server float64 `json:"server"`
		Load   float64 `json:"load"`
	}
	for _, path := range []string{"/", "/brokers", "/brokers/1", "/topics", "/topics?q=bench-09", "/topics/bench-0500", "/security", "/quotas"} {
		var server, load []float64
		for i := 0; i < runs; i++ {
			var tm timing
			browse(t, ctx, 60*time.Second, chromedp.Navigate(consoleURL(n, path)),
				into(new(bool), chromedp.Poll[bool](`performance.getEntriesByType("navigation")[0].loadEventEnd > 0`)),
				into(&tm, chromedp.Evaluate[timing](`(() => { const e = performance.getEntriesByType("navigation")[0]; return {server: e.responseEnd - e.requestStart, load: e.loadEventEnd - e.startTime}; })()`)))
			server, load = append(server, tm.Server), append(load, tm.Load)
		}
		slices.Sort(server)
		slices.Sort(load)
		q := func(xs []float64, p float64) float64 { return xs[min(len(xs)-1, int(p*float64(len(xs))))] }
		t.Logf("%-22s server median %6.1f ms p95 %6.1f ms · full load median %6.1f ms p95 %6.1f ms (%d loads, %d topics)",
			path, q(server, 0.5), q(server, 0.95), q(load, 0.5), q(load, 0.95), runs, topics)
	}
}
