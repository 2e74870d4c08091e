package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The message browser: /topics/{name}/messages shows a page of a topic's records from a
// chosen start (the oldest, the newest, an offset, a time), decoded as chosen; a filter
// searches the whole topic on the server (search.go); the export streams records as JSON
// lines; the live tail pushes new records over a websocket (tail.go); a form produces one.
// Every read and write is the signed-in user's: a consumer (no group) or producer made with
// the session's credentials, so the cluster's ACLs apply.

const (
	defaultPageSize = 50
	maxPageSize     = 500
	// maxPageBytes bounds what one page reads, whatever the records' sizes.
	maxPageBytes = 64 << 20
	// scanIdle is how long a scan waits for records below a partition's end before deciding
	// the rest are not readable (transaction markers, aborted records, an open transaction).
	scanIdle = 3 * time.Second
)

// messageState is the message browser's state in one console: the schema cache, the
// search jobs and the live tails. Lock order: messageState.mu, then a searchJob's mu; the
// schema cache's mu is taken alone.
type messageState struct {
	schemas schemaCache

	// closed is closed when the console closes: the live tails end.
	closed chan struct{}

	mu    sync.Mutex
	jobs  map[string]*searchJob // by id; guarded by mu
	tails int                   // open live tails; guarded by mu
}

// messages is the console's message browser state.
func (c *Console) messages() *messageState { return c.msgs }

// close cancels the searches and ends the live tails (Console.Close).
func (ms *messageState) close() {
	close(ms.closed)
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for _, j := range ms.jobs {
		j.cancel()
	}
}

// messageRoutes registers the message browser's paths.
func (c *Console) messageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /topics/{name}/messages", c.messagesPage)
	mux.HandleFunc("POST /topics/{name}/messages", c.produceMessage)
	mux.HandleFunc("POST /topics/{name}/messages/search", c.startSearch)
	mux.HandleFunc("GET /topics/{name}/messages/search/{id}", c.searchStatus)
	mux.HandleFunc("POST /topics/{name}/messages/search/{id}/cancel", c.cancelSearch)
	mux.HandleFunc("GET /topics/{name}/messages/export", c.exportMessages)
	mux.HandleFunc("GET /topics/{name}/messages/live", c.liveTail)
}

// browseQuery is a message page's state, all in its URL.
type browseQuery struct {
	Topic     string
	Partition int32  // -1: all
	Start     string // oldest, newest, offset, timestamp
	Offset    int64
	Time      string          // as typed: RFC 3339 or the browser's datetime-local
	Positions map[int32]int64 // per partition, for the next and previous pages (overrides Start)
	Limit     int
	Key       string // decoding: auto, text, json, hex, registry
	Value     string
	Committed bool // read_committed
	Filter    string
	Max       int // a search stops after Max matches
}

const (
	defaultMaxMatches = 500
	maxMaxMatches     = 10000
)

func parseBrowseQuery(r *http.Request) (browseQuery, error) {
	v := r.URL.Query()
	q := browseQuery{Topic: r.PathValue("name"), Partition: -1, Start: v.Get("start"), Time: v.Get("time"),
		Limit: defaultPageSize, Key: v.Get("key"), Value: v.Get("value"), Filter: v.Get("filter"),
		Committed: v.Get("isolation") == "read_committed", Max: defaultMaxMatches}
	if p := v.Get("partition"); p != "" && p != "all" {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil || n < 0 {
			return q, fmt.Errorf("partition %q is not a partition number", p)
		}
		q.Partition = int32(n)
	}
	if q.Start == "" { // links name only an offset or a time (a group's committed offset)
		switch {
		case v.Get("offset") != "":
			q.Start = "offset"
		case q.Time != "":
			q.Start = "timestamp"
		case q.Filter != "":
			q.Start = "oldest"
		default:
			q.Start = "newest"
		}
	}
	switch q.Start {
	case "oldest", "newest":
	case "offset":
		n, err := strconv.ParseInt(v.Get("offset"), 10, 64)
		if err != nil || n < 0 {
			return q, fmt.Errorf("offset %q is not an offset", v.Get("offset"))
		}
		q.Offset = n
	case "timestamp":
		if _, err := parseBrowseTime(q.Time); err != nil {
			return q, err
		}
	default:
		return q, fmt.Errorf("start %q: use oldest, newest, offset or timestamp", q.Start)
	}
	if s := v.Get("positions"); s != "" {
		q.Positions = make(map[int32]int64)
		for _, part := range strings.Split(s, ",") {
			ps, os, ok := strings.Cut(part, ":")
			p, err1 := strconv.ParseInt(ps, 10, 32)
			o, err2 := strconv.ParseInt(os, 10, 64)
			if !ok || err1 != nil || err2 != nil || p < 0 || o < 0 || len(q.Positions) > 100000 {
				return q, fmt.Errorf("positions %q: want partition:offset pairs separated by commas", s)
			}
			q.Positions[int32(p)] = o
		}
	}
	for _, lim := range []struct {
		name string
		dst  *int
		max  int
	}{{"limit", &q.Limit, maxPageSize}, {"max", &q.Max, maxMaxMatches}} {
		if s := v.Get(lim.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > lim.max {
				return q, fmt.Errorf("%s %q: a number from 1 to %d", lim.name, s, lim.max)
			}
			*lim.dst = n
		}
	}
	for _, m := range []*string{&q.Key, &q.Value} {
		if *m == "" {
			*m = decodeAuto
		}
		if !validDecodeMode(*m) {
			return q, fmt.Errorf("decoding %q: use %s", *m, strings.Join(decodeModes, ", "))
		}
	}
	return q, nil
}

