package converter

import (
	"context"
	"encoding/binary"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/internal/connect/data"
)

// everyTypeSchema is a struct with every Connect type and logical type, optional fields,
// defaults, a nested named struct, an unnamed one, arrays and maps of both key kinds.
func everyTypeSchema() (*data.Schema, *data.Struct) {
	inner := data.MustStruct("acme.Inner", data.F("x", data.OptionalInt64Schema))
	anon := data.MustStruct("", data.F("flag", data.BooleanSchema))
	s := data.MustStruct("acme.All",
		data.F("i8", data.Int8Schema), data.F("i16", data.Int16Schema), data.F("i32", data.Int32Schema), data.F("i64", data.Int64Schema),
		data.F("f32", data.Float32Schema), data.F("f64", data.Float64Schema), data.F("b", data.BooleanSchema),
		data.F("s", data.StringSchema), data.F("bytes", data.BytesSchema),
		data.F("arr", data.ArrayOf(data.StringSchema)),
		data.F("arrOpt", data.ArrayOf(data.OptionalInt32Schema).AsOptional()),
		data.F("smap", data.MapOf(data.StringSchema, data.Int32Schema)),
		data.F("imap", data.MapOf(data.Int32Schema, data.StringSchema)),
		data.F("inner", inner),
		data.F("innerOpt", inner.AsOptional()),
		data.F("anon", anon),
		data.F("opt", data.OptionalStringSchema),
		data.F("optDefault", data.OptionalStringSchema.WithDefault("dflt")),
		data.F("def", data.Int32Schema.WithDefault(int32(7))),
		data.F("dec", data.DecimalSchema(2)),
		data.F("decNeg", data.DecimalSchema(0).AsOptional()),
		data.F("date", data.DateSchema), data.F("time", data.TimeSchema), data.F("ts", data.TimestampSchema),
		data.F("tsOpt", data.TimestampSchema.AsOptional()),
		data.F("doc", data.StringSchema.WithDoc("a documented string").Named("acme.Text", 3).WithParameter("p", "q")),
	)
	v := data.NewStructValue(s).
		Set("i8", int8(-8)).Set("i16", int16(300)).Set("i32", int32(-70000)).Set("i64", int64(1)<<60).
		Set("f32", float32(1.5)).Set("f64", 2.25).Set("b", true).Set("s", "hé \"q\"\n").Set("bytes", []byte{0, 1, 0xff}).
		Set("arr", []any{"a", "b"}).Set("arrOpt", []any{int32(1), nil, int32(3)}).
		Set("smap", map[any]any{"k": int32(1), "j": int32(2)}).
		Set("imap", map[any]any{int32(3): "three", int32(-1): "minus"}).
		Set("inner", data.NewStructValue(inner).Set("x", int64(9))).
		Set("anon", data.NewStructValue(anon).Set("flag", true)).
		Set("optDefault", "given").Set("def", int32(7)).
		Set("dec", data.Decimal{Unscaled: big.NewInt(-12345), Scale: 2}).
		Set("decNeg", data.Decimal{Unscaled: big.NewInt(-128), Scale: 0}).
		Set("date", time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)).
		Set("time", time.UnixMilli(10*3600*1000+30*60*1000).UTC()).
		Set("ts", time.UnixMilli(1768473000123).UTC()).
		Set("doc", "documented")
	return s, v
}

func TestAvroRoundTripEveryType(t *testing.T) {
	tr := newTestRegistry(t)
	c := tr.converter(t, AvroClass, false)
	s, v := everyTypeSchema()
	b, err := c.FromConnect("all", s, v)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0 || binary.BigEndian.Uint32(b[1:5]) != 1 {
		t.Fatalf("not magic byte 0 and schema id 1: % x", b[:5])
	}
	s2 := checkEveryTypeRoundTrip(t, c, b)
	if f, _ := s2.Field("anon"); f.Schema.Name != "" {
		t.Errorf("an unnamed struct reads back named %q", f.Schema.Name)
	}
	// The same schema again: the same bytes, no new version.
	b2, err := c.FromConnect("all", s, v)
	if err != nil || string(b2) != string(b) {
		t.Fatalf("second write differs: %v", err)
	}
	versions, err := tr.client.SubjectVersions(context.Background(), "all-value")
	if err != nil || len(versions) != 1 {
		t.Fatalf("all-value versions %v, %v", versions, err)
	}
}

