// Package httpsink is an HTTP sink accepting the configuration of Confluent's
// HttpSinkConnector: record values are sent to http.api.url in batches (batch.max.size, joined
// by batch.prefix, batch.separator and batch.suffix), as JSON or as strings
// (request.body.format), with headers and basic auth; failed requests (connection errors, 429
// and 5xx, and the codes in retry.on.status.codes) are retried max.retries times with
// exponential backoff from retry.backoff.ms; other errors fail the task unless
// behavior.on.error is log or ignore.
package httpsink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/connect"
	"github.com/sluicehq/sluice/internal/connect/converter"
)

// Class is Confluent's HTTP sink class name.
const Class = "io.confluent.connect.http.HttpSinkConnector"

const version = "1.7.0.sluice"

func init() {
	connect.RegisterPlugin(&connect.Plugin{Class: Class, Aliases: []string{"HttpSinkConnector"}, Kind: connect.Sink, Version: version,
		New:         func() connect.Connector { return &connect.BasicConnector{Ver: version, Keys: configKeys()} },
		NewSinkTask: func() connect.SinkTask { return &task{} }})
}

func intAtLeast(n int) func(string) error {
	return func(v string) error {
		if i, err := strconv.Atoi(v); err != nil || i < n {
			return fmt.Errorf("Invalid value %s: must be a number at least %d", v, n)
		}
		return nil
	}
}

func configKeys() []connect.ConfigKey {
	g := "HTTP"
	return []connect.ConfigKey{
		{Name: "http.api.url", Type: "STRING", Importance: "HIGH", Group: g, Required: true, Documentation: "The URL records are sent to.",
			Validate: func(v string) error {
				if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
					return fmt.Errorf("Invalid value %s: an http:// or https:// URL", v)
				}
				return nil
			}},
		{Name: "request.method", Type: "STRING", Default: connect.Str("POST"), Importance: "HIGH", Group: g, Documentation: "POST, PUT or PATCH."},
		{Name: "headers", Type: "STRING", Default: connect.Str(""), Importance: "MEDIUM", Group: g, Documentation: "Headers as Name:value pairs separated by header.separator."},
		{Name: "header.separator", Type: "STRING", Default: connect.Str("|"), Importance: "LOW", Group: g, Documentation: "Separates the headers."},
		{Name: "request.body.format", Type: "STRING", Default: connect.Str("string"), Importance: "MEDIUM", Group: g, Documentation: "string or json."},
		{Name: "batch.max.size", Type: "INT", Default: connect.Str("1"), Importance: "MEDIUM", Group: g, Documentation: "Records per request.", Validate: intAtLeast(1)},
		{Name: "batch.prefix", Type: "STRING", Default: connect.Str(""), Importance: "LOW", Group: g, Documentation: "Written before a batch."},
		{Name: "batch.suffix", Type: "STRING", Default: connect.Str(""), Importance: "LOW", Group: g, Documentation: "Written after a batch."},
		{Name: "batch.separator", Type: "STRING", Default: connect.Str(","), Importance: "LOW", Group: g, Documentation: "Written between records of a batch."},
		{Name: "max.retries", Type: "INT", Default: connect.Str("10"), Importance: "MEDIUM", Group: g, Documentation: "Retries of a failed request.", Validate: intAtLeast(0)},
		{Name: "retry.backoff.ms", Type: "INT", Default: connect.Str("3000"), Importance: "MEDIUM", Group: g, Documentation: "The first retry's wait; doubled each retry (up to a minute).", Validate: intAtLeast(0)},
		{Name: "retry.on.status.codes", Type: "STRING", Default: connect.Str("429,500-"), Importance: "LOW", Group: g, Documentation: "Status codes retried: codes and ranges (500-, 400-499)."},
		{Name: "behavior.on.error", Type: "STRING", Default: connect.Str("fail"), Importance: "MEDIUM", Group: g, Documentation: "fail, log or ignore a request that fails for good."},
		{Name: "auth.type", Type: "STRING", Default: connect.Str("NONE"), Importance: "MEDIUM", Group: g, Documentation: "NONE or BASIC."},
		{Name: "connection.user", Type: "STRING", Importance: "MEDIUM", Group: g, Documentation: "The basic-auth user."},
		{Name: "connection.password", Type: "PASSWORD", Importance: "MEDIUM", Group: g, Documentation: "The basic-auth password."},
		{Name: "request.timeout.ms", Type: "INT", Default: connect.Str("30000"), Importance: "LOW", Group: g, Documentation: "A request's timeout.", Validate: intAtLeast(1)},
	}
}

type codeRange struct{ lo, hi int }

func parseCodes(v string) ([]codeRange, error) {
	var out []codeRange
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(p, "-")
		l, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("retry.on.status.codes: %q", p)
		}
		r := codeRange{l, l}
		if isRange {
			r.hi = 599
			if hi != "" {
				if r.hi, err = strconv.Atoi(hi); err != nil {
					return nil, fmt.Errorf("retry.on.status.codes: %q", p)
				}
			}
		}
		out = append(out, r)
	}
	return out, nil
}

