package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/registry"
)

func schemaRecord(subject string, version, id int) registry.Record {
	return registry.Record{Key: registry.Key{KeyType: registry.KeySchema, Subject: &subject, Version: version},
		Value: &registry.SchemaValue{Subject: subject, Version: version, ID: id, Schema: `"string"`}}
}

// registryCall sends a request to node n's registry and decodes the JSON answer into out.
func registryCall(t *testing.T, n *Broker, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+n.SchemaRegistryAddr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	if resp.StatusCode != http.StatusOK {
		t.Logf("node %d: %s %s: %s %s", n.cfg.NodeID, method, path, resp.Status, data)
	}
	return resp.StatusCode
}

// register registers an Avro schema under subject through node n (which forwards to the
// writer), retrying while the writer is being elected, and returns its id.
func register(t *testing.T, n *Broker, subject, schema string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"schema": schema})
	deadline := time.Now().Add(60 * time.Second)
	for {
		var out struct{ ID int }
		if registryCall(t, n, http.MethodPost, "/subjects/"+subject+"/versions", string(body), &out) == http.StatusOK {
			return out.ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %d: registering under %s kept failing", n.cfg.NodeID, subject)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// schemaOf is the schema node n serves for id.
func schemaOf(t *testing.T, n *Broker, id int) string {
	t.Helper()
	var out struct{ Schema string }
	if code := registryCall(t, n, http.MethodGet, "/schemas/ids/"+strconv.Itoa(id), "", &out); code != http.StatusOK {
		t.Fatalf("node %d: GET /schemas/ids/%d: %d", n.cfg.NodeID, id, code)
	}
	return out.Schema
}

// writerNode is the node every node names as the writer.
func writerNode(t *testing.T, nodes []*Broker) *Broker {
	t.Helper()
	var writer *Broker
	waitUntil(t, "every node to agree on the writer", 30*time.Second, func() bool {
		writer = nil
		for _, n := range nodes {
			url, self, ok := n.schemas.store.Writer()
			if !ok {
				return false
			}
			if self {
				writer = n
			}
			if self && url != "http://"+n.SchemaRegistryAddr() {
				t.Fatalf("node %d names itself at %s, listens on %s", n.cfg.NodeID, url, n.SchemaRegistryAddr())
			}
		}
		if writer == nil {
			return false
		}
		for _, n := range nodes {
			if url, _, _ := n.schemas.store.Writer(); url != "http://"+writer.SchemaRegistryAddr() {
				return false
			}
		}
		return true
	})
	return writer
}

// TestSchemaRegistryStoreCluster: three in-process nodes; the first write creates _schemas and
// the leader of its partition becomes the writer; every node applies the writes in order; the
// writer's registry URL is known everywhere and never shows in Metadata or DescribeCluster;
// when the writer stops, the new leader catches up (NOOP) and writes after what the old one
// wrote.
func TestSchemaRegistryStoreCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("three in-process brokers")
	}
	ctl := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	peers := make([]string, len(ctl))
	for i, a := range ctl {
		peers[i] = fmt.Sprintf("%d@%s", i+1, a)
	}
	cfgs := make([]Config, 3)
	for i := range cfgs {
		cfgs[i] = Config{NodeID: int32(i + 1), DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", ControllerAddr: ctl[i],
			Peers: peers, SchemaRegistryAddr: "127.0.0.1:0"}
	}
	nodes := startNodes(t, cfgs, closeTogether)
	waitUntil(t, "3 active brokers", 30*time.Second, func() bool { return activeBrokers(nodes[0]) == 3 })

	first := register(t, nodes[0], "a", `"string"`) // creates _schemas, forwarded to its leader
	writer := writerNode(t, nodes)
	for _, n := range nodes {
		if got := schemaOf(t, n, first); got != `"string"` {
			t.Fatalf("node %d: schema %d is %q", n.cfg.NodeID, first, got)
		}
	}
	if topic, ok := nodes[0].quorum.Image().Topic(registry.TopicName); !ok || len(topic.Partitions[0].Replicas) != 3 {
		t.Fatalf("_schemas: %+v", topic)
	}
	checkRegistryEndpointHidden(t, nodes)
	checkConcurrentSyncs(t, nodes, writer)

	// The writer stops: another replica leads, catches up and becomes the writer.
	var live []*Broker
	for _, n := range nodes {
		if n != writer {
			live = append(live, n)
		}
	}
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	second := register(t, live[0], "b", `"int"`)
	if second == first {
		t.Fatalf("a new schema got id %d again", first)
	}
	newWriter := writerNode(t, live)
	for _, n := range live {
		if got := schemaOf(t, n, first); got != `"string"` {
			t.Fatalf("node %d: schema %d is %q", n.cfg.NodeID, first, got)
		}
		if got := schemaOf(t, n, second); got != `"int"` {
			t.Fatalf("node %d: schema %d is %q", n.cfg.NodeID, second, got)
		}
		if n == newWriter {
			continue
		}
		if err := n.schemas.store.Append(context.Background(), []registry.Record{schemaRecord("c", 1, 3)}); !errors.Is(err, registry.ErrNotWriter) {
			t.Fatalf("node %d, not the writer: Append = %v", n.cfg.NodeID, err)
		}
	}
}

