package avro

import (
	"testing"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// FuzzParse parses arbitrary text as a schema and as a dependency, and compares what parses in
// both directions: nothing may panic, Canonical must parse again to itself, and a schema must
// be able to read what it wrote itself.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`"int"`, `["null","string"]`, `{"type":"fixed","name":"F","size":16,"logicalType":"uuid"}`,
		`{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":1}]}`,
		`{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"],"default":null}]}`,
		`{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}`,
		`{"type":"map","values":{"type":"array","items":"long"}}`,
		`{"type":"record","name":"n.R","aliases":["Old"],"fields":[{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]},"aliases":["x"]}]}`,
	} {
		f.Add(seed, `{"type":"record","name":"R","fields":[{"name":"a","type":"long","default":2}]}`)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		sa, errA := New().Parse(a, nil)
		sb, errB := New().Parse(b, nil)
		New().Parse(a, []format.Dependency{{Name: "dep", Schema: b}})
		stored, errStored := Format{}.ParseStored(a, nil)
		if errA != nil {
			return
		}
		if errStored != nil || stored.Canonical() != sa.Canonical() {
			t.Fatalf("ParseStored of a schema Parse takes: %v", errStored)
		}
		sa.(*Schema).Resolved()
		again, err := New().Parse(sa.Canonical(), nil)
		if err != nil {
			t.Fatalf("Canonical %s does not parse: %v", sa.Canonical(), err)
		}
		if again.Canonical() != sa.Canonical() {
			t.Fatalf("Canonical changed: %s then %s", sa.Canonical(), again.Canonical())
		}
		if reasons := sa.CanRead(sa); len(reasons) != 0 {
			t.Fatalf("%s cannot read itself: %v", sa.Canonical(), reasons)
		}
		sa.Normalized()
		if errB == nil {
			sa.CanRead(sb)
			sb.CanRead(sa)
		}
	})
}
