package console

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A search scans the chosen partitions from the chosen start (the oldest by default) to
// their ends as they were when it started, evaluating the filter on every record, as a job:
// the page starts it (POST …/messages/search?<the page's query>), polls its progress and
// matches (GET …/search/{id}) and may cancel it. It stops after the query's max matches and
// says how far it got. A session runs at most maxJobsPerSession jobs and the console maxJobs;
// finished jobs are forgotten after jobKeep, or sooner (the oldest first) when maxJobs are kept.

const (
	maxJobsPerSession = 4
	maxJobs           = 16
	// maxJobBytes bounds the matches a job keeps (their shown keys and values).
	maxJobBytes = 16 << 20
	jobKeep     = 10 * time.Minute
	jobTimeout  = 5 * time.Minute
)

type searchJob struct {
	id      string
	s       *Session
	q       browseQuery
	cancel  context.CancelFunc
	started time.Time

	total   int64 // records in the ranges
	scanned atomic.Int64
	matches atomic.Int64

	mu       sync.Mutex // guards the fields below
	rows     []messageRow
	state    string // running, done, stopped (max matches), cancelled, failed
	err      string
	next     map[int32]int64
	ended    time.Time
	elapsed  time.Duration
	resumeAt string // a URL searching on from where this one stopped
}

// searchStatusJSON is what the page polls.
type searchStatusJSON struct {
	ID        string       `json:"id"`
	State     string       `json:"state"`
	Scanned   int64        `json:"scanned"`
	Total     int64        `json:"total"`
	Matches   int64        `json:"matches"`
	Max       int          `json:"max"`
	Error     string       `json:"error,omitempty"`
	ElapsedMS int64        `json:"elapsedMs"`
	Positions string       `json:"positions,omitempty"` // how far it got: partition:offset,…
	Resume    string       `json:"resume,omitempty"`
	Rows      []messageRow `json:"rows,omitempty"`
}

func (c *Console) startSearch(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	q, err := parseBrowseQuery(r)
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	f, err := ParseFilter(q.Filter)
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	ms := c.messages()
	ms.mu.Lock()
	ms.expireLocked()
	mine, running := 0, 0
	var oldest *searchJob // the finished job that ended first
	for _, j := range ms.jobs {
		j.mu.Lock()
		if j.state == "running" {
			running++
			if j.s == s {
				mine++
			}
		} else if oldest == nil || j.ended.Before(oldest.ended) {
			oldest = j
		}
		j.mu.Unlock()
	}
	if len(ms.jobs) >= maxJobs && oldest != nil {
		delete(ms.jobs, oldest.id) // its page can no longer fetch the results; it can run it again
	}
	if mine >= maxJobsPerSession || running >= maxJobs {
		ms.mu.Unlock()
		c.fail(w, r, http.StatusTooManyRequests, "too many searches at once: cancel one or wait for it")
		return
	}
	var raw [12]byte
	rand.Read(raw[:])
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	j := &searchJob{id: hex.EncodeToString(raw[:]), s: s, q: q, cancel: cancel, started: time.Now(), state: "running"}
	ms.jobs[j.id] = j
	ms.mu.Unlock()

	rctx, rcancel := context.WithTimeout(r.Context(), 15*time.Second)
	ranges, err := c.ranges(rctx, s, q)
	rcancel()
	if err != nil {
		j.finish("failed", err.Error(), nil)
		cancel()
		c.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	for _, rg := range ranges {
		j.total += rg.End - rg.Start
	}
	go func() {
		defer cancel()
		c.runSearch(ctx, j, f, ranges)
	}()
	writeJSON(w, http.StatusAccepted, j.status(false))
}

func (c *Console) runSearch(ctx context.Context, j *searchJob, f *Filter, ranges map[int32]scanRange) {
	keys := &decoder{c: c, s: j.s, ctx: ctx, mode: j.q.Key}
	values := &decoder{c: c, s: j.s, ctx: ctx, mode: j.q.Value}
	show := [2]*decoder{{c: c, s: j.s, ctx: ctx, mode: j.q.Key, pretty: true}, {c: c, s: j.s, ctx: ctx, mode: j.q.Value, pretty: true}}
	fr := &filterRecord{Decode: filterDecode(f, keys, values)}
	max := int64(j.q.Max)
	stopped, full := false, false
	kept := 0
	next, err := c.scan(ctx, j.s, j.q.Topic, ranges, j.q.Committed, func(rec *kgo.Record) scanAction {
		j.scanned.Add(1)
		setFilterRecord(fr, rec)
		if !f.Match(fr) {
			return scanNext
		}
		m := row(rec, show[0], show[1])
		kept += len(m.Key.Text) + len(m.Value.Text) + 256
		for _, h := range m.Headers {
			kept += len(h.Key) + len(h.Value)
		}
		j.mu.Lock()
		j.rows = append(j.rows, m)
		j.mu.Unlock()
		if j.matches.Add(1) >= max {
			stopped = true
			return scanStop
		}
		if kept >= maxJobBytes {
			full = true
			return scanStop
		}
		return scanNext
	})
	switch {
	case ctx.Err() == context.Canceled:
		j.finish("cancelled", "", next)
	case err != nil:
		j.finish("failed", err.Error(), next)
	case stopped:
		j.finish("stopped", fmt.Sprintf("stopped after %d matches", max), next)
	case full:
		j.finish("stopped", fmt.Sprintf("stopped after %d matches: their keys and values fill %d MiB; the export has them all", j.matches.Load(), maxJobBytes>>20), next)
	default:
		j.finish("done", "", next)
	}
}

// setFilterRecord points fr at rec, forgetting the previous record's decoding.
func setFilterRecord(fr *filterRecord, rec *kgo.Record) {
	dec := fr.Decode
	headers := fr.Headers[:0]
	for _, h := range rec.Headers {
		headers = append(headers, filterHeader{h.Key, h.Value})
	}
	*fr = filterRecord{Key: rec.Key, Value: rec.Value, KeyNull: rec.Key == nil, ValueNull: rec.Value == nil,
		Headers: headers, Offset: rec.Offset, Partition: rec.Partition, Timestamp: rec.Timestamp.UnixMilli(), Decode: dec}
}

// filterDecode decodes a key or value for the filter: only as far as the expression needs
// (the bytes' text when it looks at no path and they are not in the registry's format).
func filterDecode(f *Filter, keys, values *decoder) func([]byte, bool) (string, any, bool) {
	return func(b []byte, isKey bool) (string, any, bool) {
		d, needDoc := values, f.usesValueDoc
		if isKey {
			d, needDoc = keys, f.usesKeyDoc
		}
		wire := len(b) >= 5 && b[0] == 0 && d.c.opts.RegistryURL != ""
		switch d.mode {
		case decodeHex:
			return hex.EncodeToString(b), nil, false
		case decodeText:
			if !needDoc {
				return string(b), nil, false
			}
		case decodeAuto, decodeJSON, decodeRegistry:
			if !wire {
				if !needDoc {
					return string(b), nil, false
				}
				if json.Valid(b) {
					return string(b), rawJSON(b), true
				}
				return string(b), nil, false
			}
		}
		out := d.decode(b, false)
		return out.Text, out.Doc, out.IsDoc
	}
}

func (j *searchJob) running() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state == "running"
}

