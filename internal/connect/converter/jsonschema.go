package converter

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/internal/connect/data"
)

// JSONSchemaClass is Confluent's JSON Schema converter.
const JSONSchemaClass = "io.confluent.connect.json.JsonSchemaConverter"

// Names and properties of Confluent's JsonSchemaData (io.confluent.connect.json).
const (
	jsonNamespace    = "io.confluent.connect.json"
	jsonEnumParam    = jsonNamespace + ".Enum"
	jsonOneOfName    = jsonNamespace + ".OneOf"
	jsonConnectIndex = "connect.index"
)

// JSONSchema is Confluent's JsonSchemaConverter: Connect data as JSON in the Confluent wire
// format (magic byte 0, the schema id as 4 bytes big-endian, the JSON document) with a JSON
// Schema in the schema registry carrying Confluent's connect.* annotations, as JsonSchemaData
// derives it: integers and numbers with connect.type (int8 ... float64), bytes a string with
// connect.type bytes (base64), Decimal a number with connect.type bytes, maps with string keys
// an object with additionalProperties and connect.type map (other maps an array of
// {"key", "value"} objects), structs objects whose properties carry connect.index, optional
// schemas {"oneOf": [{"type": "null"}, ...]}, names as "title", docs as "description",
// connect.version and connect.parameters.
//
// ToConnect reads any JSON Schema the registry holds (as JsonSchemaData.toConnectSchema):
// properties without connect.index in the order written, integer as int64 and number as
// float64 without connect.type, enums as strings with the symbols as parameters, oneOf/anyOf
// of null and one schema as optional, other oneOf/anyOf as a struct named
// io.confluent.connect.json.OneOf, local $refs followed.
//
// Settings: the registry settings of Avro (schema.registry.url, basic.auth.*,
// auto.register.schemas, use.latest.version, key/value.subject.name.strategy,
// schemas.cache.config), decimal.format (BASE64 or NUMERIC; BASE64), and
// object.additional.properties (true; false writes "additionalProperties": false on
// structs).
type JSONSchema struct {
	rc              registryConfig
	numericDecimals bool
	additionalProps bool
	optionalNonReq  bool

	texts   boundedCache[string]       // by Connect schema: the JSON Schema text
	ids     boundedCache[int]          // by subject and text: the schema id written with
	readers boundedCache[*data.Schema] // by schema id: the Connect schema
}

func (c *JSONSchema) Configure(cfg map[string]string, isKey bool) error {
	var err error
	if c.rc, err = newRegistryConfig(cfg, isKey); err != nil {
		return err
	}
	switch f := strings.ToUpper(strings.TrimSpace(cfg["decimal.format"])); f {
	case "", "BASE64":
	case "NUMERIC":
		c.numericDecimals = true
	default:
		return fmt.Errorf("decimal.format: %q is neither BASE64 nor NUMERIC", cfg["decimal.format"])
	}
	if c.additionalProps, err = parseBool(cfg, "object.additional.properties", true); err != nil {
		return err
	}
	if c.optionalNonReq, err = parseBool(cfg, "use.optional.for.nonrequired", false); err != nil {
		return err
	}
	c.texts.max, c.ids.max, c.readers.max = c.rc.cacheSize, c.rc.cacheSize, c.rc.cacheSize
	return nil
}

func (c *JSONSchema) FromConnect(topic string, s *data.Schema, v any) ([]byte, error) {
	if s == nil && v == nil {
		return nil, nil
	}
	if s == nil {
		return nil, fmt.Errorf("converter: JsonSchemaConverter needs a schema (schemaless %T)", v)
	}
	if v == nil && s.Default == nil {
		if !s.Optional {
			return nil, fmt.Errorf("converter: a null value for the required %v", s)
		}
		return nil, nil
	}
	text, err := c.texts.get(s, func() (string, error) {
		w := jsonSchemaWriter{c: c}
		b, err := w.schema(nil, s, -1, false)
		return string(b), err
	})
	if err != nil {
		return nil, err
	}
	subject := c.rc.subject(topic, s.Name)
	if c.rc.strategy != TopicNameStrategy && s.Name == "" {
		return nil, fmt.Errorf("converter: the record name strategies need a named schema (title), not %v", s)
	}
	id, err := c.ids.get(subject+"\x00"+text, func() (int, error) {
		ss, err := c.rc.resolve(subject, sr.Schema{Schema: text, Type: sr.TypeJSON})
		return ss.ID, err
	})
	if err != nil {
		return nil, err
	}
	b, _ := wireHeader.AppendEncode(make([]byte, 0, 64), id, nil)
	if b, err = c.appendValue(b, s, v); err != nil {
		return nil, fmt.Errorf("%w (topic %s)", err, topic)
	}
	return b, nil
}

