package tests

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// tlsProperties are broker configs for a PLAINTEXT listener ({ADDR1}) and an SSL one
// ({ADDR2}) with keystore and truststore files.
func tlsProperties(keystoreType, keystore, truststoreType, truststore, extra string) string {
	return "listeners=PLAINTEXT://{ADDR1},SSL://{ADDR2}\n" +
		"ssl.keystore.type=" + keystoreType + "\nssl.keystore.location=" + keystore + "\n" +
		"ssl.truststore.type=" + truststoreType + "\nssl.truststore.location=" + truststore + "\n" + extra
}

func caPool(t *testing.T, ca *testCA) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CA certificate does not parse")
	}
	return pool
}

// franzOverTLS produces one record through addr with cfg and reads it back.
func franzOverTLS(t *testing.T, addr, topic string, cfg *tls.Config) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DialTLSConfig(cfg), kgo.DefaultProduceTopic(topic),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.RetryTimeout(5*time.Second))
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("franz-go-over-tls")}).FirstErr(); err != nil {
		return err
	}
	for {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return err
		}
		for _, r := range fs.Records() {
			if string(r.Value) == "franz-go-over-tls" {
				return nil
			}
		}
	}
}

type pythonResult struct {
	OK    bool   `json:"ok"`
	Value string `json:"value"`
	Error string `json:"error"`
}

func pythonTLS(t *testing.T, lib, addr, topic, caFile string, cert *certFiles) pythonResult {
	t.Helper()
	args := []string{"python/tls_clients.py", lib, addr, topic, caFile}
	if cert != nil {
		args = append(args, cert.CertFile, cert.KeyFile)
	}
	out := runClient(t, 90*time.Second, "", "/usr/bin/python3", args...)
	var r pythonResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%s: bad output %q: %v", lib, out, err)
	}
	return r
}

// TestTLSClients: a broker process with an SSL listener (PEM keystore and truststore made
// with openssl); franz-go, kcat, kafka-python and confluent-kafka each verify the broker's
// certificate against the CA, produce and consume over TLS.
func TestTLSClients(t *testing.T) {
	ca := newTestCA(t)
	broker := ca.serverCert("broker", "/CN=broker-1")
	n, addrs := startWithProperties(t, tlsProperties("PEM", broker.PEMFile, "PEM", ca.CertFile, ""))
	sslAddr := addrs[1]
	n.createTopic("tls-clients", 1, nil)
	if err := franzOverTLS(t, sslAddr, "tls-clients", &tls.Config{RootCAs: caPool(t, ca)}); err != nil {
		t.Fatalf("franz-go over TLS: %v", err)
	}
	requireKcat(t)
	kcatTLS := []string{"-b", sslAddr, "-X", "security.protocol=SSL", "-X", "ssl.ca.location=" + ca.CertFile}
	runClient(t, 30*time.Second, "kcat-over-tls\n", "kcat", append(kcatTLS, "-P", "-t", "tls-clients")...)
	out := runClient(t, 30*time.Second, "", "kcat", append(kcatTLS, "-C", "-t", "tls-clients", "-o", "beginning", "-e", "-q")...)
	if !strings.Contains(out, "kcat-over-tls") || !strings.Contains(out, "franz-go-over-tls") {
		t.Fatalf("kcat read %q over TLS", out)
	}
	for _, lib := range []string{"kafka-python", "confluent"} {
		module := map[string]string{"kafka-python": "kafka", "confluent": "confluent_kafka"}[lib]
		requirePython(t, module)
		if r := pythonTLS(t, lib, sslAddr, "tls-clients", ca.CertFile, nil); !r.OK || r.Value != lib+"-over-tls" {
			t.Fatalf("%s over TLS: %+v", lib, r)
		}
	}
	// A client that trusts another CA refuses the broker.
	other := newTestCA(t)
	if err := franzOverTLS(t, sslAddr, "tls-clients", &tls.Config{RootCAs: caPool(t, other)}); err == nil {
		t.Fatal("franz-go trusting another CA was served")
	}
}

