package converter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/internal/connect/data"
)

// Avro binary encoding of Connect values, driven by the Avro schema the bytes are written
// with (the one derived from the Connect schema, or the subject's latest version) and read
// back into Connect values of the schema avroToConnect derives. The layout is Avro's:
// int and long zig-zag varints, float and double little-endian IEEE 754, bytes and string a
// long length then the bytes, a record its fields in order, an enum its symbol's index, a
// union the member's index then the value, arrays and maps blocks of a long count then the
// items (map keys strings), ended by a 0 count.

// errAvroShort is the error for bytes that end inside a value.
var errAvroShort = errors.New("converter: Avro data ends inside a value")

// avroEncode appends v (of Connect schema s) in the layout of a.
func avroEncode(b []byte, a avro.Schema, s *data.Schema, v any) ([]byte, error) {
	a = deref(a)
	if u, ok := a.(*avro.UnionSchema); ok {
		return avroEncodeUnion(b, u, s, v)
	}
	if v == nil && s != nil && s.Default != nil {
		v = s.Default
	}
	if v == nil {
		if a.Type() == avro.Null {
			return b, nil
		}
		return nil, fmt.Errorf("converter: a null value for the required %v", s)
	}
	switch a.Type() {
	case avro.Bytes, avro.Fixed:
		return avroEncodeBytes(b, a, v)
	case avro.Array:
		return avroEncodeArray(b, a.(*avro.ArraySchema), s, v)
	case avro.Map:
		return avroEncodeMap(b, a.(*avro.MapSchema), s, v)
	case avro.Record:
		return avroEncodeRecord(b, a.(*avro.RecordSchema), v)
	}
	return avroEncodePrimitive(b, a, v)
}

// avroEncodePrimitive appends a boolean, int, long, float, double, string or enum.
func avroEncodePrimitive(b []byte, a avro.Schema, v any) ([]byte, error) {
	switch a.Type() {
	case avro.Boolean:
		x, ok := v.(bool)
		if !ok {
			return nil, mismatchAvro(a, v)
		}
		if x {
			return append(b, 1), nil
		}
		return append(b, 0), nil
	case avro.Int, avro.Long:
		n, err := avroIntOf(a, v)
		if err != nil {
			return nil, err
		}
		if a.Type() == avro.Int && (n < math.MinInt32 || n > math.MaxInt32) {
			return nil, fmt.Errorf("converter: %d does not fit an Avro int", n)
		}
		return binary.AppendVarint(b, n), nil
	case avro.Float:
		x, ok := v.(float32)
		if !ok {
			return nil, mismatchAvro(a, v)
		}
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(x)), nil
	case avro.Double:
		switch f := v.(type) {
		case float64:
			return binary.LittleEndian.AppendUint64(b, math.Float64bits(f)), nil
		case float32:
			return binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(f))), nil
		}
		return nil, mismatchAvro(a, v)
	case avro.String:
		x, ok := v.(string)
		if !ok {
			return nil, mismatchAvro(a, v)
		}
		b = binary.AppendVarint(b, int64(len(x)))
		return append(b, x...), nil
	case avro.Enum:
		x, ok := v.(string)
		if !ok {
			return nil, mismatchAvro(a, v)
		}
		for i, sym := range a.(*avro.EnumSchema).Symbols() {
			if sym == x {
				return binary.AppendVarint(b, int64(i)), nil
			}
		}
		return nil, fmt.Errorf("converter: %q is not a symbol of the Avro enum %s", x, a.(*avro.EnumSchema).FullName())
	}
	return nil, fmt.Errorf("converter: cannot write a %T as Avro %s", v, a.Type())
}

// avroEncodeMap appends a map with string keys, in key order.
func avroEncodeMap(b []byte, a *avro.MapSchema, s *data.Schema, v any) ([]byte, error) {
	m, ok := v.(map[any]any)
	if !ok {
		return nil, mismatchAvro(a, v)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("converter: a %T key for an Avro map", k)
		}
		keys = append(keys, ks)
	}
	sort.Strings(keys)
	var vs *data.Schema
	if s != nil {
		vs = s.Value
	}
	if len(keys) > 0 {
		b = binary.AppendVarint(b, int64(len(keys)))
	}
	for _, k := range keys {
		b = binary.AppendVarint(b, int64(len(k)))
		b = append(b, k...)
		var err error
		if b, err = avroEncode(b, a.Values(), vs, m[k]); err != nil {
			return nil, err
		}
	}
	return append(b, 0), nil
}

