package server

import (
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// recordingObserver keeps what the server reported.
type recordingObserver struct {
	mu       sync.Mutex
	opened   int
	closed   int
	requests []observedRequest
	rejected []string
	panics   []string
}

type observedRequest struct {
	key, version int16
	latency      time.Duration
	errorCode    int16
	hasResponse  bool
}

func (o *recordingObserver) ConnectionOpened() { o.mu.Lock(); o.opened++; o.mu.Unlock() }
func (o *recordingObserver) ConnectionClosed() { o.mu.Lock(); o.closed++; o.mu.Unlock() }
func (o *recordingObserver) ConnectionRejected(reason string) {
	o.mu.Lock()
	o.rejected = append(o.rejected, reason)
	o.mu.Unlock()
}
func (o *recordingObserver) PanicRecovered(where string) {
	o.mu.Lock()
	o.panics = append(o.panics, where)
	o.mu.Unlock()
}

func (o *recordingObserver) ObserveRequest(key, version int16, latency time.Duration, resp kmsg.Response) {
	r := observedRequest{key: key, version: version, latency: latency, hasResponse: resp != nil}
	if av, ok := resp.(*kmsg.ApiVersionsResponse); ok {
		r.errorCode = av.ErrorCode
	}
	o.mu.Lock()
	o.requests = append(o.requests, r)
	o.mu.Unlock()
}

func (o *recordingObserver) snapshot() (opened, closed int, reqs []observedRequest) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.opened, o.closed, append([]observedRequest(nil), o.requests...)
}

// TestObserverSeesRequestsAndConnections: every answered request is reported once with its key,
// version and response (the v0 fallback for a too-new ApiVersions included), and a
// connection's open and close are reported once each.
func TestObserverSeesRequestsAndConnections(t *testing.T) {
	obs := &recordingObserver{}
	_, addr := startServer(t, Config{Observer: obs})
	c := dial(t, addr)
	for i, v := range []int16{4, 5} {
		req := apiVersionsRequest(v)
		c.send(req, int32(i))
		if _, err := c.readFrame(); err != nil {
			t.Fatal(err)
		}
	}
	c.nc.Close()

	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, closed, _ := obs.snapshot(); closed == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	opened, closed, reqs := obs.snapshot()
	if opened != 1 || closed != 1 {
		t.Errorf("connections opened %d closed %d, want 1 and 1", opened, closed)
	}
	want := []observedRequest{
		{key: 18, version: 4, hasResponse: true},
		{key: 18, version: 5, hasResponse: true, errorCode: kerr.UnsupportedVersion.Code},
	}
	if len(reqs) != len(want) {
		t.Fatalf("observed %d requests, want %d: %+v", len(reqs), len(want), reqs)
	}
	for i, w := range want {
		got := reqs[i]
		if got.key != w.key || got.version != w.version || got.hasResponse != w.hasResponse || got.errorCode != w.errorCode || got.latency < 0 {
			t.Errorf("request %d = %+v, want %+v", i, got, w)
		}
	}
}
