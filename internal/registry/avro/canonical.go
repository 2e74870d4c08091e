package avro

import (
	"bytes"
	"math"
	"slices"
	"sort"
	"strconv"
)

// canonicalWriter writes a schema as Avro's Java Schema.toString does, which is what Confluent
// stores (AvroSchema.canonicalString): compact JSON, attributes in a fixed order, each named type
// defined where it first appears and referred to by name afterwards, names qualified only where
// the enclosing namespace differs. known holds the full names written so far, starting with
// the dependencies' names (Confluent writes those by name, never inline).
type canonicalWriter struct {
	b     bytes.Buffer
	known map[string]bool
}

// canonicalOf is a schema's canonical text with no names known in advance.
func canonicalOf(n *node) string {
	w := &canonicalWriter{known: map[string]bool{}}
	w.write(n, "")
	return w.b.String()
}

func (w *canonicalWriter) write(n *node, space string) {
	b := &w.b
	switch n.kind {
	case kindRecord, kindEnum, kindFixed:
		full := n.name.full()
		if w.known[full] {
			writeString(b, n.name.qualified(space))
			return
		}
		w.known[full] = true
		b.WriteString(`{"type":`)
		switch {
		case n.kind == kindRecord && n.isError:
			b.WriteString(`"error"`)
		default:
			writeString(b, n.kind.String())
		}
		w.writeName(n.name, space)
		if n.doc != nil {
			b.WriteString(`,"doc":`)
			writeString(b, *n.doc)
		}
		switch n.kind {
		case kindRecord:
			b.WriteString(`,"fields":[`)
			for i, f := range n.fields {
				if i > 0 {
					b.WriteByte(',')
				}
				w.writeField(f, n.name.space)
			}
			b.WriteByte(']')
		case kindEnum:
			b.WriteString(`,"symbols":[`)
			for i, s := range n.symbols {
				if i > 0 {
					b.WriteByte(',')
				}
				writeString(b, s)
			}
			b.WriteByte(']')
			if n.enumDefault != nil {
				b.WriteString(`,"default":`)
				writeString(b, *n.enumDefault)
			}
		case kindFixed:
			b.WriteString(`,"size":`)
			b.WriteString(strconv.Itoa(n.size))
		}
		writeProps(b, n.props)
		if len(n.aliases) > 0 {
			b.WriteString(`,"aliases":[`)
			for i, a := range n.aliases {
				if i > 0 {
					b.WriteByte(',')
				}
				writeString(b, a.qualified(n.name.space))
			}
			b.WriteByte(']')
		}
		b.WriteByte('}')
	case kindArray, kindMap:
		if n.kind == kindArray {
			b.WriteString(`{"type":"array","items":`)
		} else {
			b.WriteString(`{"type":"map","values":`)
		}
		w.write(n.items, space)
		writeProps(b, n.props)
		b.WriteByte('}')
	case kindUnion:
		b.WriteByte('[')
		for i, branch := range n.branches {
			if i > 0 {
				b.WriteByte(',')
			}
			w.write(branch, space)
		}
		b.WriteByte(']')
	default:
		if len(n.props) == 0 {
			writeString(b, n.kind.String())
			return
		}
		b.WriteString(`{"type":`)
		writeString(b, n.kind.String())
		writeProps(b, n.props)
		b.WriteByte('}')
	}
}

// writeName writes "name" and, where it differs from the enclosing one, "namespace" (an empty
// one inside a non-empty one).
func (w *canonicalWriter) writeName(n name, space string) {
	w.b.WriteString(`,"name":`)
	writeString(&w.b, n.simple)
	if n.space != space {
		w.b.WriteString(`,"namespace":`)
		writeString(&w.b, n.space)
	}
}

func (w *canonicalWriter) writeField(f *field, space string) {
	b := &w.b
	b.WriteString(`{"name":`)
	writeString(b, f.name)
	b.WriteString(`,"type":`)
	w.write(f.typ, space)
	if f.doc != nil {
		b.WriteString(`,"doc":`)
		writeString(b, *f.doc)
	}
	if f.defaultValue != nil {
		b.WriteString(`,"default":`)
		writeJSON(b, f.defaultValue)
	}
	if f.order != "" {
		b.WriteString(`,"order":`)
		writeString(b, f.order)
	}
	if len(f.aliases) > 0 {
		b.WriteString(`,"aliases":[`)
		for i, a := range f.aliases {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, a)
		}
		b.WriteByte(']')
	}
	writeProps(b, f.props)
	b.WriteByte('}')
}

