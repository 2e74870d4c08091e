package protobuf

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// Compatibility follows Confluent's Protobuf diff (io.confluent.kafka.schemaregistry.protobuf.diff):
// the writer ("original") and reader ("update") files are compared element by element, each
// difference gets a type and a path ("#/Order/2": message names, then oneof name and field
// number), and the differences not in compatibleChanges make the reader unable to read.

// differenceType names a difference as Confluent's Difference.Type does.
type differenceType string

const (
	packageChanged             differenceType = "PACKAGE_CHANGED"
	messageAdded               differenceType = "MESSAGE_ADDED"
	messageRemoved             differenceType = "MESSAGE_REMOVED"
	messageMoved               differenceType = "MESSAGE_MOVED"
	enumAdded                  differenceType = "ENUM_ADDED"
	enumRemoved                differenceType = "ENUM_REMOVED"
	enumConstAdded             differenceType = "ENUM_CONST_ADDED"
	enumConstChanged           differenceType = "ENUM_CONST_CHANGED"
	enumConstRemoved           differenceType = "ENUM_CONST_REMOVED"
	fieldAdded                 differenceType = "FIELD_ADDED"
	fieldRemoved               differenceType = "FIELD_REMOVED"
	fieldNameChanged           differenceType = "FIELD_NAME_CHANGED"
	fieldKindChanged           differenceType = "FIELD_KIND_CHANGED"
	fieldScalarKindChanged     differenceType = "FIELD_SCALAR_KIND_CHANGED"
	fieldNamedTypeChanged      differenceType = "FIELD_NAMED_TYPE_CHANGED"
	fieldNumericLabelChanged   differenceType = "FIELD_NUMERIC_LABEL_CHANGED"
	fieldStringOrBytesLabel    differenceType = "FIELD_STRING_OR_BYTES_LABEL_CHANGED"
	requiredFieldAdded         differenceType = "REQUIRED_FIELD_ADDED"
	requiredFieldRemoved       differenceType = "REQUIRED_FIELD_REMOVED"
	oneofAdded                 differenceType = "ONEOF_ADDED"
	oneofRemoved               differenceType = "ONEOF_REMOVED"
	oneofFieldAdded            differenceType = "ONEOF_FIELD_ADDED"
	oneofFieldRemoved          differenceType = "ONEOF_FIELD_REMOVED"
	oneofFieldMovedToTopLevel  differenceType = "ONEOF_FIELD_MOVED_TO_TOP_LEVEL"
	multipleFieldsMovedToOneof differenceType = "MULTIPLE_FIELDS_MOVED_TO_ONEOF"
	fieldMovedToExistingOneof  differenceType = "FIELD_MOVED_TO_EXISTING_ONEOF"
)

// compatibleChanges are the differences a reader copes with (Confluent's COMPATIBLE_CHANGES).
var compatibleChanges = map[differenceType]bool{
	messageAdded: true, messageMoved: true, enumAdded: true, enumRemoved: true,
	enumConstAdded: true, enumConstChanged: true, enumConstRemoved: true,
	fieldAdded: true, fieldRemoved: true, fieldNameChanged: true, fieldStringOrBytesLabel: true,
	oneofAdded: true, oneofRemoved: true, oneofFieldAdded: true, oneofFieldMovedToTopLevel: true,
}

// maxDiffSteps bounds the messages one comparison visits (named types are compared
// recursively, once per path that reaches them).
const maxDiffSteps = 100000

type difference struct {
	kind differenceType
	path string
}

// String is the verbose message in Confluent's shape; its two %s placeholders are the reader's
// and the writer's roles, which the registry fills (format.FillRoles).
func (d difference) String() string {
	var text string
	switch d.kind {
	case packageChanged:
		text = "The package at '" + d.path + "' in the %s schema does not match the package in the %s schema"
	case messageRemoved:
		text = "The %s schema is missing a MESSAGE type at path '" + d.path + "' in the %s schema"
	case fieldKindChanged:
		text = "The type of a field at path '" + d.path + "' in the %s schema does not match the %s schema"
	case fieldScalarKindChanged:
		text = "The kind of a SCALAR field at path '" + d.path + "' in the %s schema does not match its kind in the %s schema"
	case fieldNamedTypeChanged:
		text = "The type of a MESSAGE field at path '" + d.path + "' in the %s schema does not match its type in the %s schema"
	case fieldNumericLabelChanged:
		text = "The label for a NUMERIC field at path '" + d.path + "' in the %s schema does not match its label in the %s schema"
	case requiredFieldAdded:
		text = "A required field at path '" + d.path + "' in the %s schema is missing in the %s schema"
	case requiredFieldRemoved:
		text = "The %s schema is missing a required field at path '" + d.path + "' in the %s schema"
	case oneofFieldRemoved:
		text = "The %s schema is missing a oneof field at path '" + d.path + "' in the %s schema"
	case multipleFieldsMovedToOneof:
		text = "Multiple fields in the oneof at path '" + d.path + "' in the %s schema are outside a oneof in the %s schema"
	case fieldMovedToExistingOneof:
		text = "A field in the oneof at path '" + d.path + "' in the %s schema is outside an existing oneof in the %s schema"
	}
	return `{errorType:"` + string(d.kind) + `", description:"` + text + `"}`
}

