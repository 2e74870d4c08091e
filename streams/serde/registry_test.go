package serde

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// The registry in these tests is franz-go's in-process fake (srfake), which keeps schemas as
// sent; tests/streams_serde_test.go runs the same serdes against Sluice's registry and
// Confluent's Python serializers.

func fakeRegistry(t testing.TB) (*srfake.Registry, *sr.Client) {
	t.Helper()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return reg, cl
}

const (
	readingV1 = `{"type":"record","name":"Reading","namespace":"acme","fields":[{"name":"sensor","type":"string"},{"name":"celsius","type":"double"}]}`
	readingV2 = `{"type":"record","name":"Reading","namespace":"acme","fields":[{"name":"sensor","type":"string"},{"name":"celsius","type":"double"},{"name":"unit","type":"string","default":"C"}]}`
)

type readingV1T struct {
	Sensor  string  `avro:"sensor"`
	Celsius float64 `avro:"celsius"`
}

type readingV2T struct {
	Sensor  string  `avro:"sensor"`
	Celsius float64 `avro:"celsius"`
	Unit    string  `avro:"unit"`
}

// wireID checks b starts with magic byte 0 and returns the schema id after it.
func wireID(t *testing.T, b []byte) int {
	t.Helper()
	if len(b) < 5 || b[0] != 0 {
		t.Fatalf("not in the Confluent wire format: %x", b)
	}
	return int(binary.BigEndian.Uint32(b[1:5]))
}

func TestAvroRegistersAndRoundTrips(t *testing.T) {
	reg, cl := fakeRegistry(t)
	s, err := Avro[readingV1T](cl, readingV1)
	if err != nil {
		t.Fatal(err)
	}
	in := readingV1T{"s1", 21.5}
	b, err := s.Serialize("readings", in)
	if err != nil {
		t.Fatal(err)
	}
	ss, ok := reg.GetSchema("readings-value", 1)
	if !ok || wireID(t, b) != ss.ID {
		t.Fatalf("readings-value version 1: %+v (%v); record id %d", ss, ok, wireID(t, b))
	}
	// 0 | id | Avro binary: "s1" as zig-zag length 2 then the bytes, 21.5 little-endian.
	if got := hex.EncodeToString(b[5:]); got != "04"+"7331"+"0000000000803540" {
		t.Fatalf("payload %s", got)
	}
	out, err := s.Deserialize("readings", b)
	if err != nil || out != in {
		t.Fatalf("round trip: %+v, %v", out, err)
	}

	// A reader with v2 (a field added with a default) reads v1's bytes by resolution.
	s2, err := Avro[readingV2T](cl, readingV2)
	if err != nil {
		t.Fatal(err)
	}
	out2, err := s2.Deserialize("readings", b)
	if err != nil || out2 != (readingV2T{"s1", 21.5, "C"}) {
		t.Fatalf("v1 bytes read with v2: %+v, %v", out2, err)
	}
}

func TestAvroSubjects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []Option
		subject string
	}{
		{"value", nil, "t1-value"},
		{"key", []Option{Key()}, "t1-key"},
		{"record", []Option{SubjectNames(RecordNameStrategy)}, "acme.Reading"},
		{"topic-record", []Option{SubjectNames(TopicRecordNameStrategy)}, "t1-acme.Reading"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, cl := fakeRegistry(t)
			s, err := Avro[readingV1T](cl, readingV1, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Serialize("t1", readingV1T{"a", 1}); err != nil {
				t.Fatal(err)
			}
			if !reg.SubjectExists(tc.subject) {
				t.Fatalf("subject %s not registered", tc.subject)
			}
		})
	}
}

