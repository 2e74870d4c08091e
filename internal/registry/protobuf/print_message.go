package protobuf

import (
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/descriptorpb"
)

// message prints a message declaration and its body.
func (p *printer) message(raw, lk *descriptorpb.DescriptorProto) string {
	return "message " + raw.GetName() + " {" + p.messageBody(raw, lk) + "}\n"
}

// messageBody prints what is between a message's braces, starting with a newline unless empty.
func (p *printer) messageBody(raw, lk *descriptorpb.DescriptorProto) string {
	var sb strings.Builder
	var ranges []numberRange
	for _, r := range raw.ReservedRange {
		ranges = append(ranges, numberRange{r.GetStart(), r.GetEnd() - 1})
	}
	if reserved := p.reserved(ranges, raw.ReservedName, maxFieldNumber); reserved != "" {
		sb.WriteString("\n" + indented(reserved))
	}
	if opts := p.options(raw.GetOptions(), lk.GetOptions()); len(opts) > 0 {
		sb.WriteByte('\n')
		for _, o := range opts {
			sb.WriteString(indented(optionStatement(o)))
		}
	}

	nested := map[string]int{}
	for i, m := range raw.NestedType {
		nested[m.GetName()] = i
	}
	// localName is the name a field's nested map entry or group type has in raw.NestedType:
	// the parser writes it as declared, a descriptor fully qualified.
	localName := func(f *descriptorpb.FieldDescriptorProto) string {
		if p.descriptor {
			return f.GetTypeName()[strings.LastIndexByte(f.GetTypeName(), '.')+1:]
		}
		return f.GetTypeName()
	}
	mapEntry := func(f *descriptorpb.FieldDescriptorProto) (int, bool) {
		if f.GetLabel() != descriptorpb.FieldDescriptorProto_LABEL_REPEATED || (f.Type != nil && !p.descriptor) {
			return 0, false
		}
		i, ok := nested[localName(f)]
		return i, ok && raw.NestedType[i].GetOptions().GetMapEntry()
	}
	synthetic := syntheticOneofs(raw)
	groupTypes := map[string]bool{}
	var fields, groups []int
	oneofFields := make([][]int, len(raw.OneofDecl))
	for i, f := range raw.Field {
		isGroup := f.GetType() == descriptorpb.FieldDescriptorProto_TYPE_GROUP
		if isGroup {
			groupTypes[localName(f)] = true
		}
		switch {
		case f.OneofIndex != nil && !synthetic[f.GetOneofIndex()] && int(f.GetOneofIndex()) < len(oneofFields):
			oneofFields[f.GetOneofIndex()] = append(oneofFields[f.GetOneofIndex()], i)
		case isGroup:
			groups = append(groups, i)
		default:
			fields = append(fields, i)
		}
	}
	field := func(i int, inOneof bool) string {
		f, lf := raw.Field[i], lk.Field[i]
		if f.GetType() == descriptorpb.FieldDescriptorProto_TYPE_GROUP {
			if j, ok := nested[localName(f)]; ok {
				return p.group(f, raw.NestedType[j], lk.NestedType[j], inOneof)
			}
		}
		var entry, lkEntry *descriptorpb.DescriptorProto
		if j, ok := mapEntry(f); ok {
			entry, lkEntry = raw.NestedType[j], lk.NestedType[j]
		}
		return p.field(f, lf, entry, lkEntry, inOneof)
	}

	if len(fields) > 0 {
		sb.WriteByte('\n')
		for _, i := range p.byNumber(raw.Field, fields) {
			sb.WriteString(indented(field(i, false)))
		}
	}
	type oneof struct {
		index  int
		fields []int
	}
	var oneofs []oneof
	for i := range raw.OneofDecl {
		if synthetic[int32(i)] || (p.normalize && len(oneofFields[i]) == 0) {
			continue
		}
		oneofs = append(oneofs, oneof{i, p.byNumber(raw.Field, oneofFields[i])})
	}
	if p.normalize {
		sort.SliceStable(oneofs, func(a, b int) bool {
			return raw.Field[oneofs[a].fields[0]].GetNumber() < raw.Field[oneofs[b].fields[0]].GetNumber()
		})
	}
	if len(oneofs) > 0 {
		sb.WriteByte('\n')
		for _, o := range oneofs {
			var body strings.Builder
			body.WriteString("oneof " + raw.OneofDecl[o.index].GetName() + " {")
			if opts := p.options(raw.OneofDecl[o.index].GetOptions(), lk.OneofDecl[o.index].GetOptions()); len(opts) > 0 {
				body.WriteByte('\n')
				for _, opt := range opts {
					body.WriteString(indented(optionStatement(opt)))
				}
			}
			if len(o.fields) > 0 {
				body.WriteByte('\n')
				for _, i := range o.fields {
					body.WriteString(indented(field(i, true)))
				}
			}
			body.WriteString("}\n")
			sb.WriteString(indented(body.String()))
		}
	}
	if len(groups) > 0 {
		sb.WriteByte('\n')
		for _, i := range p.byNumber(raw.Field, groups) {
			sb.WriteString(indented(field(i, false)))
		}
	}
	if ranges := p.extensionRanges(raw, lk); ranges != "" {
		sb.WriteString("\n" + indented(ranges))
	}
	if len(raw.Extension) > 0 {
		sb.WriteByte('\n')
		for _, ext := range p.extends(raw.Extension, lk.Extension) {
			sb.WriteString(indented(ext))
		}
	}
	var types strings.Builder
	for i, m := range raw.NestedType {
		if m.GetOptions().GetMapEntry() || groupTypes[m.GetName()] {
			continue
		}
		types.WriteString(indented(p.message(m, lk.NestedType[i])))
	}
	for i, e := range raw.EnumType {
		types.WriteString(indented(p.enum(e, lk.EnumType[i])))
	}
	if types.Len() > 0 {
		sb.WriteString("\n" + types.String())
	}
	return sb.String()
}

