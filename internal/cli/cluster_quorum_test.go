package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/quorum"
	"github.com/sluicehq/sluice/internal/server"
)

// quorumNode is a real metadata quorum member on loopback; with serve, also a real Kafka
// server answering with it (the controller's APIs and Metadata).
type quorumNode struct {
	q    *quorum.Quorum
	addr string // Kafka address, when served
}

func startQuorumNode(t *testing.T, id int32, peers []string, observer bool) *quorumNode {
	t.Helper()
	cln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	q, err := quorum.Open(quorum.Options{NodeID: id, Dir: filepath.Join(t.TempDir(), "__cluster_metadata"),
		ControllerAddr: cln.Addr().String(), Listener: cln, Peers: peers, Observer: observer,
		ElectionTimeout: quorum.DefaultElectionTimeout}) // a lone voter's short timeout could not gain voters
	if err != nil {
		cln.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := q.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return &quorumNode{q: q}
}

// serve answers the Kafka protocol for n (it must be the controller) on a loopback port.
func (n *quorumNode) serve(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n.addr = ln.Addr().String()
	ctl := metadata.NewController(n.q, metadata.ControllerOptions{NodeID: n.q.NodeID()})
	host, portText, _ := net.SplitHostPort(n.addr)
	port, _ := strconv.Atoi(portText)
	ctx := context.Background()
	epoch, err := ctl.RegisterBroker(ctx, metadata.BrokerRegistration{ID: n.q.NodeID(),
		Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: host, Port: int32(port)}}})
	if err == nil {
		_, err = ctl.BrokerHeartbeat(ctx, metadata.Heartbeat{ID: n.q.NodeID(), Epoch: epoch, MetadataOffset: epoch})
	}
	if err != nil {
		t.Fatal(err)
	}
	env := &api.Env{NodeID: n.q.NodeID(), Logger: slog.New(slog.DiscardHandler), Metadata: n.q, Controller: ctl, Quorum: n.q}
	srv, err := server.New(server.Config{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-served; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

func quorumJSON(t *testing.T, brokers string) quorumInfo {
	t.Helper()
	out, errOut, code := runCLI(t, "cluster", "quorum", "--brokers", brokers, "--format", "json")
	if code != 0 {
		t.Fatalf("cluster quorum: exit %d: %s", code, errOut)
	}
	var info quorumInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return info
}

func entry(info quorumInfo, id int32) (quorumEntry, bool) {
	for _, r := range info.Replicas {
		if r.NodeID == id {
			return r, true
		}
	}
	return quorumEntry{}, false
}

// TestClusterQuorumCommands: `cluster quorum`, `add-voter` and `remove-voter` against a real
// two-member quorum: node 1 votes and serves the Kafka protocol, node 2 follows as an observer
// until the CLI makes it a voter, and is an observer again after the CLI removes it.
func TestClusterQuorumCommands(t *testing.T) {
	n1 := startQuorumNode(t, 1, nil, false)
	n1.serve(t)
	_, ctlAddr, _ := n1.q.LeaderAddr()
	n2 := startQuorumNode(t, 2, []string{"1@" + ctlAddr}, true)
	dir2 := n2.q.Directory().String()
	addr2 := n2.q.ControllerListener().Addr().String()

	info := quorumJSON(t, n1.addr)
	if e, ok := entry(info, 1); info.LeaderID != 1 || info.LeaderEpoch < 1 || !ok || e.Status != "leader" || e.Lag != 0 || e.DirectoryID != n1.q.Directory().String() {
		t.Fatalf("quorum: %+v", info)
	}
	if e, ok := entry(info, 2); !ok || e.Status != "observer" || e.DirectoryID != dir2 || e.LogEndOffset < 1 {
		t.Fatalf("quorum: %+v", info)
	}
	out, _, code := runCLI(t, "cluster", "quorum", "--brokers", n1.addr)
	if code != 0 || !strings.Contains(out, "High watermark:") || !strings.Contains(out, "LAST CAUGHT UP") || !strings.Contains(out, dir2) {
		t.Fatalf("cluster quorum text (exit %d):\n%s", code, out)
	}

	// Usage errors, then Kafka's errors as the CLI reports them.
	if _, errOut, code := runCLI(t, "cluster", "add-voter", "--brokers", n1.addr, "--node-id", "2", "--directory-id", "nope", "--controller-addr", addr2); code == 0 || !strings.Contains(errOut, "--directory-id") {
		t.Fatalf("bad directory id: exit %d: %s", code, errOut)
	}
	if _, errOut, code := runCLI(t, "cluster", "add-voter", "--brokers", n1.addr, "--node-id", "1", "--directory-id", dir2, "--controller-addr", addr2); code == 0 || !strings.Contains(errOut, "DUPLICATE_VOTER") {
		t.Fatalf("add of voter 1: exit %d: %s", code, errOut)
	}
	if _, errOut, code := runCLI(t, "cluster", "remove-voter", "--brokers", n1.addr, "--node-id", "2", "--directory-id", dir2); code == 0 || !strings.Contains(errOut, "VOTER_NOT_FOUND") {
		t.Fatalf("remove of an observer: exit %d: %s", code, errOut)
	}

	out, errOut, code := runCLI(t, "cluster", "add-voter", "--brokers", n1.addr, "--node-id", "2", "--directory-id", dir2, "--controller-addr", addr2)
	if code != 0 || !strings.Contains(out, "is a voter") {
		t.Fatalf("add-voter: exit %d: %s%s", code, out, errOut)
	}
	info = quorumJSON(t, n1.addr)
	if e, ok := entry(info, 2); !ok || e.Status != "voter" {
		t.Fatalf("after add-voter: %+v", info)
	}

	out, errOut, code = runCLI(t, "cluster", "remove-voter", "--brokers", n1.addr, "--node-id", "2", "--directory-id", dir2)
	if code != 0 || !strings.Contains(out, "no longer a voter") {
		t.Fatalf("remove-voter: exit %d: %s%s", code, out, errOut)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		info = quorumJSON(t, n1.addr)
		if e, ok := entry(info, 2); ok && e.Status == "observer" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 2 did not become an observer again: %+v", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
