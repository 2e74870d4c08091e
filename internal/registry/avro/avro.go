package avro

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// Format is the Avro format of the schema registry. The zero value is ready to use.
type Format struct{}

// New returns the Avro format.
func New() format.Format { return Format{} }

// Type is AVRO.
func (Format) Type() format.SchemaType { return format.Avro }

// Schema is a parsed Avro schema.
type Schema struct {
	root       *node
	canonical  string
	normalized string
}

var (
	_ format.Schema       = (*Schema)(nil)
	_ format.StoredParser = Format{}
)

// Canonical is Confluent's canonicalString: the schema written back as Avro's Java library
// writes it, with the dependencies' types referred to by name.
func (s *Schema) Canonical() string { return s.canonical }

// Normalized is the canonical text of Confluent's normalize=true form.
func (s *Schema) Normalized() string { return s.normalized }

// Resolved is the schema with its dependencies' types written out where they are first used
// (Confluent's format=resolved, Avro's Schema.toString()).
func (s *Schema) Resolved() string { return canonicalWithKnown(s.root, nil) }

// Formatted is the schema in Confluent's format name: "resolved" (see Resolved).
func (s *Schema) Formatted(name string) (string, bool) {
	if name == "resolved" {
		return s.Resolved(), true
	}
	return "", false
}

// Parse parses an Avro schema whose references the registry resolved into deps. Each
// dependency (and, before it, its own dependencies) is parsed first, so the schema can use the
// named types they define. Defaults are checked against their fields' types and names against
// Avro's strict rule, as Confluent checks a schema being registered.
func (Format) Parse(schema string, deps []format.Dependency) (format.Schema, error) {
	return parseSafely(schema, deps, false)
}

// ParseStored parses a schema already registered (read from _schemas, perhaps written by
// Confluent's registry) as Confluent does: defaults are not checked, names only with Avro's
// Unicode rule, namespaces and aliases not at all. It implements format.StoredParser.
func (Format) ParseStored(schema string, deps []format.Dependency) (format.Schema, error) {
	return parseSafely(schema, deps, true)
}

func parseSafely(schema string, deps []format.Dependency, stored bool) (parsed format.Schema, err error) {
	defer func() {
		if r := recover(); r != nil {
			parsed, err = nil, &parseError{reason: fmt.Sprintf("%v", r)}
		}
	}()
	s, err := parse(schema, deps, stored)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func parse(schema string, deps []format.Dependency, stored bool) (*Schema, error) {
	size := len(schema)
	forEachDependency(deps, map[string]bool{}, func(d format.Dependency) { size += len(d.Schema) })
	p := &parser{
		names:       map[string]*node{},
		maxNodes:    size + 16, // every type takes at least one byte of JSON
		validateDef: !stored,
		stored:      stored,
	}
	var depNames []string
	var depErr error
	forEachDependency(deps, map[string]bool{}, func(d format.Dependency) {
		if depErr != nil {
			return
		}
		root, err := p.parseText(d.Schema)
		if err != nil {
			depErr = fmt.Errorf("reference %q: %w", d.Name, err)
			return
		}
		if root.named() {
			depNames = append(depNames, root.name.full())
		}
	})
	if depErr != nil {
		return nil, depErr
	}
	root, err := p.parseText(schema)
	if err != nil {
		return nil, err
	}
	s := &Schema{root: root}
	s.canonical = canonicalWithKnown(root, depNames)
	s.normalized = canonicalWithKnown(normalize(root), depNames)
	return s, nil
}

// forEachDependency visits each dependency once, its own dependencies before it, as
// Confluent resolves references.
func forEachDependency(deps []format.Dependency, seen map[string]bool, visit func(format.Dependency)) {
	for _, d := range deps {
		if seen[d.Name] {
			continue
		}
		seen[d.Name] = true
		forEachDependency(d.Deps, seen, visit)
		visit(d)
	}
}

func canonicalWithKnown(root *node, known []string) string {
	w := &canonicalWriter{known: make(map[string]bool, len(known))}
	for _, k := range known {
		w.known[k] = true
	}
	w.write(root, "")
	return w.b.String()
}

// parseText parses one schema text with the names defined so far, then resolves its names
// and checks its unions and defaults.
func (p *parser) parseText(text string) (*node, error) {
	v, err := parseJSON(text)
	if err != nil {
		return nil, &parseError{reason: err.Error()}
	}
	root, err := p.parse(v, "", 0)
	if err != nil {
		return nil, err
	}
	p.track(&root)
	if err := p.resolve(); err != nil {
		return nil, err
	}
	if err := p.check(root); err != nil {
		return nil, err
	}
	return root, nil
}

// check walks the resolved graph once: unions follow Avro's rules and defaults fit their types.
func (p *parser) check(root *node) error {
	seen := map[*node]bool{}
	var walk func(n *node, depth int) error
	walk = func(n *node, depth int) error {
		if seen[n] {
			return nil
		}
		seen[n] = true
		if depth > maxDepth {
			return p.errorf("schema is nested deeper than %d levels", maxDepth)
		}
		switch n.kind {
		case kindUnion:
			if err := p.checkUnion(n); err != nil {
				return err
			}
			for _, b := range n.branches {
				if err := walk(b, depth+1); err != nil {
					return err
				}
			}
		case kindArray, kindMap:
			return walk(n.items, depth+1)
		case kindRecord:
			for _, f := range n.fields {
				if err := walk(f.typ, depth+1); err != nil {
					return err
				}
				if p.validateDef && f.defaultValue != nil && !validDefault(f.typ, f.defaultValue, 0) {
					return p.errorf("Invalid default for field %s: %s not a %s", f.name, compact(f.defaultValue), canonicalOf(f.typ))
				}
			}
		}
		return nil
	}
	return walk(root, 0)
}

// validDefault is Avro's check of a default value against a type (a union's default may match
// any branch, as Avro 1.12 allows).
func validDefault(t *node, v *jsonValue, depth int) bool {
	if v == nil || depth > maxDepth {
		return false
	}
	switch t.kind {
	case kindString, kindBytes, kindEnum, kindFixed:
		return v.kind == jsonString
	case kindInt:
		return v.kind == jsonInt
	case kindLong:
		return v.kind == jsonInt || v.kind == jsonLong
	case kindFloat, kindDouble:
		return v.isNumber()
	case kindBoolean:
		return v.kind == jsonBool
	case kindNull:
		return v.kind == jsonNull
	case kindArray:
		if v.kind != jsonArray {
			return false
		}
		for _, item := range v.items {
			if !validDefault(t.items, item, depth+1) {
				return false
			}
		}
		return true
	case kindMap:
		if v.kind != jsonObject {
			return false
		}
		for _, item := range v.values {
			if !validDefault(t.items, item, depth+1) {
				return false
			}
		}
		return true
	case kindUnion:
		for _, b := range t.branches {
			if validDefault(b, v, depth+1) {
				return true
			}
		}
		return false
	case kindRecord:
		if v.kind != jsonObject {
			return false
		}
		for _, f := range t.fields {
			fv := v.get(f.name)
			if fv == nil {
				fv = f.defaultValue
			}
			if !validDefault(f.typ, fv, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// compact is a JSON value as text for error messages, cut short when long.
func compact(v *jsonValue) string {
	var b strings.Builder
	w := &canonicalWriter{}
	writeJSON(&w.b, v)
	b.WriteString(w.b.String())
	const limit = 200
	if b.Len() > limit {
		return b.String()[:limit] + "..."
	}
	return b.String()
}
