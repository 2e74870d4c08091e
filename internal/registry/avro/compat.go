package avro

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// Incompatibility types, as Avro's Java SchemaCompatibility names them (Confluent's verbose
// answers carry them as errorType).
const (
	nameMismatch                   = "NAME_MISMATCH"
	fixedSizeMismatch              = "FIXED_SIZE_MISMATCH"
	missingEnumSymbols             = "MISSING_ENUM_SYMBOLS"
	readerFieldMissingDefaultValue = "READER_FIELD_MISSING_DEFAULT_VALUE"
	typeMismatch                   = "TYPE_MISMATCH"
	missingUnionBranch             = "MISSING_UNION_BRANCH"
)

// incompatibility is one reason a reader cannot read a writer's data: its type, where in the
// reader it was found (loc, then extra), and what Avro's message is made of: the reader and
// writer types compared, or a ready detail. The texts are made only when asked for, since a
// wide union can find (and memoize) many incompatibilities that are never reported.
type incompatibility struct {
	kind           string
	loc            *location
	extra          string
	reader, writer *node
	detail         string
}

// detailText is Avro's message for the incompatibility (Confluent's additionalInfo).
func (inc incompatibility) detailText() string {
	switch inc.kind {
	case fixedSizeMismatch:
		return "expected: " + strconv.Itoa(inc.writer.size) + ", found: " + strconv.Itoa(inc.reader.size)
	case nameMismatch:
		return "expected: " + inc.writer.name.full()
	case missingUnionBranch:
		return "reader union lacking writer type: " + inc.writer.kind.upper()
	case typeMismatch:
		return "reader type: " + inc.reader.kind.upper() + " not compatible with writer type: " + inc.writer.kind.upper()
	}
	return inc.detail
}

// location is where the walk is, as a chain of JSON pointer tokens back to the root (whose
// token Avro leaves out of paths). It lives on the walk's stack; only an incompatibility turns
// it into a string.
type location struct {
	parent *location
	token  string
	index  int // used when token is ""; -1 for none
}

