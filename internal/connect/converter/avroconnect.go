package converter

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/internal/connect/data"
)

// avroToConnect derives Connect schemas from Avro schemas as Confluent's
// AvroData.toConnectSchema does, for records written by any producer: connect.* properties
// (connect.meta.data) restore what fromConnectSchema wrote; other schemas map by type (int
// int32, long int64, record struct named by its full name, enum string with the symbols as
// parameters, union of null and T optional T, other unions a struct named
// io.confluent.connect.avro.Union with a field per member, fixed bytes, logical types date,
// time-millis, timestamp-millis and decimal to Connect's).
type avroToConnect struct {
	meta     bool
	enhanced bool
	visiting map[string]bool // named types on the current path: a recursive schema is refused
	depth    int
}

func deref(a avro.Schema) avro.Schema {
	if r, ok := a.(*avro.RefSchema); ok {
		return r.Schema()
	}
	return a
}

func propString(a avro.Schema, key string) (string, bool, error) {
	p, ok := a.(avro.PropertySchema)
	if !ok {
		return "", false, nil
	}
	v := p.Prop(key)
	if v == nil {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", false, fmt.Errorf("converter: the Avro property %s is a %T, not a string", key, v)
	}
	return s, true, nil
}

func propValue(a avro.Schema, key string) any {
	if p, ok := a.(avro.PropertySchema); ok {
		return p.Prop(key)
	}
	return nil
}

func logicalOf(a avro.Schema) avro.LogicalSchema {
	if l, ok := a.(avro.LogicalTypeSchema); ok {
		return l.Logical()
	}
	return nil
}

// isMapEntry reports whether a (an array's items) is AvroData's record of a map entry.
func isMapEntry(a avro.Schema) bool {
	rec, ok := deref(a).(*avro.RecordSchema)
	if !ok {
		return false
	}
	if rec.FullName() == avroNamespace+"."+avroMapEntryName {
		return true
	}
	t, _, _ := propString(rec, connectInternalType)
	return t == avroMapEntryName
}

// unionMemberName is the Connect field name of a union member.
func (c *avroToConnect) unionMemberName(a avro.Schema) string {
	a = deref(a)
	if n, ok := a.(avro.NamedSchema); ok && (a.Type() == avro.Record || a.Type() == avro.Enum) {
		if c.enhanced {
			return n.FullName()
		}
		return n.Name()
	}
	return string(a.Type())
}

// schema converts a; fieldDefault (hasDefault) is the default of the record field a is the
// type of; version, when positive, is the registry version given to the top-level schema
// without connect.version.
func (c *avroToConnect) schema(a avro.Schema, forceOptional bool, fieldDefault any, hasDefault bool, version int) (*data.Schema, error) {
	if c.depth++; c.depth > maxAvroDepth {
		return nil, fmt.Errorf("converter: an Avro schema nested deeper than %d", maxAvroDepth)
	}
	defer func() { c.depth-- }()
	a = deref(a)
	if u, ok := a.(*avro.UnionSchema); ok {
		return c.union(u, forceOptional)
	}
	s, err := c.typed(a)
	if err != nil {
		return nil, err
	}
	if err := c.meta2connect(a, s, version); err != nil {
		return nil, err
	}
	if err := c.defaultFor(a, s, fieldDefault, hasDefault); err != nil {
		return nil, err
	}
	name, hasName, err := propString(a, connectNameProp)
	if err != nil {
		return nil, err
	}
	if !hasName && (a.Type() == avro.Record || a.Type() == avro.Enum) {
		name = a.(avro.NamedSchema).FullName()
		if isAvroUnnamed(name) {
			name = ""
		}
	}
	if name != "" {
		if s.Name != "" && s.Name != name {
			return nil, fmt.Errorf("converter: mismatched names: %s in the schema, %s in connect.name", s.Name, name)
		}
		s.Name = name
	}
	if forceOptional {
		s.Optional = true
	}
	return s, nil
}

