package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The message browser's browser tests: search a topic of 100,000 records with a filter and
// export the matches, browse by offset and by time, produce through the form, the live tail,
// and an Avro record decoded through the schema registry.

// shownRow is a record as the messages table shows it.
type shownRow struct {
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Key       string `json:"key"`
	Value     string `json:"value"`
	Headers   string `json:"headers"`
	Live      bool   `json:"live"`
}

// shownRows is a step reading the messages table's rows.
func shownRows(dst *[]shownRow) chromedp.Action[chromedp.Void] {
	return into(dst, chromedp.Evaluate[[]shownRow](`[...document.querySelectorAll("#rows tr")].map(tr => ({
		partition: Number(tr.dataset.partition), offset: Number(tr.dataset.offset),
		key: (tr.querySelector("td.key pre") || tr.querySelector("td.key")).textContent.trim(),
		value: tr.querySelector("td.value").textContent.trim(),
		headers: tr.querySelector("td.headers").textContent.trim(),
		live: tr.classList.contains("live")}))`))
}

type partitionOffset struct {
	Partition int32
	Offset    int64
}

// produceRecords produces the records and fails the test on any error; the records get their
// partitions and offsets.
func produceRecords(t *testing.T, cl *kgo.Client, recs []*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// needleTopic produces 100,000 JSON records to a three-partition topic, of which a handful
// have kind "needle"; it returns the needles' keys by partition and offset.
func needleTopic(t *testing.T, n *node, topic string) map[partitionOffset]string {
	t.Helper()
	n.createTopic(topic, 3, nil)
	cl := n.client(kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(200000))
	const total = 100000
	needles := map[int]bool{17: true, 23456: true, 50001: true, 77777: true, 99998: true}
	recs := make([]*kgo.Record, 0, total)
	for i := range total {
		kind := "normal"
		key := fmt.Sprintf("c%d", i%97)
		if needles[i] {
			kind, key = "needle", fmt.Sprintf("needle-%d", i)
		}
		recs = append(recs, &kgo.Record{Key: []byte(key),
			Value: fmt.Appendf(nil, `{"id":%d,"amount":%d,"kind":%q,"note":"order number %d of the day"}`, i, i%5000, kind, i)})
	}
	start := time.Now()
	produceRecords(t, cl, recs)
	t.Logf("produced %d records in %v", total, time.Since(start).Round(time.Millisecond))
	want := map[partitionOffset]string{}
	for i, r := range recs {
		if needles[i] {
			want[partitionOffset{r.Partition, r.Offset}] = string(r.Key)
		}
	}
	return want
}

// TestConsoleMessagesSearch: a filter over a 100,000-record topic finds exactly the records
// produced to match it, shown with their partitions, offsets and keys; the export link's JSON
// lines are the same records with their decoded values.
func TestConsoleMessagesSearch(t *testing.T) {
	n := startNode(t)
	const topic = "cm-orders"
	want := needleTopic(t, n, topic)
	b := newBrowser(t)

	// The filter is typed into the form, as a user would.
	filter := `value.kind == "needle" && value.amount >= 0 && key startsWith "needle-"`
	var rows []shownRow
	var state, status string
	browse(t, b, 50*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics/"+topic+"/messages")),
		chromedp.WaitVisible(`#browse`),
		chromedp.SetValue(`#filter`, filter),
		chromedp.SetValue(`#start`, "oldest"),
		clickLoad(`#go`),
		chromedp.WaitVisible(`#search[data-done="1"]`),
		into(&state, chromedp.Evaluate[string](`document.getElementById("search").dataset.state`)),
		into(&status, chromedp.Text(`#search-status`)),
		shownRows(&rows))
	screenshot(t, b, "search")
	t.Logf("search: %s", status)
	checkFitsWindow(t, b, "the search results")
	if state != "done" {
		t.Fatalf("search state %q (%s), want done", state, status)
	}
	if !strings.Contains(status, "scanned 100000 of 100000") || !strings.Contains(status, fmt.Sprintf("%d matches", len(want))) {
		t.Fatalf("search status %q: want all 100000 records scanned and %d matches", status, len(want))
	}
	got := map[partitionOffset]string{}
	for _, r := range rows {
		got[partitionOffset{r.Partition, r.Offset}] = r.Key
		if !strings.Contains(r.Value, `"kind": "needle"`) {
			t.Errorf("row %d@%d value %q is not a needle", r.Partition, r.Offset, r.Value)
		}
	}
	if !mapsEqual(got, want) {
		t.Fatalf("search shows %v, want %v", got, want)
	}

	// The page's URL carries the filter: loading it again runs the same search.
	loc := browseGet(t, b, 5*time.Second, chromedp.Location())
	if u, err := url.Parse(loc); err != nil || u.Query().Get("filter") != filter {
		t.Fatalf("the results page %s does not carry the filter", loc)
	}

	// The export link downloads the matching records as JSON lines.
	href := browseGet(t, b, 5*time.Second, chromedp.Evaluate[string](`document.getElementById("export").href`))
	resp, err := http.Get(href)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		t.Fatalf("export Content-Disposition %q", cd)
	}
	exported := map[partitionOffset]string{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Topic     string          `json:"topic"`
			Partition int32           `json:"partition"`
			Offset    int64           `json:"offset"`
			Key       string          `json:"key"`
			Value     json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		var v struct{ Kind string }
		if err := json.Unmarshal(line.Value, &v); err != nil || v.Kind != "needle" || line.Topic != topic {
			t.Fatalf("export line %q: want the needle's value as JSON", sc.Text())
		}
		exported[partitionOffset{line.Partition, line.Offset}] = line.Key
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !mapsEqual(exported, want) {
		t.Fatalf("export has %v, want %v", exported, want)
	}

	// Stopped after 2 matches, the search says how far it got; searching on from there finds
	// the other needles, each once.
	stopURL := consoleURL(n, "/topics/"+topic+"/messages?start=oldest&max=2&filter="+url.QueryEscape(filter))
	var first, rest []shownRow
	browse(t, b, 50*time.Second,
		chromedp.Navigate(stopURL),
		chromedp.WaitVisible(`#search[data-done="1"]`),
		into(&state, chromedp.Evaluate[string](`document.getElementById("search").dataset.state`)),
		into(&status, chromedp.Text(`#search-status`)),
		shownRows(&first))
	screenshot(t, b, "search-stopped")
	if state != "stopped" || len(first) != 2 || !strings.Contains(status, "reached 0:") {
		t.Fatalf("search with max=2: state %q, %d rows, status %q", state, len(first), status)
	}
	browse(t, b, 50*time.Second,
		clickLoad(`#search-resume`),
		chromedp.WaitVisible(`#search[data-done="1"]`),
		into(&state, chromedp.Evaluate[string](`document.getElementById("search").dataset.state`)),
		shownRows(&rest))
	if state != "stopped" && state != "done" {
		t.Fatalf("the resumed search ended %q", state)
	}
	// max=2 again: the resumed search may stop once more; follow it until done.
	for round := 0; state == "stopped" && round < 3; round++ {
		var more []shownRow
		browse(t, b, 50*time.Second,
			clickLoad(`#search-resume`),
			chromedp.WaitVisible(`#search[data-done="1"]`),
			into(&state, chromedp.Evaluate[string](`document.getElementById("search").dataset.state`)),
			shownRows(&more))
		rest = append(rest, more...)
	}
	resumed := map[partitionOffset]string{}
	for _, r := range append(first, rest...) {
		po := partitionOffset{r.Partition, r.Offset}
		if _, dup := resumed[po]; dup {
			t.Fatalf("%d@%d found twice across the resumed searches", r.Partition, r.Offset)
		}
		resumed[po] = r.Key
	}
	if state != "done" || !mapsEqual(resumed, want) {
		t.Fatalf("stopped and resumed searches found %v (last state %q), want %v", resumed, state, want)
	}

	// A filter that does not parse says where.
	var filterErr string
	browse(t, b, 10*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics/"+topic+"/messages?filter="+url.QueryEscape(`value.kind = "x"`))),
		chromedp.WaitVisible(`#filter-error`),
		into(&filterErr, chromedp.Text(`#filter-error`)))
	screenshot(t, b, "filter-error")
	if !strings.Contains(filterErr, "column 12") {
		t.Fatalf("filter error %q: want the column", filterErr)
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestConsoleMessagesBrowse: pages from an offset (through the form) and from a time, the next
// page, a record produced through the form, and a record produced with kgo appearing in the
// live tail.
func TestConsoleMessagesBrowse(t *testing.T) {
	n := startNode(t)
	const topic = "cm-browse"
	n.createTopic(topic, 2, nil)
	cl := n.client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	base := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	var recs []*kgo.Record
	for i := range 40 {
		recs = append(recs, &kgo.Record{Partition: int32(i % 2), Key: fmt.Appendf(nil, "k%02d", i), Value: fmt.Appendf(nil, "value %d", i),
			Timestamp: base.Add(time.Duration(i) * time.Minute), Headers: []kgo.RecordHeader{{Key: "n", Value: fmt.Appendf(nil, "%d", i)}}})
	}
	recs[13].Value = []byte(strings.Repeat("unbroken", 400)) // 1@6: a long value without a space
	produceRecords(t, cl, recs)
	keyAt := map[partitionOffset]string{}
	for _, r := range recs {
		keyAt[partitionOffset{r.Partition, r.Offset}] = string(r.Key)
	}
	b := newBrowser(t)

	// By offset, through the form: partition 1 from offset 5, 4 records.
	var rows []shownRow
	browse(t, b, 20*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics/"+topic+"/messages")),
		chromedp.WaitVisible(`#browse`),
		chromedp.SetValue(`#partition`, "1"),
		chromedp.SetValue(`#start`, "offset"),
		chromedp.SetValue(`#offset`, "5"),
		chromedp.SetValue(`#limit`, "4"),
		clickLoad(`#go`),
		chromedp.WaitVisible(`#rows tr[data-offset="5"]`),
		shownRows(&rows))
	screenshot(t, b, "offset")
	checkFitsWindow(t, b, "a page of records")
	checkRows(t, "partition 1 from offset 5", rows, keyAt, []partitionOffset{{1, 5}, {1, 6}, {1, 7}, {1, 8}})
	if rows[0].Headers != "n=11" {
		t.Errorf("headers of 1@5: %q, want n=11", rows[0].Headers)
	}

	// The next page goes on from offset 9.
	browse(t, b, 20*time.Second,
		clickLoad(`#next`),
		chromedp.WaitVisible(`#rows tr[data-offset="9"]`),
		shownRows(&rows))
	checkRows(t, "the next page", rows, keyAt, []partitionOffset{{1, 9}, {1, 10}, {1, 11}, {1, 12}})

	// By time, all partitions: from 10:30 the records 30… (alternating partitions).
	browse(t, b, 20*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics/"+topic+"/messages?start=timestamp&time=2026-01-15T10:30:00Z&limit=5")),
		chromedp.WaitVisible(`#rows tr`),
		shownRows(&rows))
	screenshot(t, b, "timestamp")
	checkRows(t, "from 10:30", rows, keyAt, []partitionOffset{{0, 15}, {1, 15}, {0, 16}, {1, 16}, {0, 17}})

	// Produce through the form, to partition 0, with a header: the page after the redirect
	// shows it.
	var produced string
	browse(t, b, 20*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics/"+topic+"/messages")),
		chromedp.WaitVisible(`#produce-submit`),
		chromedp.SetValue(`#produce-partition`, "0"),
		chromedp.SetValue(`#produce-key`, "form-key"),
		chromedp.SetValue(`#produce-value`, `{"from": "the form"}`),
		chromedp.SetValue(`#produce-headers`, "origin=console\nx=1"),
		clickLoad(`#produce-submit`),
		chromedp.WaitVisible(`#produced`),
		into(&produced, chromedp.Text(`#produced`)),
		shownRows(&rows))
	screenshot(t, b, "produced")
	if !strings.Contains(produced, "0@20") || len(rows) == 0 || rows[0].Key != "form-key" || rows[0].Offset != 20 ||
		!strings.Contains(rows[0].Value, `"from": "the form"`) || rows[0].Headers != "origin=consolex=1" {
		t.Fatalf("after producing through the form: %q, rows %+v", produced, rows)
	}
	// …and a consumer reads it with its header.
	fetched := consumeOne(t, n, topic, 0, 20)
	if string(fetched.Key) != "form-key" || len(fetched.Headers) != 2 || fetched.Headers[0].Key != "origin" {
		t.Fatalf("consumed %q with headers %v", fetched.Key, fetched.Headers)
	}

	// Transactions: one committed, one aborted. read_committed shows only the committed
	// records; read_uncommitted shows all four (never the markers).
	const txnTopic = "cm-txn"
	n.createTopic(txnTopic, 1, nil)
	txn := n.client(kgo.TransactionalID("cm-txn-producer"), kgo.DefaultProduceTopic(txnTopic))
	for _, commit := range []bool{true, false} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if err := txn.ProduceSync(ctx, &kgo.Record{Key: fmt.Appendf(nil, "committed-%v-%d", commit, i), Value: []byte("t")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := txn.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	var committedRows, allRows []shownRow
	browse(t, b, 30*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics/"+txnTopic+"/messages?start=oldest&isolation=read_committed")),
		chromedp.WaitVisible(`#rows tr`),
		shownRows(&committedRows),
		chromedp.Navigate(consoleURL(n, "/topics/"+txnTopic+"/messages?start=oldest")),
		chromedp.WaitVisible(`#rows tr`),
		shownRows(&allRows))
	screenshot(t, b, "read-uncommitted")
	var committedKeys, allKeys []string
	for _, r := range committedRows {
		committedKeys = append(committedKeys, r.Key)
	}
	for _, r := range allRows {
		allKeys = append(allKeys, r.Key)
	}
	if !slices.Equal(committedKeys, []string{"committed-true-0", "committed-true-1"}) ||
		!slices.Equal(allKeys, []string{"committed-true-0", "committed-true-1", "committed-false-0", "committed-false-1"}) {
		t.Fatalf("read_committed shows %v, read_uncommitted %v", committedKeys, allKeys)
	}

	// The live tail's websocket refuses a page of another origin.
	wsURL := "ws://" + n.httpAddr + "/topics/" + topic + "/messages/live"
	dialCtx, dialCancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, wsResp, err := websocket.Dial(dialCtx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://elsewhere.example"}}})
	dialCancel()
	if err == nil || wsResp == nil || wsResp.StatusCode != http.StatusForbidden {
		t.Fatalf("websocket from another origin: %v, %v; want 403", err, wsResp)
	}

	// Live tail: start it, produce with kgo, see the row appear.
	browse(t, b, 20*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics/"+topic+"/messages")),
		chromedp.WaitVisible(`#live-toggle`),
		chromedp.Click(`#live-toggle`),
		chromedp.WaitVisible(`#live-toggle[data-state="live"]`))
	produceRecords(t, cl, []*kgo.Record{{Partition: 1, Key: []byte("live-1"), Value: []byte(`{"live": true}`)}})
	browse(t, b, 20*time.Second,
		chromedp.WaitVisible(`#rows tr.live`),
		shownRows(&rows))
	screenshot(t, b, "live")
	var live []shownRow
	for _, r := range rows {
		if r.Live {
			live = append(live, r)
		}
	}
	if len(live) != 1 || live[0].Key != "live-1" || live[0].Partition != 1 || live[0].Offset != 20 || !strings.Contains(live[0].Value, `"live": true`) {
		t.Fatalf("live rows %+v, want live-1 at 1@20", live)
	}
}

func checkRows(t *testing.T, what string, rows []shownRow, keyAt map[partitionOffset]string, want []partitionOffset) {
	t.Helper()
	var got []partitionOffset
	for _, r := range rows {
		got = append(got, partitionOffset{r.Partition, r.Offset})
		if k := keyAt[partitionOffset{r.Partition, r.Offset}]; r.Key != k {
			t.Errorf("%s: %d@%d shows key %q, produced %q", what, r.Partition, r.Offset, r.Key, k)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: rows %v, want %v", what, got, want)
	}
}

// consumeOne reads the record at partition p, offset o.
func consumeOne(t *testing.T, n *node, topic string, p int32, o int64) *kgo.Record {
	t.Helper()
	cl := n.client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().At(o)}}))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consume %s %d@%d: %v", topic, p, o, err)
		}
		for _, r := range fs.Records() {
			if r.Offset == o {
				return r
			}
		}
	}
}

// TestConsoleMessagesAvro: an Avro schema registered through the registry's REST API, a
// record in Confluent's wire format produced with kgo, and the page showing it decoded.
func TestConsoleMessagesAvro(t *testing.T) {
	n := startNode(t)
	const topic = "cm-avro"
	n.createTopic(topic, 1, nil)
	schemaText := `{"type":"record","name":"Payment","namespace":"shop","fields":[{"name":"customer","type":"string"},{"name":"amount","type":"long"},{"name":"tags","type":{"type":"array","items":"string"}}]}`
	body, _ := json.Marshal(map[string]string{"schema": schemaText})
	resp, err := http.Post("http://"+n.registryAddr+"/subjects/"+topic+"-value/versions", "application/vnd.schemaregistry.v1+json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var reg struct{ ID int }
	json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	if resp.StatusCode != 200 || reg.ID <= 0 {
		t.Fatalf("register: %s, id %d", resp.Status, reg.ID)
	}
	schema := avro.MustParse(schemaText)
	payload, err := avro.Marshal(schema, map[string]any{"customer": "alice", "amount": int64(4242), "tags": []string{"vip"}})
	if err != nil {
		t.Fatal(err)
	}
	wire := binary.BigEndian.AppendUint32([]byte{0}, uint32(reg.ID))
	wire = append(wire, payload...)
	cl := n.client(kgo.DefaultProduceTopic(topic))
	produceRecords(t, cl, []*kgo.Record{{Key: []byte("p1"), Value: wire}})

	b := newBrowser(t)
	var rows []shownRow
	var badge string
	browse(t, b, 20*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics/"+topic+"/messages")),
		chromedp.WaitVisible(`#rows tr`),
		into(&badge, chromedp.Text(`#rows tr td.value .badge`)),
		shownRows(&rows))
	screenshot(t, b, "avro")
	if badge != fmt.Sprintf("avro #%d", reg.ID) {
		t.Fatalf("value badge %q, want avro #%d", badge, reg.ID)
	}
	if len(rows) != 1 || !strings.Contains(rows[0].Value, `"customer": "alice"`) || !strings.Contains(rows[0].Value, `"amount": 4242`) {
		t.Fatalf("rows %+v: want the decoded Payment", rows)
	}

	// The filter reads the decoded record too.
	browse(t, b, 30*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics/"+topic+"/messages?filter="+url.QueryEscape(`value.customer == "alice" && value.tags contains "vip"`))),
		chromedp.WaitVisible(`#search[data-done="1"]`),
		shownRows(&rows))
	screenshot(t, b, "avro-search")
	if len(rows) != 1 || rows[0].Key != "p1" {
		t.Fatalf("search over the Avro record: rows %+v", rows)
	}

	// Shown in hex, the wire format's header is there.
	var hexText string
	browse(t, b, 20*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics/"+topic+"/messages?value=hex")),
		chromedp.WaitVisible(`#rows tr`),
		into(&hexText, chromedp.Text(`#rows tr td.value pre`)))
	if want := fmt.Sprintf("00 %02x %02x %02x %02x", byte(reg.ID>>24), byte(reg.ID>>16), byte(reg.ID>>8), byte(reg.ID)); !strings.Contains(hexText, want) {
		t.Fatalf("hex %q does not start with %q", hexText, want)
	}
}

// TestConsoleMessagesSearchBench times the search of 100,000 records (the server's scan,
// and from the click to the results on the page) against a plain franz-go consumer reading the
// same records in the test, for docs/benchmarks.md. SLUICE_CONSOLE_BENCH=1 runs it.
func TestConsoleMessagesSearchBench(t *testing.T) {
	if os.Getenv("SLUICE_CONSOLE_BENCH") != "1" {
		t.Skip("SLUICE_CONSOLE_BENCH=1 runs it")
	}
	n := startNode(t)
	const topic = "cm-bench"
	want := needleTopic(t, n, topic)
	b := newBrowser(t)
	for round := 1; round <= 3; round++ {
		plain := consumeAllTime(t, n, topic, 100000)
		t.Logf("round %d: a franz-go consumer reads the 100000 records in %v", round, plain.Round(time.Millisecond))
		for i, filter := range []string{`value.kind == "needle"`, `value contains "needle"`, `key startsWith "needle-" || offset % 100000 == 99999`} {
			browse(t, b, 20*time.Second, chromedp.Navigate(consoleURL(n, "/topics/"+topic+"/messages")), chromedp.WaitVisible(`#browse`),
				chromedp.SetValue(`#filter`, filter), chromedp.SetValue(`#start`, "oldest"))
			start := time.Now()
			var status, matches, elapsed string
			browse(t, b, 60*time.Second,
				clickLoad(`#go`),
				chromedp.WaitVisible(`#search[data-done="1"]`),
				into(&status, chromedp.Text(`#search-status`)),
				into(&elapsed, chromedp.Evaluate[string](`document.getElementById("search").dataset.elapsed`)),
				into(&matches, chromedp.Evaluate[string](`document.getElementById("search").dataset.matches`)))
			took := time.Since(start)
			var ms int64
			fmt.Sscan(elapsed, &ms)
			t.Logf("round %d, search %d %q: the server's scan %d ms (%.2f × the plain consumer), %v from the click to the results; %s",
				round, i+1, filter, ms, float64(ms)/float64(plain.Milliseconds()), took.Round(time.Millisecond), status)
			if matches != fmt.Sprint(len(want)) {
				t.Fatalf("%s matches, want %d", matches, len(want))
			}
		}
	}
}

// consumeAllTime is how long a franz-go consumer (no group) takes to read count records of the
// topic from the start.
func consumeAllTime(t *testing.T, n *node, topic string, count int) time.Duration {
	t.Helper()
	start := time.Now()
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.kafkaAddr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(32<<20), kgo.FetchMaxPartitionBytes(8<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got := 0
	for got < count {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consume: %d of %d records: %v", got, count, err)
		}
		got += fs.NumRecords()
	}
	return time.Since(start)
}

// TestConsoleMessagesACL: the browser reads and writes as the signed-in user. On a node with
// SCRAM over SASL_PLAINTEXT and the ACL authorizer, user reader holds only Read on topic
// cm-visible: signed in as reader, the page shows cm-visible's records, producing through the
// form is refused with Kafka's TOPIC_AUTHORIZATION_FAILED (and no record is added), and the
// page, the search and the export of cm-hidden show the cluster's refusal.
func TestConsoleMessagesACL(t *testing.T) {
	n := startSecuredConsoleNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := n.admin()
	n.createTopic("cm-visible", 1, nil)
	n.createTopic("cm-hidden", 1, nil)
	addSCRAMUser(t, n, "reader", "reader-secret")
	allowACLs(t, n, kadm.NewACLs().Allow("User:reader").Topics("cm-visible").Operations(kadm.OpRead))
	cl := n.client()
	var recs []*kgo.Record
	for i := range 3 {
		recs = append(recs, &kgo.Record{Topic: "cm-visible", Key: fmt.Appendf(nil, "v%d", i), Value: []byte("visible")})
		recs = append(recs, &kgo.Record{Topic: "cm-hidden", Key: fmt.Appendf(nil, "h%d", i), Value: []byte("secret")})
	}
	produceRecords(t, cl, recs)

	b := newBrowser(t)
	var rows []shownRow
	browse(t, b, 30*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics/cm-visible/messages")),
		chromedp.WaitVisible(`input[name=user]`),
		chromedp.SetValue(`input[name=user]`, "reader"),
		chromedp.SetValue(`input[name=password]`, "reader-secret"),
		clickLoad(`form[action="/login"] button[type=submit]`),
		chromedp.WaitVisible(`#rows tr`),
		shownRows(&rows))
	screenshot(t, b, "reader-visible")
	if len(rows) != 3 || rows[0].Key != "v0" || rows[2].Key != "v2" {
		t.Fatalf("reader sees rows %+v of cm-visible, want v0..v2", rows)
	}

	var refusal string
	browse(t, b, 20*time.Second,
		chromedp.SetValue(`#produce-key`, "not-allowed"),
		chromedp.SetValue(`#produce-value`, "x"),
		clickLoad(`#produce-submit`),
		chromedp.WaitVisible(`#produce-error`),
		into(&refusal, chromedp.Text(`#produce-error`)))
	screenshot(t, b, "reader-produce-refused")
	if !strings.Contains(refusal, "TOPIC_AUTHORIZATION_FAILED") {
		t.Fatalf("producing as reader: %q, want TOPIC_AUTHORIZATION_FAILED", refusal)
	}
	if ends, err := adm.ListEndOffsets(ctx, "cm-visible"); err != nil {
		t.Fatal(err)
	} else if o, _ := ends.Lookup("cm-visible", 0); o.Offset != 3 {
		t.Fatalf("cm-visible ends at %d after the refused produce, want 3", o.Offset)
	}

	var pageErr, searchStatus string
	browse(t, b, 20*time.Second,
		chromedp.Navigate(consoleURL(n, "/topics/cm-hidden/messages")),
		chromedp.WaitVisible(`#msg-error`),
		into(&pageErr, chromedp.Text(`#msg-error`)),
		chromedp.Navigate(consoleURL(n, "/topics/cm-hidden/messages?filter="+url.QueryEscape(`value contains "secret"`))),
		chromedp.WaitVisible(`#search[data-state="failed"]`),
		into(&searchStatus, chromedp.Text(`#search-status`)),
		shownRows(&rows))
	screenshot(t, b, "reader-hidden")
	if !strings.Contains(pageErr, "TOPIC_AUTHORIZATION_FAILED") || !strings.Contains(searchStatus, "TOPIC_AUTHORIZATION_FAILED") || len(rows) != 0 {
		t.Fatalf("reader on cm-hidden: page %q, search %q, %d rows; want TOPIC_AUTHORIZATION_FAILED and nothing shown", pageErr, searchStatus, len(rows))
	}
	exportStatus := browseGet(t, b, 20*time.Second, chromedp.Evaluate[int](`fetch("/topics/cm-hidden/messages/export?start=oldest").then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if exportStatus < 400 {
		t.Fatalf("reader's export of cm-hidden answered %d", exportStatus)
	}
}
