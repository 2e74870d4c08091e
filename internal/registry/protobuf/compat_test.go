package protobuf

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/registry/format"
)

var errorType = regexp.MustCompile(`^\{errorType:"([A-Z_]+)", description:"(.*)"\}$`)

// incompatibilities parses CanRead's messages into "TYPE #/path" strings.
func incompatibilities(t *testing.T, msgs []string) []string {
	t.Helper()
	var out []string
	for _, m := range msgs {
		sub := errorType.FindStringSubmatch(m)
		if sub == nil {
			t.Fatalf("message not in Confluent's shape: %s", m)
		}
		path := regexp.MustCompile(`'(#/[^']*)'`).FindStringSubmatch(sub[2])
		if path == nil {
			t.Fatalf("message names no path: %s", m)
		}
		out = append(out, sub[1]+" "+path[1])
	}
	slices.Sort(out)
	return out
}

// TestCompatibility is a golden table of schema pairs: backward is what reader=new,
// writer=old answers (BACKWARD), forward what reader=old, writer=new answers (FORWARD).
func TestCompatibility(t *testing.T) {
	const p3 = "syntax = \"proto3\";\n"
	const p2 = "syntax = \"proto2\";\n"
	cases := []struct {
		name     string
		old, new string
		backward []string // incompatibilities of new reading old
		forward  []string // incompatibilities of old reading new
		oldDeps  []format.Dependency
		newDeps  []format.Dependency
	}{
		{name: "identical", old: p3 + "message Order { string id = 1; }", new: p3 + "message Order { string id = 1; }"},
		{name: "field added", old: p3 + "message Order { string id = 1; }", new: p3 + "message Order { string id = 1; int64 cents = 2; }"},
		{name: "field removed", old: p3 + "message Order { string id = 1; int64 cents = 2; }", new: p3 + "message Order { string id = 1; }"},
		{name: "field renamed", old: p3 + "message Order { string id = 1; }", new: p3 + "message Order { string order_id = 1; }"},
		{
			name: "message added (old lacks it: Confluent's FORWARD fails)", old: p3 + "message A {}", new: p3 + "message A {} message B {}",
			forward: []string{"MESSAGE_REMOVED #/B"},
		},
		{
			name: "message removed", old: p3 + "message A {} message B {}", new: p3 + "message A {}",
			backward: []string{"MESSAGE_REMOVED #/B"},
		},
		{name: "messages reordered", old: p3 + "message A {} message B {}", new: p3 + "message B {} message A {}"},
		{
			name: "package changed", old: p3 + "package a;\nmessage A {}", new: p3 + "package b;\nmessage A {}",
			backward: []string{"PACKAGE_CHANGED #/"}, forward: []string{"PACKAGE_CHANGED #/"},
		},
		{
			name: "scalar kind changed", old: p3 + "message Order { string id = 1; int32 qty = 2; }", new: p3 + "message Order { string id = 1; string qty = 2; }",
			backward: []string{"FIELD_SCALAR_KIND_CHANGED #/Order/2"}, forward: []string{"FIELD_SCALAR_KIND_CHANGED #/Order/2"},
		},
		{name: "int32 to int64", old: p3 + "message M { int32 a = 1; }", new: p3 + "message M { int64 a = 1; }"},
		{name: "uint64 to bool", old: p3 + "message M { uint64 a = 1; }", new: p3 + "message M { bool a = 1; }"},
		{name: "sint32 to sint64", old: p3 + "message M { sint32 a = 1; }", new: p3 + "message M { sint64 a = 1; }"},
		{name: "fixed32 to sfixed32", old: p3 + "message M { fixed32 a = 1; }", new: p3 + "message M { sfixed32 a = 1; }"},
		{name: "fixed64 to sfixed64", old: p3 + "message M { fixed64 a = 1; }", new: p3 + "message M { sfixed64 a = 1; }"},
		{name: "string to bytes", old: p3 + "message M { string a = 1; }", new: p3 + "message M { bytes a = 1; }"},
		{name: "enum to int32", old: p3 + "enum E { Z = 0; } message M { E a = 1; }", new: p3 + "enum E { Z = 0; } message M { int32 a = 1; }"},
		{
			name: "int32 to sint32", old: p3 + "message M { int32 a = 1; }", new: p3 + "message M { sint32 a = 1; }",
			backward: []string{"FIELD_SCALAR_KIND_CHANGED #/M/1"}, forward: []string{"FIELD_SCALAR_KIND_CHANGED #/M/1"},
		},
		{
			name: "fixed32 to fixed64", old: p3 + "message M { fixed32 a = 1; }", new: p3 + "message M { fixed64 a = 1; }",
			backward: []string{"FIELD_SCALAR_KIND_CHANGED #/M/1"}, forward: []string{"FIELD_SCALAR_KIND_CHANGED #/M/1"},
		},
		{
			name: "float to double", old: p3 + "message M { float a = 1; }", new: p3 + "message M { double a = 1; }",
			backward: []string{"FIELD_SCALAR_KIND_CHANGED #/M/1"}, forward: []string{"FIELD_SCALAR_KIND_CHANGED #/M/1"},
		},
		{
			name: "scalar to message", old: p3 + "message M { string a = 1; } message N {}", new: p3 + "message M { N a = 1; } message N {}",
			backward: []string{"FIELD_KIND_CHANGED #/M/1"}, forward: []string{"FIELD_KIND_CHANGED #/M/1"},
		},
		{
			name: "message to map", old: p3 + "message M { N a = 1; } message N {}", new: p3 + "message M { map<string, string> a = 1; } message N {}",
			backward: []string{"FIELD_KIND_CHANGED #/M/1"}, forward: []string{"FIELD_KIND_CHANGED #/M/1"},
		},
		{
			name: "map value kind changed", old: p3 + "message M { map<string, int32> a = 1; }", new: p3 + "message M { map<string, string> a = 1; }",
			backward: []string{"FIELD_SCALAR_KIND_CHANGED #/M/1"}, forward: []string{"FIELD_SCALAR_KIND_CHANGED #/M/1"},
		},
		{name: "map value int32 to int64", old: p3 + "message M { map<string, int32> a = 1; }", new: p3 + "message M { map<string, int64> a = 1; }"},
		{
			name: "named type changed", old: p3 + "message M { A a = 1; } message A {} message B {}", new: p3 + "message M { B a = 1; } message A {} message B {}",
			backward: []string{"FIELD_NAMED_TYPE_CHANGED #/M/1"}, forward: []string{"FIELD_NAMED_TYPE_CHANGED #/M/1"},
		},
		{
			name: "enum to message", old: p3 + "enum E { Z = 0; } message M { E a = 1; } message N {}", new: p3 + "enum E { Z = 0; } message M { N a = 1; } message N {}",
			backward: []string{"FIELD_KIND_CHANGED #/M/1"}, forward: []string{"FIELD_KIND_CHANGED #/M/1"},
		},
		{
			name: "proto2 optional to repeated", old: p2 + "message M { optional int32 a = 1; }", new: p2 + "message M { repeated int32 a = 1; }",
			backward: []string{"FIELD_NUMERIC_LABEL_CHANGED #/M/1"}, forward: []string{"FIELD_NUMERIC_LABEL_CHANGED #/M/1"},
		},
		{name: "proto2 optional string to repeated", old: p2 + "message M { optional string a = 1; }", new: p2 + "message M { repeated string a = 1; }"},
		{name: "proto3 implicit to repeated (labels compared only when written)", old: p3 + "message M { int32 a = 1; }", new: p3 + "message M { repeated int32 a = 1; }"},
		{
			name: "proto3 optional to repeated", old: p3 + "message M { optional int32 a = 1; }", new: p3 + "message M { repeated int32 a = 1; }",
			backward: []string{"FIELD_NUMERIC_LABEL_CHANGED #/M/1"}, forward: []string{"FIELD_NUMERIC_LABEL_CHANGED #/M/1"},
		},
		{
			name: "required field added", old: p2 + "message M { optional int32 a = 1; }", new: p2 + "message M { optional int32 a = 1; required string b = 2; }",
			backward: []string{"REQUIRED_FIELD_ADDED #/M/2"}, forward: []string{"REQUIRED_FIELD_REMOVED #/M/2"},
		},
		{
			name: "optional made required", old: p2 + "message M { optional int32 a = 1; }", new: p2 + "message M { required int32 a = 1; }",
			backward: []string{"FIELD_NUMERIC_LABEL_CHANGED #/M/1"}, forward: []string{"FIELD_NUMERIC_LABEL_CHANGED #/M/1"},
		},
		{name: "oneof added with new fields", old: p3 + "message M { int32 a = 1; }", new: p3 + "message M { int32 a = 1; oneof o { string b = 2; int32 c = 3; } }"},
		{
			name: "oneof field removed", old: p3 + "message M { oneof o { string b = 2; int32 c = 3; } }", new: p3 + "message M { oneof o { string b = 2; } }",
			backward: []string{"ONEOF_FIELD_REMOVED #/M/o/3"},
		},
		{name: "oneof removed whole", old: p3 + "message M { int32 a = 1; oneof o { string b = 2; int32 c = 3; } }", new: p3 + "message M { int32 a = 1; }"},
		{name: "one field moved into a new oneof", old: p3 + "message M { int32 a = 1; }", new: p3 + "message M { oneof o { int32 a = 1; } }"},
		{
			name: "multiple fields moved to oneof", old: p3 + "message M { int32 a = 1; string b = 2; }", new: p3 + "message M { oneof o { int32 a = 1; string b = 2; } }",
			backward: []string{"MULTIPLE_FIELDS_MOVED_TO_ONEOF #/M/o"},
		},
		{
			name: "field moved to existing oneof", old: p3 + "message M { int32 a = 1; oneof o { string b = 2; } }", new: p3 + "message M { oneof o { int32 a = 1; string b = 2; } }",
			backward: []string{"FIELD_MOVED_TO_EXISTING_ONEOF #/M/o"},
		},
		{
			name: "oneof field moved to top level", old: p3 + "message M { oneof o { string b = 2; int32 c = 3; } }", new: p3 + "message M { string b = 2; oneof o { int32 c = 3; } }",
			forward: []string{"FIELD_MOVED_TO_EXISTING_ONEOF #/M/o"},
		},
		{
			name: "oneof field changes kind", old: p3 + "message M { oneof o { string b = 2; } }", new: p3 + "message M { oneof o { int32 b = 2; } }",
			backward: []string{"FIELD_SCALAR_KIND_CHANGED #/M/o/2"}, forward: []string{"FIELD_SCALAR_KIND_CHANGED #/M/o/2"},
		},
		{name: "enum constant added", old: p3 + "enum E { Z = 0; } message M { E e = 1; }", new: p3 + "enum E { Z = 0; A = 1; } message M { E e = 1; }"},
		{name: "enum constant renamed", old: p3 + "enum E { Z = 0; A = 1; }", new: p3 + "enum E { Z = 0; B = 1; }"},
		{name: "enum removed", old: p3 + "enum E { Z = 0; } message M {}", new: p3 + "message M {}"},
		{
			name: "nested message field changed", old: p3 + "message M { message N { int32 a = 1; } N n = 1; }", new: p3 + "message M { message N { string a = 1; } N n = 1; }",
			backward: []string{"FIELD_SCALAR_KIND_CHANGED #/M/N/1"}, forward: []string{"FIELD_SCALAR_KIND_CHANGED #/M/N/1"},
		},
		{
			name: "recursive message", old: p3 + "message Tree { repeated Tree kids = 1; int32 v = 2; }", new: p3 + "message Tree { repeated Tree kids = 1; string v = 2; }",
			backward: []string{"FIELD_SCALAR_KIND_CHANGED #/Tree/2"}, forward: []string{"FIELD_SCALAR_KIND_CHANGED #/Tree/2"},
		},
		{name: "reserved range added (not compared, as Confluent)", old: p3 + "message M { int32 a = 1; }", new: p3 + "message M { reserved 1; }"},
		{name: "well-known type kept", old: p3 + "import \"google/protobuf/timestamp.proto\";\nmessage M { google.protobuf.Timestamp t = 1; }", new: p3 + "import \"google/protobuf/timestamp.proto\";\nmessage M { google.protobuf.Timestamp at = 1; }"},
		{
			name: "well-known type swapped", old: p3 + "import \"google/protobuf/timestamp.proto\";\nimport \"google/protobuf/duration.proto\";\nmessage M { google.protobuf.Timestamp t = 1; }",
			new:      p3 + "import \"google/protobuf/timestamp.proto\";\nimport \"google/protobuf/duration.proto\";\nmessage M { google.protobuf.Duration t = 1; }",
			backward: []string{"FIELD_NAMED_TYPE_CHANGED #/M/1"}, forward: []string{"FIELD_NAMED_TYPE_CHANGED #/M/1"},
		},
		{
			name: "referenced type changed incompatibly", old: p3 + "import \"money.proto\";\nmessage Order { Money price = 1; }", new: p3 + "import \"money.proto\";\nmessage Order { Money price = 1; }",
			oldDeps:  []format.Dependency{{Name: "money.proto", Schema: p3 + "message Money { int64 units = 1; }"}},
			newDeps:  []format.Dependency{{Name: "money.proto", Schema: p3 + "message Money { string units = 1; }"}},
			backward: []string{"FIELD_NAMED_TYPE_CHANGED #/Order/1", "FIELD_SCALAR_KIND_CHANGED #/Money/1"},
			forward:  []string{"FIELD_NAMED_TYPE_CHANGED #/Order/1", "FIELD_SCALAR_KIND_CHANGED #/Money/1"},
		},
		{
			name: "referenced type changed compatibly", old: p3 + "import \"money.proto\";\nmessage Order { Money price = 1; }", new: p3 + "import \"money.proto\";\nmessage Order { Money price = 1; }",
			oldDeps: []format.Dependency{{Name: "money.proto", Schema: p3 + "message Money { int64 units = 1; }"}},
			newDeps: []format.Dependency{{Name: "money.proto", Schema: p3 + "message Money { int64 units = 1; string currency = 2; }"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			oldSchema := mustParse(t, tc.old, tc.oldDeps...)
			newSchema := mustParse(t, tc.new, tc.newDeps...)
			want := func(w []string) []string { w = slices.Clone(w); slices.Sort(w); return w }
			if got := incompatibilities(t, newSchema.CanRead(oldSchema)); !slices.Equal(got, want(tc.backward)) {
				t.Errorf("new reads old (BACKWARD): got %q, want %q", got, want(tc.backward))
			}
			if got := incompatibilities(t, oldSchema.CanRead(newSchema)); !slices.Equal(got, want(tc.forward)) {
				t.Errorf("old reads new (FORWARD): got %q, want %q", got, want(tc.forward))
			}
		})
	}
}

func TestCompatibilityMessage(t *testing.T) {
	old := mustParse(t, "syntax = \"proto3\";\nmessage Order { string id = 1; int32 qty = 2; }")
	updated := mustParse(t, "syntax = \"proto3\";\nmessage Order { string id = 1; string qty = 2; }")
	got := updated.CanRead(old)
	if len(got) != 1 {
		t.Fatalf("CanRead = %q, want one message", got)
	}
	// BACKWARD: the new schema reads the old one's data.
	want := `{errorType:"FIELD_SCALAR_KIND_CHANGED", description:"The kind of a SCALAR field at path '#/Order/2' in the new schema does not match its kind in the old schema"}`
	if filled := format.FillRoles(got[0], "new", "old"); filled != want {
		t.Fatalf("CanRead message filled:\n%s\nwant\n%s", filled, want)
	}
	// Every message has exactly the two placeholders.
	for _, pair := range [][2]string{
		{"syntax = \"proto3\";\npackage a;\nmessage A {} message B {}", "syntax = \"proto3\";\npackage b;\nmessage A {}"},
		{"syntax = \"proto2\";\nmessage M { optional int32 a = 1; }", "syntax = \"proto2\";\nmessage M { required int32 a = 1; repeated int32 b = 2; }"},
		{"syntax = \"proto3\";\nmessage M { int32 a = 1; string b = 2; oneof o { int32 c = 3; int32 d = 4; } }", "syntax = \"proto3\";\nmessage M { oneof o { int32 a = 1; string b = 2; int32 c = 3; } }"},
	} {
		for _, msg := range append(mustParse(t, pair[1]).CanRead(mustParse(t, pair[0])), mustParse(t, pair[0]).CanRead(mustParse(t, pair[1]))...) {
			if n := strings.Count(msg, "%s"); n != 2 {
				t.Errorf("message has %d placeholders, want 2: %s", n, msg)
			}
		}
	}
}

// otherSchema is a schema of another format, as the registry could never pass but CanRead
// must still answer.
type otherSchema struct{}

func (otherSchema) Canonical() string              { return "{}" }
func (otherSchema) Normalized() string             { return "{}" }
func (otherSchema) CanRead(format.Schema) []string { return nil }

func TestCompatibilityOtherFormat(t *testing.T) {
	s := mustParse(t, "syntax = \"proto3\";\nmessage A {}")
	if got := s.CanRead(otherSchema{}); len(got) != 1 {
		t.Fatalf("CanRead(other format) = %q, want one incompatibility", got)
	}
}

// TestDifferences checks the full list of differences, compatible ones included, for the
// cases Confluent's diff distinguishes most finely (Confluent's SchemaDiffTest covers the
// same ground; these schemas are our own).
func TestDifferences(t *testing.T) {
	const p3 = "syntax = \"proto3\";\n"
	home := func(kind string) string {
		return p3 + "package home.devices;\nmessage Thermostat { " + kind + " id = 1; bool on = 2; }"
	}
	cases := []struct {
		name             string
		old, new         string
		oldDeps, newDeps []format.Dependency
		want             []string
		compatible       bool
	}{
		{
			name: "name qualified differently", compatible: true,
			old: p3 + "package shop;\nmessage Order { Line line = 1; message Line { int32 n = 1; } }",
			new: p3 + "package shop;\nmessage Order { .shop.Order.Line line = 1; message Line { int32 n = 1; } }",
		},
		{
			name: "number to enum", compatible: true,
			old:  p3 + "message Order { int32 status = 1; }",
			new:  p3 + "message Order { Status status = 1; }\nenum Status { NEW = 0; PAID = 1; }",
			want: []string{"ENUM_ADDED #/Status"},
		},
		{
			name: "number to a message named like an enum",
			old:  p3 + "message Order { int32 status = 1; }",
			new:  p3 + "message Order { Status status = 1; message Status { int32 code = 1; } }\nenum Status { NEW = 0; }",
			want: []string{"ENUM_ADDED #/Status", "FIELD_KIND_CHANGED #/Order/1", "MESSAGE_ADDED #/Order/Status"},
		},
		{
			name: "field number changed", compatible: true,
			old:  p3 + "message Order { string id = 1; }",
			new:  p3 + "message Order { string id = 2; }",
			want: []string{"FIELD_ADDED #/Order/2", "FIELD_REMOVED #/Order/1"},
		},
		{
			name: "renamed and retyped",
			old:  p3 + "message Order { string id = 1; }",
			new:  p3 + "message Order { double amount = 1; }",
			want: []string{"FIELD_NAME_CHANGED #/Order/1", "FIELD_SCALAR_KIND_CHANGED #/Order/1"},
		},
		{
			name: "label change on a message field", compatible: true,
			old: p3 + "message Order { Line line = 1; } message Line {}",
			new: p3 + "message Order { repeated Line line = 1; } message Line {}",
		},
		{
			name: "label change on a string field", compatible: true,
			old:  p3 + "message Order { optional string tag = 1; }",
			new:  p3 + "message Order { repeated string tag = 1; }",
			want: []string{"FIELD_STRING_OR_BYTES_LABEL_CHANGED #/Order/1"},
		},
		{
			name: "messages swapped", compatible: true,
			old:  p3 + "message A {} message B {}",
			new:  p3 + "message B {} message A {}",
			want: []string{"MESSAGE_MOVED #/A", "MESSAGE_MOVED #/B"},
		},
		{
			name: "fields merged into a new oneof",
			old:  p3 + "message Pay { string card = 1; string iban = 2; }",
			new:  p3 + "message Pay { oneof method { string card = 1; string iban = 2; string wallet = 3; } }",
			want: []string{"MULTIPLE_FIELDS_MOVED_TO_ONEOF #/Pay/method", "ONEOF_ADDED #/Pay/method", "ONEOF_FIELD_ADDED #/Pay/method/3"},
		},
		{
			name: "oneof renamed, members kept", compatible: true,
			old:  p3 + "message Pay { oneof method { string card = 1; string iban = 2; } }",
			new:  p3 + "message Pay { oneof how { string card = 1; string iban = 2; } }",
			want: []string{"ONEOF_ADDED #/Pay/how", "ONEOF_REMOVED #/Pay/method"},
		},
		{
			name: "oneof renamed and a member retyped",
			old:  p3 + "message Pay { oneof method { string card = 1; string iban = 2; } }",
			new:  p3 + "message Pay { oneof how { string card = 1; int64 iban = 2; } }",
			want: []string{"FIELD_SCALAR_KIND_CHANGED #/Pay/how/2", "ONEOF_ADDED #/Pay/how", "ONEOF_REMOVED #/Pay/method"},
		},
		{
			name: "oneof renamed and a member dropped",
			old:  p3 + "message Pay { oneof method { string card = 1; string iban = 2; } }",
			new:  p3 + "message Pay { oneof how { string card = 1; } }",
			want: []string{"ONEOF_ADDED #/Pay/how", "ONEOF_FIELD_REMOVED #/Pay/method/2", "ONEOF_REMOVED #/Pay/method"},
		},
		{
			name: "two oneofs merged",
			old:  p3 + "message Pay { oneof a { string card = 1; } oneof b { string iban = 2; } }",
			new:  p3 + "message Pay { oneof c { string card = 1; string iban = 2; } }",
			want: []string{"FIELD_MOVED_TO_EXISTING_ONEOF #/Pay/c", "ONEOF_ADDED #/Pay/c", "ONEOF_REMOVED #/Pay/a", "ONEOF_REMOVED #/Pay/b"},
		},
		{
			name: "oneof dissolved, a member retyped",
			old:  p3 + "message Pay { oneof method { string card = 1; string iban = 2; } }",
			new:  p3 + "message Pay { string card = 1; bool iban = 2; }",
			want: []string{"FIELD_SCALAR_KIND_CHANGED #/Pay/2", "ONEOF_FIELD_MOVED_TO_TOP_LEVEL #/Pay/1", "ONEOF_FIELD_MOVED_TO_TOP_LEVEL #/Pay/2", "ONEOF_REMOVED #/Pay/method"},
		},
		{
			name:    "type moved into a reference",
			old:     p3 + "package home.devices;\nmessage Thermostat { int32 id = 1; }\nmessage Reading { Thermostat from = 1; }",
			new:     p3 + "package home.devices;\nimport \"thermostat.proto\";\nmessage Reading { Thermostat from = 1; }",
			newDeps: []format.Dependency{{Name: "thermostat.proto", Schema: home("int32")}},
			// The field's type now comes from the reference, whose Thermostat is compared
			// with the old local one; Reading's index among the messages changed.
			want: []string{"FIELD_ADDED #/Thermostat/2", "MESSAGE_MOVED #/Reading", "MESSAGE_REMOVED #/Thermostat"},
		},
		{
			name: "type moved out of a reference", compatible: true,
			old:     p3 + "package home.devices;\nimport \"thermostat.proto\";\nmessage Reading { Thermostat from = 1; }",
			oldDeps: []format.Dependency{{Name: "thermostat.proto", Schema: home("int32")}},
			new:     p3 + "package home.devices;\nmessage Thermostat { int32 id = 1; bool on = 2; }\nmessage Reading { Thermostat from = 1; }",
			want:    []string{"MESSAGE_ADDED #/Thermostat", "MESSAGE_MOVED #/Reading"},
		},
		{
			name: "reference renamed, type unchanged", compatible: true,
			old:     p3 + "import \"a.proto\";\nmessage Reading { home.devices.Thermostat from = 1; }",
			oldDeps: []format.Dependency{{Name: "a.proto", Schema: home("int32")}},
			new:     p3 + "import \"b.proto\";\nmessage Reading { home.devices.Thermostat from = 1; }",
			newDeps: []format.Dependency{{Name: "b.proto", Schema: home("int32")}},
		},
		{
			name:    "reference's new version changes a field",
			old:     p3 + "import \"a.proto\";\nmessage Reading { home.devices.Thermostat from = 1; }",
			oldDeps: []format.Dependency{{Name: "a.proto", Schema: home("int32")}},
			new:     p3 + "import \"a.proto\";\nmessage Reading { home.devices.Thermostat from = 1; }",
			newDeps: []format.Dependency{{Name: "a.proto", Schema: home("string")}},
			want:    []string{"FIELD_NAMED_TYPE_CHANGED #/Reading/1", "FIELD_SCALAR_KIND_CHANGED #/Thermostat/1"},
		},
		{
			name: "nested field added", compatible: true,
			old:  p3 + "message Outer { message Inner { int32 a = 1; } }",
			new:  p3 + "message Outer { message Inner { int32 a = 1; int32 b = 2; } }",
			want: []string{"FIELD_ADDED #/Outer/Inner/2"},
		},
		{
			name: "enum constant renamed and added", compatible: true,
			old:  p3 + "enum Status { NEW = 0; PAID = 1; }",
			new:  p3 + "enum Status { NEW = 0; SETTLED = 1; SHIPPED = 2; }",
			want: []string{"ENUM_CONST_ADDED #/Status/2", "ENUM_CONST_CHANGED #/Status/1"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			oldSchema := mustParse(t, tc.old, tc.oldDeps...).(*protobufSchema)
			newSchema := mustParse(t, tc.new, tc.newDeps...).(*protobufSchema)
			ctx := newDiffContext(oldSchema, newSchema)
			ctx.compareFiles(oldSchema.file, newSchema.file)
			var got []string
			for _, d := range ctx.diffs {
				got = append(got, string(d.kind)+" "+d.path)
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("differences: got %q, want %q", got, want)
			}
			if compatible := len(newSchema.CanRead(oldSchema)) == 0; compatible != tc.compatible {
				t.Errorf("new reads old: compatible = %v, want %v", compatible, tc.compatible)
			}
		})
	}
}
