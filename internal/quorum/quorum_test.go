package quorum

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/metadata"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testLogger writes to the test log only when -v is given, keeping failures readable.
func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

type nodeSpec struct {
	id    int32
	dir   string
	addr  string
	peers []string
	opts  func(*Options)
}

// open starts a quorum member on a listener it creates at spec.addr (port 0 allowed).
func open(t *testing.T, spec nodeSpec) *Quorum {
	t.Helper()
	ln, err := net.Listen("tcp", spec.addr)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{NodeID: spec.id, Dir: filepath.Join(spec.dir, "__cluster_metadata"), ControllerAddr: ln.Addr().String(), Listener: ln,
		Peers: spec.peers, Logger: testLogger(t)}
	if spec.opts != nil {
		spec.opts(&opts)
	}
	q, err := Open(opts)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	return q
}

func waitReady(t *testing.T, q *Quorum) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := q.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}

func closeQuorum(t *testing.T, q *Quorum) {
	t.Helper()
	if err := q.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func createTopic(t *testing.T, ctl *metadata.Controller, name string, partitions int32) metadata.TopicID {
	t.Helper()
	res := ctl.CreateTopics(context.Background(), []metadata.CreateTopic{{Name: name, NumPartitions: partitions, ReplicationFactor: -1,
		Configs: map[string]string{"retention.ms": "60000"}}}, false)
	if res[0].Err != nil {
		t.Fatalf("create %s: %v", name, res[0].Err)
	}
	return res[0].ID
}

func registerSelf(t *testing.T, q *Quorum, ctl *metadata.Controller) {
	t.Helper()
	if epoch, err := ctl.RegisterBroker(context.Background(), metadata.BrokerRegistration{ID: q.NodeID(),
		Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "localhost", Port: 9092}}}); err != nil {
		t.Fatal(err)
	} else if _, err := ctl.BrokerHeartbeat(context.Background(), metadata.Heartbeat{ID: q.NodeID(), Epoch: epoch, MetadataOffset: epoch}); err != nil {
		t.Fatal(err) // registrations start fenced; a caught-up heartbeat unfences
	}
}

func TestSingleVoterRestart(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	q := open(t, nodeSpec{id: 1, dir: dir, addr: "127.0.0.1:0"})
	waitReady(t, q)
	t.Logf("time to a ready leader on first start: %v", time.Since(start))

	img := q.Image()
	clusterID := img.ClusterID()
	if clusterID == "" || img.FeatureLevel(metadata.MetadataVersionFeature) == 0 {
		t.Fatalf("new cluster lacks id (%q) or metadata.version (%v)", clusterID, img.Features())
	}
	if id, ok := q.Leader(); !ok || id != 1 {
		t.Fatalf("leader = %d %v", id, ok)
	}
	ctl := metadata.NewController(q, metadata.ControllerOptions{NodeID: 1})
	registerSelf(t, q, ctl)
	ordersID := createTopic(t, ctl, "orders", 3)
	// CreateTopics returned: the topic is in this node's Image already.
	if top, ok := q.Image().Topic("orders"); !ok || top.ID != ordersID || len(top.Partitions) != 3 {
		t.Fatalf("created topic not visible after CreateTopics returned: %+v", top)
	}
	before := q.Image().Records()
	closeQuorum(t, q)

	start = time.Now()
	q = open(t, nodeSpec{id: 1, dir: dir, addr: "127.0.0.1:0"})
	defer closeQuorum(t, q)
	waitReady(t, q)
	t.Logf("time to a ready leader on restart: %v", time.Since(start))
	after := q.Image()
	if after.ClusterID() != clusterID {
		t.Errorf("cluster id changed across restart: %s → %s", clusterID, after.ClusterID())
	}
	if !reflect.DeepEqual(after.Records(), before) {
		t.Fatalf("metadata after restart differs:\n got %v\nwant %v", after.Records(), before)
	}
	ctl = metadata.NewController(q, metadata.ControllerOptions{NodeID: 1})
	if res := ctl.CreateTopics(context.Background(), []metadata.CreateTopic{{Name: "orders", NumPartitions: 1, ReplicationFactor: -1}}, false); !errors.Is(res[0].Err, metadata.ErrTopicExists) {
		t.Fatalf("re-creating after restart: %v", res[0].Err)
	}
}

