package registry

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/registry/avro"
	"github.com/sluicehq/sluice/internal/registry/format"
)

// newAvroNode is a writer node serving the real Avro format.
func newAvroNode(t *testing.T) *testNode {
	t.Helper()
	log := NewMemLog()
	state := NewState()
	mem := log.Join(state)
	log.SetWriter(mem)
	reg := prometheus.NewRegistry()
	svc := New(Options{Log: mem, State: state, Registerer: reg,
		Formats: map[format.SchemaType]format.Format{format.Avro: avro.New()}})
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	mem.SetURL(srv.URL)
	return &testNode{svc: svc, mem: mem, srv: srv, reg: reg}
}

func TestAvroEndToEnd(t *testing.T) {
	n := newAvroNode(t)
	v1 := `{"type": "record", "name": "User", "namespace": "com.example",
		"fields": [{"name": "name", "type": "string"}]}`
	if id := n.register(t, "users-value", schemaBody(v1)); id != 1 {
		t.Fatalf("id = %d", id)
	}
	var got schemaJSON
	n.must(t, "GET", "/subjects/users-value/versions/1", nil, &got)
	if strings.Contains(got.Schema, " ") || !strings.Contains(got.Schema, `"name":"User"`) {
		t.Fatalf("stored schema is not the canonical text: %s", got.Schema)
	}
	// Lookup with the original text finds the canonical one.
	n.must(t, "POST", "/subjects/users-value", schemaBody(v1), &got)
	if got.ID != 1 {
		t.Fatalf("lookup = %+v", got)
	}
	// A new field without a default cannot read old data: 40901 under BACKWARD, with
	// Confluent's message naming the new and the old schema.
	bad := `{"type":"record","name":"User","namespace":"com.example","fields":[
		{"name":"name","type":"string"},{"name":"age","type":"int"}]}`
	var res compatResult
	n.must(t, "POST", "/compatibility/subjects/users-value/versions/latest?verbose=true", schemaBody(bad), &res)
	joined := strings.Join(res.Messages, "\n")
	if res.IsCompatible || !strings.Contains(joined, "READER_FIELD_MISSING_DEFAULT_VALUE") ||
		!strings.Contains(joined, "in the new schema has no default value and is missing in the old schema") {
		t.Fatalf("verbose answer = %+v", res)
	}
	msg := n.wantError(t, "POST", "/subjects/users-value/versions", schemaBody(bad), 40901)
	if !strings.Contains(msg, "READER_FIELD_MISSING_DEFAULT_VALUE") {
		t.Fatalf("40901 message = %q", msg)
	}
	good := `{"type":"record","name":"User","namespace":"com.example","fields":[
		{"name":"name","type":"string"},{"name":"age","type":"int","default":0}]}`
	if id := n.register(t, "users-value", schemaBody(good)); id != 2 {
		t.Fatalf("id = %d", id)
	}
	// FORWARD: the old schema must read the new one's data; removing a field without a
	// default in the old schema breaks it.
	n.must(t, "PUT", "/config/users-value", map[string]any{"compatibility": "FORWARD"}, nil)
	dropName := `{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"age","type":"int","default":0}]}`
	n.must(t, "POST", "/compatibility/subjects/users-value/versions?verbose=true", schemaBody(dropName), &res)
	if res.IsCompatible || !strings.Contains(strings.Join(res.Messages, "\n"), "in the old schema has no default value and is missing in the new schema") {
		t.Fatalf("FORWARD verbose answer = %+v", res)
	}
	n.wantError(t, "POST", "/subjects/x/versions", schemaBody(`{"type":"record","name":"X"}`), 42201)

	// References: a record using a named type registered in another subject.
	addr := `{"type":"record","name":"Address","namespace":"com.example","fields":[{"name":"city","type":"string"}]}`
	n.register(t, "address", schemaBody(addr))
	withRef := map[string]any{
		"schema":     `{"type":"record","name":"Customer","namespace":"com.example","fields":[{"name":"home","type":"com.example.Address"}]}`,
		"references": []map[string]any{{"name": "com.example.Address", "subject": "address", "version": 1}},
	}
	id := n.register(t, "customer", withRef)
	n.wantError(t, "POST", "/subjects/customer2/versions", map[string]any{"schema": withRef["schema"]}, 42201)
	var ids []int
	n.must(t, "GET", "/subjects/address/versions/1/referencedby", nil, &ids)
	if len(ids) != 1 || ids[0] != id {
		t.Fatalf("referencedby = %v, want [%d]", ids, id)
	}
}
