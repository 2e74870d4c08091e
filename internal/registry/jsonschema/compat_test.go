package jsonschema

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// errorTypes are the errorType names in CanRead's messages.
func errorTypes(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		t, _, _ := strings.Cut(strings.TrimPrefix(m, `{errorType:"`), `"`)
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// A golden table: each pair is an old schema (the writer) and a new one (the reader).
// backward is new.CanRead(old) (BACKWARD), forward old.CanRead(new) (FORWARD); when not
// empty, bwErr is the set of errorTypes BACKWARD reports.
var compatCases = []struct {
	name          string
	old, new      string
	backward, fwd bool
	bwErr, fwdErr []string
	deps          []format.Dependency
}{
	// Open content model (no additionalProperties): Confluent's documented rules. Adding a
	// property is not backward compatible (old data may carry it with any value); removing one is.
	{name: "open: add optional property",
		old:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}}}`,
		backward: false, fwd: true, bwErr: []string{"OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"}},
	{name: "open: add required property",
		old:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["b"]}`,
		backward: false, fwd: true, bwErr: []string{"REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"}},
	{name: "open: add property with the empty schema",
		old:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"},"b":{}}}`,
		backward: true, fwd: true},
	// Closed content model (additionalProperties false).
	{name: "closed: add optional property",
		old:      `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"additionalProperties":false}`,
		backward: true, fwd: false, fwdErr: []string{"PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"}},
	{name: "closed: add required property",
		old:      `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["b"],"additionalProperties":false}`,
		backward: false, fwd: false, bwErr: []string{"REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"}},
	{name: "closed: add required property with a default",
		old:      `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer","default":0}},"required":["b"],"additionalProperties":false}`,
		backward: true, fwd: false},
	{name: "closed: remove property set to false",
		old:      `{"type":"object","properties":{"a":{"type":"string"},"b":false},"additionalProperties":false}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`,
		backward: true, fwd: true},
	{name: "open to closed",
		old:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`,
		backward: false, fwd: true, bwErr: []string{"ADDITIONAL_PROPERTIES_REMOVED"}},
	// Partially open content model (additionalProperties or patternProperties give a schema).
	{name: "partially open: added property covered",
		old:      `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"string"}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"additionalProperties":{"type":"string"}}`,
		backward: true, fwd: true},
	{name: "partially open: added property not covered",
		old:      `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"string"}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"additionalProperties":{"type":"string"}}`,
		backward: false, fwd: false,
		bwErr:  []string{"PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "TYPE_CHANGED"},
		fwdErr: []string{"PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "TYPE_CHANGED"}},
	{name: "partially open by patternProperties",
		old:      `{"type":"object","properties":{"a":{"type":"string"}},"patternProperties":{"^x_":{"type":"integer"}},"additionalProperties":false}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"},"x_b":{"type":"integer"}},"patternProperties":{"^x_":{"type":"integer"}},"additionalProperties":false}`,
		backward: true, fwd: true},
	// Required.
	{name: "make a property required",
		old:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}`,
		backward: false, fwd: true, bwErr: []string{"REQUIRED_ATTRIBUTE_ADDED"}},
	// Types.
	{name: "integer to number", old: `{"type":"integer"}`, new: `{"type":"number"}`,
		backward: true, fwd: false, fwdErr: []string{"TYPE_NARROWED"}},
	{name: "string to integer", old: `{"type":"string"}`, new: `{"type":"integer"}`,
		backward: false, fwd: false, bwErr: []string{"TYPE_CHANGED"}},
	{name: "string to string or null", old: `{"type":"string"}`, new: `{"type":["string","null"]}`,
		backward: true, fwd: false, fwdErr: []string{"TYPE_CHANGED"}},
	{name: "anything to the empty schema", old: `{"type":"object","properties":{"a":{"type":"string"}}}`, new: `{}`,
		backward: true, fwd: false},
	{name: "true and the empty schema", old: `true`, new: `{}`, backward: true, fwd: true},
	{name: "false to anything", old: `false`, new: `{"type":"string"}`, backward: true, fwd: false},
	// Enums and const.
	{name: "enum extended", old: `{"enum":["a","b"]}`, new: `{"enum":["a","b","c"]}`,
		backward: true, fwd: false, fwdErr: []string{"ENUM_ARRAY_NARROWED"}},
	{name: "enum changed", old: `{"enum":["a","b"]}`, new: `{"enum":["a","c"]}`,
		backward: false, fwd: false, bwErr: []string{"ENUM_ARRAY_CHANGED"}},
	{name: "enum reordered", old: `{"type":"string","enum":["a","b"]}`, new: `{"type":"string","enum":["b","a"]}`,
		backward: true, fwd: true},
	{name: "enum removed beside type", old: `{"type":"string","enum":["a","b"]}`, new: `{"type":"string"}`,
		backward: true, fwd: false, fwdErr: []string{"TYPE_CHANGED"}},
	{name: "const changed", old: `{"const":1}`, new: `{"const":2}`, backward: false, fwd: false, bwErr: []string{"ENUM_ARRAY_CHANGED"}},
	// Strings.
	{name: "maxLength decreased", old: `{"type":"string","maxLength":10}`, new: `{"type":"string","maxLength":5}`,
		backward: false, fwd: true, bwErr: []string{"MAX_LENGTH_DECREASED"}},
	{name: "minLength increased", old: `{"type":"string","minLength":1}`, new: `{"type":"string","minLength":2}`,
		backward: false, fwd: true, bwErr: []string{"MIN_LENGTH_INCREASED"}},
	{name: "maxLength added", old: `{"type":"string"}`, new: `{"type":"string","maxLength":5}`,
		backward: false, fwd: true, bwErr: []string{"MAX_LENGTH_ADDED"}},
	{name: "pattern changed", old: `{"type":"string","pattern":"^a"}`, new: `{"type":"string","pattern":"^b"}`,
		backward: false, fwd: false, bwErr: []string{"PATTERN_CHANGED"}},
	// Numbers.
	{name: "maximum decreased", old: `{"type":"number","maximum":10}`, new: `{"type":"number","maximum":5.5}`,
		backward: false, fwd: true, bwErr: []string{"MAXIMUM_DECREASED"}},
	{name: "minimum decreased", old: `{"type":"number","minimum":10}`, new: `{"type":"number","minimum":1}`,
		backward: true, fwd: false, fwdErr: []string{"MINIMUM_INCREASED"}},
	{name: "exclusiveMinimum added", old: `{"type":"number"}`, new: `{"type":"number","exclusiveMinimum":0}`,
		backward: false, fwd: true, bwErr: []string{"EXCLUSIVE_MINIMUM_ADDED"}},
	{name: "multipleOf reduced", old: `{"type":"number","multipleOf":10}`, new: `{"type":"number","multipleOf":5}`,
		backward: true, fwd: false, fwdErr: []string{"MULTIPLE_OF_EXPANDED"}},
	{name: "multipleOf changed", old: `{"type":"number","multipleOf":0.3}`, new: `{"type":"number","multipleOf":0.5}`,
		backward: false, fwd: false, bwErr: []string{"MULTIPLE_OF_CHANGED"}},
	{name: "multipleOf equal at different scales", old: `{"type":"number","multipleOf":0.5}`, new: `{"type":"number","multipleOf":0.50}`,
		backward: true, fwd: true},
	{name: "draft 4 exclusiveMaximum flag",
		old:      `{"$schema":"http://json-schema.org/draft-04/schema#","type":"number","maximum":5,"exclusiveMaximum":true}`,
		new:      `{"$schema":"http://json-schema.org/draft-04/schema#","type":"number","maximum":4}`,
		backward: false, fwd: true, bwErr: []string{"MAXIMUM_DECREASED"}},
	// Arrays.
	{name: "items type changed", old: `{"type":"array","items":{"type":"string"}}`, new: `{"type":"array","items":{"type":"integer"}}`,
		backward: false, fwd: false, bwErr: []string{"TYPE_CHANGED"}},
	{name: "items widened", old: `{"type":"array","items":{"type":"integer"}}`, new: `{"type":"array","items":{"type":"number"}}`,
		backward: true, fwd: false},
	{name: "maxItems decreased, uniqueItems added", old: `{"type":"array","maxItems":5}`, new: `{"type":"array","maxItems":3,"uniqueItems":true}`,
		backward: false, fwd: true, bwErr: []string{"MAX_ITEMS_DECREASED", "UNIQUE_ITEMS_ADDED"}},
	{name: "tuple: item added to closed", old: `{"type":"array","items":[{"type":"string"}],"additionalItems":false}`,
		new:      `{"type":"array","items":[{"type":"string"},{"type":"integer"}],"additionalItems":false}`,
		backward: true, fwd: false, fwdErr: []string{"ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL"}},
	{name: "tuple: item added to open", old: `{"type":"array","items":[{"type":"string"}]}`,
		new:      `{"type":"array","items":[{"type":"string"},{"type":"integer"}]}`,
		backward: false, fwd: true, bwErr: []string{"ITEM_ADDED_TO_OPEN_CONTENT_MODEL"}},
	{name: "additionalItems without an items array (Confluent compares it anyway)",
		old: `{"additionalItems":{"type":"string"}}`, new: `{"additionalItems":{"type":"number"}}`,
		backward: false, fwd: false, bwErr: []string{"TYPE_CHANGED"}},
	{name: "additionalItems false without an items array",
		old: `{"additionalItems":true}`, new: `{"additionalItems":false}`,
		backward: false, fwd: true, bwErr: []string{"ADDITIONAL_ITEMS_REMOVED"}},
	{name: "2020-12 prefixItems: item added to closed",
		old:      `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"array","prefixItems":[{"type":"string"}],"items":false}`,
		new:      `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false}`,
		backward: true, fwd: false},
	// Combined schemas.
	{name: "oneOf extended", old: `{"oneOf":[{"type":"string"},{"type":"integer"}]}`, new: `{"oneOf":[{"type":"string"},{"type":"integer"},{"type":"boolean"}]}`,
		backward: true, fwd: false, fwdErr: []string{"SUM_TYPE_NARROWED"}},
	{name: "oneOf member changed", old: `{"oneOf":[{"type":"string"},{"type":"integer"}]}`, new: `{"oneOf":[{"type":"string"},{"type":"boolean"}]}`,
		backward: false, fwd: false, bwErr: []string{"COMBINED_TYPE_SUBSCHEMAS_CHANGED"}},
	{name: "oneOf to anyOf", old: `{"oneOf":[{"type":"string"},{"type":"integer"}]}`, new: `{"anyOf":[{"type":"string"},{"type":"integer"}]}`,
		backward: true, fwd: false, fwdErr: []string{"COMBINED_TYPE_CHANGED"}},
	{name: "allOf member removed", old: `{"allOf":[{"type":"object","properties":{"a":{"type":"string"}}},{"required":["a"]}]}`,
		new:      `{"allOf":[{"type":"object","properties":{"a":{"type":"string"}}}]}`,
		backward: true, fwd: false},
	{name: "type into a union", old: `{"type":"string"}`, new: `{"oneOf":[{"type":"string"},{"type":"null"}]}`,
		backward: true, fwd: false},
	{name: "not narrowed", old: `{"not":{"type":"string"}}`, new: `{"not":{"type":["string","integer"]}}`,
		backward: false, fwd: true, bwErr: []string{"NOT_TYPE_EXTENDED"}},
	// $refs: followed, within a schema and into references.
	{name: "ref into definitions, narrowed",
		old:      `{"type":"object","properties":{"a":{"$ref":"#/definitions/s"}},"definitions":{"s":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"$ref":"#/definitions/s"}},"definitions":{"s":{"type":"string","maxLength":3}}}`,
		backward: false, fwd: true, bwErr: []string{"MAX_LENGTH_ADDED"}},
	{name: "ref by $defs to a definition under definitions",
		old:      `{"type":"object","properties":{"a":{"$ref":"#/$defs/s"}},"definitions":{"s":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"$ref":"#/$defs/s"}},"definitions":{"s":{"type":"integer"}}}`,
		backward: false, fwd: false, bwErr: []string{"TYPE_CHANGED"}},
	{name: "inline schema and the same schema by ref",
		old:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"$ref":"#/$defs/s"}},"$defs":{"s":{"type":"string"}}}`,
		backward: true, fwd: true},
	{name: "recursive schemas",
		old:      `{"$ref":"#/definitions/n","definitions":{"n":{"type":"object","properties":{"v":{"type":"integer"},"next":{"$ref":"#/definitions/n"}}}}}`,
		new:      `{"$ref":"#/definitions/n","definitions":{"n":{"type":"object","properties":{"v":{"type":"number"},"next":{"$ref":"#/definitions/n"}}}}}`,
		backward: true, fwd: false, fwdErr: []string{"TYPE_NARROWED"}},
	{name: "recursive schemas, change deep in the cycle",
		old:      `{"$ref":"#/definitions/a","definitions":{"a":{"type":"object","properties":{"b":{"$ref":"#/definitions/b"}}},"b":{"type":"object","properties":{"a":{"$ref":"#/definitions/a"},"x":{"type":"string"}}}}}`,
		new:      `{"$ref":"#/definitions/a","definitions":{"a":{"type":"object","properties":{"b":{"$ref":"#/definitions/b"}}},"b":{"type":"object","properties":{"a":{"$ref":"#/definitions/a"},"x":{"type":"integer"}}}}}`,
		backward: false, fwd: false, bwErr: []string{"TYPE_CHANGED"}},
	{name: "reference to another subject's schema",
		old:      `{"type":"object","properties":{"addr":{"$ref":"address.json"}}}`,
		new:      `{"type":"object","properties":{"addr":{"$ref":"address.json"},"zip":{"type":"string"}},"additionalProperties":false}`,
		backward: false, fwd: true, bwErr: []string{"ADDITIONAL_PROPERTIES_REMOVED", "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"},
		deps: []format.Dependency{{Name: "address.json", Schema: `{"type":"object","properties":{"street":{"type":"string"}}}`}}},
	{name: "connect.type bytes on both sides",
		old: `{"type":"string","connect.type":"bytes"}`, new: `{"type":"number","connect.type":"bytes"}`,
		backward: true, fwd: true},
}

