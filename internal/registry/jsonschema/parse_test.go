package jsonschema

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/registry/format"
)

func mustParse(t *testing.T, schema string, deps ...format.Dependency) *Schema {
	t.Helper()
	s, err := New().Parse(schema, deps)
	if err != nil {
		t.Fatalf("Parse(%.200s): %.300v", schema, err)
	}
	return s.(*Schema)
}

func TestType(t *testing.T) {
	if New().Type() != format.JSON {
		t.Fatal(New().Type())
	}
}

func TestCanonical(t *testing.T) {
	cases := []struct{ in, canonical, normalized string }{
		{`{"type": "object", "properties": {"b": {"type": "string"}, "a": {"type":"integer"}}}`,
			`{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}}}`,
			`{"properties":{"a":{"type":"integer"},"b":{"type":"string"}},"type":"object"}`},
		{"\n\t {  \"type\" :\r\n \"string\" , \"maxLength\":  10 }  ", `{"type":"string","maxLength":10}`, `{"maxLength":10,"type":"string"}`},
		// Jackson's number forms: integers as values, decimals as BigDecimal.toString.
		{`{"type":"number","minimum":-0,"maximum":1.50,"multipleOf":1e2,"default":1.5e-9,"examples":[0.000001,0.0000001,12e-1,-0.0,123456789012345678901234567890]}`,
			`{"type":"number","minimum":0,"maximum":1.50,"multipleOf":1E+2,"default":1.5E-9,"examples":[0.000001,1E-7,1.2,0.0,123456789012345678901234567890]}`,
			`{"default":1.5E-9,"examples":[0.000001,1E-7,1.2,0.0,123456789012345678901234567890],"maximum":1.50,"minimum":0,"multipleOf":1E+2,"type":"number"}`},
		// Strings: only '"', '\' and control characters escaped; "\/" and "\u00e9" decoded.
		{`{"description":"a\/b \u00e9 \"q\" \\ \n\u0001 <&> é 😀"}`,
			`{"description":"a/b é \"q\" \\ \n\u0001 <&> é 😀"}`,
			`{"description":"a/b é \"q\" \\ \n\u0001 <&> é 😀"}`},
		// A duplicate member keeps its first place and its last value, as in Jackson.
		{`{"type":"string","title":"x","type":"integer"}`, `{"type":"integer","title":"x"}`, `{"title":"x","type":"integer"}`},
		{`true`, `true`, `true`},
		{` false `, `false`, `false`},
		// Java orders keys by UTF-16 units: U+FF61 sorts after U+1F600's high surrogate.
		{`{"｡":1,"😀":2,"a":3}`, `{"｡":1,"😀":2,"a":3}`, `{"a":3,"😀":2,"｡":1}`},
	}
	for _, c := range cases {
		s := mustParse(t, c.in)
		if got := s.Canonical(); got != c.canonical {
			t.Errorf("Canonical(%s)\n got %s\nwant %s", c.in, got, c.canonical)
		}
		if got := s.Normalized(); got != c.normalized {
			t.Errorf("Normalized(%s)\n got %s\nwant %s", c.in, got, c.normalized)
		}
		// Canonical is a fixed point.
		if again := mustParse(t, s.Canonical()).Canonical(); again != s.Canonical() {
			t.Errorf("Canonical not stable: %s -> %s", s.Canonical(), again)
		}
	}
}

func TestParseRejects(t *testing.T) {
	cases := []struct{ schema, want string }{
		{``, "invalid JSON"},
		{`{"type":"string"`, "invalid JSON"},
		{`{"type":"string"} x`, "after the top-level value"},
		{`{"type":01}`, "leading zero"},
		{`{'type':'string'}`, "invalid JSON"},
		{`{"type":"string",}`, "invalid JSON"},
		{`"string"`, "expected an object or boolean at the root, found STRING"},
		{`[]`, "found ARRAY"},
		{`12`, "found NUMBER"},
		{`null`, "found NULL"},
		{`{"type":"strin"}`, "invalid JSON schema"},
		{`{"type":"object","properties":{"a":{"type":12}}}`, "invalid JSON schema"},
		{`{"type":"string","maxLength":-1}`, "invalid JSON schema"},
		{`{"type":"string","pattern":"[z-a]"}`, "invalid JSON schema"},
		{`{"type":"string","pattern":"(abc"}`, "invalid JSON schema"},
		{`{"required":"a"}`, "invalid JSON schema"},
		{`{"$ref":"#/definitions/missing"}`, "invalid JSON schema"},
		{`{"multipleOf":1e99999999999}`, "exponent out of range"},
		{strings.Repeat("[", 2000) + strings.Repeat("]", 2000), "nesting deeper than 1000"},
		{`{"a":` + strings.Repeat(`{"a":`, 1500) + `1` + strings.Repeat("}", 1501), "nesting deeper than 1000"},
	}
	for _, c := range cases {
		_, err := New().Parse(c.schema, nil)
		if err == nil {
			t.Errorf("Parse(%.60s) accepted", c.schema)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%.60s) = %v, want %q", c.schema, err, c.want)
		}
	}
}

