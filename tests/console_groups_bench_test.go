package tests

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// TestConsoleGroupsBench loads the groups and schemas pages N times (SLUICE_CONSOLE_BENCH_N,
// default 20) in Chromium with 200 groups, each with committed offsets on a 30-partition
// topic, and 100 registry subjects, and logs the median and p95 of the server's time and of the
// full load, as TestConsoleSiteBench does. Skipped unless SLUICE_CONSOLE_BENCH=1; figures are
// in docs/benchmarks.md.
func TestConsoleGroupsBench(t *testing.T) {
	runs := consoleBenchRuns(t)
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
	logPageLoads(t, b, n, runs, "", "/groups", "/groups?q=gb-01", "/groups/gb-0100", "/groups/gb-0100/reset?to=start",
		"/api/groups/gb-0100/lag", "/schemas", "/schemas/gb-0050-value")
}
