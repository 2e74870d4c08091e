package converter

import (
	"context"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/sluicehq/sluice/internal/connect/data"
	"github.com/sluicehq/sluice/internal/registry/protobuf"
)

// ProtobufClass is Confluent's Protobuf converter.
const ProtobufClass = "io.confluent.connect.protobuf.ProtobufConverter"

// Protobuf is Confluent's ProtobufConverter: Connect structs in the Confluent wire format
// (magic byte 0, the schema id as 4 bytes big-endian, the message indexes, the Protobuf
// encoding) with a proto3 schema in a schema registry.
//
// FromConnect derives a proto3 file from the Connect schema, as Confluent's ProtobufData does
// in outline: one message named after the schema (its last dotted part; the rest is the
// package; ConnectDefault1 without a name), fields numbered from 1 in order; int8, int16 and
// int32 as int32, int64, float32 as float, float64 as double, boolean, string, bytes; an
// optional primitive as a proto3 optional field (so a null stays null); structs as nested
// messages; arrays as repeated fields; maps with primitive keys as map fields; the logical
// types as confluent.type.Decimal (the scale in the field's confluent.field_meta params),
// google.type.Date, google.type.TimeOfDay and google.protobuf.Timestamp. The file is
// registered (auto.register.schemas) or looked up once per schema, and the value written
// with message index [0].
//
// ToConnect fetches the writer's schema by id once (following its references), finds the
// message the indexes name and derives the Connect schema: a message is a struct named by the
// message's full name, with a field per Protobuf field in declaration order, optional when the
// field has presence (proto3 optional, messages); the types back as above (int32, sint32,
// sfixed32 as int32; uint32 as int64; the 64-bit ones as int64; enums as strings), wrappers
// (google.protobuf.*Value) as optional primitives.
//
// What the Protobuf type cannot say (int8 and int16, a named primitive's name, version and
// parameters) goes in the field's confluent.field_meta params (protoFieldParams).
//
// Not supported: oneof groups as Confluent's io.confluent.connect.protobuf.Union (their
// members are read as optional fields), arrays of arrays or of maps, Confluent's
// generate.index.for.unions and the other ProtobufData options. Settings: those of the registry converters (registry.go).
type Protobuf struct {
	rc      registryConfig
	writers boundedCache[protoWriter] // by Connect schema
	readers boundedCache[protoReader] // by schema id and message index
}

type protoWriter struct {
	id int
	md protoreflect.MessageDescriptor
}

type protoReader struct {
	md protoreflect.MessageDescriptor
	cs *data.Schema
}

func (c *Protobuf) Configure(cfg map[string]string, isKey bool) error {
	var err error
	if c.rc, err = newRegistryConfig(cfg, isKey); err != nil {
		return err
	}
	c.writers.max, c.readers.max = c.rc.cacheSize, c.rc.cacheSize
	return nil
}

func (c *Protobuf) FromConnect(topic string, s *data.Schema, v any) ([]byte, error) {
	if s == nil && v == nil {
		return nil, nil
	}
	if s == nil || s.Type != data.TypeStruct {
		return nil, fmt.Errorf("converter: ProtobufConverter writes structs (schema %v)", s)
	}
	if v == nil {
		if !s.Optional {
			return nil, fmt.Errorf("converter: a null value for the required %v", s)
		}
		return nil, nil
	}
	w, err := c.writers.get(s, func() (protoWriter, error) { return c.writer(topic, s) })
	if err != nil {
		return nil, err
	}
	m := dynamicpb.NewMessage(w.md)
	if err := protoFill(m, s, v); err != nil {
		return nil, fmt.Errorf("%w (topic %s)", err, topic)
	}
	b, err := wireHeader.AppendEncode(make([]byte, 0, 64), w.id, []int{0})
	if err != nil {
		return nil, err
	}
	return proto.MarshalOptions{Deterministic: true}.MarshalAppend(b, m)
}

