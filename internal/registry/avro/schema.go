package avro

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// typeKind is an Avro type.
type typeKind uint8

const (
	kindNull typeKind = iota
	kindBoolean
	kindInt
	kindLong
	kindFloat
	kindDouble
	kindBytes
	kindString
	kindRecord
	kindEnum
	kindFixed
	kindArray
	kindMap
	kindUnion
	kindRef // a name not yet defined where it was used; replaced once the whole text is read
)

var kindNames = [...]string{
	kindNull: "null", kindBoolean: "boolean", kindInt: "int", kindLong: "long",
	kindFloat: "float", kindDouble: "double", kindBytes: "bytes", kindString: "string",
	kindRecord: "record", kindEnum: "enum", kindFixed: "fixed", kindArray: "array",
	kindMap: "map", kindUnion: "union", kindRef: "ref",
}

func (k typeKind) String() string { return kindNames[k] }

// upper is the type's name as Avro's Java Schema.Type prints it (TYPE_MISMATCH messages).
func (k typeKind) upper() string { return strings.ToUpper(kindNames[k]) }

var primitives = map[string]typeKind{
	"null": kindNull, "boolean": kindBoolean, "int": kindInt, "long": kindLong,
	"float": kindFloat, "double": kindDouble, "bytes": kindBytes, "string": kindString,
}

// name is a named type's name: its simple name and its namespace ("" for none).
type name struct {
	simple, space string
}

func (n name) full() string {
	if n.space == "" {
		return n.simple
	}
	return n.space + "." + n.simple
}

// newName is Avro's Name(name, space): a dotted name carries its own namespace.
func newName(text, space string) name {
	if i := strings.LastIndexByte(text, '.'); i >= 0 {
		return name{simple: text[i+1:], space: text[:i]}
	}
	return name{simple: text, space: space}
}

// qualified is the name as written where the enclosing namespace is space: the simple name when
// the namespaces match (unless the simple name is a type's name), else the full name.
func (n name) qualified(space string) string {
	if n.space != "" && n.space == space {
		if _, isPrimitive := primitives[n.simple]; !isPrimitive && !isComplexTypeName(n.simple) {
			return n.simple
		}
	}
	return n.full()
}

func isComplexTypeName(s string) bool {
	switch s {
	case "record", "enum", "array", "map", "union", "fixed":
		return true
	}
	return false
}

// prop is a custom (non-reserved) property, kept in the order written.
type prop struct {
	key   string
	value *jsonValue
}

// node is one Avro type. Named types (record, enum, fixed) are shared by every use of their
// name, so the graph of a recursive record has a cycle; every other node has one parent.
type node struct {
	kind  typeKind
	name  name // named types
	doc   *string
	props []prop
	// aliases of a named type, with the namespace of the type when they have none.
	aliases []name
	isError bool // a record declared with type "error"

	fields []*field // record

	symbols     []string // enum
	enumDefault *string  // enum

	size int // fixed

	items *node // array items, map values

	branches []*node // union

	ref reference // kindRef
}

// reference is a use of a name not defined yet: the full name it has in its namespace and the
// name as written (tried second, as Avro's Java parser does).
type reference struct {
	full, written string
}

// field is a record's field.
type field struct {
	name         string
	typ          *node
	doc          *string
	defaultValue *jsonValue // nil when there is none; a JSON null is a default
	order        string     // "" (ascending), "descending" or "ignore"
	aliases      []string
	props        []prop
}

func (n *node) named() bool {
	return n.kind == kindRecord || n.kind == kindEnum || n.kind == kindFixed
}

func (n *node) prop(key string) *jsonValue {
	for _, p := range n.props {
		if p.key == key {
			return p.value
		}
	}
	return nil
}

func (n *node) fieldByName(name string) *field {
	for _, f := range n.fields {
		if f.name == name {
			return f
		}
	}
	return nil
}

