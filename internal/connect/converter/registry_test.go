package converter

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/internal/connect/data"
	"github.com/sluicehq/sluice/internal/registry"
	"github.com/sluicehq/sluice/internal/registry/avro"
	"github.com/sluicehq/sluice/internal/registry/format"
	"github.com/sluicehq/sluice/internal/registry/jsonschema"
	"github.com/sluicehq/sluice/internal/registry/protobuf"
)

// testRegistry is Sluice's schema registry (the real service with the real Avro, JSON Schema
// and Protobuf formats) served over HTTP in process, counting the requests it answers.
type testRegistry struct {
	url      string
	requests atomic.Int64
	client   *sr.Client
}

func newTestRegistry(t testing.TB) *testRegistry {
	t.Helper()
	log := registry.NewMemLog()
	state := registry.NewState()
	mem := log.Join(state)
	log.SetWriter(mem)
	svc := registry.New(registry.Options{Log: mem, State: state, Registerer: prometheus.NewRegistry(),
		Formats: map[format.SchemaType]format.Format{format.Avro: avro.New(), format.JSON: jsonschema.New(), format.Protobuf: protobuf.New()}})
	tr := &testRegistry{}
	h := svc.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	mem.SetURL(srv.URL)
	tr.url = srv.URL
	cl, err := sr.NewClient(sr.URLs(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	tr.client = cl
	return tr
}

// converter makes a converter of class against the registry with extra settings.
func (tr *testRegistry) converter(t testing.TB, class string, isKey bool, kv ...string) Converter {
	t.Helper()
	cfg := map[string]string{"schema.registry.url": tr.url}
	for i := 0; i+1 < len(kv); i += 2 {
		cfg[kv[i]] = kv[i+1]
	}
	c, err := New(class, cfg, isKey)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRegistryBasicAuth: basic.auth.credentials.source USER_INFO sends basic.auth.user.info,
// URL sends the URL's user info; a registry refusing the credentials fails the converter with
// the registry's error.
func TestRegistryBasicAuth(t *testing.T) {
	tr := newTestRegistry(t)
	target, err := url.Parse(tr.url)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	guarded := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "connect" || pass != "s3cret:x" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error_code":401,"message":"Unauthorized"}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(guarded.Close)
	s := data.MustStruct("acme.Reading", data.F("c", data.Float64Schema))
	v := data.NewStructValue(s).Set("c", 1.5)
	withUserInfo := strings.Replace(guarded.URL, "http://", "http://connect:s3cret%3Ax@", 1)
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		ok   bool
	}{
		{"USER_INFO", map[string]string{"schema.registry.url": guarded.URL, "basic.auth.credentials.source": "USER_INFO", "basic.auth.user.info": "connect:s3cret:x"}, true},
		{"URL", map[string]string{"schema.registry.url": withUserInfo}, true},
		{"wrong password", map[string]string{"schema.registry.url": guarded.URL, "basic.auth.credentials.source": "USER_INFO", "basic.auth.user.info": "connect:nope"}, false},
		{"none", map[string]string{"schema.registry.url": guarded.URL}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, class := range []string{AvroClass, JSONSchemaClass} {
				c, err := New(class, tc.cfg, false)
				if err != nil {
					t.Fatal(err)
				}
				b, err := c.FromConnect("auth-"+strings.ReplaceAll(tc.name, " ", "-")+class, s, v)
				if !tc.ok {
					if err == nil || !strings.Contains(err.Error(), "Unauthorized") {
						t.Fatalf("%s: %v", class, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", class, err)
				}
				if _, _, err := c.ToConnect("auth", b); err != nil {
					t.Fatalf("%s: %v", class, err)
				}
			}
		})
	}
}

// TestRegistryRetriableErrors: a registry that cannot be reached or answers 5xx gives an error
// the worker may retry (errors.As to interface{ Retriable() bool }); a 4xx answer does not.
func TestRegistryRetriableErrors(t *testing.T) {
	tr := newTestRegistry(t)
	status := http.StatusServiceUnavailable
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(`{"error_code":50003,"message":"Error while forwarding the request to the primary"}`))
	}))
	t.Cleanup(flaky.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	s := data.MustStruct("acme.Reading", data.F("c", data.Float64Schema))
	v := data.NewStructValue(s).Set("c", 1.5)
	isRetriable := func(err error) bool {
		var r interface{ Retriable() bool }
		return errors.As(err, &r) && r.Retriable()
	}
	for _, class := range []string{AvroClass, JSONSchemaClass} {
		down := tr.converterAt(t, class, closed.URL)
		if _, err := down.FromConnect("t", s, v); err == nil || !isRetriable(err) {
			t.Errorf("%s, registry down: %v (retriable %v)", class, err, isRetriable(err))
		}
		if _, _, err := down.ToConnect("t", []byte{0, 0, 0, 0, 7, '{', '}'}); err == nil || !isRetriable(err) {
			t.Errorf("%s, registry down, reading: %v", class, err)
		}
		c := tr.converterAt(t, class, flaky.URL)
		status = http.StatusServiceUnavailable
		if _, err := c.FromConnect("t", s, v); err == nil || !isRetriable(err) {
			t.Errorf("%s, 503: %v", class, err)
		}
		status = http.StatusConflict
		if _, err := c.FromConnect("t", s, v); err == nil || isRetriable(err) {
			t.Errorf("%s, 409: %v (retriable %v)", class, err, isRetriable(err))
		}
		// An unknown schema id is final.
		real := tr.converter(t, class, false)
		if _, _, err := real.ToConnect("t", []byte{0, 0, 0, 0, 99, '{', '}'}); err == nil || isRetriable(err) {
			t.Errorf("%s, unknown id: %v", class, err)
		}
	}
}

