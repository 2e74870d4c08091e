package broker

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/security/tlsconf/tlstest"
)

// lockedBuffer is a log destination safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSSLListenerMutualTLS: a broker with a PLAINTEXT and an SSL listener requiring client
// certificates (ssl.client.auth set for the SSL listener alone): franz-go produces and
// consumes over TLS with a client certificate, is refused without one, and the connection's
// principal is the certificate subject mapped by ssl.principal.mapping.rules.
func TestSSLListenerMutualTLS(t *testing.T) {
	ca := tlstest.NewCA(t)
	srv := ca.Issue("broker", pkix.Name{CommonName: "broker-1"})
	alice := ca.Issue("alice", pkix.Name{CommonName: "alice", OrganizationalUnit: []string{"eng"}, Organization: []string{"acme"}})
	logs := &lockedBuffer{}
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), ControllerAddr: freeAddr(t),
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Overrides: map[string]string{
			"listeners":                               "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
			"ssl.keystore.type":                       "PEM",
			"ssl.keystore.location":                   srv.PEMFile,
			"ssl.truststore.type":                     "PEM",
			"ssl.truststore.location":                 ca.CertFile,
			"listener.name.ssl.ssl.client.auth":       "required",
			"ssl.principal.mapping.rules":             "RULE:^CN=(.*?),OU=(.*?),O=(.*?)$/$1@$3/L,DEFAULT",
			"listener.name.ssl.ssl.enabled.protocols": "TLSv1.3",
		}}
	b := startNodes(t, []Config{cfg}, closeTogether)[0]
	sslAddr, _ := b.ListenerAddr("SSL")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	withCert := &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{alice.TLSCertificate()}}
	cl, err := kgo.NewClient(kgo.SeedBrokers(sslAddr), kgo.DialTLSConfig(withCert), kgo.DefaultProduceTopic("secure"),
		kgo.ConsumeTopics("secure"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "secure"); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	for got < 10 {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		got += fs.NumRecords()
	}
	if !strings.Contains(logs.String(), "principal=User:alice@acme") {
		t.Fatalf("no handshake logged with principal User:alice@acme:\n%s", tail(logs.String(), 20))
	}

	noCert, err := kgo.NewClient(kgo.SeedBrokers(sslAddr), kgo.DialTLSConfig(&tls.Config{RootCAs: ca.Pool()}),
		kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer noCert.Close()
	shortCtx, shortCancel := context.WithTimeout(ctx, 5*time.Second)
	defer shortCancel()
	if err := noCert.Ping(shortCtx); err == nil {
		t.Fatal("a client without a certificate was served under ssl.client.auth=required")
	}
	tls12, err := kgo.NewClient(kgo.SeedBrokers(sslAddr), kgo.RequestRetries(0), kgo.RetryTimeout(time.Second),
		kgo.DialTLSConfig(&tls.Config{RootCAs: ca.Pool(), Certificates: withCert.Certificates, MaxVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	defer tls12.Close()
	if err := tls12.Ping(shortCtx); err == nil {
		t.Fatal("a TLS 1.2 client was served although the listener enables TLSv1.3 only")
	}
	// The client gives up when it reads the alert; the broker counts the failure after sending
	// it, so the count may trail the client's error by a moment.
	ok, failed := handshakeCount(t, b, "ok"), handshakeCount(t, b, "failed")
	for deadline := time.Now().Add(5 * time.Second); (ok < 1 || failed < 2) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		ok, failed = handshakeCount(t, b, "ok"), handshakeCount(t, b, "failed")
	}
	if ok < 1 || failed < 2 {
		t.Fatalf("sluice_tls_handshakes_total on SSL: ok=%v failed=%v, want at least 1 and 2", ok, failed)
	}
	// The PLAINTEXT listener is unaffected.
	plainAddr, _ := b.ListenerAddr("PLAINTEXT")
	if err := mustClient(t, plainAddr).Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// handshakeCount is sluice_tls_handshakes_total{listener="SSL",result=result}.
func handshakeCount(t *testing.T, b *Broker, result string) float64 {
	t.Helper()
	families, err := b.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "sluice_tls_handshakes_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["listener"] == "SSL" && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestInterBrokerTLS: three brokers replicate over an SSL inter-broker listener with mutual
// TLS (the keystore is each broker's client certificate, checked against the truststore,
// host names verified), while clients use a PLAINTEXT listener.
func TestInterBrokerTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("three nodes")
	}
	ca := tlstest.NewCA(t)
	ctl := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	peers := make([]string, len(ctl))
	for i, a := range ctl {
		peers[i] = fmt.Sprintf("%d@%s", i+1, a)
	}
	cfgs := make([]Config, 3)
	for i := range cfgs {
		cert := ca.Issue(fmt.Sprintf("broker-%d", i+1), pkix.Name{CommonName: fmt.Sprintf("broker-%d", i+1)})
		cfgs[i] = Config{NodeID: int32(i + 1), DataDir: t.TempDir(), ControllerAddr: ctl[i], Peers: peers, Overrides: map[string]string{
			"listeners":                  "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
			"inter.broker.listener.name": "SSL",
			"ssl.keystore.type":          "PEM",
			"ssl.keystore.location":      cert.PEMFile,
			"ssl.truststore.type":        "PEM",
			"ssl.truststore.location":    ca.CertFile,
			"ssl.client.auth":            "required",
		}}
	}
	nodes := startNodes(t, cfgs, closeTogether)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	replicateThirty(ctx, t, nodes, "over-tls", nodes[2])
	// A transaction over the three partitions: its coordinator writes the commit markers
	// into partitions other brokers lead over the TLS inter-broker listener; a read_committed
	// consumer sees the transaction's records only once every marker is written.
	txp, err := kgo.NewClient(kgo.SeedBrokers(nodes[0].KafkaAddr()), kgo.TransactionalID("tls-txn"), kgo.DefaultProduceTopic("over-tls"),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer txp.Close()
	if err := txp.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if err := txp.ProduceSync(ctx, &kgo.Record{Value: []byte("txn-" + strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := txp.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(nodes[1].KafkaAddr()), kgo.ConsumeTopics("over-tls"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	committed := 0
	for committed < 30 {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("read_committed consumer saw %d of 30 transactional records: %v", committed, err)
		}
		for _, r := range fs.Records() {
			if strings.HasPrefix(string(r.Value), "txn-") {
				committed++
			}
		}
	}
}

// TestSASLSSLClientAuth: on a SASL_SSL listener the broker-wide ssl.client.auth=required does
// not ask for client certificates (KIP-684: only listener.name.<name>.ssl.client.auth does),
// while the SSL listener beside it requires them.
func TestSASLSSLClientAuth(t *testing.T) {
	ca := tlstest.NewCA(t)
	srv := ca.Issue("broker", pkix.Name{CommonName: "broker-1"})
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), ControllerAddr: freeAddr(t), Overrides: map[string]string{
		"listeners":               "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
		"ssl.keystore.type":       "PEM",
		"ssl.keystore.location":   srv.PEMFile,
		"ssl.truststore.type":     "PEM",
		"ssl.truststore.location": ca.CertFile,
		"ssl.client.auth":         "required",
		"listener.name.sasl_ssl.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
			`user_alice="alice-secret";`,
	}}
	b := startNodes(t, []Config{cfg}, closeTogether)[0]
	// TLS 1.3 clients finish their side before the server checks for a certificate: a refusal
	// shows as an alert on the first read, an acceptance as the server waiting for a request.
	refused := func(name string) bool {
		t.Helper()
		addr, _ := b.ListenerAddr(name)
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool()})
		if err != nil {
			return true
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		_, err = c.Read(make([]byte, 1))
		var ne interface{ Timeout() bool }
		return !(errors.As(err, &ne) && ne.Timeout())
	}
	if !refused("SSL") {
		t.Fatal("the SSL listener accepted a client without a certificate")
	}
	if refused("SASL_SSL") {
		t.Fatal("the SASL_SSL listener asked for a client certificate although only the broker-wide ssl.client.auth is set")
	}
}
