package tests

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testkit"
)

// procCluster is a cluster of real `sluice serve` processes, node i (id i) on 127.0.0.i with
// its own data directory, each a quorum voter and a broker. Each node's output goes to a file
// in logDir; the files are removed when the test passes and kept (their tails printed, their
// path logged) when it fails. Every process is killed when the test ends.
type procCluster struct {
	t      testing.TB
	nodes  []*procNode // nodes[i] has id i+1
	logDir string
	// proxied: every node advertises proxies in front of its listeners (startProxiedCluster).
	proxied bool
}

// procNode is one `sluice serve` process of a procCluster and the addresses it owns.
type procNode struct {
	c              *procCluster
	id             int32
	dataDir        string
	kafkaAddr      string
	httpAddr       string
	registryAddr   string // the schema registry listener
	controllerAddr string // what the other voters dial (the controller proxy when proxied)
	// controllerBind is where the controller listener binds when it differs from
	// controllerAddr (behind a proxy); "" otherwise.
	controllerBind string
	// kafkaProxy and ctlProxy stand in front of the Kafka listener (advertised: clients and
	// the other brokers' replica fetchers reach the node through it) and the controller
	// listener (raw: Raft, broker registration and heartbeats) of a proxied cluster.
	kafkaProxy, ctlProxy *faultNet
	peers                string
	extraArgs            []string
	// args, when set, are the whole `sluice` command line (the README's commands), used as is.
	args    []string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	paused  bool
	// isolated: cut off by isolate; waitFor does not ask it.
	isolated bool
}

// startProcCluster starts n nodes at once and waits until each answers /readyz and lists all
// n brokers unfenced. extraArgs are added to every `sluice serve`. A start that loses a port
// picked free to another process is retried on new ports.
func startProcCluster(t testing.TB, n int, extraArgs ...string) *procCluster {
	t.Helper()
	return startProcClusterOpts(t, n, false, extraArgs...)
}

// startProxiedCluster is startProcCluster with every link through a faultNet: node i
// advertises a Kafka-aware proxy in front of its Kafka listener (so clients, which learn the
// address from Metadata, and the other brokers' replica fetchers reach it through the proxy)
// and is known to the other voters by a raw proxy in front of its controller listener (Raft,
// membership, broker registration and heartbeats). The proxies classify each connection's
// source as "node-N" (by the client ids sluice-node-N and sluice-replica-N, or the sender's
// controller address in a Raft or membership header), so a rule .from("node-3") touches only
// what node 3 sends and receives through that proxy; isolate cuts a node off with them.
// c.bootstrap() is the proxies' addresses.
func startProxiedCluster(t testing.TB, n int, extraArgs ...string) *procCluster {
	t.Helper()
	return startProcClusterOpts(t, n, true, extraArgs...)
}

func startProcClusterOpts(t testing.TB, n int, proxied bool, extraArgs ...string) *procCluster {
	t.Helper()
	return startProcClusterEach(t, n, proxied, nil, extraArgs...)
}

// testElectionTimeoutMs is the metadata quorum's election timeout in the test clusters unless a
// test sets its own. The default with other voters, 150 ms, is shorter than the heartbeat
// delays CI's 2 shared cores cause while several three-node clusters, their fsyncs and other
// packages' tests run at once: followers then depose healthy leaders again and again (seen as
// terms in the eighties within a minute and partitions left leaderless for 30 s), which is
// the machine's scheduling, not what the tests check. 500 ms stays well under every wait.
const testElectionTimeoutMs = 500

func withElectionTimeout(args []string) []string {
	for _, a := range args {
		if strings.Contains(a, "controller.quorum.election.timeout.ms") {
			return args
		}
	}
	return append(slices.Clone(args), "--override", fmt.Sprintf("controller.quorum.election.timeout.ms=%d", testElectionTimeoutMs))
}

