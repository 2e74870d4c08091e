package serde

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

type protobufSerde[T proto.Message] struct {
	client  *sr.Client
	o       options
	newT    func() T
	message protoreflect.MessageDescriptor
	index   []int // the message's position in its file: Confluent's message index

	ids     cache[string, int]                            // by topic: the schema id Serialize writes
	readers cache[int, *descriptorpb.FileDescriptorProto] // by schema id: the writer's file (nil if the registry gave no descriptor)
}

// Protobuf is a serde of Protobuf messages in the Confluent wire format: Confluent's
// KafkaProtobufSerializer. newT makes an empty message to decode into (for generated types,
// func() *pb.M { return new(pb.M) }).
//
// The schema registered is the message's .proto file, sent as a base64 serialized
// FileDescriptorProto (which Confluent's registry and Sluice's take as schema text). Its
// imports are registered first, each under its file name as subject (Confluent's
// DefaultReferenceSubjectNameStrategy) and listed as references, except Google's
// well-known types (google/protobuf/...), google/type/... and confluent/... files, which
// registries resolve themselves. The subject follows the options as for Avro (the record name
// is the message's full name). Serialize writes 0 | id | message index | message, the index
// being the message's position in its file as zig-zag varints ([0], the first message of the
// file, as a single 0 byte). A nil message serializes to nil.
//
// Deserialize reads the schema id and the message index (at most 64 deep), checks once per id
// that the registry holds a Protobuf schema there, and, when the registry serves the schema
// as a descriptor (format=serialized), that the index names a message of T's name; then
// unmarshals into newT(). nil data deserializes to T's zero value (a nil message).
func Protobuf[T proto.Message](client *sr.Client, newT func() T, opts ...Option) (Serde[T], error) {
	p := &protobufSerde[T]{client: client, o: buildOptions(opts), newT: newT}
	p.message = newT().ProtoReflect().Descriptor()
	for d := protoreflect.Descriptor(p.message); ; {
		p.index = append(p.index, d.Index())
		parent := d.Parent()
		if _, ok := parent.(protoreflect.FileDescriptor); ok || parent == nil {
			break
		}
		d = parent
	}
	for i, j := 0, len(p.index)-1; i < j; i, j = i+1, j-1 {
		p.index[i], p.index[j] = p.index[j], p.index[i]
	}
	return p, nil
}

// builtinProto reports whether registries resolve an import by themselves.
func builtinProto(path string) bool {
	return strings.HasPrefix(path, "google/protobuf/") || strings.HasPrefix(path, "google/type/") || strings.HasPrefix(path, "confluent/")
}

