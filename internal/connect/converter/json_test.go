package converter

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/connect/data"
)

func newJSON(t testing.TB, cfg map[string]string) Converter {
	t.Helper()
	c, err := New(JSONClass, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestJSONDebeziumKey: the bytes Kafka's JsonConverter writes for a Debezium-style key, and back.
func TestJSONDebeziumKey(t *testing.T) {
	c := newJSON(t, nil)
	s := data.MustStruct("dbserver1.inventory.customers.Key", data.F("id", data.Int32Schema))
	v := data.NewStructValue(s).Set("id", int32(1001))
	b, err := c.FromConnect("t", s, v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"dbserver1.inventory.customers.Key"},"payload":{"id":1001}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	s2, v2, err := c.ToConnect("t", b)
	if err != nil {
		t.Fatal(err)
	}
	if !s2.Equal(s) || !data.EqualValues(v2, v) {
		t.Errorf("round trip: %v %v", s2, v2)
	}
}

func TestJSONRoundTripEveryType(t *testing.T) {
	inner := data.MustStruct("inner", data.F("x", data.OptionalInt64Schema))
	s := data.MustStruct("all",
		data.F("i8", data.Int8Schema), data.F("i16", data.Int16Schema), data.F("i32", data.Int32Schema), data.F("i64", data.Int64Schema),
		data.F("f32", data.Float32Schema), data.F("f64", data.Float64Schema), data.F("b", data.BooleanSchema),
		data.F("s", data.StringSchema), data.F("bytes", data.BytesSchema),
		data.F("arr", data.ArrayOf(data.StringSchema)),
		data.F("smap", data.MapOf(data.StringSchema, data.Int32Schema)),
		data.F("imap", data.MapOf(data.Int32Schema, data.StringSchema)),
		data.F("inner", inner),
		data.F("opt", data.OptionalStringSchema),
		data.F("def", data.Int32Schema.WithDefault(int32(7))),
		data.F("dec", data.DecimalSchema(2)),
		data.F("date", data.DateSchema), data.F("time", data.TimeSchema), data.F("ts", data.TimestampSchema),
	)
	v := data.NewStructValue(s).
		Set("i8", int8(-8)).Set("i16", int16(300)).Set("i32", int32(-70000)).Set("i64", int64(1)<<60).
		Set("f32", float32(1.5)).Set("f64", 2.25).Set("b", true).Set("s", "hé \"q\"\n").Set("bytes", []byte{0, 1, 0xff}).
		Set("arr", []any{"a", "b"}).Set("smap", map[any]any{"k": int32(1), "j": int32(2)}).
		Set("imap", map[any]any{int32(3): "three", int32(-1): "minus"}).
		Set("inner", data.NewStructValue(inner).Set("x", int64(9))).
		Set("dec", data.Decimal{Unscaled: big.NewInt(-12345), Scale: 2}).
		Set("date", time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)).
		Set("time", time.UnixMilli(10*3600*1000+30*60*1000).UTC()).
		Set("ts", time.UnixMilli(1768473000123).UTC())
	for _, cfg := range []map[string]string{nil, {"decimal.format": "NUMERIC"}} {
		c := newJSON(t, cfg)
		b, err := c.FromConnect("t", s, v)
		if err != nil {
			t.Fatal(err)
		}
		if cfg != nil && !strings.Contains(string(b), `"dec":-123.45`) {
			t.Errorf("NUMERIC decimal not written as a number: %s", b)
		}
		if cfg == nil && !strings.Contains(string(b), `"imap":[[-1,"minus"],[3,"three"]]`) {
			t.Errorf("a map with int keys is not an array of pairs: %s", b)
		}
		s2, v2, err := c.ToConnect("t", b)
		if err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		if !s2.Equal(s) {
			t.Errorf("schema round trip:\n got %v\nwant %v", s2, s)
		}
		got := v2.(*data.Struct)
		if got.Get("def") != int32(7) {
			t.Errorf("default: %v", got.Get("def"))
		}
		v.Set("def", int32(7)) // written as the default (replace.null.with.default)
		if !data.EqualValues(got, v) {
			t.Errorf("value round trip:\n got %v\nwant %v", got, v)
		}
		v.Set("def", nil)
	}
}

func TestJSONSchemaless(t *testing.T) {
	c := newJSON(t, map[string]string{"schemas.enable": "false"})
	s, v, err := c.ToConnect("t", []byte(`{"a":1,"b":[1.5,"x",null,true],"c":{"d":9007199254740993}}`))
	if err != nil || s != nil {
		t.Fatal(err, s)
	}
	m := v.(map[any]any)
	if m["a"] != int64(1) || m["c"].(map[any]any)["d"] != int64(9007199254740993) {
		t.Errorf("integers: %#v", m)
	}
	if arr := m["b"].([]any); arr[0] != 1.5 || arr[1] != "x" || arr[2] != nil || arr[3] != true {
		t.Errorf("array: %#v", arr)
	}
	b, err := c.FromConnect("t", nil, m)
	if err != nil || string(b) != `{"a":1,"b":[1.5,"x",null,true],"c":{"d":9007199254740993}}` {
		t.Errorf("%s %v", b, err)
	}
	if b, err := c.FromConnect("t", nil, nil); b != nil || err != nil {
		t.Errorf("null: %q %v", b, err)
	}
}

func TestJSONErrors(t *testing.T) {
	c := newJSON(t, nil)
	for _, in := range []string{
		`{"payload":1}`, `{"schema":null}`, `{"schema":null,"payload":1,"x":2}`, `[1]`, `1`,
		`{"schema":{"type":"int8"},"payload":300}`, `{"schema":{"type":"int32"},"payload":null}`,
		`{"schema":{"type":"nope"},"payload":1}`, `{"schema":{"type":"struct"},"payload":{}}`,
		`{"schema":{"type":"bytes"},"payload":"!!"}`, `{"schema":{"type":"string"},"payload":1} x`,
		`{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal"},"payload":"AA=="}`,
		`{"schema":{"type":"struct","fields":[{"type":"int32","field":"a"},{"type":"int32","field":"a"}]},"payload":{}}`,
		`{"schema":{"type":"array","items":` + strings.Repeat(`{"type":"array","items":`, 100) + `{"type":"int8"}` + strings.Repeat("}", 101) + `,"payload":[]}`,
	} {
		if _, _, err := c.ToConnect("t", []byte(in)); err == nil {
			t.Errorf("accepted %s", in)
		}
	}
	if _, _, err := c.ToConnect("t", []byte(`{"a":1}`)); err != ErrEnvelope {
		t.Errorf("plain JSON with schemas.enable: %v", err)
	}
	if _, err := c.FromConnect("t", data.Int32Schema, nil); err == nil {
		t.Error("a null for a required schema was written")
	}
	if _, err := New(JSONClass, map[string]string{"schemas.enable": "maybe"}, false); err == nil {
		t.Error("a bad boolean was accepted")
	}
	if _, err := New("com.example.Nope", nil, false); err == nil {
		t.Error("an unknown class was accepted")
	}
}

func TestDecimalBytes(t *testing.T) {
	for _, n := range []int64{0, 1, -1, 127, 128, -128, -129, 255, 256, -256, 1 << 40, -(1 << 40)} {
		b := data.DecimalBytes(data.Decimal{Unscaled: big.NewInt(n)})
		d, err := data.DecimalFromBytes(b, 0)
		if err != nil || d.Unscaled.Int64() != n {
			t.Errorf("%d: %x → %v %v", n, b, d.Unscaled, err)
		}
	}
	// Java's BigInteger.toByteArray: 128 is 00 80, -128 is 80, -129 is ff 7f.
	for n, want := range map[int64]string{128: "\x00\x80", -128: "\x80", -129: "\xff\x7f", 255: "\x00\xff", -1: "\xff"} {
		if got := string(data.DecimalBytes(data.Decimal{Unscaled: big.NewInt(n)})); got != want {
			t.Errorf("%d: % x, want % x", n, got, want)
		}
	}
}

func FuzzJSONToConnect(f *testing.F) {
	f.Add([]byte(`{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false},"payload":{"id":1}}`), true)
	f.Add([]byte(`{"a":[1,2.5,"x"]}`), false)
	f.Add([]byte(`{"schema":{"type":"map","keys":{"type":"int32"},"values":{"type":"string"}},"payload":[[1,"a"]]}`), true)
	f.Fuzz(func(t *testing.T, b []byte, schemas bool) {
		cfg := map[string]string{"schemas.enable": "false"}
		if schemas {
			cfg = nil
		}
		c := newJSON(t, cfg)
		s, v, err := c.ToConnect("t", b)
		if err != nil {
			return
		}
		// What was read writes, and reads back the same.
		out, err := c.FromConnect("t", s, v)
		if err != nil {
			return // e.g. a required field read as its default-less null is refused on write
		}
		s2, v2, err := c.ToConnect("t", out)
		if err != nil {
			t.Fatalf("re-read of %s: %v", out, err)
		}
		if !s2.Equal(s) || !data.EqualValues(v, v2) {
			t.Fatalf("round trip of %s changed it: %v %v", out, s2, v2)
		}
	})
}

// TestAppendString: strings are written exactly as encoding/json writes them, with and without
// the fast path.
func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain text 123", `quote"`, `back\slash`, "tab\t", "nl\n", "\x00", "<b>&amp;</b>",
		"héllo", "\u2028", "\xff invalid", "__debezium_unavailable_value", "2026-01-15T10:30:00Z"} {
		want, _ := json.Marshal(s)
		if got := appendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("%q: %s, want %s", s, got[1:], want)
		}
	}
}