func writeProps(b *bytes.Buffer, props []prop) {
	for _, p := range props {
		b.WriteByte(',')
		writeString(b, p.key)
		b.WriteByte(':')
		writeJSON(b, p.value)
	}
}

// normalize rewrites a parsed schema the way Confluent's normalize=true does for Avro
// (AvroSchemaUtils.toNormalizedString, then parsed again): custom properties sorted by name
// after a valid logical type's own attributes, aliases sorted, an empty doc of a named type
// dropped, and field defaults converted to the field's type (an int default of a double
// field is written 1.0). Everything that matters for resolution stays. It returns a new graph
// and leaves n as it was.
func normalize(n *node) *node {
	copies := map[*node]*node{}
	return normalizeNode(n, copies)
}

func normalizeNode(n *node, copies map[*node]*node) *node {
	if c, ok := copies[n]; ok {
		return c
	}
	c := *n
	if n.named() {
		copies[n] = &c
	}
	c.props = normalizeProps(n)
	if n.doc != nil && *n.doc == "" && n.named() {
		c.doc = nil
	}
	if len(n.aliases) > 1 {
		c.aliases = slices.Clone(n.aliases)
		sort.Slice(c.aliases, func(i, j int) bool { return aliasText(c.aliases[i], n) < aliasText(c.aliases[j], n) })
	}
	if n.items != nil {
		c.items = normalizeNode(n.items, copies)
	}
	if n.branches != nil {
		c.branches = make([]*node, len(n.branches))
		for i, b := range n.branches {
			c.branches[i] = normalizeNode(b, copies)
		}
	}
	if n.fields != nil {
		c.fields = make([]*field, len(n.fields))
		for i, f := range n.fields {
			nf := *f
			nf.typ = normalizeNode(f.typ, copies)
			if len(f.aliases) > 1 {
				nf.aliases = slices.Clone(f.aliases)
				sort.Strings(nf.aliases)
			}
			nf.props = sortedProps(f.props, nil)
			if f.defaultValue != nil {
				if d := defaultAsType(f.defaultValue, f.typ, 0); d != nil {
					nf.defaultValue = d
				}
			}
			c.fields[i] = &nf
		}
	}
	return &c
}

// aliasText is an alias as Java's Schema.getAliases gives it (Confluent sorts those).
func aliasText(a name, n *node) string {
	if a.space == "" && n.name.space != "" {
		return "." + a.simple
	}
	return a.full()
}

// normalizeProps puts a valid logical type's attributes first (logicalType, then a decimal's
// precision and a non-zero scale), then the other properties sorted by name.
func normalizeProps(n *node) []prop {
	var first []prop
	if lt, ok := logicalTypeOf(n); ok {
		first = append(first, prop{key: "logicalType", value: n.prop("logicalType")})
		if lt == "decimal" {
			first = append(first, prop{key: "precision", value: n.prop("precision")})
			if scale := n.prop("scale"); scale != nil && scale.text != "0" {
				first = append(first, prop{key: "scale", value: scale})
			}
		}
	}
	return sortedProps(n.props, first)
}

func sortedProps(props, first []prop) []prop {
	if len(props) == 0 {
		return nil
	}
	out := append([]prop(nil), first...)
	rest := make([]prop, 0, len(props))
	for _, p := range props {
		if !slices.ContainsFunc(first, func(q prop) bool { return q.key == p.key }) {
			rest = append(rest, p)
		}
	}
	sort.SliceStable(rest, func(i, j int) bool { return rest[i].key < rest[j].key })
	return append(out, rest...)
}

