package converter

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/internal/connect/data"
)

// protoEveryType is a struct of every type ProtobufConverter writes and reads back unchanged.
func protoEveryType() (*data.Schema, *data.Struct) {
	inner := data.MustStruct("acme.Inner", data.F("x", data.OptionalInt64Schema))
	s := data.MustStruct("acme.All",
		data.F("i8", data.Int8Schema), data.F("i16", data.Int16Schema.AsOptional()),
		data.F("i32", data.Int32Schema), data.F("i64", data.Int64Schema),
		data.F("micros", data.Int64Schema.Named("io.debezium.time.MicroTimestamp", 1).WithParameter("p", "q").AsOptional()),
		data.F("zonedNull", data.StringSchema.Named("io.debezium.time.ZonedTimestamp", 1).AsOptional()),
		data.F("f32", data.Float32Schema), data.F("f64", data.Float64Schema), data.F("b", data.BooleanSchema),
		data.F("s", data.StringSchema), data.F("bytes", data.BytesSchema),
		data.F("arr", data.ArrayOf(data.StringSchema)),
		data.F("smap", data.MapOf(data.StringSchema, data.Int32Schema)),
		data.F("imap", data.MapOf(data.Int64Schema, inner.AsOptional())),
		data.F("inner", inner.AsOptional()),
		data.F("innerNull", inner.AsOptional()),
		data.F("opt", data.OptionalStringSchema),
		data.F("optNull", data.OptionalInt32Schema),
		data.F("dec", data.DecimalSchema(2).AsOptional()),
		data.F("date", data.DateSchema.AsOptional()), data.F("time", data.TimeSchema.AsOptional()),
		data.F("ts", data.TimestampSchema.AsOptional()), data.F("tsNull", data.TimestampSchema.AsOptional()),
	)
	v := data.NewStructValue(s).
		Set("i8", int8(-8)).Set("i16", int16(300)).Set("micros", int64(1768473000123456)).
		Set("i32", int32(-70000)).Set("i64", int64(1)<<60).
		Set("f32", float32(1.5)).Set("f64", 2.25).Set("b", true).Set("s", "hé \"q\"\n").Set("bytes", []byte{0, 1, 0xff}).
		Set("arr", []any{"a", "b"}).
		Set("smap", map[any]any{"k": int32(1), "j": int32(2)}).
		Set("imap", map[any]any{int64(3): data.NewStructValue(inner.AsOptional()).Set("x", int64(4))}).
		Set("inner", data.NewStructValue(inner.AsOptional()).Set("x", int64(9))).
		Set("opt", "given").
		Set("dec", data.Decimal{Unscaled: big.NewInt(-12345), Scale: 2}).
		Set("date", time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)).
		Set("time", time.UnixMilli(10*3600*1000+30*60*1000+1).UTC()).
		Set("ts", time.UnixMilli(1768473000123).UTC())
	return s, v
}

// TestProtobufRoundTripEveryType: Connect data written through the registry reads back equal,
// with the schema registered once under <topic>-value as a proto3 file the registry compiles.
func TestProtobufRoundTripEveryType(t *testing.T) {
	tr := newTestRegistry(t)
	c := tr.converter(t, ProtobufClass, false)
	s, v := protoEveryType()
	b, err := c.FromConnect("all", s, v)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0 || b[5] != 0 {
		t.Fatalf("header % x: want magic 0, an id and the message index [0] as one 0 byte", b[:6])
	}
	gs, gv, err := c.ToConnect("all", b)
	if err != nil {
		t.Fatal(err)
	}
	if gs.Name != "acme.All" || len(gs.Fields) != len(s.Fields) {
		t.Fatalf("read schema %v", gs)
	}
	got := gv.(*data.Struct)
	for i, f := range s.Fields {
		want, have := v.GetAt(i), got.GetAt(i)
		if w, ok := want.(*data.Struct); ok && have != nil {
			h := have.(*data.Struct)
			if w.String() != h.String() {
				t.Errorf("field %s: %v, want %v", f.Name, h, w)
			}
			continue
		}
		if f.Name == "imap" {
			m := have.(map[any]any)
			if len(m) != 1 || m[int64(3)].(*data.Struct).Get("x") != int64(4) {
				t.Errorf("imap: %v", m)
			}
			continue
		}
		if !data.EqualValues(want, have) {
			t.Errorf("field %s: %#v, want %#v", f.Name, have, want)
		}
	}
	versions, err := tr.client.SubjectVersions(context.Background(), "all-value")
	if err != nil || len(versions) != 1 {
		t.Fatalf("all-value versions %v, %v", versions, err)
	}
	ss, err := tr.client.SchemaByVersion(context.Background(), "all-value", 1)
	if err != nil || ss.Type != sr.TypeProtobuf || !strings.Contains(ss.Schema.Schema, "message All {") ||
		!strings.Contains(ss.Schema.Schema, "optional string opt = 17;") || !strings.Contains(ss.Schema.Schema, "confluent.field_meta") ||
		strings.Contains(ss.Schema.Schema, "Inner2") {
		t.Fatalf("registered %+v, %v", ss, err)
	}
	// A second write uses the cached id: no registry request.
	before := tr.requests.Load()
	if _, err := c.FromConnect("all", s, v); err != nil || tr.requests.Load() != before {
		t.Fatalf("second write: %v, %d requests", err, tr.requests.Load()-before)
	}
}

