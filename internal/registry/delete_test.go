package registry

import (
	"reflect"
	"testing"
)

func TestDeleteRules(t *testing.T) {
	n := newNode(t)
	v1, v2 := rec("r", "a:int"), rec("r", "a:int", "b:int=1")
	n.register(t, "s", schemaBody(v1))
	n.register(t, "s", schemaBody(v2))
	var versions []int
	var version int

	n.wantError(t, "DELETE", "/subjects/s/versions/1?permanent=true", nil, 40407)
	n.must(t, "DELETE", "/subjects/s/versions/1", nil, &version)
	if version != 1 {
		t.Fatalf("deleted version %d", version)
	}
	n.wantError(t, "DELETE", "/subjects/s/versions/1", nil, 40406)
	n.wantError(t, "DELETE", "/subjects/s/versions/5", nil, 40402)
	n.wantError(t, "DELETE", "/subjects/s/versions/x", nil, 42202)
	n.wantError(t, "DELETE", "/subjects/nope/versions/1", nil, 40401)
	n.must(t, "GET", "/subjects/s/versions", nil, &versions)
	if !reflect.DeepEqual(versions, []int{2}) {
		t.Fatalf("versions = %v", versions)
	}
	n.must(t, "GET", "/subjects/s/versions?deleted=true", nil, &versions)
	if !reflect.DeepEqual(versions, []int{1, 2}) {
		t.Fatalf("versions with deleted = %v", versions)
	}
	n.must(t, "GET", "/subjects/s/versions?deletedOnly=true", nil, &versions)
	if !reflect.DeepEqual(versions, []int{1}) {
		t.Fatalf("deleted versions = %v", versions)
	}
	n.wantError(t, "GET", "/subjects/s/versions/1", nil, 40402)
	n.must(t, "GET", "/subjects/s/versions/1?deleted=true", nil, nil)
	// The id stays readable while a version holds it, deleted or not.
	n.must(t, "GET", "/schemas/ids/1", nil, nil)
	var subjects []string
	n.must(t, "GET", "/schemas/ids/1/subjects", nil, &subjects)
	if len(subjects) != 0 {
		t.Fatalf("subjects of a deleted id = %v", subjects)
	}
	n.must(t, "GET", "/schemas/ids/1/subjects?deleted=true", nil, &subjects)
	if !reflect.DeepEqual(subjects, []string{"s"}) {
		t.Fatalf("subjects of a deleted id with deleted = %v", subjects)
	}

	n.must(t, "PUT", "/config/s", map[string]any{"compatibility": "NONE"}, nil)
	n.must(t, "PUT", "/mode/s", map[string]any{"mode": "READWRITE"}, nil)
	n.wantError(t, "DELETE", "/subjects/s?permanent=true", nil, 40405)
	// A soft delete of a version that is not the last live one keeps them.
	n.register(t, "s", schemaBody(rec("r", "a:int", "b:int=1", "c:int=2")))
	n.must(t, "DELETE", "/subjects/s/versions/3", nil, nil)
	n.must(t, "GET", "/config/s", nil, nil)
	n.must(t, "GET", "/mode/s", nil, nil)
	n.must(t, "DELETE", "/subjects/s", nil, &versions)
	if !reflect.DeepEqual(versions, []int{2}) {
		t.Fatalf("soft-deleted versions = %v", versions)
	}
	n.must(t, "DELETE", "/subjects/s/versions/3?permanent=true", nil, nil)
	// A soft delete of a subject removes its config and mode too.
	n.wantError(t, "GET", "/config/s", nil, 40408)
	n.wantError(t, "GET", "/mode/s", nil, 40409)
	n.wantError(t, "DELETE", "/subjects/s", nil, 40404)
	n.wantError(t, "GET", "/subjects/s/versions", nil, 40401)
	n.wantError(t, "GET", "/subjects/s/versions/latest", nil, 40401)
	n.must(t, "GET", "/subjects", nil, &subjects)
	if len(subjects) != 0 {
		t.Fatalf("subjects = %v", subjects)
	}
	n.must(t, "GET", "/subjects?deleted=true", nil, &subjects)
	if !reflect.DeepEqual(subjects, []string{"s"}) {
		t.Fatalf("subjects with deleted = %v", subjects)
	}
	n.must(t, "GET", "/subjects?deletedOnly=true", nil, &subjects)
	if !reflect.DeepEqual(subjects, []string{"s"}) {
		t.Fatalf("deleted subjects = %v", subjects)
	}
	n.must(t, "DELETE", "/subjects/s/versions/1?permanent=true", nil, &version)
	n.wantError(t, "GET", "/subjects/s/versions/1?deleted=true", nil, 40402)
	n.must(t, "DELETE", "/subjects/s?permanent=true", nil, &versions)
	if !reflect.DeepEqual(versions, []int{2}) {
		t.Fatalf("permanently deleted versions = %v", versions)
	}
	n.wantError(t, "DELETE", "/subjects/s", nil, 40401)
	n.wantError(t, "GET", "/schemas/ids/1", nil, 40403)
	n.must(t, "GET", "/subjects?deleted=true", nil, &subjects)
	if len(subjects) != 0 {
		t.Fatalf("subjects after permanent delete = %v", subjects)
	}
	// Ids are not reused after a permanent delete.
	if id := n.register(t, "s", schemaBody(rec("new"))); id != 4 {
		t.Fatalf("id after permanent delete = %d, want 4", id)
	}
}

