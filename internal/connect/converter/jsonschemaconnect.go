package converter

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/connect/data"
)

// Reading JSON Schemas and documents into Connect data (JsonSchemaConverter.ToConnect).

// orderedObject is a JSON object with its keys in the order written (JSON Schema properties
// without connect.index are fields in that order).
type orderedObject struct {
	keys []string
	vals map[string]any
}

// parseOrdered parses JSON with numbers as json.Number and objects as *orderedObject.
func parseOrdered(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := parseOrderedValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

func parseOrderedValue(dec *json.Decoder, depth int) (any, error) {
	if depth > 2*maxAvroDepth {
		return nil, errors.New("JSON nested too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := &orderedObject{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := parseOrderedValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				if _, dup := obj.vals[k]; !dup {
					obj.keys = append(obj.keys, k)
				}
				obj.vals[k] = v
			}
			_, err := dec.Token()
			return obj, err
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := parseOrderedValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	}
	return tok, nil
}

// plainJSON turns *orderedObject values back into map[string]any (for defaults).
func plainJSON(v any) any {
	switch x := v.(type) {
	case *orderedObject:
		m := make(map[string]any, len(x.vals))
		for k, e := range x.vals {
			m[k] = plainJSON(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainJSON(e)
		}
		return out
	}
	return v
}

// jsonToConnect derives Connect schemas from JSON Schemas (JsonSchemaData.toConnectSchema).
type jsonToConnect struct {
	root           any
	optionalNonReq bool // use.optional.for.nonrequired: properties not "required" are optional
	depth          int
}

func (c *jsonToConnect) resolveRef(ref string) (any, error) {
	if !strings.HasPrefix(ref, "#") {
		return nil, fmt.Errorf("converter: the $ref %q is not local to the schema", ref)
	}
	cur := c.root
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#"), "/") {
		if part == "" {
			continue
		}
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		obj, ok := cur.(*orderedObject)
		if !ok {
			return nil, fmt.Errorf("converter: the $ref %q does not resolve", ref)
		}
		if cur, ok = obj.vals[part]; !ok {
			return nil, fmt.Errorf("converter: the $ref %q does not resolve", ref)
		}
	}
	return cur, nil
}

func (c *jsonToConnect) schema(doc any, version int, forceOptional bool) (*data.Schema, error) {
	if c.depth++; c.depth > maxAvroDepth {
		return nil, fmt.Errorf("converter: a JSON schema nested deeper than %d (or a recursive $ref)", maxAvroDepth)
	}
	defer func() { c.depth-- }()
	obj, ok := doc.(*orderedObject)
	if !ok {
		return nil, fmt.Errorf("converter: unsupported JSON schema %v", plainJSON(doc))
	}
	if ref, ok := obj.vals["$ref"].(string); ok {
		target, err := c.resolveRef(ref)
		if err != nil {
			return nil, err
		}
		return c.schema(target, version, forceOptional)
	}
	if s, handled, err := c.combined(obj, version, forceOptional); handled {
		return s, err
	}
	connectType, _ := obj.vals[connectTypeProp].(string)
	s := &data.Schema{}
	var err error
	typ := obj.vals["type"]
	typeName, _ := typ.(string)
	if typeName == "" {
		switch {
		case obj.vals["enum"] != nil:
			typeName = "string"
		case obj.vals["properties"] != nil || obj.vals["additionalProperties"] != nil:
			typeName = "object"
		case obj.vals["items"] != nil:
			typeName = "array"
		}
	}
	switch typeName {
	case "boolean":
		s.Type = data.TypeBoolean
	case "integer", "number":
		if s.Type, err = numberType(typeName, connectType); err != nil {
			return nil, err
		}
	case "string":
		s.Type = data.TypeString
		if connectType == "bytes" {
			s.Type = data.TypeBytes
		}
		if syms, ok := obj.vals["enum"].([]any); ok {
			s.Parameters = map[string]string{jsonEnumParam: ""}
			for _, sym := range syms {
				str := fmt.Sprint(sym)
				s.Parameters[jsonEnumParam+"."+str] = str
			}
		}
	case "array":
		if s, err = c.array(obj, connectType); err != nil {
			return nil, err
		}
	case "object":
		if connectType == "map" {
			s.Type, s.Key = data.TypeMap, data.StringSchema
			if s.Value, err = c.schema(obj.vals["additionalProperties"], 0, false); err != nil {
				return nil, fmt.Errorf("%w (a map's additionalProperties)", err)
			}
			break
		}
		if s, err = c.object(obj); err != nil {
			return nil, err
		}
	case "null":
		return nil, errors.New("converter: standalone null schemas are not supported")
	default:
		return nil, fmt.Errorf("converter: unsupported JSON schema type %q", typeName)
	}
	return c.finish(obj, s, version, forceOptional)
}

