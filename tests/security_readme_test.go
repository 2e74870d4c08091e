package tests

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeBlocks returns the code blocks of README.md's section named title, each with its info
// string (the text after the opening ```).
func readmeBlocks(t *testing.T, title string) (infos []string, blocks []string) {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n## "+title+"\n")
	if start < 0 {
		t.Fatalf("README.md has no %q section", "## "+title)
	}
	text = text[start+1:]
	if end := strings.Index(text, "\n## "); end >= 0 {
		text = text[:end]
	}
	var cur *strings.Builder
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "```") && cur == nil:
			infos = append(infos, strings.TrimPrefix(line, "```"))
			cur = &strings.Builder{}
		case strings.HasPrefix(line, "```"):
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return infos, blocks
}

// TestSecurityReadme runs README.md's "Secure it" example as written: the two properties
// blocks become secure.properties and admin.properties (named by their first comment line),
// broker.pem and ca.pem come from a test CA, the ports become free ones, and every shell line
// runs in that directory (`./sluice` is the built binary; the serve line also gets a data
// directory and free HTTP and controller addresses). Each command must succeed, kcat must read
// back what it produced as alice, and `acl list` must show alice's ACLs.
func TestSecurityReadme(t *testing.T) {
	requireKcat(t)
	infos, blocks := readmeBlocks(t, "Secure it")
	dir := t.TempDir()
	ca := newTestCA(t)
	srv := ca.serverCert("broker", "/CN=localhost")
	copyFile(t, srv.PEMFile, filepath.Join(dir, "broker.pem"))
	copyFile(t, ca.CertFile, filepath.Join(dir, "ca.pem"))
	if err := os.Symlink(sluiceBin, filepath.Join(dir, "sluice")); err != nil {
		t.Fatal(err)
	}
	_, kafkaPort, _ := strings.Cut(freeAddr(t), ":")
	ports := strings.NewReplacer("localhost:9094", "localhost:"+kafkaPort)

	var shell []string
	for i, info := range infos {
		body := ports.Replace(blocks[i])
		switch strings.TrimSpace(info) {
		case "properties":
			first, _, _ := strings.Cut(body, "\n")
			name := strings.Fields(strings.TrimPrefix(first, "#"))[0]
			name = strings.TrimSuffix(name, ":")
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		case "sh":
			for _, line := range strings.Split(body, "\n") {
				if strings.TrimSpace(line) != "" {
					shell = append(shell, line)
				}
			}
		}
	}
	for _, f := range []string{"secure.properties", "admin.properties"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("the README's properties blocks did not give %s: %v", f, err)
		}
	}
	if len(shell) < 5 || !strings.HasPrefix(shell[0], "./sluice serve ") {
		t.Fatalf("the README's commands do not start with ./sluice serve: %q", shell)
	}

	// The serve line, with a data directory and free HTTP and controller addresses.
	httpAddr, ctlAddr := freeAddr(t), freeAddr(t)
	serve := exec.Command("bash", "-c", "exec "+shell[0]+" --data-dir data --http-addr "+httpAddr+" --controller-addr "+ctlAddr+" --schema-registry-addr 127.0.0.1:0")
	serve.Dir = dir
	logs := &syncBuffer{}
	serve.Stdout, serve.Stderr = logs, logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		serve.Process.Kill()
		serve.Wait()
		if t.Failed() {
			t.Logf("sluice output:\n%s", tail(logs.String(), 60))
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the README's broker not ready after 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	var env []string
	outputs := map[string]string{}
	comment := regexp.MustCompile(`\s+#.*$`)
	for _, line := range shell[1:] {
		line = comment.ReplaceAllString(line, "")
		if rest, ok := strings.CutPrefix(line, "export "); ok {
			env = append(env, strings.Fields(rest)...)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, "bash", "-c", line)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("README command %q: %v\n%s", line, err, out)
		}
		outputs[line] = string(out)
	}
	var consumed, listed bool
	for line, out := range outputs {
		switch {
		case strings.Contains(line, " -C "):
			consumed = strings.Contains(out, "order 1")
		case strings.Contains(line, "acl list"):
			listed = strings.Contains(out, "User:alice") && strings.Contains(out, "billing")
		}
		t.Logf("%s\n%s", line, out)
	}
	if !consumed || !listed {
		t.Fatalf("kcat as alice read back the record: %v; acl list shows alice's ACLs: %v", consumed, listed)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
