package transform

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/connect"
	"github.com/sluicehq/sluice/internal/connect/data"
)

// cast is Kafka's Cast: the whole key/value ("type") or fields ("field:type,...") to int8..int64,
// float32, float64, boolean or string.
type cast struct {
	key    bool
	whole  data.Type
	fields map[string]data.Type
}

func (t *cast) Configure(cfg map[string]string) error {
	spec := connect.SplitList(cfg["spec"])
	if len(spec) == 0 {
		return fmt.Errorf("spec: give a type, or field:type pairs")
	}
	t.fields = map[string]data.Type{}
	for _, s := range spec {
		field, typ, hasField := strings.Cut(s, ":")
		if !hasField {
			typ, field = field, ""
		}
		dt, ok := data.ParseType(strings.TrimSpace(typ))
		if !ok || !(dt.Primitive() && dt != data.TypeBytes) {
			return fmt.Errorf("spec %q: cast to int8, int16, int32, int64, float32, float64, boolean or string", s)
		}
		if !hasField {
			if len(spec) > 1 {
				return fmt.Errorf("spec: a whole-value cast takes one type")
			}
			t.whole = dt
		} else {
			t.fields[strings.TrimSpace(field)] = dt
		}
	}
	return nil
}

// castValue converts a primitive value to type to.
func castValue(v any, to data.Type) (any, error) {
	if v == nil {
		return nil, nil
	}
	var f float64
	var isNum, isInt bool
	var i int64
	switch x := v.(type) {
	case int8:
		i, isNum, isInt = int64(x), true, true
	case int16:
		i, isNum, isInt = int64(x), true, true
	case int32:
		i, isNum, isInt = int64(x), true, true
	case int64:
		i, isNum, isInt = x, true, true
	case float32:
		f, isNum = float64(x), true
	case float64:
		f, isNum = x, true
	case bool:
		if x {
			i = 1
		}
		isNum, isInt = true, true
	case string:
		switch to {
		case data.TypeString:
			return x, nil
		case data.TypeBoolean:
			return strconv.ParseBool(x)
		case data.TypeFloat32, data.TypeFloat64:
			g, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return nil, err
			}
			f, isNum = g, true
		default:
			n, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				return nil, err
			}
			i, isNum, isInt = n, true, true
		}
	default:
		return nil, fmt.Errorf("Cast cannot convert a %T", v)
	}
	if !isNum {
		return nil, fmt.Errorf("Cast cannot convert %v", v)
	}
	if isInt {
		f = float64(i)
	} else {
		i = int64(math.Trunc(f))
	}
	switch to {
	case data.TypeInt8:
		return int8(i), nil
	case data.TypeInt16:
		return int16(i), nil
	case data.TypeInt32:
		return int32(i), nil
	case data.TypeInt64:
		return i, nil
	case data.TypeFloat32:
		return float32(f), nil
	case data.TypeFloat64:
		return f, nil
	case data.TypeBoolean:
		return f != 0, nil
	case data.TypeString:
		if isInt {
			return strconv.FormatInt(i, 10), nil
		}
		if _, ok := v.(float32); ok {
			return strconv.FormatFloat(f, 'g', -1, 32), nil
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	}
	return nil, fmt.Errorf("Cast to %v", to)
}

func schemaOf(t data.Type, optional bool) *data.Schema {
	s := &data.Schema{Type: t}
	if optional {
		return s.AsOptional()
	}
	return s
}

func (t *cast) Apply(r *connect.Record) (*connect.Record, error) {
	s, v, set := side(r, t.key)
	if v == nil {
		return r, nil
	}
	if t.whole != 0 {
		nv, err := castValue(v, t.whole)
		if err != nil {
			return nil, err
		}
		var ns *data.Schema
		if s != nil {
			ns = schemaOf(t.whole, s.Optional)
		}
		set(ns, nv)
		return r, nil
	}
	switch v := v.(type) {
	case map[any]any:
		for k, x := range v {
			if name, ok := k.(string); ok {
				if to, ok := t.fields[name]; ok {
					nv, err := castValue(x, to)
					if err != nil {
						return nil, fmt.Errorf("field %q: %w", name, err)
					}
					v[k] = nv
				}
			}
		}
		return r, nil
	case *data.Struct:
		fields := make([]data.Field, len(s.Fields))
		vals := map[string]any{}
		for i, f := range s.Fields {
			fields[i], vals[f.Name] = f, v.GetAt(i)
			if to, ok := t.fields[f.Name]; ok {
				nv, err := castValue(v.GetAt(i), to)
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", f.Name, err)
				}
				fields[i] = data.F(f.Name, schemaOf(to, f.Schema.Optional))
				vals[f.Name] = nv
			}
		}
		ns, st, err := rebuild(s, fields, vals)
		if err != nil {
			return nil, err
		}
		set(ns, st)
		return r, nil
	}
	return nil, fmt.Errorf("Cast of fields works on structs and maps, not %T", v)
}
