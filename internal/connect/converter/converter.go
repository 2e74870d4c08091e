// Package converter turns Kafka Connect values (package data) into record key and value bytes
// and back, as Kafka Connect's converters do, picked by their Java class names so that worker
// and connector configurations written for Kafka Connect work unchanged.
package converter

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sluicehq/sluice/internal/connect/data"
)

// Converter converts between Connect data and bytes for one side (keys or values) of records.
// Implementations are safe for concurrent use once configured.
type Converter interface {
	// Configure applies the converter's settings (the worker's or connector's
	// key.converter.* / value.converter.* properties without the prefix).
	Configure(cfg map[string]string, isKey bool) error
	// FromConnect serializes v (of schema s; s nil for schemaless data). A nil result is a
	// null key or value.
	FromConnect(topic string, s *data.Schema, v any) ([]byte, error)
	// ToConnect deserializes b (nil: a null key or value, which gives a nil schema and value).
	ToConnect(topic string, b []byte) (*data.Schema, any, error)
}

// Class names of the converters built in.
const (
	JSONClass      = "org.apache.kafka.connect.json.JsonConverter"
	StringClass    = "org.apache.kafka.connect.storage.StringConverter"
	ByteArrayClass = "org.apache.kafka.connect.converters.ByteArrayConverter"
)

var classes = map[string]func() Converter{
	JSONClass:       func() Converter { return &JSON{} },
	StringClass:     func() Converter { return &String{} },
	ByteArrayClass:  func() Converter { return ByteArray{} },
	AvroClass:       func() Converter { return &Avro{} },
	JSONSchemaClass: func() Converter { return &JSONSchema{} },
	ProtobufClass:   func() Converter { return &Protobuf{} },
}

// Register adds a converter class (the schema-registry converters register themselves).
func Register(class string, newConverter func() Converter) { classes[class] = newConverter }

// New makes and configures the converter named class.
func New(class string, cfg map[string]string, isKey bool) (Converter, error) {
	mk, ok := classes[class]
	if !ok {
		return nil, fmt.Errorf("converter: unknown converter class %q (known: %s)", class, strings.Join(Classes(), ", "))
	}
	c := mk()
	if err := c.Configure(cfg, isKey); err != nil {
		return nil, fmt.Errorf("converter: %s: %w", class, err)
	}
	return c, nil
}

// Classes lists the known converter class names, sorted.
func Classes() []string {
	var names []string
	for n := range classes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// String is Kafka's StringConverter: UTF-8 strings (other values by their string form).
type String struct{}

func (*String) Configure(map[string]string, bool) error { return nil }

func (*String) FromConnect(_ string, _ *data.Schema, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(v), nil
	case []byte:
		return v, nil
	}
	return []byte(fmt.Sprint(v)), nil
}

func (*String) ToConnect(_ string, b []byte) (*data.Schema, any, error) {
	if b == nil {
		return data.OptionalStringSchema, nil, nil
	}
	return data.OptionalStringSchema, string(b), nil
}

// ByteArray is Kafka's ByteArrayConverter: bytes passed through.
type ByteArray struct{}

func (ByteArray) Configure(map[string]string, bool) error { return nil }

func (ByteArray) FromConnect(_ string, s *data.Schema, v any) ([]byte, error) {
	if s != nil && s.Type != data.TypeBytes {
		return nil, fmt.Errorf("ByteArrayConverter needs a bytes schema, not %v", s)
	}
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		return v, nil
	}
	return nil, fmt.Errorf("ByteArrayConverter needs bytes, not a %T", v)
}

func (ByteArray) ToConnect(_ string, b []byte) (*data.Schema, any, error) {
	if b == nil {
		return data.OptionalBytesSchema, nil, nil
	}
	return data.OptionalBytesSchema, b, nil
}