// Reserved attribute names, as Avro's Java Schema: everything else is a custom property.
var (
	schemaReserved = map[string]bool{"doc": true, "fields": true, "items": true, "name": true,
		"namespace": true, "size": true, "symbols": true, "values": true, "type": true, "aliases": true}
	enumReserved = map[string]bool{"doc": true, "fields": true, "items": true, "name": true,
		"namespace": true, "size": true, "symbols": true, "values": true, "type": true,
		"aliases": true, "default": true}
	fieldReserved = map[string]bool{"default": true, "doc": true, "name": true, "order": true,
		"type": true, "aliases": true}
)

// parser builds nodes from JSON. names holds every named type defined so far (those of the
// dependencies first); refs are the uses of names not yet defined, resolved at the end.
type parser struct {
	names       map[string]*node
	pending     []**node // places holding a kindRef node
	nodes       int
	maxNodes    int
	validateDef bool
	// stored parses a schema already registered as Confluent does (validateAsNew off): names,
	// field names and symbols checked with Avro's Unicode rule, namespaces and aliases not at
	// all, defaults not checked.
	stored bool
}

// errParse matches (errors.Is) every error Parse returns.
var errParse = errors.New("avro: invalid schema")

// parseError is what is wrong with a schema. Its text is only the reason, like the messages of
// Avro's Java parser that Confluent puts after "details:" in its 42201 answers.
type parseError struct{ reason string }

func (e *parseError) Error() string { return e.reason }

func (e *parseError) Is(target error) bool { return target == errParse }

func (p *parser) errorf(format string, args ...any) error {
	return &parseError{reason: fmt.Sprintf(format, args...)}
}

// parse reads one type. space is the enclosing namespace.
func (p *parser) parse(v *jsonValue, space string, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, p.errorf("schema is nested deeper than %d levels", maxDepth)
	}
	p.nodes++
	if p.nodes > p.maxNodes {
		return nil, p.errorf("schema has more than %d types", p.maxNodes)
	}
	switch v.kind {
	case jsonString:
		return p.lookup(v.text, space), nil
	case jsonObject:
		typeName, ok := v.get("type").textValue()
		if !ok {
			// Avro's Java parser takes only a name as an object's "type", and so does Confluent.
			return nil, p.errorf("No type: %s", compact(v))
		}
		if kind, isPrimitive := primitives[typeName]; isPrimitive {
			n := &node{kind: kind}
			n.props = customProps(v, schemaReserved)
			return n, nil
		}
		switch typeName {
		case "record", "error":
			return p.parseRecord(v, space, typeName == "error", depth)
		case "enum":
			return p.parseEnum(v, space)
		case "array", "map":
			return p.parseContainer(v, typeName, space, depth)
		case "fixed":
			return p.parseFixed(v, space)
		}
		return nil, p.errorf(`A schema "type" MUST be a primitive type or one of "enum", "fixed", "record", "error", "array" or "map", not %q`, typeName)
	case jsonArray:
		return p.parseUnion(v, space, depth)
	}
	return nil, p.errorf("Schema not yet supported: %s", compact(v))
}

// lookup resolves a name used as a type: a primitive, a defined name (in the enclosing
// namespace first, then as written), or a placeholder resolved once everything is read.
func (p *parser) lookup(text, space string) *node {
	if kind, ok := primitives[text]; ok {
		return &node{kind: kind}
	}
	full := newName(text, space).full()
	if n, ok := p.names[full]; ok {
		return n
	}
	if n, ok := p.names[text]; ok {
		return n
	}
	return &node{kind: kindRef, ref: reference{full: full, written: text}}
}

func (p *parser) parseName(v *jsonValue, space string) (name, error) {
	if ns, ok := v.get("namespace").textValue(); ok {
		space = ns
	}
	text, ok := v.get("name").textValue()
	if !ok {
		return name{}, p.errorf("No name in schema: %s", compact(v))
	}
	n := newName(text, space)
	if err := p.validateFullName(n); err != nil {
		return name{}, err
	}
	if _, isPrimitive := primitives[n.full()]; isPrimitive {
		return name{}, p.errorf("Schemas may not be named after primitives: %s", n.full())
	}
	return n, nil
}

