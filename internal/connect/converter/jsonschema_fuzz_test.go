package converter

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
)

// FuzzJSONSchemaToConnect feeds JsonSchemaConverter.ToConnect documents from the network after
// the header of one of the schemas registered (Connect-derived, and a foreign one with oneOf,
// enum, $ref and a type list), or bytes with a header of their own. Nothing may panic; what is
// read must write and read back.
func FuzzJSONSchemaToConnect(f *testing.F) {
	tr := newTestRegistry(f)
	c := tr.converter(f, JSONSchemaClass, false, "use.optional.for.nonrequired", "true")
	s, v := everyTypeSchema()
	all, err := c.FromConnect("all", s, v)
	if err != nil {
		f.Fatal(err)
	}
	foreign := `{"type":"object","definitions":{"A":{"type":"object","properties":{"c":{"type":"string"}}}},
		"properties":{"n":{"type":"integer"},"u":{"oneOf":[{"type":"null"},{"type":"integer"},{"type":"string"},{"type":"array","items":{"type":"number"}}]},
		"e":{"enum":["x","y"]},"r":{"$ref":"#/definitions/A"},"t":{"type":["boolean","null"]},
		"m":{"type":"array","connect.type":"map","items":{"type":"object","properties":{"key":{"type":"integer","connect.type":"int8"},"value":{"type":"string","connect.type":"bytes"}}}}}}`
	ss, err := tr.client.CreateSchema(context.Background(), "foreign-value", sr.Schema{Schema: foreign, Type: sr.TypeJSON})
	if err != nil {
		f.Fatal(err)
	}
	ids := []int{1, ss.ID}
	f.Add(uint8(0), all[5:], false)
	f.Add(uint8(1), []byte(`{"n":1,"u":[1.5,2],"e":"x","r":{"c":"d"},"t":true,"m":[{"key":-1,"value":"AAE="}]}`), false)
	f.Add(uint8(1), []byte(`{"u":"s","m":[]}`), false)
	f.Add(uint8(0), all, true)
	fuzzToConnect(f, c, ids)
}
