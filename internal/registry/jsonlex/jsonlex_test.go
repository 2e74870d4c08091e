package jsonlex

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	for _, c := range []struct {
		in, want string
		end      int
		err      string
	}{
		{`"plain" rest`, "plain", 7, ""},
		{`"a\"b\\c\/d\n\t\u00e9"`, "a\"b\\c/d\n\té", 22, ""},
		{`"\ud83d\ude00"`, "😀", 14, ""},
		{`"\ud83dx"`, "\uFFFDx", 9, ""},
		{`"\ud83d\u0041"`, "\uFFFDA", 14, ""},
		{"\"bad \xff utf8\"", "bad \uFFFD utf8", 12, ""},
		{`"open`, "", 0, "offset 5: unterminated string"},
		{"\"ctl\x01\"", "", 0, "offset 4: control character"},
		{`"\x"`, "", 0, `offset 2: invalid escape 'x'`},
		{`"\u12"`, "", 0, `invalid \u escape`},
	} {
		got, end, err := String(c.in, 0)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("String(%q): %v, want an error with %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want || end != c.end {
			t.Errorf("String(%q) = %q, %d, %v; want %q, %d", c.in, got, end, err, c.want, c.end)
		}
	}
}

func TestNumber(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"0", "0", ""}, {"-0", "-0", ""}, {"12.50e+3,", "12.50e+3", ""}, {"1E-9]", "1E-9", ""},
		{"01", "", "leading zero"}, {"-", "", "invalid number"}, {"1.", "", "invalid number"},
		{"1e", "", "invalid number"}, {"+1", "", "invalid number"}, {".5", "", "invalid number"},
	} {
		got, _, err := Number(c.in, 0)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Number(%q): %v, want an error with %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Number(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// FuzzString checks String against encoding/json, which also decodes lone surrogates to
// U+FFFD: what String reads is a literal encoding/json reads to the same value, and a whole
// input encoding/json takes as one string literal String reads to its end. (Invalid UTF-8
// differs: encoding/json writes U+FFFD for each bad byte, String for each run of them, as
// strings.ToValidUTF8 does; there the value need only be valid UTF-8.)
func FuzzString(f *testing.F) {
	for _, s := range []string{`"a"`, `"\u00e9\ud83d\ude00"`, `"\ud800"`, "\"\xff\"", `"\"`, `"x\n"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.HasPrefix(s, `"`) {
			s = `"` + s
		}
		got, end, err := String(s, 0)
		if !utf8.ValidString(s) {
			if err == nil && !utf8.ValidString(got) {
				t.Fatalf("String(%q) = %q, not UTF-8", s, got)
			}
			return
		}
		if err == nil {
			var want string
			if jerr := json.Unmarshal([]byte(s[:end]), &want); jerr != nil || want != got {
				t.Fatalf("String(%q) = %q (end %d); encoding/json: %q, %v", s, got, end, want, jerr)
			}
			return
		}
		var v string
		if json.Unmarshal([]byte(s), &v) == nil {
			t.Fatalf("String(%q): %v; encoding/json reads %q", s, err, v)
		}
	})
}

// FuzzNumber checks Number's grammar against encoding/json's.
func FuzzNumber(f *testing.F) {
	for _, s := range []string{"0", "-1.5e+10", "01", "1.", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" {
			return
		}
		lit, _, err := Number(s, 0)
		if err == nil && !json.Valid([]byte(lit)) {
			t.Fatalf("Number(%q) = %q, which encoding/json refuses", s, lit)
		}
		if err != nil && json.Valid([]byte(s)) && strings.IndexAny(s[:1], "-0123456789") == 0 && strings.TrimSpace(s) == s {
			t.Fatalf("Number(%q): %v; encoding/json takes it", s, err)
		}
	})
}