// rebuild copies st's values into a struct of schema s (the same shape).
func rebuild(t *testing.T, s *data.Schema, st *data.Struct) *data.Struct {
	t.Helper()
	out := data.NewStructValue(s)
	for i, f := range s.Fields {
		v := st.GetAt(i)
		if inner, ok := v.(*data.Struct); ok {
			v = rebuild(t, nonOptional(f.Schema), inner)
			if f.Schema.Optional {
				v = rebuildOptional(t, f.Schema, inner)
			}
		}
		if err := out.Put(f.Name, v); err != nil {
			t.Fatalf("field %s: %v", f.Name, err)
		}
	}
	return out
}

func rebuildOptional(t *testing.T, s *data.Schema, st *data.Struct) *data.Struct {
	out := data.NewStructValue(s)
	for i, f := range s.Fields {
		if err := out.Put(f.Name, st.GetAt(i)); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// debeziumEnvelope is the Connect schema of a Debezium Postgres change event value for a
// table (id int, name text, price numeric(10,2), created timestamp, qty smallint).
func debeziumEnvelope() (*data.Schema, *data.Schema) {
	value := data.MustStruct("dbserver1.inventory.customers.Value",
		data.F("id", data.Int32Schema),
		data.F("name", data.OptionalStringSchema),
		data.F("price", data.DecimalSchema(2).WithParameter("connect.decimal.precision", "10").AsOptional()),
		data.F("created", data.TimestampSchema.AsOptional()),
		data.F("qty", data.Int16Schema),
	)
	source := data.MustStruct("io.debezium.connector.postgresql.Source",
		data.F("version", data.StringSchema), data.F("connector", data.StringSchema), data.F("name", data.StringSchema),
		data.F("ts_ms", data.Int64Schema),
		data.F("snapshot", data.StringSchema.Named("io.debezium.data.Enum", 1).
			WithParameter("allowed", "true,last,false,incremental").AsOptional().WithDefault("false")),
		data.F("db", data.StringSchema), data.F("schema", data.StringSchema), data.F("table", data.StringSchema),
		data.F("txId", data.OptionalInt64Schema), data.F("lsn", data.OptionalInt64Schema),
	)
	block := data.MustStruct("event.block", data.F("id", data.StringSchema), data.F("total_order", data.Int64Schema),
		data.F("data_collection_order", data.Int64Schema)).Named("event.block", 1)
	env := data.MustStruct("dbserver1.inventory.customers.Envelope",
		data.F("before", value.AsOptional()), data.F("after", value.AsOptional()),
		data.F("source", source), data.F("op", data.StringSchema), data.F("ts_ms", data.OptionalInt64Schema),
		data.F("transaction", block.AsOptional()),
	).Named("dbserver1.inventory.customers.Envelope", 1)
	return env, value
}

// wantEnvelopeAvro is the schema Confluent's AvroConverter registers for debeziumEnvelope
// (AvroData.fromConnectSchema printed by Avro's Schema.toString): optional fields as unions
// with null first and default null, the optional field with a default as [T, "null"] with
// that default, the Value record defined at its first use (before) and named at its second
// (after), the decimal's scale and precision ahead of the connect.* properties and its
// logicalType after them, int16 as an int with connect.type, namespaces written only where
// they change.
const wantEnvelopeAvro = `{"type":"record","name":"Envelope","namespace":"dbserver1.inventory.customers","fields":[` +
	`{"name":"before","type":["null",{"type":"record","name":"Value","fields":[` +
	`{"name":"id","type":"int"},` +
	`{"name":"name","type":["null","string"],"default":null},` +
	`{"name":"price","type":["null",{"type":"bytes","scale":2,"precision":10,"connect.version":1,"connect.parameters":{"scale":"2","connect.decimal.precision":"10"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}],"default":null},` +
	`{"name":"created","type":["null",{"type":"long","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Timestamp","logicalType":"timestamp-millis"}],"default":null},` +
	`{"name":"qty","type":{"type":"int","connect.type":"int16"}}],` +
	`"connect.name":"dbserver1.inventory.customers.Value"}],"default":null},` +
	`{"name":"after","type":["null","Value"],"default":null},` +
	`{"name":"source","type":{"type":"record","name":"Source","namespace":"io.debezium.connector.postgresql","fields":[` +
	`{"name":"version","type":"string"},{"name":"connector","type":"string"},{"name":"name","type":"string"},{"name":"ts_ms","type":"long"},` +
	`{"name":"snapshot","type":[{"type":"string","connect.version":1,"connect.parameters":{"allowed":"true,last,false,incremental"},"connect.default":"false","connect.name":"io.debezium.data.Enum"},"null"],"default":"false"},` +
	`{"name":"db","type":"string"},{"name":"schema","type":"string"},{"name":"table","type":"string"},` +
	`{"name":"txId","type":["null","long"],"default":null},{"name":"lsn","type":["null","long"],"default":null}],` +
	`"connect.name":"io.debezium.connector.postgresql.Source"}},` +
	`{"name":"op","type":"string"},` +
	`{"name":"ts_ms","type":["null","long"],"default":null},` +
	`{"name":"transaction","type":["null",{"type":"record","name":"block","namespace":"event","fields":[` +
	`{"name":"id","type":"string"},{"name":"total_order","type":"long"},{"name":"data_collection_order","type":"long"}],` +
	`"connect.version":1,"connect.name":"event.block"}],"default":null}],` +
	`"connect.version":1,"connect.name":"dbserver1.inventory.customers.Envelope"}`

func TestAvroDebeziumEnvelopeRegistered(t *testing.T) {
	env, value := debeziumEnvelope()
	text, err := avroSchemaText(env, true)
	if err != nil {
		t.Fatal(err)
	}
	if text != wantEnvelopeAvro {
		t.Fatalf("derived schema:\n got  %s\n want %s", text, wantEnvelopeAvro)
	}
	tr := newTestRegistry(t)
	c := tr.converter(t, AvroClass, false)
	after := data.NewStructValue(value.AsOptional()).Set("id", int32(1001)).Set("name", "Sally").
		Set("price", data.Decimal{Unscaled: big.NewInt(1999), Scale: 2}).Set("qty", int16(3))
	src := env.Fields[2].Schema
	rec := data.NewStructValue(env).Set("after", after).
		Set("source", data.NewStructValue(src).Set("version", "2.7.0").Set("connector", "postgresql").Set("name", "dbserver1").
			Set("ts_ms", int64(1768473000000)).Set("db", "inventory").Set("schema", "inventory").Set("table", "customers").
			Set("txId", int64(771)).Set("lsn", int64(33227720))).
		Set("op", "c").Set("ts_ms", int64(1768473000123))
	b, err := c.FromConnect("dbserver1.inventory.customers", env, rec)
	if err != nil {
		t.Fatal(err)
	}
	// The registry keeps the text as Avro's Schema.toString gives it: the same bytes.
	ss, err := tr.client.SchemaByVersion(context.Background(), "dbserver1.inventory.customers-value", 1)
	if err != nil {
		t.Fatal(err)
	}
	if ss.Schema.Schema != wantEnvelopeAvro {
		t.Fatalf("registered:\n got  %s\n want %s", ss.Schema.Schema, wantEnvelopeAvro)
	}
	// Any Avro library reads the record with the registered schema: hamba/avro into a map.
	parsed, err := avro.ParseWithCache(ss.Schema.Schema, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := avro.Unmarshal(parsed, b[5:], &generic); err != nil {
		t.Fatal(err)
	}
	afterUnion, _ := generic["after"].(map[string]any) // hamba/avro names the union's member
	afterMap, _ := afterUnion["dbserver1.inventory.customers.Value"].(map[string]any)
	if generic["op"] != "c" || afterMap == nil || afterMap["id"] != 1001 {
		t.Fatalf("decoded by hamba/avro: %v", generic)
	}
	s2, v2, err := c.ToConnect("dbserver1.inventory.customers", b)
	if err != nil {
		t.Fatal(err)
	}
	if !s2.Equal(env) {
		t.Fatalf("schema back:\n got  %v\n want %v", s2, env)
	}
	got := v2.(*data.Struct)
	if a := got.Get("after").(*data.Struct); a.Get("name") != "Sally" || a.Get("price").(data.Decimal).String() != "19.99" || got.Get("before") != nil {
		t.Fatalf("value back: %v", got)
	}
	if snap := got.Get("source").(*data.Struct).Get("snapshot"); snap != "false" {
		t.Fatalf("the snapshot field's default: %v", snap)
	}
}

// TestAvroReadsOtherProducers: records written by another producer with a schema of its own
// (enum, union of several types, fixed, map, array of records, field defaults, logical types)
// read into Connect data as Confluent's AvroData derives it.
func TestAvroReadsOtherProducers(t *testing.T) {
	tr := newTestRegistry(t)
	const schema = `{"type":"record","name":"Order","namespace":"shop","doc":"an order","fields":[
		{"name":"id","type":"long"},
		{"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}},
		{"name":"note","type":["null","string"],"default":null},
		{"name":"amount","type":["int","string","null"]},
		{"name":"hash","type":{"type":"fixed","name":"Hash","size":4}},
		{"name":"tags","type":{"type":"map","values":"int"}},
		{"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[{"name":"sku","type":"string"}]}}},
		{"name":"qty","type":"int","default":1,"doc":"how many"},
		{"name":"day","type":{"type":"int","logicalType":"date"}},
		{"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":8,"scale":3}}]}`
	ss, err := tr.client.CreateSchema(context.Background(), "orders-value", sr.Schema{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := avro.ParseWithCache(schema, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := avro.Marshal(parsed, map[string]any{
		"id": int64(7), "status": "PAID", "note": nil, "amount": map[string]any{"string": "ten"},
		"hash": [4]byte{1, 2, 3, 4}, "tags": map[string]any{"a": 1}, "lines": []any{map[string]any{"sku": "x1"}},
		"qty": 2, "day": time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), "price": big.NewRat(12345, 1000),
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := wireHeader.AppendEncode(nil, ss.ID, nil)
	b = append(b, payload...)
	c := tr.converter(t, AvroClass, false)
	s, v, err := c.ToConnect("orders", b)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "shop.Order" || s.Version != 1 || s.Parameters[avroRecordDocParam] != "an order" {
		t.Errorf("record schema: %v %d %v", s.Name, s.Version, s.Parameters)
	}
	st := v.(*data.Struct)
	check := func(field string, want any) {
		t.Helper()
		if got := st.Get(field); !data.EqualValues(got, want) {
			t.Errorf("%s = %#v, want %#v", field, got, want)
		}
	}
	check("id", int64(7))
	check("status", "PAID")
	check("note", nil)
	check("hash", []byte{1, 2, 3, 4})
	check("tags", map[any]any{"a": int32(1)})
	check("qty", int32(2))
	check("day", time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
	check("price", data.Decimal{Unscaled: big.NewInt(12345), Scale: 3})
	status, _ := s.Field("status")
	if status.Schema.Parameters[avroEnumParam] != "shop.Status" || status.Schema.Parameters[avroEnumParam+".PAID"] != "PAID" {
		t.Errorf("enum parameters: %v", status.Schema.Parameters)
	}
	amount, _ := s.Field("amount")
	if amount.Schema.Name != avroUnionName || !amount.Schema.Optional || len(amount.Schema.Fields) != 2 {
		t.Fatalf("a union of int, string and null: %v", amount.Schema)
	}
	if u := st.Get("amount").(*data.Struct); u.Get("string") != "ten" || u.Get("int") != nil {
		t.Errorf("union value: %v", u)
	}
	qty, _ := s.Field("qty")
	if qty.Schema.Default != int32(1) || qty.Schema.Parameters[avroFieldDefaultFlag] != "true" || s.Parameters[avroFieldDocParam+"qty"] != "how many" {
		t.Errorf("field default and doc: %+v %v", qty.Schema, s.Parameters)
	}
	lines := st.Get("lines").([]any)
	if len(lines) != 1 || lines[0].(*data.Struct).Get("sku") != "x1" || lines[0].(*data.Struct).Schema().Name != "shop.Line" {
		t.Errorf("lines: %v", lines)
	}
	price, _ := s.Field("price")
	if price.Schema.Parameters[connectDecimalPrecison] != "8" {
		t.Errorf("decimal precision parameter: %v", price.Schema.Parameters)
	}
	// Written back through the converter: the union member chosen by the set field.
	out, err := c.FromConnect("orders2", s, v)
	if err != nil {
		t.Fatal(err)
	}
	_, v3, err := c.ToConnect("orders2", out)
	if err != nil {
		t.Fatal(err)
	}
	if u := v3.(*data.Struct).Get("amount").(*data.Struct); u.Get("string") != "ten" {
		t.Errorf("union after a second trip: %v", u)
	}
}

// TestAvroCachesSchemaIDs: after the first record of a schema, neither writing nor reading
// asks the registry again.
func TestAvroCachesSchemaIDs(t *testing.T) {
	tr := newTestRegistry(t)
	c := tr.converter(t, AvroClass, false)
	s, v := everyTypeSchema()
	b, err := c.FromConnect("t", s, v)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ToConnect("t", b); err != nil {
		t.Fatal(err)
	}
	before := tr.requests.Load()
	for i := 0; i < 50; i++ {
		if _, err := c.FromConnect("t", s, v); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ToConnect("t", b); err != nil {
			t.Fatal(err)
		}
	}
	if n := tr.requests.Load() - before; n != 0 {
		t.Fatalf("%d registry requests for 100 records after the first", n)
	}
}

func TestAvroSubjectStrategiesAndSettings(t *testing.T) {
	tr := newTestRegistry(t)
	s := data.MustStruct("acme.Reading", data.F("c", data.Float64Schema))
	v := data.NewStructValue(s).Set("c", 21.5)
	ctx := context.Background()
	for _, tc := range []struct {
		name, strategy, subject string
		isKey                   bool
	}{
		{"topic value", "", "readings-value", false},
		{"topic key", "", "readings-key", true},
		{"record", RecordNameStrategy, "acme.Reading", false},
		{"topic record", TopicRecordNameStrategy, "readings-acme.Reading", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			side := "value.subject.name.strategy"
			if tc.isKey {
				side = "key.subject.name.strategy"
			}
			c := tr.converter(t, AvroClass, tc.isKey, side, tc.strategy)
			if _, err := c.FromConnect("readings", s, v); err != nil {
				t.Fatal(err)
			}
			if _, err := tr.client.SchemaByVersion(ctx, tc.subject, 1); err != nil {
				t.Fatalf("subject %s: %v", tc.subject, err)
			}
		})
	}
	// auto.register.schemas=false: a schema not registered is an error naming the subject.
	c := tr.converter(t, AvroClass, false, "auto.register.schemas", "false")
	other := data.MustStruct("acme.Other", data.F("x", data.Int32Schema))
	if _, err := c.FromConnect("nowhere", other, data.NewStructValue(other).Set("x", int32(1))); err == nil || !strings.Contains(err.Error(), "nowhere-value") {
		t.Fatalf("unregistered schema without auto-registration: %v", err)
	}
	// ... and a registered one is found.
	if _, err := c.FromConnect("readings", s, v); err != nil {
		t.Fatal(err)
	}
	// connect.meta.data=false: no connect.* properties.
	c = tr.converter(t, AvroClass, false, "connect.meta.data", "false")
	if _, err := c.FromConnect("plain", s, v); err != nil {
		t.Fatal(err)
	}
	ss, err := tr.client.SchemaByVersion(ctx, "plain-value", 1)
	if err != nil || strings.Contains(ss.Schema.Schema, "connect.") {
		t.Fatalf("connect.meta.data=false registered %s (%v)", ss.Schema.Schema, err)
	}
	for _, bad := range []map[string]string{
		{},
		{"schema.registry.url": tr.url, "auto.register.schemas": "yes"},
		{"schema.registry.url": tr.url, "value.subject.name.strategy": "com.example.Mine"},
		{"schema.registry.url": tr.url, "basic.auth.credentials.source": "USER_INFO"},
		{"schema.registry.url": tr.url, "schemas.cache.config": "-1"},
	} {
		if _, err := New(AvroClass, bad, false); err == nil {
			t.Errorf("config %v accepted", bad)
		}
	}
}

// TestAvroUseLatestVersion: use.latest.version writes with the subject's latest schema,
// which must be able to read the record's (latest.compatibility.strict).
func TestAvroUseLatestVersion(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := context.Background()
	latest := `{"type":"record","name":"Reading","namespace":"acme","fields":[{"name":"unit","type":"string","default":"C"},{"name":"c","type":"double"}]}`
	ss, err := tr.client.CreateSchema(ctx, "readings-value", sr.Schema{Schema: latest})
	if err != nil {
		t.Fatal(err)
	}
	s := data.MustStruct("acme.Reading", data.F("c", data.Float64Schema), data.F("unit", data.StringSchema))
	v := data.NewStructValue(s).Set("c", 21.5).Set("unit", "F")
	c := tr.converter(t, AvroClass, false, "use.latest.version", "true", "auto.register.schemas", "false")
	b, err := c.FromConnect("readings", s, v)
	if err != nil {
		t.Fatal(err)
	}
	if id := int(binary.BigEndian.Uint32(b[1:5])); id != ss.ID {
		t.Fatalf("written with id %d, want the latest's %d", id, ss.ID)
	}
	_, back, err := c.ToConnect("readings", b)
	if err != nil || back.(*data.Struct).Get("unit") != "F" || back.(*data.Struct).Get("c") != 21.5 {
		t.Fatalf("read back %v, %v", back, err)
	}
	// A record schema the latest cannot read (a field it lacks without a default... here a
	// type change) is refused under strict compatibility.
	bad := data.MustStruct("acme.Reading", data.F("c", data.StringSchema), data.F("unit", data.StringSchema))
	if _, err := c.FromConnect("readings", bad, data.NewStructValue(bad).Set("c", "x").Set("unit", "C")); err == nil {
		t.Fatal("an incompatible latest version was used")
	}
}

func TestAvroNullsAndErrors(t *testing.T) {
	tr := newTestRegistry(t)
	c := tr.converter(t, AvroClass, false)
	if b, err := c.FromConnect("t", nil, nil); b != nil || err != nil {
		t.Fatalf("null: %v %v", b, err)
	}
	if b, err := c.FromConnect("t", data.OptionalStringSchema, nil); b != nil || err != nil {
		t.Fatalf("null of an optional schema: %v %v", b, err)
	}
	if _, err := c.FromConnect("t", data.StringSchema, nil); err == nil {
		t.Fatal("null of a required schema accepted")
	}
	if _, err := c.FromConnect("t", nil, "schemaless"); err == nil {
		t.Fatal("schemaless data accepted")
	}
	if s, v, err := c.ToConnect("t", nil); s != nil || v != nil || err != nil {
		t.Fatalf("tombstone: %v %v %v", s, v, err)
	}
	for _, bad := range [][]byte{{}, {1, 0, 0, 0, 1}, {0, 0, 0}} {
		if _, _, err := c.ToConnect("t", bad); !errors.Is(err, ErrWireFormat) {
			t.Errorf("% x: %v", bad, err)
		}
	}
	if _, _, err := c.ToConnect("t", []byte{0, 0, 0, 0, 99, 2}); err == nil {
		t.Error("an unknown schema id read")
	}
	// A primitive top-level value and its bytes.
	b, err := c.FromConnect("p", data.Int64Schema, int64(-2))
	if err != nil {
		t.Fatal(err)
	}
	if got := b[5:]; len(got) != 1 || got[0] != 3 {
		t.Fatalf("zig-zag of -2: % x", got)
	}
	// Truncated and oversized payloads fail cleanly.
	s, v := everyTypeSchema()
	full, err := c.FromConnect("all", s, v)
	if err != nil {
		t.Fatal(err)
	}
	for n := 5; n < len(full); n++ {
		if _, _, err := c.ToConnect("all", full[:n]); err == nil {
			t.Fatalf("a record cut at %d of %d bytes read", n, len(full))
		}
	}
	if _, _, err := c.ToConnect("all", append(full, 0)); err == nil {
		t.Fatal("trailing bytes accepted")
	}
}

// TestAvroCacheBound: schemas.cache.config bounds every cache; a stream of new schemas starts
// a cache over instead of growing it, and records still write and read.
func TestAvroCacheBound(t *testing.T) {
	tr := newTestRegistry(t)
	c := tr.converter(t, AvroClass, false, "schemas.cache.config", "2").(*Avro)
	for i := 0; i < 7; i++ {
		s := data.MustStruct("acme.R"+strings.Repeat("x", i), data.F("n", data.Int32Schema))
		topic := "bound-" + strings.Repeat("x", i)
		b, err := c.FromConnect(topic, s, data.NewStructValue(s).Set("n", int32(i)))
		if err != nil {
			t.Fatal(err)
		}
		if _, v, err := c.ToConnect(topic, b); err != nil || v.(*data.Struct).Get("n") != int32(i) {
			t.Fatalf("record %d: %v %v", i, v, err)
		}
		for name, n := range map[string]int{"texts": len(c.texts.m), "writers": len(c.writers.m), "readers": len(c.readers.m)} {
			if n > 2 {
				t.Fatalf("after %d schemas the %s cache holds %d entries, bound 2", i+1, name, n)
			}
		}
	}
}