func TestCompatibilityTable(t *testing.T) {
	for _, c := range compatCases {
		t.Run(c.name, func(t *testing.T) {
			old := mustParse(t, c.old, c.deps...)
			nw := mustParse(t, c.new, c.deps...)
			bw := nw.CanRead(old)
			fw := old.CanRead(nw)
			if (len(bw) == 0) != c.backward {
				t.Errorf("BACKWARD (new reads old) = %v, want compatible %v", bw, c.backward)
			}
			if (len(fw) == 0) != c.fwd {
				t.Errorf("FORWARD (old reads new) = %v, want compatible %v", fw, c.fwd)
			}
			if c.bwErr != nil && !slices.Equal(errorTypes(bw), c.bwErr) {
				t.Errorf("BACKWARD errors %v, want %v", errorTypes(bw), c.bwErr)
			}
			if c.fwdErr != nil && !slices.Equal(errorTypes(fw), c.fwdErr) {
				t.Errorf("FORWARD errors %v, want %v", errorTypes(fw), c.fwdErr)
			}
			// A schema always reads itself.
			if m := nw.CanRead(mustParse(t, c.new, c.deps...)); len(m) != 0 {
				t.Errorf("new cannot read itself: %v", m)
			}
		})
	}
}

func TestCompatibilityMessages(t *testing.T) {
	old := mustParse(t, `{"type":"object","properties":{"a":{"type":"string"}}}`)
	nw := mustParse(t, `{"type":"object","properties":{"a":{"type":"string"},"x":{"type":"string"}}}`)
	got := fill(nw.CanRead(old), "new", "old")
	want := []string{`{errorType:"OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", description:"The new schema has an open content model and has a property or item at path '#/properties/x' which is missing in the old schema"}`}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	// FORWARD names them the other way round.
	got = fill(old.CanRead(nw), "old", "new")
	want = []string{`{errorType:"PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", description:"The old has a closed content model and is missing a property or item present at path '#/properties/x' in the new schema"}`}
	if len(got) != 0 {
		// old is open: removing a property from an open model is compatible.
		t.Fatalf("FORWARD: %q", got)
	}
	oldClosed := mustParse(t, `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`)
	newClosed := mustParse(t, `{"type":"object","properties":{"a":{"type":"string"},"x":{"type":"string"}},"additionalProperties":false}`)
	if got = fill(oldClosed.CanRead(newClosed), "old", "new"); !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	old = mustParse(t, `{"type":"string","maxLength":10}`)
	nw = mustParse(t, `{"type":"string","maxLength":5}`)
	got = fill(nw.CanRead(old), "new", "old")
	want = []string{`{errorType:"MAX_LENGTH_DECREASED", description:"The value at path '#/maxLength' in the new schema is less than its value in the old schema"}`}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	// Path tokens are JSON pointer escaped, and a '%' cannot pass for a placeholder.
	old = mustParse(t, `{"type":"object","properties":{"a/b%s":{"type":"string"}}}`)
	nw = mustParse(t, `{"type":"object","properties":{"a/b%s":{"type":"integer"}}}`)
	got = fill(nw.CanRead(old), "new", "old")
	want = []string{`{errorType:"TYPE_CHANGED", description:"A type at path '#/properties/a~1b%25s' is different between the new schema and the old schema"}`}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func fill(msgs []string, reader, writer string) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, format.FillRoles(m, reader, writer))
	}
	return out
}