func TestSnapshotAndRestore(t *testing.T) {
	dir := t.TempDir()
	small := func(o *Options) { o.SnapshotThreshold = 4; o.TrailingLogs = 1 }
	q := open(t, nodeSpec{id: 1, dir: dir, addr: "127.0.0.1:0", opts: small})
	waitReady(t, q)
	ctl := metadata.NewController(q, metadata.ControllerOptions{NodeID: 1})
	registerSelf(t, q, ctl)
	for i := 0; i < 5; i++ {
		createTopic(t, ctl, fmt.Sprintf("t%d", i), 2)
	}
	if err := q.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	createTopic(t, ctl, "after-snapshot", 1)
	// Compact the log so that a restart must restore from the snapshot.
	if err := q.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	createTopic(t, ctl, "in-log", 1)
	want := q.Image().Records()
	first, err := q.store.FirstIndex()
	if err != nil || first <= 1 {
		t.Fatalf("log was not compacted (first index %d, %v)", first, err)
	}
	closeQuorum(t, q)

	q = open(t, nodeSpec{id: 1, dir: dir, addr: "127.0.0.1:0", opts: small})
	defer closeQuorum(t, q)
	waitReady(t, q)
	if got := q.Image().Records(); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored metadata differs:\n got %v\nwant %v", got, want)
	}
}

func TestSubscribeSeesEveryImageInOrder(t *testing.T) {
	q := open(t, nodeSpec{id: 1, dir: t.TempDir(), addr: "127.0.0.1:0"})
	defer closeQuorum(t, q)
	waitReady(t, q)
	var seen []*metadata.Image
	cancel := q.Subscribe(func(prev, next *metadata.Image) {
		if len(seen) > 0 && prev != seen[len(seen)-1] {
			t.Errorf("gap: prev is not the last Image delivered")
		}
		seen = append(seen, next)
	})
	if len(seen) != 1 || seen[0] != q.Image() {
		t.Fatal("Subscribe did not deliver the current Image first")
	}
	ctl := metadata.NewController(q, metadata.ControllerOptions{NodeID: 1})
	registerSelf(t, q, ctl)
	createTopic(t, ctl, "a", 1)
	createTopic(t, ctl, "b", 1)
	cancel()
	createTopic(t, ctl, "c", 1)
	if len(seen) != 5 {
		t.Fatalf("%d Images delivered, want 5 (current, register, unfence, a, b)", len(seen))
	}
	for i := 1; i < len(seen); i++ {
		if seen[i].Offset() <= seen[i-1].Offset() {
			t.Errorf("offsets out of order: %d then %d", seen[i-1].Offset(), seen[i].Offset())
		}
	}
	if d := metadata.DiffTopics(seen[3], seen[4]); len(d.Created) != 1 || d.Created[0].Name != "b" {
		t.Errorf("diff of consecutive Images: %+v", d)
	}
}

