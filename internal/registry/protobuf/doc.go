// Package protobuf is the schema registry's Protobuf format (format.Format for "PROTOBUF"):
// it compiles a .proto schema with its references, prints it back in Confluent's canonical and
// normalized layouts, and compares two schemas with Confluent's Protobuf compatibility rules.
//
// Parse compiles from memory only (bufbuild/protocompile; no file system, no network). The
// schema is one file, named schema.proto in error messages; each format.Dependency is a file
// whose Name is its import path, with its own dependencies in turn (flattened: the first text
// given for a path wins). Google's well-known types (google/protobuf/*.proto) and Confluent's
// confluent/meta.proto and confluent/type/decimal.proto resolve without a reference, as in
// Confluent's registry. Errors carry file:line:col (the registry answers them with 42201).
// Parse recovers from panics and bounds its work: at most maxDependencies dependency files,
// references nested at most maxDependencyDepth deep, and the compiler's own nesting limits.
//
// A Schema keeps two descriptors of the file: the parser's, before linking, which has type
// names and options as written, and the linker's, which has them resolved. Canonical prints
// the first (whitespace and comments do not matter; declaration order does, because message
// indexes in Confluent's wire format count declarations), Normalized the second with
// Confluent's orderings (see print.go). Both are computed in Parse, so a Schema is immutable
// and safe for concurrent use.
//
// CanRead(writer) runs Confluent's diff with writer as the original and the receiver as the
// update, and returns the incompatible differences as
//
//	{errorType:"FIELD_SCALAR_KIND_CHANGED", description:"The kind of a SCALAR field at path '#/Order/2' in the %s schema does not match its kind in the %s schema"}
//
// whose two placeholders are the reader's and the writer's roles, filled by the registry with
// format.FillRoles ("new", "old" under BACKWARD), as Confluent's registry fills them.
//
// Example:
//
//	s, err := protobuf.New().Parse(`syntax = "proto3"; message Order { string id = 1; }`, nil)
//	if err != nil { ... }          // 42201 with err's text
//	stored := s.Canonical()
//	problems := s.CanRead(previous) // BACKWARD: the new schema reads the previous one's data
package protobuf
