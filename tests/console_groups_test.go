package tests

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// jsStrings is a step reading the trimmed text of every element matching sel.
func jsStrings(dst *[]string, sel string) chromedp.Action[chromedp.Void] {
	return into(dst, chromedp.Evaluate[[]string](fmt.Sprintf(
		`[...document.querySelectorAll(%q)].map(e => e.textContent.trim())`, sel)))
}

// TestConsoleGroups: a group that consumed part of a three-partition topic shows its lag per
// partition; a reset to the start is previewed (new offsets 0) and applied, after which the page
// shows the whole topic as lag and the committed offsets read through kadm are 0; with a member
// active, the reset is refused with NON_EMPTY_GROUP.
func TestConsoleGroups(t *testing.T) {
	n := startNode(t)
	const topic, group = "cg-orders", "cg-billing"
	n.createTopic(topic, 3, nil)
	sizes := []int{10, 15, 20}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	prod := n.client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for p, size := range sizes {
		for i := range size {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(p), Value: fmt.Appendf(nil, "order-%d-%d", p, i)})
		}
	}
	if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// Consume everything with a group consumer, then commit only part: up to offset 3 on
	// partition 0, 6 on partition 1 and the whole of partition 2.
	commitAt := map[int32]int64{0: 3, 1: 6, 2: 19}
	wantLag := []int64{int64(sizes[0]) - 4, int64(sizes[1]) - 7, 0}
	cons, err := kgo.NewClient(kgo.SeedBrokers(n.kafkaAddr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(), kgo.ClientID("billing-1"))
	if err != nil {
		t.Fatal(err)
	}
	var toCommit []*kgo.Record
	for got := 0; got < 45; {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("poll: %v", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got++
			if commitAt[r.Partition] == r.Offset {
				toCommit = append(toCommit, r)
			}
		})
	}
	if err := cons.CommitRecords(ctx, toCommit...); err != nil {
		t.Fatal(err)
	}
	cons.Close()

	b := newBrowser(t)
	var total string
	browse(t, b, 20*time.Second,
		chromedp.Navigate(consoleURL(n, "/groups?q=billing")),
		chromedp.WaitVisible(`#groups tr[data-group="cg-billing"]`),
		into(&total, chromedp.Text(`#groups tr[data-group="cg-billing"] td.lag`)))
	screenshot(t, b, "groups")
	if want := fmt.Sprint(wantLag[0] + wantLag[1] + wantLag[2]); total != want {
		t.Fatalf("/groups shows total lag %q, want %s", total, want)
	}

	var lags []string
	browse(t, b, 20*time.Second,
		chromedp.Navigate(consoleURL(n, "/groups/"+group)),
		chromedp.WaitVisible(`#lag tbody tr`),
		chromedp.WaitVisible(`#lag-chart polyline`), // the chart has its first sample
		jsStrings(&lags, "#lag td.lag"))
	screenshot(t, b, "group")
	if got, want := strings.Join(lags, " "), strings.Trim(fmt.Sprint(wantLag), "[]"); got != want {
		t.Fatalf("lag per partition %v, want %v", lags, wantLag)
	}

	// Reset to the start through the form: the preview shows the current and new offsets.
	var current, next []string
	browse(t, b, 20*time.Second,
		chromedp.SetValue(`#reset-form select[name="to"]`, "start"),
		clickLoad(`#reset-form button`),
		chromedp.WaitVisible(`#preview`),
		jsStrings(&current, "#preview td.current"),
		jsStrings(&next, "#preview td.new"))
	screenshot(t, b, "reset-preview")
	if got := strings.Join(current, " "); got != "4 7 20" {
		t.Fatalf("preview's current offsets %q, want 4 7 20", got)
	}
	if got := strings.Join(next, " "); got != "0 0 0" {
		t.Fatalf("preview's new offsets %q, want 0 0 0", got)
	}
	browse(t, b, 20*time.Second,
		clickLoad(`#apply`),
		chromedp.WaitVisible(`p.ok`),
		jsStrings(&lags, "#lag td.lag"),
		into(&total, chromedp.Text(`#total-lag`)))
	screenshot(t, b, "group-after-reset")
	if got := strings.Join(lags, " "); got != "10 15 20" || total != "45" {
		t.Fatalf("after the reset the page shows lag %q (total %s), want 10 15 20 (total 45)", got, total)
	}
	offs, err := n.admin().FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(3) {
		if o, ok := offs.Lookup(topic, p); !ok || o.At != 0 {
			t.Fatalf("committed offset of partition %d is %+v after the reset, want 0", p, o)
		}
	}

	// A member joins: the preview says NON_EMPTY_GROUP and offers no apply; a POST is refused.
	live, err := kgo.NewClient(kgo.SeedBrokers(n.kafkaAddr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ClientID("billing-live"), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if fs := live.PollFetches(ctx); fs.Err0() != nil {
		t.Fatal(fs.Err0())
	}
	var refusal string
	browse(t, b, 20*time.Second,
		chromedp.Navigate(consoleURL(n, "/groups/"+group+"/reset?topic="+topic+"&to=end")),
		chromedp.WaitVisible(`#reset-error`),
		into(&refusal, chromedp.Text(`#reset-error`)))
	screenshot(t, b, "reset-refused")
	if !strings.Contains(refusal, "NON_EMPTY_GROUP") {
		t.Fatalf("reset with an active member says %q, want NON_EMPTY_GROUP", refusal)
	}
	if applies := browseGet(t, b, 5*time.Second, chromedp.Evaluate[int](`document.querySelectorAll("#apply").length`)); applies != 0 {
		t.Fatalf("the preview offers to apply a reset to a group with members")
	}
	resp, err := http.PostForm(consoleURL(n, "/groups/"+group+"/reset"), url.Values{"topic": {topic}, "to": {"end"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "NON_EMPTY_GROUP") {
		t.Fatalf("POST reset with a member: %d %.300s, want 409 with NON_EMPTY_GROUP", resp.StatusCode, body)
	}

	// The member leaves: delete the topic's offsets, then the group, from its page.
	live.Close()
	var done string
	browse(t, b, 20*time.Second,
		chromedp.Navigate(consoleURL(n, "/groups/"+group)),
		clickLoad(`form[action$="/delete-offsets"] button`),
		chromedp.WaitVisible(`p.ok, p.error`),
		into(&done, chromedp.Text(`main p[role]`)))
	if !strings.Contains(done, "deleted the offsets of "+topic) {
		t.Fatalf("delete offsets: %q", done)
	}
	if offs, err := n.admin().FetchOffsets(ctx, group); err != nil || len(offs) != 0 {
		t.Fatalf("offsets after deleting them: %v %v", offs, err)
	}
	browse(t, b, 20*time.Second,
		clickLoad(`form[action$="/delete"] button`),
		chromedp.WaitVisible(`#groups`),
		into(&done, chromedp.Text(`main p[role]`)))
	screenshot(t, b, "group-deleted")
	if !strings.Contains(done, "deleted group "+group) {
		t.Fatalf("delete group: %q", done)
	}
	if listed, err := n.admin().ListGroups(ctx); err != nil || slices.Contains(listed.Groups(), group) {
		t.Fatalf("groups after deleting %s: %v %v", group, listed.Groups(), err)
	}
}

// TestConsoleGroupsACL: on a node with SCRAM and the ACL authorizer, a user with only Read on a
// topic does not see another user's group in /groups and is refused its reset with
// GROUP_AUTHORIZATION_FAILED; given Describe on the group, the user sees the preview but the
// apply is refused by the cluster (committing needs Read on the group), and the group's
// committed offsets do not move.
func TestConsoleGroupsACL(t *testing.T) {
	n := startSecuredConsoleNode(t)
	const topic, group = "ca-orders", "ca-billing"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := n.admin()
	n.createTopic(topic, 2, nil)
	addSCRAMUser(t, n, "reader", "reader-secret")
	allowACLs(t, n, kadm.NewACLs().Allow("User:reader").Topics(topic).Operations(kadm.OpRead))
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: topic, Partition: 0, At: 0, LeaderEpoch: -1})
	offs.Add(kadm.Offset{Topic: topic, Partition: 1, At: 0, LeaderEpoch: -1})
	if err := n.client(kgo.RecordPartitioner(kgo.ManualPartitioner())).ProduceSync(ctx,
		&kgo.Record{Topic: topic, Partition: 0, Value: []byte("a")}, &kgo.Record{Topic: topic, Partition: 1, Value: []byte("b")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if res, err := adm.CommitOffsets(ctx, group, offs); err != nil || res.Error() != nil {
		t.Fatalf("commit as admin: %v %v", err, res.Error())
	}

	b := newBrowser(t)
	consoleSignIn(t, b, n, "reader", "reader-secret")
	var listed int
	var refusal string
	browse(t, b, 20*time.Second,
		chromedp.Navigate(consoleURL(n, "/groups")),
		chromedp.WaitVisible(`#groups`),
		into(&listed, chromedp.Evaluate[int](`document.querySelectorAll('#groups tr[data-group="ca-billing"]').length`)),
		chromedp.Navigate(consoleURL(n, "/groups/"+group+"/reset?topic="+topic+"&to=end")),
		chromedp.WaitVisible(`#reset-error`),
		into(&refusal, chromedp.Text(`#reset-error`)))
	screenshot(t, b, "reader-reset-refused")
	if listed != 0 {
		t.Fatalf("reader sees group %s in /groups without any right on it", group)
	}
	if !strings.Contains(refusal, "GROUP_AUTHORIZATION_FAILED") {
		t.Fatalf("reader's reset preview says %q, want GROUP_AUTHORIZATION_FAILED", refusal)
	}

	allowACLs(t, n, kadm.NewACLs().Allow("User:reader").Groups(group).Operations(kadm.OpDescribe))
	var next []string
	browse(t, b, 20*time.Second,
		chromedp.Navigate(consoleURL(n, "/groups/"+group+"/reset?topic="+topic+"&to=end")),
		chromedp.WaitVisible(`#apply`),
		jsStrings(&next, "#preview td.new"),
		clickLoad(`#apply`),
		chromedp.WaitVisible(`#reset-error`),
		into(&refusal, chromedp.Text(`#reset-error`)))
	screenshot(t, b, "reader-apply-refused")
	if strings.Join(next, " ") != "1 1" {
		t.Fatalf("reader's preview: new offsets %v, want 1 1", next)
	}
	if !strings.Contains(refusal, "GROUP_AUTHORIZATION_FAILED") {
		t.Fatalf("reader's apply says %q, want GROUP_AUTHORIZATION_FAILED", refusal)
	}
	got, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(2) {
		if o, _ := got.Lookup(topic, p); o.At != 0 {
			t.Fatalf("partition %d's committed offset moved to %d after a refused reset", p, o.At)
		}
	}
}