// syntheticOneofs finds the oneofs the compiler made for proto3 optional fields; they are
// written as "optional", not as oneofs.
func syntheticOneofs(m *descriptorpb.DescriptorProto) map[int32]bool {
	out := map[int32]bool{}
	for _, f := range m.Field {
		if f.GetProto3Optional() && f.OneofIndex != nil {
			out[f.GetOneofIndex()] = true
		}
	}
	return out
}

// byNumber orders field indexes by field number when normalizing.
func (p *printer) byNumber(fields []*descriptorpb.FieldDescriptorProto, idx []int) []int {
	if !p.normalize {
		return idx
	}
	out := append([]int(nil), idx...)
	sort.SliceStable(out, func(a, b int) bool { return fields[out[a]].GetNumber() < fields[out[b]].GetNumber() })
	return out
}

func (p *printer) label(f *descriptorpb.FieldDescriptorProto, inOneof bool) string {
	if inOneof {
		return ""
	}
	switch f.GetLabel() {
	case descriptorpb.FieldDescriptorProto_LABEL_REPEATED:
		return "repeated "
	case descriptorpb.FieldDescriptorProto_LABEL_REQUIRED:
		return "required "
	}
	switch p.syntax {
	case "proto3":
		if f.GetProto3Optional() {
			return "optional "
		}
		return ""
	case "editions":
		return ""
	}
	return "optional "
}

func scalarName(t descriptorpb.FieldDescriptorProto_Type) string {
	return strings.ToLower(strings.TrimPrefix(t.String(), "TYPE_"))
}

// typeName is a field's type as written (canonical) or fully qualified (normalized).
func (p *printer) typeName(raw, lk *descriptorpb.FieldDescriptorProto) string {
	switch raw.GetType() {
	case descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, descriptorpb.FieldDescriptorProto_TYPE_ENUM, descriptorpb.FieldDescriptorProto_TYPE_GROUP:
	default:
		if raw.Type != nil {
			return scalarName(raw.GetType())
		}
	}
	if p.normalize && lk.GetTypeName() != "" {
		return lk.GetTypeName()
	}
	return raw.GetTypeName()
}

// field prints one field; entry is the map entry message when the field is a map.
func (p *printer) field(raw, lk *descriptorpb.FieldDescriptorProto, entry, lkEntry *descriptorpb.DescriptorProto, inOneof bool) string {
	var sb strings.Builder
	if entry != nil && len(entry.Field) == 2 && len(lkEntry.Field) == 2 {
		sb.WriteString("map<" + p.typeName(entry.Field[0], lkEntry.Field[0]) + ", " + p.typeName(entry.Field[1], lkEntry.Field[1]) + ">")
	} else {
		sb.WriteString(p.label(raw, inOneof) + p.typeName(raw, lk))
	}
	sb.WriteString(" " + raw.GetName() + " = " + strconv.Itoa(int(raw.GetNumber())))
	sb.WriteString(bracketOptions(p.fieldOptions(raw, lk)))
	sb.WriteString(";\n")
	return sb.String()
}

