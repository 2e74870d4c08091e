// Package data is Kafka Connect's data model: schemas (primitive, array, map, struct, optional,
// with defaults, names, versions, docs, parameters and the logical types Decimal, Date, Time and
// Timestamp) and the values they describe, as Go values:
//
//	INT8 int8, INT16 int16, INT32 int32, INT64 int64, FLOAT32 float32, FLOAT64 float64,
//	BOOLEAN bool, STRING string, BYTES []byte, ARRAY []any, MAP map[any]any (keys are
//	comparable Go values of the key schema), STRUCT *Struct; the logical types Decimal
//	(Decimal), Date, Time and Timestamp (time.Time, UTC); nil for an absent optional value.
//
// Connectors produce and consume these; converters turn them into record bytes and back;
// transforms rewrite them.
package data

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Type is a schema's type.
type Type uint8

const (
	TypeInt8 Type = iota + 1
	TypeInt16
	TypeInt32
	TypeInt64
	TypeFloat32
	TypeFloat64
	TypeBoolean
	TypeString
	TypeBytes
	TypeArray
	TypeMap
	TypeStruct
)

var typeNames = [...]string{TypeInt8: "int8", TypeInt16: "int16", TypeInt32: "int32", TypeInt64: "int64", TypeFloat32: "float32", TypeFloat64: "float64",
	TypeBoolean: "boolean", TypeString: "string", TypeBytes: "bytes", TypeArray: "array", TypeMap: "map", TypeStruct: "struct"}

// String is the type's name as Kafka Connect's JSON schemas spell it ("int32", "struct").
func (t Type) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// ParseType is the Type named s ("int32"), case-insensitively as Kafka Connect's Schema.Type.
func ParseType(s string) (Type, bool) {
	for i, n := range typeNames {
		if n != "" && strings.EqualFold(n, s) {
			return Type(i), true
		}
	}
	return 0, false
}

// Primitive reports whether t is neither array, map nor struct.
func (t Type) Primitive() bool { return t >= TypeInt8 && t <= TypeBytes }

// Field is one field of a struct schema.
type Field struct {
	Name   string
	Index  int
	Schema *Schema
}

// Schema describes a value. Schemas are immutable once built: build them with the helpers
// below or a Builder and share them freely.
type Schema struct {
	Type     Type
	Optional bool
	// Default is the value of an absent field (nil: none).
	Default    any
	Name       string
	Version    int32 // 0: none
	Doc        string
	Parameters map[string]string
	// Fields of a struct, in order.
	Fields []Field
	// Key and Value of a map; Value (Items) of an array.
	Key, Value *Schema
	byName     map[string]int
}

// Predefined primitive schemas.
var (
	Int8Schema            = &Schema{Type: TypeInt8}
	Int16Schema           = &Schema{Type: TypeInt16}
	Int32Schema           = &Schema{Type: TypeInt32}
	Int64Schema           = &Schema{Type: TypeInt64}
	Float32Schema         = &Schema{Type: TypeFloat32}
	Float64Schema         = &Schema{Type: TypeFloat64}
	BooleanSchema         = &Schema{Type: TypeBoolean}
	StringSchema          = &Schema{Type: TypeString}
	BytesSchema           = &Schema{Type: TypeBytes}
	OptionalInt8Schema    = &Schema{Type: TypeInt8, Optional: true}
	OptionalInt16Schema   = &Schema{Type: TypeInt16, Optional: true}
	OptionalInt32Schema   = &Schema{Type: TypeInt32, Optional: true}
	OptionalInt64Schema   = &Schema{Type: TypeInt64, Optional: true}
	OptionalFloat32Schema = &Schema{Type: TypeFloat32, Optional: true}
	OptionalFloat64Schema = &Schema{Type: TypeFloat64, Optional: true}
	OptionalBooleanSchema = &Schema{Type: TypeBoolean, Optional: true}
	OptionalStringSchema  = &Schema{Type: TypeString, Optional: true}
	OptionalBytesSchema   = &Schema{Type: TypeBytes, Optional: true}
)

// ArrayOf is an array schema of items.
func ArrayOf(items *Schema) *Schema { return &Schema{Type: TypeArray, Value: items} }

// MapOf is a map schema.
func MapOf(key, value *Schema) *Schema { return &Schema{Type: TypeMap, Key: key, Value: value} }

