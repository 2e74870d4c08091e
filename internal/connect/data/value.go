package data

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"time"
)

// Struct is a value of a struct schema: one value per field.
type Struct struct {
	schema *Schema
	values []any
}

// NewStructValue is an empty value of schema s (a struct schema).
func NewStructValue(s *Schema) *Struct {
	if s == nil || s.Type != TypeStruct {
		panic(fmt.Sprintf("data: NewStructValue of a %v schema", s))
	}
	return &Struct{schema: s, values: make([]any, len(s.Fields))}
}

// Schema is the struct's schema.
func (st *Struct) Schema() *Schema { return st.schema }

// Put sets field name; it returns st so calls chain. The value is checked against the field's
// schema (an error names the field).
func (st *Struct) Put(name string, v any) error {
	f, ok := st.schema.Field(name)
	if !ok {
		return fmt.Errorf("data: %s has no field %q", st.schema, name)
	}
	if err := Validate(f.Schema, v); err != nil {
		return fmt.Errorf("data: field %q: %w", name, err)
	}
	st.values[f.Index] = v
	return nil
}

// Set is Put that panics on error, for values built in code.
func (st *Struct) Set(name string, v any) *Struct {
	if err := st.Put(name, v); err != nil {
		panic(err)
	}
	return st
}

// Get returns field name's value, or its schema's default when it was not set.
func (st *Struct) Get(name string) any {
	f, ok := st.schema.Field(name)
	if !ok {
		return nil
	}
	if v := st.values[f.Index]; v != nil {
		return v
	}
	return f.Schema.Default
}

// GetAt returns the value of the i-th field (no default applied).
func (st *Struct) GetAt(i int) any { return st.values[i] }

// Validate checks the struct against its schema: every required field is set.
func (st *Struct) Validate() error { return Validate(st.schema, st) }

func (st *Struct) String() string {
	var b bytes.Buffer
	b.WriteString("Struct{")
	first := true
	for i, f := range st.schema.Fields {
		if st.values[i] == nil {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&b, "%s=%v", f.Name, st.values[i])
	}
	b.WriteByte('}')
	return b.String()
}

// Decimal is the value of the logical type Decimal: Unscaled × 10^-Scale.
type Decimal struct {
	Unscaled *big.Int
	Scale    int32
}

