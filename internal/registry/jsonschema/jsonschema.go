// Package jsonschema is the schema registry's JSON Schema format: it parses schemas of drafts
// 4, 6, 7, 2019-09 and 2020-12 (compiled with github.com/santhosh-tekuri/jsonschema/v6, their
// references resolved only among the references the registry gives), gives Confluent's
// canonical and normalized forms, and checks compatibility by Confluent's JSON Schema rules
// (io.confluent.kafka.schemaregistry.json.diff).
package jsonschema

import (
	"errors"
	"fmt"
	gourl "net/url"
	"regexp/syntax"
	"strings"
	"sync"

	jsv "github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// baseURI is the URL a schema without "$id" is compiled at, and against which references with
// relative names are resolved (Confluent's JsonSchema.DEFAULT_BASE_URI).
const baseURI = "mem://input"

// maxDeps bounds the distinct references one schema may bring in.
const maxDeps = 10000

// New returns the JSON Schema format.
func New() format.Format { return jsonFormat{} }

type jsonFormat struct{}

func (jsonFormat) Type() format.SchemaType { return format.JSON }

// Schema is a parsed JSON Schema.
type Schema struct {
	doc      any // the parsed document, member order kept
	compiled *jsv.Schema
	docs     map[string]any // every document compiled, by URL (see model.raw)

	canonOnce, normOnce sync.Once
	canonical, normal   string
	node                *node // the compatibility model (compat.go), built by Parse
}

// Canonical is the schema re-serialized compactly, members in the order written (Confluent's
// JsonSchema.canonicalString).
func (s *Schema) Canonical() string {
	s.canonOnce.Do(func() {
		var b strings.Builder
		writeJSON(&b, s.doc, false)
		s.canonical = b.String()
	})
	return s.canonical
}

// Normalized is Canonical with every object's members sorted by name (Confluent's
// JsonSchema.normalize).
func (s *Schema) Normalized() string {
	s.normOnce.Do(func() {
		var b strings.Builder
		writeJSON(&b, s.doc, true)
		s.normal = b.String()
	})
	return s.normal
}

// Parse parses and compiles schema with its resolved references.
func (jsonFormat) Parse(schema string, deps []format.Dependency) (_ format.Schema, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid JSON schema: internal error: %v", r)
		}
	}()
	doc, err := parseJSON(schema)
	if err != nil {
		return nil, err
	}
	switch doc.(type) {
	case *object, bool:
	default:
		return nil, fmt.Errorf("invalid JSON schema: expected an object or boolean at the root, found %s", jsonKind(doc))
	}
	root := plain(doc)

	c := jsv.NewCompiler()
	c.DefaultDraft(jsv.Draft7)
	c.UseLoader(refusingLoader{})
	c.UseRegexpEngine(lenientRegexp)

	base := baseURI
	if m, ok := root.(map[string]any); ok {
		if id := rootID(m); id != "" {
			if u, err := gourl.Parse(id); err == nil && u.IsAbs() {
				u.Fragment = ""
				u.RawFragment = ""
				base = u.String()
			}
		}
	}
	rootURL := base
	rootDoc := forCompiler(root)
	docs := map[string]any{rootURL: rootDoc}
	if err := c.AddResource(rootURL, rootDoc); err != nil {
		return nil, fmt.Errorf("invalid JSON schema: %v", err)
	}
	added := map[string]bool{rootURL: true}

	// Confluent flattens the references of references into one map from name to schema, each
	// registered by its name resolved against the root's base (and against mem://input).
	seen := map[string]bool{}
	var walk func(ds []format.Dependency) error
	count := 0
	walk = func(ds []format.Dependency) error {
		for _, d := range ds {
			if seen[d.Name] {
				continue
			}
			seen[d.Name] = true
			if count++; count > maxDeps {
				return fmt.Errorf("more than %d references", maxDeps)
			}
			ddoc, err := parseJSON(d.Schema)
			if err != nil {
				return fmt.Errorf("reference %q: %v", d.Name, err)
			}
			dv := forCompiler(plain(ddoc))
			for _, u := range refURLs(base, d.Name) {
				if added[u] {
					continue
				}
				added[u] = true
				docs[u] = dv
				if err := c.AddResource(u, dv); err != nil {
					return fmt.Errorf("reference %q: %v", d.Name, err)
				}
			}
			if err := walk(d.Deps); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(deps); err != nil {
		return nil, fmt.Errorf("invalid JSON schema: %v", err)
	}
	compiled, err := c.Compile(rootURL)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON schema: %s", cleanError(err))
	}
	m := &model{docs: docs, nodes: map[*jsv.Schema]*node{}, compile: func(loc string) (sch *jsv.Schema) {
		defer func() {
			if recover() != nil {
				sch = nil
			}
		}()
		sch, err := c.Compile(loc)
		if err != nil {
			return nil
		}
		return sch
	}}
	return &Schema{doc: doc, compiled: compiled, docs: docs, node: m.node(compiled)}, nil
}

