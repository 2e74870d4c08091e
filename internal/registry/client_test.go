package registry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
)

// TestFranzGoClient drives the API with franz-go's schema registry client, as applications do.
func TestFranzGoClient(t *testing.T) {
	_, nodes := newNodes(t, 2)
	ctx := context.Background()
	// Writes through the node that is not the writer: they are forwarded.
	cl, err := sr.NewClient(sr.URLs(nodes[1].srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	v1 := sr.Schema{Schema: rec("r", "a:int")}
	ss, err := cl.CreateSchema(ctx, "orders-value", v1)
	if err != nil {
		t.Fatal(err)
	}
	if ss.ID != 1 || ss.Version != 1 || ss.Subject != "orders-value" || ss.Type != sr.TypeAvro {
		t.Fatalf("CreateSchema = %+v", ss)
	}
	got, err := cl.SchemaByID(ctx, 1)
	if err != nil || got.Schema != v1.Schema {
		t.Fatalf("SchemaByID = %+v, %v", got, err)
	}
	found, err := cl.LookupSchema(ctx, "orders-value", v1)
	if err != nil || found.ID != 1 || found.Version != 1 {
		t.Fatalf("LookupSchema = %+v, %v", found, err)
	}
	subjects, err := cl.Subjects(ctx)
	if err != nil || !reflect.DeepEqual(subjects, []string{"orders-value"}) {
		t.Fatalf("Subjects = %v, %v", subjects, err)
	}
	v2 := sr.Schema{Schema: rec("r", "a:string")}
	res, err := cl.CheckCompatibility(ctx, "orders-value", -1, v2)
	if err != nil || res.Is {
		t.Fatalf("CheckCompatibility = %+v, %v", res, err)
	}
	_, err = cl.CreateSchema(ctx, "orders-value", v2)
	var re *sr.ResponseError
	if !errors.As(err, &re) || re.ErrorCode != 40901 {
		t.Fatalf("incompatible CreateSchema: %v", err)
	}
	if r := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatNone}, "orders-value"); len(r) != 1 || r[0].Err != nil {
		t.Fatalf("SetCompatibility = %+v", r)
	}
	if ss, err = cl.CreateSchema(ctx, "orders-value", v2); err != nil || ss.ID != 2 || ss.Version != 2 {
		t.Fatalf("CreateSchema after NONE = %+v, %v", ss, err)
	}
	deleted, err := cl.DeleteSubject(ctx, "orders-value", sr.SoftDelete)
	if err != nil || !reflect.DeepEqual(deleted, []int{1, 2}) {
		t.Fatalf("DeleteSubject = %v, %v", deleted, err)
	}
	if _, err := cl.DeleteSubject(ctx, "orders-value", sr.HardDelete); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.SchemaByID(ctx, 1); !errors.As(err, &re) || re.ErrorCode != 40403 {
		t.Fatalf("SchemaByID after the hard delete: %v", err)
	}

	// The serde: encode with the registered id, decode through the registry's answer.
	var serde sr.Serde
	ss, err = cl.CreateSchema(ctx, "plain", sr.Schema{Schema: rec("p")})
	if err != nil {
		t.Fatal(err)
	}
	serde.Register(ss.ID, "", sr.EncodeFn(func(v any) ([]byte, error) { return []byte(v.(string)), nil }))
	b, err := serde.Encode("hello")
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := serde.DecodeID(b)
	if err != nil || id != ss.ID {
		t.Fatalf("DecodeID = %d, %v", id, err)
	}
	if subjects, _ := nodes[0].svc.SubjectsForID(ctx, id); !reflect.DeepEqual(subjects, []string{"plain"}) {
		t.Fatalf("SubjectsForID(%d) = %v", id, subjects)
	}
}

// FuzzRegisterBody sends arbitrary bodies to the endpoints that decode a schema request; the
// handler must answer every one with JSON: an id, a version, a verdict or an error body, never
// a crash or an internal error.
func FuzzRegisterBody(f *testing.F) {
	for _, seed := range []string{
		`{"schema":"{\"name\":\"r\",\"fields\":[]}"}`,
		`{"schema":"{\"name\":\"r\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}","schemaType":"AVRO","references":[{"name":"x","subject":"s","version":1}]}`,
		`{"schema":"x","schemaType":"JSON","metadata":{"properties":{"a":"b"}},"ruleSet":{"domainRules":[]}}`,
		`{"schema":"{\"name\":\"r\",\"fields\":[]}","id":5,"version":2}`,
		`{"compatibility":"FULL"}`, `{"mode":"IMPORT"}`, `null`, `[]`, `{`, ``, `{"schema":5}`,
		`{"schema":"{\"name\":\"r\",\"fields\":[],\"refs\":[\"x\"]}","references":[{"name":"x","subject":"s","version":-1}]}`,
	} {
		f.Add(seed)
	}
	log := NewMemLog()
	state := NewState()
	mem := log.Join(state)
	log.SetWriter(mem)
	svc := New(Options{Log: mem, State: state, Formats: testFormats()})
	h := svc.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		for _, target := range []struct{ method, path string }{
			{"POST", "/subjects/s/versions"},
			{"POST", "/subjects/s"},
			{"POST", "/compatibility/subjects/s/versions/latest?verbose=true"},
			{"PUT", "/config/s"},
			{"PUT", "/mode/m"},
		} {
			req := httptest.NewRequest(target.method, target.path, stringsReader(body))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("%s %s %q: %d %s", target.method, target.path, body, w.Code, w.Body.String())
			}
			if w.Code != http.StatusOK && !errorBodyRE(w.Body.Bytes()) {
				t.Fatalf("%s %s %q: %d without an error body: %s", target.method, target.path, body, w.Code, w.Body.String())
			}
		}
	})
}