// numberType is the Connect type of an "integer" or "number" with connect.type.
func numberType(typeName, connectType string) (data.Type, error) {
	switch connectType {
	case "":
		if typeName == "integer" {
			return data.TypeInt64, nil
		}
		return data.TypeFloat64, nil
	case "bytes":
		return data.TypeBytes, nil // a Decimal
	}
	t, ok := data.ParseType(connectType)
	if !ok || !t.Primitive() || t == data.TypeString || t == data.TypeBoolean {
		return 0, fmt.Errorf("converter: unsupported connect.type %q on a number", connectType)
	}
	return t, nil
}

// array derives an array, or with connect.type map, a map from an array of key/value objects.
func (c *jsonToConnect) array(obj *orderedObject, connectType string) (*data.Schema, error) {
	items := obj.vals["items"]
	if items == nil {
		return nil, errors.New("converter: array schema did not specify the items type")
	}
	var err error
	if itemsObj, ok := items.(*orderedObject); ok && connectType == "map" {
		props, _ := itemsObj.vals["properties"].(*orderedObject)
		if props == nil || props.vals["key"] == nil || props.vals["value"] == nil {
			return nil, errors.New("converter: a map's entries need key and value properties")
		}
		s := &data.Schema{Type: data.TypeMap}
		if s.Key, err = c.schema(props.vals["key"], 0, false); err != nil {
			return nil, err
		}
		if s.Value, err = c.schema(props.vals["value"], 0, false); err != nil {
			return nil, err
		}
		return s, nil
	}
	s := &data.Schema{Type: data.TypeArray}
	if s.Value, err = c.schema(items, 0, false); err != nil {
		return nil, err
	}
	return s, nil
}

// combined derives the schema of a type list, oneOf, anyOf or (single) allOf; handled is
// false for other schemas.
func (c *jsonToConnect) combined(obj *orderedObject, version int, forceOptional bool) (*data.Schema, bool, error) {
	if types, ok := obj.vals["type"].([]any); ok {
		// "type": [..] is anyOf the types.
		var members []any
		for _, t := range types {
			m := &orderedObject{vals: map[string]any{}}
			for _, k := range obj.keys {
				m.keys = append(m.keys, k)
				m.vals[k] = obj.vals[k]
			}
			m.vals["type"] = t
			members = append(members, m)
		}
		s, err := c.oneOf(obj, members, version, forceOptional)
		return s, true, err
	}
	for _, kw := range []string{"oneOf", "anyOf"} {
		if members, ok := obj.vals[kw].([]any); ok {
			s, err := c.oneOf(obj, members, version, forceOptional)
			return s, true, err
		}
	}
	if members, ok := obj.vals["allOf"].([]any); ok {
		if len(members) != 1 {
			return nil, true, errors.New("converter: allOf of more than one schema is not supported")
		}
		s, err := c.schema(members[0], version, forceOptional)
		return s, true, err
	}
	return nil, false, nil
}

// object derives a struct: properties ordered by connect.index, else as written.
func (c *jsonToConnect) object(obj *orderedObject) (*data.Schema, error) {
	type prop struct {
		name  string
		doc   any
		index int
	}
	var props []prop
	if p, ok := obj.vals["properties"].(*orderedObject); ok {
		for i, k := range p.keys {
			idx := i
			if po, ok := p.vals[k].(*orderedObject); ok {
				if n, ok := po.vals[jsonConnectIndex].(json.Number); ok {
					if x, err := strconv.Atoi(string(n)); err == nil {
						idx = x
					}
				}
			}
			props = append(props, prop{k, p.vals[k], idx})
		}
	}
	sort.SliceStable(props, func(i, j int) bool { return props[i].index < props[j].index })
	required := map[string]bool{}
	if req, ok := obj.vals["required"].([]any); ok {
		for _, r := range req {
			if name, ok := r.(string); ok {
				required[name] = true
			}
		}
	}
	var fields []data.Field
	for _, p := range props {
		fs, err := c.schema(p.doc, 0, c.optionalNonReq && !required[p.name])
		if err != nil {
			return nil, fmt.Errorf("%w (property %s)", err, p.name)
		}
		fields = append(fields, data.F(p.name, fs))
	}
	return data.NewStruct("", fields...)
}

