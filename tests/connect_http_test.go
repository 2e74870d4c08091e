package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestConnectHTTPSink: the HTTP sink in Confluent's configuration posts JSON batches with its
// headers and basic auth; the endpoint answers every third request with 503, and the retries
// deliver every record (at least once, first seen in order).
func TestConnectHTTPSink(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	requests, failed := 0, 0
	var badAuth, badHeader bool
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		requests++
		if u, p, ok := r.BasicAuth(); !ok || u != "svc" || p != "s3cret" {
			badAuth = true
		}
		if r.Header.Get("X-Source") != "sluice" || r.Header.Get("Content-Type") != "application/json" {
			badHeader = true
		}
		if requests%3 == 0 {
			failed++
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var batch []map[string]any
		if err := json.Unmarshal(body, &batch); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got = append(got, batch...)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	n := startNode(t)
	n.createTopic("events", 1, nil)
	cl := n.client()
	const total = 200
	for i := range total {
		v, _ := json.Marshal(map[string]any{"seq": i, "kind": "click"})
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "events", Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	w := startConnectWorker(t, n, filepath.Join(t.TempDir(), "offsets.json"), "--override", "offset.flush.interval.ms=300",
		"--override", "value.converter.schemas.enable=false")
	w.mustCall("POST", "/connectors", fmt.Sprintf(`{"name":"webhook","config":{"connector.class":"io.confluent.connect.http.HttpSinkConnector",
		"topics":"events","http.api.url":"http://%s/ingest","request.body.format":"json","batch.max.size":"10",
		"batch.prefix":"[","batch.suffix":"]","batch.separator":",","headers":"Content-Type:application/json|X-Source:sluice",
		"auth.type":"BASIC","connection.user":"svc","connection.password":"s3cret","retry.backoff.ms":"20","max.retries":"5"}}`, ln.Addr()), 201)
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		seen := map[float64]bool{}
		var firsts []float64
		for _, e := range got {
			s := e["seq"].(float64)
			if !seen[s] {
				seen[s] = true
				firsts = append(firsts, s)
			}
		}
		done := len(firsts) == total
		mu.Unlock()
		if done {
			for i, s := range firsts {
				if s != float64(i) {
					t.Fatalf("record %d first delivered at position %d", int(s), i)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records delivered (%d requests, %d failed)\n%s", len(firsts), total, requests, failed, w.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if badAuth || badHeader {
		t.Errorf("a request without the basic auth (%v) or headers (%v)", badAuth, badHeader)
	}
	if failed == 0 {
		t.Error("no request failed: the retries were not exercised")
	}
	t.Logf("%d records in %d requests, %d answered 503 and retried", total, requests, failed)
}
