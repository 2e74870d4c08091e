package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// reloadUntil reloads url until the text of sel satisfies ok, and returns that text; the test
// fails (with the last text) after timeout.
func reloadUntil(t *testing.T, b context.Context, url, sel string, timeout time.Duration, ok func(string) bool) string {
	t.Helper()
	var text string
	for deadline := time.Now().Add(timeout); ; {
		runCtx, cancel := context.WithTimeout(b, 10*time.Second)
		err := chromedp.Do(runCtx, chromedp.Navigate(url), chromedp.WaitReady(sel), into(&text, chromedp.Text(sel)))
		cancel()
		if err == nil && ok(text) {
			return text
		}
		if time.Now().After(deadline) {
			browserFail(t, b, fmt.Errorf("%s: %s is %q (err %v)", url, sel, text, err))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// createConnector submits the create form with the JSON until Connect accepts it (it answers
// 409 while its group forms) and returns the error shown when it never does.
func createConnector(t *testing.T, b context.Context, n *node, body string) string {
	t.Helper()
	var loc, errText string
	for deadline := time.Now().Add(40 * time.Second); ; {
		browse(t, b, 30*time.Second,
			chromedp.Navigate(consoleURL(n, "/connectors")),
			chromedp.SetValue(`#create textarea`, body),
			clickLoad(`#create button`),
			chromedp.WaitReady(`p.ok, #create-error`),
			into(&loc, chromedp.Location()))
		if !strings.HasSuffix(strings.SplitN(loc, "?", 2)[0], "/connectors") {
			return ""
		}
		errText = browseGet(t, b, 5*time.Second, chromedp.Text(`#create-error`))
		if !strings.Contains(errText, "rebalanc") && !strings.Contains(errText, "409") || time.Now().After(deadline) {
			return errText
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestConsoleConnectors: with `serve --connect`, a FileStreamSource created from JSON on the
// page runs (RUNNING with its task, its lines in the topic), is paused and resumed from its
// page; a connector reading a directory fails and its task's trace is shown; a config Connect
// refuses shows Connect's message.
func TestConsoleConnectors(t *testing.T) {
	addr := freeAddr(t)
	n := startNode(t, "--connect", "--connect-addr", addr, "--connect-group-id", "console-connect")
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get("http://" + addr + "/connectors"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the in-broker worker's REST API never answered on %s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	in := filepath.Join(t.TempDir(), "in.txt")
	appendLines(t, in, 0, 10)
	cfg, _ := json.Marshal(map[string]any{"name": "lines", "config": map[string]any{
		"connector.class": "FileStreamSource", "file": in, "topic": "console-lines", "tasks.max": 1,
		"value.converter": "org.apache.kafka.connect.storage.StringConverter"}})
	b := newBrowser(t)
	if msg := createConnector(t, b, n, string(cfg)); msg != "" {
		t.Fatalf("create: %s", msg)
	}
	page := consoleURL(n, "/connectors/lines")
	reloadUntil(t, b, page, `#tasks tr[data-task="0"] td.state`, 30*time.Second, func(s string) bool { return s == "RUNNING" })
	if s := browseGet(t, b, 5*time.Second, chromedp.Text(`#connector-state`)); s != "RUNNING" {
		t.Fatalf("connector state %q, want RUNNING", s)
	}
	screenshot(t, b, "running")
	if got := readTopicValues(t, n, "console-lines", 10); len(got) < 10 || got[0] != "line-0000" {
		t.Fatalf("the connector wrote %q", got)
	}

	browse(t, b, 20*time.Second, clickLoad(`#pause`), chromedp.WaitVisible(`p.ok`))
	reloadUntil(t, b, page, `#connector-state`, 30*time.Second, func(s string) bool { return s == "PAUSED" })
	screenshot(t, b, "paused")
	browse(t, b, 20*time.Second, clickLoad(`#resume`), chromedp.WaitVisible(`p.ok`))
	reloadUntil(t, b, page, `#tasks tr[data-task="0"] td.state`, 30*time.Second, func(s string) bool { return s == "RUNNING" })

	// A config Connect's validation refuses: its message is shown and the draft kept.
	var editErr, draft string
	browse(t, b, 20*time.Second,
		chromedp.Navigate(page),
		chromedp.SetValue(`#edit textarea`, `{"connector.class": "FileStreamSource", "file": "x", "topic": "console-lines", "batch.size": 0}`),
		clickLoad(`#edit button`),
		chromedp.WaitVisible(`p.error`),
		into(&editErr, chromedp.Text(`p.error`)),
		into(&draft, chromedp.Value(`#edit textarea`)))
	if !strings.Contains(editErr, "batch.size") || !strings.Contains(draft, `"batch.size": 0`) {
		t.Fatalf("editing with batch.size 0: %q (draft %q), want Connect's message", editErr, draft)
	}

	// A FileStreamSource whose file is a directory: its task fails with the read's error.
	broken, _ := json.Marshal(map[string]any{"name": "broken", "config": map[string]any{
		"connector.class": "FileStreamSource", "file": t.TempDir(), "topic": "console-broken"}})
	if msg := createConnector(t, b, n, string(broken)); msg != "" {
		t.Fatalf("create broken: %s", msg)
	}
	reloadUntil(t, b, consoleURL(n, "/connectors/broken"), `#tasks tr[data-task="0"] td.state`, 30*time.Second,
		func(s string) bool { return s == "FAILED" })
	trace := browseGet(t, b, 5*time.Second, chromedp.Text(`#tasks tr[data-task="0"] pre.trace`))
	screenshot(t, b, "failed-task")
	if !strings.Contains(trace, "is a directory") {
		t.Fatalf("the failed task's trace is %q, want the read error", trace)
	}

	// Connect refuses a config without connector.class; its message is shown.
	if msg := createConnector(t, b, n, `{"name": "nothing", "config": {"topic": "x"}}`); !strings.Contains(msg, "connector.class") {
		t.Fatalf("creating a connector without a class shows %q, want Connect's message about connector.class", msg)
	}
	screenshot(t, b, "create-refused")

	var lines, brokenTasks string
	browse(t, b, 20*time.Second,
		chromedp.Navigate(consoleURL(n, "/connectors")),
		into(&lines, chromedp.Text(`#connectors tr[data-connector="lines"] td.state`)),
		into(&brokenTasks, chromedp.Text(`#connectors tr[data-connector="broken"] td:nth-child(5)`)))
	screenshot(t, b, "connectors")
	if lines != "RUNNING" || !strings.Contains(brokenTasks, "0: FAILED") {
		t.Fatalf("/connectors lists lines as %q and broken's tasks as %q, want RUNNING and 0: FAILED", lines, brokenTasks)
	}
}
