package testkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/broker"
	"github.com/sluicehq/sluice/internal/vfs"
)

// Options configure StartCluster.
type Options struct {
	// Nodes is the number of nodes, ids 1..Nodes (0: 3).
	Nodes int
	// Voters is how many of them, ids 1..Voters, are the metadata quorum's voters (0: all); the
	// others must be broker-only (NodeOverrides' process.roles=broker) and follow the log as
	// observers. A node's roles come from process.roles (both by default); a controller-only
	// node has no Kafka listener and is left out of Bootstrap and the cluster views.
	Voters int
	// Overrides are broker configs under Kafka's names given to every node.
	Overrides map[string]string
	// NodeOverrides are configs for one node by id (broker.rack, ...), over Overrides.
	NodeOverrides map[int32]map[string]string
	// StartTimeout bounds each start of the cluster or of one node (0: 60 s).
	StartTimeout time.Duration
	// FS, if set, gives node id the file system for its partition logs (a vfs.MemFS to
	// simulate crashes, a fault injector); it is asked again at each Restart. Nil: the real one.
	FS func(id int32) vfs.FS
	// SchemaRegistry gives every broker node a schema registry listener on a loopback port
	// (Node's SchemaRegistryAddr); off by default.
	SchemaRegistry bool
	// LogLevel of the nodes' logs, kept in memory and printed (the tail of each node's) when the
	// test fails (0: Info).
	LogLevel slog.Level
}

// Cluster is a set of in-process brokers forming one cluster on loopback ports. Its methods
// may be called from the test goroutine only (they call t.Fatal).
type Cluster struct {
	t     testing.TB
	opts  Options
	nodes map[int32]*node
	ids   []int32
	root  string // under t.TempDir(): one directory per start attempt
}

// node is one broker of the cluster; b is nil while it is stopped.
type node struct {
	cfg  broker.Config
	b    *broker.Broker
	logs *logBuffer
}

