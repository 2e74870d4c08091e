package tests

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/sluicehq/sluice/streams/serde"
)

// The Avro schemas of the streams serde tests: v2 adds a field with a default.
const (
	stReadingV1 = `{"type":"record","name":"Reading","namespace":"acme","fields":[{"name":"sensor","type":"string"},{"name":"celsius","type":"double"},{"name":"note","type":["null","string"],"default":null}]}`
	stReadingV2 = `{"type":"record","name":"Reading","namespace":"acme","fields":[{"name":"sensor","type":"string"},{"name":"celsius","type":"double"},{"name":"note","type":["null","string"],"default":null},{"name":"unit","type":"string","default":"C"}]}`
	stUser      = `{"$schema":"http://json-schema.org/draft-07/schema#","title":"User","type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name"]}`
)

type stReading struct {
	Sensor  string  `avro:"sensor"`
	Celsius float64 `avro:"celsius"`
	Note    *string `avro:"note"`
}

type stReadingV2T struct {
	Sensor  string  `avro:"sensor"`
	Celsius float64 `avro:"celsius"`
	Note    *string `avro:"note"`
	Unit    string  `avro:"unit"`
}

type stUserT struct {
	Name string `json:"name"`
	Age  int    `json:"age,omitempty"`
}

func strPtr(s string) *string { return &s }

// stRegistry starts a node and returns it with a schema registry client once the registry
// has elected its writer.
func stRegistry(t *testing.T) (*node, *sr.Client) {
	t.Helper()
	n := startNode(t)
	srRegister(t, n.registryAddr, "warmup", `"string"`)
	cl, err := sr.NewClient(sr.URLs("http://" + n.registryAddr))
	if err != nil {
		t.Fatal(err)
	}
	return n, cl
}

// latestID is the id of subject's latest version in the node's registry.
func latestID(t *testing.T, n *node, subject string) int {
	t.Helper()
	var latest struct{ ID int }
	srGet(t, n.registryAddr, "/subjects/"+url.PathEscape(subject)+"/versions/latest", &latest)
	return latest.ID
}

// recordIDs checks every record carries the id of subject's latest version.
func recordIDs(t *testing.T, n *node, subject string, records [][]byte) {
	t.Helper()
	want := latestID(t, n, subject)
	for i, b := range records {
		if len(b) < 5 || b[0] != 0 || int(binary.BigEndian.Uint32(b[1:5])) != want {
			t.Fatalf("record %d of %s: %x, want magic byte 0 and schema id %d", i, subject, b[:min(len(b), 8)], want)
		}
	}
}

