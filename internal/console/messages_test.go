package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/hamba/avro/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/sluicehq/sluice/internal/registry/protobuf"
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
	if q, _ := parse("partition=1&offset=7"); q.Start != "offset" || q.Offset != 7 || q.Partition != 1 {
		t.Fatalf("a link with an offset: %+v", q)
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

const (
	testAvroSchema  = `{"type":"record","name":"Pay","fields":[{"name":"customer","type":"string"},{"name":"amount","type":"long"},{"name":"raw","type":"bytes"}]}`
	testProtoSchema = `syntax = "proto3"; package shop; message Other { string x = 1; } message Pay { string customer = 1; int64 amount = 2; map<string, Other> m = 3; }`
)

// registryConsole is a console whose registry (an httptest server) has schema 1 (Avro),
// 2 (JSON Schema) and 3 (Protobuf); calls counts its requests.
func registryConsole(tb testing.TB) (*Console, *int) {
	schemas := map[string]map[string]string{
		"1": {"schema": testAvroSchema},
		"2": {"schema": `{"type":"object"}`, "schemaType": "JSON"},
		"3": {"schema": testProtoSchema, "schemaType": "PROTOBUF"},
	}
	calls := new(int)
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		*calls++
		mu.Unlock()
		id := strings.TrimPrefix(r.URL.Path, "/schemas/ids/")
		s, ok := schemas[id]
		if !ok {
			w.WriteHeader(404)
			w.Write([]byte(`{"error_code":40403,"message":"Schema ` + id + ` not found"}`))
			return
		}
		json.NewEncoder(w).Encode(s)
	}))
	c := &Console{opts: Options{RegistryURL: srv.URL}, http: srv.Client(), stop: make(chan struct{}),
		msgs: &messageState{jobs: make(map[string]*searchJob), closed: make(chan struct{})}}
	tb.Cleanup(func() {
		close(c.stop)
		srv.Close()
	})
	return c, calls
}

// TestDecodeRegistry decodes Confluent's wire format with schemas from a registry's
// /schemas/ids/{id}: Avro, JSON Schema and Protobuf; an unknown id falls back with a note.
func TestDecodeRegistry(t *testing.T) {
	c, callCount := registryConsole(t)
	s := &Session{}
	wire := func(id byte, payload ...[]byte) []byte {
		b := []byte{0, 0, 0, 0, id}
		for _, p := range payload {
			b = append(b, p...)
		}
		return b
	}

	avroPayload, err := avro.Marshal(avro.MustParse(testAvroSchema), map[string]any{"customer": "alice", "amount": int64(42), "raw": []byte{0xff, 1}})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := protobuf.Compile(testProtoSchema, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := dynamicpb.NewMessage(fd.Messages().ByName("Pay"))
	m.Set(fd.Messages().ByName("Pay").Fields().ByName("customer"), protoreflect.ValueOfString("bob"))
	m.Set(fd.Messages().ByName("Pay").Fields().ByName("amount"), protoreflect.ValueOfInt64(7))
	protoPayload, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, mode string
		in         []byte
		format     string
		text       []string
		note       string
	}{
		{"avro", decodeAuto, wire(1, avroPayload), "avro", []string{`"customer": "alice"`, `"amount": 42`, `"raw": "ff01"`}, ""},
		{"json schema", decodeRegistry, wire(2, []byte(`{"a": [1]}`)), "json-schema", []string{`"a": [`}, ""},
		// Message index [1] (the second message): the count 1 and the index 1, as zig-zag varints.
		{"protobuf", decodeAuto, wire(3, []byte{2, 2}, protoPayload), "protobuf", []string{`"customer": "bob"`, `"amount": "7"`}, ""},
		{"unknown id, auto", decodeAuto, wire(9, []byte("x")), decodeHex, []string{"00 00 00 00 09"}, ""},
		{"unknown id, registry", decodeRegistry, wire(9, []byte("x")), decodeHex, nil, "schema id 9"},
		{"avro bytes that do not fit", decodeAuto, wire(1, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}), decodeHex, nil, "Avro schema id 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &decoder{c: c, s: s, ctx: t.Context(), mode: tc.mode, pretty: true}
			out := d.decode(tc.in, false)
			if out.Format != tc.format || !strings.Contains(out.Note, tc.note) {
				t.Fatalf("%+v: want format %s, note with %q", out, tc.format, tc.note)
			}
			for _, want := range tc.text {
				if !strings.Contains(out.Text, want) {
					t.Fatalf("%s: text %q lacks %q", tc.name, out.Text, want)
				}
			}
		})
	}
	before := *callCount
	(&decoder{c: c, s: s, ctx: t.Context(), mode: decodeAuto}).decode(wire(1, avroPayload), false)
	if *callCount != before {
		t.Fatalf("schema 1 fetched again: %d calls, then %d", before, *callCount)
	}
}

// FuzzDecode: any key or value bytes decode in every mode without a panic, whatever schema
// their header names.
func FuzzDecode(f *testing.F) {
	c, _ := registryConsole(f)
	for _, seed := range [][]byte{{0, 0, 0, 0, 1, 10, 'a', 'l', 'i', 'c', 'e', 84, 0}, {0, 0, 0, 0, 3, 2, 2, 10, 3, 'b', 'o', 'b'},
		{0, 0, 0, 0, 2, '{', '}'}, []byte(`{"a":1}`), {0xff}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, mode := range decodeModes {
			d := &decoder{c: c, s: &Session{}, ctx: context.Background(), mode: mode, pretty: mode == decodeAuto}
			out := d.decode(b, false)
			if out.Format == "" {
				t.Fatalf("%q as %s: no format", b, mode)
			}
		}
	})
}
