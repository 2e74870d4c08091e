package avro

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// compatCase is one row of testdata/compat.json: an old and a new schema, and the messages
// Confluent gives for each direction with the roles filled in. backward is new.CanRead(old)
// (the new schema reads old data), forward is old.CanRead(new). Empty means compatible; the
// registry derives the seven levels from the two (FULL: both empty).
type compatCase struct {
	Name     string   `json:"name"`
	Old      string   `json:"old"`
	New      string   `json:"new"`
	Backward []string `json:"backward"`
	Forward  []string `json:"forward"`
}

func TestCompatibilityTable(t *testing.T) {
	data, err := os.ReadFile("testdata/compat.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []compatCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 30 {
		t.Fatalf("only %d cases in testdata/compat.json", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			oldSchema, newSchema := mustParse(t, tc.Old), mustParse(t, tc.New)
			backward := fill(newSchema.CanRead(oldSchema), "new", "old")
			forward := fill(oldSchema.CanRead(newSchema), "old", "new")
			if !slices.Equal(backward, tc.Backward) {
				t.Errorf("backward (new reads old):\n got %s\nwant %s", strings.Join(backward, "\n     "), strings.Join(tc.Backward, "\n     "))
			}
			if !slices.Equal(forward, tc.Forward) {
				t.Errorf("forward (old reads new):\n got %s\nwant %s", strings.Join(forward, "\n     "), strings.Join(tc.Forward, "\n     "))
			}
			// Every schema reads what it wrote itself.
			if msgs := newSchema.CanRead(newSchema); len(msgs) != 0 {
				t.Errorf("new cannot read itself: %v", msgs)
			}
		})
	}
}

func fill(msgs []string, reader, writer string) []string {
	if len(msgs) == 0 {
		return []string{}
	}
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = format.FillRoles(m, reader, writer)
	}
	return out
}

// Confluent's exact text for the most common incompatibility, as its verbose answer shows it.
func TestCompatibilityMessage(t *testing.T) {
	oldSchema := mustParse(t, `{"type":"record","name":"r","fields":[{"name":"a","type":"int"}]}`)
	newSchema := mustParse(t, `{"type":"record","name":"r","fields":[{"name":"a","type":"int"},{"name":"x","type":"string"}]}`)
	got := newSchema.CanRead(oldSchema)
	want := []string{`{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'x' at path '/fields/1' in the %s schema has no default value and is missing in the %s schema', additionalInfo:'x'}`}
	if !slices.Equal(got, want) {
		t.Fatalf("CanRead:\n got %v\nwant %v", got, want)
	}
	if got := format.FillRoles(got[0], "new", "old"); !strings.Contains(got, "in the new schema has no default value and is missing in the old schema") {
		t.Fatalf("FillRoles: %s", got)
	}
}

// A deeply recursive pair of schemas that differ only deep inside is compared without looping.
func TestCompatibilityMutualRecursion(t *testing.T) {
	a := mustParse(t, `{"type":"record","name":"A","fields":[{"name":"b","type":{"type":"record","name":"B","fields":[{"name":"a","type":["null","A"]},{"name":"n","type":"int"}]}}]}`)
	b := mustParse(t, `{"type":"record","name":"A","fields":[{"name":"b","type":{"type":"record","name":"B","fields":[{"name":"a","type":["null","A"]},{"name":"n","type":"long"}]}}]}`)
	if msgs := b.CanRead(a); len(msgs) != 0 {
		t.Errorf("long reader of int writer: %v", msgs)
	}
	msgs := a.CanRead(b)
	if len(msgs) != 1 || !strings.Contains(msgs[0], "TYPE_MISMATCH") || !strings.Contains(msgs[0], "/fields/0/type/fields/1/type") {
		t.Errorf("int reader of long writer: %v", msgs)
	}
}

// Two schemas whose unions make every branch meet every branch stop at the pair budget and
// are answered incompatible, instead of keeping the request busy (the budget is lowered here to
// keep the test short; at 1,000,000 pairs the walk takes about a second).
func TestCompatibilityBudget(t *testing.T) {
	union := func(n int, field string) string {
		branches := make([]string, n)
		for i := range branches {
			branches[i] = fmt.Sprintf(`{"type":"record","name":"R%d","fields":[{"name":%q,"type":"int"}]}`, i, field)
		}
		return "[" + strings.Join(branches, ",") + "]"
	}
	defer func(saved int) { maxPairs = saved }(maxPairs)
	maxPairs = 20_000
	reader, writer := mustParse(t, union(200, "a")), mustParse(t, union(200, "b"))
	msgs := reader.CanRead(writer)
	if len(msgs) != 1 || msgs[0] != tooLarge {
		t.Fatalf("CanRead: %.300v", msgs)
	}
	// A union of 60 records reading itself stays within it.
	wide := mustParse(t, union(60, "a"))
	if msgs := wide.CanRead(wide); len(msgs) != 0 {
		t.Fatalf("a schema reading itself: %.300v", msgs)
	}
}
