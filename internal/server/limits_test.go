package server

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
)

// sizePrefix is a frame's 4-byte size.
func sizePrefix(n int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFrameGrowsAsBytesArrive(t *testing.T) {
	srv, addr := startServer(t, Config{QueuedMaxRequestBytes: 1 << 30})
	c := dial(t, addr)
	c.sendRaw(sizePrefix(90 << 20)) // announces 90 MiB
	c.sendRaw(make([]byte, 10))
	time.Sleep(50 * time.Millisecond)
	if got := srv.budget.used(); got != 0 {
		t.Fatalf("%d bytes charged for a frame that fits its first chunk so far", got)
	}
	c.sendRaw(make([]byte, 200<<10)) // 200 KiB arrived: the buffer doubled to 256 KiB
	waitFor(t, "growth to 256 KiB", func() bool { return srv.budget.used() == charged(256<<10) })
	time.Sleep(50 * time.Millisecond)
	if got := srv.budget.used(); got != charged(256<<10) {
		t.Fatalf("%d bytes held for 200 KiB received of a 90 MiB frame", got)
	}
	c.nc.Close()
	waitFor(t, "release after the client left", func() bool { return srv.budget.used() == 0 })
}

func TestQueuedMaxRequestBytesBlocksReaders(t *testing.T) {
	srv, addr := startServer(t, Config{QueuedMaxRequestBytes: 100 << 10})
	hog := dial(t, addr)
	hog.sendRaw(sizePrefix(1 << 20))
	hog.sendRaw(make([]byte, 100<<10)) // 128 KiB buffer, 112 KiB charged: the budget is spent
	waitFor(t, "the hog's bytes", func() bool { return srv.budget.used() >= 100<<10 })

	other := dial(t, addr)
	other.send(apiVersionsRequest(3), 7)
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		other.readFrame()
	}()
	select {
	case <-answered:
		t.Fatal("a request was read while queued.max.request.bytes was spent")
	case <-time.After(300 * time.Millisecond):
	}
	hog.nc.Close() // its bytes are released; the other connection goes on
	select {
	case <-answered:
	case <-time.After(5 * time.Second):
		t.Fatal("no answer after the budget was released")
	}
}

// TestSilentFramesDoNotSpendTheBudget: connections that announce frames and send nothing more
// hold no budget, so they cannot stop others' requests.
func TestSilentFramesDoNotSpendTheBudget(t *testing.T) {
	srv, addr := startServer(t, Config{QueuedMaxRequestBytes: 64 << 10})
	for range 20 { // 20 first chunks: 320 KiB, five times the budget
		c := dial(t, addr)
		c.sendRaw(sizePrefix(100 << 20))
		c.sendRaw([]byte{0})
	}
	c := dial(t, addr)
	c.send(apiVersionsRequest(3), 5)
	if _, corr := c.recv(apiVersionsRequest(3)); corr != 5 {
		t.Fatalf("correlation id %d", corr)
	}
	if got := srv.budget.used(); got != 0 {
		t.Fatalf("budget used %d by silent frames", got)
	}
}

// TestPartialFramesCannotDeadlock: two frames that together need more than twice the budget:
// the one left waiting gives up after frameGrowWait (its connection closed, its bytes
// released), and the other is read on.
func TestPartialFramesCannotDeadlock(t *testing.T) {
	saved := frameGrowWait
	t.Cleanup(func() { frameGrowWait = saved }) // registered first: runs after the server stops
	frameGrowWait = 200 * time.Millisecond
	srv, addr := startServer(t, Config{QueuedMaxRequestBytes: 32 << 10})
	a, b := dial(t, addr), dial(t, addr)
	a.sendRaw(sizePrefix(1 << 20))
	b.sendRaw(sizePrefix(1 << 20))
	time.Sleep(50 * time.Millisecond) // both frames started while the budget was free
	a.sendRaw(make([]byte, 40<<10))   // a: 64 KiB buffer, 48 KiB charged
	waitFor(t, "a's growth", func() bool { return srv.budget.used() == charged(64<<10) })
	b.sendRaw(make([]byte, 20<<10)) // b: 32 KiB buffer, 16 KiB charged; 64 KiB in all
	waitFor(t, "b's growth", func() bool { return srv.budget.used() == charged(64<<10)+charged(32<<10) })
	a.sendRaw(make([]byte, 30<<10)) // a needs 64 KiB more: past twice the budget while b holds some
	a.expectClosed()
	waitFor(t, "a's bytes released", func() bool { return srv.budget.used() == charged(32<<10) })
	b.sendRaw(make([]byte, 100<<10)) // alone now: grows past the limit
	waitFor(t, "b's frame growing", func() bool { return srv.budget.used() == charged(128<<10) })
}

