package avro

import (
	"fmt"
	"strings"
	"testing"
)

// typicalRecord is a record of the size people register: n fields of assorted types, a nested
// record, an enum, a union with a default.
func typicalRecord(n int, extra string) string {
	fields := []string{
		`{"name":"id","type":{"type":"string","logicalType":"uuid"}}`,
		`{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}}`,
		`{"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID","SHIPPED"],"default":"NEW"}}`,
		`{"name":"address","type":["null",{"type":"record","name":"Address","fields":[{"name":"street","type":"string"},{"name":"zip","type":"string"}]}],"default":null}`,
	}
	for i := len(fields); i < n; i++ {
		fields = append(fields, fmt.Sprintf(`{"name":"f%d","type":"long","default":0,"doc":"field %d"}`, i, i))
	}
	fields = append(fields, extra)
	return `{"type":"record","name":"Order","namespace":"com.acme","fields":[` + strings.Join(fields, ",") + `]}`
}

func BenchmarkParse(b *testing.B) {
	schema := typicalRecord(20, `{"name":"note","type":"string","default":""}`)
	b.SetBytes(int64(len(schema)))
	for b.Loop() {
		if _, err := New().Parse(schema, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCanRead(b *testing.B) {
	oldSchema, err := New().Parse(typicalRecord(20, `{"name":"note","type":"string","default":""}`), nil)
	if err != nil {
		b.Fatal(err)
	}
	newSchema, err := New().Parse(typicalRecord(20, `{"name":"note","type":["null","string"],"default":null}`), nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if msgs := newSchema.CanRead(oldSchema); len(msgs) != 0 {
			b.Fatal(msgs)
		}
	}
}