// TestStreamsSerdeRegistry: streams/serde's Avro, JSON Schema and Protobuf serdes against a
// real `sluice serve`: each registers its schema (Protobuf: its file and import as base64
// descriptors with a reference) under the topic's subject, the values go through topics that
// validate schema ids, and a serde made afresh (empty caches) decodes what the consumer
// read, fetching the writer's schema by id: Avro resolving it against a newer reader schema,
// Protobuf checking the message index by name in the descriptor Sluice serves.
func TestStreamsSerdeRegistry(t *testing.T) {
	n, cl := stRegistry(t)

	t.Run("avro", func(t *testing.T) {
		w, err := serde.Avro[stReading](cl, stReadingV1)
		if err != nil {
			t.Fatal(err)
		}
		want := []stReading{{"s1", 21.5, nil}, {"s2", -3.25, strPtr("cold")}}
		var values [][]byte
		for _, r := range want {
			b, err := w.Serialize("st-avro", r)
			if err != nil {
				t.Fatal(err)
			}
			values = append(values, b)
		}
		got := produceAndConsume(t, n, "st-avro", values)
		recordIDs(t, n, "st-avro-value", got)
		fresh, _ := serde.Avro[stReading](cl, stReadingV1)
		v2, _ := serde.Avro[stReadingV2T](cl, stReadingV2)
		for i, b := range got {
			r, err := fresh.Deserialize("st-avro", b)
			if err != nil || !reflect.DeepEqual(r, want[i]) {
				t.Fatalf("record %d: %+v, %v; want %+v", i, r, err, want[i])
			}
			r2, err := v2.Deserialize("st-avro", b)
			if err != nil || r2.Unit != "C" || r2.Sensor != want[i].Sensor {
				t.Fatalf("record %d read with v2: %+v, %v", i, r2, err)
			}
		}
		// A key serde registers under <topic>-key.
		k, _ := serde.Avro[string](cl, `"string"`, serde.Key())
		kb, err := k.Serialize("st-avro", "c1")
		if err != nil {
			t.Fatal(err)
		}
		recordIDs(t, n, "st-avro-key", [][]byte{kb})
		if s, err := k.Deserialize("st-avro", kb); err != nil || s != "c1" {
			t.Fatalf("key: %q, %v", s, err)
		}
	})

	t.Run("json", func(t *testing.T) {
		w, err := serde.JSONSchema[stUserT](cl, stUser, serde.ValidateJSON())
		if err != nil {
			t.Fatal(err)
		}
		want := []stUserT{{"ada", 36}, {"bob", 0}}
		var values [][]byte
		for _, u := range want {
			b, err := w.Serialize("st-json", u)
			if err != nil {
				t.Fatal(err)
			}
			values = append(values, b)
		}
		got := produceAndConsume(t, n, "st-json", values)
		recordIDs(t, n, "st-json-value", got)
		var schemaType struct{ SchemaType string }
		srGet(t, n.registryAddr, "/subjects/st-json-value/versions/1", &schemaType)
		if schemaType.SchemaType != "JSON" {
			t.Fatalf("st-json-value is %q", schemaType.SchemaType)
		}
		fresh, _ := serde.JSONSchema[stUserT](cl, stUser, serde.ValidateJSON())
		for i, b := range got {
			u, err := fresh.Deserialize("st-json", b)
			if err != nil || u != want[i] {
				t.Fatalf("record %d: %+v, %v; want %+v", i, u, err, want[i])
			}
		}
		// A document without the required name, under the registered id, fails validation.
		bad := append(got[0][:5:5], `{"age":1}`...)
		if _, err := fresh.Deserialize("st-json", bad); err == nil {
			t.Fatal("a document without name passed validation")
		}
	})

	t.Run("protobuf", func(t *testing.T) {
		file := compileStProto(t, map[string]string{"acme/common.proto": protoCommon, "acme/pay.proto": protoPay})
		payment := file.Messages().ByName("Payment")
		newPayment := func() *dynamicpb.Message { return dynamicpb.NewMessage(payment) }
		w, err := serde.Protobuf(cl, newPayment)
		if err != nil {
			t.Fatal(err)
		}
		want := []*dynamicpb.Message{stPayment(payment, "p-1", 500, "EUR", 1_800_000_000), stPayment(payment, "p-2", 7, "JPY", 1)}
		var values [][]byte
		for _, m := range want {
			b, err := w.Serialize("st-proto", m)
			if err != nil {
				t.Fatal(err)
			}
			values = append(values, b)
		}
		got := produceAndConsume(t, n, "st-proto", values)
		recordIDs(t, n, "st-proto-value", got)
		for i, b := range got {
			if b[5] != 2 || b[6] != 2 { // Payment is the file's second message: index [1]
				t.Fatalf("record %d message index bytes %x, want 02 02", i, b[5:7])
			}
		}
		var served servedSchema
		srGet(t, n.registryAddr, fmt.Sprintf("/schemas/ids/%d", latestID(t, n, "st-proto-value")), &served)
		if served.SchemaType != "PROTOBUF" || !strings.Contains(served.Schema, "message Payment {") ||
			len(served.References) != 1 || served.References[0].Subject != "acme/common.proto" {
			t.Fatalf("st-proto-value as served: %+v", served)
		}
		fresh, _ := serde.Protobuf(cl, newPayment)
		for i, b := range got {
			m, err := fresh.Deserialize("st-proto", b)
			if err != nil || !proto.Equal(m, want[i]) {
				t.Fatalf("record %d: %v, %v; want %v", i, m, err, want[i])
			}
		}
		// A serde of Header refuses Payment's bytes: the index names another message.
		header := file.Messages().ByName("Header")
		h, _ := serde.Protobuf(cl, func() *dynamicpb.Message { return dynamicpb.NewMessage(header) })
		if _, err := h.Deserialize("st-proto", got[0]); err == nil || !strings.Contains(err.Error(), "is not acme.Header") {
			t.Fatalf("Payment's bytes read as Header: %v", err)
		}
	})
}