// writer derives, compiles and registers the file of s.
func (c *Protobuf) writer(topic string, s *data.Schema) (protoWriter, error) {
	text, full, err := protoSchemaText(s)
	if err != nil {
		return protoWriter{}, err
	}
	fd, err := protobuf.Compile(text, nil)
	if err != nil {
		return protoWriter{}, fmt.Errorf("converter: the Protobuf schema derived from %v: %w", s, err)
	}
	md := fd.Messages().Get(0)
	ss, err := c.rc.resolve(c.rc.subject(topic, full), sr.Schema{Schema: text, Type: sr.TypeProtobuf})
	if err != nil {
		return protoWriter{}, err
	}
	return protoWriter{id: ss.ID, md: md}, nil
}

func (c *Protobuf) ToConnect(topic string, b []byte) (*data.Schema, any, error) {
	if b == nil {
		return nil, nil, nil
	}
	id, rest, err := splitWire("ProtobufConverter", b)
	if err != nil {
		return nil, nil, err
	}
	index, payload, err := wireHeader.DecodeIndex(rest, 64)
	if err != nil {
		return nil, nil, fmt.Errorf("converter: ProtobufConverter: the message indexes: %w: %w", err, ErrWireFormat)
	}
	key := fmt.Sprint(id, index)
	r, err := c.readers.get(key, func() (protoReader, error) { return c.reader(id, index) })
	if err != nil {
		return nil, nil, err
	}
	m := dynamicpb.NewMessage(r.md)
	if err := protoUnmarshal(payload, m); err != nil {
		return nil, nil, fmt.Errorf("converter: ProtobufConverter: %w (schema id %d, topic %s)", err, id, topic)
	}
	v, err := protoToValue(m, r.cs)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (schema id %d, topic %s)", err, id, topic)
	}
	return r.cs, v, nil
}

// protoUnmarshal decodes b into m. protobuf-go's dynamic messages panic on some malformed map
// entries (a key of the wrong wire type), so a panic is turned into an error here.
func protoUnmarshal(b []byte, m *dynamicpb.Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed Protobuf data: %v", r)
		}
	}()
	return proto.UnmarshalOptions{RecursionLimit: 64}.Unmarshal(b, m)
}

// reader compiles the schema with id (and its references) and finds the indexed message.
func (c *Protobuf) reader(id int, index []int) (protoReader, error) {
	s, err := c.rc.schemaByID(id)
	if err != nil {
		return protoReader{}, err
	}
	if s.Type != sr.TypeProtobuf {
		return protoReader{}, fmt.Errorf("converter: ProtobufConverter: schema id %d is a %v schema", id, s.Type)
	}
	deps := map[string]string{}
	if err := c.references(s.References, deps, 0); err != nil {
		return protoReader{}, err
	}
	fd, err := protobuf.Compile(s.Schema, deps)
	if err != nil {
		return protoReader{}, fmt.Errorf("converter: ProtobufConverter: schema id %d: %w", id, err)
	}
	var md protoreflect.MessageDescriptor
	msgs := fd.Messages()
	for _, i := range index {
		if i < 0 || i >= msgs.Len() {
			return protoReader{}, fmt.Errorf("converter: ProtobufConverter: message index %v not in schema id %d: %w", index, id, ErrWireFormat)
		}
		md = msgs.Get(i)
		msgs = md.Messages()
	}
	if md == nil {
		return protoReader{}, fmt.Errorf("converter: ProtobufConverter: an empty message index: %w", ErrWireFormat)
	}
	cs, err := protoConnectSchema(md, false, 0)
	if err != nil {
		return protoReader{}, fmt.Errorf("%w (schema id %d)", err, id)
	}
	return protoReader{md: md, cs: cs}, nil
}

