package tests

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// nodeDir holds the Node.js client tests: package.json and package-lock.json pin the npm
// packages (node_modules is installed by npmCI, not committed).
const nodeDir = "node"

var npmMu sync.Mutex

// requireNode skips (or fails under CI) when Debian's Node.js is absent; with node present,
// the packages are installed with `npm ci` when node_modules is missing or older than the lock
// file, and the test fails if that cannot be done.
func requireNode(t *testing.T) {
	t.Helper()
	npmMu.Lock() // one npm ci at a time in tests/node
	defer npmMu.Unlock()
	requireTool(t, func() error { _, err := os.Stat("/usr/bin/node"); return err }, "Node.js (/usr/bin/node)")
	lock, err := os.Stat(filepath.Join(nodeDir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	// npm writes node_modules/.package-lock.json when it installs
	installed, err := os.Stat(filepath.Join(nodeDir, "node_modules", ".package-lock.json"))
	if err == nil && !installed.ModTime().Before(lock.ModTime()) {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("%s/node_modules needs installing and npm is missing (scripts/install-test-deps.sh installs it): %v", nodeDir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// --ignore-scripts: no package's install script runs (none is needed)
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = nodeDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in tests/%s: %v\n%s", nodeDir, err, tail(string(out), 40))
	}
}

// TestRegistryNodeKafkaJS: npm's @kafkajs/confluent-schema-registry with kafkajs against a real
// `sluice serve` (tests/node/registry.js). For Avro, JSON Schema and Protobuf, a chain of three
// schemas in three subjects, each referring to the one before (Avro named types, JSON Schema
// $refs to $id URLs, Protobuf imports), is registered through the library; the ids it gets
// are checked with getRegistryId, getLatestSchemaId and getRegistryIdBySchema; values encoded
// by the library are produced with kafkajs to topics validating schema ids (a value without
// one is refused with INVALID_RECORD), consumed by a kafkajs group consumer, decoded by a
// second registry client that learns the schemas and their references from the registry
// alone, and compared with what was sent. The Avro order then evolves: v2 (a field with a
// default) is registered as version 2, v3 (a field without one) is found incompatible by the
// compatibility endpoint and refused with 409, a record written with v2 is produced, and every
// record is read again with v2 as the library's reader schema. This test then checks from Go
// what the script reports: the subjects' latest versions and references through franz-go's sr
// client, and the schema ids in the records on the topics.
func TestRegistryNodeKafkaJS(t *testing.T) {
	requireNode(t)
	n := startNode(t)
	out := runClient(t, 90*time.Second, "", "/usr/bin/node", filepath.Join(nodeDir, "registry.js"), n.kafkaAddr, "http://"+n.registryAddr)
	checkNodeReport(t, out, n)
}

// TestRegistryNodeKafkaJSCluster: the same script against three `sluice serve` processes, its
// topics replicated three times, the producer's registry client talking to a node that is not
// the registry's writer (the leader of _schemas, which every write is forwarded to), and the
// consumer's registry client to the third node, which must catch up with _schemas to serve the
// schemas by id.
func TestRegistryNodeKafkaJSCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("three sluice processes")
	}
	requireNode(t)
	t.Parallel()
	c := startProcCluster(t, 3)
	// the first write creates _schemas; then its leader is the writer
	srRegister(t, c.node(1).registryAddr, "node-cluster-first", `{"type":"fixed","name":"First","size":1}`)
	var writer int32 = -1
	deadline := time.Now().Add(30 * time.Second)
	for writer < 1 {
		if time.Now().After(deadline) {
			t.Fatal("_schemas has no leader after 30 s")
		}
		if writer = schemasLeader(t, c, 1); writer < 1 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	producerNode := c.other(writer)
	consumerNode := c.other(writer, producerNode)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/node", filepath.Join(nodeDir, "registry.js"), c.bootstrap(),
		"http://"+c.node(producerNode).registryAddr, "http://"+c.node(consumerNode).registryAddr)
	cmd.Env = append(os.Environ(), "SLUICE_REPLICATION_FACTOR=3")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("registry.js (writer node %d, producer's registry on node %d, consumer's on node %d): %v\nstdout:\n%s\nstderr:\n%s",
			writer, producerNode, consumerNode, err, tail(stdout.String(), 40), tail(stderr.String(), 40))
	}
	checkNodeReport(t, stdout.String(), c.node(consumerNode).asNode())
	// the ten schemas registered (nine in the chains, Order v2) went through the writer
	if fwd := scrapeMetrics(t, c.node(producerNode).asNode())["sluice_schema_registry_forwarded_requests_total"]; fwd < 10 {
		t.Fatalf("node %d forwarded %v writes to the writer (node %d), want at least 10", producerNode, fwd, writer)
	}
}

