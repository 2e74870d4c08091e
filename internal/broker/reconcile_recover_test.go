package broker

import (
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/metrics"
)

// TestReconcilePanicIsRecovered: a panic while applying an Image (here: a broker built without
// its subsystems dereferences nil) is logged and counted on the FSM goroutine instead of ending
// the process.
func TestReconcilePanicIsRecovered(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := &Broker{logger: slog.New(slog.DiscardHandler), registry: reg, metrics: metrics.New(reg)}
	b.reconcile(nil, metadata.Empty())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "sluice_panics_recovered_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == "reconcile" && m.GetCounter().GetValue() == 1 {
				return
			}
		}
	}
	t.Fatal(`sluice_panics_recovered_total{where="reconcile"} is not 1`)
}
