package converter

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/connect/data"
)

// JSON is Kafka's JsonConverter. With schemas.enable (the default) a record is the envelope
// {"schema": ..., "payload": ...} with the schema in Kafka Connect's JSON form; without, the
// payload alone, read back schemaless (integers as int64, other numbers as float64, objects as
// maps with string keys). decimal.format is BASE64 (the default) or NUMERIC.
// replace.null.with.default (default true, KIP-581) writes a field's default for a null.
type JSON struct {
	schemas         bool
	numericDecimals bool
	replaceNull     bool

	// schemaJSON caches each schema's JSON form by pointer, as Kafka's JsonConverter caches its
	// conversions (schemas.cache.size): a source writing one schema per table serializes it once,
	// not once per record. Schemas are not changed once records use them.
	mu         sync.Mutex
	schemaJSON map[*data.Schema][]byte
	parsed     map[string]*data.Schema // schemas read, by their JSON bytes
}

// schemaCacheSize bounds schemaJSON (Kafka's schemas.cache.size default); when full it starts over.
const schemaCacheSize = 1000

// cachedSchema is s's JSON form.
func (c *JSON) cachedSchema(s *data.Schema) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if js, ok := c.schemaJSON[s]; ok {
		return js
	}
	if c.schemaJSON == nil || len(c.schemaJSON) >= schemaCacheSize {
		c.schemaJSON = map[*data.Schema][]byte{}
	}
	js := appendSchema(nil, s)
	c.schemaJSON[s] = js
	return js
}

func (c *JSON) Configure(cfg map[string]string, _ bool) error {
	c.schemas, c.replaceNull = true, true
	for k, v := range cfg {
		switch k {
		case "schemas.enable", "replace.null.with.default":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s: %q is not a boolean", k, v)
			}
			if k == "schemas.enable" {
				c.schemas = b
			} else {
				c.replaceNull = b
			}
		case "decimal.format":
			switch strings.ToUpper(v) {
			case "BASE64":
				c.numericDecimals = false
			case "NUMERIC":
				c.numericDecimals = true
			default:
				return fmt.Errorf("decimal.format: %q is neither BASE64 nor NUMERIC", v)
			}
		}
	}
	return nil
}

// FromConnect writes v (of schema s) as JSON.
func (c *JSON) FromConnect(_ string, s *data.Schema, v any) ([]byte, error) {
	if s == nil && v == nil {
		return nil, nil
	}
	var b []byte
	var err error
	if c.schemas {
		var schema []byte
		if s != nil {
			schema = c.cachedSchema(s)
		}
		b = make([]byte, 0, len(schema)+512)
		b = append(b, `{"schema":`...)
		if s == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, schema...)
		}
		b = append(b, `,"payload":`...)
		if b, err = c.appendValue(b, s, v); err != nil {
			return nil, err
		}
		b = append(b, '}')
		return b, nil
	}
	return c.appendValue(b, s, v)
}

