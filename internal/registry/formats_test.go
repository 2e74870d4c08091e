package registry

import (
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/sluicehq/sluice/internal/registry/avro"
	"github.com/sluicehq/sluice/internal/registry/format"
	"github.com/sluicehq/sluice/internal/registry/protobuf"
)

// newAvroNode is a writer node serving the real Avro and Protobuf formats.
func newAvroNode(t *testing.T) *testNode {
	t.Helper()
	log := NewMemLog()
	state := NewState()
	mem := log.Join(state)
	log.SetWriter(mem)
	reg := prometheus.NewRegistry()
	svc := New(Options{Log: mem, State: state, Registerer: reg,
		Formats: map[format.SchemaType]format.Format{format.Avro: avro.New(), format.Protobuf: protobuf.New()}})
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	mem.SetURL(srv.URL)
	return &testNode{svc: svc, mem: mem, srv: srv, reg: reg}
}

func TestAvroEndToEnd(t *testing.T) {
	n := newAvroNode(t)
	v1 := `{"type": "record", "name": "User", "namespace": "com.example",
		"fields": [{"name": "name", "type": "string"}]}`
	if id := n.register(t, "users-value", schemaBody(v1)); id != 1 {
		t.Fatalf("id = %d", id)
	}
	var got schemaJSON
	n.must(t, "GET", "/subjects/users-value/versions/1", nil, &got)
	if strings.Contains(got.Schema, " ") || !strings.Contains(got.Schema, `"name":"User"`) {
		t.Fatalf("stored schema is not the canonical text: %s", got.Schema)
	}
	// Lookup with the original text finds the canonical one.
	n.must(t, "POST", "/subjects/users-value", schemaBody(v1), &got)
	if got.ID != 1 {
		t.Fatalf("lookup = %+v", got)
	}
	// A new field without a default cannot read old data: 40901 under BACKWARD, with
	// Confluent's message naming the new and the old schema.
	bad := `{"type":"record","name":"User","namespace":"com.example","fields":[
		{"name":"name","type":"string"},{"name":"age","type":"int"}]}`
	var res compatResult
	n.must(t, "POST", "/compatibility/subjects/users-value/versions/latest?verbose=true", schemaBody(bad), &res)
	joined := strings.Join(res.Messages, "\n")
	if res.IsCompatible || !strings.Contains(joined, "READER_FIELD_MISSING_DEFAULT_VALUE") ||
		!strings.Contains(joined, "in the new schema has no default value and is missing in the old schema") {
		t.Fatalf("verbose answer = %+v", res)
	}
	msg := n.wantError(t, "POST", "/subjects/users-value/versions", schemaBody(bad), 40901)
	if !strings.Contains(msg, "READER_FIELD_MISSING_DEFAULT_VALUE") {
		t.Fatalf("40901 message = %q", msg)
	}
	good := `{"type":"record","name":"User","namespace":"com.example","fields":[
		{"name":"name","type":"string"},{"name":"age","type":"int","default":0}]}`
	if id := n.register(t, "users-value", schemaBody(good)); id != 2 {
		t.Fatalf("id = %d", id)
	}
	// FORWARD: the old schema must read the new one's data; removing a field without a
	// default in the old schema breaks it.
	n.must(t, "PUT", "/config/users-value", map[string]any{"compatibility": "FORWARD"}, nil)
	dropName := `{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"age","type":"int","default":0}]}`
	n.must(t, "POST", "/compatibility/subjects/users-value/versions?verbose=true", schemaBody(dropName), &res)
	if res.IsCompatible || !strings.Contains(strings.Join(res.Messages, "\n"), "in the old schema has no default value and is missing in the new schema") {
		t.Fatalf("FORWARD verbose answer = %+v", res)
	}
	n.wantError(t, "POST", "/subjects/x/versions", schemaBody(`{"type":"record","name":"X"}`), 42201)

	// References: a record using a named type registered in another subject.
	addr := `{"type":"record","name":"Address","namespace":"com.example","fields":[{"name":"city","type":"string"}]}`
	n.register(t, "address", schemaBody(addr))
	withRef := map[string]any{
		"schema":     `{"type":"record","name":"Customer","namespace":"com.example","fields":[{"name":"home","type":"com.example.Address"}]}`,
		"references": []map[string]any{{"name": "com.example.Address", "subject": "address", "version": 1}},
	}
	id := n.register(t, "customer", withRef)
	n.wantError(t, "POST", "/subjects/customer2/versions", map[string]any{"schema": withRef["schema"]}, 42201)
	var ids []int
	n.must(t, "GET", "/subjects/address/versions/1/referencedby", nil, &ids)
	if len(ids) != 1 || ids[0] != id {
		t.Fatalf("referencedby = %v, want [%d]", ids, id)
	}

	// format=resolved writes the referenced type out where it is first used; without a
	// format, or with one Avro does not have, the stored text (the reference by name).
	wantResolved := `{"type":"record","name":"Customer","namespace":"com.example","fields":[{"name":"home","type":{"type":"record","name":"Address","fields":[{"name":"city","type":"string"}]}}]}`
	for _, path := range []string{fmt.Sprintf("/schemas/ids/%d?format=resolved", id), "/subjects/customer/versions/1?format=resolved"} {
		n.must(t, "GET", path, nil, &got)
		if got.Schema != wantResolved {
			t.Errorf("GET %s: %s, want %s", path, got.Schema, wantResolved)
		}
	}
	if _, body := n.call(t, "GET", "/subjects/customer/versions/latest/schema?format=resolved", nil); body != wantResolved {
		t.Errorf("GET .../schema?format=resolved: %s", body)
	}
	var stored schemaJSON
	n.must(t, "GET", "/subjects/customer/versions/1", nil, &stored)
	if stored.Schema == wantResolved || strings.Contains(stored.Schema, "city") {
		t.Fatalf("stored: %s", stored.Schema)
	}
	for _, path := range []string{fmt.Sprintf("/schemas/ids/%d", id), fmt.Sprintf("/schemas/ids/%d?format=serialized", id)} {
		n.must(t, "GET", path, nil, &got)
		if got.Schema != stored.Schema {
			t.Errorf("GET %s: %s, want the stored text", path, got.Schema)
		}
	}
}