// avroEncodeRecord appends a struct's fields in the record's order, matched by name.
func avroEncodeRecord(b []byte, a *avro.RecordSchema, v any) ([]byte, error) {
	st, ok := v.(*data.Struct)
	if !ok {
		return nil, mismatchAvro(a, v)
	}
	for _, f := range a.Fields() {
		cf, ok := st.Schema().Field(f.Name())
		if !ok {
			return nil, fmt.Errorf("converter: the Avro field %s is not in the record's schema %v", f.Name(), st.Schema())
		}
		var err error
		if b, err = avroEncode(b, f.Type(), cf.Schema, st.Get(f.Name())); err != nil {
			return nil, fmt.Errorf("%w (field %s)", err, f.Name())
		}
	}
	return b, nil
}

func mismatchAvro(a avro.Schema, v any) error {
	return fmt.Errorf("converter: a %T for an Avro %s", v, a.Type())
}

// avroIntOf is the integer an Avro int or long holds for v (logical types by a's).
func avroIntOf(a avro.Schema, v any) (int64, error) {
	switch x := v.(type) {
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		if a.Type() == avro.Int {
			return 0, mismatchAvro(a, v)
		}
		return x, nil
	case time.Time:
		l := logicalOf(a)
		if l == nil {
			return 0, fmt.Errorf("converter: a time for an Avro %s without a logical type", a.Type())
		}
		switch l.Type() {
		case avro.Date:
			return logicalTime(data.DateName, x), nil
		case avro.TimeMillis:
			return logicalTime(data.TimeName, x), nil
		case avro.TimeMicros:
			return logicalTime(data.TimeName, x)*1000 + int64(x.Nanosecond()/1000%1000), nil
		case avro.TimestampMillis, avro.LocalTimestampMillis:
			return x.UnixMilli(), nil
		case avro.TimestampMicros, avro.LocalTimestampMicros:
			return x.UnixMicro(), nil
		}
		return 0, fmt.Errorf("converter: a time for the Avro logical type %s", l.Type())
	}
	return 0, mismatchAvro(a, v)
}

func avroEncodeBytes(b []byte, a avro.Schema, v any) ([]byte, error) {
	var raw []byte
	switch x := v.(type) {
	case []byte:
		raw = x
	case data.Decimal:
		dec, ok := logicalOf(a).(*avro.DecimalLogicalSchema)
		if !ok {
			return nil, fmt.Errorf("converter: a Decimal for an Avro %s without the decimal logical type", a.Type())
		}
		if int(x.Scale) != dec.Scale() {
			return nil, fmt.Errorf("converter: a Decimal of scale %d for an Avro decimal of scale %d", x.Scale, dec.Scale())
		}
		if f, ok := a.(*avro.FixedSchema); ok {
			var err error
			if raw, err = decimalFixed(x, f.Size()); err != nil {
				return nil, err
			}
		} else {
			raw = data.DecimalBytes(x)
		}
	default:
		return nil, mismatchAvro(a, v)
	}
	if f, ok := a.(*avro.FixedSchema); ok {
		if len(raw) != f.Size() {
			return nil, fmt.Errorf("converter: %d bytes for the Avro fixed %s of %d", len(raw), f.FullName(), f.Size())
		}
		return append(b, raw...), nil
	}
	b = binary.AppendVarint(b, int64(len(raw)))
	return append(b, raw...), nil
}

