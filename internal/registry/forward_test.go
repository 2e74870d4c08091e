package registry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// headerRecorder wraps a handler and keeps the headers of the requests it sees.
type headerRecorder struct {
	next http.Handler
	mu   sync.Mutex
	seen []http.Header
}

func (h *headerRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.seen = append(h.seen, r.Header.Clone())
	h.mu.Unlock()
	h.next.ServeHTTP(w, r)
}

func TestForwardingToTheWriter(t *testing.T) {
	log, nodes := newNodes(t, 2)
	writer, other := nodes[0], nodes[1]
	rec0 := &headerRecorder{next: writer.svc.Handler()}
	writer.srv.Config.Handler = rec0

	auth := http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}
	status, raw := doHTTP(t, other.srv.URL, "POST", "/subjects/s/versions", schemaBody(rec("r", "a:int")), auth)
	if status != 200 || raw != `{"id":1}` {
		t.Fatalf("forwarded registration: %d %s", status, raw)
	}
	rec0.mu.Lock()
	if len(rec0.seen) != 1 || rec0.seen[0].Get("Authorization") != "Basic dXNlcjpwYXNz" || rec0.seen[0].Get(forwardedHeader) == "" {
		t.Fatalf("the writer saw %v", rec0.seen)
	}
	rec0.mu.Unlock()
	// Both nodes read it.
	for _, n := range nodes {
		var versions []int
		n.must(t, "GET", "/subjects/s/versions", nil, &versions)
		if !reflect.DeepEqual(versions, []int{1}) {
			t.Fatalf("versions = %v", versions)
		}
	}
	// The writer's errors come back as they are; every kind of write is forwarded.
	other.wantError(t, "POST", "/subjects/s/versions", schemaBody(rec("r", "a:string")), 40901)
	other.must(t, "PUT", "/config/s", map[string]any{"compatibility": "NONE"}, nil)
	other.must(t, "PUT", "/mode/s", map[string]any{"mode": "READWRITE"}, nil)
	other.must(t, "DELETE", "/mode/s", nil, nil)
	other.must(t, "DELETE", "/config/s", nil, nil)
	other.must(t, "DELETE", "/subjects/s/versions/1", nil, nil)
	other.must(t, "DELETE", "/subjects/s/versions/1?permanent=true", nil, nil)
	if got := testutil.ToFloat64(other.svc.metrics.forwarded); got != 8 {
		t.Fatalf("forwarded counter = %v, want 8", got)
	}
	if got := testutil.ToFloat64(writer.svc.metrics.registrations); got != 1 {
		t.Fatalf("the writer's registrations = %v, want 1", got)
	}
	if got := testutil.ToFloat64(other.svc.metrics.registrations); got != 0 {
		t.Fatalf("the forwarding node's registrations = %v, want 0", got)
	}

	// The writer moves: the former writer forwards now.
	log.SetWriter(other.mem)
	if id := writer.register(t, "t", schemaBody(rec("q"))); id != 2 {
		t.Fatalf("id after the writer moved = %d, want 2", id)
	}
	// No writer: 50004. A request already forwarded once is not forwarded again: 50003.
	log.SetWriter(nil)
	writer.wantError(t, "POST", "/subjects/t/versions", schemaBody(rec("x")), 50004)
	// A schema the subject already holds is answered by any node, writer or not.
	if id := writer.register(t, "t", schemaBody(rec("q"))); id != 2 {
		t.Fatalf("existing schema without a writer: id %d", id)
	}
	log.SetWriter(writer.mem)
	status, raw = doHTTP(t, other.srv.URL, "POST", "/subjects/t/versions", schemaBody(rec("x")), http.Header{forwardedHeader: {"1"}})
	if status != 500 || !strings.Contains(raw, `"error_code":50003`) {
		t.Fatalf("a forwarded request reaching a non-writer: %d %s", status, raw)
	}
	// The writer does not answer: 50003.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	writer.mem.SetURL(dead.URL)
	other.wantError(t, "POST", "/subjects/t/versions", schemaBody(rec("x")), 50003)
}

// slowLog is a Log whose Sync never finishes.
type slowLog struct{ *MemNode }

