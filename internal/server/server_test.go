package server

import (
	"context"
	"encoding/binary"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
)

func TestApiVersionsEveryVersion(t *testing.T) {
	_, addr := startServer(t, Config{})
	c := dial(t, addr)
	for v := int16(0); v <= 4; v++ {
		req := apiVersionsRequest(v)
		c.send(req, int32(v))
		msg, corr := c.recv(req)
		resp := msg.(*kmsg.ApiVersionsResponse)
		if corr != int32(v) || resp.ErrorCode != 0 {
			t.Fatalf("v%d: correlation %d error %d", v, corr, resp.ErrorCode)
		}
		if len(resp.ApiKeys) != len(api.APIsFor(api.BrokerListener)) {
			t.Fatalf("v%d: %d keys advertised, %d served on the broker listener", v, len(resp.ApiKeys), len(api.APIsFor(api.BrokerListener)))
		}
	}
}

func TestApiVersionsTooNewFallsBackToV0(t *testing.T) {
	_, addr := startServer(t, Config{})
	c := dial(t, addr)
	req := apiVersionsRequest(5) // kmsg knows v5; Sluice serves 0–4
	c.send(req, 7)
	frame, err := c.readFrame()
	if err != nil {
		t.Fatal(err)
	}
	resp := kmsg.NewPtrApiVersionsResponse() // v0, header v0
	if err := resp.ReadFrom(frame[4:]); err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != kerr.UnsupportedVersion.Code || len(resp.ApiKeys) != 1 || resp.ApiKeys[0].MaxVersion != 4 {
		t.Fatalf("fallback response = %+v", resp)
	}
	// The connection stays usable for the downgraded request.
	req = apiVersionsRequest(4)
	c.send(req, 8)
	if msg, corr := c.recv(req); corr != 8 || msg.(*kmsg.ApiVersionsResponse).ErrorCode != 0 {
		t.Fatalf("downgraded request failed: corr %d", corr)
	}
}

// TestKgoDowngrades checks that a real client, which opens with the newest
// ApiVersions it knows, downgrades through the v0 fallback and gets on.
func TestKgoDowngrades(t *testing.T) {
	_, addr := startServer(t, Config{})
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != 0 || len(resp.ApiKeys) == 0 {
		t.Fatalf("kgo ApiVersions: error %d, %d keys", resp.ErrorCode, len(resp.ApiKeys))
	}
}

// frame builds a raw request frame: size, then the given bytes.
func frame(b []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

func TestBadFramesCloseOnlyTheirConnection(t *testing.T) {
	cases := []struct {
		name  string
		bytes []byte
	}{
		{"size below header", binary.BigEndian.AppendUint32(nil, 3)},
		{"negative size", binary.BigEndian.AppendUint32(nil, 0xffffffff)},
		{"size over limit", binary.BigEndian.AppendUint32(nil, 1<<20+1)},
		{"unknown key", frame([]byte{0x03, 0xe7, 0, 0, 0, 0, 0, 1, 0xff, 0xff})},
		{"key not served", frame([]byte{0, 4, 0, 0, 0, 0, 0, 1, 0xff, 0xff})}, // LeaderAndIsr
		{"version not served", frame([]byte{0, 0, 0, 99, 0, 0, 0, 1, 0xff, 0xff, 0})},
		{"client id runs past frame", frame([]byte{0, 18, 0, 0, 0, 0, 0, 1, 0, 50, 'x'})},
		{"bad tagged fields", frame([]byte{0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 5, 1})},
		{"body runs short", frame([]byte{0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0, 20, 'a'})},
	}
	_, addr := startServer(t, Config{MaxRequestBytes: 1 << 20})
	bystander := dial(t, addr)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			c.sendRaw(tc.bytes)
			c.expectClosed()

			req := apiVersionsRequest(3)
			bystander.send(req, int32(i))
			if _, corr := bystander.recv(req); corr != int32(i) {
				t.Fatalf("bystander got correlation %d, want %d", corr, i)
			}
		})
	}
}

func TestTruncatedFrame(t *testing.T) {
	_, addr := startServer(t, Config{})
	c := dial(t, addr)
	full := frame([]byte{0, 18, 0, 0, 0, 0, 0, 1, 0xff, 0xff})
	c.sendRaw(full[:len(full)-3])
	c.nc.(interface{ CloseWrite() error }).CloseWrite()
	c.expectClosed()
}

// TestHugeSizePrefixAllocatesNothing announces a 2 GiB frame on several
// connections; the server must close them without allocating the frame.
func TestHugeSizePrefixAllocatesNothing(t *testing.T) {
	_, addr := startServer(t, Config{})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 8 {
		c := dial(t, addr)
		c.sendRaw(binary.BigEndian.AppendUint32(nil, 0x7fffffff))
		c.expectClosed()
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("allocated %d bytes while refusing 2 GiB frames", grew)
	}
}

