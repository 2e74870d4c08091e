package registry

import (
	"strings"
	"testing"
)

// compatResult is the answer of POST /compatibility/...
type compatResult struct {
	IsCompatible bool     `json:"is_compatible"`
	Messages     []string `json:"messages"`
}

func TestCompatibilityLevels(t *testing.T) {
	n := newNode(t)
	// v1 {x}, v2 {y} (registered under NONE, so incompatible with each other).
	n.must(t, "PUT", "/config/s", map[string]any{"compatibility": "NONE"}, nil)
	n.register(t, "s", schemaBody(rec("r", "x:int")))
	n.register(t, "s", schemaBody(rec("r", "y:int")))
	// readsV2 can read v2 and v2 can read it; neither holds for v1.
	readsV2 := rec("r", "y:int", "z:int=1")
	readsNeither := rec("r", "z:int")
	for _, tc := range []struct {
		level              string
		readsV2, readsNone bool
	}{
		{"NONE", true, true},
		{"BACKWARD", true, false},
		{"BACKWARD_TRANSITIVE", false, false},
		{"FORWARD", true, false},
		{"FORWARD_TRANSITIVE", false, false},
		{"FULL", true, false},
		{"FULL_TRANSITIVE", false, false},
	} {
		t.Run(tc.level, func(t *testing.T) {
			n.must(t, "PUT", "/config/s", map[string]any{"compatibility": tc.level}, nil)
			var got compatResult
			n.must(t, "POST", "/compatibility/subjects/s/versions?verbose=true", schemaBody(readsV2), &got)
			if got.IsCompatible != tc.readsV2 {
				t.Fatalf("schema compatible with v2 only: %+v, want %v", got, tc.readsV2)
			}
			if !got.IsCompatible {
				joined := strings.Join(got.Messages, "\n")
				for _, want := range []string{"{oldSchemaVersion: 1}", "{compatibility: '" + tc.level + "'}"} {
					if !strings.Contains(joined, want) {
						t.Fatalf("verbose messages lack %q: %v", want, got.Messages)
					}
				}
				if strings.Contains(joined, "{oldSchemaVersion: 2}") {
					t.Fatalf("v2 is compatible but reported: %v", got.Messages)
				}
			}
			got = compatResult{}
			n.must(t, "POST", "/compatibility/subjects/s/versions/latest", schemaBody(readsNeither), &got)
			if got.IsCompatible != tc.readsNone || got.Messages != nil {
				t.Fatalf("against latest: %+v, want %v and no messages without verbose", got, tc.readsNone)
			}
			// Against version 1 alone (a transitive level checks just that version too).
			n.must(t, "POST", "/compatibility/subjects/s/versions/1", schemaBody(readsV2), &got)
			if got.IsCompatible != (tc.level == "NONE") {
				t.Fatalf("against version 1: %+v", got)
			}
		})
	}
	// Registration applies the level: refused under BACKWARD_TRANSITIVE, accepted once the
	// version it conflicts with is soft-deleted (deleted versions are not checked).
	n.must(t, "PUT", "/config/s", map[string]any{"compatibility": "BACKWARD_TRANSITIVE"}, nil)
	n.wantError(t, "POST", "/subjects/s/versions", schemaBody(readsV2), 40901)
	n.must(t, "DELETE", "/subjects/s/versions/1", nil, nil)
	if id := n.register(t, "s", schemaBody(readsV2)); id != 3 {
		t.Fatalf("id = %d", id)
	}
	// The compatibility endpoints' own errors.
	n.wantError(t, "POST", "/compatibility/subjects/nope/versions/latest", schemaBody(readsV2), 40401)
	n.wantError(t, "POST", "/compatibility/subjects/s/versions/7", schemaBody(readsV2), 40402)
	n.wantError(t, "POST", "/compatibility/subjects/s/versions/0", schemaBody(readsV2), 42202)
	n.wantError(t, "POST", "/compatibility/subjects/s/versions", schemaBody("{nope"), 42201)
	// A subject without versions is compatible with anything.
	var got compatResult
	n.must(t, "POST", "/compatibility/subjects/empty/versions", schemaBody(readsV2), &got)
	if !got.IsCompatible {
		t.Fatalf("empty subject: %+v", got)
	}
	// A different schema type is incompatible.
	n.must(t, "PUT", "/config/s", map[string]any{"compatibility": "BACKWARD"}, nil)
	n.must(t, "POST", "/compatibility/subjects/s/versions?verbose=true", map[string]any{"schema": readsV2, "schemaType": "JSON"}, &got)
	if got.IsCompatible || !strings.Contains(strings.Join(got.Messages, " "), "different schema type") {
		t.Fatalf("JSON against AVRO: %+v", got)
	}
}
