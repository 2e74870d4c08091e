package registry

import (
	"reflect"
	"testing"
)

func TestConfig(t *testing.T) {
	n := newNode(t)
	var cfg map[string]any
	cfg = nil
	n.must(t, "GET", "/config", nil, &cfg)
	if !reflect.DeepEqual(cfg, map[string]any{"compatibilityLevel": "BACKWARD"}) {
		t.Fatalf("default global config = %v", cfg)
	}
	cfg = nil
	n.must(t, "PUT", "/config", map[string]any{"compatibility": "full"}, &cfg)
	if !reflect.DeepEqual(cfg, map[string]any{"compatibility": "FULL"}) {
		t.Fatalf("PUT /config answered %v", cfg)
	}
	cfg = nil
	n.must(t, "GET", "/config", nil, &cfg)
	if cfg["compatibilityLevel"] != "FULL" {
		t.Fatalf("global config = %v", cfg)
	}
	msg := n.wantError(t, "PUT", "/config", map[string]any{"compatibility": "SIDEWAYS"}, 42203)
	if msg != "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive" {
		t.Fatalf("42203 message = %q", msg)
	}
	n.wantError(t, "PUT", "/config/s", map[string]any{}, 42203)
	msg = n.wantError(t, "GET", "/config/s", nil, 40408)
	if msg != "Subject 's' does not have subject-level compatibility configured" {
		t.Fatalf("40408 message = %q", msg)
	}
	cfg = nil
	n.must(t, "GET", "/config/s?defaultToGlobal=true", nil, &cfg)
	if cfg["compatibilityLevel"] != "FULL" {
		t.Fatalf("defaultToGlobal = %v", cfg)
	}
	n.must(t, "PUT", "/config/s", map[string]any{"compatibility": "NONE", "normalize": true}, nil)
	// Only the fields given change.
	n.must(t, "PUT", "/config/s", map[string]any{"compatibilityLevel": "FORWARD"}, nil)
	cfg = nil
	n.must(t, "GET", "/config/s", nil, &cfg)
	if !reflect.DeepEqual(cfg, map[string]any{"compatibilityLevel": "FORWARD", "normalize": true}) {
		t.Fatalf("subject config = %v", cfg)
	}
	cfg = nil
	n.must(t, "DELETE", "/config/s", nil, &cfg)
	if cfg["compatibilityLevel"] != "FORWARD" {
		t.Fatalf("DELETE /config/s answered %v", cfg)
	}
	n.wantError(t, "DELETE", "/config/s", nil, 40401)
	cfg = nil
	n.must(t, "DELETE", "/config", nil, &cfg)
	if cfg["compatibilityLevel"] != "FULL" {
		t.Fatalf("DELETE /config answered %v", cfg)
	}
	cfg = nil
	n.must(t, "GET", "/config", nil, &cfg)
	if cfg["compatibilityLevel"] != "BACKWARD" {
		t.Fatalf("global config after DELETE = %v", cfg)
	}
}

func TestConfigNormalize(t *testing.T) {
	n := newNode(t)
	n.must(t, "PUT", "/config/s", map[string]any{"normalize": true}, nil)
	n.register(t, "s", schemaBody(rec("r", "b:int", "a:int")))
	// Stored normalized: the reordered schema is the same one.
	if id := n.register(t, "s", schemaBody(rec("r", "a:int", "b:int"))); id != 1 {
		t.Fatalf("id = %d", id)
	}
	var got schemaJSON
	n.must(t, "GET", "/subjects/s/versions/1", nil, &got)
	if got.Schema != rec("r", "a:int", "b:int") {
		t.Fatalf("stored %s", got.Schema)
	}
}