func TestRejectedBatchAdvancesOffsetOnly(t *testing.T) {
	q := open(t, nodeSpec{id: 1, dir: t.TempDir(), addr: "127.0.0.1:0"})
	defer closeQuorum(t, q)
	waitReady(t, q)
	before := q.Image()
	_, err := q.Propose(context.Background(), []metadata.Record{&metadata.RemoveTopicRecord{TopicID: metadata.TopicID{1}}})
	if !errors.Is(err, metadata.ErrInvalidRecord) {
		t.Fatalf("err = %v, want ErrInvalidRecord", err)
	}
	after := q.Image()
	if after.Offset() <= before.Offset() || !reflect.DeepEqual(after.Records(), before.Records()) {
		t.Fatal("a rejected batch changed the metadata")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	q := open(t, nodeSpec{id: 1, dir: dir, addr: "127.0.0.1:0"})
	defer closeQuorum(t, q)
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"data directory in use", Options{NodeID: 1, Dir: filepath.Join(dir, "__cluster_metadata"), ControllerAddr: "127.0.0.1:0"}, "another sluice"},
		{"bad peer", Options{NodeID: 1, Dir: t.TempDir(), ControllerAddr: "127.0.0.1:0", Peers: []string{"2@nowhere"}}, "address is not host:port"},
		{"self with other address", Options{NodeID: 1, Dir: t.TempDir(), ControllerAddr: "127.0.0.1:1", Peers: []string{"1@127.0.0.1:2"}}, "is this node"},
		{"duplicate peer", Options{NodeID: 1, Dir: t.TempDir(), ControllerAddr: "127.0.0.1:1", Peers: []string{"2@h:1", "2@h:2"}}, "listed twice"},
		{"unadvertisable address", Options{NodeID: 1, Dir: t.TempDir(), ControllerAddr: "0.0.0.0:0"}, "must name a host"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Logger = testLogger(t)
			q, err := Open(c.opts)
			if err == nil {
				q.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestClosedQuorum(t *testing.T) {
	q := open(t, nodeSpec{id: 1, dir: t.TempDir(), addr: "127.0.0.1:0"})
	waitReady(t, q)
	closeQuorum(t, q)
	if err := q.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := q.Propose(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Propose after Close: %v", err)
	}
	if err := q.WaitReady(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitReady after Close: %v", err)
	}
}

// BenchmarkColdStart measures Open of a fresh one-voter quorum until it is a ready leader
// (elected, cluster id committed), then Close. With the default election timeout of 150ms
// the election alone waits 150–300ms: hashicorp/raft has no fast path for a single voter, a
// follower always waits one randomized heartbeat timeout before standing.
func BenchmarkColdStart(b *testing.B) {
	var toLeader, toClose time.Duration
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		start := time.Now()
		q, err := Open(Options{NodeID: 1, Dir: dir, ControllerAddr: "127.0.0.1:0", Listener: mustListen(b)})
		if err != nil {
			b.Fatal(err)
		}
		if err := q.WaitReady(context.Background()); err != nil {
			b.Fatal(err)
		}
		toLeader += time.Since(start)
		start = time.Now()
		if err := q.Close(); err != nil {
			b.Fatal(err)
		}
		toClose += time.Since(start)
	}
	b.ReportMetric(float64(toLeader.Microseconds())/1000/float64(b.N), "ms-to-leader")
	b.ReportMetric(float64(toClose.Microseconds())/1000/float64(b.N), "ms-to-close")
}

func mustListenT(b testing.TB) net.Listener { return mustListen(b) }

func mustListen(b testing.TB) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return ln
}

// cluster is an in-process metadata quorum of n voters on loopback ports.
type cluster struct {
	t     *testing.T
	specs []nodeSpec
	nodes []*Quorum // nil while a node is stopped
}

func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	return newClusterWith(t, n, nil)
}

// newClusterWith is newCluster with opts applied to every node's Options.
func newClusterWith(t *testing.T, n int, opts func(*Options)) *cluster {
	t.Helper()
	c := &cluster{t: t}
	var peers []string
	lns := make([]net.Listener, n)
	for i := range lns {
		lns[i] = listen(t)
		peers = append(peers, fmt.Sprintf("%d@%s", i+1, lns[i].Addr()))
	}
	for i := range lns {
		// Free the port for open to bind again; nothing else on loopback takes it meanwhile in
		// practice, and the alternative (handing the listener itself) would not survive the
		// restarts below.
		addr := lns[i].Addr().String()
		lns[i].Close()
		c.specs = append(c.specs, nodeSpec{id: int32(i + 1), dir: t.TempDir(), addr: addr, peers: peers, opts: opts})
	}
	for i := range c.specs {
		c.nodes = append(c.nodes, open(t, c.specs[i]))
	}
	t.Cleanup(func() {
		for _, q := range c.nodes {
			if q != nil {
				q.Close()
			}
		}
	})
	return c
}