// appendString writes s as a JSON string, escaped as encoding/json escapes it; strings with
// nothing to escape (most of them) are copied without going through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendSchema writes s in Kafka Connect's JSON schema form.
func appendSchema(b []byte, s *data.Schema) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, s.Type.String())
	switch s.Type {
	case data.TypeArray:
		b = append(b, `,"items":`...)
		b = appendSchema(b, s.Value)
	case data.TypeMap:
		b = append(b, `,"keys":`...)
		b = appendSchema(b, s.Key)
		b = append(b, `,"values":`...)
		b = appendSchema(b, s.Value)
	case data.TypeStruct:
		b = append(b, `,"fields":[`...)
		for i, f := range s.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			fs := appendSchema(nil, f.Schema)
			b = append(b, fs[:len(fs)-1]...) // the field's schema with "field" added
			b = append(b, `,"field":`...)
			b = appendString(b, f.Name)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"optional":`...)
	b = strconv.AppendBool(b, s.Optional)
	if s.Name != "" {
		b = append(b, `,"name":`...)
		b = appendString(b, s.Name)
	}
	if s.Version != 0 {
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, int64(s.Version), 10)
	}
	if s.Doc != "" {
		b = append(b, `,"doc":`...)
		b = appendString(b, s.Doc)
	}
	if len(s.Parameters) > 0 {
		b = append(b, `,"parameters":{`...)
		keys := make([]string, 0, len(s.Parameters))
		for k := range s.Parameters {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, s.Parameters[k])
		}
		b = append(b, '}')
	}
	if s.Default != nil {
		if d, err := (&JSON{}).appendValue(nil, s, s.Default); err == nil {
			b = append(b, `,"default":`...)
			b = append(b, d...)
		}
	}
	return append(b, '}')
}

// appendValue writes v of schema s (nil: schemaless, by v's Go type).
func (c *JSON) appendValue(b []byte, s *data.Schema, v any) ([]byte, error) {
	if v == nil {
		if s != nil && c.replaceNull && s.Default != nil {
			v = s.Default
		} else if s != nil && !s.Optional && s.Default == nil {
			return nil, fmt.Errorf("converter: a null value for the required %v", s)
		} else {
			return append(b, "null"...), nil
		}
	}
	if s != nil {
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
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case float32:
		return appendFloat(b, float64(v), 32)
	case float64:
		return appendFloat(b, v, 64)
	case bool:
		return strconv.AppendBool(b, v), nil
	case string:
		return appendString(b, v), nil
	case []byte:
		return appendBase64(b, v), nil
	case []any:
		var items *data.Schema
		if s != nil {
			items = s.Value
		}
		b = append(b, '[')
		for i, it := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = c.appendValue(b, items, it); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[any]any:
		return c.appendMap(b, s, v)
	case map[string]any:
		m := make(map[any]any, len(v))
		for k, x := range v {
			m[k] = x
		}
		return c.appendMap(b, s, m)
	case *data.Struct:
		b = append(b, '{')
		for i, f := range v.Schema().Fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.Name)
			b = append(b, ':')
			var err error
			if b, err = c.appendValue(b, f.Schema, v.GetAt(i)); err != nil {
				return nil, fmt.Errorf("%w (field %q)", err, f.Name)
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("converter: JsonConverter cannot write a %T", v)
}

// appendMap writes a map: an object when its keys are strings, else an array of [key, value]
// pairs (Kafka's JsonConverter's two forms). Keys are written in sorted order.
func (c *JSON) appendMap(b []byte, s *data.Schema, m map[any]any) ([]byte, error) {
	var ks, vs *data.Schema
	if s != nil {
		ks, vs = s.Key, s.Value
	}
	type entry struct {
		k    any
		text []byte
	}
	entries := make([]entry, 0, len(m))
	stringKeys := ks == nil || ks.Type == data.TypeString
	for k := range m {
		if _, ok := k.(string); !ok {
			stringKeys = false
		}
		kb, err := c.appendValue(nil, ks, k)
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{k, kb})
	}
	sort.Slice(entries, func(i, j int) bool { return bytes.Compare(entries[i].text, entries[j].text) < 0 })
	open, close := byte('{'), byte('}')
	if !stringKeys {
		open, close = '[', ']'
	}
	b = append(b, open)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		if !stringKeys {
			b = append(b, '[')
		}
		b = append(b, e.text...)
		if stringKeys {
			b = append(b, ':')
		} else {
			b = append(b, ',')
		}
		var err error
		if b, err = c.appendValue(b, vs, m[e.k]); err != nil {
			return nil, err
		}
		if !stringKeys {
			b = append(b, ']')
		}
	}
	return append(b, close), nil
}

func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("converter: JSON has no %v", f)
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, bits)
	if !bytes.ContainsAny(b[start:], ".e") { // as Java writes doubles ("1.0"): read back as a float, not an integer
		b = append(b, ".0"...)
	}
	return b, nil
}

func appendBase64(b []byte, p []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, p)
	return append(b, '"')
}

const msPerDay = 24 * 60 * 60 * 1000

func logicalTime(name string, t time.Time) int64 {
	ms := t.UnixMilli()
	switch name {
	case data.DateName:
		return floorDiv(ms, msPerDay)
	case data.TimeName:
		return ms - floorDiv(ms, msPerDay)*msPerDay
	}
	return ms
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// ErrEnvelope is the error for a record that is not {"schema", "payload"} under schemas.enable.
var ErrEnvelope = errors.New(`JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.`)

// ToConnect reads JSON bytes.
func (c *JSON) ToConnect(_ string, b []byte) (*data.Schema, any, error) {
	if b == nil {
		return nil, nil, nil
	}
	if !c.schemas {
		doc, err := parseJSON(b)
		if err != nil {
			return nil, nil, serializationErr(err)
		}
		v, err := schemaless(doc)
		return nil, v, err
	}
	// The envelope's two members are kept as bytes: the payload is parsed, the schema looked up
	// among those already parsed (most records of a topic repeat one schema).
	var env map[string]json.RawMessage
	if err := json.Unmarshal(b, &env); err != nil {
		var notObject *json.UnmarshalTypeError
		if errors.As(err, &notObject) {
			return nil, nil, ErrEnvelope
		}
		return nil, nil, serializationErr(err)
	}
	rawSchema, ok1 := env["schema"]
	rawPayload, ok2 := env["payload"]
	if len(env) != 2 || !ok1 || !ok2 {
		return nil, nil, ErrEnvelope
	}
	payload, err := parseJSON(rawPayload)
	if err != nil {
		return nil, nil, serializationErr(err)
	}
	if string(bytes.TrimSpace(rawSchema)) == "null" {
		v, err := schemaless(payload)
		return nil, v, err
	}
	s, err := c.parsedSchema(rawSchema)
	if err != nil {
		return nil, nil, err
	}
	v, err := c.toValue(s, payload)
	if err != nil {
		return nil, nil, err
	}
	return s, v, nil
}

func serializationErr(err error) error {
	return fmt.Errorf("converter: converting byte[] to Kafka Connect data failed due to serialization error: %w", err)
}

// parsedSchema is the schema whose JSON form is raw, parsed once and then cached by its bytes
// (Kafka's JsonConverter caches these conversions too).
func (c *JSON) parsedSchema(raw []byte) (*data.Schema, error) {
	c.mu.Lock()
	s, ok := c.parsed[string(raw)]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	doc, err := parseJSON(raw)
	if err != nil {
		return nil, serializationErr(err)
	}
	if s, err = ParseSchema(doc); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.parsed == nil || len(c.parsed) >= schemaCacheSize {
		c.parsed = map[string]*data.Schema{}
	}
	c.parsed[string(raw)] = s
	c.mu.Unlock()
	return s, nil
}

func parseJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the JSON value")
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

// schemaless converts parsed JSON to Connect values without a schema.
func schemaless(v any) (any, error) {
	switch v := v.(type) {
	case nil, bool, string:
		return v, nil
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return nil, fmt.Errorf("converter: the number %s: %w", v, err)
		}
		return f, nil
	case []any:
		out := make([]any, len(v))
		for i, it := range v {
			var err error
			if out[i], err = schemaless(it); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := make(map[any]any, len(v))
		for k, it := range v {
			x, err := schemaless(it)
			if err != nil {
				return nil, err
			}
			out[k] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("converter: unexpected JSON %T", v)
}

// ParseSchema reads a schema in Kafka Connect's JSON form (parsed by encoding/json with
// UseNumber).
func ParseSchema(doc any) (*data.Schema, error) {
	return parseSchema(doc, 0)
}

const maxSchemaDepth = 64

func parseSchema(doc any, depth int) (*data.Schema, error) {
	if depth > maxSchemaDepth {
		return nil, fmt.Errorf("converter: a schema nested deeper than %d", maxSchemaDepth)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("converter: a schema must be a JSON object, not %T", doc)
	}
	typeName, _ := m["type"].(string)
	t, ok := data.ParseType(typeName)
	if !ok {
		return nil, fmt.Errorf("converter: unknown schema type %q", typeName)
	}
	s := &data.Schema{Type: t}
	if o, ok := m["optional"]; ok {
		b, isBool := o.(bool)
		if !isBool {
			return nil, errors.New(`converter: the schema's "optional" is not a boolean`)
		}
		s.Optional = b
	}
	if n, ok := m["name"].(string); ok {
		s.Name = n
	}
	if v, ok := m["version"].(json.Number); ok {
		n, err := strconv.ParseInt(string(v), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("converter: schema version %s: %w", v, err)
		}
		s.Version = int32(n)
	}
	if d, ok := m["doc"].(string); ok {
		s.Doc = d
	}
	if p, ok := m["parameters"].(map[string]any); ok {
		s.Parameters = make(map[string]string, len(p))
		for k, v := range p {
			str, isStr := v.(string)
			if !isStr {
				return nil, fmt.Errorf("converter: schema parameter %q is not a string", k)
			}
			s.Parameters[k] = str
		}
	}
	var err error
	switch t {
	case data.TypeArray:
		if s.Value, err = parseSchema(m["items"], depth+1); err != nil {
			return nil, fmt.Errorf("%w (array items)", err)
		}
	case data.TypeMap:
		if s.Key, err = parseSchema(m["keys"], depth+1); err != nil {
			return nil, fmt.Errorf("%w (map keys)", err)
		}
		if s.Value, err = parseSchema(m["values"], depth+1); err != nil {
			return nil, fmt.Errorf("%w (map values)", err)
		}
	case data.TypeStruct:
		fields, ok := m["fields"].([]any)
		if !ok {
			return nil, errors.New(`converter: a struct schema needs a "fields" array`)
		}
		var fs []data.Field
		for _, f := range fields {
			fm, ok := f.(map[string]any)
			if !ok {
				return nil, errors.New("converter: a struct field must be an object")
			}
			name, ok := fm["field"].(string)
			if !ok {
				return nil, errors.New(`converter: a struct field needs a "field" name`)
			}
			fsch, err := parseSchema(fm, depth+1)
			if err != nil {
				return nil, fmt.Errorf("%w (field %q)", err, name)
			}
			fs = append(fs, data.F(name, fsch))
		}
		st, err := data.NewStruct(s.Name, fs...)
		if err != nil {
			return nil, err
		}
		st.Optional, st.Version, st.Doc, st.Parameters = s.Optional, s.Version, s.Doc, s.Parameters
		s = st
	}
	if s.Name == data.DecimalName {
		if _, err := data.DecimalScale(s); err != nil {
			return nil, err
		}
	}
	if d, ok := m["default"]; ok && d != nil {
		v, err := (&JSON{}).toValue(s, d)
		if err != nil {
			return nil, fmt.Errorf("converter: the schema's default: %w", err)
		}
		s.Default = v
	}
	return s, nil
}