func TestReregisterSoftDeleted(t *testing.T) {
	n := newNode(t)
	v1 := rec("r", "a:int")
	n.register(t, "s", schemaBody(v1))
	n.register(t, "s", schemaBody(rec("r", "a:int", "b:int=1")))
	n.must(t, "DELETE", "/subjects/s/versions/1", nil, nil)
	// Registering a soft-deleted schema again gives it a new version with the same id; the
	// deleted version is gone for good.
	if id := n.register(t, "s", schemaBody(v1)); id != 1 {
		t.Fatalf("id = %d", id)
	}
	var versions []int
	n.must(t, "GET", "/subjects/s/versions?deleted=true", nil, &versions)
	if !reflect.DeepEqual(versions, []int{2, 3}) {
		t.Fatalf("versions = %v", versions)
	}
}

func TestReferences(t *testing.T) {
	n := newNode(t)
	base := rec("base", "a:int")
	baseID := n.register(t, "base", schemaBody(base))
	user := map[string]any{
		"schema":     `{"name":"user","fields":[{"name":"b","type":"base"}],"refs":["base"]}`,
		"references": []map[string]any{{"name": "base", "subject": "base", "version": 1}},
	}
	userID := n.register(t, "user", user)
	if userID == baseID {
		t.Fatal("same id")
	}
	var got schemaJSON
	n.must(t, "GET", "/subjects/user/versions/1", nil, &got)
	if len(got.References) != 1 || got.References[0].Subject != "base" || got.References[0].Version != 1 {
		t.Fatalf("references = %+v", got.References)
	}
	var byID struct {
		References []map[string]any `json:"references"`
	}
	n.must(t, "GET", "/schemas/ids/2", nil, &byID)
	if len(byID.References) != 1 {
		t.Fatalf("/schemas/ids/2 references = %+v", byID)
	}
	var ids []int
	n.must(t, "GET", "/subjects/base/versions/1/referencedby", nil, &ids)
	if len(ids) != 1 || ids[0] != userID {
		t.Fatalf("referencedby = %v", ids)
	}
	// The schema without its references does not parse.
	n.wantError(t, "POST", "/subjects/user2/versions", map[string]any{"schema": user["schema"]}, 42201)
	// The same schema with the same references in another subject: the same id. Lookup finds it.
	if id := n.register(t, "user2", user); id != userID {
		t.Fatalf("same schema and references: id %d, want %d", id, userID)
	}
	n.must(t, "POST", "/subjects/user", user, &got)
	if got.ID != userID {
		t.Fatalf("lookup with references = %+v", got)
	}
	n.must(t, "DELETE", "/subjects/user2", nil, nil)
	n.must(t, "DELETE", "/subjects/user2?permanent=true", nil, nil)

	msg := n.wantError(t, "DELETE", "/subjects/base", nil, 42206)
	if msg != "One or more references exist to the schema {magic=1,keytype=SCHEMA,subject=base,version=1}." {
		t.Fatalf("42206 message = %q", msg)
	}
	n.wantError(t, "DELETE", "/subjects/base/versions/1", nil, 42206)
	n.must(t, "DELETE", "/subjects/user", nil, nil)
	// A soft-deleted referrer no longer blocks a soft delete, but still blocks a permanent one.
	n.must(t, "GET", "/subjects/base/versions/1/referencedby", nil, &ids)
	if len(ids) != 0 {
		t.Fatalf("referencedby after the referrer's soft delete = %v", ids)
	}
	n.must(t, "DELETE", "/subjects/base/versions/1", nil, nil)
	n.wantError(t, "DELETE", "/subjects/base/versions/1?permanent=true", nil, 42206)
	n.must(t, "DELETE", "/subjects/user?permanent=true", nil, nil)
	n.must(t, "DELETE", "/subjects/base/versions/1?permanent=true", nil, nil)
}

func TestLastVersionSoftDeleteRemovesSettings(t *testing.T) {
	n := newNode(t)
	n.register(t, "s", schemaBody(rec("r")))
	n.must(t, "PUT", "/config/s", map[string]any{"compatibility": "NONE"}, nil)
	n.must(t, "PUT", "/mode/s", map[string]any{"mode": "READWRITE"}, nil)
	n.must(t, "DELETE", "/subjects/s/versions/latest", nil, nil)
	n.wantError(t, "GET", "/config/s", nil, 40408)
	n.wantError(t, "GET", "/mode/s", nil, 40409)
}
