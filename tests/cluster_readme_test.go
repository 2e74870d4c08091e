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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testkit"
)

// readmeSection returns the shell lines of README.md's "## Run a cluster" code blocks.
func readmeSection(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n## Run a cluster\n")
	if start < 0 {
		t.Fatal(`README.md has no "## Run a cluster" section`)
	}
	text = text[start+1:]
	if end := strings.Index(text, "\n## "); end >= 0 {
		text = text[:end]
	}
	var lines []string
	inCode := false
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			inCode = !inCode
		case inCode && strings.TrimSpace(line) != "":
			lines = append(lines, line)
		}
	}
	return lines
}

// freePortOnHosts returns a port that was free on every host a moment ago.
func freePortOnHosts(t *testing.T, hosts []string) string {
	t.Helper()
	for range 50 {
		first, err := net.Listen("tcp", net.JoinHostPort(hosts[0], "0"))
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(first.Addr().String())
		held := []net.Listener{first}
		ok := true
		for _, h := range hosts[1:] {
			ln, err := net.Listen("tcp", net.JoinHostPort(h, port))
			if err != nil {
				ok = false
				break
			}
			held = append(held, ln)
		}
		for _, ln := range held {
			ln.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatalf("no port free on all of %v", hosts)
	return ""
}

// TestClusterReadme runs the README's "Run a cluster" commands as written, except that the
// documented ports (9092, 9093, 9644, 8081) become free ones and the data directories are the test's,
// and checks that each check command there shows what the README says.
func TestClusterReadme(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	t.Parallel()
	requireKcat(t)
	lines := readmeSection(t)
	hosts := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	root := t.TempDir()
	var ports []string
	for len(ports) < 4 {
		if p := freePortOnHosts(t, hosts); !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	subst := strings.NewReplacer(":9092", ":"+ports[0], ":9093", ":"+ports[1], ":9644", ":"+ports[2], ":8081", ":"+ports[3],
		"./data-", filepath.Join(root, "data-"))
	comment := regexp.MustCompile(`\s+#.*$`)

	c := newProcCluster(t)
	var checks [][]string
	for _, line := range lines {
		fields := strings.Fields(subst.Replace(comment.ReplaceAllString(line, "")))
		switch {
		case len(fields) >= 2 && fields[0] == "./sluice" && fields[1] == "serve":
			nd := &procNode{c: c, args: fields[1:]}
			for i := 1; i+1 < len(fields); i++ {
				switch v := fields[i+1]; fields[i] {
				case "--node-id":
					id, err := strconv.Atoi(v)
					if err != nil {
						t.Fatalf("README: --node-id %q", v)
					}
					nd.id = int32(id)
				case "--data-dir":
					nd.dataDir = v
				case "--kafka-addr":
					nd.kafkaAddr = v
				case "--http-addr":
					nd.httpAddr = v
				case "--schema-registry-addr":
					nd.registryAddr = v
				case "--controller-addr":
					nd.controllerAddr = v
				}
			}
			nd.logPath = filepath.Join(c.logDir, fmt.Sprintf("node-%d.log", nd.id))
			if nd.id != int32(len(c.nodes)+1) || nd.kafkaAddr == "" || nd.httpAddr == "" {
				t.Fatalf("README serve command %d: node id %d, kafka %q, http %q", len(c.nodes)+1, nd.id, nd.kafkaAddr, nd.httpAddr)
			}
			c.nodes = append(c.nodes, nd)
		case len(fields) > 0 && fields[0] == "go":
			// the build: the test's binary is built by TestMain
		default:
			checks = append(checks, fields)
		}
	}
	if len(c.nodes) != 3 {
		t.Fatalf("README shows %d serve commands, want 3", len(c.nodes))
	}
	for _, nd := range c.nodes {
		if err := nd.launch(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.waitAllReady(60 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, c.logTails(40))
	}
	c.waitFor("3 active brokers", 30*time.Second, func(v testkit.View) bool { return len(v.Active) == 3 })

	// What each documented check must show, by a word of its command line. A check added to the
	// README without an expectation here fails the test.
	expect := []struct {
		match string
		want  []*regexp.Regexp
	}{
		{"info", []*regexp.Regexp{regexp.MustCompile(`(?m)^Controller: [123]$`),
			regexp.MustCompile(`(?ms)^1\s+127\.0\.0\.1\s.*active$.*^2\s+127\.0\.0\.2\s.*active$.*^3\s+127\.0\.0\.3\s.*active$`)}},
		{"-L", []*regexp.Regexp{regexp.MustCompile(`3 brokers:`), regexp.MustCompile(`\(controller\)`)}},
		{"/readyz", []*regexp.Regexp{regexp.MustCompile(`^ready\n$`)}},
		{"create", []*regexp.Regexp{regexp.MustCompile(`6 partitions, replication factor 3`)}},
		{"describe", []*regexp.Regexp{regexp.MustCompile(`Replication factor: 3`), regexp.MustCompile(`OFFLINE`)}},
	}
	for _, check := range checks {
		out := runReadmeCheck(t, check)
		matched := false
		for _, e := range expect {
			if !strings.Contains(strings.Join(check, " "), e.match) {
				continue
			}
			matched = true
			for _, re := range e.want {
				if !re.MatchString(out) {
					t.Errorf("README check %q: output does not match %s:\n%s", strings.Join(check, " "), re, out)
				}
			}
		}
		if !matched {
			t.Errorf("README check %q has no expectation in TestClusterReadme", strings.Join(check, " "))
		}
	}
}

// runReadmeCheck runs one check command of the README and returns its stdout; ./sluice is the
// built binary, kcat is run as installed, a curl of a URL is a GET from the test.
func runReadmeCheck(t *testing.T, fields []string) string {
	t.Helper()
	name := fields[0]
	switch name {
	case "./sluice":
		name = sluiceBin
	case "kcat":
		requireKcat(t)
	case "curl":
		// curl -s URL prints the body: fetched here, so the test needs no curl installed.
		url := fields[len(fields)-1]
		if !strings.HasPrefix(url, "http") {
			url = "http://" + url
		}
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("README check %s: %v", strings.Join(fields, " "), err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, fields[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("README check %s: %v\n%s%s", strings.Join(fields, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}
