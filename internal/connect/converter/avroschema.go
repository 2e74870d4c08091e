package converter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/connect/data"
)

// Names and properties of Confluent's AvroData (io.confluent.connect.avro).
const (
	avroNamespace          = "io.confluent.connect.avro"
	avroDefaultName        = "ConnectDefault"
	avroMapEntryName       = "MapEntry"
	avroUnionName          = avroNamespace + ".Union"
	avroEnumParam          = avroNamespace + ".Enum"
	avroRecordDocParam     = avroNamespace + ".record.doc"
	avroFieldDocParam      = avroNamespace + ".field.doc."
	avroEnumDocParam       = avroNamespace + ".enum.doc."
	avroEnumDefaultParam   = avroNamespace + ".enum.default."
	avroFieldDefaultFlag   = avroNamespace + ".field.default"
	connectNameProp        = "connect.name"
	connectDocProp         = "connect.doc"
	connectVersionProp     = "connect.version"
	connectDefaultProp     = "connect.default"
	connectParametersProp  = "connect.parameters"
	connectTypeProp        = "connect.type"
	connectInternalType    = "connect.internal.type"
	connectDecimalPrecison = "connect.decimal.precision"
	defaultDecimalPrecison = 64
)

// avroSchemaWriter writes the Avro schema Confluent's AvroData.fromConnectSchema makes of a
// Connect schema, as the text Avro's Schema.toString gives it (and Confluent's serializer
// registers): attributes in Avro's order, custom properties in the order AvroData adds them,
// a named type written in full at its first use and by name after, namespaces written where
// they change.
type avroSchemaWriter struct {
	meta     bool                    // connect.meta.data
	defined  map[string]*data.Schema // full names of the records written so far
	unnamed  []*data.Schema          // the unnamed structs, in the order met (ConnectDefault, ConnectDefault2, ...)
	space    string                  // the enclosing namespace
	hasSpace bool
	depth    int
}