func (j *searchJob) finish(state, msg string, next map[int32]int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.state, j.err, j.next, j.ended, j.elapsed = state, msg, next, time.Now(), time.Since(j.started)
	// In time order, as a page of all partitions is (the scan interleaves partitions by fetch).
	slices.SortStableFunc(j.rows, func(a, b messageRow) int {
		return cmp.Or(cmp.Compare(a.Timestamp, b.Timestamp), cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
	})
	if state != "done" && len(next) > 0 {
		q := j.q
		q.Positions = next
		j.resumeAt = q.url("")
	}
}

func (j *searchJob) status(withRows bool) searchStatusJSON {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := searchStatusJSON{ID: j.id, State: j.state, Scanned: j.scanned.Load(), Total: j.total, Matches: j.matches.Load(),
		Max: j.q.Max, Error: j.err, ElapsedMS: time.Since(j.started).Milliseconds(), Resume: j.resumeAt}
	if j.state != "running" {
		st.ElapsedMS = j.elapsed.Milliseconds()
		st.Positions = formatPositions(j.next)
	}
	if withRows {
		st.Rows = j.rows
	}
	return st
}

// expireLocked forgets finished jobs older than jobKeep.
func (ms *messageState) expireLocked() {
	for id, j := range ms.jobs {
		j.mu.Lock()
		old := j.state != "running" && time.Since(j.ended) > jobKeep
		j.mu.Unlock()
		if old {
			delete(ms.jobs, id)
		}
	}
}

// job is the session's job of that id.
func (c *Console) job(r *http.Request) *searchJob {
	ms := c.messages()
	ms.mu.Lock()
	defer ms.mu.Unlock()
	ms.expireLocked()
	j := ms.jobs[r.PathValue("id")]
	if j == nil || j.s != sessionOf(r) || j.q.Topic != r.PathValue("name") {
		return nil
	}
	return j
}

// searchStatus answers a job's progress; its matches once it has ended, or with rows=1.
func (c *Console) searchStatus(w http.ResponseWriter, r *http.Request) {
	j := c.job(r)
	if j == nil {
		c.fail(w, r, http.StatusNotFound, "no such search (searches are kept for 10 minutes after they end)")
		return
	}
	withRows := !j.running() || r.URL.Query().Get("rows") == "1"
	writeJSON(w, http.StatusOK, j.status(withRows))
}

func (c *Console) cancelSearch(w http.ResponseWriter, r *http.Request) {
	j := c.job(r)
	if j == nil {
		c.fail(w, r, http.StatusNotFound, "no such search")
		return
	}
	j.cancel()
	writeJSON(w, http.StatusOK, j.status(false))
}

// The export: the records of the page's query (from its start; with a filter, the matching
// ones) as JSON lines, streamed, at most max records (default 10,000 without a filter, the
// query's max matches with one) and maxExportBytes.

const (
	defaultExport  = 10000
	maxExport      = 1000000
	maxExportBytes = 1 << 30
)

// exportLine is one record of the export. Key and value are JSON when they decoded to a
// document (JSON, or through the registry), else text (hex for binary).
type exportLine struct {
	Topic         string          `json:"topic"`
	Partition     int32           `json:"partition"`
	Offset        int64           `json:"offset"`
	Timestamp     string          `json:"timestamp"`
	TimestampType string          `json:"timestampType,omitempty"`
	Key           json.RawMessage `json:"key"`
	KeyFormat     string          `json:"keyFormat"`
	Value         json.RawMessage `json:"value"`
	ValueFormat   string          `json:"valueFormat"`
	SchemaID      int             `json:"schemaId,omitempty"`
	Headers       []headerRow     `json:"headers,omitempty"`
}

func (c *Console) exportMessages(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	q, err := parseBrowseQuery(r)
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	var f *Filter
	limit := int64(defaultExport)
	if q.Filter != "" {
		if f, err = ParseFilter(q.Filter); err != nil {
			c.fail(w, r, http.StatusBadRequest, err.Error())
			return
		}
		limit = int64(q.Max)
	}
	if v := r.URL.Query().Get("count"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > maxExport {
			c.fail(w, r, http.StatusBadRequest, fmt.Sprintf("count %q: a number from 1 to %d", v, maxExport))
			return
		}
		limit = n
	}
	if q.Start == "newest" && q.Positions == nil {
		q.Limit = int(min(limit, maxPageSize))
	}
	ctx, cancel := context.WithTimeout(r.Context(), jobTimeout)
	defer cancel()
	ranges, err := c.ranges(ctx, s, q)
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	keys := &decoder{c: c, s: s, ctx: ctx, mode: q.Key}
	values := &decoder{c: c, s: s, ctx: ctx, mode: q.Value}
	var fr *filterRecord
	if f != nil {
		fr = &filterRecord{Decode: filterDecode(f, keys, values)}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", exportName(q.Topic)))
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	var written, bytesOut int64
	_, err = c.scan(ctx, s, q.Topic, ranges, q.Committed, func(rec *kgo.Record) scanAction {
		if fr != nil {
			setFilterRecord(fr, rec)
			if !f.Match(fr) {
				return scanNext
			}
		}
		line := exportRecord(rec, keys, values)
		if err := enc.Encode(line); err != nil {
			return scanStop
		}
		written++
		bytesOut += int64(len(line.Key) + len(line.Value) + 128)
		if written >= limit || bytesOut >= maxExportBytes {
			return scanStop
		}
		return scanNext
	})
	if err != nil && written == 0 {
		bw.Reset(w)
		w.Header().Del("Content-Disposition")
		c.fail(w, r, http.StatusBadGateway, err.Error())
		return
	}
	if err != nil {
		// The status is sent; the last line says the export is incomplete.
		enc.Encode(map[string]string{"error": err.Error()})
	}
	bw.Flush()
}

func exportName(topic string) string {
	b := []byte(topic)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b) + "-messages.jsonl"
}

func exportRecord(rec *kgo.Record, keys, values *decoder) exportLine {
	l := exportLine{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset,
		Timestamp: rec.Timestamp.UTC().Format(time.RFC3339Nano), TimestampType: timestampType(rec)}
	k := keys.decode(rec.Key, rec.Key == nil)
	v := values.decode(rec.Value, rec.Value == nil)
	l.Key, l.KeyFormat = exportJSON(k, rec.Key), k.Format
	l.Value, l.ValueFormat = exportJSON(v, rec.Value), v.Format
	l.SchemaID = v.SchemaID
	for _, h := range rec.Headers {
		l.Headers = append(l.Headers, headerRow{h.Key, string(h.Value)})
	}
	return l
}

func exportJSON(d decoded, raw []byte) json.RawMessage {
	if d.Null {
		return json.RawMessage("null")
	}
	if d.IsDoc {
		if b, err := json.Marshal(d.Doc); err == nil {
			return b
		}
	}
	text := d.Text
	if d.Format == decodeHex {
		text = hex.EncodeToString(raw)
	}
	b, _ := json.Marshal(text)
	return b
}