// delayedLookup serves ApiVersions, delaying each response by the
// duration its correlation id indexes, through Finish.
func delayedLookup(delays []time.Duration) func(int16) (api.API, bool) {
	return func(key int16) (api.API, bool) {
		a, ok := api.Lookup(key)
		if !ok || key != 18 {
			return a, ok
		}
		inner := a.Handle
		a.Handle = func(ctx context.Context, env *api.Env, req *api.Request) (api.Response, error) {
			resp, err := inner(ctx, env, req)
			d := delays[req.CorrelationID]
			return api.Response{Finish: func(ctx context.Context) (api.Response, error) {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
				return resp, err
			}}, nil
		}
		return a, true
	}
}

func TestPipelinedResponsesInOrder(t *testing.T) {
	// Earlier requests take longer, so finishing order is the reverse of
	// request order; the wire order must still be request order.
	delays := make([]time.Duration, 10)
	for i := range delays {
		delays[i] = time.Duration(len(delays)-i) * 20 * time.Millisecond
	}
	_, addr := startServer(t, Config{Lookup: delayedLookup(delays)})
	c := dial(t, addr)
	req := apiVersionsRequest(3)
	var batch []byte
	for i := range delays {
		batch = append(batch, c.f.AppendRequest(nil, req, int32(i))...) // AppendRequest sizes all of dst
	}
	c.sendRaw(batch)
	for i := range delays {
		if _, corr := c.recv(req); corr != int32(i) {
			t.Fatalf("response %d has correlation %d", i, corr)
		}
	}
}

func TestNoResponseForNilMsg(t *testing.T) {
	// A handler returning no body (as Produce acks=0 does) writes nothing;
	// the next response on the connection is the next request's.
	lookup := func(key int16) (api.API, bool) {
		a, ok := api.Lookup(key)
		if ok && key == 18 {
			inner := a.Handle
			a.Handle = func(ctx context.Context, env *api.Env, req *api.Request) (api.Response, error) {
				if req.CorrelationID == 1 {
					return api.Response{}, nil
				}
				return inner(ctx, env, req)
			}
		}
		return a, ok
	}
	_, addr := startServer(t, Config{Lookup: lookup})
	c := dial(t, addr)
	req := apiVersionsRequest(3)
	c.send(req, 1)
	c.send(req, 2)
	if _, corr := c.recv(req); corr != 2 {
		t.Fatalf("got correlation %d, want 2", corr)
	}
}

func TestIdleConnectionClosed(t *testing.T) {
	_, addr := startServer(t, Config{IdleTimeout: 100 * time.Millisecond})
	c := dial(t, addr)
	req := apiVersionsRequest(3)
	c.send(req, 1)
	c.recv(req)
	c.expectClosed()
}

func TestBusyConnectionNotIdle(t *testing.T) {
	// A response owed for longer than the idle timeout keeps the
	// connection open: it is waiting, not idle.
	delays := []time.Duration{0, 500 * time.Millisecond}
	_, addr := startServer(t, Config{IdleTimeout: 100 * time.Millisecond, Lookup: delayedLookup(delays)})
	c := dial(t, addr)
	req := apiVersionsRequest(3)
	c.send(req, 1)
	if _, corr := c.recv(req); corr != 1 {
		t.Fatalf("correlation %d", corr)
	}
}

func TestShutdownAnswersInFlight(t *testing.T) {
	// A request waiting (a long poll) when shutdown starts is answered, then
	// the connection closes.
	delays := []time.Duration{time.Hour}
	srv, addr := startServer(t, Config{Lookup: delayedLookup(delays)})
	c := dial(t, addr)
	req := apiVersionsRequest(3)
	c.send(req, 0)
	// Make sure the request was read before shutting down: a second
	// connection's answer proves nothing about the first, so poll the
	// server's in-flight count instead.
	waitInFlight(t, srv, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		srv.Shutdown(context.Background())
	}()
	if _, corr := c.recv(req); corr != 0 {
		t.Fatalf("correlation %d", corr)
	}
	c.expectClosed()
	wg.Wait()
}

// waitInFlight waits until the server's connections owe n responses.
func waitInFlight(t *testing.T, srv *Server, n int32) {
	t.Helper()
	for range 2000 {
		srv.mu.Lock()
		var total int32
		for c := range srv.mu.conns {
			total += c.inFlight.Load()
		}
		srv.mu.Unlock()
		if total == n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("server never had %d responses in flight", n)
}

func TestHandlerPanicCostsOnlyItsConnection(t *testing.T) {
	lookup := func(key int16) (api.API, bool) {
		a, ok := api.Lookup(key)
		if ok && key == 18 {
			inner := a.Handle
			a.Handle = func(ctx context.Context, env *api.Env, req *api.Request) (api.Response, error) {
				if req.CorrelationID == 666 {
					panic("handler bug")
				}
				return inner(ctx, env, req)
			}
		}
		return a, ok
	}
	obs := &recordingObserver{}
	_, addr := startServer(t, Config{Lookup: lookup, Observer: obs})
	victim, bystander := dial(t, addr), dial(t, addr)
	req := apiVersionsRequest(3)
	victim.send(req, 666)
	victim.expectClosed()
	bystander.send(req, 1)
	if _, corr := bystander.recv(req); corr != 1 {
		t.Fatalf("bystander correlation %d", corr)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.panics) != 1 || obs.panics[0] != "handler" {
		t.Fatalf("panics counted %v, want [handler]", obs.panics)
	}
}