// TestProtobufDebeziumEnvelope: a Debezium change event (nested Value structs, the source
// block, a decimal and a timestamp) round-trips, with before null.
func TestProtobufDebeziumEnvelope(t *testing.T) {
	tr := newTestRegistry(t)
	c := tr.converter(t, ProtobufClass, false)
	envelope, valueSchema := debeziumEnvelope()
	src := data.NewStructValue(envelope.Fields[2].Schema)
	for _, f := range src.Schema().Fields {
		switch f.Schema.Type {
		case data.TypeString:
			src.Set(f.Name, "x")
		case data.TypeInt64:
			src.Set(f.Name, int64(7))
		}
	}
	after := data.NewStructValue(valueSchema.AsOptional()).Set("id", int32(1)).Set("name", "Sally").
		Set("price", data.Decimal{Unscaled: big.NewInt(1050), Scale: 2}).Set("qty", int16(3))
	ev := data.NewStructValue(envelope).Set("after", after).Set("source", src).Set("op", "c").Set("ts_ms", int64(5))
	b, err := c.FromConnect("dbserver1.inventory.customers", envelope, ev)
	if err != nil {
		t.Fatal(err)
	}
	_, gv, err := c.ToConnect("dbserver1.inventory.customers", b)
	if err != nil {
		t.Fatal(err)
	}
	got := gv.(*data.Struct)
	if got.Get("before") != nil || got.Get("op") != "c" {
		t.Fatalf("event %v", got)
	}
	a := got.Get("after").(*data.Struct)
	if a.Get("name") != "Sally" || a.Get("price").(data.Decimal).String() != "10.50" || a.Get("qty") != int16(3) || a.Get("created") != nil {
		t.Fatalf("after %v", a)
	}
}

// TestProtobufReadsOtherProducers: a record written by another Protobuf producer (a schema
// registered by hand, with two messages, a nested one, an enum, wrappers, and the second
// message named by index [1]) reads into Connect data.
func TestProtobufReadsOtherProducers(t *testing.T) {
	tr := newTestRegistry(t)
	text := `syntax = "proto3";
package shop;
import "google/protobuf/wrappers.proto";
message Unused { string u = 1; }
message Order {
  enum State { NEW = 0; PAID = 1; }
  message Line { string sku = 1; uint32 qty = 2; }
  int64 id = 1;
  State state = 2;
  repeated Line lines = 3;
  google.protobuf.StringValue note = 4;
  sint32 delta = 5;
}`
	ss, err := tr.client.CreateSchema(context.Background(), "orders-value", sr.Schema{Schema: text, Type: sr.TypeProtobuf})
	if err != nil {
		t.Fatal(err)
	}
	// Order{id: 42, state: PAID, lines: [{sku: "a", qty: 2}], note: "hi", delta: -3}, by hand.
	payload := []byte{0x08, 42, 0x10, 1, 0x1a, 5, 0x0a, 1, 'a', 0x10, 2, 0x22, 4, 0x0a, 2, 'h', 'i', 0x28, 5}
	b, _ := wireHeader.AppendEncode(nil, ss.ID, []int{1})
	b = append(b, payload...)
	c := tr.converter(t, ProtobufClass, false)
	gs, gv, err := c.ToConnect("orders", b)
	if err != nil {
		t.Fatal(err)
	}
	got := gv.(*data.Struct)
	if gs.Name != "shop.Order" || got.Get("id") != int64(42) || got.Get("state") != "PAID" || got.Get("note") != "hi" || got.Get("delta") != int32(-3) {
		t.Fatalf("read %v: %v", gs, got)
	}
	lines := got.Get("lines").([]any)
	if len(lines) != 1 || lines[0].(*data.Struct).Get("sku") != "a" || lines[0].(*data.Struct).Get("qty") != int64(2) {
		t.Fatalf("lines %v", lines)
	}
	// A message index that does not exist, and bytes that are not the message: errors.
	bad, _ := wireHeader.AppendEncode(nil, ss.ID, []int{7})
	if _, _, err := c.ToConnect("orders", append(bad, payload...)); err == nil {
		t.Fatal("message index 7 read")
	}
	junk, _ := wireHeader.AppendEncode(nil, ss.ID, []int{1})
	if _, _, err := c.ToConnect("orders", append(junk, 0x0a, 0xff)); err == nil {
		t.Fatal("truncated payload read")
	}
}

func FuzzProtobufToConnect(f *testing.F) {
	tr := newTestRegistry(f)
	c := tr.converter(f, ProtobufClass, false)
	s, v := protoEveryType()
	all, err := c.FromConnect("fuzz", s, v)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(all)
	f.Add(all[:len(all)/2])
	f.Add([]byte{0, 0, 0, 0, 1, 2, 2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		gs, gv, err := c.ToConnect("fuzz", b)
		if err != nil {
			return
		}
		if err := data.Validate(gs, gv); err != nil {
			t.Fatalf("read a value its schema refuses: %v", err)
		}
	})
}
