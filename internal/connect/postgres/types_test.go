package postgres

import (
	"testing"

	"github.com/sluicehq/sluice/internal/connect/converter"
	"github.com/sluicehq/sluice/internal/connect/data"
)

var testOIDs = []struct {
	oid    uint32
	typmod int32
}{{oidBool, -1}, {oidInt2, -1}, {oidInt4, -1}, {oidInt8, -1}, {oidFloat4, -1}, {oidFloat8, -1}, {oidBytea, -1},
	{oidDate, -1}, {oidTime, -1}, {oidTimestamp, -1}, {oidTimestamptz, -1}, {oidUUID, -1}, {oidJSONB, -1},
	{oidNumeric, 10<<16 | 2 + 4}, {oidNumeric, -1}, {oidText, -1}}

func TestParseText(t *testing.T) {
	cases := []struct {
		oid    uint32
		typmod int32
		text   string
		want   any
	}{
		{oidBool, -1, "t", true}, {oidInt2, -1, "-5", int16(-5)}, {oidInt8, -1, "9007199254740993", int64(9007199254740993)},
		{oidDate, -1, "2026-01-15", int32(20468)}, {oidTime, -1, "10:30:00.5", int64(37800500000)},
		{oidTimestamp, -1, "1970-01-01 00:00:01.000002", int64(1000002)},
		{oidTimestamptz, -1, "2026-01-15 12:30:00.25+02", "2026-01-15T10:30:00.25Z"},
		{oidBytea, -1, `\x00ff`, []byte{0, 0xff}},
		{oidText, -1, "héllo", "héllo"},
	}
	for _, c := range cases {
		col := &column{oid: c.oid, typmod: c.typmod, schema: columnSchema(c.oid, c.typmod, false, decimalPrecise)}
		got, err := parseText(col, c.text)
		if err != nil || !data.EqualValues(got, c.want) {
			t.Errorf("oid %d %q: %#v %v, want %#v", c.oid, c.text, got, err, c.want)
		}
	}
	// numeric(10,2) is a Decimal of scale 2; numeric without a typmod a VariableScaleDecimal.
	col := &column{oid: oidNumeric, typmod: 10<<16 | 2 + 4}
	col.schema = columnSchema(col.oid, col.typmod, false, decimalPrecise)
	if d, err := parseText(col, "-12.5"); err != nil || d.(data.Decimal).String() != "-12.50" {
		t.Errorf("numeric(10,2): %v %v", d, err)
	}
	col = &column{oid: oidNumeric, typmod: -1}
	col.schema = columnSchema(col.oid, col.typmod, false, decimalPrecise)
	v, err := parseText(col, "3.14159")
	if err != nil || v.(*data.Struct).Get("scale") != int32(5) {
		t.Errorf("numeric: %v %v", v, err)
	}
}

// FuzzParseText: any text for any column type either parses to a value of the column's schema
// (one the JSON converter writes) or is an error; never a panic.
func FuzzParseText(f *testing.F) {
	for _, s := range []string{"t", "12", "-3.5", "2026-01-15", "10:30:00", "2026-01-15 10:30:00+00", `\x00ff`, "{}", "NaN", ""} {
		f.Add(uint8(0), s)
	}
	conv := &converter.JSON{}
	conv.Configure(nil, false)
	f.Fuzz(func(t *testing.T, i uint8, text string) {
		o := testOIDs[int(i)%len(testOIDs)]
		col := &column{oid: o.oid, typmod: o.typmod, schema: columnSchema(o.oid, o.typmod, true, decimalPrecise)}
		v, err := parseText(col, text)
		if err != nil {
			return
		}
		if err := data.Validate(col.schema, v); err != nil {
			t.Fatalf("oid %d %q gave %#v, not a value of %v: %v", o.oid, text, v, col.schema, err)
		}
		if _, err := conv.FromConnect("t", col.schema, v); err != nil && o.oid != oidFloat4 && o.oid != oidFloat8 {
			t.Fatalf("oid %d %q: %#v does not convert: %v", o.oid, text, v, err)
		}
	})
}