// refURLs are the URLs a reference named name is registered at: the name itself when it is
// an absolute URL, the name resolved against the root's base, and against mem://input.
func refURLs(base, name string) []string {
	var out []string
	add := func(u string) {
		for _, o := range out {
			if o == u {
				return
			}
		}
		out = append(out, u)
	}
	ref, err := gourl.Parse(name)
	if err != nil {
		return nil
	}
	ref.Fragment, ref.RawFragment = "", ""
	if ref.IsAbs() {
		add(ref.String())
	}
	for _, b := range []string{base, baseURI} {
		bu, err := gourl.Parse(b)
		if err != nil {
			continue
		}
		r := bu.ResolveReference(ref)
		if !ref.IsAbs() && bu.Opaque != "" {
			r.Opaque = bu.Opaque
		}
		add(r.String())
	}
	return out
}

// rootID is the document's "$id" (or draft 4's "id"), "" if none.
func rootID(m map[string]any) string {
	if id, ok := m["$id"].(string); ok {
		return id
	}
	if id, ok := m["id"].(string); ok && draftOf(m) == jsv.Draft4 {
		return id
	}
	return ""
}

// draftOf is the draft Confluent reads a document as: the one its "$schema" names
// (SpecificationVersion.getFromUrl, a trailing "#" ignored), draft 7 when absent or unknown.
func draftOf(m map[string]any) *jsv.Draft {
	s, _ := m["$schema"].(string)
	switch strings.TrimPrefix(strings.TrimPrefix(strings.TrimSuffix(s, "#"), "http://"), "https://") {
	case "json-schema.org/draft-04/schema", "json-schema.org/schema":
		return jsv.Draft4
	case "json-schema.org/draft-06/schema":
		return jsv.Draft6
	case "json-schema.org/draft/2019-09/schema":
		return jsv.Draft2019
	case "json-schema.org/draft/2020-12/schema":
		return jsv.Draft2020
	default:
		return jsv.Draft7
	}
}

var draftURLs = map[*jsv.Draft]string{
	jsv.Draft4:    "http://json-schema.org/draft-04/schema#",
	jsv.Draft6:    "http://json-schema.org/draft-06/schema#",
	jsv.Draft7:    "http://json-schema.org/draft-07/schema#",
	jsv.Draft2019: "https://json-schema.org/draft/2019-09/schema",
	jsv.Draft2020: "https://json-schema.org/draft/2020-12/schema",
}

// forCompiler is the document the compiler is given (the stored text is never changed):
//   - its "$schema" says the draft Confluent reads it as, so an unknown "$schema" (which
//     Confluent reads as draft 7) is never fetched;
//   - the top-level "definitions" are also under "$defs" (those already there win), so that
//     "#/$defs/X" finds a definition written under "definitions", as Confluent's loaders do
//     (JsonSchema.mergeDefBuckets; a "$defs" that is not an object is left alone).
func forCompiler(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	_, hasSchema := m["$schema"]
	defs, _ := m["definitions"].(map[string]any)
	target, targetIsObj := m["$defs"].(map[string]any)
	_, hasTarget := m["$defs"]
	bridge := len(defs) > 0 && (!hasTarget || targetIsObj)
	if !hasSchema && !bridge {
		return v
	}
	c := make(map[string]any, len(m)+1)
	for k, e := range m {
		c[k] = e
	}
	if hasSchema {
		c["$schema"] = draftURLs[draftOf(m)]
	}
	if bridge {
		merged := make(map[string]any, len(defs)+len(target))
		for k, e := range defs {
			merged[k] = e
		}
		for k, e := range target {
			merged[k] = e
		}
		c["$defs"] = merged
	}
	return c
}

// refusingLoader refuses every URL: a schema reaches only its references and the drafts'
// meta-schemas, never the network or the file system.
type refusingLoader struct{}

func (refusingLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s is not among the schema's references (remote and file references are not fetched)", url)
}

// lenientRegexp compiles "pattern"s with Go's regexp, but accepts the ECMA 262 constructs it
// lacks (lookaround, backreferences), which Confluent's Java-based validator accepts: the
// registry never validates data, it only has to reject patterns no engine would take.
func lenientRegexp(s string) (jsv.Regexp, error) {
	_, err := syntax.Parse(s, syntax.Perl)
	if err == nil {
		return literalRegexp(s), nil
	}
	var se *syntax.Error
	if errors.As(err, &se) {
		switch se.Code {
		case syntax.ErrInvalidPerlOp, syntax.ErrInvalidEscape, syntax.ErrInvalidRepeatSize,
			syntax.ErrLarge, syntax.ErrNestingDepth:
			return literalRegexp(s), nil
		case syntax.ErrInvalidNamedCapture: // lookbehind, "(?<=" or "(?<!"
			if strings.HasPrefix(se.Expr, "(?<=") || strings.HasPrefix(se.Expr, "(?<!") {
				return literalRegexp(s), nil
			}
		}
	}
	return nil, err
}

// literalRegexp is a pattern kept as text; it never validates anything (Parse compiles
// schemas, it validates no data).
type literalRegexp string

func (r literalRegexp) MatchString(string) bool { return true }
func (r literalRegexp) String() string          { return string(r) }

func cleanError(err error) string {
	s := err.Error()
	s = strings.ReplaceAll(s, baseURI+"#", "#")
	s = strings.ReplaceAll(s, "\n", "; ")
	return s
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "NULL"
	case string:
		return "STRING"
	case []any:
		return "ARRAY"
	default:
		return "NUMBER"
	}
}
