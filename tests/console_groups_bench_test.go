package tests

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kadm"
)

// TestConsoleGroupsBench loads the groups and schemas pages N times (SLUICE_CONSOLE_BENCH_N,
// default 20) in Chromium with 200 groups, each with committed offsets on a 30-partition
// topic, and 100 registry subjects, and logs the median and p95 of the server's time and of the
// full load, as TestConsoleSiteBench does. Skipped unless SLUICE_CONSOLE_BENCH=1; figures are
// in docs/benchmarks.md.
func TestConsoleGroupsBench(t *testing.T) {
	if os.Getenv("SLUICE_CONSOLE_BENCH") != "1" {
		t.Skip("set SLUICE_CONSOLE_BENCH=1 to measure the console's page loads")
	}
	runs := 20
	if v, err := strconv.Atoi(os.Getenv("SLUICE_CONSOLE_BENCH_N")); err == nil && v > 0 {
		runs = v
	}
	n := startNode(t)
	const groups, partitions, subjects = 200, 30, 100
	n.createTopic("gb-orders", partitions, nil)
	adm := n.admin()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var offs kadm.Offsets
	for p := range int32(partitions) {
		offs.Add(kadm.Offset{Topic: "gb-orders", Partition: p, At: 0, LeaderEpoch: -1})
	}
	for g := range groups {
		if res, err := adm.CommitOffsets(ctx, fmt.Sprintf("gb-%04d", g), offs); err != nil || res.Error() != nil {
			t.Fatalf("commit: %v %v", err, res.Error())
		}
	}
	for s := range subjects {
		body := fmt.Sprintf(`{"schema": "{\"type\":\"record\",\"name\":\"R%d\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"}]}"}`, s)
		resp, err := http.Post(fmt.Sprintf("http://%s/subjects/gb-%04d-value/versions", n.registryAddr, s), "application/vnd.schemaregistry.v1+json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("register subject %d: %s", s, resp.Status)
		}
	}
	b := newBrowser(t)
	type timing struct {
		Server float64 `json:"server"`
		Load   float64 `json:"load"`
	}
	for _, path := range []string{"/groups", "/groups?q=gb-01", "/groups/gb-0100", "/groups/gb-0100/reset?to=start",
		"/api/groups/gb-0100/lag", "/schemas", "/schemas/gb-0050-value"} {
		var server, load []float64
		for range runs {
			var tm timing
			browse(t, b, 60*time.Second, chromedp.Navigate(consoleURL(n, path)),
				into(new(bool), chromedp.Poll[bool](`performance.getEntriesByType("navigation")[0].loadEventEnd > 0`)),
				into(&tm, chromedp.Evaluate[timing](`(() => { const e = performance.getEntriesByType("navigation")[0]; return {server: e.responseEnd - e.requestStart, load: e.loadEventEnd - e.startTime}; })()`)))
			server, load = append(server, tm.Server), append(load, tm.Load)
		}
		slices.Sort(server)
		slices.Sort(load)
		q := func(xs []float64, p float64) float64 { return xs[min(len(xs)-1, int(p*float64(len(xs))))] }
		t.Logf("%-32s server median %6.1f ms p95 %6.1f ms · full load median %6.1f ms p95 %6.1f ms (%d loads)",
			path, q(server, 0.5), q(server, 0.95), q(load, 0.5), q(load, 0.95), runs)
	}
}
