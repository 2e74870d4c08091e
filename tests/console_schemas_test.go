package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleSchemas: an Avro subject registered through the page, a compatible second version,
// both versions and their diff shown, an incompatible draft checked (the registry's message
// shown), then the subject's compatibility set to NONE, after which the same draft passes.
func TestConsoleSchemas(t *testing.T) {
	n := startNode(t)
	const subject = "cs-orders-value"
	v1 := `{"type":"record","name":"Order","fields":[{"name":"id","type":"long"}]}`
	v2 := `{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"note","type":"string","default":""}]}`
	bad := `{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"qty","type":"int"}]}`
	b := newBrowser(t)

	var done string
	browse(t, b, 30*time.Second,
		chromedp.Navigate(consoleURL(n, "/schemas")),
		chromedp.WaitVisible(`#new-subject`),
		chromedp.SetValue(`#new-subject input[name="subject"]`, subject),
		chromedp.SetValue(`#new-subject textarea[name="schema"]`, v1),
		clickLoad(`#new-subject button`),
		chromedp.WaitVisible(`p.ok`),
		into(&done, chromedp.Text(`p.ok`)))
	if !strings.Contains(done, "registered version 1") {
		t.Fatalf("after registering: %q", done)
	}
	browse(t, b, 30*time.Second,
		chromedp.SetValue(`#register textarea[name="schema"]`, v2),
		clearMessages(),
		clickLoad(`#register-button`),
		chromedp.WaitVisible(`p.ok`),
		into(&done, chromedp.Text(`p.ok`)))
	if !strings.Contains(done, "registered version 2") {
		t.Fatalf("after registering the second version: %q", done)
	}
	var versions, added, removed []string
	browse(t, b, 30*time.Second,
		jsStrings(&versions, `#versions td.num`),
		clickLoad(`#diff-form button`),
		chromedp.WaitVisible(`#diff`),
		jsStrings(&added, `#diff .add`),
		jsStrings(&removed, `#diff .del`))
	screenshot(t, b, "subject-diff")
	if strings.Join(versions, " ") != "1 2" {
		t.Fatalf("versions shown: %v, want 1 2", versions)
	}
	if !strings.Contains(strings.Join(added, "\n"), `"name": "note"`) || strings.Contains(strings.Join(removed, "\n"), "note") {
		t.Fatalf("diff 1 → 2: added %q, removed %q; want the note field added", added, removed)
	}

	var verdict string
	browse(t, b, 30*time.Second,
		chromedp.SetValue(`#register textarea[name="schema"]`, bad),
		clickLoad(`#check`),
		chromedp.WaitVisible(`#check-result`),
		into(&verdict, chromedp.Text(`#check-result`)))
	screenshot(t, b, "incompatible")
	if !strings.Contains(verdict, "Not compatible") || !strings.Contains(verdict, "qty") {
		t.Fatalf("check of an incompatible draft says %q", verdict)
	}

	browse(t, b, 30*time.Second,
		chromedp.SetValue(`#subject-config select`, "NONE"),
		clickLoad(`#subject-config button`),
		chromedp.WaitVisible(`p.ok`),
		into(&done, chromedp.Text(`p.ok`)))
	if !strings.Contains(done, "set to NONE") {
		t.Fatalf("after setting the level: %q", done)
	}
	resp, err := http.Get("http://" + n.registryAddr + "/config/" + subject)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Level string `json:"compatibilityLevel"`
	}
	json.NewDecoder(resp.Body).Decode(&cfg)
	resp.Body.Close()
	if cfg.Level != "NONE" {
		t.Fatalf("the registry says the subject's level is %q, want NONE", cfg.Level)
	}
	browse(t, b, 30*time.Second,
		chromedp.SetValue(`#register textarea[name="schema"]`, bad),
		clickLoad(`#check`),
		chromedp.WaitVisible(`#check-result`),
		into(&verdict, chromedp.Text(`#check-result`)))
	if !strings.Contains(verdict, "Compatible with the latest") {
		t.Fatalf("with NONE the draft's check says %q", verdict)
	}

	// Version 1: a soft delete first (still listed, marked), then the permanent one.
	var state string
	browse(t, b, 30*time.Second,
		chromedp.Navigate(consoleURL(n, "/schemas/"+subject)),
		clickLoad(`#versions tr[data-version="1"] button`),
		chromedp.WaitVisible(`p.ok`),
		into(&state, chromedp.Text(`#versions tr[data-version="1"] td:nth-child(2)`)))
	if state != "soft-deleted" {
		t.Fatalf("version 1 after a soft delete: %q", state)
	}
	browse(t, b, 30*time.Second,
		clearMessages(),
		clickLoad(`#versions tr[data-version="1"] button`),
		chromedp.WaitVisible(`p.ok`),
		jsStrings(&versions, `#versions td.num`))
	screenshot(t, b, "version-deleted")
	if strings.Join(versions, " ") != "2" {
		t.Fatalf("versions after deleting version 1 permanently: %v, want 2", versions)
	}

	var row []string
	browse(t, b, 30*time.Second,
		chromedp.Navigate(consoleURL(n, "/schemas")),
		chromedp.WaitVisible(`#subjects tr[data-subject="`+subject+`"]`),
		jsStrings(&row, `#subjects tr[data-subject="`+subject+`"] td`))
	screenshot(t, b, "subjects")
	if len(row) != 5 || row[1] != "2" || row[3] != "AVRO" || row[4] != "NONE" {
		t.Fatalf("/schemas row: %q, want version 2, AVRO, NONE", row)
	}
}

// clearMessages is a step removing the page's messages, so that waiting for one after a form
// is posted waits for the next page's.
func clearMessages() chromedp.Action[chromedp.Void] {
	return into(new(bool), chromedp.Evaluate[bool](`(document.querySelectorAll("main p[role]").forEach(e => e.remove()), true)`))
}
