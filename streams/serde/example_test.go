package serde_test

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/streams/serde"
)

func ExampleInt64() {
	b, _ := serde.Int64().Serialize("counts", 1)
	fmt.Printf("% x\n", b)
	n, _ := serde.Int64().Deserialize("counts", b)
	fmt.Println(n)
	// Output:
	// 00 00 00 00 00 00 00 01
	// 1
}

func ExampleTimeWindowed() {
	keys := serde.TimeWindowed(serde.String(), 600_000) // 10-minute windows
	b, _ := keys.Serialize("suspicious-transactions", serde.Windowed[string]{Key: "c1", Start: 1_800_000})
	fmt.Printf("%q\n", b)
	w, _ := keys.Deserialize("suspicious-transactions", b)
	fmt.Println(w.Key, w.Start, w.End)
	// Output:
	// "c1\x00\x00\x00\x00\x00\x1bw@"
	// c1 1800000 2400000
}

func ExampleNullable() {
	counts := serde.Nullable(serde.Int64())
	tombstone, _ := counts.Deserialize("counts", nil)
	fmt.Println(tombstone == nil)
	zero, _ := serde.Int64().Deserialize("counts", nil)
	fmt.Println(zero)
	// Output:
	// true
	// 0
}

// A value serde of Avro records through a schema registry. (No output: it needs a registry.)
func ExampleAvro() {
	type reading struct {
		Sensor  string  `avro:"sensor"`
		Celsius float64 `avro:"celsius"`
	}
	client, err := sr.NewClient(sr.URLs("http://localhost:8081"))
	if err != nil {
		panic(err)
	}
	values, err := serde.Avro[reading](client,
		`{"type":"record","name":"Reading","namespace":"acme","fields":[{"name":"sensor","type":"string"},{"name":"celsius","type":"double"}]}`)
	if err != nil {
		panic(err)
	}
	// Registers the schema under "readings-value" on first use, then writes 0 | id | Avro.
	b, err := values.Serialize("readings", reading{"s1", 21.5})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, _ := values.Deserialize("readings", b)
	fmt.Println(r.Sensor)
}