func avroEncodeArray(b []byte, a *avro.ArraySchema, s *data.Schema, v any) ([]byte, error) {
	if m, ok := v.(map[any]any); ok && isMapEntry(a.Items()) {
		rec := deref(a.Items()).(*avro.RecordSchema)
		if len(rec.Fields()) != 2 {
			return nil, fmt.Errorf("converter: the map entry record %s has %d fields", rec.FullName(), len(rec.Fields()))
		}
		var ks, vs *data.Schema
		if s != nil {
			ks, vs = s.Key, s.Value
		}
		type entry struct{ key, value []byte }
		entries := make([]entry, 0, len(m))
		for k, x := range m {
			kb, err := avroEncode(nil, rec.Fields()[0].Type(), ks, k)
			if err != nil {
				return nil, err
			}
			vb, err := avroEncode(nil, rec.Fields()[1].Type(), vs, x)
			if err != nil {
				return nil, err
			}
			entries = append(entries, entry{kb, vb})
		}
		sort.Slice(entries, func(i, j int) bool { return string(entries[i].key) < string(entries[j].key) })
		if len(entries) > 0 {
			b = binary.AppendVarint(b, int64(len(entries)))
		}
		for _, e := range entries {
			b = append(b, e.key...)
			b = append(b, e.value...)
		}
		return append(b, 0), nil
	}
	items, ok := v.([]any)
	if !ok {
		return nil, mismatchAvro(a, v)
	}
	var is *data.Schema
	if s != nil {
		is = s.Value
	}
	if len(items) > 0 {
		b = binary.AppendVarint(b, int64(len(items)))
	}
	for i, it := range items {
		var err error
		if b, err = avroEncode(b, a.Items(), is, it); err != nil {
			return nil, fmt.Errorf("%w (item %d)", err, i)
		}
	}
	return append(b, 0), nil
}

// avroEncodeUnion writes the index of the member v is written as, then v: null for nil, the
// member named by the set field of a Connect union struct, else the first member v fits.
func avroEncodeUnion(b []byte, u *avro.UnionSchema, s *data.Schema, v any) ([]byte, error) {
	if v == nil && s != nil && s.Default != nil {
		v = s.Default
	}
	types := u.Types()
	if v == nil {
		for i, m := range types {
			if m.Type() == avro.Null {
				return binary.AppendVarint(b, int64(i)), nil
			}
		}
		return nil, fmt.Errorf("converter: a null value for the union %s without null", u)
	}
	if st, ok := v.(*data.Struct); ok && st.Schema().Name == avroUnionName {
		c := avroToConnect{}
		for _, f := range st.Schema().Fields {
			x := st.Get(f.Name)
			if x == nil {
				continue
			}
			for i, m := range types {
				if m.Type() != avro.Null && (c.unionMemberName(m) == f.Name || (&avroToConnect{enhanced: true}).unionMemberName(m) == f.Name) {
					b = binary.AppendVarint(b, int64(i))
					return avroEncode(b, m, f.Schema, x)
				}
			}
			return nil, fmt.Errorf("converter: the union %s has no member %s", u, f.Name)
		}
		return avroEncodeUnion(b, u, nil, nil)
	}
	var member *data.Schema
	if s != nil {
		member = nonOptional(s)
	}
	for i, m := range types {
		if m.Type() == avro.Null || !avroFits(m, v) {
			continue
		}
		b = binary.AppendVarint(b, int64(i))
		return avroEncode(b, m, member, v)
	}
	return nil, fmt.Errorf("converter: a %T fits no member of the union %s", v, u)
}

// avroFits reports whether v can be written as a.
func avroFits(a avro.Schema, v any) bool {
	a = deref(a)
	switch x := v.(type) {
	case bool:
		return a.Type() == avro.Boolean
	case int8, int16, int32:
		return a.Type() == avro.Int || a.Type() == avro.Long
	case int64:
		return a.Type() == avro.Long
	case float32:
		return a.Type() == avro.Float || a.Type() == avro.Double
	case float64:
		return a.Type() == avro.Double
	case string:
		return a.Type() == avro.String || a.Type() == avro.Enum
	case []byte:
		return a.Type() == avro.Bytes || a.Type() == avro.Fixed && a.(*avro.FixedSchema).Size() == len(x)
	case data.Decimal:
		_, ok := logicalOf(a).(*avro.DecimalLogicalSchema)
		return ok
	case time.Time:
		return logicalOf(a) != nil && (a.Type() == avro.Int || a.Type() == avro.Long)
	case []any:
		return a.Type() == avro.Array && !isMapEntry(a.(*avro.ArraySchema).Items())
	case map[any]any:
		return a.Type() == avro.Map || a.Type() == avro.Array && isMapEntry(a.(*avro.ArraySchema).Items())
	case *data.Struct:
		rec, ok := a.(*avro.RecordSchema)
		if !ok {
			return false
		}
		name := x.Schema().Name
		return name == "" || name == rec.FullName() || isAvroUnnamed(rec.FullName())
	}
	return false
}

