package converter

import (
	"math/big"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/connect/data"
)

// BenchmarkConverters writes and reads a Debezium change event (an update of a five-column
// row) through each converter against the in-process registry: after the first record no
// converter asks the registry, so this is the per-record cost of each format. Compare the
// schema-registry converters with JsonConverter in the same run.
func BenchmarkConverters(b *testing.B) {
	tr := newTestRegistry(b)
	env, value := debeziumEnvelope()
	row := func(id int32, name string) *data.Struct {
		return data.NewStructValue(value.AsOptional()).Set("id", id).Set("name", name).
			Set("price", data.Decimal{Unscaled: big.NewInt(1999), Scale: 2}).Set("created", time.UnixMilli(1768473000123).UTC()).Set("qty", int16(3))
	}
	rec := data.NewStructValue(env).Set("before", row(1001, "Sally")).Set("after", row(1001, "Sally Smith")).
		Set("source", data.NewStructValue(env.Fields[2].Schema).Set("version", "2.7.0").Set("connector", "postgresql").Set("name", "dbserver1").
			Set("ts_ms", int64(1768473000000)).Set("db", "inventory").Set("schema", "inventory").Set("table", "customers").
			Set("txId", int64(771)).Set("lsn", int64(33227720))).
		Set("op", "u").Set("ts_ms", int64(1768473000123))
	for _, tc := range []struct {
		name string
		c    Converter
	}{
		{"JsonConverter", newJSON(b, nil)},
		{"AvroConverter", tr.converter(b, AvroClass, false)},
		{"JsonSchemaConverter", tr.converter(b, JSONSchemaClass, false)},
	} {
		out, err := tc.c.FromConnect("bench-"+tc.name, env, rec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name+"/FromConnect", func(b *testing.B) {
			b.SetBytes(int64(len(out)))
			for b.Loop() {
				if _, err := tc.c.FromConnect("bench-"+tc.name, env, rec); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/ToConnect", func(b *testing.B) {
			b.SetBytes(int64(len(out)))
			for b.Loop() {
				if _, _, err := tc.c.ToConnect("bench-"+tc.name, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
