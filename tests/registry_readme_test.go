package tests

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRegistryReadme runs README.md's "Keep schemas (schema registry)" commands as written
// against a real `sluice serve` (`./sluice` is the built binary; SLUICE_BROKERS and
// SLUICE_SCHEMA_REGISTRY point at the node, and curl's localhost:8081 becomes its registry
// address). Each command must succeed; then the prose's claims are checked: the two versions are
// listed and served, a plain record is refused with INVALID_RECORD, and a record framed with the
// magic byte and the registered id (Avro-encoded, as a serializer writes it) is accepted.
func TestRegistryReadme(t *testing.T) {
	infos, blocks := readmeBlocks(t, "Keep schemas (schema registry)")
	n := startNode(t)
	dir := t.TempDir()
	if err := os.Symlink(sluiceBin, filepath.Join(dir, "sluice")); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "SLUICE_BROKERS="+n.kafkaAddr, "SLUICE_SCHEMA_REGISTRY=http://"+n.registryAddr)
	comment := regexp.MustCompile(`\s+#.*$`)
	run := func(line string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-c", line)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	outputs := map[string]string{}
	var lines int
	for i, info := range infos {
		if strings.TrimSpace(info) != "sh" {
			continue
		}
		for _, line := range strings.Split(blocks[i], "\n") {
			line = comment.ReplaceAllString(strings.ReplaceAll(line, "localhost:8081", n.registryAddr), "")
			if strings.TrimSpace(line) == "" {
				continue
			}
			lines++
			// The registry elects its writer when the node starts: retry the first write a while.
			deadline := time.Now().Add(30 * time.Second)
			for {
				out, err := run(line)
				if err == nil {
					outputs[line] = out
					break
				}
				if time.Now().After(deadline) || !strings.Contains(out, "writer") {
					t.Fatalf("README command %q: %v\n%s", line, err, out)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
	}
	if lines < 6 {
		t.Fatalf("the README's section has %d commands", lines)
	}
	var listed, latest, checked bool
	for line, out := range outputs {
		t.Logf("%s\n%s", line, out)
		switch {
		case strings.Contains(line, "schema list"):
			listed = regexp.MustCompile(`orders-value\s+1,2`).MatchString(out)
		case strings.HasPrefix(line, "curl"):
			var v struct {
				Version int    `json:"version"`
				ID      int    `json:"id"`
				Schema  string `json:"schema"`
			}
			latest = json.Unmarshal([]byte(out), &v) == nil && v.Version == 2 && strings.Contains(v.Schema, `"note"`)
		case strings.Contains(line, "schema check"):
			checked = strings.TrimSpace(out) == "compatible"
		}
	}
	if !listed || !latest || !checked {
		t.Fatalf("schema list shows versions 1,2: %v; latest is version 2: %v; check says compatible: %v", listed, latest, checked)
	}

	out, err := run("echo plain | ./sluice produce orders")
	if err == nil || !strings.Contains(out, "INVALID_RECORD") {
		t.Fatalf("a plain record to orders: %v\n%s", err, out)
	}

	resp, err := http.Get("http://" + n.registryAddr + "/subjects/orders-value/versions/latest")
	if err != nil {
		t.Fatal(err)
	}
	var latestV struct {
		ID     int    `json:"id"`
		Schema string `json:"schema"`
	}
	err = json.NewDecoder(resp.Body).Decode(&latestV)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	schema, err := avro.Parse(latestV.Schema)
	if err != nil {
		t.Fatal(err)
	}
	body, err := avro.Marshal(schema, map[string]any{"id": int64(42), "note": "framed"})
	if err != nil {
		t.Fatal(err)
	}
	framed := binary.BigEndian.AppendUint32([]byte{0}, uint32(latestV.ID))
	framed = append(framed, body...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.client().ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: framed}).FirstErr(); err != nil {
		t.Fatalf("a record framed with schema id %d: %v", latestV.ID, err)
	}
}
