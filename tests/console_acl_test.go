package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestConsoleACLs: the console acts as the signed-in user, so the cluster's ACLs decide what
// a user sees and may do. On a node with a SASL_PLAINTEXT listener and the standard authorizer,
// user reader holds only Read on topic visible: signed in as reader, the topics page lists
// visible and not hidden, the groups page does not list the group, and resetting the group's
// offsets is refused with Kafka's authorization error while the committed offsets stay where
// they were. Signed in as admin (a super user), the same reset goes through: the refusal came
// from the ACLs, not from the page.
func TestConsoleACLs(t *testing.T) {
	n := startSecuredConsoleNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := n.admin()
	n.createTopic("visible", 2, nil)
	n.createTopic("hidden", 1, nil)
	addSCRAMUser(t, n, "reader", "reader-secret")
	allowACLs(t, n, kadm.NewACLs().Allow("User:reader").Topics("visible").Operations(kadm.OpRead))

	// Group billing-app has committed offsets 10 and 5 on visible's partitions and no members.
	cl := n.client()
	for i := 0; i < 20; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "visible", Partition: int32(i % 2), Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	committed := kadm.Offsets{}
	committed.AddOffset("visible", 0, 10, -1)
	committed.AddOffset("visible", 1, 5, -1)
	if res, err := adm.CommitOffsets(ctx, "billing-app", committed); err != nil || res.Error() != nil {
		t.Fatalf("commit offsets: %v %v", err, res.Error())
	}
	offsetsOf := func() map[int32]int64 {
		t.Helper()
		res, err := adm.FetchOffsets(ctx, "billing-app")
		if err != nil || res.Error() != nil {
			t.Fatalf("fetch offsets: %v %v", err, res.Error())
		}
		out := map[int32]int64{}
		res.Each(func(o kadm.OffsetResponse) { out[o.Partition] = o.At })
		return out
	}

	b := newBrowser(t)
	signIn := func(user, pass string) {
		t.Helper()
		browse(t, b, 30*time.Second,
			chromedp.Navigate(consoleURL(n, "/topics")),
			chromedp.WaitVisible(`input[name=user]`),
			chromedp.SendKeys(`input[name=user]`, user),
			chromedp.SendKeys(`input[name=password]`, pass),
			chromedp.SetValue(`select[name=mechanism]`, "SCRAM-SHA-256"),
			clickLoad(`form[action="/login"] button[type=submit]`),
			chromedp.WaitVisible(`table#topics`))
	}
	text := func(sel string) string {
		t.Helper()
		return browseGet(t, b, 20*time.Second, chromedp.Text(sel))
	}

	// Without a session every page asks for a sign-in.
	browse(t, b, 20*time.Second, chromedp.Navigate(consoleURL(n, "/groups")), chromedp.WaitVisible(`form[action="/login"]`))
	screenshot(t, b, "sign-in")

	signIn("reader", "reader-secret")
	topics := text(`table#topics tbody`)
	if !strings.Contains(topics, "visible") || strings.Contains(topics, "hidden") {
		t.Fatalf("reader's topics page lists %q: want visible and not hidden", topics)
	}
	screenshot(t, b, "reader-topics")
	browse(t, b, 20*time.Second, chromedp.Navigate(consoleURL(n, "/groups")), chromedp.WaitVisible(`main`))
	if groups := text(`main`); strings.Contains(groups, "billing-app") {
		t.Fatalf("reader's groups page shows the group it may not describe: %q", groups)
	}
	screenshot(t, b, "reader-groups")

	// The reset as the page posts it, from the page (same origin, the session's cookie).
	postReset := `fetch("/groups/billing-app/reset", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
		body: "topic=visible&partition=all&to=start&value="}).then(r => r.text().then(b => r.status + " " + b))`
	got := browseGet(t, b, 30*time.Second, chromedp.Evaluate[string](postReset, chromedp.EvalAwaitPromise))
	if !strings.Contains(got, "AUTHORIZATION_FAILED") {
		t.Fatalf("reader's reset: want an authorization error, got %.400s", got)
	}
	if i := strings.Index(got, "AUTHORIZATION_FAILED"); i >= 0 {
		t.Logf("reader's reset refused: …%s…", got[max(0, i-120):min(len(got), i+60)])
	}
	if o := offsetsOf(); o[0] != 10 || o[1] != 5 {
		t.Fatalf("after reader's refused reset the group's offsets are %v, want {0:10 1:5}", o)
	}
	browse(t, b, 20*time.Second, chromedp.Navigate(consoleURL(n, "/groups/billing-app/reset?topic=visible&partition=all&to=start")), chromedp.WaitVisible(`main`))
	screenshot(t, b, "reader-reset-refused")

	// Sign out; admin's reset goes through.
	browse(t, b, 20*time.Second, clickLoad(`form[action="/logout"] button`), chromedp.WaitVisible(`form[action="/login"]`))
	signIn("admin", "admin-secret")
	if topics := text(`table#topics tbody`); !strings.Contains(topics, "hidden") {
		t.Fatalf("admin's topics page lists %q: want hidden too", topics)
	}
	got = browseGet(t, b, 30*time.Second, chromedp.Evaluate[string](postReset, chromedp.EvalAwaitPromise))
	if strings.Contains(got, "AUTHORIZATION_FAILED") {
		t.Fatalf("admin's reset refused: %.400s", got)
	}
	if o := offsetsOf(); o[0] != 0 || o[1] != 0 {
		t.Fatalf("after admin's reset the group's offsets are %v, want {0:0 1:0}", o)
	}
}