// startProcClusterEach is startProcClusterOpts with perNode(id)'s arguments (nil: none) added to
// node id's command line after extraArgs, for settings that differ between nodes (broker.rack).
func startProcClusterEach(t testing.TB, n int, proxied bool, perNode func(id int32) []string, extraArgs ...string) *procCluster {
	t.Helper()
	extraArgs = withElectionTimeout(extraArgs)
	root := t.TempDir() // before newProcCluster: removed after its processes are killed
	c := newProcCluster(t)
	c.proxied = proxied
	var kafkaProxies, ctlProxies []*faultNet
	if proxied {
		for i := range n {
			host := fmt.Sprintf("127.0.0.%d", i+1)
			kafkaProxies = append(kafkaProxies, startFaultNetOn(t, host, "", false))
			ctlProxies = append(ctlProxies, startFaultNetOn(t, host, "", true))
		}
		classify := nodeClassifier(ctlProxies)
		for i := range n {
			kafkaProxies[i].classify, ctlProxies[i].classify = classify, classify
		}
	}
	for attempt := 1; ; attempt++ {
		c.nodes = nil
		var peers []string
		for i := range n {
			host := fmt.Sprintf("127.0.0.%d", i+1)
			nd := &procNode{c: c, id: int32(i + 1), dataDir: filepath.Join(root, fmt.Sprintf("attempt-%d-node-%d", attempt, i+1)),
				kafkaAddr: freeHostAddr(t, host), httpAddr: freeHostAddr(t, host), controllerAddr: freeHostAddr(t, host),
				registryAddr: freeHostAddr(t, host), extraArgs: extraArgs, logPath: filepath.Join(c.logDir, fmt.Sprintf("node-%d.log", i+1))}
			if perNode != nil {
				nd.extraArgs = append(slices.Clone(extraArgs), perNode(nd.id)...)
			}
			if proxied {
				nd.kafkaProxy, nd.ctlProxy = kafkaProxies[i], ctlProxies[i]
				nd.controllerBind = nd.controllerAddr
				nd.controllerAddr = nd.ctlProxy.Addr()
				nd.kafkaProxy.SetTarget(nd.kafkaAddr)
				nd.ctlProxy.SetTarget(nd.controllerBind)
			}
			peers = append(peers, fmt.Sprintf("%d@%s", nd.id, nd.controllerAddr))
			c.nodes = append(c.nodes, nd)
		}
		for _, nd := range c.nodes {
			nd.peers = strings.Join(peers, ",")
			if err := nd.launch(); err != nil {
				t.Fatal(err)
			}
		}
		err := c.waitAllReady(60 * time.Second)
		if err == nil {
			break
		}
		inUse := false
		for _, nd := range c.nodes {
			inUse = inUse || strings.Contains(nd.logTail(200), "address already in use")
			nd.kill()
		}
		if !inUse || attempt == 3 {
			t.Fatalf("start a %d-node cluster: %v\n%s", n, err, c.logTails(40))
		}
	}
	c.waitFor(fmt.Sprintf("%d active brokers", n), 30*time.Second, func(v testkit.View) bool { return len(v.Active) == n })
	return c
}

// newProcCluster makes an empty cluster whose log directory is kept only if the test fails and
// whose processes are killed when it ends.
func newProcCluster(t testing.TB) *procCluster {
	t.Helper()
	logDir, err := os.MkdirTemp("", "sluice-cluster-"+strings.ReplaceAll(t.Name(), "/", "_")+"-")
	if err != nil {
		t.Fatal(err)
	}
	c := &procCluster{t: t, logDir: logDir}
	t.Cleanup(c.cleanup)
	return c
}

