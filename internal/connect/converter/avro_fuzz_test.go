package converter

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/internal/connect/data"
)

// FuzzAvroToConnect feeds AvroConverter.ToConnect bytes from the network: a payload after the
// header of one of the schemas registered (Connect-derived and foreign ones: enums, unions,
// fixed, maps of both kinds, logical types), or bytes with a header of their own. Nothing may
// panic; what is read must write and read back.
func FuzzAvroToConnect(f *testing.F) {
	tr := newTestRegistry(f)
	c := tr.converter(f, AvroClass, false)
	s, v := everyTypeSchema()
	all, err := c.FromConnect("all", s, v)
	if err != nil {
		f.Fatal(err)
	}
	env, value := debeziumEnvelope()
	rec := data.NewStructValue(env).Set("op", "d").
		Set("before", data.NewStructValue(value.AsOptional()).Set("id", int32(1)).Set("qty", int16(2))).
		Set("source", data.NewStructValue(env.Fields[2].Schema).Set("version", "v").Set("connector", "c").Set("name", "n").
			Set("ts_ms", int64(1)).Set("db", "d").Set("schema", "s").Set("table", "t"))
	envBytes, err := c.FromConnect("env", env, rec)
	if err != nil {
		f.Fatal(err)
	}
	foreign := `{"type":"record","name":"F","fields":[{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},
		{"name":"u","type":["null","int","string",{"type":"array","items":"long"}]},{"name":"x","type":{"type":"fixed","name":"X","size":3}},
		{"name":"m","type":{"type":"map","values":["null","double"]}},{"name":"d","type":{"type":"fixed","name":"D","size":5,"logicalType":"decimal","precision":9,"scale":2}}]}`
	ss, err := tr.client.CreateSchema(context.Background(), "foreign-value", sr.Schema{Schema: foreign})
	if err != nil {
		f.Fatal(err)
	}
	ids := []int{1, 2, ss.ID}
	f.Add(uint8(0), all[5:], false)
	f.Add(uint8(1), envBytes[5:], false)
	f.Add(uint8(2), []byte{2, 4, 6, 'a', 'b', 1, 2, 3, 2, 2, 'k', 2, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 1, 2}, false)
	f.Add(uint8(0), envBytes, true)
	fuzzToConnect(f, c, ids)
}
