package tests

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSchemaRegistryClusterSecure: three processes whose inter-broker listener is SASL_SSL
// (SCRAM-SHA-512 as the super user broker) with the ACL authorizer on, and whose HTTP listener
// (so the registry's) is HTTPS with basic authentication. Each node's store reads _schemas
// through the inter-broker listener with the broker's credentials; a registration sent to a node
// that is not the writer is forwarded over HTTPS with the caller's credentials; every node
// serves it; a caller without credentials is refused; after the writer is SIGKILLed a survivor
// registers again.
func TestSchemaRegistryClusterSecure(t *testing.T) {
	if testing.Short() {
		t.Skip("three processes and a failover")
	}
	t.Parallel()
	ca := newTestCA(t)
	srv := ca.serverCert("broker", "/CN=broker")
	saslAddr := map[int32]string{}
	for id := int32(1); id <= 3; id++ {
		saslAddr[id] = freeHostAddr(t, fmt.Sprintf("127.0.0.%d", id))
	}
	common := []string{
		"--add-scram", "SCRAM-SHA-512=[name=broker,password=broker-secret]",
		"--override", "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
		"--override", "inter.broker.listener.name=SASL_SSL",
		"--override", "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
		"--override", "listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512",
		"--override", `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-secret";`,
		"--override", "ssl.keystore.type=PEM",
		"--override", "ssl.keystore.location=" + srv.PEMFile,
		"--override", "ssl.truststore.type=PEM",
		"--override", "ssl.truststore.location=" + ca.CertFile,
		"--override", "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		// ANONYMOUS: the harness's own PLAINTEXT probes; ops: the registry's user.
		"--override", "super.users=User:broker;User:ANONYMOUS;User:ops",
		"--override", "sluice.http.ssl.enabled=true",
		"--override", "listener.name.http.ssl.keystore.type=PEM",
		"--override", "listener.name.http.ssl.keystore.location=" + srv.PEMFile,
		"--override", "listener.name.http.ssl.truststore.type=PEM",
		"--override", "listener.name.http.ssl.truststore.location=" + ca.CertFile,
		"--override", "sluice.http.authentication.methods=basic",
		"--override", `listener.name.http.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_ops="ops-secret";`,
	}
	c := startProcClusterEach(t, 3, false, func(id int32) []string {
		return []string{"--override", "listeners=PLAINTEXT://{KAFKA_ADDR},SASL_SSL://" + saslAddr[id]}
	}, common...)

	caPEM, err := os.ReadFile(ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cl := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(cl.CloseIdleConnections)
	call := func(nd *procNode, method, path, body string, auth bool) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, "https://"+nd.registryAddr+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		if auth {
			req.SetBasicAuth("ops", "ops-secret")
		}
		resp, err := cl.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	register := func(nd *procNode, subject, schema string) int {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"schema": schema})
		deadline := time.Now().Add(60 * time.Second)
		for {
			code, out := call(nd, http.MethodPost, "/subjects/"+subject+"/versions", string(body), true)
			if code == http.StatusOK {
				var r struct{ ID int }
				json.Unmarshal([]byte(out), &r)
				return r.ID
			}
			if (code != 0 && code < 500) || time.Now().After(deadline) {
				t.Fatalf("register %s on node %d: %d %s", subject, nd.id, code, out)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	if code, _ := call(c.node(1), http.MethodGet, "/subjects", "", false); code != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d, want 401", code)
	}
	first := register(c.node(1), "secure-value", `"string"`) // creates _schemas
	leader := schemasLeader(t, c, 1)
	other := c.other(leader)
	second := register(c.node(other), "secure2-value", `"int"`) // forwarded unless other leads
	if first == second {
		t.Fatalf("two schemas got id %d", first)
	}
	for id := int32(1); id <= 3; id++ {
		code, out := call(c.node(id), http.MethodGet, fmt.Sprintf("/schemas/ids/%d", second), "", true)
		if code != http.StatusOK || !strings.Contains(out, `\"int\"`) {
			t.Fatalf("node %d: schema %d: %d %s", id, second, code, out)
		}
	}
	c.node(leader).kill()
	third := register(c.node(other), "secure3-value", `"long"`)
	if third == first || third == second {
		t.Fatalf("a new schema got id %d again", third)
	}
}