// CanRead compares writer (Confluent's "original") with s (the "update") and lists the
// incompatible differences.
func (s *protobufSchema) CanRead(writer format.Schema) (msgs []string) {
	w, ok := writer.(*protobufSchema)
	if !ok {
		return []string{"Incompatible because of different schema type"}
	}
	defer func() {
		if r := recover(); r != nil {
			msgs = []string{fmt.Sprintf("protobuf schemas could not be compared: %v", r)}
		}
	}()
	ctx := newDiffContext(w, s)
	ctx.compareFiles(w.file, s.file)
	for _, d := range ctx.diffs {
		if !compatibleChanges[d.kind] {
			msgs = append(msgs, d.String())
		}
	}
	return msgs
}

// diffContext carries one comparison: the differences found, the current path, the writer
// messages being compared (a recursive type is compared once), and the step budget.
type diffContext struct {
	original, update *protobufSchema
	diffs            []difference
	path             []string
	inScope          map[protoreflect.FullName]bool
	steps            *int
}

func newDiffContext(original, update *protobufSchema) *diffContext {
	steps := 0
	return &diffContext{original: original, update: update, inScope: map[protoreflect.FullName]bool{}, steps: &steps}
}

// sub starts a comparison of a named type's messages at the path of its local name,
// sharing the scope and budget.
func (c *diffContext) sub(localName string) *diffContext {
	scope := make(map[protoreflect.FullName]bool, len(c.inScope))
	for k, v := range c.inScope {
		scope[k] = v
	}
	return &diffContext{original: c.original, update: c.update, path: strings.Split(localName, "."), inScope: scope, steps: c.steps}
}

func (c *diffContext) add(kind differenceType) {
	c.diffs = append(c.diffs, difference{kind: kind, path: "#/" + strings.Join(c.path, "/")})
}

func (c *diffContext) enter(name string) { c.path = append(c.path, name) }
func (c *diffContext) leave()            { c.path = c.path[:len(c.path)-1] }

func (c *diffContext) compatible() bool {
	for _, d := range c.diffs {
		if !compatibleChanges[d.kind] {
			return false
		}
	}
	return true
}

func (c *diffContext) compareFiles(original, update protoreflect.FileDescriptor) {
	if original.Package() != update.Package() {
		c.add(packageChanged)
	}
	c.compareTypes(original.Messages(), original.Enums(), update.Messages(), update.Enums())
}

// indexMessages maps a scope's messages by name with their index among them; map entries are
// not declarations of the user's and are left out.
func indexMessages(list protoreflect.MessageDescriptors) (map[string]protoreflect.MessageDescriptor, map[string]int) {
	byName := map[string]protoreflect.MessageDescriptor{}
	index := map[string]int{}
	n := 0
	for i := 0; i < list.Len(); i++ {
		m := list.Get(i)
		if m.IsMapEntry() {
			continue
		}
		byName[string(m.Name())] = m
		index[string(m.Name())] = n
		n++
	}
	return byName, index
}

func (c *diffContext) compareTypes(origMsgs protoreflect.MessageDescriptors, origEnums protoreflect.EnumDescriptors,
	updMsgs protoreflect.MessageDescriptors, updEnums protoreflect.EnumDescriptors) {
	origByName, origIndex := indexMessages(origMsgs)
	updByName, updIndex := indexMessages(updMsgs)
	for _, name := range unionKeys(origByName, updByName) {
		c.enter(name)
		orig, upd := origByName[name], updByName[name]
		switch {
		case upd == nil:
			c.add(messageRemoved)
		case orig == nil:
			c.add(messageAdded)
		default:
			c.compareMessages(orig, upd)
			if origIndex[name] != updIndex[name] {
				c.add(messageMoved)
			}
		}
		c.leave()
	}
	origEnumsByName, updEnumsByName := map[string]protoreflect.EnumDescriptor{}, map[string]protoreflect.EnumDescriptor{}
	for i := 0; i < origEnums.Len(); i++ {
		origEnumsByName[string(origEnums.Get(i).Name())] = origEnums.Get(i)
	}
	for i := 0; i < updEnums.Len(); i++ {
		updEnumsByName[string(updEnums.Get(i).Name())] = updEnums.Get(i)
	}
	for _, name := range unionKeys(origEnumsByName, updEnumsByName) {
		c.enter(name)
		orig, upd := origEnumsByName[name], updEnumsByName[name]
		switch {
		case upd == nil:
			c.add(enumRemoved)
		case orig == nil:
			c.add(enumAdded)
		default:
			c.compareEnums(orig, upd)
		}
		c.leave()
	}
}

func unionKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, len(a)+len(b))
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

func (c *diffContext) compareEnums(orig, upd protoreflect.EnumDescriptor) {
	origByNumber, updByNumber := map[int]string{}, map[int]string{}
	for i := 0; i < orig.Values().Len(); i++ {
		v := orig.Values().Get(i)
		origByNumber[int(v.Number())] = string(v.Name())
	}
	for i := 0; i < upd.Values().Len(); i++ {
		v := upd.Values().Get(i)
		updByNumber[int(v.Number())] = string(v.Name())
	}
	for _, number := range unionInts(origByNumber, updByNumber) {
		c.enter(strconv.Itoa(number))
		o, inOrig := origByNumber[number]
		u, inUpd := updByNumber[number]
		switch {
		case !inUpd:
			c.add(enumConstRemoved)
		case !inOrig:
			c.add(enumConstAdded)
		case o != u:
			c.add(enumConstChanged)
		}
		c.leave()
	}
}

func unionInts[V any](a, b map[int]V) []int {
	keys := make([]int, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Ints(keys)
	return keys
}