// parseBrowseTime reads a start time: RFC 3339, or the browser's datetime-local (UTC).
func parseBrowseTime(s string) (int64, error) {
	ms, err := parseFilterTime(s)
	if err != nil {
		return 0, fmt.Errorf("time %q: %v", s, err)
	}
	return ms, nil
}

// values is the query as URL parameters (defaults left out).
func (q browseQuery) values() url.Values {
	v := url.Values{}
	if q.Partition >= 0 {
		v.Set("partition", strconv.Itoa(int(q.Partition)))
	}
	v.Set("start", q.Start)
	switch q.Start {
	case "offset":
		v.Set("offset", strconv.FormatInt(q.Offset, 10))
	case "timestamp":
		v.Set("time", q.Time)
	}
	if len(q.Positions) > 0 {
		v.Set("positions", formatPositions(q.Positions))
	}
	if q.Limit != defaultPageSize {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Key != decodeAuto {
		v.Set("key", q.Key)
	}
	if q.Value != decodeAuto {
		v.Set("value", q.Value)
	}
	if q.Committed {
		v.Set("isolation", "read_committed")
	}
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	if q.Max != defaultMaxMatches {
		v.Set("max", strconv.Itoa(q.Max))
	}
	return v
}

func formatPositions(m map[int32]int64) string {
	ps := make([]int32, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d:%d", p, m[p])
	}
	return b.String()
}

func (q browseQuery) url(suffix string) string {
	return "/topics/" + url.PathEscape(q.Topic) + "/messages" + suffix + "?" + q.values().Encode()
}

// scanRange is the offsets of one partition to read: [start, end).
type scanRange struct {
	LogStart, Start, End int64
}

// ranges resolves the query's start to offsets for each partition it reads, with the
// session's client (ListOffsets, as the user).
func (c *Console) ranges(ctx context.Context, s *Session, q browseQuery) (map[int32]scanRange, error) {
	topics, err := s.Admin.ListTopics(ctx, q.Topic)
	if err != nil {
		return nil, err
	}
	td, ok := topics[q.Topic]
	if !ok {
		return nil, fmt.Errorf("topic %s: UNKNOWN_TOPIC_OR_PARTITION", q.Topic)
	}
	if td.Err != nil {
		return nil, fmt.Errorf("topic %s: %w", q.Topic, td.Err)
	}
	var parts []int32
	for p := range td.Partitions {
		if q.Partition < 0 || p == q.Partition {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("topic %s has no partition %d", q.Topic, q.Partition)
	}
	starts, err := s.Admin.ListStartOffsets(ctx, q.Topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list start offsets: %w", err)
	}
	var ends kadm.ListedOffsets
	if q.Committed {
		ends, err = s.Admin.ListCommittedOffsets(ctx, q.Topic)
	} else {
		ends, err = s.Admin.ListEndOffsets(ctx, q.Topic)
	}
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	var after kadm.ListedOffsets
	if q.Start == "timestamp" && q.Positions == nil {
		ms, _ := parseBrowseTime(q.Time)
		if after, err = s.Admin.ListOffsetsAfterMilli(ctx, ms, q.Topic); err == nil {
			err = after.Error()
		}
		if err != nil {
			return nil, fmt.Errorf("list offsets after %s: %w", q.Time, err)
		}
	}
	out := make(map[int32]scanRange, len(parts))
	for _, p := range parts {
		st, _ := starts.Lookup(q.Topic, p)
		en, _ := ends.Lookup(q.Topic, p)
		r := scanRange{LogStart: st.Offset, End: en.Offset}
		switch q.Start {
		case "oldest":
			r.Start = r.LogStart
		case "newest":
			r.Start = r.End - int64(q.Limit)
		case "offset":
			r.Start = q.Offset
		case "timestamp":
			r.Start = r.End
			if a, ok := after.Lookup(q.Topic, p); ok && a.Offset >= 0 {
				r.Start = a.Offset
			}
		}
		if pos, ok := q.Positions[p]; ok {
			r.Start = pos
		}
		r.Start = max(r.LogStart, min(r.Start, r.End))
		out[p] = r
	}
	return out, nil
}

// scanAction is what a scan's callback asks for next.
type scanAction int

const (
	scanNext          scanAction = iota // the next record
	scanPartitionDone                   // no more of this record's partition
	scanStop                            // no more records
)

// scan reads the ranges' records in offset order per partition with a consumer of the
// session's user (no group), calling fn for each, until every partition reaches its end, fn
// stops it, ctx ends, or no record below a partition's end arrives for scanIdle. It returns
// the next offset to read in each partition.
func (c *Console) scan(ctx context.Context, s *Session, topic string, ranges map[int32]scanRange, committed bool,
	fn func(*kgo.Record) scanAction) (map[int32]int64, error) {
	next := make(map[int32]int64, len(ranges))
	offsets := make(map[int32]kgo.Offset)
	for p, r := range ranges {
		next[p] = r.Start
		if r.Start < r.End {
			offsets[p] = kgo.NewOffset().At(r.Start)
		}
	}
	if len(offsets) == 0 {
		return next, nil
	}
	// Control records (transaction markers) are kept so that a partition whose last offset is a
	// marker is seen to reach its end; they are not passed to fn.
	opts := []kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}), kgo.KeepControlRecords(),
		kgo.FetchMaxBytes(32 << 20), kgo.FetchMaxPartitionBytes(8 << 20), kgo.FetchMaxWait(250 * time.Millisecond)}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := c.NewClient(ctx, s, opts...)
	if err != nil {
		return next, err
	}
	defer cl.Close()
	open := len(offsets)
	done := make(map[int32]bool)
	finish := func(p int32) {
		if !done[p] {
			done[p] = true
			open--
			cl.PauseFetchPartitions(map[string][]int32{topic: {p}})
		}
	}
	lastRecord := time.Now()
	for open > 0 {
		pollCtx, cancel := context.WithTimeout(ctx, time.Second)
		fetches := cl.PollRecords(pollCtx, 20000)
		cancel()
		if err := ctx.Err(); err != nil {
			return next, err
		}
		for _, fe := range fetches.Errors() {
			if errors.Is(fe.Err, context.DeadlineExceeded) || errors.Is(fe.Err, context.Canceled) {
				continue
			}
			return next, fmt.Errorf("fetch %s partition %d: %w", fe.Topic, fe.Partition, fe.Err)
		}
		stop := false
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			if stop || done[fp.Partition] {
				return
			}
			end := ranges[fp.Partition].End
			for _, rec := range fp.Records {
				if rec.Offset >= end {
					finish(fp.Partition)
					return
				}
				lastRecord = time.Now()
				next[fp.Partition] = rec.Offset + 1
				if rec.Attrs.IsControl() {
					continue
				}
				switch fn(rec) {
				case scanPartitionDone:
					finish(fp.Partition)
					return
				case scanStop:
					stop = true
					return
				}
			}
			if next[fp.Partition] >= end {
				finish(fp.Partition)
			}
		})
		if stop {
			return next, nil
		}
		if open > 0 && time.Since(lastRecord) > scanIdle {
			break // what is left below the ends is not readable records
		}
	}
	return next, nil
}