// freeHostAddr returns host:port with a port that was free on host a moment ago.
func freeHostAddr(t testing.TB, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("listen on %s (Linux routes all of 127/8 to lo): %v", host, err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// node returns the node with id.
func (c *procCluster) node(id int32) *procNode { return c.nodes[id-1] }

// bootstrap is every node's Kafka address (its proxy's when proxied), comma-separated.
func (c *procCluster) bootstrap() string {
	var addrs []string
	for _, nd := range c.nodes {
		addrs = append(addrs, nd.advertised())
	}
	return strings.Join(addrs, ",")
}

// advertised is the address the node advertises: its Kafka proxy's, or its listener's.
func (nd *procNode) advertised() string {
	if nd.kafkaProxy != nil {
		return nd.kafkaProxy.Addr()
	}
	return nd.kafkaAddr
}

// nodeClassifier names a proxied connection's source "node-N" from what it sent first: the
// client id sluice-node-N (the broker's controller client) or sluice-replica-N (its replica
// fetchers), or in a raw stream the earliest of those ids and the nodes' controller addresses
// (a Raft RPC header and a membership hello carry the sender's address before anything else).
func nodeClassifier(ctlProxies []*faultNet) func([]byte) string {
	type marker struct {
		b   []byte
		src string
	}
	var markers []marker
	for i, p := range ctlProxies {
		src := fmt.Sprintf("node-%d", i+1)
		markers = append(markers, marker{[]byte(p.Addr()), src},
			marker{[]byte(fmt.Sprintf("sluice-node-%d", i+1)), src}, marker{[]byte(fmt.Sprintf("sluice-replica-%d", i+1)), src})
	}
	return func(head []byte) string {
		best, src := -1, ""
		for _, m := range markers {
			for off := 0; off < len(head); {
				j := bytes.Index(head[off:], m.b)
				if j < 0 {
					break
				}
				j += off
				end := j + len(m.b)
				// sluice-node-1 is not sluice-node-12; 127.0.0.1:80 is not 127.0.0.1:801.
				if end < len(head) && head[end] >= '0' && head[end] <= '9' {
					off = j + 1
					continue
				}
				if best < 0 || j < best {
					best, src = j, m.src
				}
				break
			}
		}
		return src
	}
}

// proxies is every proxy of a proxied cluster (Kafka and controller, by node).
func (c *procCluster) proxies() []*faultNet {
	var ps []*faultNet
	for _, nd := range c.nodes {
		if nd.kafkaProxy != nil {
			ps = append(ps, nd.kafkaProxy, nd.ctlProxy)
		}
	}
	return ps
}

// isolate cuts node id off from everything through the proxies of a proxied cluster: nothing
// reaches its listeners (clients, replica fetchers, Raft, heartbeats, both ways)
// and nothing it sends reaches the others (its Raft RPCs, heartbeats and replica fetches
// through their proxies). Connections stay open, as across a partition; heal undoes it.
func (c *procCluster) isolate(id int32) (heal func()) {
	c.t.Helper()
	if !c.proxied {
		c.t.Fatal("isolate needs a proxied cluster (startProxiedCluster)")
	}
	type installed struct {
		p  *faultNet
		id int
	}
	var rules []installed
	src := fmt.Sprintf("node-%d", id)
	c.node(id).isolated = true
	for _, nd := range c.nodes {
		for _, p := range []*faultNet{nd.kafkaProxy, nd.ctlProxy} {
			// Kafka frames are dropped whole; a raw stream (Raft) is held instead, as TCP
			// would across a partition: dropping bytes from its middle would corrupt it.
			r := blackHoleRule(anyDir, anyAPI)
			if p.raw {
				r = holdRule(anyDir, anyAPI)
			}
			if nd.id != id {
				r = r.from(src)
			}
			rules = append(rules, installed{p, p.Add(r)})
		}
	}
	return func() {
		c.node(id).isolated = false
		for _, r := range rules {
			r.p.Remove(r.id)
		}
	}
}

// launch starts the process without waiting for it to be ready; its output is appended to the
// node's log file.
func (nd *procNode) launch() error {
	args := nd.args
	if args == nil {
		args = nd.serveArgs()
	}
	logFile, err := os.OpenFile(nd.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logFile, "=== %s sluice %s\n", time.Now().UTC().Format(time.RFC3339Nano), strings.Join(args, " "))
	nd.cmd = exec.Command(sluiceBin, args...)
	nd.cmd.Stdout, nd.cmd.Stderr = logFile, logFile
	if err := nd.cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start node %d: %w", nd.id, err)
	}
	nd.paused = false
	nd.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		cmd.Wait()
		logFile.Close()
		close(exited)
	}(nd.cmd, nd.exited)
	return nil
}

