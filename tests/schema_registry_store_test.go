package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// srCall sends one request to the registry at addr and returns the status and body.
func srCall(t *testing.T, addr, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	cl := &http.Client{Timeout: 30 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// srRegister registers an Avro schema under subject at addr, retrying 5xx answers (a writer
// being elected) for up to 60 s, and returns its id.
func srRegister(t *testing.T, addr, subject, schema string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"schema": schema})
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, out := srCall(t, addr, http.MethodPost, "/subjects/"+subject+"/versions", string(body))
		if code == http.StatusOK {
			var r struct{ ID int }
			if err := json.Unmarshal([]byte(out), &r); err != nil || r.ID <= 0 {
				t.Fatalf("register %s: %q", subject, out)
			}
			return r.ID
		}
		if (code != 0 && code < 500) || time.Now().After(deadline) {
			t.Fatalf("register %s at %s: %d %s", subject, addr, code, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// srGet is a GET that must answer 200, its body decoded into out.
func srGet(t *testing.T, addr, path string, out any) {
	t.Helper()
	code, body := srCall(t, addr, http.MethodGet, path, "")
	if code != http.StatusOK {
		t.Fatalf("GET %s%s: %d %s", addr, path, code, body)
	}
	if err := json.Unmarshal([]byte(body), out); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

// TestSchemaRegistryRestart: one `sluice serve` process registers schemas over HTTP, is
// stopped and started again on its data directory, and serves the same schemas under the same
// ids and versions (read back from _schemas); a new schema then gets a new id.
func TestSchemaRegistryRestart(t *testing.T) {
	n := startNode(t)
	a := srRegister(t, n.registryAddr, "orders-value", `{"type":"record","name":"Order","fields":[{"name":"id","type":"long"}]}`)
	b := srRegister(t, n.registryAddr, "orders-value", `{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"note","type":"string","default":""}]}`)
	if a == b {
		t.Fatalf("two schemas share id %d", a)
	}
	// The three formats are served.
	typed := map[string]int{}
	for typ, schema := range map[string]string{"PROTOBUF": "syntax = \"proto3\";\nmessage M { string a = 1; }\n",
		"JSON": `{"type":"object","properties":{"a":{"type":"string"}}}`} {
		body, _ := json.Marshal(map[string]string{"schemaType": typ, "schema": schema})
		code, out := srCall(t, n.registryAddr, http.MethodPost, "/subjects/"+strings.ToLower(typ)+"-value/versions", string(body))
		var r struct{ ID int }
		if code != http.StatusOK || json.Unmarshal([]byte(out), &r) != nil {
			t.Fatalf("register %s: %d %s", typ, code, out)
		}
		typed[typ] = r.ID
	}
	n.stop()
	n.start()
	for typ, id := range typed {
		var got struct{ SchemaType string }
		srGet(t, n.registryAddr, fmt.Sprintf("/schemas/ids/%d", id), &got)
		if got.SchemaType != typ {
			t.Fatalf("after a restart, id %d has type %q, want %s", id, got.SchemaType, typ)
		}
	}
	var versions []int
	srGet(t, n.registryAddr, "/subjects/orders-value/versions", &versions)
	if fmt.Sprint(versions) != "[1 2]" {
		t.Fatalf("versions after a restart: %v", versions)
	}
	var v2 struct {
		ID      int
		Version int
	}
	srGet(t, n.registryAddr, "/subjects/orders-value/versions/latest", &v2)
	if v2.ID != b || v2.Version != 2 {
		t.Fatalf("latest after a restart: %+v, want id %d", v2, b)
	}
	if c := srRegister(t, n.registryAddr, "other", `"string"`); c == a || c == b {
		t.Fatalf("a new schema after a restart reused id %d", c)
	}
}

// schemasLeader is the leader of _schemas partition 0 as node id's metadata says.
func schemasLeader(t *testing.T, c *procCluster, id int32) int32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := kadm.NewClient(c.node(id).client()).Metadata(ctx, "_schemas")
	if err != nil {
		t.Fatal(err)
	}
	td, ok := md.Topics["_schemas"]
	if !ok || td.Err != nil || len(td.Partitions) == 0 {
		return -1
	}
	return td.Partitions[0].Leader
}

// TestSchemaRegistryClusterFailover: three `sluice serve` processes. A schema registered on one
// node is served by another; the leader of _schemas (the writer) is SIGKILLed and a surviving
// node registers more (forwarded to or served by the new writer); every id ever answered is
// distinct per distinct schema; the killed node comes back and serves everything.
func TestSchemaRegistryClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("three sluice processes")
	}
	t.Parallel()
	c := startProcCluster(t, 3)
	ids := map[string]int{} // schema → id
	record := func(schema string, id int) {
		for s, other := range ids {
			if s != schema && other == id {
				t.Fatalf("id %d answered for %s and for %s", id, s, schema)
			}
		}
		if prev, ok := ids[schema]; ok && prev != id {
			t.Fatalf("%s got id %d, earlier %d", schema, id, prev)
		}
		ids[schema] = id
	}
	schema := func(i int) string { return fmt.Sprintf(`{"type":"fixed","name":"F%d","size":%d}`, i, i+1) }
	for i := range 3 {
		record(schema(i), srRegister(t, c.node(1).registryAddr, fmt.Sprintf("s%d", i), schema(i)))
	}
	var got struct{ Schema string }
	srGet(t, c.node(2).registryAddr, fmt.Sprintf("/schemas/ids/%d", ids[schema(0)]), &got)
	if !strings.Contains(got.Schema, `"F0"`) {
		t.Fatalf("node 2 serves %q", got.Schema)
	}

	leader := schemasLeader(t, c, 1)
	if leader < 1 {
		t.Fatalf("_schemas has no leader (%d)", leader)
	}
	c.node(leader).kill()
	survivor := c.other(leader)
	for i := 3; i < 6; i++ {
		record(schema(i), srRegister(t, c.node(survivor).registryAddr, fmt.Sprintf("s%d", i), schema(i)))
	}
	// The same schema again under its subject: the same id.
	record(schema(1), srRegister(t, c.node(survivor).registryAddr, "s1", schema(1)))

	c.node(leader).restart()
	for id := range c.nodes {
		nd := c.node(int32(id + 1))
		for s, want := range ids {
			var got struct{ Schema string }
			srGet(t, nd.registryAddr, fmt.Sprintf("/schemas/ids/%d", want), &got)
			var gotF, wantF struct{ Name string }
			json.Unmarshal([]byte(got.Schema), &gotF)
			json.Unmarshal([]byte(s), &wantF)
			if gotF.Name != wantF.Name {
				t.Fatalf("node %d: id %d is %q, want %s", nd.id, want, got.Schema, s)
			}
		}
	}
}

// TestSchemaRegistryConfluentRecords: records in Confluent's exact _schemas key and value JSON,
// produced by a plain franz-go producer into a fresh broker's _schemas (as if copied from a
// Kafka cluster running Confluent's registry), are served as they are: ids, versions, deleted
// flags, configs and modes. Records of a key type this registry does not know are skipped.
func TestSchemaRegistryConfluentRecords(t *testing.T) {
	n := startNode(t)
	n.createTopic("_schemas", 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")})
	recs := [][2]string{
		{`{"keytype":"CONFIG","magic":0}`, `{"compatibilityLevel":"FULL"}`},
		{`{"keytype":"SCHEMA","subject":"pay-value","version":1,"magic":1}`, `{"subject":"pay-value","version":1,"id":21,"schema":"\"string\"","deleted":false}`},
		{`{"keytype":"SCHEMA","subject":"pay-value","version":2,"magic":1}`, `{"subject":"pay-value","version":2,"id":34,"schema":"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}","deleted":false}`},
		{`{"keytype":"SCHEMA","subject":"old","version":1,"magic":1}`, `{"subject":"old","version":1,"id":5,"schema":"\"bytes\"","deleted":true}`},
		{`{"keytype":"CONFIG","subject":"pay-value","magic":0}`, `{"compatibilityLevel":"NONE"}`},
		{`{"keytype":"MODE","subject":"pay-value","magic":0}`, `{"mode":"READONLY"}`},
		{`{"keytype":"CONTEXT","tenant":".x","magic":0}`, `{}`},
		{`{"keytype":"NOOP","magic":0}`, ``},
	}
	cl := n.client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, r := range recs {
		rec := &kgo.Record{Topic: "_schemas", Key: []byte(r[0])}
		if r[1] != "" {
			rec.Value = []byte(r[1])
		}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var byID struct{ Schema string }
	srGet(t, n.registryAddr, "/schemas/ids/34", &byID)
	if !strings.Contains(byID.Schema, `"enum"`) {
		t.Fatalf("id 34: %q", byID.Schema)
	}
	var v1 struct {
		ID      int
		Version int
		Subject string
	}
	srGet(t, n.registryAddr, "/subjects/pay-value/versions/1", &v1)
	if v1.ID != 21 || v1.Version != 1 || v1.Subject != "pay-value" {
		t.Fatalf("pay-value v1: %+v", v1)
	}
	var subjects []string
	srGet(t, n.registryAddr, "/subjects", &subjects)
	if fmt.Sprint(subjects) != "[pay-value]" {
		t.Fatalf("subjects: %v (the soft-deleted one must not show)", subjects)
	}
	srGet(t, n.registryAddr, "/subjects?deleted=true", &subjects)
	if fmt.Sprint(subjects) != "[old pay-value]" {
		t.Fatalf("subjects with deleted: %v", subjects)
	}
	var cfg struct{ CompatibilityLevel string }
	srGet(t, n.registryAddr, "/config", &cfg)
	if cfg.CompatibilityLevel != "FULL" {
		t.Fatalf("global config: %+v", cfg)
	}
	srGet(t, n.registryAddr, "/config/pay-value", &cfg)
	if cfg.CompatibilityLevel != "NONE" {
		t.Fatalf("subject config: %+v", cfg)
	}
	var mode struct{ Mode string }
	srGet(t, n.registryAddr, "/mode/pay-value", &mode)
	if mode.Mode != "READONLY" {
		t.Fatalf("subject mode: %+v", mode)
	}
	// A new schema registered now gets an id above every id in the log.
	if id := srRegister(t, n.registryAddr, "fresh", `"float"`); id <= 34 {
		t.Fatalf("new id %d, the log already holds 34", id)
	}
}
