package converter

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/sr"

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