type task struct {
	url, method, format string
	headers             [][2]string
	batch               int
	prefix, suffix, sep string
	retries             int
	backoff             time.Duration
	retryCodes          []codeRange
	onError             string
	user, password      string
	basic               bool
	client              *http.Client
	json                converter.Converter
	log                 *slog.Logger
}

func (t *task) Start(_ connect.SinkTaskContext, cfg map[string]string) error {
	get := func(k, d string) string {
		if v, ok := cfg[k]; ok {
			return v
		}
		return d
	}
	t.url, t.method = cfg["http.api.url"], strings.ToUpper(get("request.method", "POST"))
	t.format = strings.ToLower(get("request.body.format", "string"))
	sep := get("header.separator", "|")
	for _, h := range strings.Split(get("headers", ""), sep) {
		if name, val, ok := strings.Cut(h, ":"); ok && strings.TrimSpace(name) != "" {
			t.headers = append(t.headers, [2]string{strings.TrimSpace(name), strings.TrimSpace(val)})
		}
	}
	t.batch, _ = strconv.Atoi(get("batch.max.size", "1"))
	t.batch = max(t.batch, 1)
	t.prefix, t.suffix, t.sep = get("batch.prefix", ""), get("batch.suffix", ""), get("batch.separator", ",")
	t.retries, _ = strconv.Atoi(get("max.retries", "10"))
	ms, _ := strconv.Atoi(get("retry.backoff.ms", "3000"))
	t.backoff = time.Duration(ms) * time.Millisecond
	var err error
	if t.retryCodes, err = parseCodes(get("retry.on.status.codes", "429,500-")); err != nil {
		return err
	}
	t.onError = strings.ToLower(get("behavior.on.error", "fail"))
	t.basic = strings.EqualFold(get("auth.type", "NONE"), "BASIC")
	t.user, t.password = cfg["connection.user"], cfg["connection.password"]
	timeout, _ := strconv.Atoi(get("request.timeout.ms", "30000"))
	t.client = &http.Client{Timeout: time.Duration(max(timeout, 1)) * time.Millisecond}
	if t.json, err = converter.New(converter.JSONClass, map[string]string{"schemas.enable": "false"}, false); err != nil {
		return err
	}
	t.log = slog.Default().With("component", "connect", "connector", cfg["name"], "class", "HttpSinkConnector")
	return nil
}

// body is one record's part of a request.
func (t *task) body(r *connect.SinkRecord) ([]byte, error) {
	if t.format == "json" {
		return t.json.FromConnect(r.Topic, r.ValueSchema, r.Value)
	}
	switch v := r.Value.(type) {
	case nil:
		return []byte("null"), nil
	case string:
		return []byte(v), nil
	case []byte:
		return v, nil
	}
	return []byte(fmt.Sprint(r.Value)), nil
}

func (t *task) Put(recs []connect.SinkRecord) error {
	for start := 0; start < len(recs); start += t.batch {
		var buf bytes.Buffer
		buf.WriteString(t.prefix)
		for i, r := range recs[start:min(start+t.batch, len(recs))] {
			if i > 0 {
				buf.WriteString(t.sep)
			}
			b, err := t.body(&r)
			if err != nil {
				return fmt.Errorf("%s-%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
			}
			buf.Write(b)
		}
		buf.WriteString(t.suffix)
		if err := t.send(buf.Bytes()); err != nil {
			switch t.onError {
			case "ignore":
			case "log":
				t.log.Warn("an HTTP request failed for good; its records are skipped", "err", err)
			default:
				return err
			}
		}
	}
	return nil
}

func (t *task) retryable(code int) bool {
	for _, r := range t.retryCodes {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}

// send makes one request, retrying with exponential backoff.
func (t *task) send(body []byte) error {
	wait := t.backoff
	var last error
	for attempt := 0; attempt <= t.retries; attempt++ {
		if attempt > 0 {
			time.Sleep(wait)
			wait = min(wait*2, time.Minute)
		}
		req, err := http.NewRequestWithContext(context.Background(), t.method, t.url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		for _, h := range t.headers {
			req.Header.Set(h[0], h[1])
		}
		if t.basic {
			req.SetBasicAuth(t.user, t.password)
		}
		resp, err := t.client.Do(req)
		if err != nil {
			last = err
			continue
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		if resp.StatusCode < 300 {
			return nil
		}
		last = fmt.Errorf("HTTP %d from %s: %s", resp.StatusCode, t.url, bytes.TrimSpace(msg))
		if !t.retryable(resp.StatusCode) {
			return last
		}
	}
	return errors.Join(fmt.Errorf("gave up after %d retries", t.retries), last)
}

func (t *task) Flush(map[connect.TopicPartition]int64) error { return nil } // Put sends synchronously

func (t *task) Stop() error { return nil }