// fileSchema is a file as the registry takes it: base64 of its FileDescriptorProto, with its
// non-built-in imports as references (registering, or looking up, each first).
func (p *protobufSerde[T]) fileSchema(ctx context.Context, fd protoreflect.FileDescriptor, depth int) (sr.Schema, error) {
	if depth > 32 {
		return sr.Schema{}, fmt.Errorf("imports nest deeper than 32 at %s", fd.Path())
	}
	var refs []sr.SchemaReference
	imports := fd.Imports()
	for i := 0; i < imports.Len(); i++ {
		imp := imports.Get(i)
		if builtinProto(imp.Path()) {
			continue
		}
		s, err := p.fileSchema(ctx, imp.FileDescriptor, depth+1)
		if err != nil {
			return sr.Schema{}, err
		}
		var ss sr.SubjectSchema
		if p.o.noAutoRegister {
			ss, err = p.client.LookupSchema(ctx, imp.Path(), s)
		} else {
			ss, err = p.client.CreateSchema(ctx, imp.Path(), s)
		}
		if err != nil {
			return sr.Schema{}, fmt.Errorf("import %s: %w", imp.Path(), err)
		}
		refs = append(refs, sr.SchemaReference{Name: imp.Path(), Subject: imp.Path(), Version: ss.Version})
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(protodesc.ToFileDescriptorProto(fd))
	if err != nil {
		return sr.Schema{}, fmt.Errorf("descriptor of %s: %w", fd.Path(), err)
	}
	return sr.Schema{Schema: base64.StdEncoding.EncodeToString(raw), Type: sr.TypeProtobuf, References: refs}, nil
}

func (p *protobufSerde[T]) Serialize(topic string, v T) ([]byte, error) {
	if isNil(v) {
		return nil, nil
	}
	id, err := p.ids.get(topic, func() (int, error) { return p.writerID(topic) })
	if err != nil {
		return nil, err
	}
	b, _ := header.AppendEncode(make([]byte, 0, 16+proto.Size(v)), id, p.index)
	b, err = proto.MarshalOptions{}.MarshalAppend(b, v)
	if err != nil {
		return nil, fmt.Errorf("serde: Protobuf: %w", err)
	}
	return b, nil
}

func (p *protobufSerde[T]) writerID(topic string) (int, error) {
	ctx, cancel := p.o.context()
	defer cancel()
	subject := p.o.subject(topic, string(p.message.FullName()))
	if p.o.useLatest {
		ss, err := resolveSchema(p.client, &p.o, subject, sr.Schema{Type: sr.TypeProtobuf})
		if err != nil {
			return 0, fmt.Errorf("serde: Protobuf: %w", err)
		}
		return ss.ID, nil
	}
	s, err := p.fileSchema(ctx, p.message.ParentFile(), 0)
	if err != nil {
		return 0, fmt.Errorf("serde: Protobuf: %w", err)
	}
	ss, err := resolveSchema(p.client, &p.o, subject, s)
	if err != nil {
		return 0, fmt.Errorf("serde: Protobuf: %w", err)
	}
	return ss.ID, nil
}

func (p *protobufSerde[T]) Deserialize(topic string, data []byte) (T, error) {
	var zero T
	if data == nil {
		return zero, nil
	}
	id, rest, err := decodeHeader("Protobuf", data)
	if err != nil {
		return zero, err
	}
	index, payload, err := header.DecodeIndex(rest, maxIndexDepth)
	if err != nil {
		return zero, fmt.Errorf("serde: Protobuf: message index after schema id %d: %w", id, ErrWireFormat)
	}
	file, err := p.readers.get(id, func() (*descriptorpb.FileDescriptorProto, error) { return p.reader(id) })
	if err != nil {
		return zero, err
	}
	if file != nil {
		if err := p.checkIndex(file, index); err != nil {
			return zero, fmt.Errorf("serde: Protobuf: schema id %d: %w", id, err)
		}
	}
	v := p.newT()
	if err := proto.Unmarshal(payload, v); err != nil {
		return zero, fmt.Errorf("serde: Protobuf: schema id %d: %w", id, err)
	}
	return v, nil
}

// reader checks that id is a Protobuf schema and fetches it as a descriptor if the registry
// serves one.
func (p *protobufSerde[T]) reader(id int) (*descriptorpb.FileDescriptorProto, error) {
	ctx, cancel := p.o.context()
	defer cancel()
	s, err := p.client.SchemaByID(sr.WithParams(ctx, sr.Format("serialized")), id)
	if err != nil {
		return nil, fmt.Errorf("serde: Protobuf: schema id %d: %w", id, err)
	}
	if s.Type != sr.TypeProtobuf {
		return nil, fmt.Errorf("serde: Protobuf: schema id %d is a %v schema", id, s.Type)
	}
	raw, err := base64.StdEncoding.DecodeString(s.Schema)
	if err != nil {
		return nil, nil // .proto text: the index is not checked
	}
	fd := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(raw, fd); err != nil {
		return nil, nil
	}
	return fd, nil
}

// checkIndex checks that index names, in file, a message with the names of T's message and
// of the messages it is nested in, in a package of the same name.
func (p *protobufSerde[T]) checkIndex(file *descriptorpb.FileDescriptorProto, index []int) error {
	if len(index) != len(p.index) || file.GetPackage() != string(p.message.ParentFile().Package()) {
		return p.indexError(file, index)
	}
	messages := file.GetMessageType()
	d := protoreflect.Descriptor(nil)
	for depth, i := range index {
		if i < 0 || i >= len(messages) {
			return p.indexError(file, index)
		}
		// the descriptor of T's message (or its ancestor) at this depth
		d = p.message
		for k := len(index) - 1; k > depth; k-- {
			d = d.Parent()
		}
		if messages[i].GetName() != string(d.Name()) {
			return p.indexError(file, index)
		}
		messages = messages[i].GetNestedType()
	}
	return nil
}

func (p *protobufSerde[T]) indexError(file *descriptorpb.FileDescriptorProto, index []int) error {
	return fmt.Errorf("message index %v of the writer's file %s (package %q) is not %s", index, file.GetName(), file.GetPackage(), p.message.FullName())
}
