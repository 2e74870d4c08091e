package protobuf

import (
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// messageFields indexes a message's fields by number, with the (real) oneof each belongs to.
type messageFields struct {
	byNumber map[int]protoreflect.FieldDescriptor
	oneofOf  map[int]string
	oneofs   map[string]protoreflect.OneofDescriptor
}

func collectFields(m protoreflect.MessageDescriptor) messageFields {
	mf := messageFields{byNumber: map[int]protoreflect.FieldDescriptor{}, oneofOf: map[int]string{}, oneofs: map[string]protoreflect.OneofDescriptor{}}
	for i := 0; i < m.Fields().Len(); i++ {
		f := m.Fields().Get(i)
		mf.byNumber[int(f.Number())] = f
		if od := f.ContainingOneof(); od != nil && !od.IsSynthetic() {
			mf.oneofOf[int(f.Number())] = string(od.Name())
		}
	}
	for i := 0; i < m.Oneofs().Len(); i++ {
		if od := m.Oneofs().Get(i); !od.IsSynthetic() {
			mf.oneofs[string(od.Name())] = od
		}
	}
	return mf
}

// compareMessages compares two messages of the same name field by field (fields are matched by
// number wherever they sit, top level or in a oneof), then their nested types.
func (c *diffContext) compareMessages(orig, upd protoreflect.MessageDescriptor) {
	*c.steps++
	if *c.steps <= maxDiffSteps && !c.inScope[orig.FullName()] {
		c.inScope[orig.FullName()] = true
		c.compareFields(orig, upd)
		delete(c.inScope, orig.FullName())
	}
	c.compareTypes(orig.Messages(), orig.Enums(), upd.Messages(), upd.Enums())
}

func (c *diffContext) compareFields(orig, upd protoreflect.MessageDescriptor) {
	o, u := collectFields(orig), collectFields(upd)

	// A oneof gone by name with none of its fields left anywhere was deleted as a whole, which
	// readers cope with; if some fields survive elsewhere, the others count as removed.
	deleted := map[string]bool{}
	for name, od := range o.oneofs {
		if _, ok := u.oneofs[name]; ok {
			continue
		}
		survives := false
		for i := 0; i < od.Fields().Len(); i++ {
			if _, ok := u.byNumber[int(od.Fields().Get(i).Number())]; ok {
				survives = true
				break
			}
		}
		if !survives {
			deleted[name] = true
		}
	}

	// Fields that were independent and are now in one oneof: writer data may set several.
	for i := 0; i < upd.Oneofs().Len(); i++ {
		od := upd.Oneofs().Get(i)
		if od.IsSynthetic() {
			continue
		}
		origins := map[string]bool{}
		movedIn := 0
		for j := 0; j < od.Fields().Len(); j++ {
			number := int(od.Fields().Get(j).Number())
			if oneof, ok := o.oneofOf[number]; ok {
				origins["oneof:"+oneof] = true
			} else if _, ok := o.byNumber[number]; ok {
				origins["field:"+strconv.Itoa(number)] = true
				movedIn++
			}
		}
		if len(origins) > 1 {
			c.enter(string(od.Name()))
			if movedIn > 1 {
				c.add(multipleFieldsMovedToOneof)
			} else {
				c.add(fieldMovedToExistingOneof)
			}
			c.leave()
		}
	}

	names := make([]string, 0, len(o.oneofs)+len(u.oneofs))
	for name := range o.oneofs {
		names = append(names, name)
	}
	for name := range u.oneofs {
		if _, ok := o.oneofs[name]; !ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		c.enter(name)
		if _, ok := u.oneofs[name]; !ok {
			c.add(oneofRemoved)
		} else if _, ok := o.oneofs[name]; !ok {
			c.add(oneofAdded)
		}
		c.leave()
	}

	for _, number := range unionInts(o.byNumber, u.byNumber) {
		of, uf := o.byNumber[number], u.byNumber[number]
		oOneof, uOneof := o.oneofOf[number], u.oneofOf[number]
		tag := strconv.Itoa(number)
		switch {
		case uf == nil && oOneof != "":
			if !deleted[oOneof] {
				c.addAt(oneofFieldRemoved, oOneof, tag)
			}
		case uf == nil:
			if writtenLabel(of) == labelRequired {
				c.addAt(requiredFieldRemoved, tag)
			} else {
				c.addAt(fieldRemoved, tag)
			}
		case of == nil && uOneof != "":
			c.addAt(oneofFieldAdded, uOneof, tag)
		case of == nil:
			if writtenLabel(uf) == labelRequired {
				c.addAt(requiredFieldAdded, tag)
			} else {
				c.addAt(fieldAdded, tag)
			}
		default:
			if oOneof != "" && uOneof == "" {
				c.addAt(oneofFieldMovedToTopLevel, tag)
			}
			if uOneof != "" {
				c.enter(uOneof)
			}
			c.enter(tag)
			c.compareField(of, uf)
			c.leave()
			if uOneof != "" {
				c.leave()
			}
		}
	}
}

func (c *diffContext) addAt(kind differenceType, path ...string) {
	c.path = append(c.path, path...)
	c.add(kind)
	c.path = c.path[:len(c.path)-len(path)]
}

// label is a field's label as the user wrote it; Confluent compares written labels only.
type label int

const (
	labelNone label = iota
	labelOptional
	labelRequired
	labelRepeated
)

func writtenLabel(f protoreflect.FieldDescriptor) label {
	if f.IsMap() {
		return labelNone
	}
	if od := f.ContainingOneof(); od != nil && !od.IsSynthetic() {
		return labelNone
	}
	switch f.Cardinality() {
	case protoreflect.Repeated:
		return labelRepeated
	case protoreflect.Required:
		return labelRequired
	}
	switch f.ParentFile().Syntax() {
	case protoreflect.Proto2:
		return labelOptional
	case protoreflect.Proto3:
		if f.HasOptionalKeyword() {
			return labelOptional
		}
	}
	return labelNone
}

func (c *diffContext) compareField(orig, upd protoreflect.FieldDescriptor) {
	if orig.Name() != upd.Name() {
		c.add(fieldNameChanged)
	}
	c.compareLabelsAndTypes(writtenLabel(orig), writtenLabel(upd), orig, upd)
}

// fieldKind is Confluent's coarse kind of a field's type: enums count as scalars.
type fieldKind int

const (
	kindScalar fieldKind = iota
	kindMessage
	kindMap
)

func kindOf(f protoreflect.FieldDescriptor) fieldKind {
	switch {
	case f.IsMap():
		return kindMap
	case f.Kind() == protoreflect.MessageKind || f.Kind() == protoreflect.GroupKind:
		return kindMessage
	}
	return kindScalar
}

// scalarGroup groups the scalar types whose encodings are interchangeable on the wire.
func scalarGroup(f protoreflect.FieldDescriptor) string {
	switch f.Kind() {
	case protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Uint32Kind,
		protoreflect.Uint64Kind, protoreflect.BoolKind:
		return "GENERAL_NUMBER"
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return "SIGNED_NUMBER"
	case protoreflect.StringKind, protoreflect.BytesKind:
		return "STRING_OR_BYTES"
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		return "FIXED32"
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return "FIXED64"
	case protoreflect.FloatKind:
		return "FLOAT"
	case protoreflect.DoubleKind:
		return "DOUBLE"
	}
	return "ANY"
}

func (c *diffContext) compareLabelsAndTypes(origLabel, updLabel label, orig, upd protoreflect.FieldDescriptor) {
	origKind, updKind := kindOf(orig), kindOf(upd)
	if origKind != updKind {
		c.add(fieldKindChanged)
		return
	}
	switch origKind {
	case kindScalar:
		group := scalarGroup(orig)
		if group != scalarGroup(upd) {
			c.add(fieldScalarKindChanged)
			return
		}
		if origLabel != labelNone && updLabel != labelNone && origLabel != updLabel {
			if group == "STRING_OR_BYTES" {
				c.add(fieldStringOrBytesLabel)
			} else {
				c.add(fieldNumericLabelChanged)
			}
		}
	case kindMessage:
		c.compareMessageTypes(orig.Message(), upd.Message())
	case kindMap:
		c.compareLabelsAndTypes(labelNone, labelNone, orig.MapKey(), upd.MapKey())
		c.compareLabelsAndTypes(labelNone, labelNone, orig.MapValue(), upd.MapValue())
	}
}

// localName is a type's name inside its package.
func localName(m protoreflect.MessageDescriptor) string {
	pkg := string(m.ParentFile().Package())
	name := string(m.FullName())
	if pkg != "" && strings.HasPrefix(name, pkg+".") {
		return name[len(pkg)+1:]
	}
	return name
}

// compareMessageTypes compares the message types of two fields: a different name is
// FIELD_NAMED_TYPE_CHANGED; the same name from a referenced file whose text differs between
// the two schemas is compared in turn, and any incompatibility inside it makes the field's
// type changed too. Types both declared in the schema itself are compared at their own
// declaration, and types both from files neither schema references (well-known types) by
// name only.
func (c *diffContext) compareMessageTypes(orig, upd protoreflect.MessageDescriptor) {
	origLocal, updLocal := localName(orig), localName(upd)
	if origLocal != updLocal {
		c.add(fieldNamedTypeChanged)
		return
	}
	if c.original.origin(orig) == c.update.origin(upd) {
		return
	}
	sub := c.sub(origLocal)
	sub.compareMessages(orig, upd)
	c.diffs = append(c.diffs, sub.diffs...)
	if !sub.compatible() {
		c.add(fieldNamedTypeChanged)
	}
}

// origin says where a type was declared: "" for the schema itself, "builtin:" plus the path
// for a file resolved without a reference, else the referenced file's path and text (two
// references with the same text are the same, as Confluent's same subject and version are).
func (s *protobufSchema) origin(m protoreflect.MessageDescriptor) string {
	path := m.ParentFile().Path()
	if path == s.file.Path() {
		return ""
	}
	if text, ok := s.deps[path]; ok {
		return "ref:" + path + "\x00" + text
	}
	return "builtin:" + path
}