// TestRegistryNodeKafkaJSSecure: the same script with kafkajs on a SASL_SSL listener
// (SCRAM-SHA-512, a certificate from the test's CA) and the registry clients over HTTPS with
// basic authentication (sluice.http.ssl.enabled, sluice.http.authentication.methods=basic,
// checked against the SCRAM user); a registry client without credentials is answered 401.
func TestRegistryNodeKafkaJSSecure(t *testing.T) {
	requireNode(t)
	ca := newTestCA(t)
	srv := ca.serverCert("broker", "/CN=localhost")
	caPEM, err := os.ReadFile(ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	httpsClient := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(httpsClient.CloseIdleConnections)
	// PLAINTEXT ({ADDR1}) is the harness's and checkNodeReport's; kafkajs uses SASL_SSL ({ADDR2})
	n, addrs := startWithPropertiesSetup(t, `
listeners=PLAINTEXT://{ADDR1},SASL_SSL://{ADDR2}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
ssl.keystore.type=PEM
ssl.keystore.location=`+srv.PEMFile+`
ssl.truststore.type=PEM
ssl.truststore.location=`+ca.CertFile+`
sluice.http.ssl.enabled=true
sluice.http.authentication.methods=basic
listener.name.http.ssl.keystore.type=PEM
listener.name.http.ssl.keystore.location=`+srv.PEMFile+`
listener.name.http.ssl.truststore.type=PEM
listener.name.http.ssl.truststore.location=`+ca.CertFile+`
`, func(n *node) {
		n.httpsClient = httpsClient
		n.registryAddr = freeAddr(t)
	}, "--add-scram", "SCRAM-SHA-512=[name=app,password=app-secret]")

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/node", filepath.Join(nodeDir, "registry.js"), addrs[1], "https://"+n.registryAddr)
	cmd.Env = append(os.Environ(), "SLUICE_CA_FILE="+ca.CertFile, "SLUICE_KAFKA_SASL=scram-sha-512:app:app-secret",
		"SLUICE_REGISTRY_AUTH=app:app-secret")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("registry.js: %v\nstdout:\n%s\nstderr:\n%s", err, tail(stdout.String(), 40), tail(stderr.String(), 40))
	}
	if !strings.Contains(stdout.String(), `"unauthenticatedRefused":true`) {
		t.Fatalf("registry.js did not check a client without credentials: %s", stdout.String())
	}
	// (sr.URLs replaces the http URL checkNodeReport starts with)
	checkNodeReport(t, stdout.String(), n, sr.URLs("https://"+n.registryAddr), sr.HTTPClient(httpsClient), sr.BasicAuth("app", "app-secret"))
}

