package registry

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestRegisterAndRead(t *testing.T) {
	n := newNode(t)
	v1 := rec("user", "name:string")
	v2 := rec("user", "name:string", "age:int=0")

	if id := n.register(t, "users-value", schemaBody(v1)); id != 1 {
		t.Fatalf("first id = %d, want 1", id)
	}
	// The same schema again, whitespace aside: the same id and no new version.
	if id := n.register(t, "users-value", schemaBody(" "+v1+"\n")); id != 1 {
		t.Fatalf("re-registered id = %d, want 1", id)
	}
	// The same schema in another subject: the same id, version 1 there.
	if id := n.register(t, "other-value", schemaBody(v1)); id != 1 {
		t.Fatalf("id in a second subject = %d, want 1", id)
	}
	if id := n.register(t, "users-value", schemaBody(v2)); id != 2 {
		t.Fatalf("second schema id = %d, want 2", id)
	}

	var versions []int
	n.must(t, "GET", "/subjects/users-value/versions", nil, &versions)
	if !reflect.DeepEqual(versions, []int{1, 2}) {
		t.Fatalf("versions = %v", versions)
	}
	var got schemaJSON
	n.must(t, "GET", "/subjects/users-value/versions/latest", nil, &got)
	if got.Subject != "users-value" || got.Version != 2 || got.ID != 2 || got.Schema != v2 || got.SchemaType != "" {
		t.Fatalf("latest = %+v", got)
	}
	n.must(t, "GET", "/subjects/users-value/versions/1", nil, &got)
	if got.Version != 1 || got.ID != 1 || got.Schema != v1 {
		t.Fatalf("version 1 = %+v", got)
	}
	if raw := n.must(t, "GET", "/subjects/users-value/versions/1/schema", nil, nil); raw != v1 {
		t.Fatalf("raw schema = %s", raw)
	}
	var byID map[string]any
	n.must(t, "GET", "/schemas/ids/2?fetchMaxId=true", nil, &byID)
	if byID["schema"] != v2 || byID["maxId"] != float64(2) {
		t.Fatalf("/schemas/ids/2 = %v", byID)
	}
	if _, ok := byID["schemaType"]; ok {
		t.Fatalf("an Avro schema's answer has a schemaType: %v", byID)
	}
	if raw := n.must(t, "GET", "/schemas/ids/1/schema", nil, nil); raw != v1 {
		t.Fatalf("/schemas/ids/1/schema = %s", raw)
	}
	var subjects []string
	n.must(t, "GET", "/schemas/ids/1/subjects", nil, &subjects)
	if !reflect.DeepEqual(subjects, []string{"other-value", "users-value"}) {
		t.Fatalf("/schemas/ids/1/subjects = %v", subjects)
	}
	var svs []struct {
		Subject string
		Version int
	}
	n.must(t, "GET", "/schemas/ids/1/versions", nil, &svs)
	if len(svs) != 2 || svs[0].Subject != "other-value" || svs[1].Version != 1 {
		t.Fatalf("/schemas/ids/1/versions = %v", svs)
	}
	n.must(t, "GET", "/subjects", nil, &subjects)
	if !reflect.DeepEqual(subjects, []string{"other-value", "users-value"}) {
		t.Fatalf("/subjects = %v", subjects)
	}
	n.must(t, "GET", "/subjects?subjectPrefix=users", nil, &subjects)
	if !reflect.DeepEqual(subjects, []string{"users-value"}) {
		t.Fatalf("/subjects?subjectPrefix=users = %v", subjects)
	}
	var all []schemaJSON
	n.must(t, "GET", "/schemas", nil, &all)
	if len(all) != 3 || all[0].Subject != "other-value" || all[2].Version != 2 {
		t.Fatalf("/schemas = %+v", all)
	}
	n.must(t, "GET", "/schemas?latestOnly=true&subjectPrefix=users", nil, &all)
	if len(all) != 1 || all[0].Version != 2 {
		t.Fatalf("/schemas?latestOnly = %+v", all)
	}
	n.must(t, "GET", "/schemas?offset=1&limit=1", nil, &all)
	if len(all) != 1 || all[0].Subject != "users-value" || all[0].Version != 1 {
		t.Fatalf("/schemas?offset=1&limit=1 = %+v", all)
	}
	var types []string
	n.must(t, "GET", "/schemas/types", nil, &types)
	if !reflect.DeepEqual(types, []string{"JSON", "AVRO"}) {
		t.Fatalf("/schemas/types = %v (the test registers JSON and AVRO)", types)
	}
	if raw := n.must(t, "GET", "/", nil, nil); raw != "{}" {
		t.Fatalf("GET / = %s", raw)
	}
}

