package protobuf

import (
	"testing"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// FuzzParse: any text, as a schema or as its one reference, parses or fails without
// panicking, and a schema that parses prints forms that parse again and compare with it.
func FuzzParse(f *testing.F) {
	seeds := []string{
		`syntax = "proto3"; package a; message M { int32 x = 1; map<string, M> m = 2; oneof o { string s = 3; } }`,
		`syntax = "proto2"; message A { required int32 a = 1 [default = 3]; optional group G = 2 { optional int32 g = 1; } extensions 10 to max; }`,
		`edition = "2023"; message E { int32 a = 1 [features.field_presence = IMPLICIT]; }`,
		`syntax = "proto3"; import "dep.proto"; message U { D d = 1; }`,
		`syntax = "proto3"; import "confluent/meta.proto"; message T { option (confluent.message_meta) = { doc: "x" }; }`,
		`enum E { A = 0; reserved 1 to max; } service S { rpc R (stream M) returns (M); } message M {}`,
		`message M { option (x) = { a: [1, 2] }; }`,
		"",
	}
	dep := `syntax = "proto3"; message D { int32 d = 1; }`
	for _, s := range seeds {
		f.Add(s, dep)
	}
	f.Fuzz(func(t *testing.T, schema, depText string) {
		deps := []format.Dependency{{Name: "dep.proto", Schema: depText}}
		s, err := New().Parse(schema, deps)
		if err != nil {
			return
		}
		again, err := New().Parse(s.Canonical(), deps)
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%s", err, s.Canonical())
		}
		_ = s.CanRead(again)
		_ = again.CanRead(s)
		if _, err := New().Parse(s.Normalized(), deps); err != nil {
			t.Fatalf("normalized form does not parse: %v\n%s", err, s.Normalized())
		}
	})
}
