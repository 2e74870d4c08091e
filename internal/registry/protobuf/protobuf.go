package protobuf

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"github.com/bufbuild/protocompile/parser"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// Bounds on the work one Parse does; a schema beyond them is rejected, not compiled.
const (
	// maxDependencies is the number of distinct dependency files a schema may bring in,
	// counting its references' own references.
	maxDependencies = 1000
	// maxDependencyDepth is how deep a chain of references may go.
	maxDependencyDepth = 64
	// maxErrors is how many compile errors an error message lists.
	maxErrors = 10
)

// mainFileName is the name the schema being parsed compiles under; it appears in error
// messages ("schema.proto:3:5: ..."). A dependency of the same name moves it aside.
const mainFileName = "schema.proto"

// New returns the Protobuf format.
func New() format.Format { return protobufFormat{} }

type protobufFormat struct{}

func (protobufFormat) Type() format.SchemaType { return format.Protobuf }

// Parse compiles schema with its dependencies from memory. See the package comment.
func (protobufFormat) Parse(schema string, deps []format.Dependency) (s format.Schema, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("protobuf schema could not be compiled: internal error: %v", r)
		}
	}()
	sources := map[string]string{}
	if err := collectDependencies(deps, sources, 0); err != nil {
		return nil, err
	}
	name := mainFileName
	for i := 1; ; i++ {
		if _, taken := sources[name]; !taken {
			break
		}
		name = fmt.Sprintf("schema_%d.proto", i)
	}
	if text, ok, err := descriptorText(name, schema, sources); ok { // see descriptor.go
		if err != nil {
			return nil, err
		}
		schema = text
	}
	return compile(name, schema, sources)
}

// collectDependencies flattens the dependency tree into sources by import path; the first
// text given for a path wins, as the compiler would see one file per path.
func collectDependencies(deps []format.Dependency, sources map[string]string, depth int) error {
	if depth > maxDependencyDepth {
		return fmt.Errorf("protobuf schema references are nested more than %d deep", maxDependencyDepth)
	}
	for _, dep := range deps {
		if dep.Name == "" {
			return errors.New("protobuf schema reference has an empty name")
		}
		if _, seen := sources[dep.Name]; seen {
			continue
		}
		if len(sources) >= maxDependencies {
			return fmt.Errorf("protobuf schema has more than %d references", maxDependencies)
		}
		sources[dep.Name] = dep.Schema
		if err := collectDependencies(dep.Deps, sources, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// compile parses and links the main file. The parser's descriptor proto, taken before
// linking, keeps type names and options as written; Canonical prints from it.
func compile(name, schema string, deps map[string]string) (*protobufSchema, error) {
	var errs []string
	rep := reporter.NewReporter(func(e reporter.ErrorWithPos) error {
		if len(errs) < maxErrors {
			errs = append(errs, e.Error())
		}
		return nil // keep going to report more than the first error
	}, nil)
	fail := func(err error) error {
		if len(errs) == 0 {
			errs = append(errs, err.Error())
		}
		return errors.New(strings.Join(errs, "; "))
	}

	handler := reporter.NewHandler(rep)
	file, err := parser.Parse(name, strings.NewReader(schema), handler)
	if err != nil {
		return nil, fail(err)
	}
	parsed, err := parser.ResultFromAST(file, true, handler)
	if err != nil {
		return nil, fail(err)
	}
	if err := handler.Error(); err != nil {
		return nil, fail(err)
	}
	raw := proto.Clone(parsed.FileDescriptorProto()).(*descriptorpb.FileDescriptorProto)
	if file.Syntax != nil && raw.Syntax == nil {
		raw.Syntax = proto.String("proto2") // declared, though the parser leaves the default unset
	}

	result, err := compileFile(name, protocompile.SearchResult{ParseResult: parsed}, deps, rep)
	if err != nil {
		return nil, fail(err)
	}
	s := &protobufSchema{
		file:   result,
		raw:    raw,
		linked: protodesc.ToFileDescriptorProto(result),
		deps:   deps,
	}
	s.canonical = printFile(s, false)
	s.normalized = printFile(s, true)
	return s, nil
}

// protobufSchema is a compiled schema. It is immutable after Parse, so safe to share.
type protobufSchema struct {
	file   protoreflect.FileDescriptor
	raw    *descriptorpb.FileDescriptorProto // as written: type names unresolved, options uninterpreted
	linked *descriptorpb.FileDescriptorProto // type names fully qualified, options interpreted
	deps   map[string]string                 // dependency texts by import path

	canonical  string
	normalized string
}

func (s *protobufSchema) Canonical() string { return s.canonical }

func (s *protobufSchema) Normalized() string { return s.normalized }

// Formatted is the schema in Confluent's format name: "serialized", the base64 of the
// compiled FileDescriptorProto (type names fully qualified, options interpreted, no source
// info), which Confluent's Protobuf deserializers ask for to build their message types.
func (s *protobufSchema) Formatted(name string) (string, bool) {
	if name != "serialized" {
		return "", false
	}
	fd := proto.Clone(s.linked).(*descriptorpb.FileDescriptorProto)
	fd.SourceCodeInfo = nil
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(fd)
	if err != nil {
		return "", false
	}
	return base64.StdEncoding.EncodeToString(b), true
}

// compileFile compiles and links the file name, found as main, whose imports are the
// dependency texts by import path, the registry's built-in files (builtinImports) and the
// well-known types; nothing is read from the disk. Errors go to rep as well.
func compileFile(name string, main protocompile.SearchResult, deps map[string]string, rep reporter.Reporter) (linker.Result, error) {
	compiler := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
			if path == name {
				return main, nil
			}
			if src, ok := deps[path]; ok {
				return protocompile.SearchResult{Source: strings.NewReader(src)}, nil
			}
			if src, ok := builtinImports[path]; ok {
				return protocompile.SearchResult{Source: strings.NewReader(src)}, nil
			}
			return protocompile.SearchResult{}, fmt.Errorf("file not found: %w", io.EOF)
		})),
		MaxParallelism: 1,
		Reporter:       rep,
	}
	files, err := compiler.Compile(context.Background(), name)
	if err != nil {
		return nil, err
	}
	result, ok := files[0].(linker.Result)
	if !ok {
		return nil, errors.New("protobuf schema could not be linked")
	}
	return result, nil
}

// Compile compiles the schema text, whose imports are deps (text by import path), the
// registry's built-in files and the well-known types, into its file descriptor: what
// Connect's ProtobufConverter builds its messages from.
func Compile(text string, deps map[string]string) (protoreflect.FileDescriptor, error) {
	const name = "schema.proto"
	return compileFile(name, protocompile.SearchResult{Source: strings.NewReader(text)}, deps, reporter.NewReporter(nil, nil))
}