// jsonSchemaWriter writes JsonSchemaData's JSON Schema for a Connect schema.
type jsonSchemaWriter struct {
	c     *JSONSchema
	depth int
}

// schema appends s's JSON Schema; index is its field index (connect.index; -1 for none).
func (w *jsonSchemaWriter) schema(b []byte, s *data.Schema, index int, ignoreOptional bool) ([]byte, error) {
	if w.depth++; w.depth > maxAvroDepth {
		return nil, fmt.Errorf("converter: a schema nested deeper than %d", maxAvroDepth)
	}
	defer func() { w.depth-- }()
	if s.Type == data.TypeStruct && s.Name == jsonOneOfName {
		return w.oneOf(b, s, index)
	}
	if s.Optional && !ignoreOptional {
		return w.optional(b, s, index)
	}
	b, connectType, err := w.typed(b, s)
	if err != nil {
		return nil, err
	}
	return w.annotations(b, s, connectType, index)
}

// oneOf appends a Connect union (a struct named io.confluent.connect.json.OneOf).
func (w *jsonSchemaWriter) oneOf(b []byte, s *data.Schema, index int) ([]byte, error) {
	b = append(b, `{"oneOf":[`...)
	if s.Optional {
		b = append(b, `{"type":"null"},`...)
	}
	for i, f := range s.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = w.schema(b, nonOptional(f.Schema), f.Index, true); err != nil {
			return nil, err
		}
	}
	b = append(b, ']')
	if index >= 0 {
		b = append(b, `,"connect.index":`...)
		b = strconv.AppendInt(b, int64(index), 10)
	}
	return append(b, '}'), nil
}

// optional appends an optional schema: oneOf null and the schema.
func (w *jsonSchemaWriter) optional(b []byte, s *data.Schema, index int) ([]byte, error) {
	b = append(b, `{"oneOf":[{"type":"null"},`...)
	var err error
	if b, err = w.schema(b, nonOptional(s), -1, true); err != nil {
		return nil, err
	}
	b = append(b, ']')
	if index >= 0 {
		b = append(b, `,"connect.index":`...)
		b = strconv.AppendInt(b, int64(index), 10)
	}
	return append(b, '}'), nil
}

// typed appends the opening of s's schema by type (its "type" and the keywords of its items,
// values or properties) and gives its connect.type.
func (w *jsonSchemaWriter) typed(b []byte, s *data.Schema) ([]byte, string, error) {
	connectType := ""
	var err error
	switch s.Type {
	case data.TypeInt8, data.TypeInt16, data.TypeInt32, data.TypeInt64:
		b = append(b, `{"type":"integer"`...)
		connectType = s.Type.String()
	case data.TypeFloat32, data.TypeFloat64:
		b = append(b, `{"type":"number"`...)
		connectType = s.Type.String()
	case data.TypeBoolean:
		b = append(b, `{"type":"boolean"`...)
	case data.TypeString:
		if _, isEnum := s.Parameters[jsonEnumParam]; isEnum {
			b = append(b, `{"type":"string","enum":[`...)
			first := true
			for _, k := range sortedKeys(s.Parameters) {
				if sym, ok := strings.CutPrefix(k, jsonEnumParam+"."); ok {
					if !first {
						b = append(b, ',')
					}
					first = false
					b = append(b, jsonString(sym)...)
				}
			}
			b = append(b, ']')
		} else {
			b = append(b, `{"type":"string"`...)
		}
	case data.TypeBytes:
		if s.Name == data.DecimalName {
			b = append(b, `{"type":"number"`...)
		} else {
			b = append(b, `{"type":"string"`...)
		}
		connectType = "bytes"
	case data.TypeArray:
		b = append(b, `{"type":"array","items":`...)
		if b, err = w.schema(b, s.Value, -1, false); err != nil {
			return nil, "", err
		}
	case data.TypeMap:
		connectType = "map"
		if s.Key.Type == data.TypeString && !s.Key.Optional {
			b = append(b, `{"type":"object","additionalProperties":`...)
			if b, err = w.schema(b, s.Value, -1, false); err != nil {
				return nil, "", err
			}
		} else {
			b = append(b, `{"type":"array","items":{"type":"object","properties":{"key":`...)
			if b, err = w.schema(b, s.Key, 0, false); err != nil {
				return nil, "", err
			}
			b = append(b, `,"value":`...)
			if b, err = w.schema(b, s.Value, 1, false); err != nil {
				return nil, "", err
			}
			b = append(b, `}}`...)
		}
	case data.TypeStruct:
		b = append(b, `{"type":"object","properties":{`...)
		for i, f := range s.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, jsonString(f.Name)...)
			b = append(b, ':')
			if b, err = w.schema(b, f.Schema, i, false); err != nil {
				return nil, "", err
			}
		}
		b = append(b, '}')
		if !w.c.additionalProps {
			b = append(b, `,"additionalProperties":false`...)
		}
	default:
		return nil, "", fmt.Errorf("converter: schema type %v", s.Type)
	}
	return b, connectType, nil
}