// toValue converts parsed JSON to a value of s.
func (c *JSON) toValue(s *data.Schema, v any) (any, error) {
	if v == nil {
		if s.Default != nil {
			return s.Default, nil
		}
		if s.Optional {
			return nil, nil
		}
		return nil, fmt.Errorf("converter: a null value for the required %v", s)
	}
	switch s.Name {
	case data.DecimalName:
		scale, err := data.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		switch v := v.(type) {
		case string:
			raw, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return nil, fmt.Errorf("converter: a Decimal's base64: %w", err)
			}
			return data.DecimalFromBytes(raw, scale)
		case json.Number:
			return decimalFromNumber(string(v), scale)
		}
		return nil, fmt.Errorf("converter: a JSON %T for a Decimal", v)
	case data.DateName, data.TimeName, data.TimestampName:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("converter: a JSON %T for a %s", v, s.Name)
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("converter: %s %s: %w", s.Name, n, err)
		}
		switch s.Name {
		case data.DateName:
			return time.UnixMilli(i * msPerDay).UTC(), nil
		default:
			return time.UnixMilli(i).UTC(), nil
		}
	}
	switch s.Type {
	case data.TypeInt8, data.TypeInt16, data.TypeInt32, data.TypeInt64:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("converter: a JSON %T for an %v", v, s.Type)
		}
		bits := map[data.Type]int{data.TypeInt8: 8, data.TypeInt16: 16, data.TypeInt32: 32, data.TypeInt64: 64}[s.Type]
		i, err := strconv.ParseInt(string(n), 10, bits)
		if err != nil {
			return nil, fmt.Errorf("converter: %s is not an %v", n, s.Type)
		}
		switch s.Type {
		case data.TypeInt8:
			return int8(i), nil
		case data.TypeInt16:
			return int16(i), nil
		case data.TypeInt32:
			return int32(i), nil
		}
		return i, nil
	case data.TypeFloat32, data.TypeFloat64:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("converter: a JSON %T for a %v", v, s.Type)
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return nil, fmt.Errorf("converter: %s is not a number", n)
		}
		if s.Type == data.TypeFloat32 {
			return float32(f), nil
		}
		return f, nil
	case data.TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("converter: a JSON %T for a boolean", v)
		}
		return b, nil
	case data.TypeString:
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("converter: a JSON %T for a string", v)
		}
		return str, nil
	case data.TypeBytes:
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("converter: a JSON %T for bytes (base64)", v)
		}
		raw, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			return nil, fmt.Errorf("converter: bytes: %w", err)
		}
		return raw, nil
	case data.TypeArray:
		arr, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("converter: a JSON %T for an array", v)
		}
		out := make([]any, len(arr))
		for i, it := range arr {
			var err error
			if out[i], err = c.toValue(s.Value, it); err != nil {
				return nil, err
			}
		}
		return out, nil
	case data.TypeMap:
		out := map[any]any{}
		switch m := v.(type) {
		case map[string]any:
			if s.Key.Type != data.TypeString {
				return nil, fmt.Errorf("converter: a JSON object for a map with %v keys", s.Key)
			}
			for k, it := range m {
				x, err := c.toValue(s.Value, it)
				if err != nil {
					return nil, err
				}
				out[k] = x
			}
		case []any:
			for _, pair := range m {
				kv, ok := pair.([]any)
				if !ok || len(kv) != 2 {
					return nil, errors.New("converter: a map entry must be a [key, value] array")
				}
				k, err := c.toValue(s.Key, kv[0])
				if err != nil {
					return nil, err
				}
				if !comparable(k) {
					return nil, fmt.Errorf("converter: a map key of schema %v cannot be a Go map key", s.Key)
				}
				x, err := c.toValue(s.Value, kv[1])
				if err != nil {
					return nil, err
				}
				out[k] = x
			}
		default:
			return nil, fmt.Errorf("converter: a JSON %T for a map", v)
		}
		return out, nil
	case data.TypeStruct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("converter: a JSON %T for a struct", v)
		}
		st := data.NewStructValue(s)
		for _, f := range s.Fields {
			x, err := c.toValue(f.Schema, m[f.Name])
			if err != nil {
				return nil, fmt.Errorf("%w (field %q)", err, f.Name)
			}
			if err := st.Put(f.Name, x); err != nil {
				return nil, err
			}
		}
		return st, nil
	}
	return nil, fmt.Errorf("converter: schema type %v", s.Type)
}

func comparable(v any) bool {
	switch v.(type) {
	case []byte, []any, map[any]any:
		return false
	}
	return true
}