// Patterns: Go's RE2 lacks lookaround and backreferences, which Confluent (Java) accepts.
func TestParsePatterns(t *testing.T) {
	for _, p := range []string{`^(?!foo).*$`, `(a)\\1`, `^(?<=x)y`, `a{2000}`, `^[a-z]+$`} {
		mustParse(t, `{"type":"string","pattern":"`+p+`","patternProperties":{"`+p+`":{}}}`)
	}
}

// No reference reaches the network or the file system: only the given dependencies resolve.
func TestParseRefusesRemote(t *testing.T) {
	for _, ref := range []string{
		"https://example.com/address.json", "http://127.0.0.1:1/x.json", "file:///etc/passwd",
		"/etc/passwd", "address.json", "../go.mod", "urn:x:y",
	} {
		_, err := New().Parse(`{"properties":{"a":{"$ref":"`+ref+`"}}}`, nil)
		if err == nil {
			t.Errorf("$ref %q accepted without a reference", ref)
		} else if !strings.Contains(err.Error(), "not among the schema's references") {
			t.Errorf("$ref %q: %v", ref, err)
		}
	}
	// An unknown $schema is read as draft 7 (as Confluent does), not fetched.
	mustParse(t, `{"$schema":"https://example.com/my-meta","type":"string"}`)
}

// One keyword per draft that the draft's meta-schema rules on differently from its neighbours.
func TestParseDrafts(t *testing.T) {
	const (
		d4   = `"$schema":"http://json-schema.org/draft-04/schema#",`
		d6   = `"$schema":"http://json-schema.org/draft-06/schema#",`
		d7   = `"$schema":"http://json-schema.org/draft-07/schema",`
		d19  = `"$schema":"https://json-schema.org/draft/2019-09/schema",`
		d20  = `"$schema":"https://json-schema.org/draft/2020-12/schema",`
		none = ``
	)
	cases := []struct {
		draft, body string
		ok          bool
	}{
		// Draft 4: exclusiveMaximum is a boolean; from draft 6 on it is a number.
		{d4, `"type":"number","maximum":5,"exclusiveMaximum":true`, true},
		{d4, `"type":"number","exclusiveMaximum":5`, false},
		{d6, `"type":"number","exclusiveMaximum":5`, true},
		{d6, `"type":"number","maximum":5,"exclusiveMaximum":true`, false},
		// Draft 4's "id"; "http://json-schema.org/schema" is draft 4 for Confluent.
		{`"$schema":"http://json-schema.org/schema#",`, `"id":"http://example.com/x.json","maximum":5,"exclusiveMaximum":true`, true},
		// Draft 7 brought if/then/else: before it "if" is an unknown keyword.
		{d6, `"if":5`, true},
		{d7, `"if":5`, false},
		{none, `"if":5`, false}, // no $schema: draft 7, as Confluent
		{none, `"if":{"required":["a"]},"then":{"required":["b"]}`, true},
		// 2019-09 brought dependentRequired.
		{d7, `"dependentRequired":{"a":"b"}`, true},
		{d19, `"dependentRequired":{"a":"b"}`, false},
		{d19, `"dependentRequired":{"a":["b"]},"$defs":{"x":{"type":"string"}},"properties":{"x":{"$ref":"#/$defs/x"}}`, true},
		// 2020-12 brought prefixItems and made items a single schema.
		{d19, `"prefixItems":5`, true},
		{d20, `"prefixItems":5`, false},
		{d19, `"items":[{"type":"string"}]`, true},
		{d20, `"items":[{"type":"string"}]`, false},
		{d20, `"prefixItems":[{"type":"string"}],"items":{"type":"integer"}`, true},
	}
	for _, c := range cases {
		schema := "{" + c.draft + c.body + "}"
		_, err := New().Parse(schema, nil)
		if c.ok && err != nil {
			t.Errorf("Parse(%s): %v", schema, err)
		}
		if !c.ok && err == nil {
			t.Errorf("Parse(%s) accepted", schema)
		}
	}
}