// typed is the Connect schema of a's type (not a union), before its properties apply.
func (c *avroToConnect) typed(a avro.Schema) (*data.Schema, error) {
	s := &data.Schema{}
	logical := logicalOf(a)
	var err error
	switch a.Type() {
	case avro.Boolean:
		s.Type = data.TypeBoolean
	case avro.Bytes, avro.Fixed:
		s.Type = data.TypeBytes
		if dec, ok := logical.(*avro.DecimalLogicalSchema); ok {
			s = data.DecimalSchema(int32(dec.Scale()))
			if dec.Precision() != defaultDecimalPrecison {
				s = s.WithParameter(connectDecimalPrecison, strconv.Itoa(dec.Precision()))
			}
		}
	case avro.Double:
		s.Type = data.TypeFloat64
	case avro.Float:
		s.Type = data.TypeFloat32
	case avro.Int:
		return intSchema(a, logical)
	case avro.Long:
		s.Type = data.TypeInt64
		if logical != nil && logical.Type() == avro.TimestampMillis {
			s.Name, s.Version = data.TimestampName, 1
		}
	case avro.String:
		s.Type = data.TypeString
	case avro.Array:
		return c.array(a.(*avro.ArraySchema))
	case avro.Map:
		s.Type, s.Key = data.TypeMap, data.StringSchema
		if s.Value, err = c.schema(a.(*avro.MapSchema).Values(), false, nil, false, 0); err != nil {
			return nil, err
		}
	case avro.Record:
		return c.record(a.(*avro.RecordSchema))
	case avro.Enum:
		return c.enum(a.(*avro.EnumSchema)), nil
	case avro.Null:
		return nil, fmt.Errorf("converter: standalone null schemas are not supported by this converter")
	default:
		return nil, fmt.Errorf("converter: couldn't translate unsupported schema type %s", a.Type())
	}
	return s, nil
}

// intSchema is an Avro int's Connect schema: Date, Time, int8 or int16 by connect.type, else
// int32.
func intSchema(a avro.Schema, logical avro.LogicalSchema) (*data.Schema, error) {
	connectType, _, err := propString(a, connectTypeProp)
	if err != nil {
		return nil, err
	}
	s := &data.Schema{Type: data.TypeInt32}
	switch {
	case logical != nil && logical.Type() == avro.Date:
		s.Name, s.Version = data.DateName, 1
	case logical != nil && logical.Type() == avro.TimeMillis:
		s.Name, s.Version = data.TimeName, 1
	case logical == nil && connectType == "int8":
		s.Type = data.TypeInt8
	case logical == nil && connectType == "int16":
		s.Type = data.TypeInt16
	case logical == nil && connectType != "":
		return nil, fmt.Errorf("converter: unknown connect.type %q on an Avro int", connectType)
	}
	return s, nil
}

// array is an Avro array's Connect schema: a map when its items are AvroData's map entries.
func (c *avroToConnect) array(a *avro.ArraySchema) (*data.Schema, error) {
	var err error
	items := a.Items()
	if !isMapEntry(items) {
		s := &data.Schema{Type: data.TypeArray}
		if s.Value, err = c.schema(items, false, nil, false, 0); err != nil {
			return nil, err
		}
		return s, nil
	}
	rec := deref(items).(*avro.RecordSchema)
	if len(rec.Fields()) != 2 || rec.Fields()[0].Name() != "key" || rec.Fields()[1].Name() != "value" {
		return nil, fmt.Errorf("converter: found map encoded as array of key-value pairs, but array elements do not match the expected format")
	}
	s := &data.Schema{Type: data.TypeMap}
	if s.Key, err = c.schema(rec.Fields()[0].Type(), false, nil, false, 0); err != nil {
		return nil, err
	}
	if s.Value, err = c.schema(rec.Fields()[1].Type(), false, nil, false, 0); err != nil {
		return nil, err
	}
	return s, nil
}

// enum is an Avro enum's Connect schema: a string with the enum's name and symbols as
// parameters.
func (c *avroToConnect) enum(e *avro.EnumSchema) *data.Schema {
	s := &data.Schema{Type: data.TypeString, Parameters: map[string]string{}}
	if c.meta && e.Doc() != "" {
		s.Parameters[avroEnumDocParam+e.Name()] = e.Doc()
	}
	if c.meta && e.HasDefault() {
		s.Parameters[avroEnumDefaultParam+e.Name()] = e.Default()
	}
	s.Parameters[avroEnumParam] = e.FullName()
	for _, sym := range e.Symbols() {
		s.Parameters[avroEnumParam+"."+sym] = sym
	}
	return s
}

