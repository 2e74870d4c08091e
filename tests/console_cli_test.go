package tests

import (
	"bufio"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startConsoleCommand runs `sluice console` with args and returns its base URL (from the line
// it prints once listening); the process gets SIGTERM when the test ends and must exit 0.
func startConsoleCommand(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(sluiceBin, append([]string{"console", "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("sluice console exited with %v after SIGTERM\n%s", err, tail(stderr.String(), 20))
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("sluice console still running 10 s after SIGTERM")
		}
	})
	select {
	case line := <-lines:
		m := regexp.MustCompile(`http://[^ ]+/`).FindString(line)
		if m == "" {
			t.Fatalf("sluice console printed %q", line)
		}
		return strings.TrimSuffix(m, "/")
	case err := <-exited:
		t.Fatalf("sluice console exited: %v\n%s", err, tail(stderr.String(), 20))
	case <-time.After(15 * time.Second):
		t.Fatalf("sluice console printed nothing in 15 s\n%s", tail(stderr.String(), 20))
	}
	return ""
}

// TestConsoleCommand: `sluice console --brokers` serves the console for a broker it does not
// run in: GET /topics lists a topic the test created with franz-go, with its partition count,
// and the overview names the broker. With SASL in --command-config, pages ask for a sign-in
// offering the file's mechanism; against a SCRAM listener a wrong password is refused and the
// right one lands on the topics; a file without sasl.mechanism is refused at start.
func TestConsoleCommand(t *testing.T) {
	n := startNode(t)
	n.createTopic("cli-console-topic", 4, nil)
	base := startConsoleCommand(t, "--brokers", n.kafkaAddr)
	get := func(path string) (int, string) {
		t.Helper()
		cl := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := cl.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		return resp.StatusCode, string(body) + resp.Header.Get("Location")
	}
	code, body := get("/topics")
	if code != 200 || !regexp.MustCompile(`(?s)<tr data-topic="cli-console-topic">.*?<td class="num partitions">4</td>`).MatchString(body) {
		t.Fatalf("GET /topics: %d, no row for cli-console-topic with 4 partitions:\n%s", code, body)
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, `data-broker="1"`) || !strings.Contains(body, n.kafkaAddr) {
		t.Fatalf("GET /: %d, broker 1 at %s not shown:\n%s", code, n.kafkaAddr, body)
	}
	if code, body := get("/api/overview/series"); code != 200 || !strings.Contains(body, `"source":"end offsets"`) {
		t.Fatalf("GET /api/overview/series: %d %s", code, body)
	}

	// SASL in the command config: users sign in with the configured mechanism.
	cfg := filepath.Join(t.TempDir(), "client.properties")
	if err := os.WriteFile(cfg, []byte("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base = startConsoleCommand(t, "--brokers", n.kafkaAddr, "--command-config", cfg)
	if code, loc := get("/topics"); code != http.StatusSeeOther || !strings.HasSuffix(loc, "/login?next=%2Ftopics") {
		t.Fatalf("GET /topics with SASL configured: %d %q, want a redirect to /login", code, loc)
	}
	if code, body := get("/login"); code != 200 || !strings.Contains(body, "<option>SCRAM-SHA-512</option>") || strings.Contains(body, "SCRAM-SHA-256") {
		t.Fatalf("GET /login: %d, want SCRAM-SHA-512 offered alone:\n%s", code, body)
	}
	// Against a SASL listener: a user signs in on the form and sees the topics.
	sn, addrs := startWithProperties(t, `
listeners=PLAINTEXT://{ADDR1},SASL_PLAINTEXT://{ADDR2}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
`, "--add-scram", "SCRAM-SHA-512=[name=ops,password=ops-secret]")
	sn.createTopic("cli-console-sasl", 2, nil)
	base = startConsoleCommand(t, "--brokers", addrs[1], "--command-config", cfg)
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Timeout: 20 * time.Second, Jar: jar}
	if resp, err := cl.PostForm(base+"/login", url.Values{"user": {"ops"}, "password": {"wrong"}, "mechanism": {"SCRAM-SHA-512"}, "next": {"/topics"}}); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("sign-in with a wrong password: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	resp, err := cl.PostForm(base+"/login", url.Values{"user": {"ops"}, "password": {"ops-secret"}, "mechanism": {"SCRAM-SHA-512"}, "next": {"/topics"}})
	if err != nil {
		t.Fatal(err)
	}
	body2, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/topics" || !strings.Contains(string(body2), `<tr data-topic="cli-console-sasl">`) {
		t.Fatalf("signed in as ops: %d at %s, no cli-console-sasl row:\n%s", resp.StatusCode, resp.Request.URL, body2)
	}

	// A bad command config is refused at start.
	bad := filepath.Join(t.TempDir(), "bad.properties")
	os.WriteFile(bad, []byte("security.protocol=SASL_PLAINTEXT\n"), 0o600)
	out, err := exec.Command(sluiceBin, "console", "--brokers", n.kafkaAddr, "--addr", "127.0.0.1:0", "--command-config", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "sasl.mechanism is not set") {
		t.Fatalf("a command config without sasl.mechanism: %v\n%s", err, out)
	}
}