// checkNodeReport checks what registry.js printed against n's registry and the records on its
// topics.
func checkNodeReport(t *testing.T, out string, n *node, srOpts ...sr.ClientOpt) {
	t.Helper()
	var report struct {
		OK      bool `json:"ok"`
		Formats map[string]struct {
			Subjects []string `json:"subjects"`
			IDs      []int    `json:"ids"`
			Evolved  int      `json:"evolved"` // Avro: the id of Order v2
			Records  int      `json:"records"`
		} `json:"formats"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil || !report.OK {
		t.Fatalf("registry.js printed %q (%v)", out, err)
	}

	cl, err := sr.NewClient(append([]sr.ClientOpt{sr.URLs("http://" + n.registryAddr)}, srOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topics := map[string]string{"AVRO": "node-avro-orders", "JSON": "node-json-customers", "PROTOBUF": "node-proto-orders"}
	types := map[string]sr.SchemaType{"AVRO": sr.TypeAvro, "JSON": sr.TypeJSON, "PROTOBUF": sr.TypeProtobuf}
	seen := map[int]bool{}
	for format, topic := range topics {
		f, ok := report.Formats[format]
		// the Avro order subject also has v2, and its topic a record written with it
		records := 3
		if format == "AVRO" {
			records = 4
		}
		if !ok || len(f.Subjects) != 3 || len(f.IDs) != 3 || f.Records != records {
			t.Fatalf("%s: registry.js reported %+v", format, f)
		}
		latestID, latestVersion := f.IDs[2], 1
		if format == "AVRO" {
			latestID, latestVersion = f.Evolved, 2
		}
		if format == "AVRO" && (f.Evolved <= f.IDs[2] || seen[f.Evolved]) {
			t.Fatalf("Order v2 has id %d, v1 %d", f.Evolved, f.IDs[2])
		}
		seen[f.Evolved] = f.Evolved != 0
		for i, subject := range f.Subjects {
			if seen[f.IDs[i]] {
				t.Fatalf("%s: id %d handed out twice", subject, f.IDs[i])
			}
			seen[f.IDs[i]] = true
			ss, err := cl.SchemaByVersion(ctx, subject, -1)
			if err != nil {
				t.Fatalf("latest version of %s: %v", subject, err)
			}
			wantID, wantVersion := f.IDs[i], 1
			if i == 2 {
				wantID, wantVersion = latestID, latestVersion
			}
			if ss.ID != wantID || ss.Version != wantVersion || ss.Type != types[format] {
				t.Fatalf("%s latest: id %d version %d type %v, want id %d version %d type %v (registering twice must add no version)",
					subject, ss.ID, ss.Version, ss.Type, wantID, wantVersion, types[format])
			}
			wantRefs := 0
			if i > 0 {
				wantRefs = 1
			}
			if len(ss.References) != wantRefs || (wantRefs == 1 && (ss.References[0].Subject != f.Subjects[i-1] || ss.References[0].Version != 1)) {
				t.Fatalf("%s references %+v, want %d (to %s version 1)", subject, ss.References, wantRefs, f.Subjects[max(i-1, 0)])
			}
		}
		// the records on the topic carry the last schema's id in Confluent's wire format (and
		// the Avro topic's last record Order v2's)
		c := n.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		var got int
		for got < records {
			fs := c.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				t.Fatalf("consume %s: %v", topic, err)
			}
			fs.EachRecord(func(r *kgo.Record) {
				got++
				want := f.IDs[2]
				if r.Offset == 3 {
					want = f.Evolved
				}
				if len(r.Value) < 6 || r.Value[0] != 0 || int(binary.BigEndian.Uint32(r.Value[1:5])) != want {
					t.Errorf("%s offset %d: value %x does not start with magic 0 and id %d", topic, r.Offset, r.Value[:min(len(r.Value), 6)], want)
				} else if format == "PROTOBUF" && r.Value[5] != 0x08 {
					// the library writes no message indexes (Confluent's would be 0x00 for
					// the first message): the message (its field 1, a varint) follows the id
					// at once, and schema id validation lets it pass (docs/schema-registry.md)
					t.Errorf("%s offset %d: byte 5 is %#x, want 0x08 (Order.id's tag)", topic, r.Offset, r.Value[5])
				}
			})
		}
		ends, err := n.admin().ListEndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		if end, _ := ends.Lookup(topic, 0); end.Err != nil || end.Offset != int64(records) {
			t.Fatalf("%s ends at %d (%v), want %d: the value without a schema id must have been refused", topic, end.Offset, end.Err, records)
		}
	}
	t.Logf("registry.js: %s", out)
}