// messageRow is one record as the page shows it.
type messageRow struct {
	Partition     int32       `json:"partition"`
	Offset        int64       `json:"offset"`
	Timestamp     int64       `json:"timestamp"`
	TimestampType string      `json:"timestampType"`
	Key           decoded     `json:"key"`
	Value         decoded     `json:"value"`
	Headers       []headerRow `json:"headers,omitempty"`
}

type headerRow struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func timestampType(r *kgo.Record) string {
	switch r.Attrs.TimestampType() {
	case 0:
		return "CreateTime"
	case 1:
		return "LogAppendTime"
	}
	return ""
}

// row decodes a record for a page, its key and value cut to maxShown.
func row(rec *kgo.Record, keys, values *decoder) messageRow {
	m := messageRow{Partition: rec.Partition, Offset: rec.Offset, Timestamp: rec.Timestamp.UnixMilli(),
		TimestampType: timestampType(rec), Key: keys.decode(rec.Key, rec.Key == nil), Value: values.decode(rec.Value, rec.Value == nil)}
	for _, d := range []*decoded{&m.Key, &m.Value} {
		if len(d.Text) > maxShown {
			d.Text = strings.ToValidUTF8(d.Text[:maxShown], "") + "…"
			d.Note = strings.TrimPrefix(d.Note+"; ", "; ") + fmt.Sprintf("cut to %d of %d bytes (the export has all)", maxShown, d.Size)
		}
	}
	for _, h := range rec.Headers {
		v := string(h.Value)
		if !printable(h.Value) {
			v = "0x" + fmt.Sprintf("%x", h.Value[:min(len(h.Value), 256)])
		}
		m.Headers = append(m.Headers, headerRow{h.Key, v})
	}
	return m
}

