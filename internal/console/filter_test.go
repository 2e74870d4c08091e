package console

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func filterTestRecord() *filterRecord {
	ts := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC).UnixMilli()
	return &filterRecord{
		Key:       []byte("c1"),
		Value:     []byte(`{"amount": 1500, "status": "error: card declined", "tags": ["a", "vip"], "items": [{"sku": "A-1", "qty": 2}], "nested": {"x y": true}, "none": null}`),
		Headers:   []filterHeader{{"trace", []byte("x")}, {"source", []byte("web")}},
		Offset:    42,
		Partition: 3,
		Timestamp: ts,
		Decode: func(b []byte, isKey bool) (string, any, bool) {
			doc, ok := docOf(b)
			return string(b), doc, ok
		},
	}
}

func TestFilterMatch(t *testing.T) {
	cases := []struct {
		name string
		expr string
		want bool
	}{
		{"number and key", `value.amount > 1000 && key == "c1"`, true},
		{"number fails", `value.amount > 2000 && key == "c1"`, false},
		{"or", `value.amount > 2000 || key == "c1"`, true},
		{"contains text", `value contains "error"`, true},
		{"contains text absent", `value contains "panic"`, false},
		{"header", `headers["trace"] == "x"`, true},
		{"header dotted", `headers.source == "web"`, true},
		{"header missing", `headers["nope"] == "x"`, false},
		{"header missing is null", `headers["nope"] == null`, true},
		{"timestamp after", `timestamp >= "2026-01-15T10:00:00Z"`, true},
		{"timestamp before", `timestamp < "2026-01-15T10:00:00Z"`, false},
		{"timestamp date", `timestamp > "2026-01-15"`, true},
		{"timestamp literal first", `"2026-01-16" > timestamp`, true},
		{"offset modulo", `offset % 2 == 0`, true},
		{"offset modulo odd", `offset % 2 == 1`, false},
		{"partition", `partition == 3`, true},
		{"arithmetic", `offset + 8 == 50 && offset * 2 - 4 == 80 && offset / 2 == 21`, true},
		{"unary minus", `-offset == -42`, true},
		{"not", `!(key == "c2")`, true},
		{"not word", `not key == "c1"`, false},
		{"and or words", `key == "c1" and (offset == 1 or offset == 42)`, true},
		{"precedence", `key == "x" && offset == 1 || offset == 42`, true},
		{"precedence 2", `key == "x" && (offset == 1 || offset == 42)`, false},
		{"array element", `value.items[0].sku == "A-1"`, true},
		{"array out of range", `value.items[5].sku == "A-1"`, false},
		{"bracket name with space", `value.nested["x y"] == true`, true},
		{"array contains", `value.tags contains "vip"`, true},
		{"array does not contain", `value.tags contains "v"`, false},
		{"object has key", `value.nested contains "x y"`, true},
		{"startsWith", `value.status startsWith "error"`, true},
		{"endsWith", `value.status endsWith "declined"`, true},
		{"matches", `key matches "^c[0-9]+$"`, true},
		{"matches fails", `key matches "^d"`, false},
		{"missing path", `value.nope > 1`, false},
		{"missing path not equal", `value.nope != 1`, true},
		{"json null", `value.none == null`, true},
		{"present", `value.amount != null`, true},
		{"string number", `value.amount == "1500"`, true},
		{"string order", `key < "c2"`, true},
		{"single quotes", `key == 'c1'`, true},
		{"escapes", `"a\"b" contains "\""`, true},
		{"bare truthy path", `value.nested["x y"]`, true},
		{"float", `value.amount >= 1499.5`, true},
		{"exponent", `value.amount < 1e4`, true},
		{"division by zero is null", `offset / 0 == null`, true},
		{"headers object", `headers contains "trace"`, true},
		{"path into text key", `key.x == 1`, false},
		{"case of word operators", `key STARTSWITH "c"`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFilter(tc.expr)
			if err != nil {
				t.Fatalf("parse %q: %v", tc.expr, err)
			}
			if got := f.Match(filterTestRecord()); got != tc.want {
				t.Fatalf("%q = %v, want %v", tc.expr, got, tc.want)
			}
		})
	}
}

