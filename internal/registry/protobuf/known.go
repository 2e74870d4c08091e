package protobuf

// confluentImports are the files Confluent's registry resolves without a reference besides
// Google's well-known types (which protocompile supplies): the schema metadata options
// (confluent/meta.proto) and the decimal logical type (confluent/type/decimal.proto).
// Written here from their documented declarations: the message, field and extension names and
// numbers must match Confluent's so that schemas using them mean the same thing.
var confluentImports = map[string]string{
	"confluent/meta.proto": `syntax = "proto3";
package confluent;

import "google/protobuf/descriptor.proto";

option java_package = "io.confluent.protobuf";
option java_outer_classname = "MetaProto";

// Meta annotates a file, message, field, enum or enum value with documentation,
// parameters and tags.
message Meta {
  string doc = 1;
  map<string, string> params = 2;
  repeated string tags = 3;
  repeated Rule rules = 4;
}

// Rule is a data quality or transformation rule attached to an element.
message Rule {
  string name = 1;
  string doc = 2;
  string expr = 3;
  string sql = 4;
}

extend google.protobuf.FileOptions {
  Meta file_meta = 1088;
}
extend google.protobuf.MessageOptions {
  Meta message_meta = 1088;
}
extend google.protobuf.FieldOptions {
  Meta field_meta = 1088;
}
extend google.protobuf.EnumOptions {
  Meta enum_meta = 1088;
}
extend google.protobuf.EnumValueOptions {
  Meta enum_value_meta = 1088;
}
`,
	"confluent/type/decimal.proto": `syntax = "proto3";
package confluent.type;

option java_package = "io.confluent.protobuf.type";
option java_multiple_files = true;
option java_outer_classname = "DecimalProto";

// Decimal is an arbitrary-precision decimal: value is the unscaled integer in two's
// complement, big-endian; precision 0 means unlimited.
message Decimal {
  bytes value = 1;
  uint32 precision = 2;
  int32 scale = 3;
}
`,
}