func (slowLog) Sync(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestSyncTimeout(t *testing.T) {
	log := NewMemLog()
	state := NewState()
	mem := log.Join(state)
	log.SetWriter(mem)
	svc := New(Options{Log: slowLog{mem}, State: state, Formats: testFormats(), SyncTimeout: 20 * time.Millisecond})
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	n := &testNode{svc: svc, srv: srv}
	n.wantError(t, "GET", "/subjects", nil, 50002)
	n.wantError(t, "POST", "/subjects/s/versions", schemaBody(rec("r")), 50002)
	if _, err := svc.SubjectsForID(context.Background(), 1); err == nil {
		t.Fatal("SubjectsForID of an unknown id did not report the failed sync")
	}
}

func TestMetrics(t *testing.T) {
	n := newNode(t)
	n.register(t, "a", schemaBody(rec("x")))
	n.register(t, "a", schemaBody(rec("x")))
	n.register(t, "b", schemaBody(rec("y")))
	n.must(t, "DELETE", "/subjects/b", nil, nil)
	n.wantError(t, "GET", "/subjects/nope/versions", nil, 40401)
	for name, want := range map[string]float64{
		"sluice_schema_registry_schemas":             2,
		"sluice_schema_registry_subjects":            1,
		"sluice_schema_registry_max_schema_id":       2,
		"sluice_schema_registry_registrations_total": 2,
	} {
		mfs, err := n.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			found = true
			m := mf.GetMetric()[0]
			got := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			if got != want {
				t.Errorf("%s = %v, want %v", name, got, want)
			}
		}
		if !found {
			t.Errorf("%s not registered", name)
		}
	}
	m := n.svc.metrics
	if got := testutil.ToFloat64(m.requests.WithLabelValues("register", "200")); got != 3 {
		t.Errorf("register requests = %v", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("versions", "404")); got != 1 {
		t.Errorf("versions 404 = %v", got)
	}
	if got := testutil.ToFloat64(m.errors.WithLabelValues("40401")); got != 1 {
		t.Errorf("errors 40401 = %v", got)
	}
}

func TestBodyLimit(t *testing.T) {
	log := NewMemLog()
	state := NewState()
	mem := log.Join(state)
	log.SetWriter(mem)
	svc := New(Options{Log: mem, State: state, Formats: testFormats(), MaxBodyBytes: 64})
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	n := &testNode{svc: svc, srv: srv}
	n.wantError(t, "POST", "/subjects/s/versions", schemaBody(rec("r", strings.Repeat("a", 100)+":int")), 413)
	n.register(t, "s", schemaBody(rec("r")))
}

// failingLog is a writer whose appends fail with err.
type failingLog struct {
	*MemNode
	err error
}

func (l failingLog) Append(ctx context.Context, recs []Record) error { return l.err }

func TestStoreErrorsAndMetadata(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code int
	}{
		{"produce failed", errors.New("NOT_ENOUGH_REPLICAS"), 50001},
		{"timed out", context.DeadlineExceeded, 50002},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := NewMemLog()
			state := NewState()
			mem := log.Join(state)
			log.SetWriter(mem)
			svc := New(Options{Log: failingLog{mem, tc.err}, State: state, Formats: testFormats(), ClusterID: "abc"})
			srv := httptest.NewServer(svc.Handler())
			defer srv.Close()
			n := &testNode{svc: svc, srv: srv}
			n.wantError(t, "POST", "/subjects/s/versions", schemaBody(rec("r")), tc.code)
			n.wantError(t, "PUT", "/config", map[string]any{"compatibility": "NONE"}, tc.code)
			var md struct {
				Scope struct {
					Path     []string          `json:"path"`
					Clusters map[string]string `json:"clusters"`
				} `json:"scope"`
			}
			n.must(t, "GET", "/v1/metadata/id", nil, &md)
			if md.Scope.Clusters["kafka-cluster"] != "abc" || md.Scope.Clusters["schema-registry-cluster"] == "" || md.Scope.Path == nil {
				t.Fatalf("/v1/metadata/id = %+v", md)
			}
		})
	}
	n := newNode(t)
	n.wantError(t, "POST", "/subjects/a%01b/versions", schemaBody(rec("r")), 42208)
	// A subject may hold an escaped slash.
	n.register(t, "a%2Fb", schemaBody(rec("r")))
	var subjects []string
	n.must(t, "GET", "/subjects", nil, &subjects)
	if !reflect.DeepEqual(subjects, []string{"a/b"}) {
		t.Fatalf("subjects = %v", subjects)
	}
}
