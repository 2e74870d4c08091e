package cli

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestParseOffset(t *testing.T) {
	cases := []struct {
		name, spec string
		want       kgo.Offset
		wantErr    string
	}{
		{name: "start", spec: "start", want: kgo.NewOffset().AtStart()},
		{name: "beginning", spec: "beginning", want: kgo.NewOffset().AtStart()},
		{name: "end", spec: "end", want: kgo.NewOffset().AtEnd()},
		{name: "exact", spec: "42", want: kgo.NewOffset().At(42)},
		{name: "zero", spec: "0", want: kgo.NewOffset().At(0)},
		{name: "timestamp", spec: "@1700000000000", want: kgo.NewOffset().AfterMilli(1700000000000)},
		{name: "negative", spec: "-3", wantErr: "use start, end"},
		{name: "word", spec: "latest", wantErr: "use start, end"},
		{name: "bad timestamp", spec: "@yesterday", wantErr: "Unix milliseconds"},
		{name: "empty timestamp", spec: "@", wantErr: "Unix milliseconds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseOffset(tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseOffset(%q) error %v, want one containing %q", tc.spec, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want.String() {
				t.Errorf("parseOffset(%q) = %v, want %v", tc.spec, got, tc.want)
			}
		})
	}
}

func TestParseKeyValues(t *testing.T) {
	cases := []struct {
		name    string
		in      []string
		want    map[string]string
		wantErr bool
	}{
		{name: "one", in: []string{"retention.ms=1000"}, want: map[string]string{"retention.ms": "1000"}},
		{name: "value with equals", in: []string{"a=b=c"}, want: map[string]string{"a": "b=c"}},
		{name: "empty value", in: []string{"a="}, want: map[string]string{"a": ""}},
		{name: "last wins", in: []string{"a=1", "a=2"}, want: map[string]string{"a": "2"}},
		{name: "no equals", in: []string{"retention.ms"}, wantErr: true},
		{name: "empty key", in: []string{"=1"}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseKeyValues("--config", tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseKeyValues(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestSplitLine(t *testing.T) {
	cases := []struct {
		name, line, sep string
		key, value      string
		nilKey          bool
	}{
		{name: "no separator flag", line: "a:b", sep: "", value: "a:b", nilKey: true},
		{name: "split at first", line: "k:v:w", sep: ":", key: "k", value: "v:w"},
		{name: "missing separator", line: "plain", sep: ":", value: "plain", nilKey: true},
		{name: "empty key", line: ":v", sep: ":", key: "", value: "v"},
		{name: "multi-byte separator", line: "k::v", sep: "::", key: "k", value: "v"},
		{name: "tab", line: "k\tv", sep: "\t", key: "k", value: "v"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key, value := splitLine([]byte(tc.line), tc.sep)
			if (key == nil) != tc.nilKey || string(key) != tc.key || string(value) != tc.value {
				t.Errorf("splitLine(%q, %q) = %q (nil %v), %q", tc.line, tc.sep, key, key == nil, value)
			}
		})
	}
}

func TestParseHeadersKeepsOrderAndRepeats(t *testing.T) {
	got, err := parseHeaders([]string{"b=2", "a=1", "b=3"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"b=2", "a=1", "b=3"}
	if len(got) != len(want) {
		t.Fatalf("got %d headers, want %d", len(got), len(want))
	}
	for i, h := range got {
		if h.Key+"="+string(h.Value) != want[i] {
			t.Errorf("header %d = %s=%s, want %s", i, h.Key, h.Value, want[i])
		}
	}
	if _, err := parseHeaders([]string{"novalue"}); err == nil {
		t.Error("header without = accepted")
	}
}

func TestTopicAlterations(t *testing.T) {
	got, err := topicAlterations([]string{"retention.ms=1000", "cleanup.policy=compact"}, []string{"segment.bytes"})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		op    kadm.IncrementalOp
		name  string
		value string
	}{{kadm.SetConfig, "cleanup.policy", "compact"}, {kadm.SetConfig, "retention.ms", "1000"}, {kadm.DeleteConfig, "segment.bytes", ""}}
	if len(got) != len(want) {
		t.Fatalf("got %d alterations, want %d", len(got), len(want))
	}
	for i, w := range want {
		v := ""
		if got[i].Value != nil {
			v = *got[i].Value
		}
		if got[i].Op != w.op || got[i].Name != w.name || v != w.value {
			t.Errorf("alteration %d = %+v, want %+v", i, got[i], w)
		}
	}
	if _, err := topicAlterations(nil, nil); err == nil {
		t.Error("no alterations accepted")
	}
}

func TestOptionValidation(t *testing.T) {
	cases := []struct {
		name    string
		run     func() error
		wantErr string
	}{
		{"acks", func() error {
			o := produceOptions{acks: "2", compression: "none"}
			_, err := o.producerOpts()
			return err
		}, "use 0, 1 or all"},
		{"compression", func() error {
			o := produceOptions{acks: "1", compression: "brotli"}
			_, err := o.producerOpts()
			return err
		}, "use none, gzip"},
		{"isolation", func() error {
			o := consumeOptions{offset: "start", isolation: "dirty"}
			_, err := o.consumerOpts("t")
			return err
		}, "read_committed or read_uncommitted"},
		{"partition", func() error {
			o := consumeOptions{offset: "start", isolation: "read_committed", partitions: []int32{-1}}
			_, err := o.consumerOpts("t")
			return err
		}, "numbered from 0"},
		{"format", func() error { o := clientOptions{brokers: "x:1", format: "yaml"}; _, err := o.client(); return err }, "use text or json"},
		{"no brokers", func() error { o := clientOptions{brokers: " , "}; _, err := o.client(); return err }, "SLUICE_BROKERS"},
		{"template", func() error { _, err := newRecordPrinter(nil, "text", "{{.Value"); return err }, "--template"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
