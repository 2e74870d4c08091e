// Package avro is the schema registry's Avro format: it parses Avro schemas (with references to
// named types registered under other subjects), gives the texts the registry stores and
// compares, and applies Avro's schema resolution rules to say whether one schema can read what
// another wrote.
//
// It follows Confluent's registry, which uses Avro's Java library:
//
//   - Parse accepts what Avro's Java parser accepts for a schema being registered (strict
//     names, defaults that fit their fields' types, no redefined names, unions without nested
//     unions or repeated types) and explains what is wrong otherwise. Each dependency is parsed
//     before the schema, its own dependencies first, so the schema can use their names.
//     Nesting is capped at 1,000 levels and the number of types by the input's size; a panic
//     is turned into an error.
//   - Canonical is Confluent's canonicalString (Avro's Schema.toString): compact JSON with the
//     attributes in Avro's order, custom properties kept in the order written, namespaces
//     written only where they change, each named type defined at its first use and the
//     dependencies' types referred to by name. Whitespace and the order of a schema's
//     attributes do not change it; the order of custom properties does, as in Confluent.
//   - Normalized is the canonical text of Confluent's normalize=true form: custom properties
//     sorted (a valid logical type's attributes first), aliases sorted, empty docs of named
//     types dropped, defaults converted to their field's type.
//   - CanRead is Avro's SchemaCompatibility as Confluent reports it, one message per
//     incompatibility with Confluent's errorType, description and additionalInfo.
//   - ParseStored parses a schema read back from _schemas as Confluent does (defaults and
//     namespaces unchecked); Resolved is the schema with its dependencies' types written out.
//
// The package holds no state between calls and is safe for concurrent use.
//
//	s, err := avro.New().Parse(`{"type":"record","name":"r","fields":[{"name":"a","type":"int"}]}`, nil)
//	if err != nil { ... } // the registry answers 42201 with err's text
//	s.Canonical()         // {"type":"record","name":"r","fields":[{"name":"a","type":"int"}]}
package avro
