package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchRegistry runs `sluice bench registry` against a registry on a real listener: every
// phase makes requests without errors, the ids registered are served, and the subjects are gone
// afterwards.
func TestBenchRegistry(t *testing.T) {
	url := startRegistry(t)
	var out, errOut bytes.Buffer
	code := Main([]string{"bench", "registry", "--schema-registry", url, "--concurrency", "3", "--schemas", "20",
		"--duration", "200ms", "--json"}, strings.NewReader(""), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errOut.String())
	}
	var res registryBenchResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(res.Phases) != 3 {
		t.Fatalf("phases: %+v", res.Phases)
	}
	for _, p := range res.Phases {
		if p.Requests == 0 || p.Errors != 0 || p.LatencyMs == nil {
			t.Errorf("phase %s: %+v", p.Phase, p)
		}
	}
	if res.Phases[1].Phase != "register" || res.Phases[1].Requests != 20 {
		t.Errorf("register phase: %+v", res.Phases[1])
	}
	if res.LookupToFloor <= 0 {
		t.Errorf("lookup_to_floor %v", res.LookupToFloor)
	}
	list, _, code := sluice(t, url, "", "list", "--deleted")
	if code != 0 || strings.Contains(list, "sluice-bench-") {
		t.Errorf("subjects left after the bench (exit %d): %s", code, list)
	}
}
