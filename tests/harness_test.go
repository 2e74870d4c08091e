package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// sluiceBin is the broker binary built once by TestMain.
var sluiceBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sluiceBin = filepath.Join(dir, "sluice")
	build := exec.Command("go", "build", "-o", sluiceBin, "../cmd/sluice")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build sluice:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects a process's output for failure reports.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// node is one `sluice serve` process and the addresses it owns.
type node struct {
	t              *testing.T
	dataDir        string
	kafkaAddr      string
	httpAddr       string
	registryAddr   string // the schema registry listener
	controllerAddr string
	extraArgs      []string
	cmd            *exec.Cmd
	exited         chan struct{}
	logs           *syncBuffer
	// startup is how long the last start took until /readyz answered 200.
	startup time.Duration
	// httpsClient, when set, is how the harness reaches an HTTP listener serving TLS
	// (sluice.http.ssl.enabled): a client trusting the test's CA.
	httpsClient *http.Client
	// listenersConfig: the Kafka listeners come from the broker config listeners (in
	// extraArgs' --config file), not --kafka-addr; kafkaAddr is the first of them.
	listenersConfig bool
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNode runs a broker on fresh ports and a fresh data directory; extra args are added to
// `sluice serve`. The process is killed when the test ends. Ports are picked free and then
// released, so another process may take one before sluice binds it: a start that fails to bind
// is retried on new ports.
func startNode(t *testing.T, extraArgs ...string) *node {
	t.Helper()
	n := &node{t: t, dataDir: filepath.Join(t.TempDir(), "data"), extraArgs: extraArgs}
	t.Cleanup(func() {
		n.kill()
		if t.Failed() && n.logs != nil {
			t.Logf("sluice output:\n%s", tail(n.logs.String(), 60))
		}
	})
	for attempt := 1; ; attempt++ {
		n.kafkaAddr, n.httpAddr, n.controllerAddr, n.registryAddr = freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
		err := n.tryStart()
		if err == nil {
			return n
		}
		if !strings.Contains(n.logs.String(), "address already in use") || attempt == 5 {
			t.Fatal(err)
		}
		os.RemoveAll(n.dataDir)
	}
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// start launches the process again on the node's ports and data directory and waits until
// /readyz answers 200.
func (n *node) start() {
	n.t.Helper()
	if err := n.tryStart(); err != nil {
		n.t.Fatal(err)
	}
}

// tryStart launches the process and waits until /readyz answers 200.
func (n *node) tryStart() error {
	args := []string{"serve",
		"--data-dir", n.dataDir,
		"--http-addr", n.httpAddr,
		"--controller-addr", n.controllerAddr,
		"--schema-registry-addr", n.registryAddr,
		"--log-level", "debug",
	}
	if !n.listenersConfig { // else the config file's listeners name the Kafka listeners
		args = append(args, "--kafka-addr", n.kafkaAddr)
	}
	args = append(args, n.extraArgs...)
	n.cmd = exec.Command(sluiceBin, args...)
	n.logs = &syncBuffer{}
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	began := time.Now()
	if err := n.cmd.Start(); err != nil {
		return err
	}
	n.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		cmd.Wait()
		close(exited)
	}(n.cmd, n.exited)
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-n.exited:
			return fmt.Errorf("sluice exited during start: %v\n%s", n.cmd.ProcessState, tail(n.logs.String(), 60))
		default:
		}
		resp, err := n.httpGet("/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				n.startup = time.Since(began)
				return nil
			}
		}
		if time.Now().After(deadline) {
			n.kill()
			return fmt.Errorf("sluice not ready after 15s\n%s", tail(n.logs.String(), 60))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to go.
func (n *node) kill() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
}

// stopProcess sends p SIGSTOP and returns once every thread of it is stopped (at most 10 s).
// kill(2) only queues the signal: a thread running on another CPU, or on a vCPU the host has
// not scheduled, stops when it is next interrupted, and until then it may still send requests.
// Tests that assert what a paused process can no longer have done wait for this.
func stopProcess(p *os.Process) error {
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		return err
	}
	dir := fmt.Sprintf("/proc/%d/task", p.Pid)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		tasks, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("after SIGSTOP: %w", err)
		}
		running := 0
		for _, task := range tasks {
			stat, err := os.ReadFile(filepath.Join(dir, task.Name(), "stat"))
			if err != nil {
				continue // the thread exited
			}
			// pid (comm) state ...: comm may hold spaces and parentheses, the state follows the
			// last ")".
			i := bytes.LastIndexByte(stat, ')')
			if i < 0 || i+2 >= len(stat) {
				return fmt.Errorf("after SIGSTOP: cannot parse %s/%s/stat", dir, task.Name())
			}
			switch stat[i+2] {
			case 'T', 't', 'Z', 'X':
			default:
				running++
			}
		}
		if running == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d threads of process %d still running 10 s after SIGSTOP", running, p.Pid)
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (n *node) stop() {
	n.t.Helper()
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(20 * time.Second):
		n.t.Fatalf("sluice did not exit within 20s of SIGTERM\n%s", tail(n.logs.String(), 60))
	}
	if code := n.cmd.ProcessState.ExitCode(); code != 0 {
		n.t.Fatalf("sluice exited with %d after SIGTERM\n%s", code, tail(n.logs.String(), 60))
	}
}

// client returns a franz-go client for this node, closed when the test ends.
func (n *node) client(opts ...kgo.Opt) *kgo.Client {
	n.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(n.kafkaAddr)}, opts...)...)
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(cl.Close)
	return cl
}

func (n *node) admin() *kadm.Client { return kadm.NewClient(n.client()) }

// createTopic creates a topic through the admin API and fails the test on any error.
func (n *node) createTopic(name string, partitions int32, configs map[string]*string) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := n.admin().CreateTopic(ctx, partitions, 1, configs, name)
	if err != nil {
		n.t.Fatalf("create topic %s: %v", name, err)
	}
	if resp.Err != nil {
		n.t.Fatalf("create topic %s: %v (%s)", name, resp.Err, resp.ErrMessage)
	}
}

// runClient runs an external client program and returns its stdout; the test fails on a
// non-zero exit, with stderr in the report.
func runClient(t *testing.T, timeout time.Duration, stdin string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, tail(stdout.String(), 40), tail(stderr.String(), 40))
	}
	return stdout.String()
}

// requireTool fails (under CI) or skips (on a developer machine) when an external client is
// missing; `make test` installs them.
func requireTool(t *testing.T, check func() error, what string) {
	t.Helper()
	if err := check(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required: %v (scripts/install-test-deps.sh installs it)", what, err)
		}
		t.Skipf("%s not installed: %v (run scripts/install-test-deps.sh)", what, err)
	}
}

func requireKcat(t *testing.T) {
	requireTool(t, func() error { _, err := exec.LookPath("kcat"); return err }, "kcat")
}

func requirePython(t *testing.T, module string) {
	requireTool(t, func() error {
		return exec.Command("/usr/bin/python3", "-c", "import "+module).Run()
	}, "python module "+module)
}

// httpGet asks the node's HTTP listener for path (over TLS when httpsClient is set).
func (n *node) httpGet(path string) (*http.Response, error) {
	if n.httpsClient != nil {
		return n.httpsClient.Get("https://" + n.httpAddr + path)
	}
	return http.Get("http://" + n.httpAddr + path)
}

// loggedWithin reports whether the node's output contains s within timeout: the output reaches
// the test through a pipe, so a line the broker wrote before answering may arrive after the
// answer.
func (n *node) loggedWithin(s string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(n.logs.String(), s) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