// pathOf is the JSON pointer of loc with extra tokens appended.
func pathOf(loc *location, extra ...string) string {
	var tokens []string
	for l := loc; l != nil && l.parent != nil; l = l.parent { // the root's token is left out
		t := l.token
		if l.index >= 0 {
			t = strconv.Itoa(l.index)
		}
		tokens = append(tokens, t)
	}
	slices.Reverse(tokens)
	tokens = append(tokens, extra...)
	var b strings.Builder
	b.WriteByte('/')
	for i, t := range tokens {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// CanRead applies Avro's schema resolution rules with this schema as the reader, the way
// Confluent's AvroSchema.isBackwardCompatible does (Avro's SchemaCompatibility): each reader
// field needs a writer field (by name or alias) or a default; numbers promote (int to long,
// float or double; long to float or double; float to double) and string and bytes convert
// both ways; named types must have the same name (or the reader an alias of the writer's full
// name); fixed sizes must match; the reader's enum must hold every writer symbol unless it has
// a default; every branch of a writer union must be readable, and a non-union writer must be
// readable by some branch of a reader union. Recursive types are compared once per pair.
//
// Each message is Confluent's: {errorType:'…', description:'…', additionalInfo:'…'}. Like
// Confluent's, the descriptions hold two %s placeholders standing for the reader's and the
// writer's role ("new" and "old" when checking BACKWARD); the registry fills them in with
// format.FillRoles. A writer of another format gives Confluent's "different schema type" message.
func (s *Schema) CanRead(writer format.Schema) []string {
	w, ok := writer.(*Schema)
	if !ok {
		return []string{"Incompatible because of different schema type"}
	}
	c := &checker{memo: map[[2]*node]memoEntry{}, budget: maxPairs}
	found := c.compat(&location{index: -1}, s.root, w.root)
	if c.budget < 0 {
		return []string{tooLarge}
	}
	if len(found) == 0 {
		return nil
	}
	messages := make([]string, len(found))
	for i, inc := range found {
		messages[i] = inc.message()
	}
	return messages
}

// maxPairs bounds the (reader, writer) pairs one CanRead compares. Each pair is compared once,
// but wide unions on both sides make every branch meet every branch, so two large schemas could
// otherwise keep a request busy for minutes.
var maxPairs = 1_000_000 // a variable so tests can lower it

// tooLarge is CanRead's answer past maxPairs, in the form of Confluent's answer when its check
// fails: the schemas are taken as incompatible.
const tooLarge = "Unexpected exception during compatibility check: the schemas are too large to compare (more than 1000000 pairs of types)"

// checker walks a reader and a writer together. memo holds each (reader, writer) pair's
// result once known; a pair met again while its own check is under way (a recursive type) is
// taken as compatible, as Avro does.
type checker struct {
	memo       map[[2]*node]memoEntry
	fieldIndex map[*node]map[string]*field
	budget     int // pairs still allowed; below zero, the walk stops
}

// memoEntry is a pair's result, or (done false) the mark of a check under way.
type memoEntry struct {
	done  bool
	found []incompatibility
}

// compat compares a pair at loc (whose parent is the enclosing place; a nil parent starts a
// fresh path, as Avro's two-argument getCompatibility does).
//
// Only pairs with a named type are memoized: every other type has one parent, so such a pair is
// reached again only through its parents' pair, which a named type above it already memoizes
// (Avro memoizes every pair; the results are the same and the memo stays small).
func (c *checker) compat(loc *location, reader, writer *node) []incompatibility {
	if c.budget--; c.budget < 0 {
		return nil
	}
	if !reader.named() && !writer.named() {
		return c.calculate(reader, writer, loc)
	}
	pair := [2]*node{reader, writer}
	if entry, ok := c.memo[pair]; ok {
		return entry.found // nil while under way: a recursive pair counts as compatible
	}
	c.memo[pair] = memoEntry{}
	found := c.calculate(reader, writer, loc)
	c.memo[pair] = memoEntry{done: true, found: found}
	return found
}

// child is the location of token (or index, when token is "") under parent.
func child(parent *location, token string, index int) location {
	return location{parent: parent, token: token, index: index}
}

func (c *checker) calculate(reader, writer *node, loc *location) []incompatibility {
	if reader.kind == writer.kind {
		switch reader.kind {
		case kindArray:
			items := child(loc, "items", -1)
			return c.compat(&items, reader.items, writer.items)
		case kindMap:
			values := child(loc, "values", -1)
			return c.compat(&values, reader.items, writer.items)
		case kindFixed:
			found := checkNames(reader, writer, loc)
			if reader.size != writer.size {
				found = append(found, incompatibility{kind: fixedSizeMismatch, loc: loc, extra: "size",
					reader: reader, writer: writer})
			}
			return found
		case kindEnum:
			return append(checkNames(reader, writer, loc), checkSymbols(reader, writer, loc)...)
		case kindRecord:
			return append(checkNames(reader, writer, loc), c.checkFields(reader, writer, loc)...)
		case kindUnion:
			var found []incompatibility
			for i, branch := range writer.branches {
				// Avro checks each writer branch afresh (its own path starts at the root) and
				// reports the branch at the union's place.
				if len(c.compat(&location{index: -1}, reader, branch)) > 0 {
					found = append(found, incompatibility{kind: missingUnionBranch, loc: loc,
						extra: strconv.Itoa(i), reader: reader, writer: branch})
				}
			}
			return found
		}
		return nil // the same primitive
	}
	if writer.kind == kindUnion {
		var found []incompatibility
		for i, branch := range writer.branches {
			here := child(loc, "", i)
			found = append(found, c.compat(&here, reader, branch)...)
		}
		return found
	}
	switch reader.kind {
	case kindLong:
		if writer.kind == kindInt {
			return nil
		}
	case kindFloat:
		if writer.kind == kindInt || writer.kind == kindLong {
			return nil
		}
	case kindDouble:
		if writer.kind == kindInt || writer.kind == kindLong || writer.kind == kindFloat {
			return nil
		}
	case kindBytes:
		if writer.kind == kindString {
			return nil
		}
	case kindString:
		if writer.kind == kindBytes {
			return nil
		}
	case kindUnion:
		for _, branch := range reader.branches {
			if len(c.compat(&location{index: -1}, branch, writer)) == 0 {
				return nil
			}
		}
		return []incompatibility{{kind: missingUnionBranch, loc: loc, reader: reader, writer: writer}}
	}
	return []incompatibility{{kind: typeMismatch, loc: loc, reader: reader, writer: writer}}
}

// checkNames compares named types' simple names, or the writer's full name with the reader's
// aliases.
func checkNames(reader, writer *node, loc *location) []incompatibility {
	if reader.name.simple == writer.name.simple {
		return nil
	}
	if len(reader.aliases) > 0 {
		full := writer.name.full()
		for _, a := range reader.aliases {
			if aliasText(a, reader) == full {
				return nil
			}
		}
	}
	return []incompatibility{{kind: nameMismatch, loc: loc, extra: "name", reader: reader, writer: writer}}
}

// checkSymbols finds the writer's enum symbols the reader lacks; a reader enum with a default
// reads them all.
func checkSymbols(reader, writer *node, loc *location) []incompatibility {
	have := make(map[string]bool, len(reader.symbols))
	for _, s := range reader.symbols {
		have[s] = true
	}
	var missing []string
	for _, s := range writer.symbols {
		if !have[s] {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 || reader.enumDefault != nil {
		return nil
	}
	sort.Strings(missing)
	return []incompatibility{{kind: missingEnumSymbols, loc: loc, extra: "symbols",
		detail: "[" + strings.Join(missing, ", ") + "]"}}
}

func (c *checker) checkFields(reader, writer *node, loc *location) []incompatibility {
	var found []incompatibility
	fields := child(loc, "fields", -1)
	for i, rf := range reader.fields {
		here := child(&fields, "", i)
		typeLoc := child(&here, "type", -1)
		wf := c.writerField(writer, rf)
		switch {
		case wf != nil:
			found = append(found, c.compat(&typeLoc, rf.typ, wf.typ)...)
		case rf.defaultValue != nil:
		case rf.typ.kind == kindEnum && rf.typ.enumDefault != nil:
			// Avro compares the enum with the writer record here (and so finds them different).
			found = append(found, c.compat(&typeLoc, rf.typ, writer)...)
		default:
			found = append(found, incompatibility{kind: readerFieldMissingDefaultValue, loc: &here, detail: rf.name})
		}
	}
	return found
}

// writerField finds the writer field a reader field reads: the one of its name, else the first
// of its aliases present. (Avro fails outright when several match; this takes the first.)
func (c *checker) writerField(writer *node, rf *field) *field {
	if c.fieldIndex == nil {
		c.fieldIndex = map[*node]map[string]*field{}
	}
	index, ok := c.fieldIndex[writer]
	if !ok {
		index = make(map[string]*field, len(writer.fields))
		for _, f := range writer.fields {
			index[f.name] = f
		}
		c.fieldIndex[writer] = index
	}
	if f := index[rf.name]; f != nil {
		return f
	}
	for _, a := range rf.aliases {
		if f := index[a]; f != nil {
			return f
		}
	}
	return nil
}

// message is Confluent's text for the incompatibility (its avro.Difference).
func (inc incompatibility) message() string {
	path := pathOf(inc.loc)
	if inc.extra != "" {
		path = pathOf(inc.loc, inc.extra)
	}
	detail := inc.detailText()
	var description string
	switch inc.kind {
	case fixedSizeMismatch:
		description = "The size of FIXED type field at path '" + path + "' in the %s schema does not match with the %s schema"
	case typeMismatch:
		description = "The type (path '" + path + "') of a field in the %s schema does not match with the %s schema"
	case nameMismatch:
		description = "The name of the schema has changed (path '" + path + "')"
	case missingEnumSymbols:
		description = "The %s schema is missing enum symbols '" + detail + "' at path '" + path + "' in the %s schema"
	case missingUnionBranch:
		description = "The %s schema is missing a type inside a union field at path '" + path + "' in the %s schema"
	case readerFieldMissingDefaultValue:
		description = "The field '" + detail + "' at path '" + path + "' in the %s schema has no default value and is missing in the %s schema"
	}
	return "{errorType:'" + inc.kind + "', description:'" + description + "', additionalInfo:'" + detail + "'}"
}