// serveArgs is the node's `sluice serve` command line from its addresses.
func (nd *procNode) serveArgs() []string {
	args := append([]string{"serve",
		"--node-id", fmt.Sprint(nd.id),
		"--data-dir", nd.dataDir,
		"--kafka-addr", nd.kafkaAddr,
		"--http-addr", nd.httpAddr,
		"--controller-addr", nd.controllerAddr,
		"--schema-registry-addr", nd.registryAddr,
		"--peers", nd.peers,
		"--log-level", "debug",
	}, nd.extraArgs...)
	if nd.kafkaProxy != nil {
		args = append(args, "--advertised-addr", nd.kafkaProxy.Addr(), "--controller-listen-addr", nd.controllerBind)
	}
	// {KAFKA_ADDR} in an argument is the node's Kafka address, for a listeners override that
	// keeps it as one of several listeners (and replaces --kafka-addr, which must then go).
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		if args[i] == "--kafka-addr" && slices.ContainsFunc(nd.extraArgs, func(a string) bool { return strings.Contains(a, "{KAFKA_ADDR}") }) {
			i++
			continue
		}
		out = append(out, strings.ReplaceAll(args[i], "{KAFKA_ADDR}", nd.kafkaAddr))
	}
	return out
}

// running reports whether the process has been started and has not exited.
func (nd *procNode) running() bool {
	if nd.cmd == nil {
		return false
	}
	select {
	case <-nd.exited:
		return false
	default:
		return true
	}
}

// ready reports whether /readyz answers 200, and the body otherwise.
func (nd *procNode) ready() (bool, string) {
	cl := http.Client{Timeout: time.Second}
	resp, err := cl.Get("http://" + nd.httpAddr + "/readyz")
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusBadRequest && strings.Contains(string(body), "HTTPS server") {
		// sluice.http.ssl.enabled: the probe only asks whether the node is ready, so it does
		// not verify the test CA's certificate.
		tlsCl := http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		defer tlsCl.CloseIdleConnections()
		resp, err := tlsCl.Get("https://" + nd.httpAddr + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		body, _ = io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK, string(body)
	}
	return resp.StatusCode == http.StatusOK, string(body)
}

// waitReady waits until the node answers /readyz with 200.
func (nd *procNode) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if !nd.running() {
			return fmt.Errorf("node %d exited: %v", nd.id, nd.cmd.ProcessState)
		}
		ok, body := nd.ready()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %d not ready after %v: %s", nd.id, timeout, strings.TrimSpace(body))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *procCluster) waitAllReady(timeout time.Duration) error {
	for _, nd := range c.nodes {
		if err := nd.waitReady(timeout); err != nil {
			return err
		}
	}
	return nil
}

// restart starts a stopped or killed node again on its data directory and addresses and waits
// until it is ready.
func (nd *procNode) restart() {
	nd.c.t.Helper()
	if nd.running() {
		nd.c.t.Fatalf("restart node %d: still running", nd.id)
	}
	if err := nd.launch(); err != nil {
		nd.c.t.Fatal(err)
	}
	if err := nd.waitReady(60 * time.Second); err != nil {
		nd.c.t.Fatalf("%v\n%s", err, nd.c.logTails(40))
	}
}

func (nd *procNode) signal(sig syscall.Signal) {
	nd.c.t.Helper()
	if err := nd.cmd.Process.Signal(sig); err != nil {
		nd.c.t.Fatalf("signal %v to node %d: %v", sig, nd.id, err)
	}
}

// kill sends SIGKILL and waits for the process to go; nothing if it is not running.
func (nd *procNode) kill() {
	if !nd.running() {
		return
	}
	nd.cmd.Process.Signal(syscall.SIGKILL)
	<-nd.exited
}

// terminate sends SIGTERM and waits (up to timeout) for a clean exit.
func (nd *procNode) terminate(timeout time.Duration) {
	nd.c.t.Helper()
	nd.signal(syscall.SIGTERM)
	select {
	case <-nd.exited:
	case <-time.After(timeout):
		nd.c.t.Fatalf("node %d did not exit within %v of SIGTERM\n%s", nd.id, timeout, nd.logTail(40))
	}
	if code := nd.cmd.ProcessState.ExitCode(); code != 0 {
		nd.c.t.Fatalf("node %d exited with %d after SIGTERM\n%s", nd.id, code, nd.logTail(40))
	}
}

