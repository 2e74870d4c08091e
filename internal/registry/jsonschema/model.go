package jsonschema

import (
	"encoding/json"
	"fmt"
	"math/big"
	gourl "net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	jsv "github.com/santhosh-tekuri/jsonschema/v6"
)

// This file builds the schema model compat.go compares: Confluent's (everit's) typed schemas,
// one node per JSON Schema object, from the compiled schema (its $refs resolved) and the raw
// document (for keyword presence).
// kind is the class of Confluent's schema model a node stands for.
type kind uint8

const (
	kEmpty kind = iota // {} or true (TrueSchema extends EmptySchema)
	kFalse
	kString
	kNumber
	kBoolean
	kNull
	kObject
	kArray
	kEnum
	kConst
	kCombined
	kNot
	kConditional // if/then/else: compared only for its class
)

type patternProp struct {
	pattern string
	re      *regexp.Regexp // nil when Go's regexp cannot compile it (lookaround)
	schema  *node
}

type node struct {
	kind        kind
	hasDefault  bool
	connectType string
	key         string // identity of its source, for collapsing duplicate subschemas

	// string
	minLength, maxLength *int
	pattern              *string
	// number
	maximum, minimum, exclusiveMaximum, exclusiveMinimum, multipleOf *big.Rat
	integer                                                          bool
	// object
	properties         map[string]*node
	required           map[string]bool
	additionalFalse    bool
	additional         *node
	patternProperties  []patternProp
	dependencyArrays   map[string][]string
	dependencySchemas  map[string]*node
	unevaluated        *node
	maxProps, minProps *int
	// array
	allItems             *node
	itemList             []*node
	additionalItemsFalse bool
	additionalItems      *node
	unevaluatedItems     *node
	maxItems, minItems   *int
	uniqueItems          bool
	maxContains          *int
	minContains          *int
	// enum, const
	values []string // canonical JSON of each value
	// combined
	criterion string // "allOf", "anyOf", "oneOf"
	subs      []*node
	subKeys   []string // each sub's identity when written as an allOf/anyOf/oneOf array
	// not
	not *node
}

// model builds the nodes of one schema from its compiled form, one node per compiled schema
// (identity matters: cycles and memoization are keyed on nodes), reading keyword presence from
// the raw documents. The whole graph is built at once (each schema once), so its size is bounded
// by the compiled schema's.
type model struct {
	docs  map[string]any
	nodes map[*jsv.Schema]*node
	// compile compiles the subschema at a location the compiler skipped (nil if it cannot).
	compile func(location string) *jsv.Schema
}

// raw is the JSON object a compiled schema was compiled from, nil if not an object.
func (m *model) raw(sch *jsv.Schema) map[string]any {
	u, frag, _ := strings.Cut(sch.Location, "#")
	v, ok := m.docs[u]
	if !ok {
		return nil
	}
	if frag != "" {
		for _, tok := range strings.Split(frag, "/")[1:] {
			if t, err := gourl.PathUnescape(tok); err == nil {
				tok = t
			}
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			switch c := v.(type) {
			case map[string]any:
				v = c[tok]
			case []any:
				var i int
				if _, err := fmt.Sscan(tok, &i); err != nil || i < 0 || i >= len(c) {
					return nil
				}
				v = c[i]
			default:
				return nil
			}
		}
	}
	obj, _ := v.(map[string]any)
	return obj
}

func (m *model) node(sch *jsv.Schema) *node {
	if sch == nil {
		return nil
	}
	// A $ref is the schema it refers to (draft 4-7 ignore its siblings; from 2019-09 on, a $ref
	// beside other keywords is one more part of the synthetic allOf).
	seen := 0
	for {
		if n, ok := m.nodes[sch]; ok {
			return n
		}
		target := refTarget(sch)
		if target == nil || (sch.DraftVersion >= 2019 && hasConstraints(m.raw(sch))) {
			break
		}
		if seen++; seen > 1000 {
			n := &node{kind: kEmpty}
			m.nodes[sch] = n
			return n
		}
		sch = target
	}
	n := &node{}
	m.nodes[sch] = n // before building, so a cycle finds it
	m.build(n, sch)
	return n
}

func refTarget(sch *jsv.Schema) *jsv.Schema {
	switch {
	case sch.Ref != nil:
		return sch.Ref
	case sch.RecursiveRef != nil:
		return sch.RecursiveRef
	case sch.DynamicRef != nil:
		return sch.DynamicRef.Ref
	}
	return nil
}

// hasConstraints says whether a schema object has keywords beyond $ref and annotations.
func hasConstraints(raw map[string]any) bool {
	for k := range raw {
		switch k {
		case "$ref", "$recursiveRef", "$dynamicRef", "$schema", "$id", "id", "$anchor", "$dynamicAnchor",
			"$recursiveAnchor", "$comment", "$defs", "definitions", "$vocabulary", "title", "description",
			"default", "examples", "readOnly", "writeOnly", "deprecated":
		default:
			return true
		}
	}
	return false
}

