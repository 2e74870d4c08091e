package jsonschema

import (
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// This file is Confluent's JSON Schema compatibility check (io.confluent.kafka.schemaregistry.
// json.diff, the STRICT policy, the registry's default), written from its rules: the writer
// schema is the "original", the reader the "update"; every difference found has a type, and the
// types outside compatibleChanges make the pair incompatible.
//
// Confluent compares the schema model of its Java validator (everit): a JSON object becomes one
// typed schema (StringSchema, NumberSchema, ObjectSchema, ...) or, when it has keywords of several
// kinds ("type" with "enum", several types, "allOf" beside "properties"), a synthetic allOf of
// them. node is that model, built from the compiled schema (whose $refs are resolved) and the raw
// document (for keyword presence).

// compatibleChanges is Confluent's SchemaDiff.COMPATIBLE_CHANGES_STRICT.
var compatibleChanges = map[string]bool{}

func init() {
	for _, t := range strings.Fields(`ID_CHANGED DESCRIPTION_CHANGED TITLE_CHANGED DEFAULT_CHANGED
		SCHEMA_REMOVED TYPE_EXTENDED MAX_LENGTH_INCREASED MAX_LENGTH_REMOVED MIN_LENGTH_DECREASED
		MIN_LENGTH_REMOVED PATTERN_REMOVED MAXIMUM_INCREASED MAXIMUM_REMOVED MINIMUM_DECREASED
		MINIMUM_REMOVED EXCLUSIVE_MAXIMUM_INCREASED EXCLUSIVE_MAXIMUM_REMOVED
		EXCLUSIVE_MINIMUM_DECREASED EXCLUSIVE_MINIMUM_REMOVED MULTIPLE_OF_REDUCED
		MULTIPLE_OF_REMOVED REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED REQUIRED_ATTRIBUTE_REMOVED
		DEPENDENCY_ARRAY_NARROWED DEPENDENCY_ARRAY_REMOVED DEPENDENCY_SCHEMA_REMOVED
		MAX_PROPERTIES_INCREASED MAX_PROPERTIES_REMOVED MIN_PROPERTIES_DECREASED
		MIN_PROPERTIES_REMOVED ADDITIONAL_PROPERTIES_ADDED ADDITIONAL_PROPERTIES_EXTENDED
		UNEVALUATED_PROPERTIES_ADDED UNEVALUATED_PROPERTIES_EXTENDED
		PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL
		REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL
		OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL
		PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL
		PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL
		PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
		PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL MAX_ITEMS_INCREASED
		MAX_ITEMS_REMOVED MIN_ITEMS_DECREASED MIN_ITEMS_REMOVED MAX_CONTAINS_INCREASED
		MAX_CONTAINS_REMOVED MIN_CONTAINS_DECREASED MIN_CONTAINS_REMOVED UNIQUE_ITEMS_REMOVED
		ADDITIONAL_ITEMS_ADDED ADDITIONAL_ITEMS_EXTENDED UNEVALUATED_ITEMS_ADDED
		UNEVALUATED_ITEMS_EXTENDED ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL
		ITEM_ADDED_TO_CLOSED_CONTENT_MODEL ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL
		ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
		ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL ENUM_ARRAY_EXTENDED
		COMBINED_TYPE_EXTENDED PRODUCT_TYPE_NARROWED SUM_TYPE_EXTENDED NOT_TYPE_NARROWED`) {
		compatibleChanges[t] = true
	}
}

// maxSteps bounds the pairs one check compares (Confluent relies on a request timeout): a
// check that needs more is reported incompatible rather than run without end.
const maxSteps = 200000

// CanRead says why data written with writer cannot be read with s: Confluent's messages, whose
// two %s placeholders name the reader's and the writer's role (format.FillRoles).
func (s *Schema) CanRead(writer format.Schema) (msgs []string) {
	defer func() {
		if r := recover(); r != nil {
			msgs = []string{fmt.Sprintf(`{errorType:"COMPATIBILITY_CHECK_FAILED", description:"The schemas could not be compared: %v"}`, r)}
		}
	}()
	w, ok := writer.(*Schema)
	if !ok {
		return []string{"Incompatible because of different schema type"}
	}
	diffs, err := compareSchemas(w, s)
	if err != "" {
		return []string{err}
	}
	var out []string
	seen := map[difference]bool{}
	for _, d := range diffs {
		if compatibleChanges[d.typ] || seen[d] {
			continue
		}
		seen[d] = true
		out = append(out, d.message("%s", "%s"))
	}
	return out
}

type difference struct {
	typ  string
	path string
}

func (d difference) message(reader, writer string) string {
	return fmt.Sprintf(`{errorType:"%s", description:"%s"}`, d.typ, d.description(reader, writer))
}

// description is Confluent's Difference.error(), the reader named first.
func (d difference) description(reader, writer string) string {
	p := d.path
	switch d.typ {
	case "MAXIMUM_ADDED", "MINIMUM_ADDED", "EXCLUSIVE_MAXIMUM_ADDED", "EXCLUSIVE_MINIMUM_ADDED",
		"MULTIPLE_OF_ADDED", "MAX_LENGTH_ADDED", "MIN_LENGTH_ADDED", "PATTERN_ADDED",
		"REQUIRED_ATTRIBUTE_ADDED", "MAX_PROPERTIES_ADDED", "MIN_PROPERTIES_ADDED",
		"DEPENDENCY_ARRAY_ADDED", "DEPENDENCY_SCHEMA_ADDED", "MAX_ITEMS_ADDED", "MIN_ITEMS_ADDED",
		"MAX_CONTAINS_ADDED", "MIN_CONTAINS_ADDED", "UNIQUE_ITEMS_ADDED", "ADDITIONAL_ITEMS_REMOVED",
		"ADDITIONAL_PROPERTIES_REMOVED", "UNEVALUATED_PROPERTIES_REMOVED", "UNEVALUATED_ITEMS_REMOVED":
		return fmt.Sprintf("The keyword at path '%s' in the %s schema is not present in the %s schema", p, reader, writer)
	case "MIN_LENGTH_INCREASED", "MINIMUM_INCREASED", "EXCLUSIVE_MINIMUM_INCREASED",
		"MIN_PROPERTIES_INCREASED", "MULTIPLE_OF_EXPANDED", "MIN_ITEMS_INCREASED", "MIN_CONTAINS_INCREASED":
		return fmt.Sprintf("The value at path '%s' in the %s schema is more than its value in the %s schema", p, reader, writer)
	case "MAX_LENGTH_DECREASED", "MAXIMUM_DECREASED", "MAX_ITEMS_DECREASED", "MAX_CONTAINS_DECREASED",
		"EXCLUSIVE_MAXIMUM_DECREASED", "MAX_PROPERTIES_DECREASED":
		return fmt.Sprintf("The value at path '%s' in the %s schema is less than its value in the %s schema", p, reader, writer)
	case "PATTERN_CHANGED", "MULTIPLE_OF_CHANGED", "DEPENDENCY_ARRAY_CHANGED":
		return fmt.Sprintf("The value at path '%s' is different between the %s and %s schema", p, reader, writer)
	case "ADDITIONAL_ITEMS_NARROWED", "ENUM_ARRAY_NARROWED", "SUM_TYPE_NARROWED",
		"ADDITIONAL_PROPERTIES_NARROWED", "UNEVALUATED_PROPERTIES_NARROWED", "UNEVALUATED_ITEMS_NARROWED":
		return fmt.Sprintf("An array or combined type at path '%s' has fewer elements in the %s schema than the %s schema", p, reader, writer)
	case "DEPENDENCY_ARRAY_EXTENDED", "PRODUCT_TYPE_EXTENDED", "SUM_TYPE_EXTENDED", "NOT_TYPE_EXTENDED":
		return fmt.Sprintf("An array or combined type at path '%s' has more elements in the %s schema than the %s schema", p, reader, writer)
	case "TYPE_CHANGED", "TYPE_NARROWED", "COMBINED_TYPE_CHANGED", "COMBINED_TYPE_SUBSCHEMAS_CHANGED", "ENUM_ARRAY_CHANGED":
		return fmt.Sprintf("A type at path '%s' is different between the %s schema and the %s schema", p, reader, writer)
	case "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL",
		"OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "ITEM_ADDED_TO_OPEN_CONTENT_MODEL":
		return fmt.Sprintf("The %s schema has an open content model and has a property or item at path '%s' which is missing in the %s schema", reader, p, writer)
	case "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL":
		return fmt.Sprintf("The %s schema has an unopen content model and has a required property at path '%s' which is missing in the %s schema", reader, p, writer)
	case "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL":
		return fmt.Sprintf("The %s has a closed content model and is missing a property or item present at path '%s' in the %s schema", reader, p, writer)
	case "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL":
		return fmt.Sprintf("A property or item is missing in the %s schema but present at path '%s' in the %s schema and is not covered by its partially open content model", reader, p, writer)
	case "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL":
		return fmt.Sprintf("The %s schema has a property or item at path '%s' which is missing in the %s schema and is not covered by its partially open content model", reader, p, writer)
	}
	return ""
}

// differ is Confluent's diff Context: the differences found at a path, and (shared by a whole
// comparison) the memo of compared pairs, the pairs in progress and the fixpoint's seed.
type differ struct {
	shared *shared
	path   []string
	diffs  []difference
}

type pair struct{ original, update *node }

type shared struct {
	m          *model
	memo       map[pair][]difference
	inProgress map[pair]bool
	seed       map[pair][]difference
	optimism   bool
	steps      int
}

func (d *differ) sub() *differ {
	return &differ{shared: d.shared, path: slices.Clone(d.path)}
}

func (d *differ) pathString() string { return "#/" + strings.Join(d.path, "/") }

// escapePath writes a property name as a JSON pointer token, '%' written as "%25" so that no
// name reads as a role placeholder.
func escapePath(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
	return strings.ReplaceAll(s, "%", "%25")
}

func (d *differ) add(t string) { d.diffs = append(d.diffs, difference{t, d.pathString()}) }

func (d *differ) addAt(attr, t string) {
	d.path = append(d.path, attr)
	d.add(t)
	d.path = d.path[:len(d.path)-1]
}

func (d *differ) enter(p string) { d.path = append(d.path, p) }
func (d *differ) leave()         { d.path = d.path[:len(d.path)-1] }

func (d *differ) compatible() bool {
	for _, x := range d.diffs {
		if !compatibleChanges[x.typ] {
			return false
		}
	}
	return true
}

// errTooLarge reports a check that ran out of its step budget.
const errTooLarge = `{errorType:"COMPATIBILITY_CHECK_TOO_LARGE", description:"The schemas are too large or too recursive to compare"}`

// root is the schema's node graph, built by Parse and only read after: comparisons of one
// schema with many (transitive levels) share it.
func (s *Schema) root() *node { return s.node }

// compareSchemas is Confluent's SchemaDiff.compare: repeated while a recursive cycle was
// assumed compatible and the pairs found incompatible keep changing.
func compareSchemas(original, update *Schema) ([]difference, string) {
	on, un := original.root(), update.root()
	seed := map[pair][]difference{}
	steps := 0
	for {
		sh := &shared{memo: map[pair][]difference{}, inProgress: map[pair]bool{}, seed: seed, steps: steps}
		d := &differ{shared: sh}
		d.compare(on, un)
		if sh.steps > maxSteps {
			return nil, errTooLarge
		}
		steps = sh.steps
		incompatible := map[pair][]difference{}
		for k, v := range sh.memo {
			for _, x := range v {
				if !compatibleChanges[x.typ] {
					incompatible[k] = v
					break
				}
			}
		}
		if !sh.optimism || sameKeys(incompatible, seed) {
			return d.diffs, ""
		}
		seed = incompatible
	}
}

func sameKeys(a, b map[pair][]difference) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// compare is SchemaDiff.compare for one pair, through the memo.
func (d *differ) compare(original, update *node) {
	switch {
	case original == nil && update == nil:
		return
	case original == nil:
		d.add("SCHEMA_ADDED")
		return
	case update == nil:
		d.add("SCHEMA_REMOVED")
		return
	}
	sh := d.shared
	if sh.steps++; sh.steps > maxSteps {
		return
	}
	key := pair{original, update}
	rel, ok := sh.memo[key]
	if !ok {
		if sh.inProgress[key] {
			if seeded, ok := sh.seed[key]; ok {
				rel = seeded
			} else {
				sh.optimism = true
				return
			}
		} else {
			sh.inProgress[key] = true
			sub := &differ{shared: sh}
			sub.compareTypes(original, update)
			rel = sub.diffs
			sh.memo[key] = rel
			delete(sh.inProgress, key)
		}
	}
	if len(d.path) == 0 {
		d.diffs = append(d.diffs, rel...)
		return
	}
	prefix := d.pathString()
	for _, x := range rel {
		p := prefix
		if len(x.path) > 2 {
			p = prefix + "/" + x.path[2:]
		}
		d.diffs = append(d.diffs, difference{x.typ, p})
	}
}

func (d *differ) compareTypes(original, update *node) {
	if original.kind != kCombined && update.kind == kCombined {
		if len(update.subs) == 1 {
			sub := d.sub()
			sub.compare(original, update.subs[0])
			if sub.compatible() {
				d.diffs = append(d.diffs, sub.diffs...)
				return
			}
		} else if update.criterion == "anyOf" || update.criterion == "oneOf" {
			for _, u := range update.subs {
				sub := d.sub()
				sub.compare(original, u)
				if sub.compatible() {
					d.diffs = append(d.diffs, sub.diffs...)
					d.add("SUM_TYPE_EXTENDED")
					return
				}
			}
		}
	} else if original.kind == kCombined && update.kind != kCombined {
		if len(original.subs) == 1 {
			sub := d.sub()
			sub.compare(original.subs[0], update)
			if sub.compatible() {
				d.diffs = append(d.diffs, sub.diffs...)
				return
			}
		} else if original.criterion == "allOf" {
			for _, o := range original.subs {
				sub := d.sub()
				sub.compare(o, update)
				if sub.compatible() {
					d.diffs = append(d.diffs, sub.diffs...)
					d.add("PRODUCT_TYPE_NARROWED")
					return
				}
			}
		}
	}
	if original.kind != update.kind {
		if original.kind == kFalse || update.kind == kEmpty {
			return
		}
		if original.connectType == "bytes" && update.connectType == "bytes" {
			return
		}
		d.add("TYPE_CHANGED")
		return
	}
	switch original.kind {
	case kString:
		d.compareString(original, update)
	case kNumber:
		d.compareNumber(original, update)
	case kConst:
		if original.values[0] != update.values[0] {
			d.addAt("const", "ENUM_ARRAY_CHANGED")
		}
	case kEnum:
		d.compareEnum(original, update)
	case kCombined:
		d.compareCombined(original, update)
	case kNot:
		d.enter("not")
		sub := d.sub()
		sub.compare(update.not, original.not) // reversed
		if sub.compatible() {
			d.add("NOT_TYPE_NARROWED")
		} else {
			d.add("NOT_TYPE_EXTENDED")
		}
		d.leave()
	case kObject:
		d.compareObject(original, update)
	case kArray:
		d.compareArray(original, update)
	}
}

// compareInts is the added/removed/increased/decreased pattern of the size keywords.
func (d *differ) compareInts(name string, o, u *int, prefix string) {
	switch {
	case o == nil && u == nil:
	case o == nil:
		d.addAt(name, prefix+"_ADDED")
	case u == nil:
		d.addAt(name, prefix+"_REMOVED")
	case *o < *u:
		d.addAt(name, prefix+"_INCREASED")
	case *o > *u:
		d.addAt(name, prefix+"_DECREASED")
	}
}

func (d *differ) compareRats(name string, o, u *big.Rat, prefix string) {
	switch {
	case o == nil && u == nil:
	case o == nil:
		d.addAt(name, prefix+"_ADDED")
	case u == nil:
		d.addAt(name, prefix+"_REMOVED")
	case o.Cmp(u) < 0:
		d.addAt(name, prefix+"_INCREASED")
	case o.Cmp(u) > 0:
		d.addAt(name, prefix+"_DECREASED")
	}
}

func (d *differ) compareString(o, u *node) {
	d.compareInts("maxLength", o.maxLength, u.maxLength, "MAX_LENGTH")
	d.compareInts("minLength", o.minLength, u.minLength, "MIN_LENGTH")
	switch {
	case o.pattern == nil && u.pattern != nil:
		d.addAt("pattern", "PATTERN_ADDED")
	case o.pattern != nil && u.pattern == nil:
		d.addAt("pattern", "PATTERN_REMOVED")
	case o.pattern != nil && *o.pattern != *u.pattern:
		d.addAt("pattern", "PATTERN_CHANGED")
	}
}

func (d *differ) compareNumber(o, u *node) {
	d.compareRats("maximum", o.maximum, u.maximum, "MAXIMUM")
	d.compareRats("minimum", o.minimum, u.minimum, "MINIMUM")
	d.compareRats("exclusiveMaximum", o.exclusiveMaximum, u.exclusiveMaximum, "EXCLUSIVE_MAXIMUM")
	d.compareRats("exclusiveMinimum", o.exclusiveMinimum, u.exclusiveMinimum, "EXCLUSIVE_MINIMUM")
	om, um := o.multipleOf, u.multipleOf
	switch {
	case om == nil && um == nil:
	case om == nil:
		d.addAt("multipleOf", "MULTIPLE_OF_ADDED")
	case um == nil:
		d.addAt("multipleOf", "MULTIPLE_OF_REMOVED")
	case om.Cmp(um) == 0:
	case om.Sign() != 0 && new(big.Rat).Quo(um, om).IsInt():
		d.addAt("multipleOf", "MULTIPLE_OF_EXPANDED")
	case um.Sign() != 0 && new(big.Rat).Quo(om, um).IsInt():
		d.addAt("multipleOf", "MULTIPLE_OF_REDUCED")
	default:
		d.addAt("multipleOf", "MULTIPLE_OF_CHANGED")
	}
	if o.integer != u.integer {
		if o.integer {
			d.add("TYPE_EXTENDED")
		} else {
			d.add("TYPE_NARROWED")
		}
	}
}

func (d *differ) compareEnum(o, u *node) {
	os, us := setOf(o.values), setOf(u.values)
	if sameSet(os, us) {
		return
	}
	switch {
	case containsAll(us, os):
		d.addAt("enum", "ENUM_ARRAY_EXTENDED")
	case containsAll(os, us):
		d.addAt("enum", "ENUM_ARRAY_NARROWED")
	default:
		d.addAt("enum", "ENUM_ARRAY_CHANGED")
	}
}

func setOf(vs []string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

func sameSet(a, b map[string]bool) bool { return len(a) == len(b) && containsAll(a, b) }

func containsAll(a, b map[string]bool) bool {
	for k := range b {
		if !a[k] {
			return false
		}
	}
	return true
}

// uniqueSubs collapses equal subschemas (Confluent puts them in a set).
func uniqueSubs(n *node) []*node {
	var out []*node
	seen := map[string]bool{}
	for i, s := range n.subs {
		k := s.key
		if n.subKeys != nil {
			k = n.subKeys[i]
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, s)
	}
	return out
}

func (d *differ) compareCombined(o, u *node) {
	// compareCriteria
	if o.criterion != u.criterion {
		if u.criterion == "anyOf" ||
			(len(o.subs) == 1 && len(u.subs) == 1) ||
			(len(o.subs) == 1 && u.criterion == "oneOf") ||
			(len(u.subs) == 1 && o.criterion == "allOf") {
			d.add("COMBINED_TYPE_EXTENDED")
		} else {
			d.add("COMBINED_TYPE_CHANGED")
			return
		}
	}
	os, us := uniqueSubs(o), uniqueSubs(u)
	switch {
	case len(os) < len(us):
		if u.criterion == "allOf" {
			d.add("PRODUCT_TYPE_EXTENDED")
		} else {
			d.add("SUM_TYPE_EXTENDED")
		}
	case len(os) > len(us):
		if o.criterion == "anyOf" || o.criterion == "oneOf" {
			d.add("SUM_TYPE_NARROWED")
		} else {
			d.add("PRODUCT_TYPE_NARROWED")
		}
	}
	// The compatible pairs, then a maximum matching between the two sides.
	edges := make([][]int, len(os))
	edgeDiffs := map[[2]int][]difference{}
	for i, a := range os {
		d.enter(fmt.Sprintf("%s/%d", o.criterion, i))
		for j, b := range us {
			sub := d.sub()
			sub.compare(a, b)
			if sub.compatible() {
				edges[i] = append(edges[i], j)
				edgeDiffs[[2]int{i, j}] = sub.diffs
			}
		}
		d.leave()
	}
	match := maxMatching(edges, len(us))
	n := 0
	for j, i := range match {
		if i >= 0 {
			n++
			d.diffs = append(d.diffs, edgeDiffs[[2]int{i, j}]...)
		}
	}
	if n < min(len(os), len(us)) {
		d.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED")
	}
}

// maxMatching is a maximum bipartite matching (augmenting paths): match[j] is the left vertex
// matched to right vertex j, or -1.
func maxMatching(edges [][]int, right int) []int {
	match := make([]int, right)
	for j := range match {
		match[j] = -1
	}
	var try func(i int, seen []bool) bool
	try = func(i int, seen []bool) bool {
		for _, j := range edges[i] {
			if seen[j] {
				continue
			}
			seen[j] = true
			if match[j] < 0 || try(match[j], seen) {
				match[j] = i
				return true
			}
		}
		return false
	}
	for i := range edges {
		try(i, make([]bool, right))
	}
	return match
}

func sortedKeys[V any](a, b map[string]V) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func (d *differ) compareObject(o, u *node) {
	// required
	d.enter("required")
	for _, k := range sortedKeys(o.properties, nil) {
		if _, ok := u.properties[k]; !ok {
			continue
		}
		d.enter(escapePath(k))
		switch or, ur := o.required[k], u.required[k]; {
		case or && !ur:
			d.add("REQUIRED_ATTRIBUTE_REMOVED")
		case !or && ur:
			if u.properties[k].hasDefault {
				d.add("REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED")
			} else {
				d.add("REQUIRED_ATTRIBUTE_ADDED")
			}
		}
		d.leave()
	}
	d.leave()

	// properties
	d.enter("properties")
	for _, k := range sortedKeys(o.properties, u.properties) {
		d.enter(escapePath(k))
		os, us := o.properties[k], u.properties[k]
		switch {
		case us == nil:
			if openObject(u) {
				d.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL")
			} else if partial := partialObject(u, k); partial != nil {
				sub := d.sub()
				sub.compare(os, partial)
				d.diffs = append(d.diffs, sub.diffs...)
				if sub.compatible() {
					d.add("PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
				} else {
					d.add("PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
				}
			} else if os.kind == kFalse {
				d.add("PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL")
			} else {
				d.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL")
			}
		case os == nil:
			if openObject(o) {
				switch {
				case us.kind == kEmpty:
					d.add("PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL")
				case u.required[k] && us.hasDefault:
					d.add("REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL")
				case u.required[k]:
					d.add("REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL")
				default:
					d.add("OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL")
				}
			} else {
				if partial := partialObject(o, k); partial != nil {
					sub := d.sub()
					sub.compare(partial, us)
					d.diffs = append(d.diffs, sub.diffs...)
					if sub.compatible() {
						d.add("PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
					} else {
						d.add("PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
					}
				}
				switch {
				case u.required[k] && us.hasDefault:
					d.add("REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL")
				case u.required[k]:
					d.add("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL")
				default:
					d.add("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL")
				}
			}
		default:
			d.compare(os, us)
		}
		d.leave()
	}
	d.leave()

	// dependencies
	d.enter("dependencies")
	for _, k := range sortedKeys(o.dependencyArrays, u.dependencyArrays) {
		d.enter(escapePath(k))
		oa, oHas := o.dependencyArrays[k]
		ua, uHas := u.dependencyArrays[k]
		switch {
		case !uHas:
			d.add("DEPENDENCY_ARRAY_REMOVED")
		case !oHas:
			d.add("DEPENDENCY_ARRAY_ADDED")
		default:
			os, us := setOf(oa), setOf(ua)
			if !sameSet(os, us) {
				switch {
				case containsAll(us, os):
					d.add("DEPENDENCY_ARRAY_EXTENDED")
				case containsAll(os, us):
					d.add("DEPENDENCY_ARRAY_NARROWED")
				default:
					d.add("DEPENDENCY_ARRAY_CHANGED")
				}
			}
		}
		d.leave()
	}
	for _, k := range sortedKeys(o.dependencySchemas, u.dependencySchemas) {
		d.enter(escapePath(k))
		os, us := o.dependencySchemas[k], u.dependencySchemas[k]
		switch {
		case us == nil:
			d.add("DEPENDENCY_SCHEMA_REMOVED")
		case os == nil:
			d.add("DEPENDENCY_SCHEMA_ADDED")
		default:
			d.compare(os, us)
		}
		d.leave()
	}
	d.leave()

	// additionalProperties
	d.compareAdditional("additionalProperties", o.additionalFalse, u.additionalFalse, o.additional, u.additional, "ADDITIONAL_PROPERTIES")

	d.compareUnevaluated("unevaluatedProperties", o.unevaluated, u.unevaluated, "UNEVALUATED_PROPERTIES")

	d.compareInts("maxProperties", o.maxProps, u.maxProps, "MAX_PROPERTIES")
	d.compareInts("minProperties", o.minProps, u.minProps, "MIN_PROPERTIES")
}

// compareAdditional compares additionalProperties or additionalItems: false on one side only
// (the content model closed or opened), a schema on one side only (narrowed or extended), or
// the two schemas.
func (d *differ) compareAdditional(name string, oFalse, uFalse bool, o, u *node, prefix string) {
	d.enter(name)
	switch {
	case oFalse != uFalse:
		if uFalse {
			d.add(prefix + "_REMOVED")
		} else {
			d.add(prefix + "_ADDED")
		}
	case o == nil && u != nil:
		d.add(prefix + "_NARROWED")
	case u == nil && o != nil:
		d.add(prefix + "_EXTENDED")
	default:
		d.compare(o, u)
	}
	d.leave()
}

func (d *differ) compareUnevaluated(name string, o, u *node, prefix string) {
	if o == nil && u == nil {
		return
	}
	d.enter(name)
	switch {
	case o == nil:
		if u.kind == kFalse {
			d.add(prefix + "_REMOVED")
		} else {
			d.add(prefix + "_NARROWED")
		}
	case u == nil:
		if o.kind == kFalse {
			d.add(prefix + "_ADDED")
		} else {
			d.add(prefix + "_EXTENDED")
		}
	case o.kind == kFalse && u.kind != kFalse:
		d.add(prefix + "_ADDED")
	case o.kind != kFalse && u.kind == kFalse:
		d.add(prefix + "_REMOVED")
	case o.kind == kEmpty && u.kind != kEmpty:
		d.add(prefix + "_NARROWED")
	case o.kind != kEmpty && u.kind == kEmpty:
		d.add(prefix + "_EXTENDED")
	default:
		d.compare(o, u)
	}
	d.leave()
}

// openObject: additionalProperties true or absent, no patternProperties, unevaluatedProperties
// true or absent.
func openObject(n *node) bool {
	if n.additionalFalse || n.additional != nil || len(n.patternProperties) > 0 {
		return false
	}
	return n.unevaluated == nil || n.unevaluated.kind == kEmpty
}

// partialObject is the schema a partially open object gives an undeclared property k: its first
// matching patternProperties schema, its additionalProperties schema, or its
// unevaluatedProperties schema.
func partialObject(n *node, k string) *node {
	for _, p := range n.patternProperties {
		if p.re != nil && p.re.MatchString(k) {
			return p.schema
		}
	}
	if n.additional != nil {
		return n.additional
	}
	if !n.additionalFalse && n.unevaluated != nil && n.unevaluated.kind != kFalse && n.unevaluated.kind != kEmpty {
		return n.unevaluated
	}
	return nil
}

func openArray(n *node) bool {
	if n.additionalItemsFalse || n.additionalItems != nil {
		return false
	}
	return n.unevaluatedItems == nil || n.unevaluatedItems.kind == kEmpty
}

func partialArray(n *node) *node {
	if n.additionalItems != nil {
		return n.additionalItems
	}
	if !n.additionalItemsFalse && n.unevaluatedItems != nil && n.unevaluatedItems.kind != kFalse && n.unevaluatedItems.kind != kEmpty {
		return n.unevaluatedItems
	}
	return nil
}

func (d *differ) compareArray(o, u *node) {
	d.enter("items")
	d.compare(o.allItems, u.allItems)
	d.leave()

	common := min(len(o.itemList), len(u.itemList))
	for i := 0; i < common; i++ {
		d.enter(fmt.Sprintf("items/%d", i))
		d.compare(o.itemList[i], u.itemList[i])
		d.leave()
	}
	for i := common; i < len(o.itemList); i++ {
		d.enter(fmt.Sprintf("items/%d", i))
		os := o.itemList[i]
		if openArray(u) {
			d.add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL")
		} else if partial := partialArray(u); partial != nil {
			sub := d.sub()
			sub.compare(os, partial)
			d.diffs = append(d.diffs, sub.diffs...)
			if sub.compatible() {
				d.add("ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
			} else {
				d.add("ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
			}
		} else if os.kind == kFalse {
			d.add("ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL")
		} else {
			d.add("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL")
		}
		d.leave()
	}
	for i := common; i < len(u.itemList); i++ {
		d.enter(fmt.Sprintf("items/%d", i))
		us := u.itemList[i]
		if openArray(o) {
			if us.kind == kEmpty {
				d.add("ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL")
			} else {
				d.add("ITEM_ADDED_TO_OPEN_CONTENT_MODEL")
			}
		} else if partial := partialArray(o); partial != nil {
			sub := d.sub()
			sub.compare(partial, us)
			d.diffs = append(d.diffs, sub.diffs...)
			if sub.compatible() {
				d.add("ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
			} else {
				d.add("ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
			}
		} else {
			d.add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL")
		}
		d.leave()
	}

	d.compareAdditional("additionalItems", o.additionalItemsFalse, u.additionalItemsFalse, o.additionalItems, u.additionalItems, "ADDITIONAL_ITEMS")

	d.compareUnevaluated("unevaluatedItems", o.unevaluatedItems, u.unevaluatedItems, "UNEVALUATED_ITEMS")

	d.compareInts("maxItems", o.maxItems, u.maxItems, "MAX_ITEMS")
	d.compareInts("minItems", o.minItems, u.minItems, "MIN_ITEMS")
	if o.uniqueItems != u.uniqueItems {
		if o.uniqueItems {
			d.addAt("uniqueItems", "UNIQUE_ITEMS_REMOVED")
		} else {
			d.addAt("uniqueItems", "UNIQUE_ITEMS_ADDED")
		}
	}
	d.compareInts("maxContains", o.maxContains, u.maxContains, "MAX_CONTAINS")
	d.compareInts("minContains", o.minContains, u.minContains, "MIN_CONTAINS")
}
