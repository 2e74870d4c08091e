package protobuf

import (
	"encoding/base64"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// descriptorOf compiles text as path and returns its FileDescriptorProto in base64, as
// confluent-kafka-python's ProtobufSerializer sends it: without source info and without
// json_name (protoc's FileDescriptor::CopyTo leaves both out of generated modules).
func descriptorOf(t testing.TB, path, text string, deps ...format.Dependency) string {
	t.Helper()
	s, err := New().Parse(text, deps)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	fd := protodesc.ToFileDescriptorProto(s.(*protobufSchema).file)
	fd.Name = proto.String(path)
	fd.SourceCodeInfo = nil
	var strip func(m *descriptorpb.DescriptorProto)
	strip = func(m *descriptorpb.DescriptorProto) {
		for _, f := range append(m.Field, m.Extension...) {
			f.JsonName = nil
		}
		for _, n := range m.NestedType {
			strip(n)
		}
	}
	for _, m := range fd.MessageType {
		strip(m)
	}
	for _, f := range fd.Extension {
		f.JsonName = nil
	}
	b, err := proto.Marshal(fd)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// TestParseDescriptor: a base64 FileDescriptorProto parses to .proto text with fully
// qualified type names (as Confluent stores it), refers to its imports through references,
// and normalizes to what the .proto text it was compiled from normalizes to.
func TestParseDescriptor(t *testing.T) {
	common := "syntax = \"proto3\";\npackage acme;\n\nmessage Money {\n  int64 cents = 1;\n  string currency = 2;\n}\n"
	s := mustParse(t, descriptorOf(t, "acme/common.proto", common))
	if s.Canonical() != common {
		t.Errorf("canonical form of a descriptor:\n%s\nwant\n%s", s.Canonical(), common)
	}

	pay := `syntax = "proto3"; package acme; import "acme/common.proto"; import "google/protobuf/timestamp.proto";
message Payment { string id = 1; Money amount = 2; google.protobuf.Timestamp at = 3; }`
	dep := format.Dependency{Name: "acme/common.proto", Schema: common}
	got := mustParse(t, descriptorOf(t, "acme/pay.proto", pay, dep), dep)
	want := `syntax = "proto3";
package acme;

import "acme/common.proto";
import "google/protobuf/timestamp.proto";

message Payment {
  string id = 1;
  .acme.Money amount = 2;
  .google.protobuf.Timestamp at = 3;
}
`
	if got.Canonical() != want {
		t.Errorf("canonical form of a descriptor with imports:\n%s\nwant\n%s", got.Canonical(), want)
	}
	if text := mustParse(t, pay, dep); got.Normalized() != text.Normalized() {
		t.Errorf("normalized forms differ:\n%s\nfrom text:\n%s", got.Normalized(), text.Normalized())
	}
	if _, err := New().Parse(descriptorOf(t, "acme/pay.proto", pay, dep), nil); err == nil || !strings.Contains(err.Error(), "acme/common.proto") {
		t.Errorf("a descriptor whose import has no reference: %v, want an error naming the import", err)
	}

	// Go's generated descriptor of a well-known type, as a client would send it; it lists each
	// field's JSON name, which is printed as Confluent prints it (an explicit json_name).
	b, err := proto.Marshal(protodesc.ToFileDescriptorProto(timestamppb.File_google_protobuf_timestamp_proto))
	if err != nil {
		t.Fatal(err)
	}
	ts := mustParse(t, base64.StdEncoding.EncodeToString(b))
	for _, line := range []string{"package google.protobuf;", "message Timestamp {", `  int64 seconds = 1 [json_name = "seconds"];`, `  int32 nanos = 2 [json_name = "nanos"];`, `option go_package = "google.golang.org/protobuf/types/known/timestamppb";`} {
		if !strings.Contains(ts.Canonical(), line+"\n") {
			t.Errorf("timestamp.proto's descriptor printed without %q:\n%s", line, ts.Canonical())
		}
	}
}

// TestParseDescriptorRoundTrip: schemas with options, defaults, maps, oneofs, groups,
// extensions, enums and services, compiled to descriptors and parsed back, normalize as
// their texts do.
func TestParseDescriptorRoundTrip(t *testing.T) {
	dep := format.Dependency{Name: "dep.proto", Schema: `syntax = "proto3"; package d; message D { int32 d = 1; }`}
	for _, text := range []string{
		`syntax = "proto3"; package a; option java_package = "com.a"; message M { int32 x = 1 [deprecated = true]; map<string, M> m = 2; oneof o { string s = 3; int64 n = 4; } optional bool b = 5; repeated int32 r = 6 [packed = false]; }`,
		`syntax = "proto2"; message A { required int32 a = 1 [default = 3]; optional string s = 3 [default = "x\ty"]; optional group G = 2 { optional int32 g = 1; } extensions 10 to max; reserved 5, 7 to 9; reserved "zz"; }
extend A { optional int32 ext = 10; }`,
		`syntax = "proto3"; import "dep.proto"; message U { d.D d = 1; E e = 2; enum E { option allow_alias = true; Z = 0; A = 1; B = 1 [deprecated = true]; } }
service S { rpc R (stream U) returns (d.D) { option deprecated = true; } }`,
		`syntax = "proto3"; import "confluent/meta.proto"; message T { option (confluent.message_meta) = { doc: "x" tags: ["a", "b"] }; int32 t = 1 [(confluent.field_meta).doc = "f"]; }`,
		`edition = "2023"; message E { int32 a = 1 [features.field_presence = IMPLICIT]; }`,
	} {
		fromText := mustParse(t, text, dep)
		fromDescriptor := mustParse(t, descriptorOf(t, "x.proto", text, dep), dep)
		if fromText.Normalized() != fromDescriptor.Normalized() {
			t.Errorf("normalized forms differ\nfrom the descriptor:\n%s\nfrom the text:\n%s", fromDescriptor.Normalized(), fromText.Normalized())
		}
		if problems := fromDescriptor.CanRead(fromText); len(problems) != 0 {
			t.Errorf("the descriptor's schema cannot read the text's: %v", problems)
		}
		if again := mustParse(t, fromDescriptor.Canonical(), dep); again.Canonical() != fromDescriptor.Canonical() {
			t.Errorf("canonical form is not stable:\n%s\nthen\n%s", fromDescriptor.Canonical(), again.Canonical())
		}
	}
}

// TestParseDescriptorNotText: base64 that is not a descriptor, or text with other characters,
// is parsed as .proto text and fails with its syntax error; empty text (or a comment) is still
// an empty file.
func TestParseDescriptorNotText(t *testing.T) {
	for _, schema := range []string{"abc", "QUJD===", "message", "Cg"} {
		if _, err := New().Parse(schema, nil); err == nil {
			t.Errorf("%q parsed", schema)
		}
	}
	for _, schema := range []string{"", "////", "//Cg=="} { // empty files, one a comment
		if _, err := New().Parse(schema, nil); err != nil {
			t.Errorf("%q: %v", schema, err)
		}
	}
	// A descriptor whose message refers to a type that does not exist fails to link.
	fd := &descriptorpb.FileDescriptorProto{Name: proto.String("x.proto"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("M"), Field: []*descriptorpb.FieldDescriptorProto{{
			Name: proto.String("n"), Number: proto.Int32(1), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(), TypeName: proto.String(".nowhere.N")}}}}}
	b, _ := proto.Marshal(fd)
	if _, err := New().Parse(base64.StdEncoding.EncodeToString(b), nil); err == nil || !strings.Contains(err.Error(), "nowhere.N") {
		t.Errorf("a descriptor with an unknown type: %v", err)
	}
}

// FuzzParseDescriptor: any bytes, sent base64 as a descriptor, parse or fail without
// panicking, and a descriptor that parses prints text that parses to the same canonical form.
func FuzzParseDescriptor(f *testing.F) {
	for _, text := range []string{
		`syntax = "proto3"; package a; message M { int32 x = 1; map<string, M> m = 2; oneof o { string s = 3; } }`,
		`syntax = "proto2"; message A { required int32 a = 1 [default = 3]; optional group G = 2 { optional int32 g = 1; } extensions 10 to max; } extend A { optional int32 e = 10; }`,
		`syntax = "proto3"; import "dep.proto"; message U { D d = 1; } service S { rpc R (stream U) returns (D); }`,
		`syntax = "proto3"; import "confluent/meta.proto"; message T { option (confluent.message_meta) = { doc: "x" }; }`,
	} {
		s, err := New().Parse(text, []format.Dependency{{Name: "dep.proto", Schema: `syntax = "proto3"; message D { int32 d = 1; }`}})
		if err != nil {
			f.Fatal(err)
		}
		b, err := proto.Marshal(protodesc.ToFileDescriptorProto(s.(*protobufSchema).file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		deps := []format.Dependency{{Name: "dep.proto", Schema: `syntax = "proto3"; message D { int32 d = 1; }`}}
		s, err := New().Parse(base64.StdEncoding.EncodeToString(b), deps)
		if err != nil {
			return
		}
		again, err := New().Parse(s.Canonical(), deps)
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%s", err, s.Canonical())
		}
		if again.Canonical() != s.Canonical() {
			t.Fatalf("canonical form changes when parsed again:\n%s\nthen\n%s", s.Canonical(), again.Canonical())
		}
	})
}

// BenchmarkParseDescriptor compares parsing a schema sent as a base64 descriptor (compiled,
// printed, then parsed as text) with parsing its text.
func BenchmarkParseDescriptor(b *testing.B) {
	common := "syntax = \"proto3\";\npackage acme;\n\nmessage Money {\n  int64 cents = 1;\n  string currency = 2;\n}\n"
	pay := `syntax = "proto3"; package acme; import "acme/common.proto"; import "google/protobuf/timestamp.proto";
message Payment { string id = 1; Money amount = 2; google.protobuf.Timestamp at = 3; map<string, string> labels = 4; oneof via { string card = 5; string iban = 6; } }`
	dep := format.Dependency{Name: "acme/common.proto", Schema: common}
	encoded := descriptorOf(b, "acme/pay.proto", pay, dep)
	for name, schema := range map[string]string{"descriptor": encoded, "text": pay} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := New().Parse(schema, []format.Dependency{dep}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
