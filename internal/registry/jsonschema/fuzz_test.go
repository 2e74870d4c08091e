package jsonschema

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// FuzzParse: any schema text and reference either parses or gives an error, never a panic;
// a parsed schema's Canonical and Normalized forms parse again to themselves, and comparing it
// with itself and the reference never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}`,
		`{"$schema":"http://json-schema.org/draft-04/schema#","maximum":1.5e3,"exclusiveMaximum":true}`,
		`{"$schema":"https://json-schema.org/draft/2020-12/schema","prefixItems":[{"type":"string"}],"items":false}`,
		`{"oneOf":[{"type":"string"},{"type":"null"}],"definitions":{"x":{"$ref":"#"}}}`,
		`{"properties":{"a":{"$ref":"dep.json"}}}`,
		`true`, `{"enum":[1,"a",null,{"b":[]}]}`, `{"description":"\u00e9\ud83d\ude00\ud800"}`,
	} {
		f.Add(s, `{"type":"object","properties":{"x":{"type":"integer","minimum":0}}}`)
	}
	f.Fuzz(func(t *testing.T, schema, dep string) {
		if len(schema) > 1<<16 || len(dep) > 1<<16 {
			return
		}
		deps := []format.Dependency{{Name: "dep.json", Schema: dep}}
		s, err := New().Parse(schema, deps)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("Parse panicked: %v", err)
			}
			return
		}
		c := s.Canonical()
		s2, err := New().Parse(c, deps)
		if err != nil {
			t.Fatalf("Canonical %s does not parse: %v", c, err)
		}
		if s2.Canonical() != c {
			t.Fatalf("Canonical not stable: %s -> %s", c, s2.Canonical())
		}
		n := s.Normalized()
		s3, err := New().Parse(n, deps)
		if err != nil {
			t.Fatalf("Normalized %s does not parse: %v", n, err)
		}
		if s3.Normalized() != n {
			t.Fatalf("Normalized not stable: %s -> %s", n, s3.Normalized())
		}
		s.CanRead(s2)
		if d, err := New().Parse(dep, nil); err == nil {
			s.CanRead(d)
			d.CanRead(s)
		}
	})
}

// FuzzCanRead: any two schemas compare in both directions without a panic, and a schema can
// always read data written with itself (parsed a second time, so no node is shared).
func FuzzCanRead(f *testing.F) {
	seeds := [][2]string{
		{`{"type":"object","properties":{"a":{"type":"string"}}}`, `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"additionalProperties":false}`},
		{`{"oneOf":[{"type":"string"},{"$ref":"#/definitions/n"}],"definitions":{"n":{"type":"object","properties":{"x":{"$ref":"#/definitions/n"}}}}}`, `{"anyOf":[{"type":"string"},{"type":"null"}]}`},
		{`{"type":"array","items":[{"type":"string"}],"additionalItems":{"type":"integer"}}`, `{"type":"array","items":{"enum":[1,2]},"maxItems":3}`},
		{`{"$schema":"https://json-schema.org/draft/2020-12/schema","prefixItems":[true],"unevaluatedItems":false,"unevaluatedProperties":{"type":"string"}}`, `{"not":{"const":1},"patternProperties":{"^x":{"type":"number","multipleOf":0.5}}}`},
		{`{"type":["integer","string"],"minimum":1,"maxLength":3}`, `{"allOf":[{"type":"integer"},{"minimum":0}],"dependencies":{"a":["b"],"c":{"required":["d"]}}}`},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a) > 1<<14 || len(b) > 1<<14 {
			return
		}
		sa, err := New().Parse(a, nil)
		if err != nil {
			return
		}
		sb, err := New().Parse(b, nil)
		if err == nil {
			sa.CanRead(sb)
			sb.CanRead(sa)
		}
		again, err := New().Parse(a, nil)
		if err != nil {
			t.Fatalf("second parse failed: %v", err)
		}
		if m := sa.CanRead(again); len(m) != 0 {
			t.Fatalf("%s cannot read itself: %v", a, m)
		}
	})
}