// TestProtobufSerialized: format=serialized answers the base64 FileDescriptorProto that
// Confluent's Protobuf deserializers ask for; a client builds working descriptors from the
// answers for a schema and its import alone.
func TestProtobufSerialized(t *testing.T) {
	n := newAvroNode(t)
	money := "syntax = \"proto3\";\npackage acme;\nmessage Money { string currency = 1; int64 units = 2; }\n"
	order := "syntax = \"proto3\";\npackage acme;\nimport \"acme/money.proto\";\nmessage Order { int64 id = 1; Money total = 2; }\n"
	n.register(t, "acme%2Fmoney.proto", map[string]any{"schema": money, "schemaType": "PROTOBUF"})
	id := n.register(t, "orders-value", map[string]any{"schema": order, "schemaType": "PROTOBUF",
		"references": []map[string]any{{"name": "acme/money.proto", "subject": "acme/money.proto", "version": 1}}})

	fetch := func(path string) *descriptorpb.FileDescriptorProto {
		t.Helper()
		var got schemaJSON
		n.must(t, "GET", path, nil, &got)
		raw, err := base64.StdEncoding.DecodeString(got.Schema)
		if err != nil {
			t.Fatalf("GET %s: not base64: %v: %s", path, err, got.Schema)
		}
		fd := &descriptorpb.FileDescriptorProto{}
		if err := proto.Unmarshal(raw, fd); err != nil {
			t.Fatalf("GET %s: not a FileDescriptorProto: %v", path, err)
		}
		return fd
	}
	orderFD := fetch(fmt.Sprintf("/schemas/ids/%d?format=serialized", id))
	moneyFD := fetch("/subjects/acme%2Fmoney.proto/versions/latest?format=serialized")
	if deps := orderFD.GetDependency(); len(deps) != 1 || deps[0] != "acme/money.proto" {
		t.Fatalf("dependencies %v", deps)
	}
	if orderFD.GetSourceCodeInfo() != nil {
		t.Errorf("source info kept")
	}
	moneyFD.Name = proto.String("acme/money.proto")
	files, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{moneyFD, orderFD}})
	if err != nil {
		t.Fatalf("build descriptors from the answers: %v", err)
	}
	d, err := files.FindDescriptorByName("acme.Order")
	if err != nil {
		t.Fatal(err)
	}
	total := d.(protoreflect.MessageDescriptor).Fields().ByName("total")
	if total == nil || total.Message() == nil || total.Message().FullName() != "acme.Money" {
		t.Fatalf("acme.Order.total: %v", total)
	}
	// The text answer is unchanged.
	var got schemaJSON
	n.must(t, "GET", fmt.Sprintf("/schemas/ids/%d", id), nil, &got)
	if !strings.Contains(got.Schema, "message Order") {
		t.Fatalf("text answer: %s", got.Schema)
	}
}