var objectKeywords = []string{"properties", "required", "minProperties", "maxProperties", "dependencies",
	"patternProperties", "additionalProperties", "propertyNames", "dependentRequired", "dependentSchemas",
	"unevaluatedProperties"}
var arrayKeywords = []string{"items", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains",
	"prefixItems", "minContains", "maxContains", "unevaluatedItems"}
var numberKeywords = []string{"minimum", "maximum", "multipleOf", "exclusiveMinimum", "exclusiveMaximum"}
var stringKeywords = []string{"minLength", "maxLength", "pattern", "format"}

func hasAny(raw map[string]any, keys []string) bool {
	for _, k := range keys {
		if _, ok := raw[k]; ok {
			return true
		}
	}
	return false
}

func (m *model) build(n *node, sch *jsv.Schema) {
	n.key = sch.Location
	if sch.Bool != nil {
		if *sch.Bool {
			n.kind = kEmpty
		} else {
			n.kind = kFalse
		}
		return
	}
	raw := m.raw(sch)
	var parts []*node
	fromRef := false // parts[0] is another schema's node, never copied
	if sch.DraftVersion >= 2019 {
		if t := refTarget(sch); t != nil {
			parts = append(parts, m.node(t))
			fromRef = true
		}
	}
	if sch.Enum != nil {
		e := &node{kind: kEnum, key: n.key + "#enum"}
		for _, v := range sch.Enum.Values {
			e.values = append(e.values, valueKey(v))
		}
		parts = append(parts, e)
	}
	for _, c := range []struct {
		name string
		subs []*jsv.Schema
	}{{"allOf", sch.AllOf}, {"anyOf", sch.AnyOf}, {"oneOf", sch.OneOf}} {
		if c.subs == nil {
			continue
		}
		cn := &node{kind: kCombined, criterion: c.name, key: n.key + "#" + c.name}
		for _, s := range c.subs {
			cn.subs = append(cn.subs, m.node(s))
			// Equal subschemas collapse (Confluent keeps them in a set): compared by
			// their JSON, a $ref by its own text.
			if s.Bool != nil {
				cn.subKeys = append(cn.subKeys, valueKey(*s.Bool))
			} else {
				cn.subKeys = append(cn.subKeys, valueKey(m.raw(s)))
			}
		}
		parts = append(parts, cn)
	}
	if sch.Not != nil {
		parts = append(parts, &node{kind: kNot, not: m.node(sch.Not), key: n.key + "#not"})
	}
	if sch.Const != nil {
		parts = append(parts, &node{kind: kConst, values: []string{valueKey(*sch.Const)}, key: n.key + "#const"})
	}
	if sch.Types != nil {
		var typed []*node
		for _, t := range typeNames(raw, sch) {
			typed = append(typed, m.typed(sch, raw, t))
		}
		if len(typed) == 1 {
			parts = append(parts, typed[0])
		} else if len(typed) > 1 {
			parts = append(parts, &node{kind: kCombined, criterion: "anyOf", subs: typed, key: n.key + "#types"})
		}
	} else if raw != nil {
		// No "type": the kinds whose keywords appear (everit's property sniffing).
		for _, f := range []struct {
			t    string
			keys []string
		}{{"array", arrayKeywords}, {"object", objectKeywords}, {"number", numberKeywords}, {"string", stringKeywords}} {
			if hasAny(raw, f.keys) {
				parts = append(parts, m.typed(sch, raw, f.t))
			}
		}
	}
	if sch.If != nil || sch.Then != nil || sch.Else != nil {
		parts = append(parts, &node{kind: kConditional, key: n.key + "#if"})
	}
	switch {
	case len(parts) == 0:
		n.kind = kEmpty
	case len(parts) == 1 && !fromRef:
		key := n.key
		*n = *parts[0]
		n.key = key
	default:
		n.kind = kCombined
		n.criterion = "allOf"
		n.subs = parts
	}
	if raw != nil {
		_, n.hasDefault = raw["default"]
		n.connectType, _ = raw["connect.type"].(string)
	}
}

// typeNames lists a schema's types in the order written.
func typeNames(raw map[string]any, sch *jsv.Schema) []string {
	var names []string
	switch t := raw["type"].(type) {
	case string:
		names = []string{t}
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok && !slices.Contains(names, s) {
				names = append(names, s)
			}
		}
	default:
		names = sch.Types.ToStrings()
	}
	return names
}

