package converter

import (
	"context"
	"encoding/binary"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/internal/connect/data"
)

func TestJSONSchemaRoundTripEveryType(t *testing.T) {
	for _, format := range []string{"BASE64", "NUMERIC"} {
		t.Run(format, func(t *testing.T) {
			tr := newTestRegistry(t)
			c := tr.converter(t, JSONSchemaClass, false, "decimal.format", format)
			s, v := everyTypeSchema()
			b, err := c.FromConnect("all", s, v)
			if err != nil {
				t.Fatal(err)
			}
			if b[0] != 0 || binary.BigEndian.Uint32(b[1:5]) != 1 {
				t.Fatalf("not magic byte 0 and schema id 1: % x", b[:5])
			}
			payload := string(b[5:])
			wantDec := `"dec":"z8c="`
			if format == "NUMERIC" {
				wantDec = `"dec":-123.45`
			}
			for _, part := range []string{wantDec, `"imap":[{"key":-1,"value":"minus"},{"key":3,"value":"three"}]`, `"bytes":"AAH/"`, `"date":20468`, `"opt":null`} {
				if !strings.Contains(payload, part) {
					t.Errorf("payload lacks %s: %s", part, payload)
				}
			}
			checkEveryTypeRoundTrip(t, c, b)
		})
	}
}