func TestFilterNullKeyAndValue(t *testing.T) {
	r := &filterRecord{KeyNull: true, ValueNull: true}
	for expr, want := range map[string]bool{`key == null`: true, `value == null`: true, `key == ""`: false,
		`value contains ""`: false, `value.a == null`: true} {
		f, err := ParseFilter(expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Match(r); got != want {
			t.Errorf("%q = %v, want %v", expr, got, want)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	cases := []struct {
		name   string
		expr   string
		column int
		msg    string
	}{
		{"unknown name", `amount > 1`, 1, `unknown name "amount"`},
		{"single equals", `key = "a"`, 5, `compare with "=="`},
		{"unterminated string", `key == "abc`, 8, "unterminated string"},
		{"missing operand", `key ==`, 7, "ends where an operand was expected"},
		{"unclosed paren", `(key == "a"`, 12, `expected ")"`},
		{"trailing", `key == "a" "b"`, 12, `unexpected string "b"`},
		{"bad regex", `key matches "("`, 13, "bad regular expression"},
		{"matches non literal", `key matches value`, 13, "string literal"},
		{"bad time", `timestamp > "yesterday"`, 11, "not a time"},
		{"chained comparison", `1 < offset < 3`, 12, "do not chain"},
		{"path on offset", `offset.x == 1`, 7, "has no parts"},
		{"bad index", `value.a[-1] == 1`, 9, "expected a string or an index"},
		{"unclosed bracket", `value["a" == 1`, 11, `expected "]"`},
		{"bad character", `key == "a" # x`, 12, "unexpected character"},
		{"header path too deep", `headers.a.b == "x"`, 10, "a header is text"},
		{"column counts characters", `"é" == kéy`, 8, `unknown name "kéy"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFilter(tc.expr)
			var fe *FilterError
			if !errors.As(err, &fe) {
				t.Fatalf("parse %q: got %v, want a FilterError", tc.expr, err)
			}
			if fe.Column != tc.column || !strings.Contains(fe.Msg, tc.msg) {
				t.Fatalf("parse %q: %v; want column %d and %q", tc.expr, err, tc.column, tc.msg)
			}
		})
	}
}

func TestFilterBounds(t *testing.T) {
	if _, err := ParseFilter(strings.Repeat(" ", maxFilterLen+1)); err == nil {
		t.Fatal("an over-long expression parsed")
	}
	deep := strings.Repeat("(", maxFilterDepth+1) + "key" + strings.Repeat(")", maxFilterDepth+1)
	if _, err := ParseFilter(deep); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Fatalf("a deep expression: %v", err)
	}
	if _, err := ParseFilter(strings.Repeat("!", 200) + "true"); err == nil {
		t.Fatal("200 nots parsed")
	}
	if _, err := ParseFilter(strings.Repeat("-", 200) + "1"); err == nil {
		t.Fatal("200 minuses parsed")
	}
	if _, err := ParseFilter(`key matches "` + strings.Repeat("a", maxFilterRegex+1) + `"`); err == nil {
		t.Fatal("a long regular expression parsed")
	}
	if _, err := ParseFilter("key == \"\xff\""); err == nil {
		t.Fatal("invalid UTF-8 parsed")
	}
}

// FuzzFilterParse: any expression parses or fails with a FilterError, and a parsed one
// evaluates without panicking.
func FuzzFilterParse(f *testing.F) {
	for _, s := range []string{`value.amount > 1000 && key == "c1"`, `value contains "error"`, `headers["trace"] == "x"`,
		`timestamp >= "2026-01-15T10:00:00Z"`, `offset % 2 == 0`, `!(key matches "^a.*b$") || value.items[3].x startsWith 'q'`,
		`-(-offset) / 0 == null`, `value.tags contains 1e3`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			var fe *FilterError
			if !errors.As(err, &fe) || fe.Column < 1 {
				t.Fatalf("%q: %v is not a FilterError with a column", s, err)
			}
			return
		}
		flt.Match(filterTestRecord())
		flt.Match(&filterRecord{KeyNull: true, ValueNull: true})
	})
}

// fullPath is the path's value found by decoding the whole document: what jsonPath must agree with.
func fullPath(b []byte, path []any) (any, bool) {
	var doc any
	if json.Unmarshal(b, &doc) != nil {
		return nil, false
	}
	for _, step := range path {
		switch s := step.(type) {
		case string:
			m, ok := doc.(map[string]any)
			if !ok {
				return nil, false
			}
			if doc, ok = m[s]; !ok {
				return nil, false
			}
		case int:
			a, ok := doc.([]any)
			if !ok || s >= len(a) {
				return nil, false
			}
			doc = a[s]
		}
	}
	return doc, true
}

func TestJSONPath(t *testing.T) {
	doc := []byte(` { "a" : { "b c": [1, {"d": "x\"}]"}, null, true] , "e\u0041": -1.5e3 }, "z": [], "s": "a,b}" } `)
	cases := []struct {
		name string
		path []any
	}{
		{"object", []any{"a"}},
		{"nested array element", []any{"a", "b c", 1, "d"}},
		{"null element", []any{"a", "b c", 2}},
		{"last element", []any{"a", "b c", 3}},
		{"past the end", []any{"a", "b c", 4}},
		{"escaped key", []any{"a", "eA"}},
		{"empty array", []any{"z", 0}},
		{"string with delimiters", []any{"s"}},
		{"missing", []any{"nope"}},
		{"index into object", []any{"a", 0}},
		{"name into array", []any{"z", "x"}},
		{"name into string", []any{"s", "x"}},
		{"whole", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, gotOK := jsonPath(doc, tc.path)
			want, wantOK := fullPath(doc, tc.path)
			if gotOK != wantOK || !reflect.DeepEqual(got, want) {
				t.Fatalf("jsonPath %v = %v %v, want %v %v", tc.path, got, gotOK, want, wantOK)
			}
		})
	}
}

func TestFilterRawJSON(t *testing.T) {
	r := filterTestRecord()
	r.Decode = func(b []byte, isKey bool) (string, any, bool) {
		if json.Valid(b) {
			return string(b), rawJSON(b), true
		}
		return string(b), nil, false
	}
	for expr, want := range map[string]bool{`value.amount > 1000`: true, `value.items[0].qty == 2`: true,
		`value.tags contains "vip"`: true, `value.none == null`: true, `value.nope == null`: true, `value.nested["x y"]`: true} {
		f, err := ParseFilter(expr)
		if err != nil {
			t.Fatal(err)
		}
		rc := *r
		if got := f.Match(&rc); got != want {
			t.Errorf("%q = %v, want %v", expr, got, want)
		}
	}
}

// FuzzJSONPath: on any valid JSON document, the lazy path lookup agrees with decoding it all.
func FuzzJSONPath(f *testing.F) {
	f.Add([]byte(`{"a":{"b":[1,{"c":"x"}]}}`), "a", "b", 1)
	f.Add([]byte(`[0, "a\"]", {"a": null}]`), "a", "", 2)
	f.Fuzz(func(t *testing.T, doc []byte, k1, k2 string, idx int) {
		if !json.Valid(doc) || idx < 0 || idx > 100 {
			return
		}
		for _, path := range [][]any{{k1}, {k1, k2}, {idx}, {k1, idx}, {idx, k2}} {
			got, gotOK := jsonPath(doc, path)
			want, wantOK := fullPath(doc, path)
			if gotOK != wantOK || !reflect.DeepEqual(got, want) {
				t.Fatalf("%q %v: jsonPath = %v %v, decoding all = %v %v", doc, path, got, gotOK, want, wantOK)
			}
		}
	})
}

// BenchmarkFilter: one record's evaluation of a JSON-path filter, looking the path up in the
// bytes (what a search does) against decoding the whole value first, and of a text filter.
func BenchmarkFilter(b *testing.B) {
	value := []byte(`{"id":12345,"amount":2345,"kind":"normal","note":"order number 12345 of the day","customer":{"id":"c17","tier":"gold"}}`)
	run := func(b *testing.B, expr string, decode func([]byte, bool) (string, any, bool)) {
		f, err := ParseFilter(expr)
		if err != nil {
			b.Fatal(err)
		}
		r := &filterRecord{}
		b.ReportAllocs()
		for b.Loop() {
			*r = filterRecord{Key: []byte("c17"), Value: value, Offset: 7, Decode: decode}
			if f.Match(r) {
				b.Fatal("matched")
			}
		}
	}
	lazy := func(v []byte, _ bool) (string, any, bool) { return string(v), rawJSON(v), true }
	full := func(v []byte, _ bool) (string, any, bool) { d, ok := docOf(v); return string(v), d, ok }
	b.Run("path/lazy", func(b *testing.B) { run(b, `value.kind == "needle" && value.customer.tier == "gold"`, lazy) })
	b.Run("path/decode-all", func(b *testing.B) { run(b, `value.kind == "needle" && value.customer.tier == "gold"`, full) })
	b.Run("text", func(b *testing.B) { run(b, `value contains "needle"`, lazy) })
}