// String prints the decimal in plain notation ("-12.50").
func (d Decimal) String() string {
	if d.Unscaled == nil {
		return "0"
	}
	s := new(big.Int).Abs(d.Unscaled).String()
	neg := d.Unscaled.Sign() < 0
	if d.Scale > 0 {
		for len(s) <= int(d.Scale) {
			s = "0" + s
		}
		s = s[:len(s)-int(d.Scale)] + "." + s[len(s)-int(d.Scale):]
	} else if d.Scale < 0 {
		s += string(bytes.Repeat([]byte{'0'}, int(-d.Scale)))
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Logical type names (Kafka Connect's).
const (
	DecimalName   = "org.apache.kafka.connect.data.Decimal"
	DateName      = "org.apache.kafka.connect.data.Date"
	TimeName      = "org.apache.kafka.connect.data.Time"
	TimestampName = "org.apache.kafka.connect.data.Timestamp"
	// MaxDecimalScale bounds the scale of a Decimal schema read from bytes (10^scale is
	// computed, so an unbounded scale would be a way to make a reader spend unbounded time).
	MaxDecimalScale = 1000
	// DecimalScaleParameter is the Decimal schema parameter that holds the scale.
	DecimalScaleParameter = "scale"
)

// DecimalSchema is the schema of decimals with scale.
func DecimalSchema(scale int32) *Schema {
	return (&Schema{Type: TypeBytes, Name: DecimalName, Version: 1}).WithParameter(DecimalScaleParameter, strconv.Itoa(int(scale)))
}

// Logical schemas of dates (INT32 days), times of day (INT32 ms) and timestamps (INT64 ms).
var (
	DateSchema      = &Schema{Type: TypeInt32, Name: DateName, Version: 1}
	TimeSchema      = &Schema{Type: TypeInt32, Name: TimeName, Version: 1}
	TimestampSchema = &Schema{Type: TypeInt64, Name: TimestampName, Version: 1}
)

// DecimalScale is the scale parameter of a Decimal schema.
func DecimalScale(s *Schema) (int32, error) {
	v, ok := s.Parameters[DecimalScaleParameter]
	if !ok {
		return 0, errors.New("data: a Decimal schema without a scale parameter")
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("data: Decimal scale %q: %w", v, err)
	}
	if n > MaxDecimalScale || n < -MaxDecimalScale {
		return 0, fmt.Errorf("data: Decimal scale %d is beyond ±%d", n, MaxDecimalScale)
	}
	return int32(n), nil
}

// DecimalBytes is the BYTES form of a decimal: the unscaled value, big-endian two's complement
// (as Java's BigInteger.toByteArray, which Kafka Connect uses).
func DecimalBytes(d Decimal) []byte {
	u := d.Unscaled
	if u == nil || u.Sign() == 0 {
		return []byte{0}
	}
	if u.Sign() > 0 {
		b := u.Bytes()
		if b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	// Negative: two's complement of |u| in the fewest bytes.
	n := (u.BitLen()+8)/8 + 1
	mod := new(big.Int).Lsh(big.NewInt(1), uint(n*8))
	b := new(big.Int).Add(mod, u).Bytes()
	for len(b) < n {
		b = append([]byte{0xff}, b...)
	}
	for len(b) > 1 && b[0] == 0xff && b[1]&0x80 != 0 {
		b = b[1:]
	}
	return b
}

// DecimalFromBytes reads DecimalBytes' form.
func DecimalFromBytes(b []byte, scale int32) (Decimal, error) {
	if len(b) == 0 {
		return Decimal{}, errors.New("data: an empty Decimal")
	}
	u := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		u.Sub(u, new(big.Int).Lsh(big.NewInt(1), uint(len(b)*8)))
	}
	return Decimal{Unscaled: u, Scale: scale}, nil
}

// Validate checks that v is a value of s.
func Validate(s *Schema, v any) error {
	if s == nil {
		return nil // schemaless
	}
	if v == nil {
		if s.Optional || s.Default != nil {
			return nil
		}
		return fmt.Errorf("a null value for a required %v", s)
	}
	switch s.Name {
	case DecimalName:
		if _, ok := v.(Decimal); ok {
			return nil
		}
		return mismatch(s, v)
	case DateName, TimeName, TimestampName:
		if _, ok := v.(time.Time); ok {
			return nil
		}
		return mismatch(s, v)
	}
	ok := false
	switch s.Type {
	case TypeInt8:
		_, ok = v.(int8)
	case TypeInt16:
		_, ok = v.(int16)
	case TypeInt32:
		_, ok = v.(int32)
	case TypeInt64:
		_, ok = v.(int64)
	case TypeFloat32:
		_, ok = v.(float32)
	case TypeFloat64:
		_, ok = v.(float64)
	case TypeBoolean:
		_, ok = v.(bool)
	case TypeString:
		_, ok = v.(string)
	case TypeBytes:
		_, ok = v.([]byte)
	case TypeArray:
		var items []any
		if items, ok = v.([]any); ok {
			for i, it := range items {
				if err := Validate(s.Value, it); err != nil {
					return fmt.Errorf("item %d: %w", i, err)
				}
			}
		}
	case TypeMap:
		var m map[any]any
		if m, ok = v.(map[any]any); ok {
			for k, val := range m {
				if err := Validate(s.Key, k); err != nil {
					return fmt.Errorf("map key: %w", err)
				}
				if err := Validate(s.Value, val); err != nil {
					return fmt.Errorf("map value of %v: %w", k, err)
				}
			}
		}
	case TypeStruct:
		var st *Struct
		if st, ok = v.(*Struct); ok {
			if !st.schema.Equal(s) {
				return fmt.Errorf("a struct of schema %v for schema %v", st.schema, s)
			}
			for i, f := range s.Fields {
				if err := Validate(f.Schema, st.values[i]); err != nil {
					return fmt.Errorf("field %q: %w", f.Name, err)
				}
			}
		}
	}
	if !ok {
		return mismatch(s, v)
	}
	return nil
}

func mismatch(s *Schema, v any) error {
	return fmt.Errorf("a %T for a %v", v, s)
}

// EqualValues compares two values deeply (structs by schema and fields, bytes by content,
// decimals by value and scale, times by instant).
func EqualValues(a, b any) bool {
	switch a := a.(type) {
	case *Struct:
		b, ok := b.(*Struct)
		if !ok || !a.schema.Equal(b.schema) {
			return false
		}
		for i := range a.values {
			if !EqualValues(a.values[i], b.values[i]) {
				return false
			}
		}
		return true
	case []byte:
		b, ok := b.([]byte)
		return ok && bytes.Equal(a, b)
	case Decimal:
		b, ok := b.(Decimal)
		return ok && a.Scale == b.Scale && a.Unscaled.Cmp(b.Unscaled) == 0
	case time.Time:
		b, ok := b.(time.Time)
		return ok && a.Equal(b)
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !EqualValues(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[any]any:
		b, ok := b.(map[any]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !EqualValues(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
