package protobuf

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bufbuild/protocompile/linker"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// The printer writes a file back as .proto text in Confluent's layout (ProtobufSchemaUtils):
// syntax, package, imports, file options, messages then enums in declaration order, extends,
// services; inside a message: reserved ranges, options, fields, oneofs, groups, extension
// ranges, extends, nested messages then enums; one declaration a line, two spaces an indent.
//
// Canonical form keeps what the user wrote (type names as written, options as written, fields
// in declaration order). Normalized form, Confluent's normalize, makes the text independent of
// declaration order where the order carries no meaning: imports sorted, type names fully
// qualified with a leading dot, options interpreted (custom option names fully qualified,
// sorted by name), fields, oneofs, enum constants, reserved and extension ranges in number
// order; the syntax line is written only for proto3 (and editions), as Confluent does.
//
// It walks the parser's descriptor (raw) and the linker's (linked) in step: both have the same
// shape, so a message's index in one is its index in the other.

const (
	maxFieldNumber = 536870911 // the largest message field number, written "max"
	maxEnumNumber  = math.MaxInt32
)

type printer struct {
	normalize bool
	// descriptor prints a file compiled from a FileDescriptorProto (descriptor.go) in
	// declaration order with its options as interpreted, since a descriptor keeps no others.
	descriptor bool
	syntax     string          // the file's syntax as declared: "", proto2, proto3 or editions
	resolver   linker.Resolver // finds custom option extensions when re-reading options
}

func printFile(s *protobufSchema, normalize bool) string {
	return (&printer{normalize: normalize}).file(s)
}

func (p *printer) file(s *protobufSchema) string {
	p.syntax = s.raw.GetSyntax()
	if lf, ok := s.file.(linker.File); ok {
		p.resolver = linker.ResolverFromFile(lf)
	}
	normalize := p.normalize
	raw, lk := s.raw, s.linked
	var sb strings.Builder
	switch syntax := raw.GetSyntax(); {
	case syntax == "editions":
		sb.WriteString("edition = \"" + editionName(raw.GetEdition()) + "\";\n")
	case syntax == "proto3", syntax == "proto2" && !normalize:
		sb.WriteString("syntax = \"" + syntax + "\";\n")
	}
	if raw.GetPackage() != "" {
		sb.WriteString("package " + raw.GetPackage() + ";\n")
	}
	if len(raw.Dependency) > 0 {
		sb.WriteByte('\n')
		public := map[int32]bool{}
		for _, i := range raw.PublicDependency {
			public[i] = true
		}
		weak := map[int32]bool{}
		for _, i := range raw.WeakDependency {
			weak[i] = true
		}
		var plain, pub, wk []string
		for i, dep := range raw.Dependency {
			switch {
			case public[int32(i)]:
				pub = append(pub, dep)
			case weak[int32(i)]:
				wk = append(wk, dep)
			default:
				plain = append(plain, dep)
			}
		}
		for _, group := range []struct {
			keyword string
			paths   []string
		}{{"import ", plain}, {"import public ", pub}, {"import weak ", wk}} {
			for _, path := range p.sortedDistinct(group.paths) {
				sb.WriteString(group.keyword + quote(path) + ";\n")
			}
		}
	}
	if opts := p.options(raw.GetOptions(), lk.GetOptions()); len(opts) > 0 {
		sb.WriteByte('\n')
		for _, o := range opts {
			sb.WriteString(optionStatement(o))
		}
	}
	if len(raw.MessageType)+len(raw.EnumType) > 0 {
		sb.WriteByte('\n')
		for i, m := range raw.MessageType {
			sb.WriteString(p.message(m, lk.MessageType[i]))
		}
		for i, e := range raw.EnumType {
			sb.WriteString(p.enum(e, lk.EnumType[i]))
		}
	}
	if len(raw.Extension) > 0 {
		sb.WriteByte('\n')
		for _, ext := range p.extends(raw.Extension, lk.Extension) {
			sb.WriteString(ext)
		}
	}
	if len(raw.Service) > 0 {
		sb.WriteByte('\n')
		for i, svc := range raw.Service {
			sb.WriteString(p.service(svc, lk.Service[i]))
		}
	}
	return sb.String()
}

func editionName(e descriptorpb.Edition) string {
	return strings.TrimPrefix(e.String(), "EDITION_")
}

