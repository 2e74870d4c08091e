package broker

import (
	"context"
	"errors"
	"fmt"
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

// appendOnWriter appends recs on whichever node is the writer, as the REST layer would after
// forwarding, and returns that node.
func appendOnWriter(t *testing.T, nodes []*Broker, recs ...registry.Record) *Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		for _, n := range nodes {
			if n == nil {
				continue
			}
			err := n.schemas.store.Append(ctx, recs)
			if err == nil {
				return n
			}
			if !errors.Is(err, registry.ErrNotWriter) {
				t.Logf("node %d: append: %v", n.cfg.NodeID, err)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no node accepted the append")
	return nil
}

// appliedSchemas is what node n's state holds: "subject/version=id" of every SCHEMA record, in
// order, after a Sync.
func appliedSchemas(t *testing.T, n *Broker) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.schemas.store.Sync(ctx); err != nil {
		t.Fatalf("node %d: sync: %v", n.cfg.NodeID, err)
	}
	_, recs := n.schemas.applier.snapshot()
	var out []string
	for _, r := range recs {
		if v, ok := r.Value.(*registry.SchemaValue); ok {
			out = append(out, fmt.Sprintf("%s/%d=%d", v.Subject, v.Version, v.ID))
		}
	}
	return out
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

	writer := appendOnWriter(t, nodes, schemaRecord("a", 1, 1))
	for _, n := range nodes {
		url, self, ok := n.schemas.store.Writer()
		if !ok || self != (n == writer) || url != "http://"+writer.SchemaRegistryAddr() {
			t.Fatalf("node %d: Writer() = %q %v %v, want http://%s", n.cfg.NodeID, url, self, ok, writer.SchemaRegistryAddr())
		}
		if got := appliedSchemas(t, n); strings.Join(got, ",") != "a/1=1" {
			t.Fatalf("node %d applied %v", n.cfg.NodeID, got)
		}
	}
	if topic, ok := nodes[0].quorum.Image().Topic(registry.TopicName); !ok || len(topic.Partitions[0].Replicas) != 3 {
		t.Fatalf("_schemas: %+v", topic)
	}
	checkRegistryEndpointHidden(t, nodes)

	// The writer stops: another replica leads and becomes the writer.
	for i, n := range nodes {
		if n == writer {
			if err := n.Close(); err != nil {
				t.Fatal(err)
			}
			nodes[i] = nil
		}
	}
	var live []*Broker
	for _, n := range nodes {
		if n != nil {
			live = append(live, n)
		}
	}
	second := appendOnWriter(t, live, schemaRecord("b", 1, 2))
	if second == writer {
		t.Fatal("the stopped node wrote")
	}
	for _, n := range live {
		if got := appliedSchemas(t, n); strings.Join(got, ",") != "a/1=1,b/1=2" {
			t.Fatalf("node %d applied %v", n.cfg.NodeID, got)
		}
	}
	for _, n := range live {
		if n == second {
			continue
		}
		if err := n.schemas.store.Append(context.Background(), []registry.Record{schemaRecord("c", 1, 3)}); !errors.Is(err, registry.ErrNotWriter) {
			t.Fatalf("node %d, not the writer: Append = %v", n.cfg.NodeID, err)
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

// TestSchemaRegistryStoreRestart: a single node writes, restarts on the same data directory
// and applies the same records again from _schemas; its listener answers Confluent's GET /.
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
	appendOnWriter(t, []*Broker{b}, schemaRecord("s", 1, 1), schemaRecord("s", 2, 2))
	if topic, ok := b.quorum.Image().Topic(registry.TopicName); !ok || len(topic.Partitions[0].Replicas) != 1 {
		t.Fatalf("_schemas: %+v", topic)
	}
	resp, err := http.Get("http://" + b.SchemaRegistryAddr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %s", resp.Status)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err = Start(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if got := appliedSchemas(t, b); strings.Join(got, ",") != "s/1=1,s/2=2" {
		t.Fatalf("after a restart: %v", got)
	}
	appendOnWriter(t, []*Broker{b}, schemaRecord("s", 3, 3))
	if got := appliedSchemas(t, b); strings.Join(got, ",") != "s/1=1,s/2=2,s/3=3" {
		t.Fatalf("after a restart and a write: %v", got)
	}
}