func (c *jsonToConnect) oneOf(obj *orderedObject, members []any, version int, forceOptional bool) (*data.Schema, error) {
	isNull := func(m any) bool {
		o, ok := m.(*orderedObject)
		return ok && o.vals["type"] == "null"
	}
	if len(members) == 2 && isNull(members[0]) != isNull(members[1]) {
		other := members[0]
		if isNull(other) {
			other = members[1]
		}
		return c.schema(other, version, true)
	}
	var fields []data.Field
	optional := false
	index := 0
	for _, m := range members {
		if isNull(m) {
			optional = true
			continue
		}
		fs, err := c.schema(m, 0, true)
		if err != nil {
			return nil, err
		}
		fields = append(fields, data.F(jsonOneOfName+".field."+strconv.Itoa(index), fs))
		index++
	}
	s, err := data.NewStruct(jsonOneOfName, fields...)
	if err != nil {
		return nil, err
	}
	s.Optional = optional
	return c.finish(obj, s, version, forceOptional)
}

// finish applies title, connect.version (else version), description, connect.parameters and
// default.
func (c *jsonToConnect) finish(obj *orderedObject, s *data.Schema, version int, forceOptional bool) (*data.Schema, error) {
	if title, ok := obj.vals["title"].(string); ok && s.Name != jsonOneOfName {
		s.Name = title
	}
	if n, ok := obj.vals[connectVersionProp].(json.Number); ok {
		v, err := strconv.ParseInt(string(n), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("converter: connect.version %s: %w", n, err)
		}
		s.Version = int32(v)
	} else if version > 0 {
		s.Version = int32(version)
	}
	if d, ok := obj.vals["description"].(string); ok {
		s.Doc = d
	}
	if p, ok := obj.vals[connectParametersProp].(*orderedObject); ok {
		for _, k := range p.keys {
			str, ok := p.vals[k].(string)
			if !ok {
				return nil, fmt.Errorf("converter: the connect.parameters value of %q is not a string", k)
			}
			if s.Parameters == nil {
				s.Parameters = map[string]string{}
			}
			s.Parameters[k] = str
		}
	}
	if s.Name == data.DecimalName {
		if _, err := data.DecimalScale(s); err != nil {
			return nil, err
		}
	}
	if d, ok := obj.vals["default"]; ok && d != nil {
		v, err := jsonSchemaValue(s, plainJSON(d), 0)
		if err != nil {
			return nil, fmt.Errorf("converter: the schema's default: %w", err)
		}
		s.Default = v
	}
	if forceOptional {
		s.Optional = true
	}
	return s, nil
}

// jsonSchemaValue converts a parsed JSON value (json.Number numbers) to a value of s
// (JsonSchemaData.toConnectData).
func jsonSchemaValue(s *data.Schema, v any, depth int) (any, error) {
	if depth > 2*maxAvroDepth {
		return nil, errors.New("converter: JSON nested too deep")
	}
	if o, ok := v.(*orderedObject); ok {
		v = plainJSON(o)
	}
	if v == nil {
		switch {
		case s.Default != nil:
			return s.Default, nil
		case s.Optional:
			return nil, nil
		}
		return nil, fmt.Errorf("converter: invalid null value for required %v field", s)
	}
	if s.Name == data.DecimalName || s.Name == data.DateName || s.Name == data.TimeName || s.Name == data.TimestampName {
		return jsonLogicalValue(s, v)
	}
	switch s.Type {
	case data.TypeMap:
		return jsonMapValue(s, v, depth)
	case data.TypeArray:
		arr, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("converter: a JSON %T for an array", v)
		}
		out := make([]any, len(arr))
		for i, it := range arr {
			var err error
			if out[i], err = jsonSchemaValue(s.Value, it, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case data.TypeStruct:
		return jsonStructValue(s, v, depth)
	case data.TypeBytes:
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("converter: a JSON %T for bytes (base64)", v)
		}
		raw, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			return nil, fmt.Errorf("converter: invalid bytes field: %w", err)
		}
		return raw, nil
	}
	return (&JSON{}).toValue(nonOptional(s), v)
}

// jsonLogicalValue reads a Decimal (a number or base64), Date, Time or Timestamp.
func jsonLogicalValue(s *data.Schema, v any) (any, error) {
	switch s.Name {
	case data.DecimalName:
		scale, err := data.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case json.Number:
			return decimalFromNumber(string(x), scale)
		case string:
			raw, err := base64.StdEncoding.DecodeString(x)
			if err != nil {
				return nil, fmt.Errorf("converter: invalid bytes for Decimal field: %w", err)
			}
			return data.DecimalFromBytes(raw, scale)
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
		if s.Name == data.DateName {
			if i > 1<<40 || i < -(1<<40) {
				return nil, fmt.Errorf("converter: the Date %d is out of range", i)
			}
			return time.UnixMilli(i * msPerDay).UTC(), nil
		}
		return time.UnixMilli(i).UTC(), nil
	}
	return nil, fmt.Errorf("converter: %s is not a logical type", s.Name)
}