// logicalTypeOf is the schema's logical type when Avro's Java library accepts it (an invalid or
// unknown one is only a property).
func logicalTypeOf(n *node) (string, bool) {
	lt, ok := n.prop("logicalType").textValue()
	if !ok {
		return "", false
	}
	switch lt {
	case "decimal":
		if n.kind != kindBytes && n.kind != kindFixed {
			return "", false
		}
		precision, ok := intProp(n, "precision")
		if !ok || precision <= 0 {
			return "", false
		}
		scale := int64(0)
		if n.prop("scale") != nil {
			if scale, ok = intProp(n, "scale"); !ok {
				return "", false
			}
		}
		if scale < 0 || scale > precision {
			return "", false
		}
		if n.kind == kindFixed && precision > int64(math.Floor(math.Log10(2)*float64(8*n.size-1))) {
			return "", false
		}
		return lt, true
	case "big-decimal":
		return lt, n.kind == kindBytes
	case "uuid":
		return lt, n.kind == kindString || (n.kind == kindFixed && n.size == 16)
	case "date", "time-millis":
		return lt, n.kind == kindInt
	case "time-micros", "timestamp-millis", "timestamp-micros", "timestamp-nanos",
		"local-timestamp-millis", "local-timestamp-micros", "local-timestamp-nanos":
		return lt, n.kind == kindLong
	case "duration":
		return lt, n.kind == kindFixed && n.size == 12
	}
	return "", false
}

func intProp(n *node, key string) (int64, bool) {
	v := n.prop(key)
	if v == nil || v.kind != jsonInt {
		return 0, false
	}
	i, err := strconv.ParseInt(v.text, 10, 64)
	return i, err == nil
}

// defaultAsType converts a field's default to its type as Avro's Java JacksonUtils.toObject
// does when Confluent normalizes: numbers become the field's number type, a union's default
// the first non-null branch that takes it. nil means "no conversion" (the default stays).
func defaultAsType(v *jsonValue, t *node, depth int) *jsonValue {
	if depth > maxDepth {
		return nil
	}
	if v.kind == jsonNull {
		return v
	}
	if t.kind == kindUnion {
		for _, b := range t.branches {
			if b.kind == kindNull {
				continue
			}
			if d := defaultAsType(v, b, depth+1); d != nil {
				return d
			}
		}
		return nil
	}
	switch v.kind {
	case jsonBool:
		return v
	case jsonInt, jsonLong:
		switch t.kind {
		case kindInt, kindLong:
			return v
		case kindFloat:
			return &jsonValue{kind: jsonDouble, number: asFloat32(v.float())}
		case kindDouble:
			return &jsonValue{kind: jsonDouble, number: v.float()}
		}
		return nil
	case jsonDouble:
		switch t.kind {
		case kindDouble:
			return v
		case kindFloat:
			return &jsonValue{kind: jsonDouble, number: asFloat32(v.number)}
		}
		return nil
	case jsonString:
		switch t.kind {
		case kindString, kindEnum:
			return v
		case kindBytes, kindFixed:
			return &jsonValue{kind: jsonString, text: latin1(v.text)}
		}
		return nil
	case jsonArray:
		out := &jsonValue{kind: jsonArray, items: make([]*jsonValue, len(v.items))}
		for i, item := range v.items {
			var d *jsonValue
			if t.kind == kindArray {
				d = defaultAsType(item, t.items, depth+1)
			}
			if d == nil {
				d = item
			}
			out.items[i] = d
		}
		return out
	case jsonObject:
		out := &jsonValue{kind: jsonObject, keys: v.keys, values: make([]*jsonValue, len(v.values))}
		for i, item := range v.values {
			var d *jsonValue
			switch t.kind {
			case kindMap:
				d = defaultAsType(item, t.items, depth+1)
			case kindRecord:
				if f := t.fieldByName(v.keys[i]); f != nil {
					d = defaultAsType(item, f.typ, depth+1)
				}
			}
			if d == nil {
				d = item
			}
			out.values[i] = d
		}
		return out
	}
	return nil
}

// latin1 is a string's ISO-8859-1 bytes read back as a string: characters beyond U+00FF
// become '?', as Java's String.getBytes(ISO_8859_1) makes them.
func latin1(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			r = '?'
		}
		out = append(out, r)
	}
	return string(out)
}

// asFloat32 is f rounded to a Java float and read back from its shortest decimal text, as a
// float default is when Confluent writes it (Float.toString) and parses it again (as a double).
func asFloat32(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	g, _ := strconv.ParseFloat(strconv.FormatFloat(float64(float32(f)), 'g', -1, 32), 64)
	return g
}
