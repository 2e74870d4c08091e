package protobuf

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Some clients register a Protobuf schema as a base64 serialized FileDescriptorProto instead
// of .proto text: confluent-kafka-python's ProtobufSerializer sends its generated module's
// descriptor that way, for the schema and for every import it registers as a reference.
// Confluent's ProtobufSchema accepts such a schema when the text does not parse: it decodes
// the descriptor and turns it into a .proto file element, which is what the registry stores
// and serves. Parse does the same: the descriptor is compiled, printed back as .proto text
// (declaration order, options as the descriptor holds them, type names as it writes them,
// fully qualified with a leading dot, as Confluent prints them) and that text is the schema.

// maxDescriptorBytes bounds the base64 text taken as a descriptor (the registry's request
// bodies are bounded before that).
const maxDescriptorBytes = 16 << 20

// isBase64Text reports whether s could only be a base64 descriptor: a non-empty run of the
// standard base64 alphabet with optional padding, not starting with "//". Such text is never
// a .proto file (a declaration needs a ';', a brace or a quote; "//" starts a comment, so text
// starting with it is an empty file), so it is taken as a descriptor, as Confluent does when
// text parsing fails.
func isBase64Text(s string) bool {
	if s == "" || len(s) > maxDescriptorBytes || strings.HasPrefix(s, "//") {
		return false
	}
	body := strings.TrimRight(s, "=")
	if len(s)-len(body) > 2 {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// descriptorText decodes schema as a base64 FileDescriptorProto, compiles it under name with
// deps, and returns it as .proto text. ok is false when schema is not base64 or not a
// descriptor; then the caller parses it as text (and reports the text's syntax error).
func descriptorText(name, schema string, deps map[string]string) (text string, ok bool, err error) {
	if !isBase64Text(schema) {
		return "", false, nil
	}
	raw, decodeErr := base64.RawStdEncoding.DecodeString(strings.TrimRight(schema, "="))
	if decodeErr != nil {
		return "", false, nil
	}
	fd := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(raw, fd); err != nil {
		return "", false, nil
	}
	fd.Name = proto.String(name)
	fd.SourceCodeInfo = nil
	// The compiler takes a descriptor's fields as having the JSON names it lists, so a field
	// without one gets the default protoc would give it; the printer reads fd, which keeps
	// only the names the client sent.
	linked := proto.Clone(fd).(*descriptorpb.FileDescriptorProto)
	for _, m := range linked.MessageType {
		defaultJSONNames(m)
	}

	var errs []string
	rep := reporter.NewReporter(func(e reporter.ErrorWithPos) error {
		if len(errs) < maxErrors {
			errs = append(errs, e.Error())
		}
		return nil
	}, nil)
	result, err := compileFile(name, protocompile.SearchResult{Proto: linked}, deps, rep)
	if err != nil {
		if len(errs) == 0 {
			errs = append(errs, err.Error())
		}
		return "", true, fmt.Errorf("protobuf descriptor: %s", strings.Join(errs, "; "))
	}
	s := &protobufSchema{file: result, raw: fd, linked: protodesc.ToFileDescriptorProto(result)}
	return (&printer{descriptor: true}).file(s), true, nil
}

// defaultJSONNames sets each field of m and its nested messages that has no JSON name to
// protoc's default: the name in lower camel case (an underscore dropped and the letter after
// it upper-cased).
func defaultJSONNames(m *descriptorpb.DescriptorProto) {
	for _, f := range m.Field {
		if f.JsonName == nil {
			f.JsonName = proto.String(jsonCamelCase(f.GetName()))
		}
	}
	for _, n := range m.NestedType {
		defaultJSONNames(n)
	}
}

func jsonCamelCase(name string) string {
	b := make([]byte, 0, len(name))
	upper := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_':
			upper = true
			continue
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		upper = false
		b = append(b, c)
	}
	return string(b)
}