func TestRegisterErrors(t *testing.T) {
	n := newNode(t)
	n.register(t, "s", schemaBody(rec("r", "a:int")))
	for _, tc := range []struct {
		name         string
		method, path string
		body         any
		code         int
	}{
		{"schema does not parse", "POST", "/subjects/s/versions", schemaBody("{nope"), 42201},
		{"empty schema", "POST", "/subjects/s/versions", map[string]any{}, 42201},
		{"unknown schema type", "POST", "/subjects/s/versions", map[string]any{"schema": rec("r"), "schemaType": "XML"}, 42201},
		{"type not served", "POST", "/subjects/s/versions", map[string]any{"schema": rec("r"), "schemaType": "PROTOBUF"}, 42201},
		{"missing reference", "POST", "/subjects/t/versions", map[string]any{"schema": rec("r"),
			"references": []map[string]any{{"name": "x", "subject": "nope", "version": 1}}}, 42201},
		{"incompatible", "POST", "/subjects/s/versions", schemaBody(rec("r", "a:string")), 40901},
		{"id outside import mode", "POST", "/subjects/s/versions", map[string]any{"schema": rec("q"), "id": 7}, 42205},
		{"unknown subject", "GET", "/subjects/nope/versions", nil, 40401},
		{"unknown subject version", "GET", "/subjects/nope/versions/1", nil, 40401},
		{"unknown version", "GET", "/subjects/s/versions/9", nil, 40402},
		{"invalid version", "GET", "/subjects/s/versions/0", nil, 42202},
		{"invalid version text", "GET", "/subjects/s/versions/one", nil, 42202},
		{"unknown id", "GET", "/schemas/ids/99", nil, 40403},
		{"unknown id subjects", "GET", "/schemas/ids/99/subjects", nil, 40403},
		{"unknown path", "GET", "/nope", nil, 404},
		{"wrong method", "PUT", "/subjects/s/versions", schemaBody(rec("r")), 405},
		{"bad JSON", "POST", "/subjects/s/versions", "{", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n.wantError(t, tc.method, tc.path, tc.body, tc.code)
		})
	}
	status, raw := doHTTP(t, n.srv.URL, "POST", "/subjects/s/versions", schemaBody(rec("r")),
		http.Header{"Content-Type": {"text/plain"}})
	if status != http.StatusUnsupportedMediaType || !strings.Contains(raw, `"error_code":415`) {
		t.Fatalf("text/plain body: %d %s", status, raw)
	}
	msg := n.wantError(t, "POST", "/subjects/s/versions", schemaBody(rec("r", "a:string")), 40901)
	if !strings.Contains(msg, `incompatible with an earlier schema for subject "s"`) || !strings.Contains(msg, "TYPE_MISMATCH") {
		t.Fatalf("40901 message = %q", msg)
	}
	msg = n.wantError(t, "GET", "/subjects/nope/versions", nil, 40401)
	if msg != "Subject 'nope' not found." {
		t.Fatalf("40401 message = %q", msg)
	}
}