// avroSchemaText is the Avro schema text for s.
func avroSchemaText(s *data.Schema, meta bool) (string, error) {
	w := &avroSchemaWriter{meta: meta, defined: map[string]*data.Schema{}}
	b, err := w.schema(nil, s, false)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// nonOptional is s required (AvroData.nonOptional).
func nonOptional(s *data.Schema) *data.Schema {
	if !s.Optional {
		return s
	}
	c := *s
	c.Optional = false
	return &c
}

func splitFullName(full string) (space, name string) {
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "", full
}

// structName is the Avro full name of a struct: its Connect name, else ConnectDefault in
// AvroData's namespace (numbered from the second distinct unnamed struct on, as Avro cannot
// define one name twice).
func (w *avroSchemaWriter) structName(s *data.Schema) string {
	if s.Name != "" {
		return s.Name
	}
	for i, u := range w.unnamed {
		if u.Equal(s) {
			return avroUnnamed(i)
		}
	}
	w.unnamed = append(w.unnamed, s)
	return avroUnnamed(len(w.unnamed) - 1)
}

func avroUnnamed(i int) string {
	if i == 0 {
		return avroNamespace + "." + avroDefaultName
	}
	return avroNamespace + "." + avroDefaultName + strconv.Itoa(i+1)
}

// isAvroUnnamed reports whether full is a name structName gives unnamed structs.
func isAvroUnnamed(full string) bool {
	rest, ok := strings.CutPrefix(full, avroNamespace+"."+avroDefaultName)
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	_, err := strconv.Atoi(rest)
	return err == nil
}

const maxAvroDepth = 64

// schema appends the Avro form of s (optional: a union with null, null first unless s has a
// default).
func (w *avroSchemaWriter) schema(b []byte, s *data.Schema, ignoreOptional bool) ([]byte, error) {
	if w.depth++; w.depth > maxAvroDepth {
		return nil, fmt.Errorf("converter: a schema nested deeper than %d", maxAvroDepth)
	}
	defer func() { w.depth-- }()
	if s.Type == data.TypeStruct && s.Name == avroUnionName {
		b = append(b, '[')
		if s.Optional {
			b = append(b, `"null",`...)
		}
		for i, f := range s.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = w.schema(b, nonOptional(f.Schema), true); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	if s.Optional && !ignoreOptional {
		base, err := w.base(nil, nonOptional(s))
		if err != nil {
			return nil, err
		}
		if s.Default != nil {
			b = append(b, '[')
			b = append(b, base...)
			return append(b, `,"null"]`...), nil
		}
		b = append(b, `["null",`...)
		b = append(b, base...)
		return append(b, ']'), nil
	}
	return w.base(b, s)
}

// prop is one custom property of an Avro schema, its value as JSON.
type prop struct {
	key   string
	value []byte
}

func jsonString(s string) []byte {
	q, _ := json.Marshal(s)
	return q
}

// base appends s's Avro type other than the optional union.
func (w *avroSchemaWriter) base(b []byte, s *data.Schema) ([]byte, error) {
	var props []prop
	connectType := ""
	var avroType string
	switch s.Type {
	case data.TypeInt8:
		avroType, connectType = "int", "int8"
	case data.TypeInt16:
		avroType, connectType = "int", "int16"
	case data.TypeInt32:
		avroType = "int"
	case data.TypeInt64:
		avroType = "long"
	case data.TypeFloat32:
		avroType = "float"
	case data.TypeFloat64:
		avroType = "double"
	case data.TypeBoolean:
		avroType = "boolean"
	case data.TypeString:
		avroType = "string"
	case data.TypeBytes:
		avroType = "bytes"
	case data.TypeArray, data.TypeMap, data.TypeStruct:
	default:
		return nil, fmt.Errorf("converter: schema type %v", s.Type)
	}
	isDecimal := strings.EqualFold(s.Name, data.DecimalName) && s.Type == data.TypeBytes
	if isDecimal {
		dp, err := decimalProps(s)
		if err != nil {
			return nil, err
		}
		props = append(props, dp...)
	}
	metaProps, err := w.metaProps(s, connectType)
	if err != nil {
		return nil, err
	}
	props = append(props, metaProps...)
	if logical := avroLogicalType(s, isDecimal); logical != "" {
		props = append(props, prop{"logicalType", jsonString(logical)})
	}
	for _, k := range sortedKeys(s.Parameters) {
		if strings.HasPrefix(k, "avro") {
			props = append(props, prop{k, jsonString(s.Parameters[k])})
		}
	}
	switch s.Type {
	case data.TypeArray:
		b = append(b, `{"type":"array","items":`...)
		if b, err = w.schema(b, s.Value, false); err != nil {
			return nil, err
		}
		return appendProps(b, props), nil
	case data.TypeMap:
		if s.Key.Type == data.TypeString && !s.Key.Optional {
			b = append(b, `{"type":"map","values":`...)
			if b, err = w.schema(b, s.Value, false); err != nil {
				return nil, err
			}
			return appendProps(b, props), nil
		}
		b = append(b, `{"type":"array","items":`...)
		if b, err = w.mapEntry(b, s); err != nil {
			return nil, err
		}
		return appendProps(b, props), nil
	case data.TypeStruct:
		return w.record(b, s, props)
	}
	if len(props) == 0 {
		return append(b, `"`+avroType+`"`...), nil
	}
	b = append(b, `{"type":"`+avroType+`"`...)
	return appendProps(b, props), nil
}

// decimalProps are the scale and precision AvroData puts first on a Decimal's bytes.
func decimalProps(s *data.Schema) ([]prop, error) {
	scale, err := data.DecimalScale(s)
	if err != nil {
		return nil, err
	}
	precision := defaultDecimalPrecison
	if p, ok := s.Parameters[connectDecimalPrecison]; ok {
		if precision, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("converter: %s %q: %w", connectDecimalPrecison, p, err)
		}
	}
	return []prop{{"scale", strconv.AppendInt(nil, int64(scale), 10)},
		{"precision", strconv.AppendInt(nil, int64(precision), 10)}}, nil
}

// avroLogicalType is the Avro logical type of a Connect logical schema ("" for none); a
// Decimal's is "decimal" also when its scale is outside 0..precision (AvroData's legacy form).
func avroLogicalType(s *data.Schema, isDecimal bool) string {
	switch {
	case isDecimal:
		return "decimal"
	case strings.EqualFold(s.Name, data.TimeName):
		return "time-millis"
	case strings.EqualFold(s.Name, data.TimestampName):
		return "timestamp-millis"
	case strings.EqualFold(s.Name, data.DateName):
		return "date"
	}
	return ""
}

// metaProps are the connect.* properties (connect.meta.data=true) in AvroData's order.
func (w *avroSchemaWriter) metaProps(s *data.Schema, connectType string) ([]prop, error) {
	if !w.meta {
		return nil, nil
	}
	var props []prop
	if s.Doc != "" {
		props = append(props, prop{connectDocProp, jsonString(s.Doc)})
	}
	if s.Version != 0 {
		props = append(props, prop{connectVersionProp, strconv.AppendInt(nil, int64(s.Version), 10)})
	}
	if params := parameterKeys(s.Parameters); len(params) > 0 {
		p := []byte{'{'}
		for i, k := range params {
			if i > 0 {
				p = append(p, ',')
			}
			p = append(p, jsonString(k)...)
			p = append(p, ':')
			p = append(p, jsonString(s.Parameters[k])...)
		}
		props = append(props, prop{connectParametersProp, append(p, '}')})
	}
	if s.Default != nil {
		if _, flagged := s.Parameters[avroFieldDefaultFlag]; !flagged {
			d, err := avroDefaultJSON(nil, s, s.Default)
			if err != nil {
				return nil, err
			}
			props = append(props, prop{connectDefaultProp, d})
		}
	}
	if s.Name != "" {
		props = append(props, prop{connectNameProp, jsonString(s.Name)})
	}
	if connectType != "" {
		props = append(props, prop{connectTypeProp, jsonString(connectType)})
	}
	return props, nil
}

// parameterKeys are the parameters written as connect.parameters: Connect keeps them in the
// order added, which a Go map does not; the Decimal's "scale" (always added first) comes
// first, the others sorted. The field-default flag is not written.
func parameterKeys(params map[string]string) []string {
	var keys []string
	for _, k := range sortedKeys(params) {
		if k == avroFieldDefaultFlag {
			continue
		}
		keys = append(keys, k)
	}
	for i, k := range keys {
		if k == data.DecimalScaleParameter && i > 0 {
			copy(keys[1:i+1], keys[:i])
			keys[0] = k
		}
	}
	return keys
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func appendProps(b []byte, props []prop) []byte {
	for _, p := range props {
		b = append(b, ',')
		b = append(b, jsonString(p.key)...)
		b = append(b, ':')
		b = append(b, p.value...)
	}
	return append(b, '}')
}

// nameRef appends a reference to the named type full if it was written before (true), else
// records it as defined by s.
func (w *avroSchemaWriter) nameRef(b []byte, full string, s *data.Schema) ([]byte, bool, error) {
	if prev, ok := w.defined[full]; ok {
		if !prev.Equal(s) {
			return nil, false, fmt.Errorf("converter: Avro cannot hold two different types named %s (%v and %v)", full, prev, s)
		}
		space, name := splitFullName(full)
		if w.hasSpace && space == w.space || space == "" {
			return append(b, jsonString(name)...), true, nil
		}
		return append(b, jsonString(full)...), true, nil
	}
	w.defined[full] = s
	return b, false, nil
}

// writeName appends "name" and, where it differs from the enclosing one, "namespace".
func (w *avroSchemaWriter) writeName(b []byte, full string) []byte {
	space, name := splitFullName(full)
	b = append(b, `,"name":`...)
	b = append(b, jsonString(name)...)
	switch {
	case space != "" && (!w.hasSpace || space != w.space):
		b = append(b, `,"namespace":`...)
		b = append(b, jsonString(space)...)
	case space == "" && w.hasSpace && w.space != "":
		b = append(b, `,"namespace":""`...)
	}
	return b
}

// record appends a struct as an Avro record.
func (w *avroSchemaWriter) record(b []byte, s *data.Schema, props []prop) ([]byte, error) {
	return w.namedRecord(b, w.structName(s), s, s.Fields, s.Parameters, props)
}

// mapEntry appends the record of a map's entries (maps whose keys are not required strings).
func (w *avroSchemaWriter) mapEntry(b []byte, s *data.Schema) ([]byte, error) {
	full := avroNamespace + "." + avroMapEntryName
	var props []prop
	if s.Name != "" {
		full = s.Name
		props = append(props, prop{connectInternalType, jsonString(avroMapEntryName)})
	}
	entry := &data.Schema{Type: data.TypeMap, Key: s.Key, Value: s.Value}
	fields := []data.Field{{Name: "key", Schema: s.Key}, {Name: "value", Schema: s.Value}}
	return w.namedRecord(b, full, entry, fields, nil, props)
}

// namedRecord appends the record full (def is what it stands for, for a second use by name)
// with fields; params holds AvroData's record and field doc parameters.
func (w *avroSchemaWriter) namedRecord(b []byte, full string, def *data.Schema, fields []data.Field, params map[string]string, props []prop) ([]byte, error) {
	b, done, err := w.nameRef(b, full, def)
	if err != nil || done {
		return b, err
	}
	savedSpace, savedHas := w.space, w.hasSpace
	b = append(b, `{"type":"record"`...)
	b = w.writeName(b, full)
	w.space, _ = splitFullName(full)
	w.hasSpace = true
	if doc, ok := params[avroRecordDocParam]; ok {
		b = append(b, `,"doc":`...)
		b = append(b, jsonString(doc)...)
	}
	b = append(b, `,"fields":[`...)
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		doc, hasDoc := params[avroFieldDocParam+f.Name]
		if b, err = w.field(b, f.Name, f.Schema, doc, hasDoc); err != nil {
			return nil, err
		}
	}
	b = append(b, ']')
	w.space, w.hasSpace = savedSpace, savedHas
	return appendProps(b, props), nil
}

// field appends a record field: name, type, doc, default (the Connect default, else null for
// an optional field).
func (w *avroSchemaWriter) field(b []byte, name string, s *data.Schema, doc string, hasDoc bool) ([]byte, error) {
	b = append(b, `{"name":`...)
	b = append(b, jsonString(name)...)
	b = append(b, `,"type":`...)
	var err error
	if b, err = w.schema(b, s, false); err != nil {
		return nil, err
	}
	if hasDoc {
		b = append(b, `,"doc":`...)
		b = append(b, jsonString(doc)...)
	}
	switch {
	case s.Default != nil:
		b = append(b, `,"default":`...)
		if b, err = avroDefaultJSON(b, s, s.Default); err != nil {
			return nil, err
		}
	case s.Optional:
		b = append(b, `,"default":null`...)
	}
	return append(b, '}'), nil
}

// avroDefaultJSON appends a default value as AvroData writes it (defaultValueFromConnect):
// logical values in their underlying form, bytes as an ISO-8859-1 string, maps with string
// keys as objects and others as arrays of [key, value].
func avroDefaultJSON(b []byte, s *data.Schema, v any) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	switch s.Name {
	case data.DecimalName:
		d, ok := v.(data.Decimal)
		if !ok {
			return nil, fmt.Errorf("converter: a %T default for a Decimal", v)
		}
		v = data.DecimalBytes(d)
	case data.DateName, data.TimeName, data.TimestampName:
		t, ok := v.(time.Time)
		if !ok {
			return nil, fmt.Errorf("converter: a %T default for a %s", v, s.Name)
		}
		n := logicalTime(s.Name, t)
		if s.Name == data.TimestampName {
			v = n
		} else {
			v = int32(n)
		}
	}
	switch v := v.(type) {
	case int8:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case float32:
		return appendJavaFloat(b, float64(v), 32)
	case float64:
		return appendJavaFloat(b, v, 64)
	case bool:
		return strconv.AppendBool(b, v), nil
	case string:
		return append(b, jsonString(v)...), nil
	case []byte:
		r := make([]rune, len(v))
		for i, c := range v {
			r[i] = rune(c)
		}
		return append(b, jsonString(string(r))...), nil
	case []any:
		b = append(b, '[')
		for i, it := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = avroDefaultJSON(b, s.Value, it); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[any]any:
		return avroDefaultMap(b, s, v)
	case *data.Struct:
		b = append(b, '{')
		for i, f := range s.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, jsonString(f.Name)...)
			b = append(b, ':')
			var err error
			if b, err = avroDefaultJSON(b, f.Schema, v.Get(f.Name)); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("converter: a %T default for %v", v, s)
}