func TestMaxConnectionsPerIP(t *testing.T) {
	cases := []struct {
		name   string
		cfg    Config
		allows int
		reason string
	}{
		{"max.connections", Config{MaxConnections: 2}, 2, RejectMaxConnections},
		{"per ip", Config{MaxConnectionsPerIP: 3}, 3, RejectMaxConnectionsPerIP},
		{"override raises", Config{MaxConnectionsPerIP: 1, MaxConnectionsPerIPOverrides: map[string]int{"127.0.0.1": 4}}, 4, RejectMaxConnectionsPerIP},
		{"override lowers", Config{MaxConnectionsPerIP: 5, MaxConnectionsPerIPOverrides: map[string]int{"127.0.0.1": 1}}, 1, RejectMaxConnectionsPerIP},
		{"none but the override (Kafka's 0)", Config{MaxConnectionsPerIP: -1, MaxConnectionsPerIPOverrides: map[string]int{"127.0.0.1": 2}}, 2, RejectMaxConnectionsPerIP},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obs := &recordingObserver{}
			tc.cfg.Observer = obs
			_, addr := startServer(t, tc.cfg)
			var clients []*client
			for i := range tc.allows {
				c := dial(t, addr)
				c.send(apiVersionsRequest(3), int32(i))
				c.recv(apiVersionsRequest(3))
				clients = append(clients, c)
			}
			extra := dial(t, addr)
			extra.send(apiVersionsRequest(3), 99)
			extra.expectClosed()
			obs.mu.Lock()
			rejected := append([]string(nil), obs.rejected...)
			obs.mu.Unlock()
			if len(rejected) != 1 || rejected[0] != tc.reason {
				t.Fatalf("rejections %v, want [%s]", rejected, tc.reason)
			}
			// A slot freed is a slot a new connection gets.
			clients[0].nc.Close()
			time.Sleep(50 * time.Millisecond)
			again := dial(t, addr)
			again.send(apiVersionsRequest(3), 100)
			if _, corr := again.recv(apiVersionsRequest(3)); corr != 100 {
				t.Fatalf("correlation id %d", corr)
			}
		})
	}
}

func TestMaxInFlightBytesPerConnection(t *testing.T) {
	release := make(chan struct{})
	handled := make(chan int16, 16)
	srv, addr := startServer(t, Config{MaxInFlightBytes: 48 << 10, Lookup: gatedLookup(handled, release)})
	c := dial(t, addr)
	// Two ApiVersions requests padded to 30 KiB each: the second passes 48 KiB
	// while the first is unanswered, so it is not read until then.
	for i := range 2 {
		c.sendRaw(paddedAPIVersions(int32(i), 30<<10))
	}
	<-handled
	select {
	case <-handled:
		t.Fatal("second request read while the first held the connection's in-flight bytes")
	case <-time.After(200 * time.Millisecond):
	}
	if held := srv.budget.used(); held != 0 {
		t.Fatalf("budget used %d with no limit set", held)
	}
	close(release)
	select {
	case <-handled:
	case <-time.After(5 * time.Second):
		t.Fatal("second request never read")
	}
	for range 2 {
		if _, err := c.readFrame(); err != nil {
			t.Fatal(err)
		}
	}
}

// paddedAPIVersions is an ApiVersions v3 request of about size bytes (a long
// client id).
func paddedAPIVersions(correlationID int32, size int) []byte {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID(string(make([]byte, size))))
	return f.AppendRequest(nil, apiVersionsRequest(3), correlationID)
}

// gatedLookup serves ApiVersions, telling handled about each request read
// and answering only once release is closed.
func gatedLookup(handled chan<- int16, release <-chan struct{}) func(int16) (api.API, bool) {
	return func(key int16) (api.API, bool) {
		a, ok := api.Lookup(key)
		if !ok || key != 18 {
			return a, ok
		}
		inner := a.Handle
		a.Handle = func(ctx context.Context, env *api.Env, req *api.Request) (api.Response, error) {
			handled <- req.Key
			resp, err := inner(ctx, env, req)
			return api.Response{Finish: func(ctx context.Context) (api.Response, error) {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return resp, err
			}}, nil
		}
		return a, true
	}
}
