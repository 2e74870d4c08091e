package avro

import (
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

// incompatibility is one reason a reader cannot read a writer's data: its type, the detail
// (Avro's message) and where in the reader it was found, as JSON pointer tokens from the root.
type incompatibility struct {
	kind     string
	detail   string
	location []string
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
	c := &checker{memo: map[[2]*node][]incompatibility{}, inProgress: map[[2]*node]bool{}}
	found := c.compat("", s.root, w.root, nil)
	if len(found) == 0 {
		return nil
	}
	messages := make([]string, len(found))
	for i, inc := range found {
		messages[i] = inc.message()
	}
	return messages
}

// checker walks a reader and a writer together. memo holds each (reader, writer) pair's
// result once known; a pair met again while its own check is under way (a recursive type) is
// taken as compatible, as Avro does.
type checker struct {
	memo       map[[2]*node][]incompatibility
	inProgress map[[2]*node]bool
	fieldIndex map[*node]map[string]*field
}

func (c *checker) compat(token string, reader, writer *node, location []string) []incompatibility {
	location = append(location[:len(location):len(location)], token)
	pair := [2]*node{reader, writer}
	if c.inProgress[pair] {
		return nil
	}
	if found, ok := c.memo[pair]; ok {
		return found
	}
	c.inProgress[pair] = true
	found := c.calculate(reader, writer, location)
	delete(c.inProgress, pair)
	c.memo[pair] = found
	return found
}

func (c *checker) calculate(reader, writer *node, location []string) []incompatibility {
	if reader.kind == writer.kind {
		switch reader.kind {
		case kindArray:
			return c.compat("items", reader.items, writer.items, location)
		case kindMap:
			return c.compat("values", reader.items, writer.items, location)
		case kindFixed:
			found := checkNames(reader, writer, location)
			if reader.size != writer.size {
				found = append(found, incompatibility{fixedSizeMismatch,
					"expected: " + strconv.Itoa(writer.size) + ", found: " + strconv.Itoa(reader.size),
					at(location, "size")})
			}
			return found
		case kindEnum:
			return append(checkNames(reader, writer, location), checkSymbols(reader, writer, location)...)
		case kindRecord:
			return append(checkNames(reader, writer, location), c.checkFields(reader, writer, location)...)
		case kindUnion:
			var found []incompatibility
			for i, branch := range writer.branches {
				// Avro checks each writer branch afresh (its own path starts at the root) and
				// reports the branch at the union's place.
				if len(c.compat("", reader, branch, nil)) > 0 {
					found = append(found, incompatibility{missingUnionBranch,
						"reader union lacking writer type: " + branch.kind.upper(),
						at(location, strconv.Itoa(i))})
				}
			}
			return found
		}
		return nil // the same primitive
	}
	if writer.kind == kindUnion {
		var found []incompatibility
		for i, branch := range writer.branches {
			found = append(found, c.compat(strconv.Itoa(i), reader, branch, location)...)
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
			if len(c.compat("", branch, writer, nil)) == 0 {
				return nil
			}
		}
		return []incompatibility{{missingUnionBranch,
			"reader union lacking writer type: " + writer.kind.upper(), at(location)}}
	}
	return []incompatibility{{typeMismatch,
		"reader type: " + reader.kind.upper() + " not compatible with writer type: " + writer.kind.upper(),
		at(location)}}
}

// checkNames compares named types' simple names, or the writer's full name with the reader's
// aliases.
func checkNames(reader, writer *node, location []string) []incompatibility {
	if reader.name.simple == writer.name.simple {
		return nil
	}
	full := writer.name.full()
	for _, a := range reader.aliases {
		if aliasText(a, reader) == full {
			return nil
		}
	}
	return []incompatibility{{nameMismatch, "expected: " + full, at(location, "name")}}
}

// checkSymbols finds the writer's enum symbols the reader lacks; a reader enum with a default
// reads them all.
func checkSymbols(reader, writer *node, location []string) []incompatibility {
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
	return []incompatibility{{missingEnumSymbols, "[" + strings.Join(missing, ", ") + "]",
		at(location, "symbols")}}
}

func (c *checker) checkFields(reader, writer *node, location []string) []incompatibility {
	var found []incompatibility
	fieldsAt := at(location, "fields")
	for i, rf := range reader.fields {
		here := at(fieldsAt, strconv.Itoa(i))
		wf := c.writerField(writer, rf)
		switch {
		case wf != nil:
			found = append(found, c.compat("type", rf.typ, wf.typ, here)...)
		case rf.defaultValue != nil:
		case rf.typ.kind == kindEnum && rf.typ.enumDefault != nil:
			// Avro compares the enum with the writer record here (and so finds them different).
			found = append(found, c.compat("type", rf.typ, writer, here)...)
		default:
			found = append(found, incompatibility{readerFieldMissingDefaultValue, rf.name, here})
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

// at is location with tokens added, in a new slice.
func at(location []string, tokens ...string) []string {
	out := make([]string, 0, len(location)+len(tokens))
	return append(append(out, location...), tokens...)
}

// path is the location as a JSON pointer, without the root's empty token.
func (inc incompatibility) path() string {
	tokens := inc.location
	if len(tokens) > 0 {
		tokens = tokens[1:]
	}
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

// message is Confluent's text for the incompatibility (its avro.Difference).
func (inc incompatibility) message() string {
	path := inc.path()
	var description string
	switch inc.kind {
	case fixedSizeMismatch:
		description = "The size of FIXED type field at path '" + path + "' in the %s schema does not match with the %s schema"
	case typeMismatch:
		description = "The type (path '" + path + "') of a field in the %s schema does not match with the %s schema"
	case nameMismatch:
		description = "The name of the schema has changed (path '" + path + "')"
	case missingEnumSymbols:
		description = "The %s schema is missing enum symbols '" + inc.detail + "' at path '" + path + "' in the %s schema"
	case missingUnionBranch:
		description = "The %s schema is missing a type inside a union field at path '" + path + "' in the %s schema"
	case readerFieldMissingDefaultValue:
		description = "The field '" + inc.detail + "' at path '" + path + "' in the %s schema has no default value and is missing in the %s schema"
	}
	return "{errorType:'" + inc.kind + "', description:'" + description + "', additionalInfo:'" + inc.detail + "'}"
}