func (p *printer) sortedDistinct(paths []string) []string {
	if !p.normalize {
		return paths
	}
	out := append([]string(nil), paths...)
	sort.Strings(out)
	n := 0
	for i, s := range out {
		if i == 0 || s != out[n-1] {
			out[n] = s
			n++
		}
	}
	return out[:n]
}

// option is one "name = value" pair; value is already .proto text.
type option struct {
	name  string
	value string
}

func optionStatement(o option) string {
	return "option " + o.name + " = " + o.value + ";\n"
}

// options lists a declaration's options: as written (uninterpreted) for the canonical form,
// as interpreted by the compiler for the normalized form.
func (p *printer) options(raw, linked proto.Message) []option {
	if !p.normalize && !p.descriptor {
		return uninterpreted(raw)
	}
	return p.interpreted(linked)
}

func uninterpreted(opts proto.Message) []option {
	if opts == nil {
		return nil
	}
	fd := opts.ProtoReflect().Descriptor().Fields().ByName("uninterpreted_option")
	if fd == nil || !opts.ProtoReflect().Has(fd) {
		return nil
	}
	list := opts.ProtoReflect().Get(fd).List()
	out := make([]option, 0, list.Len())
	for i := 0; i < list.Len(); i++ {
		u, ok := list.Get(i).Message().Interface().(*descriptorpb.UninterpretedOption)
		if !ok {
			continue
		}
		out = append(out, option{name: uninterpretedName(u), value: uninterpretedValue(u)})
	}
	return out
}

func uninterpretedName(u *descriptorpb.UninterpretedOption) string {
	var sb strings.Builder
	for i, part := range u.Name {
		if i > 0 {
			sb.WriteByte('.')
		}
		if part.GetIsExtension() {
			sb.WriteString("(" + part.GetNamePart() + ")")
		} else {
			sb.WriteString(part.GetNamePart())
		}
	}
	return sb.String()
}

func uninterpretedValue(u *descriptorpb.UninterpretedOption) string {
	switch {
	case u.IdentifierValue != nil:
		return u.GetIdentifierValue()
	case u.PositiveIntValue != nil:
		return strconv.FormatUint(u.GetPositiveIntValue(), 10)
	case u.NegativeIntValue != nil:
		return strconv.FormatInt(u.GetNegativeIntValue(), 10)
	case u.DoubleValue != nil:
		return formatFloat(u.GetDoubleValue(), 64)
	case u.StringValue != nil:
		return quote(string(u.GetStringValue()))
	case u.AggregateValue != nil:
		return "{ " + u.GetAggregateValue() + " }"
	}
	return "\"\""
}

func formatFloat(v float64, bits int) string {
	switch {
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case math.IsNaN(v):
		return "nan"
	}
	return strconv.FormatFloat(v, 'g', -1, bits)
}

// interpreted lists the options the compiler set on opts, sorted by name, one entry per
// value of a repeated option. Custom options are named by their full name.
func (p *printer) interpreted(opts proto.Message) []option {
	if opts == nil || !opts.ProtoReflect().IsValid() {
		return nil
	}
	msg := p.withExtensions(opts)
	var out []option
	msg.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Name() == "uninterpreted_option" && !fd.IsExtension() {
			return true
		}
		name := string(fd.Name())
		if fd.IsExtension() {
			name = "(" + string(fd.FullName()) + ")"
		}
		if fd.IsList() {
			list := v.List()
			for i := 0; i < list.Len(); i++ {
				out = append(out, option{name: name, value: p.value(fd, list.Get(i))})
			}
			return true
		}
		out = append(out, option{name: name, value: p.value(fd, v)})
		return true
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// withExtensions re-reads an options message so that custom options the compiler kept as
// unknown bytes become extension fields named by the file's imports.
func (p *printer) withExtensions(opts proto.Message) protoreflect.Message {
	if p.resolver == nil || len(opts.ProtoReflect().GetUnknown()) == 0 {
		return opts.ProtoReflect()
	}
	b, err := proto.Marshal(opts)
	if err != nil {
		return opts.ProtoReflect()
	}
	fresh := opts.ProtoReflect().New().Interface()
	if err := (proto.UnmarshalOptions{Resolver: p.resolver}).Unmarshal(b, fresh); err != nil {
		return opts.ProtoReflect()
	}
	return fresh.ProtoReflect()
}

func (p *printer) value(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return strconv.FormatBool(v.Bool())
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return strconv.FormatInt(int64(v.Enum()), 10)
	case protoreflect.StringKind:
		return quote(v.String())
	case protoreflect.BytesKind:
		return quote(string(v.Bytes()))
	case protoreflect.FloatKind:
		return formatFloat(v.Float(), 32)
	case protoreflect.DoubleKind:
		return formatFloat(v.Float(), 64)
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return p.messageValue(v.Message())
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
		return strconv.FormatUint(v.Uint(), 10)
	default:
		return strconv.FormatInt(v.Int(), 10)
	}
}