// annotations appends title, description, default and the connect.* keywords, and closes s's
// schema.
func (w *jsonSchemaWriter) annotations(b []byte, s *data.Schema, connectType string, index int) ([]byte, error) {
	var err error
	if s.Name != "" {
		b = append(b, `,"title":`...)
		b = append(b, jsonString(s.Name)...)
	}
	if s.Doc != "" {
		b = append(b, `,"description":`...)
		b = append(b, jsonString(s.Doc)...)
	}
	if s.Default != nil {
		b = append(b, `,"default":`...)
		if b, err = w.c.appendValue(b, s, s.Default); err != nil {
			return nil, err
		}
	}
	if connectType != "" {
		b = append(b, `,"connect.type":`...)
		b = append(b, jsonString(connectType)...)
	}
	if s.Version != 0 {
		b = append(b, `,"connect.version":`...)
		b = strconv.AppendInt(b, int64(s.Version), 10)
	}
	var params []string
	for _, k := range parameterKeys(s.Parameters) {
		if !strings.HasPrefix(k, jsonNamespace) {
			params = append(params, k)
		}
	}
	if len(params) > 0 {
		b = append(b, `,"connect.parameters":{`...)
		for i, k := range params {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, jsonString(k)...)
			b = append(b, ':')
			b = append(b, jsonString(s.Parameters[k])...)
		}
		b = append(b, '}')
	}
	if index >= 0 {
		b = append(b, `,"connect.index":`...)
		b = strconv.AppendInt(b, int64(index), 10)
	}
	return append(b, '}'), nil
}