// messagesData is the message page's data.
type messagesData struct {
	Q          browseQuery
	Partitions []int32
	Rows       []messageRow
	Error      string
	FilterErr  string
	Prev, Next string // page links ("" when there is none)
	Self       string // this page's URL
	Search     string // the search to start (POST), when the page has a filter
	Export     string
	Live       string
	Modes      []string
	Produced   string
	Produce    produceForm
	Ranges     []partitionRange
}

type partitionRange struct {
	Partition        int32
	LogStart, End    int64
	ShownFrom, Shown int64
}

func (c *Console) messagesPage(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	q, err := parseBrowseQuery(r)
	data := &messagesData{Q: q, Modes: decodeModes, Produced: r.URL.Query().Get("produced"),
		Produce: produceForm{Partition: "default"}}
	if err != nil {
		data.Error = err.Error()
		w.WriteHeader(http.StatusBadRequest)
		c.render(w, r, "messages.html", "Messages · "+q.Topic, data)
		return
	}
	data.Self, data.Export, data.Live = q.url(""), q.url("/export"), "/topics/"+url.PathEscape(q.Topic)+"/messages/live"
	c.loadPartitions(r.Context(), s, data)
	if q.Filter != "" {
		if _, err := ParseFilter(q.Filter); err != nil {
			data.FilterErr = err.Error()
			w.WriteHeader(http.StatusBadRequest)
		} else {
			data.Search = q.url("/search")
		}
		c.render(w, r, "messages.html", "Messages · "+q.Topic, data)
		return
	}
	if err := c.browse(r.Context(), s, q, data); err != nil {
		data.Error = err.Error()
	}
	c.render(w, r, "messages.html", "Messages · "+q.Topic, data)
}

// loadPartitions lists the topic's partitions for the form's choice.
func (c *Console) loadPartitions(ctx context.Context, s *Session, data *messagesData) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	topics, err := s.Admin.ListTopics(ctx, data.Q.Topic)
	if err != nil {
		return
	}
	for p := range topics[data.Q.Topic].Partitions {
		data.Partitions = append(data.Partitions, p)
	}
	slices.Sort(data.Partitions)
}

// browse reads one page: up to Limit records from each partition from its start, merged by
// time (then partition and offset), the first Limit shown (the last Limit from the newest).
func (c *Console) browse(ctx context.Context, s *Session, q browseQuery, data *messagesData) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ranges, err := c.ranges(ctx, s, q)
	if err != nil {
		return err
	}
	var recs []*kgo.Record
	perPartition := make(map[int32]int)
	bytesRead := 0
	_, err = c.scan(ctx, s, q.Topic, ranges, q.Committed, func(rec *kgo.Record) scanAction {
		recs = append(recs, rec)
		bytesRead += len(rec.Key) + len(rec.Value)
		perPartition[rec.Partition]++
		if bytesRead > maxPageBytes {
			return scanStop
		}
		if perPartition[rec.Partition] >= q.Limit {
			return scanPartitionDone
		}
		return scanNext
	})
	if err != nil {
		return err
	}
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		if q.Partition < 0 && !a.Timestamp.Equal(b.Timestamp) {
			return a.Timestamp.Before(b.Timestamp)
		}
		if a.Partition != b.Partition {
			return a.Partition < b.Partition
		}
		return a.Offset < b.Offset
	})
	if len(recs) > q.Limit {
		if q.Start == "newest" && q.Positions == nil {
			recs = recs[len(recs)-q.Limit:]
		} else {
			recs = recs[:q.Limit]
		}
	}
	keys := &decoder{c: c, s: s, ctx: ctx, mode: q.Key, pretty: true}
	values := &decoder{c: c, s: s, ctx: ctx, mode: q.Value, pretty: true}
	for _, rec := range recs {
		data.Rows = append(data.Rows, row(rec, keys, values))
	}
	pageLinks(q, ranges, recs, data)
	return nil
}

