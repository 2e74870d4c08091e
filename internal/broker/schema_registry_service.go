package broker

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/sluicehq/sluice/internal/registry"
	"github.com/sluicehq/sluice/internal/registry/store"
)

// The registry service (internal/registry's Service, helper srcore) is wired here once it
// lands; until then the listener answers with a minimal handler over a state that records what
// the store applied. Server-side schema id validation (helper srclients) reaches the registry
// state through Broker.schemas.applier.

// appliedState records every _schemas record applied, in order.
type appliedState struct {
	mu      sync.Mutex
	offsets []int64
	records []registry.Record
}

func newRegistryState() *appliedState { return &appliedState{} }

// Apply implements registry.Applier.
func (a *appliedState) Apply(offset int64, r registry.Record) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.offsets = append(a.offsets, offset)
	a.records = append(a.records, r)
}

// snapshot returns the records applied so far.
func (a *appliedState) snapshot() ([]int64, []registry.Record) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]int64(nil), a.offsets...), append([]registry.Record(nil), a.records...)
}

// newRegistryHandler answers GET / with {} (as Confluent's registry does) and everything else
// with Confluent's 404 body until the service lands.
func newRegistryHandler(_ *Broker, _ *store.Store, _ *appliedState) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		if r.URL.Path == "/" && r.Method == http.MethodGet {
			w.Write([]byte("{}"))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]any{"error_code": 404, "message": "HTTP 404 Not Found"})
	})
}