// checkConcurrentSyncs: many concurrent Syncs on a node that is not the writer (which share
// ListOffsets requests) each return with the state applied up to the end the writer had before
// they were called.
func checkConcurrentSyncs(t *testing.T, nodes []*Broker, writer *Broker) {
	t.Helper()
	var reader *Broker
	for _, n := range nodes {
		if n != writer {
			reader = n
		}
	}
	p, ok := writer.Partitions().Partition(registry.TopicName, 0)
	if !ok {
		t.Fatal("the writer hosts no _schemas-0")
	}
	end := p.HighWatermark()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := make(chan error, 32)
	for range 32 {
		go func() {
			err := reader.schemas.store.Sync(ctx)
			if err == nil && reader.schemas.store.Applied() < end {
				err = fmt.Errorf("synced at %d, the end was %d", reader.schemas.store.Applied(), end)
			}
			errs <- err
		}()
	}
	for range 32 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// checkRegistryEndpointHidden: the registry endpoint in the registrations never shows in
// Metadata or DescribeCluster answers.
func checkRegistryEndpointHidden(t *testing.T, nodes []*Broker) {
	t.Helper()
	registryPorts := map[int32]bool{}
	for _, n := range nodes {
		_, port, _ := net.SplitHostPort(n.SchemaRegistryAddr())
		p, _ := strconv.Atoi(port)
		registryPorts[int32(p)] = true
	}
	cl := mustClient(t, nodes[0].KafkaAddr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	meta, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.Brokers) != 3 || len(dc.Brokers) != 3 {
		t.Fatalf("Metadata shows %d brokers, DescribeCluster %d", len(meta.Brokers), len(dc.Brokers))
	}
	for _, b := range meta.Brokers {
		if registryPorts[b.Port] {
			t.Fatalf("Metadata shows the registry endpoint: %+v", b)
		}
	}
	for _, b := range dc.Brokers {
		if registryPorts[b.Port] {
			t.Fatalf("DescribeCluster shows the registry endpoint: %+v", b)
		}
	}
}

// TestSchemaRegistryStoreRestart: a single node registers, restarts on the same data directory
// and serves the same schemas and ids, read again from _schemas; new schemas get new ids.
func TestSchemaRegistryStoreRestart(t *testing.T) {
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", ControllerAddr: freeAddr(t),
		SchemaRegistryAddr: "127.0.0.1:0"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { b.Close() }()
	one := register(t, b, "s", `"string"`)
	two := register(t, b, "s2", `"long"`)
	if two == one {
		t.Fatalf("two schemas got id %d", one)
	}
	if topic, ok := b.quorum.Image().Topic(registry.TopicName); !ok || len(topic.Partitions[0].Replicas) != 1 {
		t.Fatalf("_schemas: %+v", topic)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err = Start(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if got := schemaOf(t, b, one); got != `"string"` {
		t.Fatalf("after a restart, schema %d is %q", one, got)
	}
	if again := register(t, b, "t", `"string"`); again != one {
		t.Fatalf("the same schema under another subject got id %d, want %d", again, one)
	}
	if got := schemaOf(t, b, two); got != `"long"` {
		t.Fatalf("after a restart, schema %d is %q", two, got)
	}
	if three := register(t, b, "u", `"double"`); three == one || three == two {
		t.Fatalf("a new schema after a restart reused id %d", three)
	}
}
