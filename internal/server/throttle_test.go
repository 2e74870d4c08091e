package server

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
)

// throttlingMetadata answers Metadata with throttle_time_ms set on its first answer and
// records when each request was handled.
type throttlingMetadata struct {
	throttle time.Duration
	mu       sync.Mutex
	handled  []time.Time
}

func (h *throttlingMetadata) lookup(key int16) (api.API, bool) {
	if key != 3 {
		return api.Lookup(key)
	}
	return api.API{Key: 3, MinVersion: 0, MaxVersion: 12, Handle: func(_ context.Context, _ *api.Env, req *api.Request) (api.Response, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.handled = append(h.handled, time.Now())
		resp := req.Msg.(*kmsg.MetadataRequest).ResponseKind().(*kmsg.MetadataResponse)
		if len(h.handled) == 1 {
			resp.ThrottleMillis = int32(h.throttle.Milliseconds())
		}
		return api.Reply(resp), nil
	}}, true
}

func throttledMetadataRequest(version int16) *kmsg.MetadataRequest {
	r := kmsg.NewPtrMetadataRequest()
	r.Version = version
	return r
}

// TestThrottleMutesAfterResponse: a response carrying throttle_time_ms (KIP-219 versions) is
// written at once, and the connection's next request is not handled until the throttle time
// has passed since. The assertion is a lower bound only: a slow machine makes it later, never
// earlier.
func TestThrottleMutesAfterResponse(t *testing.T) {
	h := &throttlingMetadata{throttle: 300 * time.Millisecond}
	_, addr := startServer(t, Config{Lookup: h.lookup})
	c := dial(t, addr)
	req := throttledMetadataRequest(12)
	c.send(req, 1)
	if resp, _ := c.recv(req); resp.(*kmsg.MetadataResponse).ThrottleMillis != 300 {
		t.Fatalf("throttle %d", resp.(*kmsg.MetadataResponse).ThrottleMillis)
	}
	c.send(req, 2)
	c.recv(req)
	h.mu.Lock()
	gap := h.handled[1].Sub(h.handled[0])
	h.mu.Unlock()
	if gap < h.throttle {
		t.Fatalf("second request handled %v after the first, within its throttle of %v", gap, h.throttle)
	}
	// Another connection is not muted.
	other := dial(t, addr)
	other.send(req, 3)
	other.recv(req)
}

// TestThrottleHoldsOldVersions: before KIP-219 (Metadata v3-v5) the client does not back off
// by itself, so the response is held for the throttle time instead.
func TestThrottleHoldsOldVersions(t *testing.T) {
	h := &throttlingMetadata{throttle: 300 * time.Millisecond}
	_, addr := startServer(t, Config{Lookup: h.lookup})
	c := dial(t, addr)
	req := throttledMetadataRequest(5)
	sent := time.Now()
	c.send(req, 1)
	c.recv(req)
	if waited := time.Since(sent); waited < h.throttle {
		t.Fatalf("v5 response after %v, within its throttle of %v", waited, h.throttle)
	}
}