func (m *model) typed(sch *jsv.Schema, raw map[string]any, t string) *node {
	n := &node{key: sch.Location + "#" + t}
	switch t {
	case "string":
		n.kind = kString
		n.minLength, n.maxLength = sch.MinLength, sch.MaxLength
		if p, ok := raw["pattern"].(string); ok {
			n.pattern = &p
		}
	case "integer", "number":
		n.kind = kNumber
		n.integer = t == "integer"
		n.maximum, n.minimum = sch.Maximum, sch.Minimum
		n.exclusiveMaximum, n.exclusiveMinimum = sch.ExclusiveMaximum, sch.ExclusiveMinimum
		// Draft 4's boolean exclusiveMaximum/Minimum qualify maximum/minimum, which stay the
		// bounds Confluent compares.
		if _, ok := raw["exclusiveMaximum"].(bool); ok {
			if n.maximum == nil {
				n.maximum = n.exclusiveMaximum
			}
			n.exclusiveMaximum = nil
		}
		if _, ok := raw["exclusiveMinimum"].(bool); ok {
			if n.minimum == nil {
				n.minimum = n.exclusiveMinimum
			}
			n.exclusiveMinimum = nil
		}
		n.multipleOf = sch.MultipleOf
	case "boolean":
		n.kind = kBoolean
	case "null":
		n.kind = kNull
	case "object":
		n.kind = kObject
		n.properties = make(map[string]*node, len(sch.Properties))
		for k, v := range sch.Properties {
			n.properties[k] = m.node(v)
		}
		n.required = map[string]bool{}
		for _, r := range sch.Required {
			n.required[r] = true
		}
		switch a := sch.AdditionalProperties.(type) {
		case bool:
			n.additionalFalse = !a
		case *jsv.Schema:
			n.additional = m.node(a)
		}
		if pp, ok := raw["patternProperties"].(map[string]any); ok {
			pats := make([]string, 0, len(pp))
			for p := range pp {
				pats = append(pats, p)
			}
			sort.Strings(pats)
			for _, p := range pats {
				for re, s := range sch.PatternProperties {
					if re.String() == p {
						c, _ := regexp.Compile(p)
						n.patternProperties = append(n.patternProperties, patternProp{p, c, m.node(s)})
					}
				}
			}
		}
		n.dependencyArrays = map[string][]string{}
		n.dependencySchemas = map[string]*node{}
		for k, v := range sch.Dependencies {
			switch v := v.(type) {
			case []string:
				n.dependencyArrays[k] = v
			case *jsv.Schema:
				n.dependencySchemas[k] = m.node(v)
			}
		}
		for k, v := range sch.DependentRequired {
			n.dependencyArrays[k] = v
		}
		for k, v := range sch.DependentSchemas {
			n.dependencySchemas[k] = m.node(v)
		}
		n.unevaluated = m.node(sch.UnevaluatedProperties)
		n.maxProps, n.minProps = sch.MaxProperties, sch.MinProperties
	case "array":
		n.kind = kArray
		switch it := sch.Items.(type) {
		case *jsv.Schema:
			n.allItems = m.node(it)
		case []*jsv.Schema:
			for _, s := range it {
				n.itemList = append(n.itemList, m.node(s))
			}
		}
		for _, s := range sch.PrefixItems {
			n.itemList = append(n.itemList, m.node(s))
		}
		if it := sch.Items2020; it != nil {
			switch {
			case it.Bool != nil && !*it.Bool:
				n.additionalItemsFalse = true
			case it.Bool != nil:
			case len(sch.PrefixItems) == 0:
				n.allItems = m.node(it)
			default:
				n.additionalItems = m.node(it)
			}
		}
		switch a := sch.AdditionalItems.(type) {
		case bool:
			n.additionalItemsFalse = !a
		case *jsv.Schema:
			n.additionalItems = m.node(a)
		case nil:
			// Without an items array the compiler skips additionalItems, which Confluent
			// still compares: its boolean form is read from the document, a schema there is
			// compiled on its own.
			if sch.DraftVersion < 2020 {
				switch a := raw["additionalItems"].(type) {
				case bool:
					n.additionalItemsFalse = !a
				case map[string]any:
					if m.compile != nil {
						if c := m.compile(sch.Location + "/additionalItems"); c != nil {
							n.additionalItems = m.node(c)
						}
					}
				}
			}
		}
		n.unevaluatedItems = m.node(sch.UnevaluatedItems)
		n.maxItems, n.minItems = sch.MaxItems, sch.MinItems
		n.uniqueItems = sch.UniqueItems
		if sch.Contains != nil || sch.DraftVersion >= 2019 {
			n.maxContains, n.minContains = sch.MaxContains, sch.MinContains
		}
	}
	return n
}

// valueKey is a JSON value's identity for enum and const comparison and for collapsing equal
// subschemas: its JSON with object members sorted.
func valueKey(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