// meta2connect applies connect.doc, connect.version (else version) and connect.parameters,
// and the avro* properties as parameters.
func (c *avroToConnect) meta2connect(a avro.Schema, s *data.Schema, version int) error {
	if doc, ok, err := propString(a, connectDocProp); err != nil {
		return err
	} else if ok && c.meta {
		s.Doc = doc
	}
	switch v := propValue(a, connectVersionProp).(type) {
	case nil:
		if version > 0 {
			s.Version = int32(version)
		}
	case float64:
		s.Version = int32(v)
	case int:
		s.Version = int32(v)
	default:
		return fmt.Errorf("converter: invalid Connect version found: %v", v)
	}
	if params := propValue(a, connectParametersProp); params != nil && c.meta {
		m, ok := params.(map[string]any)
		if !ok {
			return fmt.Errorf("converter: expected JSON object for schema parameters but found: %v", params)
		}
		for k, v := range m {
			str, ok := v.(string)
			if !ok {
				return fmt.Errorf("converter: expected schema parameter values to be strings but found: %v", v)
			}
			if s.Parameters == nil {
				s.Parameters = map[string]string{}
			}
			s.Parameters[k] = str
		}
	}
	if p, ok := a.(interface{ Props() map[string]any }); ok {
		for k, v := range p.Props() {
			if !strings.HasPrefix(k, "avro") {
				continue
			}
			if s.Parameters == nil {
				s.Parameters = map[string]string{}
			}
			if str, ok := v.(string); ok {
				s.Parameters[k] = str
			} else {
				j, _ := json.Marshal(v)
				s.Parameters[k] = string(j)
			}
		}
	}
	return nil
}

// defaultFor sets s's default: the record field's default, else connect.default; a field
// default without connect.default is flagged with the field-default parameter.
func (c *avroToConnect) defaultFor(a avro.Schema, s *data.Schema, fieldDefault any, hasDefault bool) error {
	connectDefault := propValue(a, connectDefaultProp)
	var def any
	switch {
	case hasDefault:
		def = fieldDefault
		if connectDefault == nil {
			if s.Parameters == nil {
				s.Parameters = map[string]string{}
			}
			s.Parameters[avroFieldDefaultFlag] = "true"
		}
	case connectDefault != nil:
		def = connectDefault
	}
	if def == nil {
		return nil
	}
	v, err := avroDefaultValue(s, a, def)
	if err != nil {
		return fmt.Errorf("converter: a default of %v: %w", s, err)
	}
	s.Default = v
	return nil
}

func (c *avroToConnect) record(rec *avro.RecordSchema) (*data.Schema, error) {
	if c.visiting == nil {
		c.visiting = map[string]bool{}
	}
	if c.visiting[rec.FullName()] {
		return nil, fmt.Errorf("converter: the Avro record %s refers to itself; Connect schemas cannot be recursive", rec.FullName())
	}
	c.visiting[rec.FullName()] = true
	defer delete(c.visiting, rec.FullName())
	params := map[string]string{}
	if c.meta && rec.Doc() != "" {
		params[avroRecordDocParam] = rec.Doc()
	}
	var fields []data.Field
	for _, f := range rec.Fields() {
		if c.meta && f.Doc() != "" {
			params[avroFieldDocParam+f.Name()] = f.Doc()
		}
		fs, err := c.schema(f.Type(), false, f.Default(), f.HasDefault(), 0)
		if err != nil {
			return nil, fmt.Errorf("%w (field %s of %s)", err, f.Name(), rec.FullName())
		}
		fields = append(fields, data.F(f.Name(), fs))
	}
	s, err := data.NewStruct("", fields...)
	if err != nil {
		return nil, err
	}
	if len(params) > 0 {
		s.Parameters = params
	}
	return s, nil
}

