package tests

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Protobuf schemas the Python test compiles with protoc: pay.proto imports common.proto and
// a well-known type.
const (
	pyProtoCommon = "syntax = \"proto3\";\npackage acme;\n\nmessage Money {\n  int64 cents = 1;\n  string currency = 2;\n}\n"
	pyProtoPay    = "syntax = \"proto3\";\npackage acme;\n\nimport \"acme/common.proto\";\nimport \"google/protobuf/timestamp.proto\";\n\nmessage Payment {\n  string id = 1;\n  Money amount = 2;\n  google.protobuf.Timestamp at = 3;\n}\n"
)

// TestRegistryPythonConfluent: Debian's python3-confluent-kafka 1.7 against a real `sluice
// serve` and its schema registry (tests/python/registry_confluent.py): the schema_registry
// client with JSONSerializer/JSONDeserializer and ProtobufSerializer/ProtobufDeserializer (a
// _pb2 protoc generates here; the serializer registers its schema and both imports, one a
// well-known type, as base64 FileDescriptorProtos, the imports as references; a second one
// with auto.register.schemas off looks the schema up), the
// confluent_kafka.avro AvroProducer and AvroConsumer (python3-avro), and a plain producer of
// bytes refused by schema id validation. What each consumer decodes must be what was produced,
// and the ids in the records must be the ones the registry serves for the subjects.
func TestRegistryPythonConfluent(t *testing.T) {
	requirePython(t, "confluent_kafka.schema_registry.protobuf")
	requirePython(t, "confluent_kafka.avro")
	requirePython(t, "jsonschema")
	requirePython(t, "google.protobuf.timestamp_pb2")
	requireTool(t, func() error { _, err := exec.LookPath("protoc"); return err }, "protoc (protobuf-compiler)")
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "acme"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{"acme/common.proto": pyProtoCommon, "acme/pay.proto": pyProtoPay, "acme/__init__.py": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runClient(t, 60*time.Second, "", "protoc", "-I", dir, "--python_out", dir, "acme/common.proto", "acme/pay.proto")

	n := startNode(t)
	srRegister(t, n.registryAddr, "warmup", `"string"`) // waits for the registry's writer
	out := runClient(t, 120*time.Second, "", "/usr/bin/python3", "python/registry_confluent.py", n.kafkaAddr, "http://"+n.registryAddr, dir)
	var got struct {
		RawRefused []*string        `json:"raw_refused"`
		JSON       []map[string]any `json:"json"`
		JSONIDs    []int            `json:"json_ids"`
		JSONLatest struct {
			Version int
			Type    string
			ID      int
		} `json:"json_latest"`
		JSONReference struct {
			AddressID  int     `json:"address_id"`
			PersonID   int     `json:"person_id"`
			References [][]any `json:"references"`
		} `json:"json_reference"`
		Compatible      []bool           `json:"compatible"`
		Proto           [][]any          `json:"proto"`
		ProtoIDs        []int            `json:"proto_ids"`
		ProtoReferences [][]any          `json:"proto_references"`
		ProtoVersions   map[string][]int `json:"proto_versions"`
		Subjects        []string         `json:"subjects"`
		Avro            []map[string]any `json:"avro"`
		AvroIDs         []int            `json:"avro_ids"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("bad output %q: %v", out, err)
	}
	if len(got.RawRefused) != 1 || got.RawRefused[0] == nil || *got.RawRefused[0] != "INVALID_RECORD" {
		report := "no report"
		if len(got.RawRefused) == 1 && got.RawRefused[0] != nil {
			report = *got.RawRefused[0]
		}
		t.Errorf("a raw producer's delivery report: %q (%d reports), want INVALID_RECORD (87)", report, len(got.RawRefused))
	}

	// JSON Schema.
	if fmt.Sprint(got.JSON) != "[map[age:36 name:ada] map[age:7 name:bob]]" {
		t.Errorf("JSON records read back: %v", got.JSON)
	}
	if got.JSONLatest.Version != 1 || got.JSONLatest.Type != "JSON" || got.JSONLatest.ID <= 0 {
		t.Errorf("py-json-value latest: %+v", got.JSONLatest)
	}
	checkRecordIDs(t, n, "py-json-value", "JSON", got.JSONIDs)
	if fmt.Sprint(got.JSONReference.References) != "[[address.json py-address 1]]" || got.JSONReference.PersonID == got.JSONReference.AddressID {
		t.Errorf("JSON schema with a reference: %+v", got.JSONReference)
	}
	if fmt.Sprint(got.Compatible) != "[true false]" {
		t.Errorf("test_compatibility (dropping a property, adding one to the open content model): %v, want [true false]", got.Compatible)
	}

	// Protobuf, with a reference to another subject and to a well-known type.
	if fmt.Sprint(got.Proto) != "[[p-0 500 EUR 1.7e+09 250] [p-1 7 JPY 1 250]]" {
		t.Errorf("Protobuf records read back: %v", got.Proto)
	}
	if want := "[[acme/common.proto acme/common.proto 1] [google/protobuf/timestamp.proto google/protobuf/timestamp.proto 1]]"; fmt.Sprint(got.ProtoReferences) != want {
		t.Errorf("py-proto-value references: %v, want %s", got.ProtoReferences, want)
	}
	if want := "map[acme/common.proto:[1] google/protobuf/timestamp.proto:[1] py-proto-value:[1]]"; fmt.Sprint(got.ProtoVersions) != want {
		t.Errorf("versions after a second serializer registered the imports again and looked the schema up: %v, want %s", got.ProtoVersions, want)
	}
	pay := checkRecordIDs(t, n, "py-proto-value", "PROTOBUF", got.ProtoIDs)
	for _, line := range []string{`import "acme/common.proto";`, `import "google/protobuf/timestamp.proto";`, "message Payment {", "  .acme.Money amount = 2;", "  .google.protobuf.Timestamp at = 3;"} {
		if !strings.Contains(pay.Schema, line+"\n") {
			t.Errorf("py-proto-value as served lacks %q:\n%s", line, pay.Schema)
		}
	}
	if len(pay.References) != 2 {
		t.Errorf("GET /schemas/ids/%d references: %+v", got.ProtoIDs[0], pay.References)
	}
	for subject, want := range map[string]string{"acme/common.proto": "message Money {", "google/protobuf/timestamp.proto": "message Timestamp {"} {
		var v struct {
			Schema     string
			SchemaType string
		}
		srGet(t, n.registryAddr, "/subjects/"+url.PathEscape(subject)+"/versions/1", &v)
		if v.SchemaType != "PROTOBUF" || !strings.Contains(v.Schema, want) {
			t.Errorf("subject %s version 1: %+v", subject, v)
		}
	}

	// Avro through confluent_kafka.avro.
	if fmt.Sprint(got.Avro) != "[map[celsius:21.5 note:<nil> sensor:s1] map[celsius:-3.25 note:cold sensor:s2]]" {
		t.Errorf("Avro records read back: %v", got.Avro)
	}
	checkRecordIDs(t, n, "py-avro-value", "", got.AvroIDs)

	want := "[acme/common.proto google/protobuf/timestamp.proto py-address py-json-value py-person-value py-proto-value warmup]"
	if fmt.Sprint(got.Subjects) != want {
		t.Errorf("subjects after the Protobuf part: %v, want %s", got.Subjects, want)
	}
}

// servedSchema is GET /schemas/ids/{id}'s answer.
type servedSchema struct {
	Schema     string
	SchemaType string
	References []struct {
		Name, Subject string
		Version       int
	}
}

// checkRecordIDs checks that records carry one schema id, the one the registry serves as
// subject's latest version, and that GET /schemas/ids/{id} serves that version's schema with
// schemaType typ ("" for Avro, which the registry leaves out). It returns that schema.
func checkRecordIDs(t *testing.T, n *node, subject, typ string, ids []int) servedSchema {
	t.Helper()
	var latest struct {
		ID         int
		Schema     string
		SchemaType string
	}
	srGet(t, n.registryAddr, "/subjects/"+url.PathEscape(subject)+"/versions/latest", &latest)
	if len(ids) == 0 {
		t.Errorf("%s: no record ids", subject)
		return servedSchema{}
	}
	for _, id := range ids {
		if id != latest.ID {
			t.Errorf("%s: a record carries schema id %d, the registry serves the subject's latest as %d", subject, id, latest.ID)
		}
	}
	var byID servedSchema
	srGet(t, n.registryAddr, fmt.Sprintf("/schemas/ids/%d", latest.ID), &byID)
	if byID.Schema != latest.Schema || byID.SchemaType != typ || latest.SchemaType != typ {
		t.Errorf("%s: GET /schemas/ids/%d = %+v, latest version %+v", subject, latest.ID, byID, latest)
	}
	return byID
}
