package registry

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/registry/format"
	"github.com/sluicehq/sluice/internal/registry/jsonschema"
)

// newJSONNode is a writer node serving the real JSON Schema format.
func newJSONNode(t *testing.T) *testNode {
	t.Helper()
	log := NewMemLog()
	state := NewState()
	mem := log.Join(state)
	log.SetWriter(mem)
	reg := prometheus.NewRegistry()
	svc := New(Options{Log: mem, State: state, Registerer: reg,
		Formats: map[format.SchemaType]format.Format{format.JSON: jsonschema.New()}})
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	mem.SetURL(srv.URL)
	return &testNode{svc: svc, mem: mem, srv: srv, reg: reg}
}

func jsonBody(schema string, refs ...map[string]any) map[string]any {
	b := map[string]any{"schema": schema, "schemaType": "JSON"}
	if len(refs) > 0 {
		b["references"] = refs
	}
	return b
}

func TestJSONSchemaEndToEnd(t *testing.T) {
	n := newJSONNode(t)
	v1 := `{
	  "$schema": "http://json-schema.org/draft-07/schema#",
	  "type": "object",
	  "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
	  "required": ["name"]
	}`
	if id := n.register(t, "users-value", jsonBody(v1)); id != 1 {
		t.Fatalf("id = %d", id)
	}
	var got schemaJSON
	n.must(t, "GET", "/subjects/users-value/versions/1", nil, &got)
	want := `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name"]}`
	if got.Schema != want || got.SchemaType != "JSON" {
		t.Fatalf("stored %+v, want the canonical text %s", got, want)
	}
	// The same schema with other whitespace is the same schema: same id, no new version.
	n.must(t, "POST", "/subjects/users-value", jsonBody(strings.ReplaceAll(v1, "\n", " ")), &got)
	if got.ID != 1 || got.Version != 1 {
		t.Fatalf("lookup = %+v", got)
	}
	if id := n.register(t, "users-value", jsonBody(v1)); id != 1 {
		t.Fatalf("re-registered as %d", id)
	}

	// BACKWARD (the default): adding a property to an open content model is refused with
	// Confluent's difference, naming the new and the old schema.
	addOpen := `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"email":{"type":"string"}},"required":["name"]}`
	var res compatResult
	n.must(t, "POST", "/compatibility/subjects/users-value/versions/latest?verbose=true", jsonBody(addOpen), &res)
	joined := strings.Join(res.Messages, "\n")
	if res.IsCompatible || !strings.Contains(joined, `{errorType:"OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", description:"The new schema has an open content model and has a property or item at path '#/properties/email' which is missing in the old schema"}`) {
		t.Fatalf("verbose answer = %+v", res)
	}
	msg := n.wantError(t, "POST", "/subjects/users-value/versions", jsonBody(addOpen), 40901)
	if !strings.Contains(msg, "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL") {
		t.Fatalf("40901 message = %q", msg)
	}
	// Removing a property from an open model and widening integer to number are compatible.
	v2 := `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"number"}},"required":["name"]}`
	if id := n.register(t, "users-value", jsonBody(v2)); id != 2 {
		t.Fatalf("v2 id = %d", id)
	}
	// FORWARD: the old schema must read the new one's data; number back to integer is narrowed.
	n.must(t, "PUT", "/config/users-value", map[string]any{"compatibility": "FORWARD"}, nil)
	n.must(t, "POST", "/compatibility/subjects/users-value/versions/latest?verbose=true", jsonBody(v1), &res)
	if !res.IsCompatible {
		t.Fatalf("FORWARD v1 after v2 = %+v", res)
	}
	// A closed new schema's data is readable by the open old one, unless a property the old
	// one requires may be missing.
	closed := `{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}`
	n.must(t, "POST", "/compatibility/subjects/users-value/versions/latest?verbose=true", jsonBody(closed), &res)
	if !res.IsCompatible {
		t.Fatalf("FORWARD closed = %+v", res)
	}
	optional := `{"type":"object","properties":{"name":{"type":"string"}},"additionalProperties":false}`
	n.must(t, "POST", "/compatibility/subjects/users-value/versions/latest?verbose=true", jsonBody(optional), &res)
	if res.IsCompatible || !strings.Contains(strings.Join(res.Messages, "\n"),
		`{errorType:"REQUIRED_ATTRIBUTE_ADDED", description:"The keyword at path '#/required/name' in the old schema is not present in the new schema"}`) {
		t.Fatalf("FORWARD optional = %+v", res)
	}

	// Invalid schemas: 42201.
	n.wantError(t, "POST", "/subjects/bad/versions", jsonBody(`{"type":"strin"}`), 42201)
	n.wantError(t, "POST", "/subjects/bad/versions", jsonBody(`{"type":`), 42201)
	n.wantError(t, "POST", "/subjects/bad/versions", jsonBody(`{"$ref":"https://example.com/x.json"}`), 42201)

	// References: a schema $ref-ing another subject's schema, which $refs a third.
	n.register(t, "country", jsonBody(`{"type":"string","maxLength":2}`))
	addr := `{"type":"object","properties":{"street":{"type":"string"},"country":{"$ref":"country.json"}}}`
	n.register(t, "address", jsonBody(addr, map[string]any{"name": "country.json", "subject": "country", "version": 1}))
	customer := `{"type":"object","properties":{"name":{"type":"string"},"home":{"$ref":"address.json"}}}`
	id := n.register(t, "customer", jsonBody(customer, map[string]any{"name": "address.json", "subject": "address", "version": 1}))
	n.wantError(t, "POST", "/subjects/customer2/versions", jsonBody(customer), 42201)
	var ids []int
	n.must(t, "GET", "/subjects/address/versions/1/referencedby", nil, &ids)
	if len(ids) != 1 || ids[0] != id {
		t.Fatalf("referencedby = %v, want [%d]", ids, id)
	}
}