func (p *parser) validateFullName(n name) error {
	if n.space != "" && !p.stored {
		for _, part := range strings.Split(n.space, ".") {
			if !validName(part) {
				return p.errorf("Namespace part %q is invalid in %q", part, n.full())
			}
		}
	}
	if !p.nameOK(n.simple) {
		return p.errorf("Name %q is invalid", n.simple)
	}
	return nil
}

// nameOK checks a simple name, field name or enum symbol.
func (p *parser) nameOK(s string) bool {
	if p.stored {
		return unicodeName(s)
	}
	return validName(s)
}

// unicodeName is Avro's Unicode name rule (Java's UTF_VALIDATOR), which Confluent applies to
// schemas already registered: a letter or an underscore, then letters, digits and underscores.
func unicodeName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// validName is Avro's strict name rule, which Confluent applies to new schemas: a letter or an
// underscore, then letters, digits and underscores.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// define registers a named type. A name defined again (by the schema and one of its
// dependencies, say) must be defined the same way; the first definition is kept.
func (p *parser) define(n *node) (*node, error) {
	full := n.name.full()
	prev, ok := p.names[full]
	if !ok || prev == n {
		p.names[full] = n
		return n, nil
	}
	if canonicalOf(prev) != canonicalOf(n) {
		return nil, p.errorf("Can't redefine: %s", full)
	}
	return prev, nil
}

func (p *parser) parseRecord(v *jsonValue, space string, isError bool, depth int) (*node, error) {
	nm, err := p.parseName(v, space)
	if err != nil {
		return nil, err
	}
	n := &node{kind: kindRecord, name: nm, isError: isError, doc: optionalText(v, "doc")}
	fieldsValue := v.get("fields")
	if fieldsValue == nil || fieldsValue.kind != jsonArray {
		return nil, p.errorf("Record has no fields: %s", compact(v))
	}
	if _, exists := p.names[nm.full()]; !exists {
		p.names[nm.full()] = n // defined before its fields, so they can refer to it
	}
	seen := make(map[string]bool, len(fieldsValue.items))
	for _, fv := range fieldsValue.items {
		f, err := p.parseField(fv, nm.space, depth)
		if err != nil {
			return nil, err
		}
		if seen[f.name] {
			return nil, p.errorf("Duplicate field %s in record %s", f.name, nm.full())
		}
		seen[f.name] = true
		n.fields = append(n.fields, f)
	}
	n.props = customProps(v, schemaReserved)
	if n.aliases, err = p.parseAliases(v, nm.space); err != nil {
		return nil, err
	}
	return p.define(n)
}

func (p *parser) parseField(v *jsonValue, space string, depth int) (*field, error) {
	if v.kind != jsonObject {
		return nil, p.errorf("Field is not an object: %s", compact(v))
	}
	fieldName, ok := v.get("name").textValue()
	if !ok {
		return nil, p.errorf("No field name: %s", compact(v))
	}
	if !p.nameOK(fieldName) {
		return nil, p.errorf("Field name %q is invalid", fieldName)
	}
	typeValue := v.get("type")
	if typeValue == nil {
		return nil, p.errorf("No field type: %s", compact(v))
	}
	typ, err := p.parse(typeValue, space, depth+1)
	if err != nil {
		return nil, err
	}
	f := &field{name: fieldName, typ: typ, doc: optionalText(v, "doc")}
	p.track(&f.typ)
	if orderValue := v.get("order"); orderValue != nil {
		order, ok := orderValue.textValue()
		switch strings.ToLower(order) {
		case "ascending":
			order = ""
		case "descending", "ignore":
			order = strings.ToLower(order)
		default:
			ok = false
		}
		if !ok {
			return nil, p.errorf("Invalid order of field %s: %s", fieldName, compact(orderValue))
		}
		f.order = order
	}
	f.defaultValue = v.get("default")
	if f.defaultValue != nil && (typ.kind == kindFloat || typ.kind == kindDouble) && f.defaultValue.kind == jsonString {
		d, err := javaParseDouble(f.defaultValue.text)
		if err != nil {
			return nil, p.errorf("Invalid default for field %s: %s", fieldName, compact(f.defaultValue))
		}
		f.defaultValue = &jsonValue{kind: jsonDouble, number: d}
	}
	f.props = customProps(v, fieldReserved)
	if aliasesValue := v.get("aliases"); aliasesValue != nil {
		aliases, err := p.aliasStrings(v, aliasesValue)
		if err != nil {
			return nil, err
		}
		f.aliases = aliases
	}
	return f, nil
}

