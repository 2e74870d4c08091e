package api_test

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/quorum"
	"github.com/sluicehq/sluice/internal/server"
)

// adminNode is one node for the admin API tests: a real metadata quorum (hashicorp/raft on
// loopback, raft-boltdb in a temp dir), the real controller, and the real server. It hosts no
// partitions: the admin APIs only read and write metadata.
type adminNode struct {
	t    *testing.T
	q    *quorum.Quorum
	ctl  *metadata.Controller
	env  *api.Env
	addr string
}

type adminOptions struct {
	static map[string]string
	// peers, if set, make the quorum wait for voters that never come, so this node never
	// becomes the controller.
	peers []string
	// electionTimeout, if set, is the quorum's (a one-voter quorum otherwise runs the short
	// single-voter timeout, with which it cannot gain voters).
	electionTimeout time.Duration
	// authorizer, if set, is the Env's (the ACL APIs answer SECURITY_DISABLED without one).
	authorizer api.Authorizer
	// quotas, if set, enforces client quotas (Env.Quotas).
	quotas api.Quotas
}

func startAdminNode(t *testing.T, opts adminOptions) *adminNode {
	t.Helper()
	static, err := config.ValidateBrokerStatic(opts.static)
	if err != nil {
		t.Fatal(err)
	}
	if opts.peers == nil {
		config.SingleNodeDefaults(static) // as the broker sets up a one-voter start
	}
	cln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	q, err := quorum.Open(quorum.Options{NodeID: 1, Dir: filepath.Join(t.TempDir(), "__cluster_metadata"),
		ControllerAddr: cln.Addr().String(), Listener: cln, Peers: opts.peers, ElectionTimeout: opts.electionTimeout})
	if err != nil {
		cln.Close()
		t.Fatal(err)
	}
	n := &adminNode{t: t, q: q}
	t.Cleanup(func() {
		if err := q.Close(); err != nil {
			t.Errorf("close quorum: %v", err)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n.addr = ln.Addr().String()
	n.ctl = metadata.NewController(q, metadata.ControllerOptions{NodeID: 1, StaticConfig: static})
	if opts.peers == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := q.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
		host, portText, _ := net.SplitHostPort(n.addr)
		port, _ := strconv.Atoi(portText)
		if epoch, err := n.ctl.RegisterBroker(ctx, metadata.BrokerRegistration{ID: 1,
			Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: host, Port: int32(port)}}}); err != nil {
			t.Fatal(err)
		} else if _, err := n.ctl.BrokerHeartbeat(ctx, metadata.Heartbeat{ID: 1, Epoch: epoch, MetadataOffset: epoch}); err != nil {
			t.Fatal(err) // registrations start fenced; a caught-up heartbeat unfences
		}
	}
	n.env = &api.Env{NodeID: 1, Logger: slog.New(slog.DiscardHandler), StaticConfig: static, Metadata: q, Controller: n.ctl,
		Authorizer: opts.authorizer}
	n.env.Quotas = opts.quotas
	srv, err := server.New(server.Config{Env: n.env})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return n
}

// topic returns a topic of the node's current metadata, failing the test if it is missing.
func (n *adminNode) topic(name string) *metadata.Topic {
	n.t.Helper()
	t, ok := n.q.Image().Topic(name)
	if !ok {
		n.t.Fatalf("topic %s not in the metadata", name)
	}
	return t
}

// create creates topics through the controller directly (setup for tests of other APIs).
func (n *adminNode) create(name string, partitions int32, configs map[string]string) metadata.TopicID {
	n.t.Helper()
	res := n.ctl.CreateTopics(context.Background(), []metadata.CreateTopic{{Name: name, NumPartitions: partitions,
		ReplicationFactor: -1, Configs: configs}}, false)
	if res[0].Err != nil {
		n.t.Fatal(res[0].Err)
	}
	return res[0].ID
}

func (n *adminNode) admin() *kadm.Client {
	n.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.addr))
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// dial opens a raw protocol connection (rawConn, shared with the data-path tests).
func (n *adminNode) dial() *rawConn {
	n.t.Helper()
	nc, err := net.Dial("tcp", n.addr)
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { nc.Close() })
	return &rawConn{t: n.t, nc: nc, br: bufio.NewReader(nc)}
}
