// Package format is the seam between the schema registry and its schema formats (Avro, JSON
// Schema, Protobuf): each format parses a schema with its references, gives the forms the
// registry stores and compares, and says whether a reader schema can read what a writer schema
// wrote. The registry (internal/registry) chooses which previous versions to check for a
// compatibility level; a format only compares two schemas.
package format

import "strings"

// SchemaType names a format as Confluent's REST API does ("schemaType"); an empty schemaType in a
// request means Avro.
type SchemaType string

// The three formats.
const (
	Avro     SchemaType = "AVRO"
	JSON     SchemaType = "JSON"
	Protobuf SchemaType = "PROTOBUF"
)

// Reference names another registered schema that a schema uses: for Avro a named type's full
// name, for JSON Schema the URL in "$ref", for Protobuf the import path.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// Dependency is a reference resolved by the registry: its schema text and its own references,
// resolved in turn. A schema's references always have the schema's own type.
type Dependency struct {
	Name   string
	Schema string
	Deps   []Dependency
}

// Format parses schemas of one type. Implementations are safe for concurrent use and hold no
// state between calls.
type Format interface {
	Type() SchemaType
	// Parse checks schema, whose references the registry has resolved into deps (in the order of
	// the request's references). A schema that does not parse, or whose references do not
	// resolve, gives an error whose text tells the user why (the registry answers 42201 with it).
	// Parse never panics and bounds its work by the input's size.
	Parse(schema string, deps []Dependency) (Schema, error)
}

// StoredParser is implemented by a Format that parses schemas already registered more leniently
// than new ones, as Confluent does (it validates a schema being registered strictly and one read
// back as it was accepted then, which for Avro means defaults unchecked): the registry uses it
// for the versions it compares a new schema with. Formats without it parse both with Parse.
type StoredParser interface {
	ParseStored(schema string, deps []Dependency) (Schema, error)
}

// Schema is a parsed schema.
type Schema interface {
	// Canonical is the text the registry stores and returns for this schema, and compares to
	// find "the same schema" when normalize is off (Confluent's canonicalString: for Avro and
	// JSON the schema re-serialized without insignificant whitespace; for Protobuf the schema
	// printed back in a canonical layout).
	Canonical() string
	// Normalized is the form compared, and stored, when a request asks normalize=true
	// (Confluent's normalize: for Avro and Protobuf also ordering and defaults made explicit).
	Normalized() string
	// CanRead says why data written with writer cannot be read by this schema as reader, one
	// message per incompatibility, empty when it can. BACKWARD checks new.CanRead(old),
	// FORWARD old.CanRead(new), FULL both. The messages are what verbose=true returns; keep
	// them in Confluent's style (for example Avro's `{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE',
	// description:'...', additionalInfo:'...'}` and Protobuf's and JSON's difference names), so a
	// user who knows Confluent's answers recognises them. writer is always of the same format.
	// As in Confluent, a message may hold two %s placeholders for the reader's and the writer's
	// role ("in the %s schema"); the registry fills them with FillRoles.
	CanRead(writer Schema) []string
}

// Formatter is implemented by a Schema that can be written in another of Confluent's text
// formats, asked for with the format parameter of GET /schemas/ids/{id} and
// /subjects/{subject}/versions/{version}: Avro's "resolved" (the dependencies' named types
// written out where first used) and Protobuf's "serialized" (the base64 FileDescriptorProto).
// ok is false for a format the schema type does not have.
type Formatter interface {
	Formatted(name string) (text string, ok bool)
}

// FillRoles fills the two %s placeholders of a CanRead message, in order, with the reader's and
// the writer's role, as Confluent formats its compatibility messages: BACKWARD checks
// new.CanRead(old) and fills ("new", "old"); FORWARD checks old.CanRead(new) and fills ("old",
// "new"). Confluent's messages (Avro's and JSON Schema's descriptions) name the two schemas
// this way, for example "The field 'x' at path '/fields/1' in the %s schema has no default value
// and is missing in the %s schema". A message without placeholders is returned as it is.
func FillRoles(message, reader, writer string) string {
	message = strings.Replace(message, "%s", reader, 1)
	return strings.Replace(message, "%s", writer, 1)
}