// compileStProto compiles acme/pay.proto from sources.
func compileStProto(t *testing.T, sources map[string]string) protoreflect.FileDescriptor {
	t.Helper()
	compiler := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
		Accessor: protocompile.SourceAccessorFromMap(sources)})}
	files, err := compiler.Compile(context.Background(), "acme/pay.proto")
	if err != nil {
		t.Fatal(err)
	}
	return files[0]
}

// stPayment builds an acme.Payment.
func stPayment(payment protoreflect.MessageDescriptor, id string, cents int64, currency string, seconds int64) *dynamicpb.Message {
	m := dynamicpb.NewMessage(payment)
	fields := payment.Fields()
	m.Set(fields.ByName("id"), protoreflect.ValueOfString(id))
	money := dynamicpb.NewMessage(fields.ByName("amount").Message())
	money.Set(money.Descriptor().Fields().ByName("cents"), protoreflect.ValueOfInt64(cents))
	money.Set(money.Descriptor().Fields().ByName("currency"), protoreflect.ValueOfString(currency))
	m.Set(fields.ByName("amount"), protoreflect.ValueOfMessage(money))
	ts := dynamicpb.NewMessage(fields.ByName("at").Message())
	ts.Set(ts.Descriptor().Fields().ByName("seconds"), protoreflect.ValueOfInt64(seconds))
	ts.Set(ts.Descriptor().Fields().ByName("nanos"), protoreflect.ValueOfInt32(9))
	m.Set(fields.ByName("at"), protoreflect.ValueOfMessage(ts))
	return m
}