func TestMode(t *testing.T) {
	n := newNode(t)
	var mode ModeValue
	n.must(t, "GET", "/mode", nil, &mode)
	if mode.Mode != "READWRITE" {
		t.Fatalf("default mode %q", mode.Mode)
	}
	n.register(t, "s", schemaBody(rec("r")))
	msg := n.wantError(t, "PUT", "/mode", map[string]any{"mode": "WRITEONLY"}, 42204)
	if msg != "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE, and IMPORT." {
		t.Fatalf("42204 message = %q", msg)
	}
	n.must(t, "PUT", "/mode", map[string]any{"mode": "readonly"}, &mode)
	if mode.Mode != "READONLY" {
		t.Fatalf("PUT /mode answered %+v", mode)
	}
	msg = n.wantError(t, "POST", "/subjects/s/versions", schemaBody(rec("q")), 42205)
	if msg != "Subject s is in read-only mode" {
		t.Fatalf("42205 message = %q", msg)
	}
	if id := n.register(t, "s", schemaBody(rec("r"))); id != 1 {
		t.Fatalf("a registered schema in READONLY mode: id %d", id)
	}
	n.wantError(t, "DELETE", "/subjects/s", nil, 42205)
	n.wantError(t, "DELETE", "/subjects/s/versions/1", nil, 42205)
	n.wantError(t, "PUT", "/config/s", map[string]any{"compatibility": "NONE"}, 42205)
	// Reads still work, and a subject may be opened again by its own mode.
	n.must(t, "GET", "/subjects/s/versions/1", nil, nil)
	n.wantError(t, "GET", "/mode/s", nil, 40409)
	n.must(t, "GET", "/mode/s?defaultToGlobal=true", nil, &mode)
	if mode.Mode != "READONLY" {
		t.Fatalf("defaultToGlobal mode %q", mode.Mode)
	}
	n.must(t, "PUT", "/mode/s", map[string]any{"mode": "READWRITE"}, nil)
	n.register(t, "s", schemaBody(rec("r", "a:int=1")))
	n.wantError(t, "POST", "/subjects/t/versions", schemaBody(rec("q")), 42205)
	// READONLY_OVERRIDE wins over the subject's own mode.
	n.must(t, "PUT", "/mode", map[string]any{"mode": "READONLY_OVERRIDE"}, nil)
	n.wantError(t, "POST", "/subjects/s/versions", schemaBody(rec("r", "a:int=1", "b:int=2")), 42205)
	n.must(t, "GET", "/mode/s?defaultToGlobal=true", nil, &mode)
	if mode.Mode != "READWRITE" {
		t.Fatalf("subject mode %q (its own setting is READWRITE)", mode.Mode)
	}
	n.must(t, "PUT", "/mode", map[string]any{"mode": "READWRITE"}, nil)
	n.must(t, "DELETE", "/mode/s", nil, &mode)
	if mode.Mode != "READWRITE" {
		t.Fatalf("DELETE /mode/s answered %+v", mode)
	}
	n.wantError(t, "DELETE", "/mode/s", nil, 40401)
	n.wantError(t, "DELETE", "/mode", nil, 405)
	n.register(t, "t", schemaBody(rec("q")))
}

func TestImportMode(t *testing.T) {
	n := newNode(t)
	n.register(t, "existing", schemaBody(rec("e")))
	msg := n.wantError(t, "PUT", "/mode", map[string]any{"mode": "IMPORT"}, 42205)
	if msg != "Cannot import since found existing subjects" {
		t.Fatalf("message = %q", msg)
	}
	n.must(t, "PUT", "/mode/fresh", map[string]any{"mode": "IMPORT"}, nil)
	n.must(t, "PUT", "/mode?force=true", map[string]any{"mode": "IMPORT"}, nil)

	// Ids and versions come from the request; compatibility is not checked.
	if id := n.register(t, "fresh", map[string]any{"schema": rec("a", "x:int"), "id": 100, "version": 5}); id != 100 {
		t.Fatalf("imported id = %d", id)
	}
	if id := n.register(t, "fresh", map[string]any{"schema": rec("a", "y:string"), "id": 101, "version": 6}); id != 101 {
		t.Fatalf("imported id = %d", id)
	}
	var got schemaJSON
	n.must(t, "GET", "/subjects/fresh/versions/5", nil, &got)
	if got.ID != 100 {
		t.Fatalf("version 5 = %+v", got)
	}
	n.wantError(t, "POST", "/subjects/other/versions", map[string]any{"schema": rec("b"), "id": 100}, 42207)
	n.wantError(t, "POST", "/subjects/other/versions", map[string]any{"schema": rec("a", "x:int"), "id": 102}, 42207)
	n.wantError(t, "POST", "/subjects/fresh/versions", map[string]any{"schema": rec("c"), "id": 102, "version": 5}, 42205)
	// The same schema with its id in another subject is fine.
	if id := n.register(t, "other", map[string]any{"schema": rec("a", "x:int"), "id": 100}); id != 100 {
		t.Fatalf("id = %d", id)
	}
	// IMPORT mode takes registrations with an id only; a schema already in the subject is
	// answered in any mode.
	msg = n.wantError(t, "POST", "/subjects/third/versions", schemaBody(rec("d")), 42205)
	if msg != "Subject third is not in read-write mode" {
		t.Fatalf("message = %q", msg)
	}
	if id := n.register(t, "fresh", schemaBody(rec("a", "x:int"))); id != 100 {
		t.Fatalf("existing schema in IMPORT mode: id %d", id)
	}
	n.must(t, "PUT", "/mode", map[string]any{"mode": "READWRITE"}, nil)
	n.wantError(t, "POST", "/subjects/other/versions", map[string]any{"schema": rec("d"), "version": 9}, 42205)
	n.wantError(t, "POST", "/subjects/fresh/versions", schemaBody(rec("d")), 42205) // its own mode is IMPORT
	n.must(t, "DELETE", "/mode/fresh", nil, nil)
	if id := n.register(t, "next", schemaBody(rec("z"))); id != 102 {
		t.Fatalf("id after import = %d, want 102", id)
	}
}

