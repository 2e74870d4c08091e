package protobuf

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/registry/format"
)

func mustParse(t *testing.T, schema string, deps ...format.Dependency) format.Schema {
	t.Helper()
	s, err := New().Parse(schema, deps)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, schema)
	}
	return s
}

func TestType(t *testing.T) {
	if got := New().Type(); got != format.Protobuf {
		t.Fatalf("Type() = %q", got)
	}
}

func TestParseSyntaxes(t *testing.T) {
	cases := []struct {
		name, schema string
		want         []string // lines the canonical form must contain
	}{
		{
			name: "proto3",
			schema: `syntax = "proto3";
package shop.v1;
message Order {
  string id = 1;
  optional int64 cents = 2;
  repeated string tags = 3;
  map<string, Item> items = 4;
  message Item { int32 qty = 1; }
}`,
			want: []string{`syntax = "proto3";`, "package shop.v1;", "message Order {", "  optional int64 cents = 2;",
				"  repeated string tags = 3;", "  map<string, Item> items = 4;", "  message Item {", "    int32 qty = 1;"},
		},
		{
			name: "proto2",
			schema: `syntax = "proto2";
message Legacy {
  required string id = 1;
  optional int32 count = 2 [default = 7];
  extensions 100 to max;
}
extend Legacy { optional string note = 100; }`,
			want: []string{`syntax = "proto2";`, "  required string id = 1;", "  optional int32 count = 2 [default = 7];",
				"  extensions 100 to max;", "extend Legacy {", "  optional string note = 100;"},
		},
		{
			name:   "proto2 by default",
			schema: `message Old { optional bytes b = 1; }`,
			want:   []string{"message Old {", "  optional bytes b = 1;"},
		},
		{
			name: "editions",
			schema: `edition = "2023";
package ed;
message E {
  int32 a = 1 [features.field_presence = IMPLICIT];
  repeated int32 b = 2;
}`,
			want: []string{`edition = "2023";`, "  int32 a = 1 [features.field_presence = IMPLICIT];", "  repeated int32 b = 2;"},
		},
		{
			name: "enums services oneofs reserved",
			schema: `syntax = "proto3";
enum Color { option allow_alias = true; RED = 0; CRIMSON = 0; reserved 5 to 9; reserved "BLUE"; }
message Req { oneof pick { string name = 1; int32 id = 2; } reserved 3, 10 to 12; reserved "old"; }
service Finder { rpc Find (Req) returns (stream Req); }`,
			want: []string{"enum Color {", "  reserved 5 to 9;", `  reserved "BLUE";`, "  option allow_alias = true;",
				"  CRIMSON = 0;", "  oneof pick {", "    int32 id = 2;", "  reserved 3, 10 to 12;",
				"service Finder {", "  rpc Find (Req) returns (stream Req);"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, tc.schema)
			for _, line := range tc.want {
				if !strings.Contains(s.Canonical(), line+"\n") {
					t.Errorf("canonical form lacks %q:\n%s", line, s.Canonical())
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, schema string
		want         string
	}{
		{"syntax error", "syntax = \"proto3\";\nmessage A {\n  int32 a = ;\n}", "schema.proto:3:"},
		{"duplicate number", "syntax = \"proto3\";\nmessage A { int32 a = 1; string b = 1; }", "schema.proto:2:"},
		{"unknown type", "syntax = \"proto3\";\nmessage A {\n  Missing m = 1;\n}", "schema.proto:3:3:"},
		{"missing import", "syntax = \"proto3\";\nimport \"other.proto\";\nmessage A {}", "other.proto"},
		{"bad syntax value", `syntax = "proto4";`, "schema.proto:1:"},
		{"empty", "", ""},
		{"not proto at all", `{"type": "record"}`, "schema.proto:1:1:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New().Parse(tc.schema, nil)
			if tc.name == "empty" {
				// An empty file is a valid (empty) proto2 file, as it is for protoc and Confluent.
				if err != nil {
					t.Fatalf("empty schema: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("parsed, want an error; canonical:\n%s", s.Canonical())
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestParseReferences(t *testing.T) {
	money := format.Dependency{Name: "shop/money.proto", Schema: `syntax = "proto3";
package shop;
message Money { string currency = 1; int64 units = 2; }`}
	line := format.Dependency{Name: "shop/line.proto", Schema: `syntax = "proto3";
package shop;
import "shop/money.proto";
message Line { string sku = 1; Money price = 2; }`, Deps: []format.Dependency{money}}
	order := `syntax = "proto3";
package shop;
import "shop/line.proto";
message Order { repeated Line lines = 1; }`
	s := mustParse(t, order, line)
	if !strings.Contains(s.Canonical(), `import "shop/line.proto";`) {
		t.Fatalf("canonical form lost the import:\n%s", s.Canonical())
	}
	// Without the reference it does not compile, naming the import.
	if _, err := New().Parse(order, nil); err == nil || !strings.Contains(err.Error(), "shop/line.proto") {
		t.Fatalf("parse without references: %v", err)
	}
	// A reference's own reference missing fails too.
	lineAlone := line
	lineAlone.Deps = nil
	if _, err := New().Parse(order, []format.Dependency{lineAlone}); err == nil || !strings.Contains(err.Error(), "shop/money.proto") {
		t.Fatalf("parse with an incomplete reference chain: %v", err)
	}
	// A broken reference is reported with its own file name.
	broken := format.Dependency{Name: "shop/line.proto", Schema: "syntax = \"proto3\";\nmessage Line {"}
	if _, err := New().Parse(order, []format.Dependency{broken}); err == nil || !strings.Contains(err.Error(), "shop/line.proto:") {
		t.Fatalf("parse with a broken reference: %v", err)
	}
}

func TestParseBuiltinImports(t *testing.T) {
	schema := `syntax = "proto3";
package ev;
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/any.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";
import "confluent/meta.proto";
import "confluent/type/decimal.proto";
message Event {
  option (confluent.message_meta).doc = "an event";
  google.protobuf.Timestamp at = 1;
  google.protobuf.Duration took = 2;
  google.protobuf.Any detail = 3;
  google.protobuf.Struct attrs = 4;
  google.protobuf.StringValue note = 5;
  google.protobuf.FieldMask mask = 6;
  confluent.type.Decimal amount = 7 [(confluent.field_meta) = { doc: "money", params: [{key: "precision", value: "10"}] }];
  google.protobuf.Empty nothing = 8;
}`
	s := mustParse(t, schema)
	for _, want := range []string{`option (confluent.message_meta).doc = "an event";`, "confluent.type.Decimal amount = 7"} {
		if !strings.Contains(s.Canonical(), want) {
			t.Errorf("canonical form lacks %q:\n%s", want, s.Canonical())
		}
	}
	if !strings.Contains(s.Normalized(), `(confluent.field_meta) = { doc: "money" params: { key: "precision" value: "10" } }`) {
		t.Errorf("normalized form lacks the interpreted field_meta option:\n%s", s.Normalized())
	}
}

func TestCanonicalIgnoresLayoutAndComments(t *testing.T) {
	a := `syntax = "proto3";
package shop;
// An order.
message Order {
  string id = 1; // the id
  /* block */ repeated Line lines = 2 [deprecated = true];
  message Line { string sku = 1; }
}`
	b := "syntax=\"proto3\";package shop;message Order{string id=1;repeated Line lines=2[deprecated=true];message Line{string sku=1;}}"
	sa, sb := mustParse(t, a), mustParse(t, b)
	if sa.Canonical() != sb.Canonical() {
		t.Fatalf("canonical forms differ:\n%s\n---\n%s", sa.Canonical(), sb.Canonical())
	}
	want := `syntax = "proto3";
package shop;

message Order {
  string id = 1;
  repeated Line lines = 2 [deprecated = true];

  message Line {
    string sku = 1;
  }
}
`
	if sa.Canonical() != want {
		t.Fatalf("canonical form:\n%s\nwant:\n%s", sa.Canonical(), want)
	}
}

func TestCanonicalKeepsDeclarationOrder(t *testing.T) {
	a := mustParse(t, `syntax = "proto3"; message B { int32 y = 2; int32 x = 1; } message A {}`)
	b := mustParse(t, `syntax = "proto3"; message A {} message B { int32 x = 1; int32 y = 2; }`)
	if a.Canonical() == b.Canonical() {
		t.Fatal("canonical forms of differently ordered schemas are equal; message order carries message indexes")
	}
	if !strings.Contains(a.Canonical(), "message B {\n  int32 y = 2;\n  int32 x = 1;\n}\nmessage A {}\n") {
		t.Fatalf("canonical form reordered declarations:\n%s", a.Canonical())
	}
}

func TestNormalized(t *testing.T) {
	a := mustParse(t, `syntax = "proto3";
package p;
import "google/protobuf/timestamp.proto";
import "confluent/meta.proto";
option java_package = "x";
option (confluent.file_meta).doc = "d";
message M {
  reserved 9, 3;
  oneof second { int32 z = 8; int32 w = 7; }
  oneof first { int32 v = 5; }
  google.protobuf.Timestamp t = 2;
  int32 b = 4 [json_name = "bee", deprecated = true];
  map<string, N> m = 1;
  message N {}
  enum E { Z = 0; B = 2; A = 1; }
}`)
	b := mustParse(t, `syntax = "proto3";
package p;
import "confluent/meta.proto";
import "google/protobuf/timestamp.proto";
option (confluent.file_meta) = { doc: "d" };
option java_package = "x";
message M {
  reserved 3, 9;
  map<string, .p.M.N> m = 1;
  .google.protobuf.Timestamp t = 2;
  int32 b = 4 [deprecated = true, json_name = "bee"];
  oneof first { int32 v = 5; }
  oneof second { int32 w = 7; int32 z = 8; }
  message N {}
  enum E { Z = 0; A = 1; B = 2; }
}`)
	if a.Normalized() != b.Normalized() {
		t.Fatalf("normalized forms differ:\n%s\n---\n%s", a.Normalized(), b.Normalized())
	}
	if a.Canonical() == b.Canonical() {
		t.Fatal("canonical forms are equal; only the normalized ones should be")
	}
	want := `syntax = "proto3";
package p;

import "confluent/meta.proto";
import "google/protobuf/timestamp.proto";

option (confluent.file_meta) = { doc: "d" };
option java_package = "x";

message M {
  reserved 3;
  reserved 9;

  map<string, .p.M.N> m = 1;
  .google.protobuf.Timestamp t = 2;
  int32 b = 4 [
    deprecated = true,
    json_name = "bee"
  ];

  oneof first {
    int32 v = 5;
  }
  oneof second {
    int32 w = 7;
    int32 z = 8;
  }

  message N {}
  enum E {
    Z = 0;
    A = 1;
    B = 2;
  }
}
`
	if a.Normalized() != want {
		t.Fatalf("normalized form:\n%s\nwant:\n%s", a.Normalized(), want)
	}
}

// TestPrintedFormsReparse: both printed forms are schemas that compile to the same printed
// forms again, so what the registry stores and returns is usable by clients.
func TestPrintedFormsReparse(t *testing.T) {
	schemas := []string{
		`syntax = "proto3"; package a.b; import "google/protobuf/timestamp.proto"; import "confluent/meta.proto";
option java_package = "x.y"; option (confluent.file_meta).doc = "hi \"there\"\n";
message M { option (confluent.message_meta) = {doc: "m" params: {key: "k" value: "v"}}; map<string, int64> m = 1;
optional int32 x = 2 [json_name="X", deprecated=true]; oneof o { string s = 3; E e = 6; } reserved 5, 7 to 9, 100 to max; reserved "zz";
google.protobuf.Timestamp ts = 4; enum E { A = 0; B = 1 [deprecated = true]; } message N { repeated N n = 1; } }
service S { option deprecated = true; rpc Get (M) returns (stream M.N) { option idempotency_level = NO_SIDE_EFFECTS; } }`,
		`syntax = "proto2"; package p; message A { required int32 a = 1 [default = -5]; optional string s = 2 [default = "x\ty"];
optional double d = 4 [default = inf]; optional bytes by = 5 [default = "\001\377"];
optional group G = 3 { optional int32 g = 1; } extensions 100 to 200; message Inner { extend A { optional int32 in = 150; } } }
extend A { optional int32 e = 101; repeated string f = 102; }`,
		`edition = "2023"; package ed; message E { int32 a = 1 [features.field_presence = IMPLICIT]; reserved foo, bar; }`,
	}
	for i, schema := range schemas {
		s := mustParse(t, schema)
		again := mustParse(t, s.Canonical())
		if again.Canonical() != s.Canonical() {
			t.Errorf("schema %d: canonical form is not stable:\n%s\n---\n%s", i, s.Canonical(), again.Canonical())
		}
		norm := mustParse(t, s.Normalized())
		if norm.Normalized() != s.Normalized() {
			t.Errorf("schema %d: normalized form is not stable:\n%s\n---\n%s", i, s.Normalized(), norm.Normalized())
		}
	}
}

func TestParseBounds(t *testing.T) {
	// A reference chain deeper than the limit is refused, not followed.
	dep := format.Dependency{Name: "d0.proto", Schema: `syntax = "proto3";`}
	for i := 1; i <= maxDependencyDepth+2; i++ {
		dep = format.Dependency{Name: "d" + strings.Repeat("x", i) + ".proto", Schema: `syntax = "proto3";`, Deps: []format.Dependency{dep}}
	}
	if _, err := New().Parse(`syntax = "proto3";`, []format.Dependency{dep}); err == nil {
		t.Fatal("parsed with a reference chain beyond the depth limit")
	}
	// Deep nesting in the text is an error, not a stack overflow.
	deep := `syntax = "proto3";` + strings.Repeat("message M {", 200) + strings.Repeat("}", 200)
	if _, err := New().Parse(deep, nil); err == nil {
		t.Fatal("parsed messages nested 200 deep")
	}
}

// TestBuiltinImportsCompile: every built-in file compiles on its own, and google/type's
// messages are usable as field types without references.
func TestBuiltinImportsCompile(t *testing.T) {
	for path := range builtinImports {
		t.Run(path, func(t *testing.T) {
			mustParse(t, "syntax = \"proto3\";\nimport \""+path+"\";\nmessage Uses {}")
		})
	}
	s := mustParse(t, `syntax = "proto3";
import "google/type/money.proto";
import "google/type/date.proto";
import "google/type/datetime.proto";
import "confluent/type/variant.proto";
message Invoice {
  google.type.Money total = 1;
  google.type.Date due = 2;
  google.type.DateTime issued = 3;
  confluent.type.Variant extra = 4;
}`)
	if !strings.Contains(s.Normalized(), ".google.type.Money total = 1;") {
		t.Fatalf("normalized form:\n%s", s.Normalized())
	}
}
