package tests

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// TestServeConnect: `sluice serve --connect` runs a distributed Connect worker inside the
// broker process: a FileStreamSource created through its REST API writes the file's lines to a
// topic; after the broker is stopped (SIGTERM) and started again, the connector, kept in
// connect-configs, runs again and resumes from its offsets in connect-offsets.
func TestServeConnect(t *testing.T) {
	addr := freeAddr(t)
	n := startNode(t, "--connect", "--connect-addr", addr, "--connect-group-id", "in-broker")
	w := &connectWorker{t: t, addr: addr}
	waitREST := func() {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if resp, err := http.Get("http://" + addr + "/connectors"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("the in-broker worker's REST API never answered on %s", addr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitREST()
	in := filepath.Join(t.TempDir(), "in.txt")
	appendLines(t, in, 0, 100)
	cfg := fmt.Sprintf(`{"connector.class":"FileStreamSource","file":%q,"topic":"served-lines",
		"value.converter":"org.apache.kafka.connect.storage.StringConverter"}`, in)
	w.createWhenFormed("/connectors/served/config", cfg)
	w.waitState("served", "RUNNING")
	want := func(to int) []string {
		var out []string
		for i := range to {
			out = append(out, fmt.Sprintf("line-%04d", i))
		}
		return out
	}
	checkAtLeastOnce(t, readTopicValues(t, n, "served-lines", 100), want(100))

	n.stop()
	n.start()
	waitREST()
	w.waitState("served", "RUNNING")
	appendLines(t, in, 100, 200)
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := readAllNow(t, n, "served-lines")
		if len(got) >= 200 {
			checkAtLeastOnce(t, got, want(200))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records after the restart, want the 200 lines", len(got))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
