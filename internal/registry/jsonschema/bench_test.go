package jsonschema

import (
	"fmt"
	"strings"
	"testing"
)

// benchSchema is an object of n properties of several kinds, with a definition used by $ref.
func benchSchema(n int, extra string) string {
	var b strings.Builder
	b.WriteString(`{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, `"s%d":{"type":"string","maxLength":64}`, i)
		case 1:
			fmt.Fprintf(&b, `"n%d":{"type":"integer","minimum":0}`, i)
		case 2:
			fmt.Fprintf(&b, `"e%d":{"enum":["a","b","c"]}`, i)
		case 3:
			fmt.Fprintf(&b, `"r%d":{"$ref":"#/definitions/addr"}`, i)
		}
	}
	b.WriteString(extra)
	b.WriteString(`},"required":["s0"],"definitions":{"addr":{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":["string","null"]}}}}}`)
	return b.String()
}

func BenchmarkParse(b *testing.B) {
	s := benchSchema(20, "")
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New().Parse(s, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCanRead(b *testing.B) {
	old, err := New().Parse(benchSchema(20, ""), nil)
	if err != nil {
		b.Fatal(err)
	}
	nw, err := New().Parse(benchSchema(20, `,"added":{"type":"string"}`), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(nw.CanRead(old)) == 0 {
			b.Fatal("expected an incompatibility")
		}
	}
}