func avroDefaultMap(b []byte, s *data.Schema, m map[any]any) ([]byte, error) {
	entries := make([]mapEntryText, 0, len(m))
	for k, v := range m {
		kb, err := avroDefaultJSON(nil, s.Key, k)
		if err != nil {
			return nil, err
		}
		vb, err := avroDefaultJSON(nil, s.Value, v)
		if err != nil {
			return nil, err
		}
		entries = append(entries, mapEntryText{kb, vb})
	}
	return appendEntries(b, entries, s.Key.Type == data.TypeString && !s.Key.Optional, func(b, k, v []byte) []byte {
		b = append(append(append(b, '['), k...), ',')
		return append(append(b, v...), ']')
	}), nil
}

// mapEntryText is a map entry with its key and value written as JSON.
type mapEntryText struct{ key, value []byte }

// appendEntries writes a map's entries sorted by key: a JSON object when objectForm (string
// keys), else an array of pair(key, value).
func appendEntries(b []byte, entries []mapEntryText, objectForm bool, pair func(b, key, value []byte) []byte) []byte {
	sort.Slice(entries, func(i, j int) bool { return bytes.Compare(entries[i].key, entries[j].key) < 0 })
	open, close := byte('{'), byte('}')
	if !objectForm {
		open, close = '[', ']'
	}
	b = append(b, open)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		if objectForm {
			b = append(append(append(b, e.key...), ':'), e.value...)
		} else {
			b = pair(b, e.key, e.value)
		}
	}
	return append(b, close)
}

// appendJavaFloat writes a number as Jackson writes a double ("1.0", "1.0E10").
func appendJavaFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, jsonString(strconv.FormatFloat(f, 'g', -1, bits))...), nil
	}
	return appendFloat(b, f, bits)
}
