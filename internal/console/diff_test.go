package console

import (
	"strings"
	"testing"
)

// sides rebuilds a diff's two texts.
func sides(d []diffLine) (a, b []string) {
	for _, l := range d {
		if l.Op != '+' {
			a = append(a, l.Text)
		}
		if l.Op != '-' {
			b = append(b, l.Text)
		}
	}
	return a, b
}

func TestLineDiff(t *testing.T) {
	cases := []struct {
		name, a, b, want string
	}{
		{name: "same", a: "x\ny\n", b: "x\ny\n", want: " x  y"},
		{name: "added field", a: "{\n  \"a\": 1\n}", b: "{\n  \"a\": 1,\n  \"b\": 2\n}", want: " { -  \"a\": 1 +  \"a\": 1, +  \"b\": 2  }"},
		{name: "removed", a: "a\nb\nc", b: "a\nc", want: " a -b  c"},
		{name: "empty to text", a: "", b: "a\nb", want: "+a +b"},
		{name: "crlf", a: "a\r\nb\r\n", b: "a\nb", want: " a  b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := lineDiff(splitLines(tc.a), splitLines(tc.b))
			var got []string
			for _, l := range d {
				got = append(got, string(l.Op)+l.Text)
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Fatalf("diff %q, want %q", s, tc.want)
			}
		})
	}
}

func TestLineDiffBounded(t *testing.T) {
	var a, b []string
	for i := range maxDiffLines + 10 {
		a = append(a, "a"+string(rune('0'+i%10)))
		b = append(b, "b"+string(rune('0'+i%10)))
	}
	d, truncated := lineDiff(a, b)
	if !truncated || len(d) != len(a)+len(b) {
		t.Fatalf("a large diff: truncated %v, %d lines", truncated, len(d))
	}
}

func FuzzLineDiff(f *testing.F) {
	f.Add("a\nb\nc", "a\nc\nd")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, x, y string) {
		a, b := splitLines(x), splitLines(y)
		d, _ := lineDiff(a, b)
		ga, gb := sides(d)
		if strings.Join(ga, "\n") != strings.Join(a, "\n") || strings.Join(gb, "\n") != strings.Join(b, "\n") || len(ga) != len(a) || len(gb) != len(b) {
			t.Fatalf("diff of %q and %q does not rebuild them: %q / %q", x, y, ga, gb)
		}
	})
}