// Many definitions referring to one another in combined schemas: the memo keeps the check
// polynomial, and it ends.
func TestCompatibilityBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"$ref":"#/definitions/d00","definitions":{`)
	const n = 40
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"d` + itoa(i) + `":{"anyOf":[`)
		for j := 0; j < n; j++ {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString(`{"$ref":"#/definitions/d` + itoa(j) + `"}`)
		}
		b.WriteString(`,{"type":"string"}]}`)
	}
	b.WriteString(`}}`)
	s := mustParse(t, b.String())
	_ = s.CanRead(s) // must return; a verdict either way is acceptable
}

func itoa(i int) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + string(rune('0'+i/10)) + string(rune('0'+i%10)))
}

// circular is a 2020-12 schema whose union of branches refers back to itself through a
// property of each branch (a $ref beside properties, so each branch is an allOf).
func circular(branches, props int, tagType string) string {
	var b strings.Builder
	b.WriteString(`{"$schema":"https://json-schema.org/draft/2020-12/schema","$defs":{`)
	b.WriteString(`"Id":{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]},`)
	b.WriteString(`"Base":{"type":"object","properties":{"name":{"type":"string"}}},`)
	b.WriteString(`"ItemOrId":{"oneOf":[{"$ref":"#/$defs/Id"},{"$ref":"#/$defs/Item"}]},`)
	for i := 0; i < branches; i++ {
		fmt.Fprintf(&b, `"B%d":{"$ref":"#/$defs/Base","type":"object","properties":{`, i)
		for p := 0; p < props; p++ {
			fmt.Fprintf(&b, `"p%d":{"$ref":"#/$defs/ItemOrId"},`, p)
		}
		fmt.Fprintf(&b, `"kind":{"type":"%s","const":"b%d"}},"required":["p0","kind"]},`, tagType, i)
	}
	b.WriteString(`"Item":{"oneOf":[`)
	for i := 0; i < branches; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"$ref":"#/$defs/B%d"}`, i)
	}
	b.WriteString(`]}},"$ref":"#/$defs/Item"}`)
	return b.String()
}

// A union whose branches refer back to it: the comparison ends, well within its budget, and
// finds a change deep inside the cycle.
func TestCompatibilityCircularUnion(t *testing.T) {
	a := mustParse(t, circular(12, 5, "string"))
	b := mustParse(t, circular(12, 5, "string"))
	if m := b.CanRead(a); len(m) != 0 {
		t.Fatalf("same schema: %v", m)
	}
	c := mustParse(t, circular(12, 5, "integer"))
	if m := c.CanRead(a); len(m) == 0 || slices.Contains(errorTypes(m), "COMPATIBILITY_CHECK_TOO_LARGE") {
		t.Fatalf("changed tag type: %v", m)
	}
}