// fieldOptions adds to the normalized form the two options that the compiler moves out of
// FieldOptions: default and an explicit json_name.
func (p *printer) fieldOptions(raw, lk *descriptorpb.FieldDescriptorProto) []option {
	opts := p.options(raw.GetOptions(), lk.GetOptions())
	if p.descriptor && !p.normalize {
		// A descriptor keeps default and json_name as fields; Confluent writes them first.
		var special []option
		if raw.DefaultValue != nil && p.syntax != "proto3" {
			special = append(special, option{name: "default", value: defaultValue(raw)})
		}
		if raw.JsonName != nil && raw.Extendee == nil { // not allowed on an extension
			special = append(special, option{name: "json_name", value: quote(raw.GetJsonName())})
		}
		return append(special, opts...)
	}
	if !p.normalize {
		return opts
	}
	if lk.DefaultValue != nil {
		opts = append(opts, option{name: "default", value: defaultValue(lk)})
	}
	for _, u := range raw.GetOptions().GetUninterpretedOption() {
		if len(u.Name) == 1 && !u.Name[0].GetIsExtension() && u.Name[0].GetNamePart() == "json_name" {
			opts = append(opts, option{name: "json_name", value: quote(lk.GetJsonName())})
		}
	}
	sort.SliceStable(opts, func(i, j int) bool { return opts[i].name < opts[j].name })
	return opts
}

func defaultValue(f *descriptorpb.FieldDescriptorProto) string {
	v := f.GetDefaultValue()
	switch f.GetType() {
	case descriptorpb.FieldDescriptorProto_TYPE_STRING:
		return quote(v)
	case descriptorpb.FieldDescriptorProto_TYPE_BYTES:
		return "\"" + v + "\"" // already escaped by the compiler
	}
	return v
}

func (p *printer) group(raw *descriptorpb.FieldDescriptorProto, msg, lkMsg *descriptorpb.DescriptorProto, inOneof bool) string {
	return p.label(raw, inOneof) + "group " + msg.GetName() + " = " + strconv.Itoa(int(raw.GetNumber())) +
		" {" + p.messageBody(msg, lkMsg) + "}\n"
}

// extends prints extension fields grouped by the message they extend, in order of first
// appearance (the descriptor does not keep the extend blocks as written).
func (p *printer) extends(raw, lk []*descriptorpb.FieldDescriptorProto) []string {
	var order []string
	byExtendee := map[string][]int{}
	for i, f := range raw {
		name := f.GetExtendee()
		if p.normalize {
			name = lk[i].GetExtendee()
		}
		if _, ok := byExtendee[name]; !ok {
			order = append(order, name)
		}
		byExtendee[name] = append(byExtendee[name], i)
	}
	out := make([]string, 0, len(order))
	for _, name := range order {
		var sb strings.Builder
		sb.WriteString("extend " + name + " {\n")
		for _, i := range p.byNumber(raw, byExtendee[name]) {
			sb.WriteString(indented(p.field(raw[i], lk[i], nil, nil, false)))
		}
		sb.WriteString("}\n")
		out = append(out, sb.String())
	}
	return out
}

// numberRange is an inclusive range of field or enum numbers.
type numberRange struct{ start, end int32 }

func (r numberRange) String(max int32) string {
	switch {
	case r.start == r.end:
		return strconv.Itoa(int(r.start))
	case r.end >= max:
		return strconv.Itoa(int(r.start)) + " to max"
	}
	return strconv.Itoa(int(r.start)) + " to " + strconv.Itoa(int(r.end))
}

// reserved prints reserved statements: ranges on one line and names on another, or, when
// normalizing, one a line in number order and then the names in order.
func (p *printer) reserved(ranges []numberRange, names []string, max int32) string {
	nameText := func(n string) string {
		if p.syntax == "editions" {
			return n
		}
		return quote(n)
	}
	var sb strings.Builder
	if p.normalize {
		sorted := append([]numberRange(nil), ranges...)
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].start < sorted[j].start })
		for _, r := range sorted {
			sb.WriteString("reserved " + r.String(max) + ";\n")
		}
		sortedNames := append([]string(nil), names...)
		sort.Strings(sortedNames)
		for _, n := range sortedNames {
			sb.WriteString("reserved " + nameText(n) + ";\n")
		}
		return sb.String()
	}
	if len(ranges) > 0 {
		parts := make([]string, len(ranges))
		for i, r := range ranges {
			parts[i] = r.String(max)
		}
		sb.WriteString("reserved " + strings.Join(parts, ", ") + ";\n")
	}
	if len(names) > 0 {
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = nameText(n)
		}
		sb.WriteString("reserved " + strings.Join(parts, ", ") + ";\n")
	}
	return sb.String()
}

