package tests

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConnectReadme runs README.md's "Move data in and out (Connect)" shell block as written
// (`./sluice` is the built binary; SLUICE_BROKERS points at a test broker, and the worker's
// localhost:8083 is a free loopback port through SLUICE_CONNECT_ADDR and curl's URL), checks
// that the consumer printed the two lines, and that the Debezium configuration in the JSON
// block names the settings TestConnectPostgresCDC runs.
func TestConnectReadme(t *testing.T) {
	infos, blocks := readmeBlocks(t, "Move data in and out (Connect)")
	n := startNode(t)
	dir := t.TempDir()
	if err := os.Symlink(sluiceBin, filepath.Join(dir, "sluice")); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	var script, conf string
	for i, info := range infos {
		switch strings.TrimSpace(info) {
		case "sh":
			script = strings.ReplaceAll(blocks[i], "localhost:8083", addr)
		case "json":
			conf = blocks[i]
		}
	}
	if script == "" || conf == "" {
		t.Fatal("the section has no sh or json block")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", "set -e\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n"+script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SLUICE_BROKERS="+n.kafkaAddr, "SLUICE_CONNECT_ADDR="+addr, "SLUICE_CONNECT_URL=http://"+addr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := `{"schema":{"type":"string","optional":false},"payload":"first line"}` + "\n" +
		`{"schema":{"type":"string","optional":false},"payload":"second line"}` + "\n"
	if !strings.Contains(string(out), lines) || !strings.Contains(string(out), `"state": "RUNNING"`) {
		t.Errorf("output:\n%s", out)
	}
	var c struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal([]byte(conf), &c); err != nil {
		t.Fatalf("the Debezium configuration is not JSON: %v", err)
	}
	for k, v := range map[string]string{"connector.class": "io.debezium.connector.postgresql.PostgresConnector", "plugin.name": "pgoutput",
		"topic.prefix": "dbserver1", "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState"} {
		if c.Config[k] != v {
			t.Errorf("README's %s is %q, want %q", k, c.Config[k], v)
		}
	}
}