// quote writes s as a .proto string literal.
func quote(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	escapeHigh := !utf8.ValidString(s) // keep UTF-8 text readable, bytes exact
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\a':
			sb.WriteString(`\a`)
		case '\b':
			sb.WriteString(`\b`)
		case '\f':
			sb.WriteString(`\f`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		case '\v':
			sb.WriteString(`\v`)
		case '\\':
			sb.WriteString(`\\`)
		case '\'':
			sb.WriteString(`\'`)
		case '"':
			sb.WriteString(`\"`)
		default:
			if c < 0x20 || c == 0x7f || (escapeHigh && c >= 0x80) {
				sb.WriteString("\\" + strconv.FormatUint(uint64(c)>>6, 8) + strconv.FormatUint(uint64(c)>>3&7, 8) + strconv.FormatUint(uint64(c)&7, 8))
			} else {
				sb.WriteByte(c)
			}
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// indented prefixes every line of block with two spaces; blank lines stay blank.
func indented(block string) string {
	lines := strings.Split(strings.TrimSuffix(block, "\n"), "\n")
	var sb strings.Builder
	for _, line := range lines {
		if line != "" {
			sb.WriteString("  ")
		}
		sb.WriteString(line + "\n")
	}
	return sb.String()
}

// bracketOptions writes a declaration's trailing options: [a = 1] or one a line.
func bracketOptions(opts []option) string {
	if len(opts) == 0 {
		return ""
	}
	if len(opts) == 1 {
		return " [" + opts[0].name + " = " + opts[0].value + "]"
	}
	var sb strings.Builder
	sb.WriteString(" [\n")
	for i, o := range opts {
		line := o.name + " = " + o.value
		if i < len(opts)-1 {
			line += ","
		}
		sb.WriteString(indented(line))
	}
	sb.WriteString("]")
	return sb.String()
}

// messageValue writes a message literal, fields in declaration order, then extensions by
// name, map entries by key: the same value always gives the same text (prototext's output
// varies on purpose, so it cannot be stored).
func (p *printer) messageValue(m protoreflect.Message) string {
	var parts []string
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if m.Has(fd) {
			parts = append(parts, p.fieldValue(string(fd.Name()), fd, m.Get(fd))...)
		}
	}
	var extensions []string
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.IsExtension() {
			extensions = append(extensions, p.fieldValue("["+string(fd.FullName())+"]", fd, v)...)
		}
		return true
	})
	sort.Strings(extensions)
	parts = append(parts, extensions...)
	if len(parts) == 0 {
		return "{}"
	}
	return "{ " + strings.Join(parts, " ") + " }"
}

// fieldValue writes one field of a message literal: "name: value", a repeated field one
// element at a time, a map one entry at a time in key order.
func (p *printer) fieldValue(name string, fd protoreflect.FieldDescriptor, v protoreflect.Value) []string {
	switch {
	case fd.IsMap():
		type entry struct{ key, text string }
		var entries []entry
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			key := p.value(fd.MapKey(), k.Value())
			entries = append(entries, entry{key, name + ": { key: " + key + " value: " + p.value(fd.MapValue(), mv) + " }"})
			return true
		})
		sort.Slice(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
		out := make([]string, len(entries))
		for i, e := range entries {
			out[i] = e.text
		}
		return out
	case fd.IsList():
		list := v.List()
		out := make([]string, list.Len())
		for i := range out {
			out[i] = name + ": " + p.value(fd, list.Get(i))
		}
		return out
	}
	return []string{name + ": " + p.value(fd, v)}
}
