package cluster_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/quorum"
	"github.com/sluicehq/sluice/internal/server"
)

// controllerNode is a real one-voter quorum, its metadata controller (session timeout as
// given) with a fence loop, and the controller listener serving the controller APIs.
type controllerNode struct {
	q      *quorum.Quorum
	ctl    *metadata.Controller
	client *cluster.Client
}

func startController(t *testing.T, session time.Duration) *controllerNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	q, err := quorum.Open(quorum.Options{NodeID: 1, Dir: filepath.Join(t.TempDir(), "__cluster_metadata"),
		ControllerAddr: ln.Addr().String(), Listener: ln})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := q.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	n := &controllerNode{q: q, ctl: metadata.NewController(q, metadata.ControllerOptions{NodeID: 1, SessionTimeout: session})}
	n.client = cluster.NewClient(cluster.Options{NodeID: 1, Controller: q.LeaderAddr, Local: q.Active})
	t.Cleanup(n.client.Close)
	env := &api.Env{NodeID: 1, Logger: slog.New(slog.DiscardHandler), Metadata: q, Controller: n.ctl, Lifecycle: n.ctl, Forwarder: n.client}
	srv, err := server.New(server.Config{Env: env, ListenerName: api.ControllerListenerName})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(q.ControllerListener()) }()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the broker's fence loop, as internal/broker runs it
		defer close(done)
		tick := time.NewTicker(session / 8)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				n.ctl.FenceStaleBrokers(context.Background())
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
	})
	return n
}

func (n *controllerNode) lifecycle(t *testing.T, id int32, port uint16) *cluster.Broker {
	t.Helper()
	l := kmsg.NewBrokerRegistrationRequestListener()
	l.Name, l.Host, l.Port = "PLAINTEXT", "127.0.0.1", port
	lc := cluster.StartBroker(cluster.BrokerOptions{Client: n.client, NodeID: id,
		ClusterID: func() string { return n.q.Image().ClusterID() }, Listeners: []kmsg.BrokerRegistrationRequestListener{l},
		MetadataOffset: func() int64 { return n.q.Image().Offset() }, HeartbeatInterval: 100 * time.Millisecond})
	t.Cleanup(lc.Close)
	return lc
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLifecycle: a broker registers over the controller listener, is unfenced once caught up,
// is fenced when it goes silent past the session timeout, and a new process with the same id
// is refused (DUPLICATE_BROKER_REGISTRATION) while the old one is alive, then registers as a
// new epoch once it is not.
func TestLifecycle(t *testing.T) {
	n := startController(t, 2*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := n.lifecycle(t, 7, 9092)
	if err := a.WaitUnfenced(ctx); err != nil {
		t.Fatal(err)
	}
	b, ok := n.q.Image().Broker(7)
	if !ok || b.Fenced || b.Epoch != a.Epoch() || b.Incarnation != a.Incarnation() {
		t.Fatalf("image broker %+v, lifecycle epoch %d", b, a.Epoch())
	}

	// A second process with id 7 while the first heartbeats: refused, so it stays unregistered.
	second := n.lifecycle(t, 7, 9093)
	time.Sleep(300 * time.Millisecond)
	if second.Epoch() >= 0 {
		t.Fatalf("a duplicate registration got epoch %d", second.Epoch())
	}
	// The first goes silent: fenced after its session, then the second takes the id.
	a.Close()
	if err := second.WaitUnfenced(ctx); err != nil {
		t.Fatal(err)
	}
	b, _ = n.q.Image().Broker(7)
	if b.Epoch != second.Epoch() || b.Epoch <= a.Epoch() || b.Endpoints[0].Port != 9093 {
		t.Fatalf("broker 7 is %+v after the takeover (old epoch %d)", b, a.Epoch())
	}
}

// TestControlledShutdown: a broker asking to shut down is told it may once it leads nothing.
func TestControlledShutdown(t *testing.T) {
	n := startController(t, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := n.lifecycle(t, 1, 9092)
	if err := a.WaitUnfenced(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.ControlledShutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := n.q.Image().Broker(1); !b.Fenced {
		t.Fatalf("after its controlled shutdown broker 1 is %+v", b)
	}
}

// TestStaleEpochRegistersAgain: a heartbeat the controller answers STALE_BROKER_EPOCH (another
// registration of the id happened, here by the controller's own hand) makes the lifecycle
// register again and carry on with the new epoch.
func TestStaleEpochRegistersAgain(t *testing.T) {
	n := startController(t, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := n.lifecycle(t, 3, 9092)
	if err := a.WaitUnfenced(ctx); err != nil {
		t.Fatal(err)
	}
	first := a.Epoch()
	// The same incarnation with other details is a new registration: a new epoch.
	if _, err := n.ctl.RegisterBroker(ctx, metadata.BrokerRegistration{ID: 3, Incarnation: a.Incarnation(), Rack: "moved",
		Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new registration by the lifecycle", func() bool {
		b, _ := n.q.Image().Broker(3)
		return a.Epoch() > first && b.Epoch == a.Epoch() && !b.Fenced
	})
}

// TestClientVersionsAndErrors: the client negotiates versions with ApiVersions, refuses an API
// the listener does not serve, and ToController gives up when ctx ends while the answer says
// NOT_CONTROLLER.
func TestClientVersionsAndErrors(t *testing.T) {
	n := startController(t, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, addr, ok := n.q.LeaderAddr()
	if !ok {
		t.Fatal("no leader address")
	}
	resp, err := n.client.Send(ctx, addr, kmsg.NewPtrApiVersionsRequest())
	if err != nil {
		t.Fatal(err)
	}
	if v := resp.(*kmsg.ApiVersionsResponse).Version; v != api.MaxVersion(18) {
		t.Fatalf("ApiVersions v%d, want v%d", v, api.MaxVersion(18))
	}
	if _, err := n.client.Send(ctx, addr, kmsg.NewPtrProduceRequest()); err == nil {
		t.Fatal("Produce sent to a controller listener")
	}
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	_, err = n.client.ToController(short, kmsg.NewPtrApiVersionsRequest(), func(kmsg.Response) bool { return true })
	if !errors.Is(err, cluster.ErrNoController) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ToController: %v", err)
	}
	hb := kmsg.NewPtrBrokerHeartbeatRequest()
	hb.BrokerID, hb.BrokerEpoch = 42, 1
	resp, err = n.client.Send(ctx, addr, hb)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.(*kmsg.BrokerHeartbeatResponse).ErrorCode; code != kerr.BrokerIDNotRegistered.Code {
		t.Fatalf("heartbeat of an unknown broker: %d", code)
	}
}