// references fetches the texts of refs (and theirs) into deps by import name.
func (c *Protobuf) references(refs []sr.SchemaReference, deps map[string]string, depth int) error {
	if depth > 16 {
		return fmt.Errorf("converter: ProtobufConverter: schema references nested more than 16 deep")
	}
	for _, ref := range refs {
		if _, ok := deps[ref.Name]; ok {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
		ss, err := c.rc.client.SchemaByVersion(ctx, ref.Subject, ref.Version)
		cancel()
		if err != nil {
			return fmt.Errorf("converter: ProtobufConverter: reference %s (%s version %d): %w", ref.Name, ref.Subject, ref.Version, err)
		}
		deps[ref.Name] = ss.Schema.Schema
		if err := c.references(ss.References, deps, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// Connect schema → proto3 text.

// protoWriterText collects the imports the derived file needs.
type protoWriterText struct {
	imports map[string]bool
}

// protoSchemaText is the proto3 file of the struct schema s and its message's full name.
func protoSchemaText(s *data.Schema) (string, string, error) {
	pkg, name := "", "ConnectDefault1"
	if s.Name != "" {
		if i := strings.LastIndexByte(s.Name, '.'); i >= 0 {
			pkg, name = s.Name[:i], s.Name[i+1:]
		} else {
			name = s.Name
		}
	}
	if !protoIdent(name) || (pkg != "" && !protoPackage(pkg)) {
		return "", "", fmt.Errorf("converter: ProtobufConverter: the schema name %q is not a Protobuf message name", s.Name)
	}
	w := &protoWriterText{imports: map[string]bool{}}
	var body strings.Builder
	if err := w.message(&body, name, s, ""); err != nil {
		return "", "", err
	}
	var b strings.Builder
	b.WriteString("syntax = \"proto3\";\n")
	full := name
	if pkg != "" {
		fmt.Fprintf(&b, "package %s;\n", pkg)
		full = pkg + "." + name
	}
	var imports []string
	for i := range w.imports {
		imports = append(imports, i)
	}
	sort.Strings(imports)
	for _, i := range imports {
		fmt.Fprintf(&b, "import %q;\n", i)
	}
	b.WriteString("\n")
	b.WriteString(body.String())
	return b.String(), full, nil
}

func (w *protoWriterText) message(b *strings.Builder, name string, s *data.Schema, indent string) error {
	fmt.Fprintf(b, "%smessage %s {\n", indent, name)
	nested := map[string]*data.Schema{}
	for i, f := range s.Fields {
		if !protoIdent(f.Name) {
			return fmt.Errorf("converter: ProtobufConverter: the field name %q is not a Protobuf identifier", f.Name)
		}
		label, typ, err := w.fieldType(b, f, nested, indent+"  ")
		if err != nil {
			return err
		}
		opts := ""
		if params := protoFieldParams(f.Schema); len(params) > 0 {
			w.imports["confluent/meta.proto"] = true
			var ps []string
			for _, k := range slices.Sorted(maps.Keys(params)) {
				ps = append(ps, fmt.Sprintf("{ key: %q, value: %q }", k, params[k]))
			}
			opts = fmt.Sprintf(" [(confluent.field_meta) = { params: [ %s ] }]", strings.Join(ps, ", "))
		}
		fmt.Fprintf(b, "%s  %s%s %s = %d%s;\n", indent, label, typ, f.Name, i+1, opts)
	}
	fmt.Fprintf(b, "%s}\n", indent)
	return nil
}

// protoFieldParams are what a field's Protobuf type cannot say about its Connect schema, kept
// in its confluent.field_meta params as Confluent's ProtobufData keeps them: a Decimal's
// "scale", "connect.type" for int8 and int16, and a named primitive's (Debezium's
// io.debezium.time.MicroTimestamp and the like) "connect.name" and "connect.version", with its
// parameters as "connect.parameters.<name>".
func protoFieldParams(s *data.Schema) map[string]string {
	params := map[string]string{}
	switch {
	case s.Name == data.DecimalName:
		scale, _ := data.DecimalScale(s)
		params["scale"] = strconv.Itoa(int(scale))
		return params
	case s.Name == data.DateName || s.Name == data.TimeName || s.Name == data.TimestampName:
		return params
	case !s.Type.Primitive():
		return params
	}
	if s.Type == data.TypeInt8 || s.Type == data.TypeInt16 {
		params["connect.type"] = s.Type.String()
	}
	if s.Name != "" {
		params["connect.name"] = s.Name
		if s.Version != 0 {
			params["connect.version"] = strconv.Itoa(int(s.Version))
		}
		for k, v := range s.Parameters {
			params["connect.parameters."+k] = v
		}
	}
	return params
}

// applyFieldParams gives a primitive schema read back what protoFieldParams kept.
func applyFieldParams(s *data.Schema, params map[string]string) *data.Schema {
	if s.Type == data.TypeInt32 {
		switch params["connect.type"] {
		case "int8":
			s = &data.Schema{Type: data.TypeInt8, Optional: s.Optional}
		case "int16":
			s = &data.Schema{Type: data.TypeInt16, Optional: s.Optional}
		}
	}
	if name := params["connect.name"]; name != "" {
		version, _ := strconv.Atoi(params["connect.version"])
		s = s.Named(name, int32(version))
		for _, k := range slices.Sorted(maps.Keys(params)) {
			if p, ok := strings.CutPrefix(k, "connect.parameters."); ok {
				s = s.WithParameter(p, params[k])
			}
		}
	}
	return s
}

// fieldType is the label and type of field f; nested message definitions are written to b.
func (w *protoWriterText) fieldType(b *strings.Builder, f data.Field, nested map[string]*data.Schema, indent string) (string, string, error) {
	s := f.Schema
	switch s.Type {
	case data.TypeArray:
		if s.Value.Type == data.TypeArray || s.Value.Type == data.TypeMap {
			return "", "", fmt.Errorf("converter: ProtobufConverter: field %s: arrays of arrays or maps are not supported", f.Name)
		}
		typ, err := w.single(b, f.Name, s.Value, nested, indent)
		return "repeated ", typ, err
	case data.TypeMap:
		if !s.Key.Type.Primitive() || s.Key.Type == data.TypeFloat32 || s.Key.Type == data.TypeFloat64 || s.Key.Type == data.TypeBytes || s.Key.Name != "" {
			return "", "", fmt.Errorf("converter: ProtobufConverter: field %s: map keys must be integers, booleans or strings", f.Name)
		}
		if s.Value.Type == data.TypeArray || s.Value.Type == data.TypeMap {
			return "", "", fmt.Errorf("converter: ProtobufConverter: field %s: map values may not be arrays or maps", f.Name)
		}
		kt, _ := w.single(b, f.Name, s.Key, nested, indent)
		vt, err := w.single(b, f.Name, s.Value, nested, indent)
		return "", fmt.Sprintf("map<%s, %s>", kt, vt), err
	}
	typ, err := w.single(b, f.Name, s, nested, indent)
	label := ""
	switch s.Name {
	case data.DecimalName, data.DateName, data.TimeName, data.TimestampName:
		// messages: they have presence
	default:
		if s.Optional && s.Type.Primitive() {
			label = "optional " // presence: a null stays null
		}
	}
	return label, typ, err
}

// single is the Protobuf type of a non-repeated value of schema s.
func (w *protoWriterText) single(b *strings.Builder, field string, s *data.Schema, nested map[string]*data.Schema, indent string) (string, error) {
	switch s.Name {
	case data.DecimalName:
		w.imports["confluent/type/decimal.proto"] = true
		return "confluent.type.Decimal", nil
	case data.DateName:
		w.imports["google/type/date.proto"] = true
		return "google.type.Date", nil
	case data.TimeName:
		w.imports["google/type/timeofday.proto"] = true
		return "google.type.TimeOfDay", nil
	case data.TimestampName:
		w.imports["google/protobuf/timestamp.proto"] = true
		return "google.protobuf.Timestamp", nil
	}
	switch s.Type {
	case data.TypeInt8, data.TypeInt16, data.TypeInt32:
		return "int32", nil
	case data.TypeInt64:
		return "int64", nil
	case data.TypeFloat32:
		return "float", nil
	case data.TypeFloat64:
		return "double", nil
	case data.TypeBoolean:
		return "bool", nil
	case data.TypeString:
		return "string", nil
	case data.TypeBytes:
		return "bytes", nil
	case data.TypeStruct:
		name := ""
		if s.Name != "" {
			name = s.Name[strings.LastIndexByte(s.Name, '.')+1:]
		}
		if !protoIdent(name) {
			name = strings.ToUpper(field[:1]) + field[1:]
		}
		// One nested message per distinct struct: the same struct (optional or not) in
		// several fields shares its message; different ones under one name get a suffix.
		req := nonOptional(s)
		for base, i := name, 2; nested[name] != nil; i++ {
			if nested[name].Equal(req) {
				return name, nil
			}
			name = base + strconv.Itoa(i)
		}
		nested[name] = req
		if err := w.message(b, name, s, indent); err != nil {
			return "", err
		}
		return name, nil
	}
	return "", fmt.Errorf("converter: ProtobufConverter: field %s: the %v schema has no Protobuf type", field, s)
}

func protoIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func protoPackage(p string) bool {
	for _, part := range strings.Split(p, ".") {
		if !protoIdent(part) {
			return false
		}
	}
	return true
}

// Connect value → message.

func protoFill(m protoreflect.Message, s *data.Schema, v any) error {
	st, ok := v.(*data.Struct)
	if !ok {
		return fmt.Errorf("converter: a %T for the struct %v", v, s)
	}
	fields := m.Descriptor().Fields()
	for i, f := range s.Fields {
		fv := st.GetAt(i)
		if fv == nil {
			if f.Schema.Default != nil {
				fv = f.Schema.Default
			} else if !f.Schema.Optional {
				return fmt.Errorf("converter: a null value for the required field %s", f.Name)
			} else {
				continue
			}
		}
		fd := fields.ByNumber(protoreflect.FieldNumber(i + 1))
		switch {
		case fd.IsList():
			items, ok := fv.([]any)
			if !ok {
				return fmt.Errorf("converter: field %s: a %T for an array", f.Name, fv)
			}
			l := m.Mutable(fd).List()
			for _, it := range items {
				if it == nil {
					return fmt.Errorf("converter: field %s: a null array item (Protobuf has none)", f.Name)
				}
				pv, err := protoValue(l.NewElement, fd, f.Schema.Value, it)
				if err != nil {
					return fmt.Errorf("converter: field %s: %w", f.Name, err)
				}
				l.Append(pv)
			}
		case fd.IsMap():
			entries, ok := fv.(map[any]any)
			if !ok {
				return fmt.Errorf("converter: field %s: a %T for a map", f.Name, fv)
			}
			mp := m.Mutable(fd).Map()
			for k, val := range entries {
				if k == nil || val == nil {
					return fmt.Errorf("converter: field %s: a null map key or value (Protobuf has none)", f.Name)
				}
				kv, err := protoValue(nil, fd.MapKey(), f.Schema.Key, k)
				if err != nil {
					return fmt.Errorf("converter: field %s: %w", f.Name, err)
				}
				vv, err := protoValue(mp.NewValue, fd.MapValue(), f.Schema.Value, val)
				if err != nil {
					return fmt.Errorf("converter: field %s: %w", f.Name, err)
				}
				mp.Set(kv.MapKey(), vv)
			}
		default:
			pv, err := protoValue(func() protoreflect.Value { return m.NewField(fd) }, fd, f.Schema, fv)
			if err != nil {
				return fmt.Errorf("converter: field %s: %w", f.Name, err)
			}
			m.Set(fd, pv)
		}
	}
	return nil
}

// protoValue converts one Connect value of schema s to the field's Protobuf value; newMsg
// makes an empty message value for message-typed fields.
func protoValue(newMsg func() protoreflect.Value, fd protoreflect.FieldDescriptor, s *data.Schema, v any) (protoreflect.Value, error) {
	bad := func() (protoreflect.Value, error) {
		return protoreflect.Value{}, fmt.Errorf("a %T for %v", v, s)
	}
	if fd.Kind() == protoreflect.MessageKind {
		mv := newMsg()
		m := mv.Message()
		set := func(name string, x protoreflect.Value) {
			m.Set(m.Descriptor().Fields().ByName(protoreflect.Name(name)), x)
		}
		switch s.Name {
		case data.DecimalName:
			d, ok := v.(data.Decimal)
			if !ok {
				return bad()
			}
			set("value", protoreflect.ValueOfBytes(data.DecimalBytes(d)))
			set("scale", protoreflect.ValueOfInt32(d.Scale))
			return mv, nil
		case data.DateName, data.TimeName, data.TimestampName:
			t, ok := v.(time.Time)
			if !ok {
				return bad()
			}
			t = t.UTC()
			switch s.Name {
			case data.DateName:
				set("year", protoreflect.ValueOfInt32(int32(t.Year())))
				set("month", protoreflect.ValueOfInt32(int32(t.Month())))
				set("day", protoreflect.ValueOfInt32(int32(t.Day())))
			case data.TimeName:
				set("hours", protoreflect.ValueOfInt32(int32(t.Hour())))
				set("minutes", protoreflect.ValueOfInt32(int32(t.Minute())))
				set("seconds", protoreflect.ValueOfInt32(int32(t.Second())))
				set("nanos", protoreflect.ValueOfInt32(int32(t.Nanosecond())))
			default:
				set("seconds", protoreflect.ValueOfInt64(t.Unix()))
				set("nanos", protoreflect.ValueOfInt32(int32(t.Nanosecond())))
			}
			return mv, nil
		}
		return mv, protoFill(m, s, v)
	}
	switch x := v.(type) {
	case int8:
		return protoreflect.ValueOfInt32(int32(x)), nil
	case int16:
		return protoreflect.ValueOfInt32(int32(x)), nil
	case int32:
		return protoreflect.ValueOfInt32(x), nil
	case int64:
		return protoreflect.ValueOfInt64(x), nil
	case float32:
		return protoreflect.ValueOfFloat32(x), nil
	case float64:
		return protoreflect.ValueOfFloat64(x), nil
	case bool:
		return protoreflect.ValueOfBool(x), nil
	case string:
		return protoreflect.ValueOfString(x), nil
	case []byte:
		return protoreflect.ValueOfBytes(x), nil
	}
	return bad()
}

// Message descriptor → Connect schema, message → Connect value.

var protoWrappers = map[protoreflect.FullName]*data.Schema{
	"google.protobuf.DoubleValue": data.OptionalFloat64Schema, "google.protobuf.FloatValue": data.OptionalFloat32Schema,
	"google.protobuf.Int64Value": data.OptionalInt64Schema, "google.protobuf.UInt64Value": data.OptionalInt64Schema,
	"google.protobuf.Int32Value": data.OptionalInt32Schema, "google.protobuf.UInt32Value": data.OptionalInt64Schema,
	"google.protobuf.BoolValue": data.OptionalBooleanSchema, "google.protobuf.StringValue": data.OptionalStringSchema,
	"google.protobuf.BytesValue": data.OptionalBytesSchema,
}

// protoConnectSchema is the Connect schema of messages of md; depth bounds recursion (a
// recursive message has no Connect schema).
func protoConnectSchema(md protoreflect.MessageDescriptor, optional bool, depth int) (*data.Schema, error) {
	if depth > 32 {
		return nil, fmt.Errorf("converter: ProtobufConverter: message %s nests more than 32 deep (recursive?)", md.FullName())
	}
	var fields []data.Field
	fds := md.Fields()
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		s, err := protoFieldSchema(fd, depth)
		if err != nil {
			return nil, err
		}
		fields = append(fields, data.F(string(fd.Name()), s))
	}
	s, err := data.NewStruct(string(md.FullName()), fields...)
	if err != nil {
		return nil, err
	}
	if optional {
		s = s.AsOptional()
	}
	return s, nil
}

func protoFieldSchema(fd protoreflect.FieldDescriptor, depth int) (*data.Schema, error) {
	if fd.IsMap() {
		k, err := protoKindSchema(fd.MapKey(), false, depth)
		if err != nil {
			return nil, err
		}
		v, err := protoKindSchema(fd.MapValue(), false, depth)
		if err != nil {
			return nil, err
		}
		return data.MapOf(k, v), nil
	}
	if fd.IsList() {
		items, err := protoKindSchema(fd, false, depth)
		if err != nil {
			return nil, err
		}
		return data.ArrayOf(items), nil
	}
	ks, err := protoKindSchema(fd, fd.HasPresence(), depth)
	if err == nil && ks.Type.Primitive() && ks.Name == "" {
		ks = applyFieldParams(ks, protoFieldMeta(fd))
	}
	return ks, err
}

func protoKindSchema(fd protoreflect.FieldDescriptor, optional bool, depth int) (*data.Schema, error) {
	var s *data.Schema
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		s = data.Int32Schema
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Int64Kind, protoreflect.Sint64Kind,
		protoreflect.Sfixed64Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		s = data.Int64Schema
	case protoreflect.FloatKind:
		s = data.Float32Schema
	case protoreflect.DoubleKind:
		s = data.Float64Schema
	case protoreflect.BoolKind:
		s = data.BooleanSchema
	case protoreflect.StringKind, protoreflect.EnumKind:
		s = data.StringSchema
	case protoreflect.BytesKind:
		s = data.BytesSchema
	case protoreflect.MessageKind, protoreflect.GroupKind:
		md := fd.Message()
		switch md.FullName() {
		case "confluent.type.Decimal":
			scale, _ := strconv.Atoi(protoFieldMeta(fd)["scale"])
			s = data.DecimalSchema(int32(scale))
		case "google.type.Date":
			s = data.DateSchema
		case "google.type.TimeOfDay":
			s = data.TimeSchema
		case "google.protobuf.Timestamp":
			s = data.TimestampSchema
		default:
			if w, ok := protoWrappers[md.FullName()]; ok {
				return w, nil
			}
			return protoConnectSchema(md, optional, depth+1)
		}
	default:
		return nil, fmt.Errorf("converter: ProtobufConverter: field %s has the unsupported kind %v", fd.FullName(), fd.Kind())
	}
	if optional {
		s = s.AsOptional()
	}
	return s, nil
}

// protoFieldMeta reads the params of a field's confluent.field_meta option (extension 1088,
// confluent.Meta: params is field 2, a map<string, string>) from the option's bytes.
func protoFieldMeta(fd protoreflect.FieldDescriptor) map[string]string {
	out := map[string]string{}
	b, err := proto.Marshal(fd.Options())
	if err != nil {
		return out
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return out
		}
		b = b[n:]
		if num != 1088 || typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return out
			}
			b = b[n:]
			continue
		}
		meta, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return out
		}
		b = b[n:]
		protoEachField(meta, func(num protowire.Number, entry []byte) {
			if num != 2 {
				return
			}
			var k, v string
			protoEachField(entry, func(num protowire.Number, x []byte) {
				if num == 1 {
					k = string(x)
				} else if num == 2 {
					v = string(x)
				}
			})
			out[k] = v
		})
	}
	return out
}

