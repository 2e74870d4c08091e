package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The console's overview, brokers, topics, security and quotas pages (internal/console's
// overview.go, brokers.go, topics.go, security.go, quotas.go) in Chromium against real
// `sluice serve` processes, checked against what franz-go's admin client reads.

// text navigates to url and returns the text of sel.
func pageText(t *testing.T, ctx context.Context, url, sel string) string {
	t.Helper()
	var s string
	browse(t, ctx, 30*time.Second, chromedp.Navigate(url), into(&s, chromedp.Text(sel)))
	return strings.TrimSpace(s)
}

// waitPage reloads url until cond holds for the text of sel (the cluster changes underneath).
func waitPage(t *testing.T, ctx context.Context, timeout time.Duration, url, sel string, cond func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		runCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := chromedp.Do(runCtx, chromedp.Navigate(url), into(&last, chromedp.Text(sel)))
		cancel()
		last = strings.TrimSpace(last)
		if err == nil && cond(last) {
			return last
		}
		if time.Now().After(deadline) {
			screenshot(t, ctx, "wait-failed")
			t.Fatalf("%s: %s is %q after %v (err %v)", url, sel, last, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestConsoleSiteTopics creates a topic through the form (and sees Kafka refuse a second one
// of the same name), finds it in the list with its partition count, opens it, sets
// retention.ms and sees its source turn from default to dynamic, adds partitions, sets a
// quota, and deletes the topic after the typed confirmation; the overview shows the broker
// and, once records were produced, a non-zero messages-in series and its chart.
func TestConsoleSiteTopics(t *testing.T) {
	n := startNode(t)
	ctx := newBrowser(t)
	adm := n.admin()
	const topic = "site-orders"

	// Create, through the form.
	browse(t, ctx, 30*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics")),
		chromedp.Click("#create summary"),
		chromedp.SetValue("#new-name", topic),
		chromedp.SetValue("#new-partitions", "3"),
		chromedp.SetValue("#new-rf", "1"),
		clickLoad("#create-form button[type=submit]"),
		chromedp.WaitVisible("#notice"),
	)
	meta, err := adm.Metadata(context.Background(), topic)
	if err != nil || meta.Topics[topic].Err != nil || len(meta.Topics[topic].Partitions) != 3 {
		t.Fatalf("after the form, the cluster has %+v (%v), want %s with 3 partitions", meta.Topics[topic], err, topic)
	}
	// Kafka's refusal of a second topic of the same name is shown by the form.
	var refusal string
	browse(t, ctx, 30*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics")),
		chromedp.Click("#create summary"),
		chromedp.SetValue("#new-name", topic),
		chromedp.SetValue("#new-partitions", "1"),
		clickLoad("#create-form button[type=submit]"),
		into(&refusal, chromedp.Text("#create-error")),
	)
	if !strings.Contains(refusal, "TOPIC_ALREADY_EXISTS") {
		t.Fatalf("creating %s twice shows %q, want Kafka's TOPIC_ALREADY_EXISTS", topic, refusal)
	}

	// Produce, so that the offsets, the size and the throughput have something to show.
	cl := n.client(kgo.DefaultProduceTopic(topic))
	defer cl.Close()
	produce := func(count int) {
		for i := 0; i < count; i++ {
			cl.Produce(context.Background(), &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte(strings.Repeat("v", 100))}, nil)
		}
		if err := cl.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	produce(300)

	// The list: partition count, replication factor, the internal mark.
	if got := pageText(t, ctx, consoleURL(n, "/topics?q=orders"), `tr[data-topic="`+topic+`"] td.partitions`); got != "3" {
		t.Fatalf("topic list: %s has %q partitions, want 3", topic, got)
	}
	if got := pageText(t, ctx, consoleURL(n, "/topics?q=orders"), `tr[data-topic="`+topic+`"] td.size`); got == "" || got == "0 B" {
		t.Fatalf("topic list: %s's size is %q after 300 records", topic, got)
	}
	screenshot(t, ctx, "topics")
	var rows int
	browse(t, ctx, 20*time.Second, chromedp.Navigate(consoleURL(n, "/topics?q=nomatch")),
		into(&rows, chromedp.Evaluate[int](`document.querySelectorAll("#topics tbody tr").length`)))
	if rows != 0 {
		t.Fatalf("the filter nomatch shows %d rows", rows)
	}

	// Open it from the list; the partitions' end offsets add up to the records produced.
	var ends int
	browse(t, ctx, 30*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics")),
		clickLoad(`tr[data-topic="`+topic+`"] a`),
		chromedp.WaitVisible("#partitions"),
		into(&ends, chromedp.Evaluate[int](`[...document.querySelectorAll("#partitions tbody tr")].reduce((s, r) => s + Number(r.children[6].textContent), 0)`)),
	)
	if ends != 300 {
		t.Fatalf("the topic page's log end offsets add up to %d, want 300", ends)
	}
	if got := pageText(t, ctx, consoleURL(n, "/topics/"+topic), `tr[data-config="retention.ms"] td.source`); got != "default" {
		t.Fatalf("retention.ms's source before the edit is %q, want default", got)
	}

	// Edit retention.ms: its source becomes dynamic.
	browse(t, ctx, 30*time.Second,
		chromedp.SetValue("#config-name", "retention.ms"),
		chromedp.SetValue("#config-value", "3600000"),
		clickLoad("#config-form button[type=submit]"),
		chromedp.WaitVisible("#notice"),
	)
	if got := pageText(t, ctx, consoleURL(n, "/topics/"+topic), `tr[data-config="retention.ms"] td.source`); got != "dynamic" {
		t.Fatalf("retention.ms's source after the edit is %q, want dynamic", got)
	}
	if got := pageText(t, ctx, consoleURL(n, "/topics/"+topic), `tr[data-config="retention.ms"] td.value`); got != "3600000" {
		t.Fatalf("retention.ms after the edit is %q, want 3600000", got)
	}
	rcs, err := adm.DescribeTopicConfigs(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := rcs.On(topic, nil)
	for _, c := range rc.Configs {
		if c.Key == "retention.ms" && (c.Value == nil || *c.Value != "3600000") {
			t.Fatalf("the cluster's retention.ms of %s is %v after the edit", topic, c.MaybeValue())
		}
	}
	// A value Kafka refuses is shown with Kafka's error.
	browse(t, ctx, 30*time.Second,
		chromedp.SetValue("#config-name", "cleanup.policy"),
		chromedp.SetValue("#config-value", "sideways"),
		clickLoad("#config-form button[type=submit]"),
		into(&refusal, chromedp.Text("#action-error")),
	)
	if !strings.Contains(refusal, "INVALID_CONFIG") {
		t.Fatalf("cleanup.policy=sideways shows %q, want Kafka's INVALID_CONFIG", refusal)
	}

	// Add partitions.
	browse(t, ctx, 30*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics/"+topic)),
		chromedp.SetValue("#partitions-total", "5"),
		clickLoad("#partitions-form button[type=submit]"),
		chromedp.WaitVisible("#notice"),
		into(&rows, chromedp.Evaluate[int](`document.querySelectorAll("#partitions tbody tr").length`)),
	)
	if rows != 5 {
		t.Fatalf("after adding partitions the page lists %d, want 5", rows)
	}
	screenshot(t, ctx, "topic")

	// The overview: the broker, online, and a messages-in series that saw the records.
	if got := pageText(t, ctx, consoleURL(n, "/"), `#brokers tr[data-broker="1"] td.state`); got != "online" {
		t.Fatalf("overview: broker 1 is %q, want online", got)
	}
	deadline := time.Now().Add(35 * time.Second)
	for {
		s := overviewSeries(t, n)
		var msgs, bytesIn float64
		for _, p := range s.Points {
			msgs, bytesIn = max(msgs, p.MessagesIn), max(bytesIn, p.BytesIn)
		}
		if msgs > 0 && bytesIn > 0 {
			t.Logf("series: %d points, peak %.1f messages/s, %.0f bytes/s in", len(s.Points), msgs, bytesIn)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the overview's series shows no messages in 35 s after producing: %+v", s)
		}
		produce(50)
		time.Sleep(2 * time.Second)
	}
	var drawn bool
	browse(t, ctx, 30*time.Second, chromedp.Navigate(consoleURL(n, "/")),
		chromedp.WaitVisible("#chart-messages-in polyline"),
		into(&drawn, chromedp.Evaluate[bool](`document.querySelector("#chart-messages-in polyline").getAttribute("points").split(" ").length >= 1`)))
	if !drawn {
		t.Fatal("the messages-in chart has no line")
	}
	screenshot(t, ctx, "overview")
	if got := pageText(t, ctx, consoleURL(n, "/brokers"), `#brokers tr[data-broker="1"] td.state`); got != "online" {
		t.Fatalf("brokers: broker 1 is %q, want online", got)
	}
	screenshot(t, ctx, "brokers")
	var cfgRows int
	browse(t, ctx, 30*time.Second, chromedp.Navigate(consoleURL(n, "/brokers/1")), chromedp.WaitVisible("#configs"),
		into(&cfgRows, chromedp.Evaluate[int](`document.querySelectorAll("#configs tbody tr").length`)))
	if cfgRows < 20 {
		t.Fatalf("broker 1's page shows %d configs", cfgRows)
	}
	screenshot(t, ctx, "broker")

	// Quotas: set one through the form; the cluster has it.
	browse(t, ctx, 30*time.Second,
		chromedp.Navigate(consoleURL(n, "/quotas")),
		chromedp.SetValue("#q-type", "user"),
		chromedp.SetValue("#q-name", "alice"),
		chromedp.SetValue("#q-key", "producer_byte_rate"),
		chromedp.SetValue("#q-value", "1048576"),
		clickLoad("#quota-form button[type=submit]"),
		chromedp.WaitVisible("#notice"),
	)
	if got := pageText(t, ctx, consoleURL(n, "/quotas"), `tr[data-quota="producer_byte_rate"] td.value`); got != "1048576" {
		t.Fatalf("quotas: producer_byte_rate shows %q", got)
	}
	qs, err := adm.DescribeClientQuotas(context.Background(), false, []kadm.DescribeClientQuotaComponent{})
	if err != nil || len(qs) != 1 || len(qs[0].Values) != 1 || qs[0].Values[0].Value != 1048576 {
		t.Fatalf("the cluster's quotas after the form: %+v (%v)", qs, err)
	}
	screenshot(t, ctx, "quotas")
	browse(t, ctx, 30*time.Second, clickLoad(`tr[data-quota="producer_byte_rate"] button`), chromedp.WaitVisible("#notice"))
	if qs, err := adm.DescribeClientQuotas(context.Background(), false, []kadm.DescribeClientQuotaComponent{}); err != nil || len(qs) != 0 {
		t.Fatalf("the cluster's quotas after Remove: %+v (%v)", qs, err)
	}

	// An internal topic is listed and marked.
	consumer := n.client(kgo.ConsumerGroup("site-group"), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	pollCtx, cancelPoll := context.WithTimeout(context.Background(), 20*time.Second)
	consumer.PollRecords(pollCtx, 10)
	err = consumer.CommitUncommittedOffsets(pollCtx)
	cancelPoll()
	consumer.Close()
	if err != nil {
		t.Fatal(err)
	}
	waitPage(t, ctx, 20*time.Second, consoleURL(n, "/topics?q=__consumer"), "#topics tbody", func(s string) bool {
		return strings.Contains(s, "__consumer_offsets internal")
	})
	for _, path := range []string{"/", "/topics", "/topics/" + topic, "/brokers", "/brokers/1", "/security", "/quotas"} {
		browse(t, ctx, 30*time.Second, chromedp.Navigate(consoleURL(n, path)))
		checkFitsWindow(t, ctx, path)
	}

	// Delete: a wrong confirmation is refused, the topic's name deletes it.
	browse(t, ctx, 30*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics/"+topic)),
		chromedp.SetValue("#delete-confirm", "site-order"),
		clickLoad("#delete-form button[type=submit]"),
		into(&refusal, chromedp.Text("#action-error")),
	)
	if !strings.Contains(refusal, "type the topic's name") {
		t.Fatalf("a wrong confirmation shows %q", refusal)
	}
	browse(t, ctx, 30*time.Second,
		chromedp.SetValue("#delete-confirm", topic),
		clickLoad("#delete-form button[type=submit]"),
		chromedp.WaitVisible("#topics"),
		into(&rows, chromedp.Evaluate[int](`document.querySelectorAll('#topics tr[data-topic="`+topic+`"]').length`)),
	)
	if rows != 0 {
		t.Fatalf("%s is still listed after the deletion", topic)
	}
	if meta, err := adm.Metadata(context.Background(), topic); err == nil && meta.Topics[topic].Err == nil {
		t.Fatalf("%s still exists in the cluster after the deletion", topic)
	}
}

type seriesJSON struct {
	Bytes  bool `json:"bytes"`
	Points []struct {
		T          int64   `json:"t"`
		BytesIn    float64 `json:"bytes_in"`
		BytesOut   float64 `json:"bytes_out"`
		MessagesIn float64 `json:"messages_in"`
	} `json:"points"`
}

func overviewSeries(t *testing.T, n *node) seriesJSON {
	t.Helper()
	resp, err := http.Get(consoleURL(n, "/api/overview/series"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var s seriesJSON
	if err := json.Unmarshal(body, &s); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/api/overview/series: %d %s (%v)", resp.StatusCode, body, err)
	}
	return s
}

// TestConsoleSiteBrokerDown: in a three-node cluster, a SIGKILLed broker is shown offline
// ("offline (fenced)" once the controller's session timeout passes) on the overview and the brokers page
// of a surviving node, and the under-replicated count rises from 0 to the partitions it held.
func TestConsoleSiteBrokerDown(t *testing.T) {
	c := startProcCluster(t, 3, "--override", "broker.session.timeout.ms=3000", "--override", "broker.heartbeat.interval.ms=500")
	ctl := c.controller()
	victim := c.other(ctl)
	watch := c.node(c.other(ctl, victim)).asNode()
	adm := kadm.NewClient(c.node(ctl).client())
	defer adm.Close()
	res, err := adm.CreateTopic(context.Background(), 4, 3, nil, "site-replicated")
	if err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	ctx := newBrowser(t)
	urp := func(s string) int { v, _ := strconv.Atoi(s); return v }
	waitPage(t, ctx, 30*time.Second, consoleURL(watch, "/"), "#partition-count", func(s string) bool { return s == "4" })
	if got := pageText(t, ctx, consoleURL(watch, "/"), "#under-replicated"); got != "0" {
		t.Fatalf("under-replicated before the kill: %q", got)
	}
	if got := pageText(t, ctx, consoleURL(watch, "/"), fmt.Sprintf(`#brokers tr[data-broker="%d"] td.state`, victim)); got != "online" {
		t.Fatalf("broker %d before the kill: %q", victim, got)
	}
	if got := pageText(t, ctx, consoleURL(watch, "/"), "#broker-count"); got != "3" {
		t.Fatalf("broker count: %q", got)
	}
	screenshot(t, ctx, "overview-before")

	c.node(victim).kill()
	state := waitPage(t, ctx, 40*time.Second, consoleURL(watch, "/brokers"), fmt.Sprintf(`#brokers tr[data-broker="%d"] td.state`, victim),
		func(s string) bool { return strings.HasPrefix(s, "offline") })
	t.Logf("broker %d after SIGKILL: %s", victim, state)
	waitPage(t, ctx, 40*time.Second, consoleURL(watch, "/brokers"), "#under-replicated", func(s string) bool { return urp(s) == 4 })
	screenshot(t, ctx, "brokers-after")
	if got := pageText(t, ctx, consoleURL(watch, "/"), fmt.Sprintf(`#brokers tr[data-broker="%d"] td.state`, victim)); !strings.HasPrefix(got, "offline") {
		t.Fatalf("overview: broker %d is %q, want offline", victim, got)
	}
	if got := urp(pageText(t, ctx, consoleURL(watch, "/"), "#under-replicated")); got != 4 {
		t.Fatalf("overview: %d under-replicated, want 4", got)
	}
	screenshot(t, ctx, "overview-after")
}

// consoleSignIn signs in on the console's form.
func consoleSignIn(t *testing.T, ctx context.Context, n *node, user, pass string) {
	t.Helper()
	browse(t, ctx, 30*time.Second,
		chromedp.Navigate(consoleURL(n, "/login")),
		chromedp.SetValue(`input[name=user]`, user),
		chromedp.SetValue(`input[name=password]`, pass),
		clickLoad(`form[action="/login"] button[type=submit]`),
		chromedp.WaitVisible("#health"),
	)
}

// TestConsoleSiteSecurity: on a node with SCRAM over SASL_PLAINTEXT and the ACL authorizer,
// admin (a super user) signs in, creates a SCRAM user and an ACL through the security page and
// the cluster has both; the new user signs in (with the password set on the page), is refused
// the user list, the ACL list and creating an ACL, each with Kafka's error, and can read the
// topic its ACL allows.
func TestConsoleSiteSecurity(t *testing.T) {
	n := startSecuredConsoleNode(t)
	n.createTopic("site-secret", 1, nil)
	n.createTopic("site-open", 1, nil)
	ctx := newBrowser(t)
	consoleSignIn(t, ctx, n, "admin", "admin-secret")

	browse(t, ctx, 30*time.Second,
		chromedp.Navigate(consoleURL(n, "/security")),
		chromedp.Click("#user-form-panel summary"),
		chromedp.SetValue("#user-name", "mallory"),
		chromedp.SetValue("#user-password", "mallory-secret"),
		chromedp.SetValue("#user-mechanism", "SCRAM-SHA-256"),
		clickLoad("#user-form button[type=submit]"),
		chromedp.WaitVisible("#notice"),
	)
	if got := pageText(t, ctx, consoleURL(n, "/security"), `tr[data-user="mallory"] .cred`); !strings.Contains(got, "SCRAM-SHA-256 (8192 iterations)") {
		t.Fatalf("security page: mallory's credentials %q", got)
	}
	browse(t, ctx, 30*time.Second,
		chromedp.Click("#acl-form-panel summary"),
		chromedp.SetValue("#acl-principal", "User:mallory"),
		chromedp.SetValue("#acl-type", "TOPIC"),
		chromedp.SetValue("#acl-name", "site-open"),
		chromedp.SetValue("#acl-pattern", "LITERAL"),
		chromedp.SetValue("#acl-operation", "READ"),
		chromedp.SetValue("#acl-permission", "ALLOW"),
		clickLoad("#acl-form button[type=submit]"),
		chromedp.WaitVisible("#notice"),
	)
	var rows int
	browse(t, ctx, 30*time.Second, chromedp.Navigate(consoleURL(n, "/security?principal=User:mallory")),
		into(&rows, chromedp.Evaluate[int](`[...document.querySelectorAll("#acl-table tbody tr")].filter(r => r.textContent.includes("site-open") && r.textContent.includes("READ")).length`)))
	if rows != 1 {
		t.Fatalf("the ACL list filtered on User:mallory shows %d rows for READ on site-open", rows)
	}
	screenshot(t, ctx, "security-admin")
	adm := n.admin()
	acls, err := adm.DescribeACLs(context.Background(), kadm.NewACLs().Allow("User:mallory").AllowHosts().Topics("site-open").Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral))
	if err != nil || len(acls) != 1 || len(acls[0].Described) != 1 {
		t.Fatalf("the cluster's ACLs for mallory: %+v (%v)", acls, err)
	}

	// mallory signs in with the password set above and is refused what only admins may do.
	browse(t, ctx, 20*time.Second, chromedp.Navigate(consoleURL(n, "/")), clickLoad(`form[action="/logout"] button`), chromedp.WaitVisible(`input[name=user]`))
	consoleSignIn(t, ctx, n, "mallory", "mallory-secret")
	if got := pageText(t, ctx, consoleURL(n, "/security"), "#users-error"); !strings.Contains(got, "CLUSTER_AUTHORIZATION_FAILED") {
		t.Fatalf("mallory's user list: %q, want CLUSTER_AUTHORIZATION_FAILED", got)
	}
	if got := pageText(t, ctx, consoleURL(n, "/security"), "#acls-error"); !strings.Contains(got, "CLUSTER_AUTHORIZATION_FAILED") {
		t.Fatalf("mallory's ACL list: %q, want CLUSTER_AUTHORIZATION_FAILED", got)
	}
	var refusal string
	browse(t, ctx, 30*time.Second,
		chromedp.Click("#acl-form-panel summary"),
		chromedp.SetValue("#acl-principal", "User:mallory"),
		chromedp.SetValue("#acl-type", "TOPIC"),
		chromedp.SetValue("#acl-name", "site-secret"),
		chromedp.SetValue("#acl-operation", "ALL"),
		clickLoad("#acl-form button[type=submit]"),
		into(&refusal, chromedp.Text("#action-error")),
	)
	if !strings.Contains(refusal, "CLUSTER_AUTHORIZATION_FAILED") {
		t.Fatalf("mallory creating an ACL sees %q, want CLUSTER_AUTHORIZATION_FAILED", refusal)
	}
	screenshot(t, ctx, "security-refused")
	// Her topic list has the topic she may read, not the other.
	browse(t, ctx, 30*time.Second, chromedp.Navigate(consoleURL(n, "/topics")), chromedp.WaitVisible("#topics"),
		into(&rows, chromedp.Evaluate[int](`document.querySelectorAll('#topics tr[data-topic="site-secret"]').length`)))
	if rows != 0 {
		t.Fatal("mallory's topic list shows site-secret, which she has no ACL for")
	}
	if got := pageText(t, ctx, consoleURL(n, "/topics"), `tr[data-topic="site-open"] td.partitions`); got != "1" {
		t.Fatalf("mallory's topic list: site-open has %q partitions", got)
	}
	if got := pageText(t, ctx, consoleURL(n, "/quotas"), "#quotas-error"); !strings.Contains(got, "CLUSTER_AUTHORIZATION_FAILED") {
		t.Fatalf("mallory's quotas: %q, want CLUSTER_AUTHORIZATION_FAILED", got)
	}

	// admin again: delete mallory's ACL and credential with their buttons.
	browse(t, ctx, 20*time.Second, chromedp.Navigate(consoleURL(n, "/")), clickLoad(`form[action="/logout"] button`), chromedp.WaitVisible(`input[name=user]`))
	consoleSignIn(t, ctx, n, "admin", "admin-secret")
	browse(t, ctx, 30*time.Second,
		chromedp.Navigate(consoleURL(n, "/security?principal=User:mallory")),
		clickLoad(`#acl-table tbody tr button`),
		chromedp.WaitVisible("#notice"),
		clickLoad(`tr[data-user="mallory"] button`),
		chromedp.WaitVisible("#notice"),
	)
	if acls, err := adm.DescribeACLs(context.Background(), kadm.NewACLs().Allow("User:mallory").AllowHosts().Topics("site-open").Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral)); err != nil || len(acls) != 1 || len(acls[0].Described) != 0 {
		t.Fatalf("mallory's ACLs after Delete: %+v (%v)", acls, err)
	}
	if users, err := adm.DescribeUserSCRAMs(context.Background()); err != nil || len(users["mallory"].CredInfos) != 0 {
		t.Fatalf("mallory's credentials after Delete: %+v (%v)", users["mallory"], err)
	}
}
