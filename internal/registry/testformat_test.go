package registry

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// recordFormat is a small schema format for the registry's own tests (the real formats are
// tested in their packages): a schema is {"name":..., "fields":[{"name":..., "type":...,
// "default":...}], "refs":[names]}. A reader can read a writer when every reader field the
// writer lacks has a default and shared fields have the same type; refs must be resolved
// dependencies. Canonical is the compact JSON; Normalized also sorts the fields.
type recordFormat struct{ t format.SchemaType }

type recordSchema struct {
	Name   string        `json:"name"`
	Fields []recordField `json:"fields"`
	Refs   []string      `json:"refs,omitempty"`
}

type recordField struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Default any    `json:"default,omitempty"`
}

type parsedRecord struct {
	s         recordSchema
	canonical string
}

func (f recordFormat) Type() format.SchemaType { return f.t }

func (f recordFormat) Parse(schema string, deps []format.Dependency) (format.Schema, error) {
	var s recordSchema
	dec := json.NewDecoder(strings.NewReader(schema))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("not a record schema: %v", err)
	}
	if s.Name == "" {
		return nil, fmt.Errorf("a record needs a name")
	}
	for _, r := range s.Refs {
		if !slices.ContainsFunc(deps, func(d format.Dependency) bool { return d.Name == r }) {
			return nil, fmt.Errorf("reference %s not resolved", r)
		}
	}
	b, _ := json.Marshal(s)
	return &parsedRecord{s: s, canonical: string(b)}, nil
}

func (p *parsedRecord) Canonical() string { return p.canonical }

func (p *parsedRecord) Normalized() string {
	s := p.s
	s.Fields = slices.Clone(s.Fields)
	slices.SortFunc(s.Fields, func(a, b recordField) int { return strings.Compare(a.Name, b.Name) })
	b, _ := json.Marshal(s)
	return string(b)
}

func (p *parsedRecord) CanRead(writer format.Schema) []string {
	w := writer.(*parsedRecord)
	var out []string
	for _, rf := range p.s.Fields {
		i := slices.IndexFunc(w.s.Fields, func(f recordField) bool { return f.Name == rf.Name })
		switch {
		case i < 0 && rf.Default == nil:
			out = append(out, fmt.Sprintf("{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field '%s' at path '/fields/%s' in the new schema has no default value and is missing in the old schema'}", rf.Name, rf.Name))
		case i >= 0 && w.s.Fields[i].Type != rf.Type:
			out = append(out, fmt.Sprintf("{errorType:'TYPE_MISMATCH', description:'The type of field '%s' changed from %s to %s'}", rf.Name, w.s.Fields[i].Type, rf.Type))
		}
	}
	return out
}