// pageLinks sets the page's ranges and its next and previous links: the next page starts
// after the last record shown of each partition, the previous one Limit records before the
// first.
func pageLinks(q browseQuery, ranges map[int32]scanRange, recs []*kgo.Record, data *messagesData) {
	first, last := map[int32]int64{}, map[int32]int64{}
	for _, rec := range recs {
		if _, ok := first[rec.Partition]; !ok {
			first[rec.Partition] = rec.Offset
		}
		last[rec.Partition] = rec.Offset
	}
	next, prev := map[int32]int64{}, map[int32]int64{}
	hasNext, hasPrev := false, false
	for p, r := range ranges {
		n := r.Start
		if o, ok := last[p]; ok {
			n = o + 1
		}
		next[p] = n
		hasNext = hasNext || n < r.End
		f := n
		if o, ok := first[p]; ok {
			f = o
		}
		prev[p] = max(r.LogStart, f-int64(q.Limit))
		hasPrev = hasPrev || f > r.LogStart
		shown := int64(0)
		if o, ok := first[p]; ok {
			shown = last[p] - o + 1
		}
		data.Ranges = append(data.Ranges, partitionRange{Partition: p, LogStart: r.LogStart, End: r.End, ShownFrom: f, Shown: shown})
	}
	slices.SortFunc(data.Ranges, func(a, b partitionRange) int { return int(a.Partition - b.Partition) })
	if hasNext {
		nq := q
		nq.Positions = next
		data.Next = nq.url("")
	}
	if hasPrev {
		pq := q
		pq.Positions = prev
		data.Prev = pq.url("")
	}
}

// produceForm is the produce form's fields, kept when Kafka refuses the record.
type produceForm struct {
	Partition, Key, Value, Headers string
	KeyNull                        bool
	Error                          string
}

// maxProduceBytes bounds a produced record's form.
const maxProduceBytes = 4 << 20

func (c *Console) produceMessage(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	topic := r.PathValue("name")
	r.Body = http.MaxBytesReader(w, r.Body, maxProduceBytes)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, http.StatusBadRequest, "the form: "+err.Error())
		return
	}
	f := produceForm{Partition: r.PostFormValue("partition"), Key: r.PostFormValue("key"), Value: r.PostFormValue("value"),
		Headers: r.PostFormValue("headers"), KeyNull: r.PostFormValue("key_null") != ""}
	p, err := c.produce(r.Context(), s, topic, f)
	if err != nil {
		f.Error = err.Error()
		q := browseQuery{Topic: topic, Partition: -1, Start: "newest", Limit: defaultPageSize, Key: decodeAuto, Value: decodeAuto, Max: defaultMaxMatches}
		data := &messagesData{Q: q, Modes: decodeModes, Produce: f, Self: q.url(""), Export: q.url("/export"),
			Live: "/topics/" + url.PathEscape(topic) + "/messages/live"}
		c.loadPartitions(r.Context(), s, data)
		w.WriteHeader(http.StatusBadRequest)
		c.render(w, r, "messages.html", "Messages · "+topic, data)
		return
	}
	q := browseQuery{Topic: topic, Partition: p.Partition, Start: "offset", Offset: p.Offset, Limit: defaultPageSize,
		Key: decodeAuto, Value: decodeAuto, Max: defaultMaxMatches}
	v := q.values()
	v.Set("produced", fmt.Sprintf("%d@%d", p.Partition, p.Offset))
	http.Redirect(w, r, "/topics/"+url.PathEscape(topic)+"/messages?"+v.Encode(), http.StatusSeeOther)
}

// produce writes the form's record with a producer of the session's user and returns it
// with its partition and offset.
func (c *Console) produce(ctx context.Context, s *Session, topic string, f produceForm) (*kgo.Record, error) {
	rec := &kgo.Record{Topic: topic, Value: []byte(f.Value)}
	if !f.KeyNull {
		rec.Key = []byte(f.Key)
	}
	for i, line := range strings.Split(strings.ReplaceAll(f.Headers, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("header line %d: want name=value", i+1)
		}
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	opts := []kgo.Opt{kgo.DisableIdempotentWrite(), kgo.RecordRetries(3), kgo.RecordDeliveryTimeout(15 * time.Second)}
	if f.Partition != "" && f.Partition != "default" {
		n, err := strconv.ParseInt(f.Partition, 10, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("partition %q is not a partition number", f.Partition)
		}
		rec.Partition = int32(n)
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	cl, err := c.NewClient(ctx, s, opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return nil, fmt.Errorf("produce to %s: %w", topic, err)
	}
	return rec, nil
}