func (p *printer) extensionRanges(raw, lk *descriptorpb.DescriptorProto) string {
	idx := make([]int, len(raw.ExtensionRange))
	for i := range idx {
		idx[i] = i
	}
	if p.normalize {
		sort.SliceStable(idx, func(a, b int) bool {
			return raw.ExtensionRange[idx[a]].GetStart() < raw.ExtensionRange[idx[b]].GetStart()
		})
	}
	var sb strings.Builder
	for _, i := range idx {
		r := raw.ExtensionRange[i]
		rng := numberRange{r.GetStart(), r.GetEnd() - 1}
		var lkOpts *descriptorpb.ExtensionRangeOptions
		if i < len(lk.ExtensionRange) {
			lkOpts = lk.ExtensionRange[i].GetOptions()
		}
		sb.WriteString("extensions " + rng.String(maxFieldNumber) + bracketOptions(p.options(r.GetOptions(), lkOpts)) + ";\n")
	}
	return sb.String()
}

func (p *printer) enum(raw, lk *descriptorpb.EnumDescriptorProto) string {
	var sb strings.Builder
	sb.WriteString("enum " + raw.GetName() + " {")
	var ranges []numberRange
	for _, r := range raw.ReservedRange {
		ranges = append(ranges, numberRange{r.GetStart(), r.GetEnd()})
	}
	reserved := p.reserved(ranges, raw.ReservedName, maxEnumNumber)
	opts := p.options(raw.GetOptions(), lk.GetOptions())
	if reserved != "" {
		sb.WriteString("\n" + indented(reserved))
	} else if len(opts) > 0 || len(raw.Value) > 0 {
		sb.WriteByte('\n')
	}
	for _, o := range opts {
		sb.WriteString(indented(optionStatement(o)))
	}
	idx := make([]int, len(raw.Value))
	for i := range idx {
		idx[i] = i
	}
	if p.normalize {
		sort.SliceStable(idx, func(a, b int) bool {
			va, vb := raw.Value[idx[a]], raw.Value[idx[b]]
			if va.GetNumber() != vb.GetNumber() {
				return va.GetNumber() < vb.GetNumber()
			}
			return va.GetName() < vb.GetName()
		})
	}
	for _, i := range idx {
		v := raw.Value[i]
		line := v.GetName() + " = " + strconv.Itoa(int(v.GetNumber())) +
			bracketOptions(p.options(v.GetOptions(), lk.Value[i].GetOptions())) + ";\n"
		sb.WriteString(indented(line))
	}
	sb.WriteString("}\n")
	return sb.String()
}

func (p *printer) service(raw, lk *descriptorpb.ServiceDescriptorProto) string {
	var sb strings.Builder
	sb.WriteString("service " + raw.GetName() + " {")
	if opts := p.options(raw.GetOptions(), lk.GetOptions()); len(opts) > 0 {
		sb.WriteByte('\n')
		for _, o := range opts {
			sb.WriteString(indented(optionStatement(o)))
		}
	}
	if len(raw.Method) > 0 {
		sb.WriteByte('\n')
		for i, m := range raw.Method {
			lm := lk.Method[i]
			in, out := m.GetInputType(), m.GetOutputType()
			if p.normalize {
				in, out = lm.GetInputType(), lm.GetOutputType()
			}
			line := "rpc " + m.GetName() + " (" + stream(m.GetClientStreaming()) + in + ") returns (" +
				stream(m.GetServerStreaming()) + out + ")"
			if opts := p.options(m.GetOptions(), lm.GetOptions()); len(opts) > 0 {
				line += " {\n"
				for _, o := range opts {
					line += indented(optionStatement(o))
				}
				line += "}"
			}
			sb.WriteString(indented(line + ";\n"))
		}
	}
	sb.WriteString("}\n")
	return sb.String()
}

func stream(streaming bool) string {
	if streaming {
		return "stream "
	}
	return ""
}