// pause stops the process with SIGSTOP (it keeps its sockets but answers nothing) and returns
// once every thread of it has stopped; resume continues it with SIGCONT.
func (nd *procNode) pause() {
	nd.c.t.Helper()
	if err := stopProcess(nd.cmd.Process); err != nil {
		nd.c.t.Fatalf("pause node %d: %v", nd.id, err)
	}
	nd.paused = true
}

func (nd *procNode) resume() {
	nd.c.t.Helper()
	nd.signal(syscall.SIGCONT)
	nd.paused = false
}

// client returns a franz-go client whose only seed is this node, closed when the test ends.
func (nd *procNode) client(opts ...kgo.Opt) *kgo.Client {
	nd.c.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(nd.kafkaAddr)}, opts...)...)
	if err != nil {
		nd.c.t.Fatal(err)
	}
	nd.c.t.Cleanup(cl.Close)
	return cl
}

// asNode lets the single-node helpers (runSluice, ...) talk to this node.
func (nd *procNode) asNode() *node {
	t, _ := nd.c.t.(*testing.T)
	return &node{t: t, dataDir: nd.dataDir, kafkaAddr: nd.kafkaAddr, httpAddr: nd.httpAddr, controllerAddr: nd.controllerAddr,
		registryAddr: nd.registryAddr}
}

// describe asks this node alone for its view of the cluster (DescribeCluster v2).
func (nd *procNode) describe() (testkit.View, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(nd.kafkaAddr), kgo.RetryTimeout(time.Second))
	if err != nil {
		return testkit.View{}, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return testkit.DescribeNode(ctx, cl)
}

// waitFor polls every running, unpaused, not isolated node until cond holds on each view and they agree on
// one controller; it fails the test after timeout and returns the views by node id otherwise.
func (c *procCluster) waitFor(what string, timeout time.Duration, cond func(testkit.View) bool) map[int32]testkit.View {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		views, errs := map[int32]testkit.View{}, map[int32]error{}
		ok := true
		controllers := map[int32]bool{}
		for _, nd := range c.nodes {
			if !nd.running() || nd.paused || nd.isolated {
				continue
			}
			v, err := nd.describe()
			if err != nil {
				errs[nd.id], ok = err, false
				continue
			}
			views[nd.id] = v
			controllers[v.Controller] = true
			ok = ok && v.Controller >= 0 && cond(v)
		}
		if ok && len(controllers) == 1 {
			return views
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("waiting %v for %s: views %v, errors %v\n%s", timeout, what, views, errs, c.logTails(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// controller returns the active controller's id as all running nodes report it.
func (c *procCluster) controller() int32 {
	c.t.Helper()
	for _, v := range c.waitFor("an agreed controller", 30*time.Second, func(testkit.View) bool { return true }) {
		return v.Controller
	}
	c.t.Fatal("no node running")
	return -1
}

// other returns a node id other than the given ones.
func (c *procCluster) other(not ...int32) int32 {
	for _, nd := range c.nodes {
		if !slices.Contains(not, nd.id) {
			return nd.id
		}
	}
	c.t.Fatalf("no node other than %v", not)
	return -1
}

func (nd *procNode) logTail(lines int) string {
	b, err := os.ReadFile(nd.logPath)
	if err != nil {
		return err.Error()
	}
	return tail(strings.TrimRight(string(b), "\n"), lines)
}

func (c *procCluster) logTails(lines int) string {
	var sb strings.Builder
	for _, nd := range c.nodes {
		fmt.Fprintf(&sb, "--- node %d (%s), last %d lines:\n%s\n", nd.id, nd.logPath, lines, nd.logTail(lines))
	}
	return sb.String()
}

// cleanup continues paused processes, kills every process, and keeps the logs only if the test
// failed.
func (c *procCluster) cleanup() {
	for _, nd := range c.nodes {
		if nd.running() && nd.paused {
			nd.cmd.Process.Signal(syscall.SIGCONT)
		}
		nd.kill()
	}
	if c.t.Failed() {
		c.t.Logf("cluster logs kept in %s", c.logDir)
		return
	}
	os.RemoveAll(c.logDir)
}