// leader waits for a ready leader among the running nodes and returns its index.
func (c *cluster) leader() int {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for i, q := range c.nodes {
			if q != nil && q.ready() {
				return i
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatal("no leader elected")
	return -1
}

// converge waits until every running node has applied the leader's latest Image and checks
// that all Images are equal.
func (c *cluster) converge(leader int) {
	c.t.Helper()
	want := c.nodes[leader].Image()
	deadline := time.Now().Add(20 * time.Second)
	for _, q := range c.nodes {
		if q == nil {
			continue
		}
		for q.Image().Offset() < want.Offset() {
			if time.Now().After(deadline) {
				c.t.Fatalf("node %d stuck at offset %d, leader at %d", q.NodeID(), q.Image().Offset(), want.Offset())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if got := q.Image(); !reflect.DeepEqual(got.Records(), want.Records()) {
			c.t.Fatalf("node %d's Image differs from the leader's:\n got %v\nwant %v", q.NodeID(), got.Records(), want.Records())
		}
	}
}

func TestThreeVoters(t *testing.T) {
	c := newCluster(t, 3)
	ctx := context.Background()
	first := c.leader()
	leader := c.nodes[first]
	ctl := metadata.NewController(leader, metadata.ControllerOptions{NodeID: leader.NodeID()})
	for i := range c.nodes {
		if epoch, err := ctl.RegisterBroker(ctx, metadata.BrokerRegistration{ID: int32(i + 1),
			Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "localhost", Port: int32(9092 + i)}}}); err != nil {
			t.Fatal(err)
		} else if _, err := ctl.BrokerHeartbeat(ctx, metadata.Heartbeat{ID: int32(i + 1), Epoch: epoch, MetadataOffset: epoch}); err != nil {
			t.Fatal(err) // registrations start fenced; a caught-up heartbeat unfences
		}
	}
	res := ctl.CreateTopics(ctx, []metadata.CreateTopic{{Name: "replicated", NumPartitions: 6, ReplicationFactor: 3}}, false)
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	c.converge(first)
	clusterID := leader.Image().ClusterID()

	// A follower refuses to propose and names the controller.
	follower := c.nodes[(first+1)%3]
	if _, err := follower.Propose(ctx, nil); !errors.Is(err, metadata.ErrNotController) || !strings.Contains(err.Error(), fmt.Sprint(leader.NodeID())) {
		t.Fatalf("propose on follower: %v", err)
	}
	if id, ok := follower.Leader(); !ok || id != leader.NodeID() {
		t.Fatalf("follower sees leader %d %v, want %d", id, ok, leader.NodeID())
	}

	// Stop the leader; the other two elect a new one and keep going.
	closeQuorum(t, leader)
	c.nodes[first] = nil
	second := c.leader()
	if second == first {
		t.Fatal("stopped node still leads")
	}
	ctl = metadata.NewController(c.nodes[second], metadata.ControllerOptions{NodeID: c.nodes[second].NodeID()})
	if res := ctl.CreateTopics(ctx, []metadata.CreateTopic{{Name: "after-failover", NumPartitions: 1, ReplicationFactor: 2}}, false); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	c.converge(second)

	// The stopped node restarts from its directory and catches up.
	c.nodes[first] = open(t, c.specs[first])
	waitReady(t, c.nodes[first])
	c.converge(c.leader())
	if _, ok := c.nodes[first].Image().Topic("after-failover"); !ok || c.nodes[first].Image().ClusterID() != clusterID {
		t.Fatal("restarted node did not catch up")
	}
}
