package console

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestDecodeModes(t *testing.T) {
	c := &Console{}
	cases := []struct {
		name, mode string
		in         []byte
		null       bool
		format     string
		text       string
		note       string
	}{
		{"null", decodeAuto, nil, true, "null", "", ""},
		{"auto json", decodeAuto, []byte(`{"a":1}`), false, decodeJSON, "{\n  \"a\": 1\n}", ""},
		{"auto text", decodeAuto, []byte("hello world"), false, decodeText, "hello world", ""},
		{"auto binary", decodeAuto, []byte{1, 2, 0xff}, false, decodeHex, "00000000  01 02 ff", ""},
		{"auto wire format without a registry", decodeAuto, []byte{0, 0, 0, 0, 7, 'x'}, false, decodeHex, "00 00 00 00 07 78", ""},
		{"registry without a registry", decodeRegistry, []byte{0, 0, 0, 0, 7, 'x'}, false, decodeHex, "00 00 00 00 07", "no schema registry"},
		{"json of text", decodeJSON, []byte("plain"), false, decodeText, "plain", "not JSON"},
		{"hex", decodeHex, []byte("AB"), false, decodeHex, "41 42", ""},
		{"text of binary", decodeText, []byte{'a', 0xff}, false, decodeText, "a\uFFFD", ""},
		{"empty", decodeAuto, []byte{}, false, decodeText, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &decoder{c: c, mode: tc.mode, pretty: true}
			out := d.decode(tc.in, tc.null)
			if out.Null != tc.null || out.Format != tc.format || !strings.Contains(out.Text, tc.text) || !strings.Contains(out.Note, tc.note) {
				t.Fatalf("decode %q as %s = %+v; want format %s, text with %q, note with %q", tc.in, tc.mode, out, tc.format, tc.text, tc.note)
			}
		})
	}
}

func TestBrowseQuery(t *testing.T) {
	parse := func(raw string) (browseQuery, error) {
		r := httptest.NewRequest("GET", "/topics/orders/messages?"+raw, nil)
		r.SetPathValue("name", "orders")
		return parseBrowseQuery(r)
	}
	good := []string{
		"",
		"partition=2&start=offset&offset=100&limit=20&value=json",
		"start=timestamp&time=2026-01-15T10:00:00Z&key=hex&isolation=read_committed",
		"start=oldest&positions=0:15,1:98&filter=" + url.QueryEscape(`value.a == 1`) + "&max=20",
	}
	for _, raw := range good {
		q, err := parse(raw)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		// The URL the page links to reads back as the same query.
		again, err := parse(q.values().Encode())
		if err != nil || again.values().Encode() != q.values().Encode() {
			t.Fatalf("%q: round trip %q → %v %q", raw, q.values().Encode(), err, again.values().Encode())
		}
	}
	if q, _ := parse(""); q.Start != "newest" || q.Limit != defaultPageSize || q.Partition != -1 || q.Key != decodeAuto {
		t.Fatalf("defaults: %+v", q)
	}
	if q, _ := parse("filter=key"); q.Start != "oldest" {
		t.Fatalf("a filter starts at %q, want oldest", q.Start)
	}
	bad := map[string]string{
		"partition=x":                 "not a partition number",
		"start=offset&offset=-1":      "not an offset",
		"start=timestamp&time=monday": "not a time",
		"start=sideways":              "use oldest, newest, offset or timestamp",
		"limit=501":                   "from 1 to 500",
		"max=0":                       "from 1 to 10000",
		"value=base64":                "decoding",
		"positions=0-1":               "partition:offset pairs",
	}
	for raw, msg := range bad {
		if _, err := parse(raw); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want %q", raw, err, msg)
		}
	}
}