// avroReader reads Avro binary data. items bounds the array and map items a value may
// announce in all (a block of zero-size items costs no bytes).
type avroReader struct {
	b     []byte
	items int
	depth int
}

func (r *avroReader) long() (int64, error) {
	n, k := binary.Varint(r.b)
	if k <= 0 {
		if k == 0 {
			return 0, errAvroShort
		}
		return 0, errors.New("converter: an Avro varint longer than 10 bytes")
	}
	r.b = r.b[k:]
	return n, nil
}

func (r *avroReader) int() (int32, error) {
	n, err := r.long()
	if err != nil {
		return 0, err
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, fmt.Errorf("converter: the Avro int %d is out of range", n)
	}
	return int32(n), nil
}

func (r *avroReader) fixed(n int) ([]byte, error) {
	if n < 0 || n > len(r.b) {
		return nil, errAvroShort
	}
	out := make([]byte, n)
	copy(out, r.b[:n])
	r.b = r.b[n:]
	return out, nil
}

func (r *avroReader) bytes() ([]byte, error) {
	n, err := r.long()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > int64(len(r.b)) {
		return nil, fmt.Errorf("converter: an Avro length of %d with %d bytes left: %w", n, len(r.b), errAvroShort)
	}
	return r.fixed(int(n))
}

// blockCount reads an array or map block's count (a negative count is followed by the
// block's size in bytes, which is skipped over as Avro allows).
func (r *avroReader) blockCount() (int, error) {
	n, err := r.long()
	if err != nil {
		return 0, err
	}
	if n < 0 {
		if n == math.MinInt64 {
			return 0, errors.New("converter: an Avro block count out of range")
		}
		n = -n
		if _, err := r.long(); err != nil {
			return 0, err
		}
	}
	if n > int64(r.items) {
		return 0, fmt.Errorf("converter: an Avro block of %d items, more than the record can hold", n)
	}
	r.items -= int(n)
	return int(n), nil
}

// decode reads a value written as a into a Connect value of s (derived from a by
// avroToConnect).
func (r *avroReader) decode(a avro.Schema, s *data.Schema) (any, error) {
	if r.depth++; r.depth > maxAvroDepth*2 {
		return nil, errors.New("converter: Avro data nested too deep")
	}
	defer func() { r.depth-- }()
	a = deref(a)
	switch a.Type() {
	case avro.Null:
		return nil, nil
	case avro.Bytes, avro.Fixed:
		return r.bytesValue(a, s)
	case avro.Union:
		return r.union(a.(*avro.UnionSchema), s)
	case avro.Array:
		return r.array(a.(*avro.ArraySchema), s)
	case avro.Map:
		return r.mapValue(a.(*avro.MapSchema), s)
	case avro.Record:
		st := data.NewStructValue(s)
		for _, f := range a.(*avro.RecordSchema).Fields() {
			cf, ok := s.Field(f.Name())
			if !ok {
				return nil, fmt.Errorf("converter: the Avro field %s is not in %v", f.Name(), s)
			}
			v, err := r.decode(f.Type(), cf.Schema)
			if err != nil {
				return nil, err
			}
			if err := st.Put(f.Name(), v); err != nil {
				return nil, err
			}
		}
		return st, nil
	}
	return r.primitive(a, s)
}