func (c *avroToConnect) union(u *avro.UnionSchema, forceOptional bool) (*data.Schema, error) {
	types := u.Types()
	if len(types) == 2 && (types[0].Type() == avro.Null) != (types[1].Type() == avro.Null) {
		member := types[0]
		if member.Type() == avro.Null {
			member = types[1]
		}
		return c.schema(member, true, nil, false, 0)
	}
	s := &data.Schema{Type: data.TypeStruct, Name: avroUnionName}
	var fields []data.Field
	seen := map[string]bool{}
	for _, m := range types {
		if m.Type() == avro.Null {
			s.Optional = true
			continue
		}
		name := c.unionMemberName(m)
		if seen[name] {
			return nil, fmt.Errorf("converter: multiple union schemas map to the Connect union field name %s", name)
		}
		seen[name] = true
		fs, err := c.schema(m, true, nil, false, 0)
		if err != nil {
			return nil, err
		}
		fields = append(fields, data.F(name, fs))
	}
	st, err := data.NewStruct(avroUnionName, fields...)
	if err != nil {
		return nil, err
	}
	st.Optional = s.Optional || forceOptional
	return st, nil
}

// avroDefaultValue converts a default as hamba/avro parsed it (a field's default) or as JSON
// (connect.default) to a Connect value of s.
func avroDefaultValue(s *data.Schema, a avro.Schema, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	a = deref(a)
	if u, ok := a.(*avro.UnionSchema); ok {
		first := deref(u.Types()[0])
		if first.Type() == avro.Null || s.Name == avroUnionName {
			return avroDefaultUnion(s, first, v)
		}
		a = first
	}
	switch s.Name {
	case data.DecimalName:
		raw, err := defaultBytes(v)
		if err != nil {
			return nil, err
		}
		scale, err := data.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		return data.DecimalFromBytes(raw, scale)
	case data.DateName, data.TimeName, data.TimestampName:
		n, err := defaultInt(v)
		if err != nil {
			return nil, err
		}
		if s.Name == data.DateName {
			return time.UnixMilli(n * msPerDay).UTC(), nil
		}
		return time.UnixMilli(n).UTC(), nil
	}
	switch s.Type {
	case data.TypeInt8, data.TypeInt16, data.TypeInt32, data.TypeInt64, data.TypeFloat32, data.TypeFloat64:
		return avroDefaultNumber(s.Type, v)
	case data.TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("a %T for a boolean", v)
		}
		return b, nil
	case data.TypeString:
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("a %T for a string", v)
		}
		return str, nil
	case data.TypeBytes:
		return defaultBytes(v)
	case data.TypeArray:
		arr, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("a %T for an array", v)
		}
		var items avro.Schema
		if as, ok := a.(*avro.ArraySchema); ok {
			items = as.Items()
		}
		out := make([]any, len(arr))
		for i, it := range arr {
			var err error
			if out[i], err = avroDefaultValue(s.Value, items, it); err != nil {
				return nil, err
			}
		}
		return out, nil
	case data.TypeMap:
		return avroDefaultMapValue(s, a, v)
	case data.TypeStruct:
		return avroDefaultStruct(s, a, v)
	}
	return nil, fmt.Errorf("schema type %v", s.Type)
}

// avroDefaultUnion converts the default of a union, a value of its first member.
func avroDefaultUnion(s *data.Schema, first avro.Schema, v any) (any, error) {
	if first.Type() == avro.Null {
		return nil, nil
	}
	c := avroToConnect{}
	f, ok := s.Field(c.unionMemberName(first))
	if !ok {
		return nil, fmt.Errorf("no union member %s", c.unionMemberName(first))
	}
	x, err := avroDefaultValue(f.Schema, first, v)
	if err != nil {
		return nil, err
	}
	st := data.NewStructValue(s)
	return st, st.Put(f.Name, x)
}