// protoEachField calls fn for each length-delimited field of b.
func protoEachField(b []byte, fn func(protowire.Number, []byte)) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		if typ == protowire.BytesType {
			x, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return
			}
			fn(num, x)
			b = b[n:]
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return
		}
		b = b[n:]
	}
}

func protoToValue(m protoreflect.Message, s *data.Schema) (any, error) {
	st := data.NewStructValue(s)
	fds := m.Descriptor().Fields()
	for i, f := range s.Fields {
		fd := fds.Get(i)
		var v any
		var err error
		switch {
		case fd.IsList():
			l := m.Get(fd).List()
			items := make([]any, l.Len())
			for j := range items {
				if items[j], err = protoSingle(fd, f.Schema.Value, l.Get(j)); err != nil {
					return nil, err
				}
			}
			v = items
		case fd.IsMap():
			out := map[any]any{}
			m.Get(fd).Map().Range(func(k protoreflect.MapKey, x protoreflect.Value) bool {
				var kv, vv any
				if kv, err = protoSingle(fd.MapKey(), f.Schema.Key, k.Value()); err != nil {
					return false
				}
				if vv, err = protoSingle(fd.MapValue(), f.Schema.Value, x); err != nil {
					return false
				}
				out[kv] = vv
				return true
			})
			v = out
		case fd.HasPresence() && !m.Has(fd):
			v = nil
		default:
			v, err = protoSingle(fd, f.Schema, m.Get(fd))
		}
		if err != nil {
			return nil, err
		}
		if err := st.Put(f.Name, v); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func protoSingle(fd protoreflect.FieldDescriptor, s *data.Schema, x protoreflect.Value) (any, error) {
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		switch s.Type {
		case data.TypeInt8:
			return int8(x.Int()), nil
		case data.TypeInt16:
			return int16(x.Int()), nil
		}
		return int32(x.Int()), nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return x.Int(), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return int64(x.Uint()), nil
	case protoreflect.FloatKind:
		return float32(x.Float()), nil
	case protoreflect.DoubleKind:
		return x.Float(), nil
	case protoreflect.BoolKind:
		return x.Bool(), nil
	case protoreflect.StringKind:
		return x.String(), nil
	case protoreflect.BytesKind:
		return append([]byte{}, x.Bytes()...), nil
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(x.Enum()); ev != nil {
			return string(ev.Name()), nil
		}
		return strconv.Itoa(int(x.Enum())), nil
	}
	m := x.Message()
	get := func(name string) protoreflect.Value {
		return m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(name)))
	}
	switch s.Name {
	case data.DecimalName:
		scale, _ := data.DecimalScale(s)
		d, err := data.DecimalFromBytes(get("value").Bytes(), int32(get("scale").Int()))
		if err != nil {
			return nil, err
		}
		if d.Scale != scale { // written with another scale: rescale exactly or fail
			if d, err = rescale(d, scale); err != nil {
				return nil, err
			}
		}
		return d, nil
	case data.DateName:
		return time.Date(int(get("year").Int()), time.Month(get("month").Int()), int(get("day").Int()), 0, 0, 0, 0, time.UTC), nil
	case data.TimeName:
		return time.Date(1970, 1, 1, int(get("hours").Int()), int(get("minutes").Int()), int(get("seconds").Int()), int(get("nanos").Int()), time.UTC), nil
	case data.TimestampName:
		return time.Unix(get("seconds").Int(), get("nanos").Int()).UTC(), nil
	}
	if _, ok := protoWrappers[m.Descriptor().FullName()]; ok {
		inner := m.Descriptor().Fields().ByNumber(1)
		return protoSingle(inner, s, m.Get(inner))
	}
	return protoToValue(m, s)
}

// rescale gives d at scale when that loses nothing.
func rescale(d data.Decimal, scale int32) (data.Decimal, error) {
	if scale > data.MaxDecimalScale || d.Scale > data.MaxDecimalScale {
		return data.Decimal{}, fmt.Errorf("converter: decimal scale beyond %d", data.MaxDecimalScale)
	}
	u := new(big.Int).Set(d.Unscaled)
	if scale > d.Scale {
		u.Mul(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-d.Scale)), nil))
	} else {
		q, r := new(big.Int).QuoRem(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale-scale)), nil), new(big.Int))
		if r.Sign() != 0 {
			return data.Decimal{}, fmt.Errorf("converter: a decimal of scale %d does not fit scale %d", d.Scale, scale)
		}
		u = q
	}
	return data.Decimal{Unscaled: u, Scale: scale}, nil
}
