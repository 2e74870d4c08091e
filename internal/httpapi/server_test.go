package httpapi

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	counter := prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_test_total", Help: "test"})
	reg.MustRegister(counter)
	counter.Add(3)
	var ready atomic.Bool
	srv, err := Start(Options{Addr: "127.0.0.1:0", Gatherer: reg, Ready: func() error {
		if !ready.Load() {
			return errors.New("metadata not loaded")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	base := "http://" + srv.Addr()

	tests := []struct {
		name       string
		path       string
		before     func()
		wantStatus int
		wantBody   string
	}{
		{name: "healthz", path: "/healthz", wantStatus: 200, wantBody: "ok"},
		{name: "metrics exposes registered series", path: "/metrics", wantStatus: 200, wantBody: "sluice_test_total 3"},
		{name: "readyz before ready", path: "/readyz", wantStatus: 503, wantBody: "metadata not loaded"},
		{name: "readyz once ready", path: "/readyz", before: func() { ready.Store(true) }, wantStatus: 200, wantBody: "ready"},
		{name: "unknown path", path: "/nope", wantStatus: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			status, body := get(t, base+tc.path)
			if status != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
				t.Fatalf("GET %s = %d %q, want %d containing %q", tc.path, status, body, tc.wantStatus, tc.wantBody)
			}
		})
	}
}