func (tr *testRegistry) converterAt(t testing.TB, class, url string) Converter {
	t.Helper()
	c, err := New(class, map[string]string{"schema.registry.url": url}, false)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fuzzToConnect is the body of the registry converters' fuzz targets: the payload after the
// header of one of ids (or, raw, bytes with a header of their own) must not panic c's
// ToConnect, and what it reads must write and read back.
func fuzzToConnect(f *testing.F, c Converter, ids []int) {
	f.Fuzz(func(t *testing.T, which uint8, payload []byte, raw bool) {
		b := payload
		if !raw {
			b, _ = wireHeader.AppendEncode(nil, ids[int(which)%len(ids)], nil)
			b = append(b, payload...)
		}
		s, v, err := c.ToConnect("fuzz", b)
		if err != nil {
			return
		}
		out, err := c.FromConnect("fuzz", s, v)
		if err != nil {
			return // e.g. the registry refusing the derived schema as incompatible under the subject
		}
		if _, _, err := c.ToConnect("fuzz", out); err != nil {
			t.Fatalf("re-read of what was read: %v", err)
		}
	})
}

// checkEveryTypeRoundTrip reads b (everyTypeSchema's value written by c to topic "all") back
// and checks that the schema and the value are the ones written, and returns the schema.
func checkEveryTypeRoundTrip(t *testing.T, c Converter, b []byte) *data.Schema {
	t.Helper()
	s, v := everyTypeSchema()
	s2, v2, err := c.ToConnect("all", b)
	if err != nil {
		t.Fatal(err)
	}
	// The top-level schema has no version of its own: it reads back with its version in the
	// subject, as Confluent's converters give it.
	want := *s
	want.Version = 1
	if !s2.Equal(&want) {
		t.Fatalf("schema round trip:\n got  %v\n want %v", s2, &want)
	}
	// Equal schemas: compare the values under the original schema.
	if got := rebuild(t, s, v2.(*data.Struct)); !data.EqualValues(got, v) {
		t.Fatalf("value round trip:\n got  %v\n want %v", v2, v)
	}
	if f, _ := s2.Field("doc"); f.Schema.Doc != "a documented string" || f.Schema.Version != 3 || f.Schema.Parameters["p"] != "q" {
		t.Errorf("doc, version, parameters of a field's schema: %+v", f.Schema)
	}
	return s2
}