func TestParseReferences(t *testing.T) {
	country := format.Dependency{Name: "country.json", Schema: `{"type":"object","properties":{"code":{"type":"string","maxLength":2}},"definitions":{"eu":{"enum":["FR","DE"]}}}`}
	address := format.Dependency{
		Name:   "address.json",
		Schema: `{"type":"object","properties":{"street":{"type":"string"},"country":{"$ref":"country.json"},"eu":{"$ref":"country.json#/definitions/eu"}}}`,
		Deps:   []format.Dependency{country},
	}
	customer := `{"type":"object","properties":{"name":{"type":"string"},"address":{"$ref":"address.json"}}}`
	s := mustParse(t, customer, address)
	if s.Canonical() != customer {
		t.Fatalf("Canonical = %s", s.Canonical())
	}
	// The reference's own reference must be given.
	if _, err := New().Parse(customer, []format.Dependency{{Name: address.Name, Schema: address.Schema}}); err == nil ||
		!strings.Contains(err.Error(), "country.json") {
		t.Fatalf("missing nested reference: %v", err)
	}
	if _, err := New().Parse(customer, nil); err == nil {
		t.Fatal("missing reference accepted")
	}
	// "./address.json" names the same document.
	mustParse(t, `{"properties":{"a":{"$ref":"./address.json"}}}`, address)
	// A root with an $id: relative names resolve against it.
	mustParse(t, `{"$id":"https://example.com/schemas/customer.json","properties":{"a":{"$ref":"address.json"}}}`, address)
	// An absolute name.
	abs := format.Dependency{Name: "https://example.com/schemas/address.json", Schema: `{"$id":"https://example.com/schemas/address.json","type":"string"}`}
	mustParse(t, `{"properties":{"a":{"$ref":"https://example.com/schemas/address.json"}}}`, abs)
	// A reference that is not JSON, or not a schema.
	if _, err := New().Parse(customer, []format.Dependency{{Name: "address.json", Schema: `{`}}); err == nil || !strings.Contains(err.Error(), `reference "address.json"`) {
		t.Fatalf("bad reference: %v", err)
	}
	if _, err := New().Parse(customer, []format.Dependency{{Name: "address.json", Schema: `{"type":"nope"}`}}); err == nil {
		t.Fatal("invalid referenced schema accepted")
	}
	// Cycles between references are fine.
	a := format.Dependency{Name: "a.json", Schema: `{"type":"object","properties":{"b":{"$ref":"b.json"}}}`}
	b := format.Dependency{Name: "b.json", Schema: `{"type":"object","properties":{"a":{"$ref":"a.json"}}}`, Deps: []format.Dependency{a}}
	a.Deps = []format.Dependency{{Name: "b.json", Schema: b.Schema}}
	mustParse(t, `{"$ref":"a.json"}`, a, b)
	// "#/$defs/X" finds a top-level definition written under "definitions" (as Confluent's
	// loaders bridge them), in the schema and in a reference; Canonical keeps the text as given.
	bridged := `{"type":"object","properties":{"a":{"$ref":"#/$defs/x"}},"definitions":{"x":{"type":"string"}}}`
	if got := mustParse(t, bridged).Canonical(); got != bridged {
		t.Fatalf("Canonical = %s", got)
	}
	mustParse(t, `{"$schema":"https://json-schema.org/draft/2020-12/schema","properties":{"a":{"$ref":"#/$defs/x"}},"definitions":{"x":{"type":"string"}},"$defs":{"y":{}}}`)
	mustParse(t, `{"properties":{"a":{"$ref":"defs.json#/$defs/x"}}}`,
		format.Dependency{Name: "defs.json", Schema: `{"definitions":{"x":{"type":"integer"}}}`})
	if _, err := New().Parse(`{"properties":{"a":{"$ref":"#/$defs/x"}},"definitions":{"x":{}},"$defs":5}`, nil); err == nil {
		t.Fatal("a $defs that is not an object was bridged")
	}
	// Recursion inside one schema.
	mustParse(t, `{"definitions":{"node":{"type":"object","properties":{"next":{"$ref":"#/definitions/node"}}}},"$ref":"#/definitions/node"}`)
}
