package avro

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/registry/format"
)

func mustParse(t *testing.T, schema string, deps ...format.Dependency) *Schema {
	t.Helper()
	s, err := New().Parse(schema, deps)
	if err != nil {
		t.Fatalf("Parse(%s): %v", schema, err)
	}
	return s.(*Schema)
}

// The canonical texts are Confluent's (AvroSchema.canonicalString, from Avro's
// Schema.toString), including the examples in Confluent's own tests.
func TestCanonical(t *testing.T) {
	for _, tc := range []struct {
		name, schema, want string
	}{
		{"primitive name", `"string"`, `"string"`},
		{"primitive object", `{"type": "int"}`, `"int"`},
		{"primitive with logical type", `{"logicalType": "date", "type": "int"}`, `{"type":"int","logicalType":"date"}`},
		{"confluent testNormalization", `{"type":"record","name":"myrecord","doc":"hi\"there","fields":[{"type":"string","name":"f1","doc":"bye\"now"}]}`,
			`{"type":"record","name":"myrecord","doc":"hi\"there","fields":[{"name":"f1","type":"string","doc":"bye\"now"}]}`},
		{"confluent metadata of primitives",
			`{"connect.name": "some.scope.Envelope", "fields": [{"default": null, "name": "before", "type": ["null", {"connect.name": "some.scope.Value", "fields": [{"name": "created_at", "type": {"connect.name": "io.debezium.time.Timestamp", "connect.version": 1, "type": "long"}}, {"name":"normal_long", "type":"long"}], "name": "Value", "type": "record"}]}, {"default": null, "name": "after", "type": ["null", "Value"]}], "name": "Envelope", "namespace": "some.scope", "type": "record"}`,
			`{"type":"record","name":"Envelope","namespace":"some.scope","fields":[{"name":"before","type":["null",{"type":"record","name":"Value","fields":[{"name":"created_at","type":{"type":"long","connect.name":"io.debezium.time.Timestamp","connect.version":1}},{"name":"normal_long","type":"long"}],"connect.name":"some.scope.Value"}],"default":null},{"name":"after","type":["null","Value"],"default":null}],"connect.name":"some.scope.Envelope"}`},
		{"enum, fixed, array, map, aliases, order",
			`{"type":"record","name":"a.b.R","aliases":["Old","x.Y"],"fields":[
			  {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"],"default":"A","doc":"d"}},
			  {"name":"f","type":{"size":16,"type":"fixed","name":"F","namespace":"c"}},
			  {"name":"l","type":{"type":"array","items":"E"},"order":"descending","aliases":["list"]},
			  {"name":"m","type":{"type":"map","values":"c.F"},"default":{},"order":"ascending"}]}`,
			`{"type":"record","name":"R","namespace":"a.b","fields":[{"name":"e","type":{"type":"enum","name":"E","doc":"d","symbols":["A","B"],"default":"A"}},{"name":"f","type":{"type":"fixed","name":"F","namespace":"c","size":16}},{"name":"l","type":{"type":"array","items":"E"},"order":"descending","aliases":["list"]},{"name":"m","type":{"type":"map","values":"c.F"},"default":{}}],"aliases":["Old","x.Y"]}`},
		{"empty namespace inside a namespace",
			`{"type":"record","name":"R","namespace":"n","fields":[{"name":"i","type":{"type":"record","name":"I","namespace":"","fields":[]}}]}`,
			`{"type":"record","name":"R","namespace":"n","fields":[{"name":"i","type":{"type":"record","name":"I","namespace":"","fields":[]}}]}`},
		{"recursive", `{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"],"default":null}]}`,
			`{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"],"default":null}]}`},
		{"forward reference", `{"type":"record","name":"R","fields":[{"name":"a","type":"E"},{"name":"b","type":{"type":"enum","name":"E","symbols":["X"]}}]}`,
			`{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"enum","name":"E","symbols":["X"]}},{"name":"b","type":"E"}]}`},
		{"numbers and strings in defaults and properties",
			`{"type":"record","name":"R","p":[1.50,1e10,0.0001,-0.0,12345678901],"q":"\u00e9\u0001\/<>&","fields":[{"name":"d","type":"double","default":"NaN"},{"name":"f","type":"float","default":1}]}`,
			`{"type":"record","name":"R","fields":[{"name":"d","type":"double","default":"NaN"},{"name":"f","type":"float","default":1}],"p":[1.5,1.0E10,1.0E-4,-0.0,12345678901],"q":"é\u0001/<>&"}`},
		{"comments, as Avro's parser allows", "// an order\n{\"type\":\"record\", /* its name */ \"name\":\"R\",\"doc\":\"a // b /* c */\",\"fields\":[]} // end",
			`{"type":"record","name":"R","doc":"a // b /* c */","fields":[]}`},
		{"error type and repeated key", `{"type":"error","name":"Oops","name":"Boom","fields":[]}`, `{"type":"error","name":"Boom","fields":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, tc.schema)
			if got := s.Canonical(); got != tc.want {
				t.Errorf("Canonical:\n got %s\nwant %s", got, tc.want)
			}
			again := mustParse(t, s.Canonical())
			if again.Canonical() != s.Canonical() {
				t.Errorf("Canonical of Canonical changed:\n%s\n%s", again.Canonical(), s.Canonical())
			}
		})
	}
}

func TestCanonicalIgnoresLayout(t *testing.T) {
	a := mustParse(t, `{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int","default":1,"doc":"x"}]}`)
	b := mustParse(t, "{\n  \"fields\" : [ { \"doc\": \"x\", \"default\" : 1, \"type\" : \"int\", \"name\" : \"a\" } ],\n  \"namespace\": \"n\", \"name\": \"R\",\n  \"type\": \"record\"\n}\n")
	c := mustParse(t, `{"type":"record","name":"n.R","fields":[{"name":"a","type":{"type":"int"},"default":1,"doc":"x"}]}`)
	if a.Canonical() != b.Canonical() || a.Canonical() != c.Canonical() {
		t.Fatalf("same schema, different canonical texts:\n%s\n%s\n%s", a.Canonical(), b.Canonical(), c.Canonical())
	}
}

func TestNormalized(t *testing.T) {
	for _, tc := range []struct {
		name, a, b string // a and b differ, but normalize to the same text
		want       string
	}{
		{"properties sorted, logical type first",
			`{"type":"bytes","scale":2,"zz":1,"precision":4,"aa":true,"logicalType":"decimal"}`,
			`{"type":"bytes","aa":true,"logicalType":"decimal","precision":4,"scale":2,"zz":1}`,
			`{"type":"bytes","logicalType":"decimal","precision":4,"scale":2,"aa":true,"zz":1}`},
		{"aliases sorted, empty doc dropped, defaults converted",
			`{"type":"record","name":"R","doc":"","aliases":["Z","A"],"fields":[{"name":"f","type":"double","default":1,"aliases":["y","x"]},{"name":"g","type":["null","float"],"default":null}]}`,
			`{"type":"record","name":"R","aliases":["A","Z"],"fields":[{"name":"f","type":"double","default":1.0,"aliases":["x","y"]},{"name":"g","type":["null","float"],"default":null}]}`,
			`{"type":"record","name":"R","fields":[{"name":"f","type":"double","default":1.0,"aliases":["x","y"]},{"name":"g","type":["null","float"],"default":null}],"aliases":["A","Z"]}`},
		{"confluent: field properties sorted", `{"type":"record","name":"myrecord","fields":[{"type":"string","name":"field1","zprop":"z","aprop":"a"}]}`,
			`{"type":"record","name":"myrecord","fields":[{"type":"string","name":"field1","aprop":"a","zprop":"z"}]}`,
			`{"type":"record","name":"myrecord","fields":[{"name":"field1","type":"string","aprop":"a","zprop":"z"}]}`},
		{"float default as a float", `{"type":"record","name":"R","fields":[{"name":"f","type":"float","default":3.14159265358979}]}`,
			`{"type":"record","name":"R","fields":[{"name":"f","type":"float","default":3.1415927}]}`,
			`{"type":"record","name":"R","fields":[{"name":"f","type":"float","default":3.1415927}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := mustParse(t, tc.a), mustParse(t, tc.b)
			if tc.a != tc.b && a.Canonical() == b.Canonical() {
				t.Errorf("the two schemas have the same canonical text %s", a.Canonical())
			}
			if a.Normalized() != tc.want || b.Normalized() != tc.want {
				t.Errorf("Normalized:\n got %s\n and %s\nwant %s", a.Normalized(), b.Normalized(), tc.want)
			}
			if again := mustParse(t, a.Normalized()); again.Normalized() != a.Normalized() {
				t.Errorf("Normalized is not stable: %s then %s", a.Normalized(), again.Normalized())
			}
		})
	}
	// Confluent's two normalization examples normalize to their canonical texts.
	s := mustParse(t, `{"type":"record","name":"myrecord","doc":"hi\"there","fields":[{"type":"string","name":"f1","doc":"bye\"now"}]}`)
	if s.Normalized() != s.Canonical() {
		t.Errorf("Normalized %s, want %s", s.Normalized(), s.Canonical())
	}
}

func TestReferences(t *testing.T) {
	money := format.Dependency{Name: "com.acme.Money",
		Schema: `{"type":"record","name":"Money","namespace":"com.acme","fields":[{"name":"amount","type":"long"},{"name":"currency","type":"com.acme.Currency"}]}`,
		Deps: []format.Dependency{{Name: "com.acme.Currency",
			Schema: `{"type":"enum","name":"Currency","namespace":"com.acme","symbols":["EUR","USD"]}`}}}
	order := `{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"total","type":"Money"},{"name":"unit","type":"Currency"}]}`
	s := mustParse(t, order, money)
	want := `{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"total","type":"Money"},{"name":"unit","type":"Currency"}]}`
	if s.Canonical() != want {
		t.Errorf("Canonical:\n got %s\nwant %s", s.Canonical(), want)
	}
	if s.Normalized() != want {
		t.Errorf("Normalized:\n got %s\nwant %s", s.Normalized(), want)
	}
	// Without the reference, the name is undefined.
	if _, err := New().Parse(order, nil); err == nil || !strings.Contains(err.Error(), `Undefined name: "Money"`) {
		t.Errorf("Parse without references: %v", err)
	}
	// A dependency's own dependency must be given too.
	broken := money
	broken.Deps = nil
	if _, err := New().Parse(order, []format.Dependency{broken}); err == nil || !strings.Contains(err.Error(), "com.acme.Money") {
		t.Errorf("Parse with a dependency missing its own: %v", err)
	}
	// Redefining a dependency's name differently is refused; the same definition is fine.
	if _, err := New().Parse(`{"type":"enum","name":"com.acme.Currency","symbols":["GBP"]}`, []format.Dependency{money}); err == nil {
		t.Error("redefining a dependency's type was accepted")
	}
	mustParse(t, `{"type":"enum","name":"com.acme.Currency","symbols":["EUR","USD"]}`, money)
}

func TestParseErrors(t *testing.T) {
	deep := strings.Repeat(`{"type":"array","items":`, 2000) + `"int"` + strings.Repeat(`}`, 2000)
	deepUnion := strings.Repeat(`[`, 5000) + strings.Repeat(`]`, 5000)
	for _, tc := range []struct {
		name, schema, want string
	}{
		{"not JSON", `{"type":`, "invalid JSON"},
		{"empty", ``, "no content"},
		{"dangling", `"int" "long"`, "dangling content"},
		{"unterminated comment", `"int" /* x`, "unterminated comment"},
		{"no type", `{"name":"x"}`, "No type"},
		{"unknown type", `{"type":"integer"}`, `MUST be a primitive type`},
		{"undefined name", `"Foo"`, "Undefined name"},
		{"record without fields", `{"type":"record","name":"R"}`, "Record has no fields"},
		{"record without name", `{"type":"record","fields":[]}`, "No name in schema"},
		{"bad name", `{"type":"record","name":"1R","fields":[]}`, `Name "1R" is invalid`},
		{"bad namespace", `{"type":"record","name":"R","namespace":"a-b","fields":[]}`, `Namespace part "a-b" is invalid`},
		{"named after a primitive", `{"type":"fixed","name":"int","size":1}`, "may not be named after primitives"},
		{"bad field name", `{"type":"record","name":"R","fields":[{"name":"a b","type":"int"}]}`, "Field name"},
		{"duplicate field", `{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"long"}]}`, "Duplicate field a"},
		{"field without type", `{"type":"record","name":"R","fields":[{"name":"a"}]}`, "No field type"},
		{"bad order", `{"type":"record","name":"R","fields":[{"name":"a","type":"int","order":"up"}]}`, "Invalid order"},
		{"enum without symbols", `{"type":"enum","name":"E"}`, "Enum has no symbols"},
		{"duplicate symbol", `{"type":"enum","name":"E","symbols":["A","A"]}`, "Duplicate enum symbol: A"},
		{"enum default not a symbol", `{"type":"enum","name":"E","symbols":["A"],"default":"B"}`, "The Enum Default"},
		{"fixed without size", `{"type":"fixed","name":"F"}`, "Invalid or no size"},
		{"fixed size not an int", `{"type":"fixed","name":"F","size":1.5}`, "Invalid or no size"},
		{"array without items", `{"type":"array"}`, "Array has no items"},
		{"map without values", `{"type":"map"}`, "Map has no values"},
		{"nested union", `[["int"]]`, "Nested union"},
		{"duplicate in union", `["int","int"]`, "Duplicate in union: int"},
		{"duplicate name in union", `[{"type":"fixed","name":"F","size":1},"F"]`, "Duplicate in union: F"},
		{"redefined", `{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"fixed","name":"F","size":1}},{"name":"b","type":{"type":"fixed","name":"F","size":2}}]}`, "Can't redefine: F"},
		{"aliases not an array", `{"type":"record","name":"R","aliases":"x","fields":[]}`, "aliases not an array"},
		{"alias not a string", `{"type":"record","name":"R","aliases":[1],"fields":[]}`, "alias not a string"},
		{"too deep", deep, "nested deeper than 1000"},
		{"too deep union", deepUnion, "nested deeper than 1000"},
		{"invalid int default", `{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}`, `Invalid default for field a: "x" not a "int"`},
		{"int default too big", `{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":2147483648}]}`, "Invalid default for field a"},
		{"null default of non-null union first", `{"type":"record","name":"R","fields":[{"name":"a","type":["int","string"],"default":null}]}`, "Invalid default for field a"},
		{"record default missing a field", `{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"S","fields":[{"name":"x","type":"int"}]},"default":{}}]}`, "Invalid default for field a"},
		{"array default of wrong items", `{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"array","items":"int"},"default":[1,"2"]}]}`, "Invalid default for field a"},
		{"float default not a number", `{"type":"record","name":"R","fields":[{"name":"a","type":"float","default":"abc"}]}`, "Invalid default for field a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New().Parse(tc.schema, nil)
			if err == nil {
				t.Fatalf("Parse(%.80s) succeeded, want an error containing %q", tc.schema, tc.want)
			}
			if !errors.Is(err, errParse) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse(%.80s): %v, want an error containing %q", tc.schema, err, tc.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	for _, schema := range []string{
		`{"type":"record","name":"R","fields":[{"name":"a","type":["null","string"],"default":null}]}`,
		`{"type":"record","name":"R","fields":[{"name":"a","type":["string","null"],"default":null}]}`, // any branch, as Avro 1.12
		`{"type":"record","name":"R","fields":[{"name":"a","type":"long","default":12345678901}]}`,
		`{"type":"record","name":"R","fields":[{"name":"a","type":"double","default":"-Infinity"}]}`,
		`{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"S","fields":[{"name":"x","type":"int","default":1}]},"default":{}}]}`,
		`{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"map","values":"bytes"},"default":{"k":"\u00ff"}}]}`,
		`{"type":"record","name":"R","fields":[{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]},"default":"A"}]}`,
		`{"type":"bytes","logicalType":"decimal","precision":"x"}`, // an invalid logical type is only a property
		`{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":1,"custom":{"x":[1]}}]}`,
		`["null",{"type":"record","name":"A","fields":[]},{"type":"record","name":"B","fields":[]}]`,
	} {
		mustParse(t, schema)
	}
}

// ParseStored takes what Confluent takes back from _schemas: schemas registered when defaults
// and namespaces were not checked. New schemas are still checked.
func TestParseStored(t *testing.T) {
	for _, schema := range []string{
		`{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}`,
		`{"type":"record","name":"R","fields":[{"name":"a","type":["string","null"],"default":1}]}`,
		`{"type":"record","name":"R","namespace":"my-app.v1","fields":[]}`,
		`{"type":"record","name":"R","aliases":["1-old"],"fields":[]}`,
		`{"type":"enum","name":"Größe","symbols":["klein","groß"]}`,
	} {
		if _, err := New().Parse(schema, nil); err == nil {
			t.Errorf("Parse accepted %s", schema)
		}
		s, err := Format{}.ParseStored(schema, nil)
		if err != nil {
			t.Errorf("ParseStored(%s): %v", schema, err)
			continue
		}
		if again, err := (Format{}).ParseStored(s.Canonical(), nil); err != nil || again.Canonical() != s.Canonical() {
			t.Errorf("ParseStored of Canonical %s: %v", s.Canonical(), err)
		}
	}
	for _, schema := range []string{`{"name":"R"}`, `{"type":"record","name":"1R","fields":[]}`, `"Undefined"`, `["int","int"]`} {
		if _, err := (Format{}).ParseStored(schema, nil); err == nil || !errors.Is(err, errParse) {
			t.Errorf("ParseStored(%s): %v, want an error", schema, err)
		}
	}
}

func TestResolved(t *testing.T) {
	dep := format.Dependency{Name: "com.acme.Currency", Schema: `{"type":"enum","name":"Currency","namespace":"com.acme","symbols":["EUR"]}`}
	s := mustParse(t, `{"type":"record","name":"com.acme.Price","fields":[{"name":"c","type":"Currency"},{"name":"d","type":"Currency"}]}`, dep)
	if want := `{"type":"record","name":"Price","namespace":"com.acme","fields":[{"name":"c","type":"Currency"},{"name":"d","type":"Currency"}]}`; s.Canonical() != want {
		t.Errorf("Canonical %s, want %s", s.Canonical(), want)
	}
	want := `{"type":"record","name":"Price","namespace":"com.acme","fields":[{"name":"c","type":{"type":"enum","name":"Currency","symbols":["EUR"]}},{"name":"d","type":"Currency"}]}`
	if got := s.Resolved(); got != want {
		t.Errorf("Resolved %s, want %s", got, want)
	}
	if _, err := New().Parse(s.Resolved(), nil); err != nil {
		t.Errorf("Resolved does not parse alone: %v", err)
	}
}