// avroDefaultMapValue converts a map default: an object, or (AvroData's map entries) an array
// of [key, value] pairs or {"key", "value"} records.
func avroDefaultMapValue(s *data.Schema, a avro.Schema, v any) (any, error) {
	out := map[any]any{}
	switch m := v.(type) {
	case map[string]any:
		var values avro.Schema
		if ms, ok := a.(*avro.MapSchema); ok {
			values = ms.Values()
		}
		for k, it := range m {
			x, err := avroDefaultValue(s.Value, values, it)
			if err != nil {
				return nil, err
			}
			out[k] = x
		}
	case []any:
		for _, e := range m {
			var kv, vv any
			switch e := e.(type) {
			case []any:
				if len(e) != 2 {
					return nil, fmt.Errorf("a map entry of %d items", len(e))
				}
				kv, vv = e[0], e[1]
			case map[string]any:
				kv, vv = e["key"], e["value"]
			default:
				return nil, fmt.Errorf("a %T for a map entry", e)
			}
			k, err := avroDefaultValue(s.Key, nil, kv)
			if err != nil {
				return nil, err
			}
			if !comparable(k) {
				return nil, fmt.Errorf("a map key of schema %v cannot be a Go map key", s.Key)
			}
			x, err := avroDefaultValue(s.Value, nil, vv)
			if err != nil {
				return nil, err
			}
			out[k] = x
		}
	default:
		return nil, fmt.Errorf("a %T for a map", v)
	}
	return out, nil
}

// avroDefaultStruct converts a record default (an object of the fields' defaults).
func avroDefaultStruct(s *data.Schema, a avro.Schema, v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a %T for a record", v)
	}
	fieldTypes := map[string]avro.Schema{}
	if rec, ok := a.(*avro.RecordSchema); ok {
		for _, af := range rec.Fields() {
			fieldTypes[af.Name()] = af.Type()
		}
	}
	st := data.NewStructValue(s)
	for _, f := range s.Fields {
		x, err := avroDefaultValue(f.Schema, fieldTypes[f.Name], m[f.Name])
		if err != nil {
			return nil, err
		}
		if err := st.Put(f.Name, x); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// avroDefaultNumber converts a numeric default to Go's type for t.
func avroDefaultNumber(t data.Type, v any) (any, error) {
	if t == data.TypeFloat32 || t == data.TypeFloat64 {
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		case int:
			f = float64(x)
		case int64:
			f = float64(x)
		default:
			return nil, fmt.Errorf("a %T for a number", v)
		}
		if t == data.TypeFloat32 {
			return float32(f), nil
		}
		return f, nil
	}
	n, err := defaultInt(v)
	if err != nil {
		return nil, err
	}
	switch t {
	case data.TypeInt8:
		return int8(n), nil
	case data.TypeInt16:
		return int16(n), nil
	case data.TypeInt32:
		return int32(n), nil
	}
	return n, nil
}

func defaultInt(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case float64:
		return int64(x), nil
	}
	return 0, fmt.Errorf("a %T for an integer", v)
}

// defaultBytes reads a bytes default: hamba/avro gives []byte (or a [N]byte for fixed), JSON a
// string of code points 0-255.
func defaultBytes(v any) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		return x, nil
	case string:
		b := make([]byte, 0, len(x))
		for _, r := range x {
			if r > 255 {
				return nil, fmt.Errorf("a bytes default with the code point %U", r)
			}
			b = append(b, byte(r))
		}
		return b, nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Array && rv.Type().Elem().Kind() == reflect.Uint8 {
		b := make([]byte, rv.Len())
		reflect.Copy(reflect.ValueOf(b), rv)
		return b, nil
	}
	return nil, fmt.Errorf("a %T for bytes", v)
}

// decimalFixed is d's unscaled value in size bytes, big-endian two's complement.
func decimalFixed(d data.Decimal, size int) ([]byte, error) {
	b := data.DecimalBytes(d)
	if len(b) > size {
		return nil, fmt.Errorf("converter: the decimal %s needs %d bytes, more than the fixed %d", d, len(b), size)
	}
	pad := byte(0)
	if d.Unscaled != nil && d.Unscaled.Sign() < 0 {
		pad = 0xff
	}
	out := make([]byte, size-len(b), size)
	for i := range out {
		out[i] = pad
	}
	return append(out, b...), nil
}