// TestStreamsSerdePythonInterop: bytes streams/serde writes decode with Debian's
// confluent-kafka 1.7 deserializers, and bytes its serializers write decode with
// streams/serde, for Avro (the confluent_kafka.avro MessageSerializer), JSON Schema and
// Protobuf (a _pb2 protoc generates from the same .proto the Go side compiles), all through a
// real `sluice serve`'s schema registry (tests/python/streams_serde_interop.py).
func TestStreamsSerdePythonInterop(t *testing.T) {
	requirePython(t, "confluent_kafka.schema_registry.protobuf")
	requirePython(t, "confluent_kafka.avro")
	requirePython(t, "jsonschema")
	requirePython(t, "google.protobuf.timestamp_pb2")
	requireTool(t, func() error { _, err := exec.LookPath("protoc"); return err }, "protoc (protobuf-compiler)")
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "acme"), 0o755); err != nil {
		t.Fatal(err)
	}
	sources := map[string]string{"acme/common.proto": pyProtoCommon, "acme/pay.proto": pyProtoPay}
	for name, src := range map[string]string{"acme/common.proto": pyProtoCommon, "acme/pay.proto": pyProtoPay, "acme/__init__.py": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runClient(t, 60*time.Second, "", "protoc", "-I", dir, "--python_out", dir, "acme/common.proto", "acme/pay.proto")

	n, cl := stRegistry(t)
	avroSerde, err := serde.Avro[stReading](cl, stReadingV1)
	if err != nil {
		t.Fatal(err)
	}
	jsonSerde, err := serde.JSONSchema[stUserT](cl, stUser, serde.ValidateJSON())
	if err != nil {
		t.Fatal(err)
	}
	payment := compileStProto(t, sources).Messages().ByName("Payment")
	protoSerde, err := serde.Protobuf(cl, func() *dynamicpb.Message { return dynamicpb.NewMessage(payment) })
	if err != nil {
		t.Fatal(err)
	}

	goBytes := map[string][]string{}
	add := func(format string, b []byte, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		goBytes[format] = append(goBytes[format], hex.EncodeToString(b))
	}
	for _, r := range []stReading{{"g1", 12.5, nil}, {"g2", -1, strPtr("ice")}} {
		b, err := avroSerde.Serialize("go-interop-avro", r)
		add("avro", b, err)
	}
	for _, u := range []stUserT{{"eve", 29}, {"fay", 0}} {
		b, err := jsonSerde.Serialize("go-interop-json", u)
		add("json", b, err)
	}
	for _, m := range []*dynamicpb.Message{stPayment(payment, "g-1", 1999, "EUR", 1_700_000_000), stPayment(payment, "g-2", 5, "USD", 3)} {
		b, err := protoSerde.Serialize("go-interop-proto", m)
		add("proto", b, err)
	}
	in, _ := json.Marshal(goBytes)
	out := runClient(t, 120*time.Second, string(in), "/usr/bin/python3", "python/streams_serde_interop.py", "http://"+n.registryAddr, dir)
	var py struct {
		Avro      []map[string]any `json:"avro"`
		JSON      []map[string]any `json:"json"`
		Proto     [][]any          `json:"proto"`
		AvroMade  []string         `json:"avro_made"`
		JSONMade  []string         `json:"json_made"`
		ProtoMade []string         `json:"proto_made"`
	}
	if err := json.Unmarshal([]byte(out), &py); err != nil {
		t.Fatalf("bad output %q: %v", out, err)
	}

	// Ours, decoded by Confluent's.
	if got := fmt.Sprint(py.Avro); got != "[map[celsius:12.5 note:<nil> sensor:g1] map[celsius:-1 note:ice sensor:g2]]" {
		t.Errorf("Avro written by streams/serde, read by confluent_kafka.avro: %s", got)
	}
	if got := fmt.Sprint(py.JSON); got != "[map[age:29 name:eve] map[name:fay]]" {
		t.Errorf("JSON Schema written by streams/serde, read by JSONDeserializer: %s", got)
	}
	if got := fmt.Sprint(py.Proto); got != "[[g-1 1999 EUR 1.7e+09 9] [g-2 5 USD 3 9]]" {
		t.Errorf("Protobuf written by streams/serde, read by ProtobufDeserializer: %s", got)
	}

	// Theirs, decoded by ours (fresh serdes: the writer's schemas come from the registry by id).
	decode := func(format string, hexes []string, fn func([]byte) (string, error)) string {
		t.Helper()
		var got []string
		for _, h := range hexes {
			b, err := hex.DecodeString(h)
			if err != nil {
				t.Fatal(err)
			}
			s, err := fn(b)
			if err != nil {
				t.Fatalf("%s bytes from Python (%s): %v", format, h, err)
			}
			got = append(got, s)
		}
		return strings.Join(got, " ")
	}
	avroFresh, _ := serde.Avro[stReadingV2T](cl, stReadingV2)
	gotAvro := decode("Avro", py.AvroMade, func(b []byte) (string, error) {
		r, err := avroFresh.Deserialize("py-interop-avro", b)
		note := "<nil>"
		if r.Note != nil {
			note = *r.Note
		}
		return fmt.Sprintf("%s/%v/%s/%s", r.Sensor, r.Celsius, note, r.Unit), err
	})
	if gotAvro != "p1/0.5/<nil>/C p2/-40/frost/C" {
		t.Errorf("Avro written by confluent_kafka.avro, read by streams/serde (reader schema v2): %s", gotAvro)
	}
	jsonFresh, _ := serde.JSONSchema[stUserT](cl, stUser, serde.ValidateJSON())
	gotJSON := decode("JSON", py.JSONMade, func(b []byte) (string, error) {
		u, err := jsonFresh.Deserialize("py-interop-json", b)
		return fmt.Sprintf("%s/%d", u.Name, u.Age), err
	})
	if gotJSON != "cy/51 di/0" {
		t.Errorf("JSON Schema written by JSONSerializer, read by streams/serde: %s", gotJSON)
	}
	protoFresh, _ := serde.Protobuf(cl, func() *dynamicpb.Message { return dynamicpb.NewMessage(payment) })
	gotProto := decode("Protobuf", py.ProtoMade, func(b []byte) (string, error) {
		m, err := protoFresh.Deserialize("py-interop-proto", b)
		if err != nil {
			return "", err
		}
		f := payment.Fields()
		amount := m.Get(f.ByName("amount")).Message()
		at := m.Get(f.ByName("at")).Message()
		return fmt.Sprintf("%s/%d/%s/%d/%d", m.Get(f.ByName("id")).String(),
			amount.Get(amount.Descriptor().Fields().ByName("cents")).Int(), amount.Get(amount.Descriptor().Fields().ByName("currency")).String(),
			at.Get(at.Descriptor().Fields().ByName("seconds")).Int(), at.Get(at.Descriptor().Fields().ByName("nanos")).Int()), nil
	})
	if gotProto != "py-1/300/GBP/1800000000/9 py-2/1/CHF/2/9" {
		t.Errorf("Protobuf written by ProtobufSerializer, read by streams/serde: %s", gotProto)
	}
}