func TestContentTypesAccepted(t *testing.T) {
	n := newNode(t)
	for i, ct := range []string{"", ContentType, "application/vnd.schemaregistry+json", "application/json", "application/json; charset=utf-8"} {
		h := http.Header{}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		status, raw := doHTTP(t, n.srv.URL, "POST", "/subjects/s/versions", `{"schema":`+jsonString(rec("r", "a:int=1"))+`,"unknownField":[1,2]}`, h)
		if status != 200 || raw != `{"id":1}` {
			t.Fatalf("case %d (%q): %d %s", i, ct, status, raw)
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestLookup(t *testing.T) {
	n := newNode(t)
	v1 := rec("r", "b:int", "a:int")
	n.register(t, "s", schemaBody(v1))
	var got schemaJSON
	n.must(t, "POST", "/subjects/s", schemaBody(v1), &got)
	if got.Subject != "s" || got.ID != 1 || got.Version != 1 || got.Schema != v1 {
		t.Fatalf("lookup = %+v", got)
	}
	n.wantError(t, "POST", "/subjects/s", schemaBody(rec("r", "c:int")), 40403)
	n.wantError(t, "POST", "/subjects/nope", schemaBody(v1), 40401)
	n.wantError(t, "POST", "/subjects/s", schemaBody("{nope"), 42201)
	// Field order differs: found only when normalizing both sides.
	reordered := rec("r", "a:int", "b:int")
	n.wantError(t, "POST", "/subjects/s", schemaBody(reordered), 40403)
	if id := n.register(t, "n", schemaBody(v1)); id != 1 {
		t.Fatal(id)
	}
	var out struct{ ID int }
	n.must(t, "POST", "/subjects/n/versions?normalize=true", schemaBody(reordered), &out)
	if out.ID != 2 {
		t.Fatalf("normalized registration id = %d, want a new id 2", out.ID)
	}
	n.must(t, "POST", "/subjects/n?normalize=true", schemaBody(v1), &got)
	if got.ID != 2 || got.Version != 2 {
		t.Fatalf("normalized lookup = %+v", got)
	}
	// A soft-deleted version is found with deleted=true only.
	n.must(t, "DELETE", "/subjects/s/versions/1", nil, nil)
	n.wantError(t, "POST", "/subjects/s", schemaBody(v1), 40401)
	n.must(t, "POST", "/subjects/s?deleted=true", schemaBody(v1), &got)
	if got.Version != 1 {
		t.Fatalf("deleted lookup = %+v", got)
	}
}

func TestIDsStableAcrossRebuild(t *testing.T) {
	log, nodes := newNodes(t, 1)
	n := nodes[0]
	n.register(t, "a", schemaBody(rec("x", "f:int")))
	n.register(t, "b", schemaBody(rec("y", "f:int")))
	n.register(t, "a", schemaBody(rec("x", "f:int", "g:int=1")))
	n.must(t, "DELETE", "/subjects/b", nil, nil)
	n.must(t, "DELETE", "/subjects/b?permanent=true", nil, nil)
	n.must(t, "PUT", "/config/a", map[string]any{"compatibility": "FULL"}, nil)

	// A state rebuilt from the same records answers the same.
	rebuilt := NewState()
	for i, r := range log.Records() {
		rebuilt.Apply(int64(i), r)
	}
	orig := n.svc.state
	if rebuilt.MaxID() != orig.MaxID() || rebuilt.MaxID() != 3 {
		t.Fatalf("max id %d rebuilt, %d original, want 3", rebuilt.MaxID(), orig.MaxID())
	}
	if !reflect.DeepEqual(rebuilt.versions("a"), orig.versions("a")) || rebuilt.versions("b") != nil {
		t.Fatalf("rebuilt a = %+v, b = %+v", rebuilt.versions("a"), rebuilt.versions("b"))
	}
	if c, _ := rebuilt.config("a"); c.CompatibilityLevel != "FULL" {
		t.Fatalf("rebuilt config = %+v", c)
	}
	// A new node joining the log later gets the same ids; the next id is not reused.
	state := NewState()
	late := log.Join(state)
	svc := New(Options{Log: late, State: state, Formats: testFormats()})
	if got, _ := svc.SubjectsForID(context.Background(), 3); !reflect.DeepEqual(got, []string{"a"}) {
		t.Fatalf("late node: id 3 in %v", got)
	}
	if id := n.register(t, "c", schemaBody(rec("z"))); id != 4 {
		t.Fatalf("next id = %d, want 4", id)
	}
}

func TestSubjectsForID(t *testing.T) {
	n := newNode(t)
	ctx := context.Background()
	n.register(t, "a", schemaBody(rec("x")))
	n.register(t, "b", schemaBody(rec("x")))
	got, err := n.svc.SubjectsForID(ctx, 1)
	if err != nil || !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("SubjectsForID(1) = %v, %v", got, err)
	}
	if got, _ := n.svc.SubjectsForID(ctx, 2); got != nil {
		t.Fatalf("unknown id: %v", got)
	}
	allocs := testing.AllocsPerRun(100, func() { _, _ = n.svc.SubjectsForID(ctx, 1) })
	if allocs != 0 {
		t.Fatalf("SubjectsForID of a known id allocates %v times", allocs)
	}
	n.must(t, "DELETE", "/subjects/a", nil, nil)
	if got, _ := n.svc.SubjectsForID(ctx, 1); !reflect.DeepEqual(got, []string{"b"}) {
		t.Fatalf("after deleting a: %v", got)
	}
	n.must(t, "DELETE", "/subjects/b/versions/1", nil, nil)
	if got, _ := n.svc.SubjectsForID(ctx, 1); got != nil {
		t.Fatalf("after deleting every version: %v", got)
	}
}