// appendValue writes v of schema s as JsonSchemaData.fromConnectData does: a null takes the
// schema's default, decimals per decimal.format, bytes as base64, maps with keys other than
// required strings as [{"key": k, "value": v}, ...].
func (c *JSONSchema) appendValue(b []byte, s *data.Schema, v any) ([]byte, error) {
	if v == nil {
		switch {
		case s.Default != nil:
			v = s.Default
		case s.Optional:
			return append(b, "null"...), nil
		default:
			return nil, fmt.Errorf("converter: conversion error: null value for field that is required and has no default value (%v)", s)
		}
	}
	switch s.Name {
	case data.DecimalName:
		d, ok := v.(data.Decimal)
		if !ok {
			return nil, fmt.Errorf("converter: a %T for a Decimal", v)
		}
		if c.numericDecimals {
			return append(b, d.String()...), nil
		}
		return appendBase64(b, data.DecimalBytes(d)), nil
	case data.DateName, data.TimeName, data.TimestampName:
		t, ok := v.(time.Time)
		if !ok {
			return nil, fmt.Errorf("converter: a %T for a %s", v, s.Name)
		}
		return strconv.AppendInt(b, logicalTime(s.Name, t), 10), nil
	}
	switch s.Type {
	case data.TypeStruct:
		st, ok := v.(*data.Struct)
		if !ok {
			return nil, fmt.Errorf("converter: a %T for a struct", v)
		}
		if s.Name == jsonOneOfName {
			for i, f := range s.Fields {
				if x := st.GetAt(i); x != nil {
					return c.appendValue(b, f.Schema, x)
				}
			}
			return c.appendValue(b, &data.Schema{Type: data.TypeStruct, Optional: s.Optional}, nil)
		}
		b = append(b, '{')
		for i, f := range s.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, jsonString(f.Name)...)
			b = append(b, ':')
			var err error
			if b, err = c.appendValue(b, f.Schema, st.GetAt(i)); err != nil {
				return nil, fmt.Errorf("%w (field %q)", err, f.Name)
			}
		}
		return append(b, '}'), nil
	case data.TypeArray:
		items, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("converter: a %T for an array", v)
		}
		b = append(b, '[')
		for i, it := range items {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = c.appendValue(b, s.Value, it); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case data.TypeMap:
		m, ok := v.(map[any]any)
		if !ok {
			return nil, fmt.Errorf("converter: a %T for a map", v)
		}
		return c.appendMap(b, s, m)
	}
	if err := data.Validate(nonOptional(s), v); err != nil {
		return nil, fmt.Errorf("converter: %w", err)
	}
	return (&JSON{}).appendValue(b, nil, v)
}

func (c *JSONSchema) appendMap(b []byte, s *data.Schema, m map[any]any) ([]byte, error) {
	entries := make([]mapEntryText, 0, len(m))
	for k, x := range m {
		kb, err := c.appendValue(nil, s.Key, k)
		if err != nil {
			return nil, err
		}
		vb, err := c.appendValue(nil, s.Value, x)
		if err != nil {
			return nil, err
		}
		entries = append(entries, mapEntryText{kb, vb})
	}
	return appendEntries(b, entries, s.Key.Type == data.TypeString && !s.Key.Optional, func(b, k, v []byte) []byte {
		b = append(append(append(b, `{"key":`...), k...), `,"value":`...)
		return append(append(b, v...), '}')
	}), nil
}

func (c *JSONSchema) ToConnect(topic string, b []byte) (*data.Schema, any, error) {
	if b == nil {
		return nil, nil, nil
	}
	id, payload, err := splitWire("JsonSchemaConverter", b)
	if err != nil {
		return nil, nil, err
	}
	s, err := c.readers.get(id, func() (*data.Schema, error) { return c.reader(topic, id) })
	if err != nil {
		return nil, nil, err
	}
	doc, err := parseJSON(payload)
	if err != nil {
		return nil, nil, fmt.Errorf("converter: JsonSchemaConverter: schema id %d: %w", id, err)
	}
	v, err := jsonSchemaValue(s, doc, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (schema id %d, topic %s)", err, id, topic)
	}
	return s, v, nil
}

func (c *JSONSchema) reader(topic string, id int) (*data.Schema, error) {
	s, err := c.rc.schemaByID(id)
	if err != nil {
		return nil, err
	}
	if s.Type != sr.TypeJSON {
		return nil, fmt.Errorf("converter: JsonSchemaConverter: schema id %d is a %v schema", id, s.Type)
	}
	if len(s.References) > 0 {
		return nil, fmt.Errorf("converter: JsonSchemaConverter: schema id %d has references, which are not supported", id)
	}
	root, err := parseOrdered([]byte(s.Schema))
	if err != nil {
		return nil, fmt.Errorf("converter: JsonSchemaConverter: schema id %d: %w", id, err)
	}
	version := 0
	if obj, ok := root.(*orderedObject); !ok || obj.vals[connectVersionProp] == nil {
		title := ""
		if ok {
			title, _ = obj.vals["title"].(string)
		}
		version = c.rc.version(c.rc.subject(topic, title), id)
	}
	conv := &jsonToConnect{root: root, optionalNonReq: c.optionalNonReq}
	cs, err := conv.schema(root, version, false)
	if err != nil {
		return nil, fmt.Errorf("%w (schema id %d)", err, id)
	}
	return cs, nil
}