// primitive reads a boolean, int, long, float, double, string or enum (logical types as
// Connect's).
func (r *avroReader) primitive(a avro.Schema, s *data.Schema) (any, error) {
	switch a.Type() {
	case avro.Boolean:
		if len(r.b) == 0 {
			return nil, errAvroShort
		}
		v := r.b[0]
		r.b = r.b[1:]
		if v > 1 {
			return nil, fmt.Errorf("converter: an Avro boolean byte %d", v)
		}
		return v == 1, nil
	case avro.Int:
		n, err := r.int()
		if err != nil {
			return nil, err
		}
		switch {
		case s.Name == data.DateName:
			return time.UnixMilli(int64(n) * msPerDay).UTC(), nil
		case s.Name == data.TimeName:
			return time.UnixMilli(int64(n)).UTC(), nil
		case s.Type == data.TypeInt8:
			return int8(n), nil
		case s.Type == data.TypeInt16:
			return int16(n), nil
		}
		return n, nil
	case avro.Long:
		n, err := r.long()
		if err != nil {
			return nil, err
		}
		if s.Name == data.TimestampName {
			return time.UnixMilli(n).UTC(), nil
		}
		return n, nil
	case avro.Float:
		raw, err := r.fixed(4)
		if err != nil {
			return nil, err
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(raw)), nil
	case avro.Double:
		raw, err := r.fixed(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(raw)), nil
	case avro.String:
		raw, err := r.bytes()
		if err != nil {
			return nil, err
		}
		return string(raw), nil
	case avro.Enum:
		i, err := r.int()
		if err != nil {
			return nil, err
		}
		sym, ok := a.(*avro.EnumSchema).Symbol(int(i))
		if !ok {
			return nil, fmt.Errorf("converter: the Avro enum index %d is out of range", i)
		}
		return sym, nil
	}
	return nil, fmt.Errorf("converter: cannot read an Avro %s", a.Type())
}

// bytesValue reads bytes or fixed (a Decimal when s is one).
func (r *avroReader) bytesValue(a avro.Schema, s *data.Schema) (any, error) {
	var raw []byte
	var err error
	if f, ok := a.(*avro.FixedSchema); ok {
		raw, err = r.fixed(f.Size())
	} else {
		raw, err = r.bytes()
	}
	if err != nil {
		return nil, err
	}
	if s.Name == data.DecimalName {
		scale, err := data.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		return data.DecimalFromBytes(raw, scale)
	}
	return raw, nil
}

func (r *avroReader) mapValue(a *avro.MapSchema, s *data.Schema) (any, error) {
	out := map[any]any{}
	for {
		n, err := r.blockCount()
		if err != nil || n == 0 {
			return out, err
		}
		for ; n > 0; n-- {
			k, err := r.bytes()
			if err != nil {
				return nil, err
			}
			v, err := r.decode(a.Values(), s.Value)
			if err != nil {
				return nil, err
			}
			out[string(k)] = v
		}
	}
}

func (r *avroReader) union(u *avro.UnionSchema, s *data.Schema) (any, error) {
	i, err := r.long()
	if err != nil {
		return nil, err
	}
	types := u.Types()
	if i < 0 || i >= int64(len(types)) {
		return nil, fmt.Errorf("converter: the Avro union index %d is out of range (%d members)", i, len(types))
	}
	m := types[i]
	if m.Type() == avro.Null {
		return nil, nil
	}
	if s.Type != data.TypeStruct || s.Name != avroUnionName {
		return r.decode(m, s)
	}
	c := avroToConnect{}
	name := c.unionMemberName(m)
	f, ok := s.Field(name)
	if !ok {
		c.enhanced = true
		if f, ok = s.Field(c.unionMemberName(m)); !ok {
			return nil, fmt.Errorf("converter: no union field for the member %s", name)
		}
	}
	v, err := r.decode(m, f.Schema)
	if err != nil {
		return nil, err
	}
	st := data.NewStructValue(s)
	return st, st.Put(f.Name, v)
}

func (r *avroReader) array(a *avro.ArraySchema, s *data.Schema) (any, error) {
	if s.Type == data.TypeMap {
		rec := deref(a.Items()).(*avro.RecordSchema)
		out := map[any]any{}
		for {
			n, err := r.blockCount()
			if err != nil || n == 0 {
				return out, err
			}
			for ; n > 0; n-- {
				k, err := r.decode(rec.Fields()[0].Type(), s.Key)
				if err != nil {
					return nil, err
				}
				if !comparable(k) || k == nil {
					return nil, fmt.Errorf("converter: a map key of schema %v cannot be a Go map key", s.Key)
				}
				v, err := r.decode(rec.Fields()[1].Type(), s.Value)
				if err != nil {
					return nil, err
				}
				out[k] = v
			}
		}
	}
	out := []any{}
	for {
		n, err := r.blockCount()
		if err != nil || n == 0 {
			return out, err
		}
		for ; n > 0; n-- {
			v, err := r.decode(a.Items(), s.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
}