// TestTLSMutualAndReload: an SSL listener with ssl.client.auth=required, a PKCS#12 keystore
// made with openssl and a PEM truststore (openssl 3.0 cannot mark a PKCS#12 truststore's
// certificates trusted the way Java requires, so Sluice, like Java, refuses its -nokeys
// stores): clients with a certificate are served and get the principal the mapping
// rules make of their subject (the broker's debug log shows it); clients without one are
// refused; a keystore replaced on disk is served to the next connection without a restart.
func TestTLSMutualAndReload(t *testing.T) {
	ca := newTestCA(t)
	broker := ca.serverCert("broker", "/CN=broker-1")
	keystore := ca.pkcs12(broker, "ks-secret", false)
	alice := ca.clientCert("alice", "/O=acme/OU=eng/CN=alice")
	n, addrs := startWithProperties(t, tlsProperties("PKCS12", keystore, "PEM", ca.CertFile,
		"ssl.keystore.password=ks-secret\n"+
			"listener.name.ssl.ssl.client.auth=required\n"+
			"ssl.principal.mapping.rules=RULE:^CN=([^,]*),OU=eng,O=acme$/$1/L,DEFAULT\n"))
	sslAddr := addrs[1]
	n.createTopic("mtls", 1, nil)
	aliceCert, err := tls.LoadX509KeyPair(alice.CertFile, alice.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	withCert := &tls.Config{RootCAs: caPool(t, ca), Certificates: []tls.Certificate{aliceCert}}
	if err := franzOverTLS(t, sslAddr, "mtls", withCert); err != nil {
		t.Fatalf("franz-go with a client certificate: %v", err)
	}
	if !n.loggedWithin("principal=User:alice", 5*time.Second) {
		t.Fatalf("the broker logged no handshake with principal User:alice")
	}
	if err := franzOverTLS(t, sslAddr, "mtls", &tls.Config{RootCAs: caPool(t, ca)}); err == nil {
		t.Fatal("franz-go without a client certificate was served")
	}
	requireKcat(t)
	runClient(t, 30*time.Second, "kcat-mtls\n", "kcat", "-b", sslAddr, "-X", "security.protocol=SSL", "-X", "ssl.ca.location="+ca.CertFile,
		"-X", "ssl.certificate.location="+alice.CertFile, "-X", "ssl.key.location="+alice.KeyFile, "-P", "-t", "mtls")
	for _, lib := range []string{"kafka-python", "confluent"} {
		module := map[string]string{"kafka-python": "kafka", "confluent": "confluent_kafka"}[lib]
		requirePython(t, module)
		if r := pythonTLS(t, lib, sslAddr, "mtls", ca.CertFile, &alice); !r.OK {
			t.Fatalf("%s with a client certificate: %+v", lib, r)
		}
		if r := pythonTLS(t, lib, sslAddr, "mtls", ca.CertFile, nil); r.OK {
			t.Fatalf("%s without a client certificate was served", lib)
		}
	}

	// Replace the keystore: the next connection gets the new certificate.
	servedCN := func() string {
		t.Helper()
		c, err := tls.Dial("tcp", sslAddr, withCert)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if cn := servedCN(); cn != "broker-1" {
		t.Fatalf("served %q", cn)
	}
	renewed := ca.pkcs12(ca.serverCert("broker-renewed", "/CN=broker-1-renewed"), "ks-secret", false)
	if err := os.Rename(renewed, keystore); err != nil {
		t.Fatal(err)
	}
	if cn := servedCN(); cn != "broker-1-renewed" {
		t.Fatalf("after replacing the keystore the broker served %q, want broker-1-renewed", cn)
	}
	if !n.loggedWithin("TLS keystore or truststore reloaded", 5*time.Second) {
		t.Fatal("no reload logged")
	}
}

// inlinePEM is a PEM file's contents as a properties value continued over lines with
// backslashes, as Kafka's documentation writes ssl.keystore.key and friends (KIP-651).
func inlinePEM(t *testing.T, paths ...string) string {
	t.Helper()
	var lines []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			lines = append(lines, "  "+l)
		}
	}
	return strings.Join(lines, " \\\n")
}

// TestTLSInlinePEM: a server.properties with the key, chain and trusted certificates inline
// (ssl.keystore.key, ssl.keystore.certificate.chain, ssl.truststore.certificates, each continued
// over lines with backslashes) serves TLS with them.
func TestTLSInlinePEM(t *testing.T) {
	ca := newTestCA(t)
	broker := ca.serverCert("broker", "/CN=broker-1")
	props := "listeners=PLAINTEXT://{ADDR1},SSL://{ADDR2}\n" +
		"ssl.keystore.type=PEM\nssl.truststore.type=PEM\n" +
		"ssl.keystore.key=" + inlinePEM(t, broker.KeyFile) + "\n" +
		"ssl.keystore.certificate.chain=" + inlinePEM(t, broker.CertFile, ca.CertFile) + "\n" +
		"ssl.truststore.certificates=" + inlinePEM(t, ca.CertFile) + "\n"
	n, addrs := startWithProperties(t, props)
	n.createTopic("inline-pem", 1, nil)
	if err := franzOverTLS(t, addrs[1], "inline-pem", &tls.Config{RootCAs: caPool(t, ca)}); err != nil {
		t.Fatalf("franz-go over TLS with inline PEM: %v", err)
	}
}
