package serde

import (
	"bytes"
	"context"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/hamba/avro/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// FuzzPlain: every plain Deserialize takes any bytes without panicking, and what it accepts
// serializes back to the same bytes where the format is canonical.
func FuzzPlain(f *testing.F) {
	for _, seed := range []string{"", "\x00", "\x01", "\x00\x01", "\x00\x00\x00\x01", "\x7f\xf8\x00\x00\x00\x00\x00\x00",
		"42", "-1", "123e4567-e89b-12d3-a456-426614174000", `{"a":1}`, "null"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		roundTrip(t, Int64(), data)
		roundTrip(t, Int32(), data)
		roundTrip(t, Int16(), data)
		roundTrip(t, Float32(), data)
		roundTrip(t, Bytes(), data)
		roundTrip(t, String(), data)
		if _, err := Float64().Deserialize("t", data); err != nil && len(data) == 8 {
			t.Fatalf("Float64 refused 8 bytes: %v", err)
		}
		if _, err := Bool().Deserialize("t", data); err != nil && len(data) == 1 {
			t.Fatalf("Bool refused 1 byte: %v", err)
		}
		if u, err := UUID().Deserialize("t", data); err == nil {
			b, _ := UUID().Serialize("t", u)
			if !bytes.EqualFold(b, data) {
				t.Fatalf("UUID %q came back as %q", data, b)
			}
		}
		_, _ = Int64String().Deserialize("t", data)
		_, _ = JSON[map[string]any]().Deserialize("t", data)
		_, _ = Void().Deserialize("t", data)
	})
}

func roundTrip[T any](t *testing.T, s Serde[T], data []byte) {
	t.Helper()
	v, err := s.Deserialize("t", data)
	if err != nil {
		return
	}
	b, err := s.Serialize("t", v)
	if err != nil {
		t.Fatalf("Serialize of a deserialized %x: %v", data, err)
	}
	if !bytes.Equal(b, data) && len(data) != 0 {
		t.Fatalf("%x came back as %x", data, b)
	}
}

// FuzzWindowed: windowed keys of any bytes decode or fail cleanly, and what decodes encodes
// back to the same bytes.
func FuzzWindowed(f *testing.F) {
	f.Add([]byte("c1\x00\x00\x01\x8b\xcf\xe5\x68\x00"))
	f.Add([]byte("k\x00\x00\x00\x00\x00\x00\x13\x88\x00\x00\x00\x00\x00\x00\x03\xe8"))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		roundTrip(t, TimeWindowed(Bytes(), 60_000), data)
		roundTrip(t, SessionWindowed(Bytes()), data)
		w, err := TimeWindowed(Int64(), 60_000).Deserialize("t", data)
		if err == nil && len(data) > 0 && w.End < w.Start {
			t.Fatalf("window %+v ends before it starts", w)
		}
		s, err := SessionWindowed(String()).Deserialize("t", data)
		if err == nil && s.End < s.Start {
			t.Fatalf("session %+v ends before it starts", s)
		}
	})
}

// FuzzWireFormat: the registry serdes' Deserialize on any bytes, with schema id 1 known (the
// caches seeded, no registry): the Confluent header, the Protobuf message index and the
// payload decoders fail cleanly, never panic or allocate without bound.
func FuzzWireFormat(f *testing.F) {
	a, err := Avro[readingV1T](nil, readingV1)
	if err != nil {
		f.Fatal(err)
	}
	avroSerde := a.(*avroSerde[readingV1T])
	own, _ := avroSerde.schema()
	avroSerde.readers.m = map[int]avro.Schema{1: own}

	j, err := JSONSchema[map[string]any](nil, userSchema, ValidateJSON())
	if err != nil {
		f.Fatal(err)
	}
	jsonSerde := j.(*jsonSchemaSerde[map[string]any])
	compiled, _ := jsonSerde.own()
	jsonSerde.readers.m = map[int]*jsonschema.Schema{1: compiled}

	file := compileProtoFuzz(f)
	payment := file.Messages().ByName("Payment")
	p, _ := Protobuf(nil, func() *dynamicpb.Message { return dynamicpb.NewMessage(payment) })
	protoSerde := p.(*protobufSerde[*dynamicpb.Message])
	protoSerde.readers.m = map[int]*descriptorpb.FileDescriptorProto{1: protodesc.ToFileDescriptorProto(file)}

	for _, seed := range []string{
		"\x00\x00\x00\x00\x01\x04s1\x00\x00\x00\x00\x00\x805@",
		"\x00\x00\x00\x00\x01{\"name\":\"ada\",\"age\":36}",
		"\x00\x00\x00\x00\x01\x02\x02\x0a\x03p-1",
		"\x00\x00\x00\x00\x01\x00",
		"\x00\x00\x00\x00\x01\x7f",
		"\x00\x00\x00\x00\x01\x04\x00\x00",
		"\x01\x00\x00\x00\x01",
		"\x00\x00\x00\x00\x01\xff\xff\xff\xff\x0f",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= 5 {
			data[1], data[2], data[3], data[4] = 0, 0, 0, 1 // every input names the known id
		}
		_, _ = a.Deserialize("t", data)
		_, _ = j.Deserialize("t", data)
		_, _ = p.Deserialize("t", data)
	})
}

// compileProtoFuzz is compileProto for a fuzz target.
func compileProtoFuzz(f *testing.F) protoreflect.FileDescriptor {
	f.Helper()
	compiler := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
		Accessor: protocompile.SourceAccessorFromMap(map[string]string{"acme/common.proto": protoCommon, "acme/pay.proto": protoPay})})}
	files, err := compiler.Compile(context.Background(), "acme/pay.proto")
	if err != nil {
		f.Fatal(err)
	}
	return files[0]
}