func (p *parser) parseEnum(v *jsonValue, space string) (*node, error) {
	nm, err := p.parseName(v, space)
	if err != nil {
		return nil, err
	}
	n := &node{kind: kindEnum, name: nm, doc: optionalText(v, "doc")}
	symbolsValue := v.get("symbols")
	if symbolsValue == nil || symbolsValue.kind != jsonArray {
		return nil, p.errorf("Enum has no symbols: %s", compact(v))
	}
	seen := make(map[string]bool, len(symbolsValue.items))
	for _, s := range symbolsValue.items {
		symbol, ok := s.textValue()
		if !ok || !p.nameOK(symbol) {
			return nil, p.errorf("Invalid enum symbol %s in %s", compact(s), nm.full())
		}
		if seen[symbol] {
			return nil, p.errorf("Duplicate enum symbol: %s", symbol)
		}
		seen[symbol] = true
		n.symbols = append(n.symbols, symbol)
	}
	if d := v.get("default"); d != nil {
		symbol, ok := d.textValue()
		if !ok || !seen[symbol] {
			return nil, p.errorf("The Enum Default: %s is not in the enum symbol set: [%s]", compact(d), strings.Join(n.symbols, ", "))
		}
		n.enumDefault = &symbol
	}
	n.props = customProps(v, enumReserved)
	if n.aliases, err = p.parseAliases(v, nm.space); err != nil {
		return nil, err
	}
	return p.define(n)
}

func (p *parser) parseFixed(v *jsonValue, space string) (*node, error) {
	nm, err := p.parseName(v, space)
	if err != nil {
		return nil, err
	}
	n := &node{kind: kindFixed, name: nm, doc: optionalText(v, "doc")}
	sizeValue := v.get("size")
	if sizeValue == nil || sizeValue.kind != jsonInt {
		return nil, p.errorf("Invalid or no size: %s", compact(v))
	}
	fmt.Sscan(sizeValue.text, &n.size)
	if n.size < 0 {
		return nil, p.errorf("Invalid or no size: %s", compact(v))
	}
	n.props = customProps(v, schemaReserved)
	if n.aliases, err = p.parseAliases(v, nm.space); err != nil {
		return nil, err
	}
	return p.define(n)
}

func (p *parser) parseContainer(v *jsonValue, typeName, space string, depth int) (*node, error) {
	key, kind := "items", kindArray
	if typeName == "map" {
		key, kind = "values", kindMap
	}
	itemsValue := v.get(key)
	if itemsValue == nil {
		if kind == kindArray {
			return nil, p.errorf("Array has no items type: %s", compact(v))
		}
		return nil, p.errorf("Map has no values type: %s", compact(v))
	}
	items, err := p.parse(itemsValue, space, depth+1)
	if err != nil {
		return nil, err
	}
	n := &node{kind: kind, items: items}
	p.track(&n.items)
	n.props = customProps(v, schemaReserved)
	return n, nil
}