// jsonMapValue reads a map: an object for required string keys, else [{"key", "value"}, ...].
func jsonMapValue(s *data.Schema, v any, depth int) (any, error) {
	out := map[any]any{}
	if s.Key.Type == data.TypeString && !s.Key.Optional {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("converter: maps with string fields should be encoded as JSON objects, but found %T", v)
		}
		for k, x := range m {
			cv, err := jsonSchemaValue(s.Value, x, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = cv
		}
		return out, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("converter: maps with non-string fields should be encoded as JSON array of objects, but found %T", v)
	}
	for _, e := range arr {
		entry, ok := e.(map[string]any)
		if !ok || len(entry) != 2 {
			return nil, fmt.Errorf("converter: found invalid map entry %v", e)
		}
		k, err := jsonSchemaValue(s.Key, entry["key"], depth+1)
		if err != nil {
			return nil, err
		}
		if !comparable(k) || k == nil {
			return nil, fmt.Errorf("converter: a map key of schema %v cannot be a Go map key", s.Key)
		}
		x, err := jsonSchemaValue(s.Value, entry["value"], depth+1)
		if err != nil {
			return nil, err
		}
		out[k] = x
	}
	return out, nil
}

// jsonStructValue reads a struct (an object) or a OneOf (the first member the value fits).
func jsonStructValue(s *data.Schema, v any, depth int) (any, error) {
	st := data.NewStructValue(s)
	if s.Name == jsonOneOfName {
		for _, f := range s.Fields {
			if !jsonFits(f.Schema, v) {
				continue
			}
			x, err := jsonSchemaValue(f.Schema, v, depth+1)
			if err != nil {
				return nil, err
			}
			return st, st.Put(f.Name, x)
		}
		return nil, fmt.Errorf("converter: did not find matching oneof field for data: %v", v)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("converter: structs should be encoded as JSON objects, but found %T", v)
	}
	for _, f := range s.Fields {
		x, err := jsonSchemaValue(f.Schema, m[f.Name], depth+1)
		if err != nil {
			return nil, fmt.Errorf("%w (field %q)", err, f.Name)
		}
		if err := st.Put(f.Name, x); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// jsonFits is JsonSchemaData's isInstanceOfSchemaTypeForSimpleSchema: whether a JSON value
// can be read as a member of a oneOf.
func jsonFits(s *data.Schema, v any) bool {
	switch s.Type {
	case data.TypeInt8, data.TypeInt16, data.TypeInt32, data.TypeInt64:
		n, ok := v.(json.Number)
		return ok && !strings.ContainsAny(string(n), ".eE")
	case data.TypeFloat32, data.TypeFloat64:
		_, ok := v.(json.Number)
		return ok
	case data.TypeBoolean:
		_, ok := v.(bool)
		return ok
	case data.TypeString:
		_, ok := v.(string)
		return ok
	case data.TypeBytes:
		_, isStr := v.(string)
		_, isNum := v.(json.Number)
		return isStr || isNum && s.Name == data.DecimalName
	case data.TypeArray:
		_, ok := v.([]any)
		return ok
	case data.TypeMap:
		_, isObj := v.(map[string]any)
		_, isArr := v.([]any)
		return isObj || isArr
	case data.TypeStruct:
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		for k := range m {
			if _, known := s.Field(k); !known {
				return false
			}
		}
		return true
	}
	return false
}

// decimalFromNumber reads a JSON number as a decimal of scale (more decimals are an error).
func decimalFromNumber(n string, scale int32) (data.Decimal, error) {
	if len(n) > 2*data.MaxDecimalScale || strings.ContainsAny(n, "eE") {
		return data.Decimal{}, fmt.Errorf("converter: the Decimal %.40s… is too long or has an exponent", n)
	}
	r, ok := new(big.Rat).SetString(n)
	if !ok {
		return data.Decimal{}, fmt.Errorf("converter: the Decimal %s", n)
	}
	pow := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(max(scale, -scale))), nil))
	if scale >= 0 {
		r.Mul(r, pow)
	} else {
		r.Quo(r, pow)
	}
	if !r.IsInt() {
		return data.Decimal{}, fmt.Errorf("converter: the Decimal %s has more than %d decimals", n, scale)
	}
	return data.Decimal{Unscaled: new(big.Int).Set(r.Num()), Scale: scale}, nil
}
