package registry

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/registry/format"
)

// testNode is one registry node over a shared MemLog, served by a real HTTP listener.
type testNode struct {
	svc *Service
	mem *MemNode
	srv *httptest.Server
	reg *prometheus.Registry
}

func testFormats() map[format.SchemaType]format.Format {
	return map[format.SchemaType]format.Format{
		format.Avro: recordFormat{format.Avro},
		format.JSON: recordFormat{format.JSON},
	}
}

// newNodes starts n nodes over one MemLog; node 0 is the writer.
func newNodes(t *testing.T, n int) (*MemLog, []*testNode) {
	t.Helper()
	log := NewMemLog()
	var nodes []*testNode
	for i := 0; i < n; i++ {
		state := NewState()
		mem := log.Join(state)
		reg := prometheus.NewRegistry()
		svc := New(Options{Log: mem, State: state, Formats: testFormats(), Registerer: reg, ClusterID: "test-cluster"})
		srv := httptest.NewServer(svc.Handler())
		t.Cleanup(srv.Close)
		mem.SetURL(srv.URL)
		nodes = append(nodes, &testNode{svc: svc, mem: mem, srv: srv, reg: reg})
	}
	log.SetWriter(nodes[0].mem)
	return log, nodes
}

// newNode starts one writer node.
func newNode(t *testing.T) *testNode {
	t.Helper()
	_, nodes := newNodes(t, 1)
	return nodes[0]
}

// call sends method path with body (a string is sent as is, anything else as JSON) and returns
// the status and the answer's body.
func (n *testNode) call(t *testing.T, method, path string, body any) (int, string) {
	t.Helper()
	return doHTTP(t, n.srv.URL, method, path, body, nil)
}

func doHTTP(t *testing.T, base, method, path string, body any, header http.Header) (int, string) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", ContentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != ContentType {
		t.Errorf("%s %s: Content-Type %q, want %q", method, path, ct, ContentType)
	}
	return resp.StatusCode, string(raw)
}

// must sends the request and fails unless it is answered 200; it decodes the answer into out
// when out is not nil.
func (n *testNode) must(t *testing.T, method, path string, body, out any) string {
	t.Helper()
	status, raw := n.call(t, method, path, body)
	if status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, status, raw)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(raw), out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return raw
}

// wantError sends the request and fails unless it is answered with Confluent's error code.
func (n *testNode) wantError(t *testing.T, method, path string, body any, code int) string {
	t.Helper()
	status, raw := n.call(t, method, path, body)
	var e errorBody
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		t.Fatalf("%s %s: not an error body: %s", method, path, raw)
	}
	want := (&Error{Code: code}).Status()
	if e.ErrorCode != code || status != want {
		t.Fatalf("%s %s: %d %s, want %d with error_code %d", method, path, status, raw, want, code)
	}
	return e.Message
}

// register registers schema in subject and returns its id.
func (n *testNode) register(t *testing.T, subject string, body any) int {
	t.Helper()
	var out struct{ ID int }
	n.must(t, "POST", "/subjects/"+subject+"/versions", body, &out)
	return out.ID
}

// rec builds a recordFormat schema text: fields are "name:type" or "name:type=default".
func rec(name string, fields ...string) string {
	s := recordSchema{Name: name, Fields: []recordField{}}
	for _, f := range fields {
		nameType, def, hasDef := strings.Cut(f, "=")
		fn, ft, _ := strings.Cut(nameType, ":")
		rf := recordField{Name: fn, Type: ft}
		if hasDef {
			rf.Default = def
		}
		s.Fields = append(s.Fields, rf)
	}
	b, _ := json.Marshal(s)
	return string(b)
}

func schemaBody(schema string) map[string]any { return map[string]any{"schema": schema} }

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

// errorBodyRE reports whether b is Confluent's error body with a code and a message.
func errorBodyRE(b []byte) bool {
	var e errorBody
	return json.Unmarshal(b, &e) == nil && e.ErrorCode >= 400 && e.Message != ""
}
