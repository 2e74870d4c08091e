package cli

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/registry"
	"github.com/sluicehq/sluice/internal/registry/avro"
	"github.com/sluicehq/sluice/internal/registry/format"
	"github.com/sluicehq/sluice/internal/registry/jsonschema"
	"github.com/sluicehq/sluice/internal/registry/protobuf"
)

// startRegistry serves the registry service (one writer node over an in-memory log) on a real
// HTTP listener. tests/cli_schema_test.go runs the CLI against `sluice serve` too.
func startRegistry(t *testing.T) string {
	t.Helper()
	log := registry.NewMemLog()
	state := registry.NewState()
	node := log.Join(state)
	svc := registry.New(registry.Options{Log: node, State: state, ClusterID: "cli-test", Formats: map[format.SchemaType]format.Format{
		format.Avro: avro.New(), format.JSON: jsonschema.New(), format.Protobuf: protobuf.New()}})
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	node.SetURL(srv.URL)
	log.SetWriter(node)
	return srv.URL
}

// sluice runs the CLI with args against url and returns its output and exit code.
func sluice(t *testing.T, url string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(append(append([]string{"schema"}, args...), "--schema-registry", url), strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const orderV1 = `{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"id","type":"long"}]}`
const orderV2 = `{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"id","type":"long"},{"name":"note","type":"string","default":""}]}`
const orderBad = `{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"id","type":"string"}]}`

func TestSchemaCommands(t *testing.T) {
	url := startRegistry(t)
	must := func(want string, args ...string) string {
		t.Helper()
		out, errOut, code := sluice(t, url, "", args...)
		if code != 0 {
			t.Fatalf("sluice schema %v: exit %d: %s%s", args, code, out, errOut)
		}
		if !strings.Contains(out, want) {
			t.Fatalf("sluice schema %v printed %q, want %q in it", args, out, want)
		}
		return out
	}
	fails := func(want string, args ...string) {
		t.Helper()
		out, errOut, code := sluice(t, url, "", args...)
		if code == 0 {
			t.Fatalf("sluice schema %v succeeded: %s", args, out)
		}
		if !strings.Contains(out+errOut, want) {
			t.Fatalf("sluice schema %v said %q, want %q in it", args, out+errOut, want)
		}
	}

	v1, v2, bad := writeFile(t, "order.avsc", orderV1), writeFile(t, "order2.avsc", orderV2), writeFile(t, "bad.avsc", orderBad)
	must("subject orders-value version 1 id 1", "register", "orders-value", "--file", v1)
	must("subject orders-value version 1 id 1", "register", "orders-value", "--file", v1) // again: same version
	must("subject other-value version 1 id 1", "register", "other-value", "--file", v1)   // same schema, same id

	// check: compatible exits 0; incompatible prints Confluent's reasons and exits 1.
	must("compatible", "check", "orders-value", "--file", v2)
	out, _, code := sluice(t, url, "", "check", "orders-value", "--file", bad)
	if code != 1 || !strings.Contains(out, "incompatible") || !strings.Contains(out, "id") {
		t.Fatalf("check of an incompatible schema: exit %d, %q", code, out)
	}
	fails("error code 409", "register", "orders-value", "--file", bad)
	must("subject orders-value version 2 id 2", "register", "orders-value", "--file", v2)

	// get by subject and version, by id, schema only, json.
	must(`"name":"note"`, "get", "orders-value")
	must("version: 1", "get", "orders-value", "--version", "1")
	out = must("subject: orders-value version 1", "get", "--id", "1")
	if !strings.Contains(out, "subject: other-value version 1") || !strings.Contains(out, "type: AVRO") {
		t.Fatalf("get --id 1: %q", out)
	}
	out = must(`"fields"`, "get", "orders-value", "--version", "1", "--schema-only")
	if strings.Contains(out, "version:") {
		t.Fatalf("--schema-only printed more than the schema: %q", out)
	}
	var got schemaInfo
	if err := json.Unmarshal([]byte(must(`"id": 2`, "get", "orders-value", "--format", "json")), &got); err != nil || got.Version != 2 || got.SchemaType != "AVRO" {
		t.Fatalf("get --format json: %+v %v", got, err)
	}
	fails("error code 40401", "get", "nosuch-value")
	fails("error code 40402", "get", "orders-value", "--version", "9")
	fails("name a SUBJECT or pass --id", "get")

	// JSON Schema and Protobuf, with a reference, from standard input too.
	must("subject addr-value version 1 id 3", "register", "addr-value", "--file",
		writeFile(t, "addr.json", `{"type":"object","properties":{"street":{"type":"string"}}}`))
	must("subject common version 1 id 4", "register", "common", "--file",
		writeFile(t, "common.proto", "syntax = \"proto3\";\npackage acme;\nmessage Money { int64 cents = 1; }\n"))
	must("subject pay-value version 1 id 5", "register", "pay-value", "--reference", "common.proto=common:latest", "--file",
		writeFile(t, "pay.proto", "syntax = \"proto3\";\npackage acme;\nimport \"common.proto\";\nmessage Pay { Money amount = 1; }\n"))
	must("reference: common.proto=common:1", "get", "pay-value")
	out, errOut, code := sluice(t, url, `{"type":"string"}`, "register", "str-value", "--file", "-")
	if code != 0 || !strings.Contains(out, "version 1") {
		t.Fatalf("register from stdin: %d %s%s", code, out, errOut)
	}
	fails("--reference \"x\": want NAME=SUBJECT:VERSION", "register", "pay-value", "--file", v1, "--reference", "x")
	fails("--type \"XML\"", "register", "x-value", "--file", v1, "--type", "XML")
	fails("error code 42201", "register", "x-value", "--file", writeFile(t, "broken.avsc", `{"type":"recrd"}`))

	// list, prefix, json.
	out = must("orders-value  1,2", "list")
	for _, s := range []string{"addr-value", "common", "other-value", "pay-value", "str-value"} {
		if !strings.Contains(out, s) {
			t.Errorf("list is missing %s: %q", s, out)
		}
	}
	out = must("orders-value", "list", "--prefix", "or")
	if strings.Contains(out, "other-value") {
		t.Errorf("list --prefix or: %q", out)
	}

	// config and mode, global and per subject.
	must("BACKWARD", "config")
	must("orders-value: FULL", "config", "orders-value", "--set", "full")
	must("orders-value: FULL", "config", "orders-value")
	must("other-value: BACKWARD", "config", "other-value") // defaultToGlobal
	must("orders-value: FULL", "config", "orders-value", "--delete")
	must("orders-value: BACKWARD", "config", "orders-value")
	fails("error code 42203", "config", "--set", "SIDEWAYS")
	must("READWRITE", "mode")
	must("str-value: READONLY", "mode", "str-value", "--set", "READONLY")
	fails("error code 42205", "register", "str-value", "--file", v1)
	must("str-value: READWRITE", "mode", "str-value", "--set", "READWRITE")

	// delete: soft, then permanent; a referenced subject cannot go.
	must("soft-deleted orders-value versions 1", "delete", "orders-value", "--version", "1")
	fails("error code 40407", "delete", "orders-value", "--version", "2", "--permanent")
	must("soft-deleted orders-value versions 2", "delete", "orders-value")
	must("permanently deleted orders-value versions 1,2", "delete", "orders-value", "--permanent")
	fails("error code 40401", "get", "orders-value")
	fails("error code 42206", "delete", "common")

	// An unreachable registry names the flag to fix.
	_, errOut, code = sluice(t, "http://127.0.0.1:1", "", "list")
	if code == 0 || !strings.Contains(errOut, "--schema-registry") {
		t.Fatalf("unreachable registry: exit %d, %q", code, errOut)
	}
}
