package connect_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/connect"
	"github.com/sluicehq/sluice/internal/connect/file"
)

func standaloneWorker(t *testing.T, props map[string]string) (*connect.Worker, error) {
	t.Helper()
	offsets, err := connect.OpenFileOffsets(filepath.Join(t.TempDir(), "offsets"))
	if err != nil {
		t.Fatal(err)
	}
	return connect.NewWorker(connect.WorkerConfig{Brokers: []string{"127.0.0.1:1"}, Props: props, Offsets: offsets})
}

// TestExactlyOnceWorkerRefused: exactly-once sources need the offsets topic, so a standalone
// worker refuses them, and a bad value is refused everywhere.
func TestExactlyOnceWorkerRefused(t *testing.T) {
	for _, c := range []struct{ value, want string }{
		{"enabled", "distributed workers"},
		{"preparing", "distributed workers"},
		{"sometimes", "one of disabled, preparing, enabled"},
	} {
		_, err := standaloneWorker(t, map[string]string{"exactly.once.source.support": c.value})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("exactly.once.source.support=%s: %v, want an error about %q", c.value, err, c.want)
		}
	}
	if _, err := standaloneWorker(t, map[string]string{"exactly.once.source.support": "disabled"}); err != nil {
		t.Fatalf("disabled: %v", err)
	}
}

// TestExactlyOnceConnectorValidation: the connector-level settings are checked as Kafka
// Connect checks them: values, required support on a worker without it, and connector-defined
// transaction boundaries, which no connector here offers.
func TestExactlyOnceConnectorValidation(t *testing.T) {
	w, err := standaloneWorker(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"name": "src", "connector.class": file.SourceClass, "file": "/dev/null", "topic": "t"}
	errorsOf := func(extra map[string]string) map[string][]string {
		cfg := map[string]string{}
		for k, v := range base {
			cfg[k] = v
		}
		for k, v := range extra {
			cfg[k] = v
		}
		out := map[string][]string{}
		for _, c := range w.Validate(cfg).Configs {
			if len(c.Value.Errors) > 0 {
				out[c.Value.Name] = c.Value.Errors
			}
		}
		return out
	}
	if errs := errorsOf(nil); len(errs) != 0 {
		t.Fatalf("defaults: %v", errs)
	}
	for _, c := range []struct {
		extra map[string]string
		key   string
		want  string
	}{
		{map[string]string{"exactly.once.support": "required"}, "exactly.once.support", "does not have exactly-once source support"},
		{map[string]string{"exactly.once.support": "maybe"}, "exactly.once.support", "requested, required"},
		{map[string]string{"transaction.boundary": "connector"}, "transaction.boundary", "does not define its own transaction boundaries"},
		{map[string]string{"transaction.boundary": "sometimes"}, "transaction.boundary", "poll, interval, connector"},
		{map[string]string{"transaction.boundary.interval.ms": "0"}, "transaction.boundary.interval.ms", "at least 1"},
	} {
		errs := errorsOf(c.extra)
		if len(errs) != 1 || len(errs[c.key]) != 1 || !strings.Contains(errs[c.key][0], c.want) {
			t.Errorf("%v: errors %v, want one on %s containing %q", c.extra, errs, c.key, c.want)
		}
	}
	// Sinks have none of these settings.
	sink := map[string]string{"name": "snk", "connector.class": file.SinkClass, "file": "/dev/null", "topics": "t"}
	for _, c := range w.Validate(sink).Configs {
		if strings.HasPrefix(c.Value.Name, "exactly.once") || strings.HasPrefix(c.Value.Name, "transaction.") {
			t.Errorf("a sink validates %s", c.Value.Name)
		}
	}
}