func TestAvroNoAutoRegisterAndLatest(t *testing.T) {
	reg, cl := fakeRegistry(t)
	lookup, _ := Avro[readingV1T](cl, readingV1, NoAutoRegister())
	if _, err := lookup.Serialize("t2", readingV1T{"a", 1}); err == nil {
		t.Fatal("NoAutoRegister serialized with a schema the registry does not hold")
	}
	if reg.SubjectExists("t2-value") {
		t.Fatal("NoAutoRegister registered the schema")
	}
	id1, _, err := reg.RegisterSchema("t2-value", sr.Schema{Schema: readingV1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := lookup.Serialize("t2", readingV1T{"a", 1})
	if err != nil || wireID(t, b) != id1 {
		t.Fatalf("after registering: %x, %v; want id %d", b, err, id1)
	}

	// UseLatestVersion writes with the latest schema (v2), filling unit from its default, and
	// under its id.
	id2, _, err := reg.RegisterSchema("t2-value", sr.Schema{Schema: readingV2})
	if err != nil {
		t.Fatal(err)
	}
	latest, _ := Avro[readingV1T](cl, readingV1, UseLatestVersion())
	b, err = latest.Serialize("t2", readingV1T{"b", 2})
	if err != nil || wireID(t, b) != id2 {
		t.Fatalf("latest: %x, %v; want id %d", b, err, id2)
	}
	v2, _ := Avro[readingV2T](cl, readingV2)
	got, err := v2.Deserialize("t2", b)
	if err != nil || got != (readingV2T{"b", 2, "C"}) {
		t.Fatalf("v2 reading latest's bytes: %+v, %v", got, err)
	}
	// And the v1 reader resolves v2's bytes, dropping unit.
	got1, err := latest.Deserialize("t2", b)
	if err != nil || got1 != (readingV1T{"b", 2}) {
		t.Fatalf("v1 reading v2's bytes: %+v, %v", got1, err)
	}
}

func TestAvroReferences(t *testing.T) {
	reg, cl := fakeRegistry(t)
	money := `{"type":"record","name":"Money","namespace":"acme","fields":[{"name":"cents","type":"long"}]}`
	order := `{"type":"record","name":"Order","namespace":"acme","fields":[{"name":"id","type":"long"},{"name":"total","type":"acme.Money"}]}`
	if _, _, err := reg.RegisterSchema("acme.Money", sr.Schema{Schema: money}); err != nil {
		t.Fatal(err)
	}
	type moneyT struct {
		Cents int64 `avro:"cents"`
	}
	type orderT struct {
		ID    int64  `avro:"id"`
		Total moneyT `avro:"total"`
	}
	s, err := Avro[*orderT](cl, order, References(sr.SchemaReference{Name: "acme.Money", Subject: "acme.Money", Version: 1}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Serialize("orders", &orderT{7, moneyT{1250}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Deserialize("orders", b)
	if err != nil || got == nil || *got != (orderT{7, moneyT{1250}}) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	ss, _ := reg.GetSchema("orders-value", 1)
	if len(ss.References) != 1 || ss.References[0].Subject != "acme.Money" {
		t.Fatalf("orders-value registered with references %+v", ss.References)
	}
	// Tombstones: a nil pointer serializes to nil, nil data to a nil pointer.
	if b, err := s.Serialize("orders", nil); b != nil || err != nil {
		t.Fatalf("nil: %x, %v", b, err)
	}
	if v, err := s.Deserialize("orders", nil); v != nil || err != nil {
		t.Fatalf("nil data: %v, %v", v, err)
	}
}

func TestRegistryBadInput(t *testing.T) {
	reg, cl := fakeRegistry(t)
	a, _ := Avro[readingV1T](cl, readingV1)
	j, _ := JSONSchema[map[string]any](cl, `{"type":"object"}`)
	p, _ := Protobuf(cl, func() *dynamicpb.Message { return dynamicpb.NewMessage(compileProto(t).Messages().ByName("Payment")) })
	jsonID, _, err := reg.RegisterSchema("other", sr.Schema{Schema: `{"type":"object"}`, Type: sr.TypeJSON})
	if err != nil {
		t.Fatal(err)
	}
	jsonIDBytes := binary.BigEndian.AppendUint32([]byte{0}, uint32(jsonID))
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", []byte{}, ErrWireFormat},
		{"short", []byte{0, 0, 1}, ErrWireFormat},
		{"magic byte 1", []byte{1, 0, 0, 0, 1, 2}, ErrWireFormat},
		{"unknown id", []byte{0, 0, 0, 0x7f, 0xff, 0}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, fn := range map[string]func([]byte) error{
				"avro":     func(b []byte) error { _, err := a.Deserialize("x", b); return err },
				"json":     func(b []byte) error { _, err := j.Deserialize("x", b); return err },
				"protobuf": func(b []byte) error { _, err := p.Deserialize("x", b); return err },
			} {
				err := fn(tc.data)
				if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
					t.Errorf("%s: %v, want %v", name, err, tc.want)
				}
			}
		})
	}
	// A JSON schema's id given to the Avro and Protobuf serdes.
	if _, err := a.Deserialize("x", append(jsonIDBytes, 2, 'a')); err == nil || !strings.Contains(err.Error(), "is a JSON schema") {
		t.Errorf("avro with a JSON schema id: %v", err)
	}
	if _, err := p.Deserialize("x", append(jsonIDBytes, 0)); err == nil || !strings.Contains(err.Error(), "is a JSON schema") {
		t.Errorf("protobuf with a JSON schema id: %v", err)
	}
	// Avro bytes that do not match the schema.
	b, _ := a.Serialize("x", readingV1T{"s", 1})
	if _, err := a.Deserialize("x", b[:len(b)-3]); err == nil {
		t.Error("avro accepted a truncated record")
	}
}

type user struct {
	Name string `json:"name"`
	Age  int    `json:"age,omitempty"`
}

const userSchema = `{"$schema":"http://json-schema.org/draft-07/schema#","title":"User","type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0}},"required":["name"]}`

func TestJSONSchema(t *testing.T) {
	reg, cl := fakeRegistry(t)
	s, err := JSONSchema[user](cl, userSchema, ValidateJSON())
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Serialize("users", user{"ada", 36})
	if err != nil {
		t.Fatal(err)
	}
	ss, ok := reg.GetSchema("users-value", 1)
	if !ok || ss.Type != sr.TypeJSON || wireID(t, b) != ss.ID || string(b[5:]) != `{"name":"ada","age":36}` {
		t.Fatalf("registered %+v; bytes %q", ss, b)
	}
	got, err := s.Deserialize("users", b)
	if err != nil || got != (user{"ada", 36}) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if _, err := s.Serialize("users", user{"bad", -1}); err == nil || !strings.Contains(err.Error(), "does not conform") {
		t.Fatalf("a negative age: %v", err)
	}
	// Without ValidateJSON the same value goes through.
	lax, _ := JSONSchema[user](cl, userSchema)
	if _, err := lax.Serialize("users", user{"bad", -1}); err != nil {
		t.Fatal(err)
	}
	// Deserialize validates too: bytes made by hand under the same id.
	bad := append(b[:5:5], `{"age":3}`...)
	if _, err := s.Deserialize("users", bad); err == nil {
		t.Fatal("a document without the required name passed validation")
	}
	if v, err := lax.Deserialize("users", bad); err != nil || v.Age != 3 {
		t.Fatalf("lax: %+v, %v", v, err)
	}
	// RecordNameStrategy takes the title.
	rec, _ := JSONSchema[user](cl, userSchema, SubjectNames(RecordNameStrategy))
	if _, err := rec.Serialize("users", user{Name: "x"}); err != nil || !reg.SubjectExists("User") {
		t.Fatalf("record name subject: %v", err)
	}
	if _, err := JSONSchema[user](cl, `{"type":"object"}`, SubjectNames(RecordNameStrategy)); err == nil {
		t.Fatal("a record name strategy without a title")
	}
	if _, err := JSONSchema[user](cl, `{"type": 7}`); err == nil {
		t.Fatal("a schema that does not compile")
	}
}

func TestJSONSchemaReferences(t *testing.T) {
	reg, cl := fakeRegistry(t)
	address := `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"street":{"type":"string"}},"required":["street"]}`
	person := `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"name":{"type":"string"},"home":{"$ref":"address.json"}}}`
	if _, _, err := reg.RegisterSchema("address", sr.Schema{Schema: address, Type: sr.TypeJSON}); err != nil {
		t.Fatal(err)
	}
	type addr struct {
		Street string `json:"street,omitempty"`
	}
	type personT struct {
		Name string `json:"name"`
		Home addr   `json:"home"`
	}
	s, err := JSONSchema[personT](cl, person, ValidateJSON(), References(sr.SchemaReference{Name: "address.json", Subject: "address", Version: 1}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Serialize("people", personT{"ada", addr{"1 Loop Rd"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Deserialize("people", b); err != nil || got.Home.Street != "1 Loop Rd" {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if _, err := s.Serialize("people", personT{Name: "no street"}); err == nil {
		t.Fatal("the referenced schema's required street was not enforced")
	}
}

const (
	protoCommon = "syntax = \"proto3\";\npackage acme;\n\nmessage Money {\n  int64 cents = 1;\n  string currency = 2;\n}\n"
	protoPay    = "syntax = \"proto3\";\npackage acme;\n\nimport \"acme/common.proto\";\nimport \"google/protobuf/timestamp.proto\";\n\n" +
		"message Header {\n  string trace = 1;\n  message Inner {\n    int32 n = 1;\n  }\n}\n\nmessage Payment {\n  string id = 1;\n  Money amount = 2;\n  google.protobuf.Timestamp at = 3;\n}\n"
)

var (
	protoOnce sync.Once
	protoFile protoreflect.FileDescriptor
	protoErr  error
)

// compileProto compiles acme/pay.proto (importing acme/common.proto and a well-known type).
func compileProto(t *testing.T) protoreflect.FileDescriptor {
	t.Helper()
	protoOnce.Do(func() {
		compiler := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: protocompile.SourceAccessorFromMap(map[string]string{"acme/common.proto": protoCommon, "acme/pay.proto": protoPay})})}
		files, err := compiler.Compile(context.Background(), "acme/pay.proto")
		if err != nil {
			protoErr = err
			return
		}
		protoFile = files[0]
	})
	if protoErr != nil {
		t.Fatal(protoErr)
	}
	return protoFile
}

func TestProtobuf(t *testing.T) {
	reg, cl := fakeRegistry(t)
	file := compileProto(t)
	payment := file.Messages().ByName("Payment")
	s, err := Protobuf(cl, func() *dynamicpb.Message { return dynamicpb.NewMessage(payment) })
	if err != nil {
		t.Fatal(err)
	}
	m := dynamicpb.NewMessage(payment)
	m.Set(payment.Fields().ByName("id"), protoreflect.ValueOfString("p-1"))
	b, err := s.Serialize("payments", m)
	if err != nil {
		t.Fatal(err)
	}
	// Payment is the file's second message: index [1], written as count 1, index 1, each a
	// zig-zag varint (02 02).
	if b[5] != 2 || b[6] != 2 {
		t.Fatalf("message index bytes %x, want 02 02", b[5:7])
	}
	ss, ok := reg.GetSchema("payments-value", 1)
	if !ok || ss.Type != sr.TypeProtobuf || wireID(t, b) != ss.ID {
		t.Fatalf("payments-value: %+v", ss)
	}
	if fmt.Sprint(ss.References) != "[{acme/common.proto acme/common.proto 1}]" {
		t.Fatalf("references %+v: the import, not the well-known type", ss.References)
	}
	if !reg.SubjectExists("acme/common.proto") || reg.SubjectExists("google/protobuf/timestamp.proto") {
		t.Fatal("the import registered under its file name; the well-known type not at all")
	}
	got, err := s.Deserialize("payments", b)
	if err != nil || !proto.Equal(got, m) {
		t.Fatalf("round trip: %v, %v", got, err)
	}

	// A nested message: index [0, 0].
	inner := file.Messages().ByName("Header").Messages().ByName("Inner")
	si, _ := Protobuf(cl, func() *dynamicpb.Message { return dynamicpb.NewMessage(inner) }, SubjectNames(RecordNameStrategy))
	bi, err := si.Serialize("headers", dynamicpb.NewMessage(inner))
	if err != nil || hex.EncodeToString(bi[5:]) != "040000" {
		t.Fatalf("nested message: %x, %v; want index bytes 04 00 00", bi, err)
	}
	if !reg.SubjectExists("acme.Header.Inner") {
		t.Fatal("record name subject acme.Header.Inner")
	}
	// Bytes of another message of the same file are refused by name.
	if _, err := s.Deserialize("payments", bi); err == nil || !strings.Contains(err.Error(), "is not acme.Payment") {
		t.Fatalf("Header.Inner's bytes read as Payment: %v", err)
	}
	if _, err := si.Deserialize("headers", bi); err != nil {
		t.Fatal(err)
	}
	// Tombstones.
	if b, err := s.Serialize("payments", nil); b != nil || err != nil {
		t.Fatalf("nil: %x, %v", b, err)
	}
	if v, err := s.Deserialize("payments", nil); v != nil || err != nil {
		t.Fatalf("nil data: %v, %v", v, err)
	}
	// A message index too deep.
	deep := append(b[:5:5], binary.AppendVarint(nil, 100)...)
	if _, err := s.Deserialize("payments", deep); !errors.Is(err, ErrWireFormat) {
		t.Fatalf("index of 100 entries: %v", err)
	}
}

func TestSerdesConcurrent(t *testing.T) {
	_, cl := fakeRegistry(t)
	s, _ := Avro[readingV1T](cl, readingV1)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				in := readingV1T{"s", float64(g*100 + i)}
				topic := []string{"a", "b", "c"}[i%3]
				b, err := s.Serialize(topic, in)
				if err != nil {
					errs <- err
					return
				}
				out, err := s.Deserialize(topic, b)
				if err != nil || !reflect.DeepEqual(out, in) {
					errs <- fmt.Errorf("round trip %+v: %+v, %v", in, out, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestProtobufLookupAndLatest(t *testing.T) {
	reg, cl := fakeRegistry(t)
	payment := compileProto(t).Messages().ByName("Payment")
	newPayment := func() *dynamicpb.Message { return dynamicpb.NewMessage(payment) }
	lookup, _ := Protobuf(cl, newPayment, NoAutoRegister())
	if _, err := lookup.Serialize("pay", newPayment()); err == nil {
		t.Fatal("NoAutoRegister serialized before anything was registered")
	}
	if reg.SubjectExists("acme/common.proto") || reg.SubjectExists("pay-value") {
		t.Fatal("NoAutoRegister registered something")
	}
	registering, _ := Protobuf(cl, newPayment)
	b1, err := registering.Serialize("pay", newPayment())
	if err != nil {
		t.Fatal(err)
	}
	b2, err := lookup.Serialize("pay", newPayment())
	if err != nil || wireID(t, b2) != wireID(t, b1) {
		t.Fatalf("lookup after registering: %x, %v; want id %d", b2, err, wireID(t, b1))
	}
	latest, _ := Protobuf(cl, newPayment, UseLatestVersion())
	b3, err := latest.Serialize("pay", newPayment())
	if err != nil || wireID(t, b3) != wireID(t, b1) {
		t.Fatalf("latest: %x, %v; want id %d", b3, err, wireID(t, b1))
	}
	// The latest version of a subject holding another type is refused.
	if _, _, err := reg.RegisterSchema("other-value", sr.Schema{Schema: `{"type":"object"}`, Type: sr.TypeJSON}); err != nil {
		t.Fatal(err)
	}
	if _, err := latest.Serialize("other", newPayment()); err == nil || !strings.Contains(err.Error(), "JSON") {
		t.Fatalf("latest of a JSON subject: %v", err)
	}
}

func TestJSONSchemaLatest(t *testing.T) {
	reg, cl := fakeRegistry(t)
	strict := `{"type":"object","properties":{"name":{"type":"string","maxLength":3}},"required":["name"]}`
	id, _, err := reg.RegisterSchema("users-value", sr.Schema{Schema: strict, Type: sr.TypeJSON})
	if err != nil {
		t.Fatal(err)
	}
	// The serde's own schema allows long names; the latest registered one does not, and it is
	// the one values are validated against.
	s, _ := JSONSchema[user](cl, userSchema, UseLatestVersion(), ValidateJSON())
	b, err := s.Serialize("users", user{Name: "ada"})
	if err != nil || wireID(t, b) != id {
		t.Fatalf("%x, %v; want id %d", b, err, id)
	}
	if _, err := s.Serialize("users", user{Name: "adalovelace"}); err == nil {
		t.Fatal("a name longer than the latest schema allows")
	}
	if reg.SubjectExists("User") {
		t.Fatal("UseLatestVersion registered a schema")
	}
}

func TestJSONSchemaBoolean(t *testing.T) {
	_, cl := fakeRegistry(t)
	s, err := JSONSchema[map[string]any](cl, `true`, ValidateJSON())
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Serialize("any", map[string]any{"x": 1.0})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Deserialize("any", b); err != nil || v["x"] != 1.0 {
		t.Fatalf("%v, %v", v, err)
	}
	if _, err := JSONSchema[map[string]any](cl, `{"type":`); err == nil {
		t.Fatal("a schema that is not JSON")
	}
}

// TestDecodingBounds: a record claiming a huge Avro array or a string longer than the limit
// fails instead of allocating; a JSON schema's $ref never loads a file.
func TestDecodingBounds(t *testing.T) {
	_, cl := fakeRegistry(t)
	type tags struct {
		Tags []string `avro:"tags"`
	}
	s, err := Avro[tags](cl, `{"type":"record","name":"T","fields":[{"name":"tags","type":{"type":"array","items":"string"}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Serialize("t", tags{[]string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	// An array block of 2^30 items (zig-zag varint), then nothing.
	huge := append(b[:5:5], binary.AppendVarint(nil, 1<<30)...)
	if _, err := s.Deserialize("t", huge); err == nil {
		t.Fatal("an array of 2^30 items in a few bytes was accepted")
	}
	type name struct {
		Name string `avro:"name"`
	}
	sn, _ := Avro[name](cl, `{"type":"record","name":"N","fields":[{"name":"name","type":"string"}]}`)
	bn, _ := sn.Serialize("n", name{"x"})
	long := append(bn[:5:5], binary.AppendVarint(nil, 1<<40)...)
	if _, err := sn.Deserialize("n", long); err == nil {
		t.Fatal("a string of 2^40 bytes was accepted")
	}
	if _, err := JSONSchema[any](cl, `{"$ref":"file:///etc/hostname"}`); err == nil {
		t.Fatal("a $ref to a file compiled")
	}
}