// StartCluster starts opts.Nodes brokers at once (they elect a controller among themselves,
// register and are unfenced) and waits until every node lists every broker unfenced. The nodes
// are closed when the test ends. Controller addresses are picked free and then released before
// the brokers bind them; a start that loses one to another process is retried on new ports.
func StartCluster(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Nodes <= 0 {
		opts.Nodes = 3
	}
	if opts.Voters <= 0 || opts.Voters > opts.Nodes {
		opts.Voters = opts.Nodes
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	// The data directories' removal is registered first, so it runs after the nodes are closed.
	c := &Cluster{t: t, opts: opts, nodes: map[int32]*node{}, root: t.TempDir()}
	t.Cleanup(c.close)
	for attempt := 1; ; attempt++ {
		err := c.tryStart()
		if err == nil {
			break
		}
		c.stopAll()
		if !strings.Contains(err.Error(), "address already in use") || attempt == 3 {
			t.Fatalf("start a %d-node cluster: %v", opts.Nodes, err)
		}
	}
	brokers := 0
	for _, id := range c.ids {
		if c.nodes[id].isBroker() {
			brokers++
		}
	}
	c.WaitBrokers(brokers)
	return c
}

// tryStart configures every node on fresh addresses and data directories and starts them
// concurrently (each waits for the quorum, which needs the others).
func (c *Cluster) tryStart() error {
	c.ids = c.ids[:0]
	controllers := make([]string, c.opts.Nodes)
	var peers []string
	for i := range controllers {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		controllers[i] = addr
		if i < c.opts.Voters {
			peers = append(peers, fmt.Sprintf("%d@%s", i+1, addr))
		}
	}
	root, err := os.MkdirTemp(c.root, "attempt-")
	if err != nil {
		return err
	}
	for i := range c.opts.Nodes {
		id := int32(i + 1)
		overrides := maps.Clone(c.opts.Overrides)
		if overrides == nil {
			overrides = map[string]string{}
		}
		maps.Copy(overrides, c.opts.NodeOverrides[id])
		n := &node{logs: &logBuffer{}}
		n.cfg = broker.Config{
			NodeID:         id,
			DataDir:        filepath.Join(root, fmt.Sprintf("node-%d", id)),
			KafkaAddr:      "127.0.0.1:0",
			HTTPAddr:       "127.0.0.1:0",
			ControllerAddr: controllers[i],
			Peers:          peers,
			Overrides:      overrides,
			SchemaRegistryAddr: func() string {
				if c.opts.SchemaRegistry {
					return "127.0.0.1:0"
				}
				return ""
			}(),
			Logger: slog.New(slog.NewTextHandler(n.logs, &slog.HandlerOptions{Level: c.opts.LogLevel})).
				With("node", id),
		}
		c.nodes[id] = n
		c.ids = append(c.ids, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StartTimeout)
	defer cancel()
	errs := make([]error, len(c.ids))
	var wg sync.WaitGroup
	for i, id := range c.ids {
		wg.Go(func() { errs[i] = c.startNode(ctx, id) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startNode starts node id; after its first start its Kafka and HTTP listeners keep their
// ports, so clients that knew them reconnect.
func (c *Cluster) startNode(ctx context.Context, id int32) error {
	n := c.nodes[id]
	if c.opts.FS != nil {
		n.cfg.FS = c.opts.FS(id)
	}
	b, err := broker.Start(ctx, n.cfg)
	if err != nil {
		return fmt.Errorf("node %d: %w", id, err)
	}
	n.b = b
	if n.isBroker() {
		n.cfg.KafkaAddr = b.KafkaAddr()
	}
	n.cfg.HTTPAddr = b.HTTPAddr()
	if a := b.SchemaRegistryAddr(); a != "" {
		n.cfg.SchemaRegistryAddr = a // the same port after a restart
	}
	return nil
}

// isBroker reports whether the node has the broker role (process.roles lists it, or is unset).
func (n *node) isBroker() bool {
	roles, ok := n.cfg.Overrides["process.roles"]
	return !ok || slices.Contains(strings.Split(strings.ReplaceAll(roles, " ", ""), ","), "broker")
}

// IDs returns the node ids, ascending.
func (c *Cluster) IDs() []int32 { return slices.Clone(c.ids) }

// Node returns the running broker with node id, failing the test if it is stopped or unknown.
func (c *Cluster) Node(id int32) *broker.Broker {
	c.t.Helper()
	n, ok := c.nodes[id]
	if !ok || n.b == nil {
		c.t.Fatalf("node %d is not running", id)
	}
	return n.b
}

// Running reports whether node id is running.
func (c *Cluster) Running(id int32) bool {
	n, ok := c.nodes[id]
	return ok && n.b != nil
}

// Stop closes node id (a clean shutdown).
func (c *Cluster) Stop(id int32) {
	c.t.Helper()
	b := c.Node(id)
	c.nodes[id].b = nil
	if err := b.Close(); err != nil {
		c.t.Errorf("close node %d: %v", id, err)
	}
}

// Restart starts node id again on its data directory and addresses (stopping it first if it
// runs); it returns once the broker has started, which includes registering again.
func (c *Cluster) Restart(id int32) {
	c.t.Helper()
	if c.Running(id) {
		c.Stop(id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StartTimeout)
	defer cancel()
	if err := c.startNode(ctx, id); err != nil {
		c.t.Fatalf("restart: %v", err)
	}
}

// Bootstrap returns the Kafka addresses of the running nodes.
func (c *Cluster) Bootstrap() []string {
	var out []string
	for _, id := range c.ids {
		if n := c.nodes[id]; n.b != nil && n.isBroker() {
			out = append(out, n.cfg.KafkaAddr)
		}
	}
	return out
}

// KafkaAddr returns node id's Kafka address (kept across restarts).
func (c *Cluster) KafkaAddr(id int32) string { return c.nodes[id].cfg.KafkaAddr }

// Client returns a franz-go client bootstrapped from every running node, closed when the test
// ends.
func (c *Cluster) Client(opts ...kgo.Opt) *kgo.Client {
	c.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Bootstrap()...)}, opts...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(cl.Close)
	return cl
}

// View is the cluster as one node describes it (DescribeCluster with fenced brokers).
type View struct {
	Controller int32
	Active     []int32 // unfenced brokers, ascending
	Fenced     []int32 // fenced brokers, ascending
}

// Describe asks node id alone for DescribeCluster (v2, fenced brokers included).
func (c *Cluster) Describe(ctx context.Context, id int32) (View, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.nodes[id].cfg.KafkaAddr), kgo.RetryTimeout(time.Second))
	if err != nil {
		return View{}, err
	}
	defer cl.Close()
	return DescribeNode(ctx, cl)
}

// DescribeNode asks the first seed broker of cl, and no other, for DescribeCluster (so the
// answer is that node's view even once the client knows the other brokers).
func DescribeNode(ctx context.Context, cl *kgo.Client) (View, error) {
	seeds := cl.SeedBrokers()
	if len(seeds) == 0 {
		return View{}, errors.New("client has no seed broker")
	}
	return describeWith(ctx, func(ctx context.Context, req kmsg.Request) (kmsg.Response, error) { return seeds[0].Request(ctx, req) })
}

// describeWith sends DescribeCluster v2 with fenced brokers included through send.
func describeWith(ctx context.Context, send func(context.Context, kmsg.Request) (kmsg.Response, error)) (View, error) {
	req := kmsg.NewPtrDescribeClusterRequest()
	req.EndpointType = 1
	req.IncludeFencedBrokers = true
	r, err := send(ctx, req)
	if err != nil {
		return View{}, err
	}
	resp := r.(*kmsg.DescribeClusterResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return View{}, err
	}
	v := View{Controller: resp.ControllerID}
	for _, b := range resp.Brokers {
		if b.IsFenced {
			v.Fenced = append(v.Fenced, b.NodeID)
		} else {
			v.Active = append(v.Active, b.NodeID)
		}
	}
	slices.Sort(v.Active)
	slices.Sort(v.Fenced)
	return v, nil
}

// WaitFor polls every running node's View until cond holds on all of them with one controller
// they agree on, failing the test after StartTimeout. It returns the last views by node id.
func (c *Cluster) WaitFor(what string, cond func(View) bool) map[int32]View {
	c.t.Helper()
	deadline := time.Now().Add(c.opts.StartTimeout)
	var last map[int32]View
	var lastErr error
	for {
		last, lastErr = map[int32]View{}, nil
		ok := true
		for _, id := range c.ids {
			if !c.Running(id) || !c.nodes[id].isBroker() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			v, err := c.Describe(ctx, id)
			cancel()
			if err != nil {
				lastErr, ok = fmt.Errorf("node %d: %w", id, err), false
				continue
			}
			last[id] = v
			ok = ok && v.Controller >= 0 && cond(v)
		}
		controllers := map[int32]bool{}
		for _, v := range last {
			controllers[v.Controller] = true
		}
		if ok && len(controllers) == 1 {
			return last
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("waiting for %s: views by node %v, last error %v\n%s", what, last, lastErr, c.logTails(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitBrokers waits until every running node lists exactly n unfenced brokers and agrees on
// the controller.
func (c *Cluster) WaitBrokers(n int) {
	c.t.Helper()
	c.WaitFor(fmt.Sprintf("%d active brokers", n), func(v View) bool { return len(v.Active) == n })
}

// Controller returns the node id of the active controller all running nodes agree on.
func (c *Cluster) Controller() int32 {
	c.t.Helper()
	views := c.WaitFor("a controller", func(View) bool { return true })
	for _, v := range views {
		return v.Controller
	}
	c.t.Fatal("no node is running")
	return -1
}

// logTails is the end of each node's log, for failure reports.
func (c *Cluster) logTails(lines int) string {
	var sb strings.Builder
	for _, id := range c.ids {
		fmt.Fprintf(&sb, "--- node %d log (last %d lines):\n%s\n", id, lines, c.nodes[id].logs.tail(lines))
	}
	return sb.String()
}

func (c *Cluster) stopAll() {
	for _, id := range c.ids {
		if n := c.nodes[id]; n.b != nil {
			n.b.Close()
			n.b = nil
		}
	}
}

// close stops every node: broker-only nodes first, then combined ones with the controller
// last, then controller-only ones; on failure it prints the tail of each node's log. One at a
// time: a broker's Close runs a controlled shutdown through the controller while other brokers
// are active, and nodes closing together would take the controller (or the quorum's majority)
// away from one another's and each wait out its timeout.
func (c *Cluster) close() {
	if c.t.Failed() {
		c.t.Logf("cluster logs:\n%s", c.logTails(60))
	}
	controller := int32(-1)
	for _, id := range c.ids {
		if !c.Running(id) || !c.nodes[id].isBroker() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		v, err := c.Describe(ctx, id)
		cancel()
		if err == nil {
			controller = v.Controller
			break
		}
	}
	rank := func(id int32) int {
		n := c.nodes[id]
		_, roles := n.cfg.Overrides["process.roles"]
		switch {
		case !n.isBroker():
			return 3
		case id == controller:
			return 2
		case roles && !strings.Contains(n.cfg.Overrides["process.roles"], "controller"):
			return 0
		}
		return 1
	}
	order := slices.Clone(c.ids)
	slices.SortStableFunc(order, func(a, b int32) int { return rank(a) - rank(b) })
	for _, id := range order {
		if n := c.nodes[id]; n.b != nil {
			n.b.Close()
			n.b = nil
		}
	}
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// logBuffer keeps the end of a node's log in memory: past maxLogBytes the older half goes.
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const maxLogBytes = 4 << 20

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf)+len(p) > maxLogBytes {
		l.buf = append(l.buf[:0], l.buf[len(l.buf)/2:]...)
	}
	l.buf = append(l.buf, p...)
	return len(p), nil
}

func (l *logBuffer) tail(lines int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	parts := strings.Split(strings.TrimRight(string(l.buf), "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}