func TestContexts(t *testing.T) {
	n := newNode(t)
	x := rec("x", "a:int")
	idCtx := n.register(t, ":.ctx1:s", schemaBody(x))
	idDefault := n.register(t, "s", schemaBody(x))
	if idCtx == idDefault {
		t.Fatalf("the same schema in two contexts shares id %d", idCtx)
	}
	if id := n.register(t, ":.ctx1:t", schemaBody(x)); id != idCtx {
		t.Fatalf("same schema in the same context: id %d, want %d", id, idCtx)
	}
	var contexts, subjects []string
	n.must(t, "GET", "/contexts", nil, &contexts)
	if !reflect.DeepEqual(contexts, []string{".", ".ctx1"}) {
		t.Fatalf("contexts = %v", contexts)
	}
	n.must(t, "GET", "/subjects", nil, &subjects)
	if !reflect.DeepEqual(subjects, []string{":.ctx1:s", ":.ctx1:t", "s"}) {
		t.Fatalf("subjects = %v", subjects)
	}
	n.must(t, "GET", "/subjects?subjectPrefix=:.ctx1:", nil, &subjects)
	if !reflect.DeepEqual(subjects, []string{":.ctx1:s", ":.ctx1:t"}) {
		t.Fatalf("subjects in ctx1 = %v", subjects)
	}
	n.must(t, "GET", "/schemas/ids/1?subject=:.ctx1:s", nil, nil)
	n.wantError(t, "GET", "/schemas/ids/1?subject=s", nil, 40403)
	n.must(t, "GET", "/schemas/ids/1", nil, nil) // found in the only context holding it
	n.must(t, "GET", "/schemas/ids/1/subjects?subject=:.ctx1:s", nil, &subjects)
	if !reflect.DeepEqual(subjects, []string{":.ctx1:s", ":.ctx1:t"}) {
		t.Fatalf("subjects of id 1 = %v", subjects)
	}
	// References are relative to the referring subject's context.
	n.register(t, ":.ctx1:base", schemaBody(rec("base")))
	user := map[string]any{
		"schema":     `{"name":"user","fields":[],"refs":["base"]}`,
		"references": []map[string]any{{"name": "base", "subject": "base", "version": 1}},
	}
	n.register(t, ":.ctx1:user", user)
	n.wantError(t, "POST", "/subjects/user/versions", user, 42201)
	n.wantError(t, "DELETE", "/subjects/:.ctx1:base", nil, 42206)
	// A context's config applies to its subjects.
	n.must(t, "PUT", "/config/:.ctx1:", map[string]any{"compatibility": "NONE"}, nil)
	var cfg map[string]any
	cfg = nil
	n.must(t, "GET", "/config/:.ctx1:s?defaultToGlobal=true", nil, &cfg)
	if cfg["compatibilityLevel"] != "NONE" {
		t.Fatalf("context config = %v", cfg)
	}
	n.register(t, ":.ctx1:s", schemaBody(rec("x", "b:string")))
	n.wantError(t, "POST", "/subjects/s/versions", schemaBody(rec("x", "b:string")), 40901)
}

func TestSplitSubject(t *testing.T) {
	for _, tc := range []struct{ in, ctx, name string }{
		{"s", ".", "s"},
		{":.c:s", ".c", "s"},
		{":.:s", ".", "s"},
		{":.c", ".", ":.c"},
		{":.a.b:x:y", ".a.b", "x:y"},
	} {
		if ctx, name := SplitSubject(tc.in); ctx != tc.ctx || name != tc.name {
			t.Errorf("SplitSubject(%q) = %q, %q; want %q, %q", tc.in, ctx, name, tc.ctx, tc.name)
		}
	}
}