// TestJSONSchemaRegistered: the JSON Schema registered for a Debezium-like key and value, with
// JsonSchemaData's annotations.
func TestJSONSchemaRegistered(t *testing.T) {
	tr := newTestRegistry(t)
	c := tr.converter(t, JSONSchemaClass, false)
	s := data.MustStruct("shop.Item",
		data.F("id", data.Int32Schema),
		data.F("name", data.OptionalStringSchema),
		data.F("price", data.DecimalSchema(2)),
		data.F("tags", data.MapOf(data.StringSchema, data.Int16Schema)),
	).Named("shop.Item", 2)
	v := data.NewStructValue(s).Set("id", int32(1)).Set("price", data.Decimal{Unscaled: big.NewInt(1999), Scale: 2}).
		Set("tags", map[any]any{"a": int16(1)})
	b, err := c.FromConnect("items", s, v)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b[5:]); got != `{"id":1,"name":null,"price":"B88=","tags":{"a":1}}` {
		t.Errorf("payload %s", got)
	}
	ss, err := tr.client.SchemaByVersion(context.Background(), "items-value", 1)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"object","properties":{` +
		`"id":{"type":"integer","connect.type":"int32","connect.index":0},` +
		`"name":{"oneOf":[{"type":"null"},{"type":"string"}],"connect.index":1},` +
		`"price":{"type":"number","title":"org.apache.kafka.connect.data.Decimal","connect.type":"bytes","connect.version":1,"connect.parameters":{"scale":"2"},"connect.index":2},` +
		`"tags":{"type":"object","additionalProperties":{"type":"integer","connect.type":"int16"},"connect.type":"map","connect.index":3}},` +
		`"title":"shop.Item","connect.version":2}`
	if ss.Type != sr.TypeJSON || ss.Schema.Schema != want {
		t.Fatalf("registered (%v):\n got  %s\n want %s", ss.Type, ss.Schema.Schema, want)
	}
}

// TestJSONSchemaReadsOtherProducers: documents written with a JSON Schema of another producer
// (no connect.* annotations: integer int64, number float64, properties in the order written,
// enum, oneOf of several types, $ref, "required" with use.optional.for.nonrequired).
func TestJSONSchemaReadsOtherProducers(t *testing.T) {
	tr := newTestRegistry(t)
	const schema = `{"$schema":"http://json-schema.org/draft-07/schema#","title":"User","type":"object",
		"definitions":{"Addr":{"type":"object","properties":{"city":{"type":"string"}}}},
		"properties":{"name":{"type":"string"},"age":{"type":"integer"},"score":{"type":"number"},
		"role":{"type":"string","enum":["admin","user"]},"id":{"oneOf":[{"type":"integer"},{"type":"string"}]},
		"home":{"$ref":"#/definitions/Addr"},"nick":{"type":["string","null"]}},"required":["name"]}`
	ss, err := tr.client.CreateSchema(context.Background(), "users-value", sr.Schema{Schema: schema, Type: sr.TypeJSON})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := wireHeader.AppendEncode(nil, ss.ID, nil)
	doc := `{"name":"cy","age":51,"score":1.5,"role":"admin","id":"u-1","home":{"city":"Oslo"},"nick":null}`
	b = append(b, doc...)
	c := tr.converter(t, JSONSchemaClass, false)
	s, v, err := c.ToConnect("users", b)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range s.Fields {
		names = append(names, f.Name+":"+f.Schema.String())
	}
	if got := strings.Join(names, " "); got != "name:string age:int64 score:float64 role:string id:io.confluent.connect.json.OneOf:struct{io.confluent.connect.json.OneOf.field.0:int64?,io.confluent.connect.json.OneOf.field.1:string?} home:struct{city:string} nick:string?" {
		t.Fatalf("derived schema: %s", got)
	}
	if s.Name != "User" || s.Version != 1 {
		t.Errorf("name %q version %d", s.Name, s.Version)
	}
	st := v.(*data.Struct)
	if st.Get("age") != int64(51) || st.Get("score") != 1.5 || st.Get("home").(*data.Struct).Get("city") != "Oslo" ||
		st.Get("id").(*data.Struct).Get("io.confluent.connect.json.OneOf.field.1") != "u-1" || st.Get("nick") != nil {
		t.Errorf("values: %v", st)
	}
	role, _ := s.Field("role")
	if role.Schema.Parameters[jsonEnumParam+".admin"] != "admin" {
		t.Errorf("enum parameters: %v", role.Schema.Parameters)
	}
	// A document without "age": required by default (as Confluent's converter), optional with
	// use.optional.for.nonrequired.
	b2, _ := wireHeader.AppendEncode(nil, ss.ID, nil)
	b2 = append(b2, `{"name":"di","score":0,"role":"user","id":3,"home":{"city":"Rome"},"nick":"d"}`...)
	if _, _, err := c.ToConnect("users", b2); err == nil {
		t.Error("a missing required-by-default property read")
	}
	opt := tr.converter(t, JSONSchemaClass, false, "use.optional.for.nonrequired", "true")
	_, v2, err := opt.ToConnect("users", b2)
	if err != nil {
		t.Fatal(err)
	}
	if st := v2.(*data.Struct); st.Get("age") != nil || st.Get("id").(*data.Struct).Get("io.confluent.connect.json.OneOf.field.0") != int64(3) {
		t.Errorf("with use.optional.for.nonrequired: %v", st)
	}
}

func TestJSONSchemaErrorsAndCaching(t *testing.T) {
	tr := newTestRegistry(t)
	c := tr.converter(t, JSONSchemaClass, false)
	if _, _, err := c.ToConnect("t", []byte{1, 0, 0, 0, 1}); !errors.Is(err, ErrWireFormat) {
		t.Errorf("bad magic byte: %v", err)
	}
	s, v := everyTypeSchema()
	b, err := c.FromConnect("t", s, v)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ToConnect("t", append(b[:len(b)-1:len(b)-1], 'x')); err == nil {
		t.Error("broken JSON read")
	}
	if _, _, err := c.ToConnect("t", b); err != nil {
		t.Fatal(err)
	}
	before := tr.requests.Load()
	for i := 0; i < 20; i++ {
		if _, err := c.FromConnect("t", s, v); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ToConnect("t", b); err != nil {
			t.Fatal(err)
		}
	}
	if n := tr.requests.Load() - before; n != 0 {
		t.Fatalf("%d registry requests after the first record", n)
	}
	if _, err := New(JSONSchemaClass, map[string]string{"schema.registry.url": tr.url, "decimal.format": "HEX"}, false); err == nil {
		t.Error("decimal.format HEX accepted")
	}
}
