package tests

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The console in Firefox: Debian's firefox-esr, headless, driven over WebDriver BiDi (the W3C
// protocol Firefox serves on --remote-debugging-port; chromedp speaks only Chrome's). bidi is
// the little of the protocol the test needs: a session, navigation and script evaluation.

const firefoxPath = "/usr/bin/firefox-esr"

type bidi struct {
	conn    *websocket.Conn
	mu      sync.Mutex
	next    int
	context string // the browsing context (tab)
}

// startFirefox starts a headless Firefox with a fresh profile and opens a BiDi session.
func startFirefox(t *testing.T) *bidi {
	t.Helper()
	if _, err := os.Stat(firefoxPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: run scripts/install-test-deps.sh", firefoxPath)
		}
		t.Skipf("%s is missing: run scripts/install-test-deps.sh", firefoxPath)
	}
	profile := t.TempDir()
	// No background traffic: updates, telemetry, safe browsing and the like stay off.
	os.WriteFile(profile+"/user.js", []byte(strings.Join([]string{
		`user_pref("app.update.enabled", false);`, `user_pref("browser.shell.checkDefaultBrowser", false);`,
		`user_pref("datareporting.policy.dataSubmissionEnabled", false);`, `user_pref("toolkit.telemetry.enabled", false);`,
		`user_pref("browser.safebrowsing.malware.enabled", false);`, `user_pref("browser.safebrowsing.phishing.enabled", false);`,
		`user_pref("network.captive-portal-service.enabled", false);`, `user_pref("network.connectivity-service.enabled", false);`,
		`user_pref("browser.newtabpage.enabled", false);`, `user_pref("extensions.update.enabled", false);`,
	}, "\n")), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, firefoxPath, "--headless", "--no-remote", "--profile", profile,
		"--remote-debugging-port", "0", "--window-size", "1366,900", "about:blank")
	cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	// Firefox prints "WebDriver BiDi listening on ws://127.0.0.1:PORT".
	found := make(chan string, 1)
	var logMu sync.Mutex
	var log strings.Builder
	go func() {
		re := regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			log.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	var wsURL string
	select {
	case wsURL = <-found:
	case <-time.After(60 * time.Second):
		logMu.Lock()
		defer logMu.Unlock()
		t.Fatalf("firefox did not open WebDriver BiDi in 60 s:\n%s", log.String())
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer dcancel()
	conn, _, err := websocket.Dial(dctx, strings.TrimSuffix(wsURL, "/")+"/session", nil)
	if err != nil {
		t.Fatalf("BiDi: %v", err)
	}
	conn.SetReadLimit(64 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	b := &bidi{conn: conn}
	b.call(t, "session.new", map[string]any{"capabilities": map[string]any{}})
	var tree struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	b.callInto(t, "browsingContext.getTree", map[string]any{}, &tree)
	if len(tree.Contexts) == 0 {
		t.Fatal("BiDi: no browsing context")
	}
	b.context = tree.Contexts[0].Context
	return b
}

// call sends a command and returns its result; events in between are skipped.
func (b *bidi) call(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	id := b.next
	msg, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := b.conn.Write(ctx, websocket.MessageText, msg); err != nil {
		t.Fatalf("BiDi %s: %v", method, err)
	}
	for {
		_, data, err := b.conn.Read(ctx)
		if err != nil {
			t.Fatalf("BiDi %s: %v", method, err)
		}
		var resp struct {
			ID      int             `json:"id"`
			Type    string          `json:"type"`
			Result  json.RawMessage `json:"result"`
			Error   string          `json:"error"`
			Message string          `json:"message"`
		}
		if err := json.Unmarshal(data, &resp); err != nil {
			t.Fatalf("BiDi %s: %v", method, err)
		}
		if resp.ID != id {
			continue // an event
		}
		if resp.Type == "error" {
			t.Fatalf("BiDi %s: %s: %s", method, resp.Error, resp.Message)
		}
		return resp.Result
	}
}

func (b *bidi) callInto(t *testing.T, method string, params, out any) {
	t.Helper()
	if err := json.Unmarshal(b.call(t, method, params), out); err != nil {
		t.Fatalf("BiDi %s: %v", method, err)
	}
}

// navigate loads url and waits until the page has loaded.
func (b *bidi) navigate(t *testing.T, url string) {
	t.Helper()
	b.call(t, "browsingContext.navigate", map[string]any{"context": b.context, "url": url, "wait": "complete"})
}

// eval evaluates a JavaScript expression (awaiting a promise) and returns its string value.
func (b *bidi) eval(t *testing.T, expr string) string {
	t.Helper()
	var res struct {
		Type   string `json:"type"`
		Result struct {
			Type  string `json:"type"`
			Value any    `json:"value"`
		} `json:"result"`
		ExceptionDetails struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	b.callInto(t, "script.evaluate", map[string]any{"expression": "(async () => String(" + expr + "))()",
		"target": map[string]any{"context": b.context}, "awaitPromise": true}, &res)
	if res.Type == "exception" {
		t.Fatalf("script %s: %s", expr, res.ExceptionDetails.Text)
	}
	s, _ := res.Result.Value.(string)
	return s
}

// waitEval evaluates expr until it gives want, failing after timeout.
func (b *bidi) waitEval(t *testing.T, expr, want string, timeout time.Duration) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = b.eval(t, expr); got == want {
			return
		}
	}
	t.Fatalf("%s is %q after %s, want %q", expr, got, timeout, want)
}

// screenshot saves the tab as artifacts/console/<test>-firefox-<name>.png.
func (b *bidi) screenshot(t *testing.T, name string) {
	t.Helper()
	var res struct {
		Data string `json:"data"`
	}
	b.callInto(t, "browsingContext.captureScreenshot", map[string]any{"context": b.context, "origin": "document"}, &res)
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	file := filepath.Join(artifactsDir(t, "console"), t.Name()+"-firefox-"+name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)
}

// TestConsoleFirefox: the console's pages and scripts in Firefox. The topics page lists the
// test's topic, the overview shows the broker online and its chart, a filter search (the page's
// script starting the job and polling it) finds exactly the needles among 3,000 records, and
// a page of records shows them with their keys.
func TestConsoleFirefox(t *testing.T) {
	n := startNode(t)
	const topic = "ff-orders"
	n.createTopic(topic, 3, nil)
	cl := n.client(kgo.DefaultProduceTopic(topic))
	defer cl.Close()
	var recs []*kgo.Record
	needles := map[string]bool{}
	for i := range 3000 {
		kind, key := "normal", fmt.Sprintf("c%d", i%31)
		if i%1000 == 7 {
			kind, key = "needle", fmt.Sprintf("needle-%d", i)
			needles[key] = true
		}
		recs = append(recs, &kgo.Record{Key: []byte(key), Value: fmt.Appendf(nil, `{"kind":%q,"n":%d}`, kind, i)})
	}
	produceRecords(t, cl, recs)

	ff := startFirefox(t)
	ff.navigate(t, consoleURL(n, "/topics"))
	if got := ff.eval(t, `document.querySelector("table#topics tbody").textContent`); !strings.Contains(got, topic) {
		t.Fatalf("Firefox: the topics page lists %q, want %s", got, topic)
	}

	ff.screenshot(t, "topics")
	ff.navigate(t, consoleURL(n, "/"))
	if got := ff.eval(t, `document.querySelectorAll("svg.chart").length > 0 && document.body.textContent.includes("online")`); got != "true" {
		t.Fatalf("Firefox: the overview shows no chart or no online broker")
	}
	ff.screenshot(t, "overview")

	// A search, as a bookmarked results URL runs it.
	q := url.Values{"start": {"oldest"}, "filter": {`value.kind == "needle"`}}
	ff.navigate(t, consoleURL(n, "/topics/"+topic+"/messages?"+q.Encode()))
	ff.waitEval(t, `document.getElementById("search") && document.getElementById("search").dataset.done`, "1", 60*time.Second)
	if state := ff.eval(t, `document.getElementById("search").dataset.state`); state != "done" {
		t.Fatalf("Firefox: search %s (%s)", state, ff.eval(t, `document.getElementById("search-status").textContent`))
	}
	keys := ff.eval(t, `[...document.querySelectorAll("#rows tr")].map(tr => (tr.querySelector("td.key pre") || tr.querySelector("td.key")).textContent.trim()).sort().join(",")`)
	var want []string
	for k := range needles {
		want = append(want, k)
	}
	if got := strings.Split(keys, ","); len(got) != len(want) || !allIn(got, needles) {
		t.Fatalf("Firefox: the search shows keys %q, want %v", keys, want)
	}
	t.Logf("Firefox: %s", ff.eval(t, `document.getElementById("search-status").textContent`))
	ff.screenshot(t, "search")

	// A page of records, server-rendered.
	ff.navigate(t, consoleURL(n, "/topics/"+topic+"/messages?partition=0&start=oldest&limit=20"))
	if rows := ff.eval(t, `document.querySelectorAll("#rows tr").length`); rows != "20" {
		t.Fatalf("Firefox: a page of 20 records shows %s rows", rows)
	}
}

func allIn(keys []string, set map[string]bool) bool {
	for _, k := range keys {
		if !set[k] {
			return false
		}
	}
	return true
}