// NewStruct is a struct schema with fields in order; a field name given twice is an error.
func NewStruct(name string, fields ...Field) (*Schema, error) {
	s := &Schema{Type: TypeStruct, Name: name}
	for i, f := range fields {
		if f.Schema == nil {
			return nil, fmt.Errorf("data: field %q of %q has no schema", f.Name, name)
		}
		f.Index = i
		s.Fields = append(s.Fields, f)
	}
	if err := s.index(); err != nil {
		return nil, err
	}
	return s, nil
}

// MustStruct is NewStruct for schemas known to be valid (panics otherwise).
func MustStruct(name string, fields ...Field) *Schema {
	s, err := NewStruct(name, fields...)
	if err != nil {
		panic(err)
	}
	return s
}

// F is a Field (for NewStruct).
func F(name string, s *Schema) Field { return Field{Name: name, Schema: s} }

func (s *Schema) index() error {
	s.byName = make(map[string]int, len(s.Fields))
	for i, f := range s.Fields {
		if _, dup := s.byName[f.Name]; dup {
			return fmt.Errorf("data: struct %q has two fields named %q", s.Name, f.Name)
		}
		s.byName[f.Name] = i
	}
	return nil
}

// Field returns the struct field named name.
func (s *Schema) Field(name string) (Field, bool) {
	if s == nil || s.Type != TypeStruct {
		return Field{}, false
	}
	if s.byName == nil && len(s.Fields) > 0 {
		s.index()
	}
	i, ok := s.byName[name]
	if !ok {
		return Field{}, false
	}
	return s.Fields[i], true
}

// AsOptional returns a copy of s that is optional.
func (s *Schema) AsOptional() *Schema {
	if s.Optional {
		return s
	}
	c := s.clone()
	c.Optional = true
	return c
}

// WithDefault returns a copy of s with a default value (not checked: Validate it).
func (s *Schema) WithDefault(v any) *Schema {
	c := s.clone()
	c.Default = v
	return c
}

// Named returns a copy of s with a name and version (logical types are named schemas).
func (s *Schema) Named(name string, version int32) *Schema {
	c := s.clone()
	c.Name, c.Version = name, version
	return c
}

// WithParameter returns a copy of s with one more parameter.
func (s *Schema) WithParameter(k, v string) *Schema {
	c := s.clone()
	c.Parameters = maps.Clone(c.Parameters)
	if c.Parameters == nil {
		c.Parameters = map[string]string{}
	}
	c.Parameters[k] = v
	return c
}

// WithDoc returns a copy of s with a doc string.
func (s *Schema) WithDoc(doc string) *Schema {
	c := s.clone()
	c.Doc = doc
	return c
}

func (s *Schema) clone() *Schema {
	c := *s
	c.Fields = slices.Clone(s.Fields)
	if s.Type == TypeStruct {
		c.index()
	}
	return &c
}

// Equal reports whether two schemas are the same in every respect (names, parameters, fields,
// defaults compared with EqualValues).
func (s *Schema) Equal(o *Schema) bool {
	if s == o {
		return true
	}
	if s == nil || o == nil {
		return false
	}
	if s.Type != o.Type || s.Optional != o.Optional || s.Name != o.Name || s.Version != o.Version || s.Doc != o.Doc ||
		!maps.Equal(s.Parameters, o.Parameters) || len(s.Fields) != len(o.Fields) || !EqualValues(s.Default, o.Default) {
		return false
	}
	for i := range s.Fields {
		if s.Fields[i].Name != o.Fields[i].Name || !s.Fields[i].Schema.Equal(o.Fields[i].Schema) {
			return false
		}
	}
	return s.Key.Equal(o.Key) && s.Value.Equal(o.Value)
}

func (s *Schema) String() string {
	if s == nil {
		return "<no schema>"
	}
	var b strings.Builder
	if s.Name != "" {
		b.WriteString(s.Name)
		b.WriteByte(':')
	}
	b.WriteString(s.Type.String())
	switch s.Type {
	case TypeArray:
		fmt.Fprintf(&b, "<%v>", s.Value)
	case TypeMap:
		fmt.Fprintf(&b, "<%v,%v>", s.Key, s.Value)
	case TypeStruct:
		b.WriteByte('{')
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%s:%v", f.Name, f.Schema)
		}
		b.WriteByte('}')
	}
	if s.Optional {
		b.WriteByte('?')
	}
	return b.String()
}