func (p *parser) parseUnion(v *jsonValue, space string, depth int) (*node, error) {
	n := &node{kind: kindUnion, branches: make([]*node, len(v.items))}
	for i, item := range v.items {
		branch, err := p.parse(item, space, depth+1)
		if err != nil {
			return nil, err
		}
		n.branches[i] = branch
		p.track(&n.branches[i])
	}
	return n, nil
}

// checkUnion applies Avro's rules to a union once every name is resolved: no union directly
// inside a union, and no two branches of the same type (or, for named types, the same name).
func (p *parser) checkUnion(n *node) error {
	seen := make(map[string]bool, len(n.branches))
	for _, b := range n.branches {
		if b.kind == kindUnion {
			return p.errorf("Nested union: %s", canonicalOf(n))
		}
		key := b.kind.String()
		if b.named() {
			key = b.name.full()
		}
		if seen[key] {
			return p.errorf("Duplicate in union: %s", key)
		}
		seen[key] = true
	}
	return nil
}

// track remembers where a placeholder for an undefined name sits, to resolve it later.
func (p *parser) track(slot **node) {
	if (*slot).kind == kindRef {
		p.pending = append(p.pending, slot)
	}
}

// resolve replaces the placeholders with the types their names were defined as.
func (p *parser) resolve() error {
	for _, slot := range p.pending {
		ref := *slot
		n, ok := p.names[ref.ref.full]
		if !ok {
			n, ok = p.names[ref.ref.written]
		}
		if !ok {
			return p.errorf("Undefined name: %q", ref.ref.written)
		}
		*slot = n
	}
	p.pending = p.pending[:0]
	return nil
}

func (p *parser) parseAliases(v *jsonValue, space string) ([]name, error) {
	aliasesValue := v.get("aliases")
	if aliasesValue == nil {
		return nil, nil
	}
	texts, err := p.aliasStrings(v, aliasesValue)
	if err != nil {
		return nil, err
	}
	aliases := make([]name, 0, len(texts))
	seen := make(map[name]bool, len(texts))
	for _, text := range texts {
		alias := newName(text, space)
		if !p.stored {
			if err := p.validateFullName(alias); err != nil {
				return nil, err
			}
		}
		if !seen[alias] {
			seen[alias] = true
			aliases = append(aliases, alias)
		}
	}
	return aliases, nil
}

func (p *parser) aliasStrings(v, aliasesValue *jsonValue) ([]string, error) {
	if aliasesValue.kind != jsonArray {
		return nil, p.errorf("aliases not an array: %s", compact(v))
	}
	var out []string
	seen := make(map[string]bool, len(aliasesValue.items))
	for _, a := range aliasesValue.items {
		text, ok := a.textValue()
		if !ok {
			return nil, p.errorf("alias not a string: %s", compact(a))
		}
		if !seen[text] {
			seen[text] = true
			out = append(out, text)
		}
	}
	return out, nil
}

func optionalText(v *jsonValue, key string) *string {
	if s, ok := v.get(key).textValue(); ok {
		return &s
	}
	return nil
}

func customProps(v *jsonValue, reserved map[string]bool) []prop {
	var props []prop
	for i, k := range v.keys {
		if !reserved[k] {
			props = append(props, prop{key: k, value: v.values[i]})
		}
	}
	return props
}

// javaParseDouble reads a float or double default given as a string, as Java's
// Double.parseDouble does for the forms people write ("1.5", "NaN", "-Infinity").
func javaParseDouble(text string) (float64, error) {
	t := strings.TrimSpace(text)
	switch strings.TrimPrefix(strings.TrimPrefix(t, "+"), "-") {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		if strings.HasPrefix(t, "-") {
			return math.Inf(-1), nil
		}
		return math.Inf(1), nil
	}
	lower := strings.ToLower(t)
	if strings.Contains(lower, "inf") || strings.Contains(lower, "nan") || strings.Contains(lower, "_") {
		return 0, fmt.Errorf("not a number: %q", text)
	}
	t = strings.TrimRight(t, "dDfF")
	f, err := strconv.ParseFloat(t, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, err
	}
	return f, nil
}
