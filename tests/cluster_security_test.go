package tests

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// TestClusterSASLSSL: three broker processes whose inter-broker listener is SASL_SSL (TLS with
// a test CA, SCRAM-SHA-512 as the bootstrap user broker): the replica fetchers authenticate to
// each other (every node counts SCRAM-SHA-512 successes on SASL_SSL, and no client uses that
// mechanism), partitions of replication factor 3 keep all three replicas in sync, a client on
// SASL_SSL (PLAIN) produces with acks=all, the leader is SIGKILLed, and every acknowledged
// record is read back once after the failover, over SASL_SSL.
func TestClusterSASLSSL(t *testing.T) {
	if testing.Short() {
		t.Skip("three processes and a failover")
	}
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
		"--override", "listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN",
		"--override", `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-secret";`,
		"--override", `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";`,
		"--override", "ssl.keystore.type=PEM",
		"--override", "ssl.keystore.location=" + srv.PEMFile,
		"--override", "ssl.truststore.type=PEM",
		"--override", "ssl.truststore.location=" + ca.CertFile,
	}
	c := startProcClusterEach(t, 3, false, func(id int32) []string {
		return []string{"--override", "listeners=PLAINTEXT://{KAFKA_ADDR},SASL_SSL://" + saslAddr[id]}
	}, common...)

	const topic = "secure-rf3"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	adm := kadm.NewClient(c.node(1).client())
	two := "2"
	if resp, err := adm.CreateTopic(ctx, 3, 3, map[string]*string{"min.insync.replicas": &two}, topic); err != nil || resp.Err != nil {
		t.Fatalf("create %s: %v %v", topic, err, resp.Err)
	}

	caPEM, err := os.ReadFile(ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	seeds := []string{saslAddr[1], saslAddr[2], saslAddr[3]}
	secure := func(opts ...kgo.Opt) *kgo.Client {
		t.Helper()
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...),
			kgo.DialTLSConfig(&tls.Config{RootCAs: pool}),
			kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism())}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	producer := secure(kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordRetries(100),
		kgo.RecordDeliveryTimeout(60*time.Second))
	acked := map[string]bool{}
	produce := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			v := fmt.Sprintf("record-%05d", i)
			if err := producer.ProduceSync(ctx, &kgo.Record{Key: []byte(strconv.Itoa(i % 3)), Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatalf("produce %s: %v", v, err)
			}
			acked[v] = true
		}
	}
	produce(0, 300)

	// All three replicas in sync: the followers fetched over SASL_SSL.
	deadline := time.Now().Add(30 * time.Second)
	for {
		md, err := metadataFrom(c.node(1), topic)
		inSync := err == nil && len(md.Topics[topic]) == 3
		if inSync {
			for _, p := range md.Topics[topic] {
				inSync = inSync && len(p.ISR) == 3
			}
		}
		if inSync {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("partitions of %s not fully in sync: %+v %v", topic, md, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	scram := regexp.MustCompile(`sluice_sasl_authentication_successes_total\{listener="SASL_SSL",mechanism="SCRAM-SHA-512"\} (\d+)`)
	for _, nd := range c.nodes {
		body := scrape(t, "http://"+nd.httpAddr+"/metrics")
		m := scram.FindStringSubmatch(body)
		if m == nil || m[1] == "0" {
			t.Errorf("node %d counted no inter-broker SCRAM-SHA-512 authentication on SASL_SSL", nd.id)
		}
	}

	// SIGKILL the leader of partition 0; the producer goes on through the others.
	leader := leaderOf(c, topic, 0, -1, 30*time.Second)
	c.node(leader).kill()
	if next := leaderOf(c, topic, 0, leader, 30*time.Second); next < 0 {
		t.Fatalf("no new leader for %s/0 after killing broker %d", topic, leader)
	}
	produce(300, 600)

	consumer := secure(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	seen := map[string]int{}
	for len(seen) < len(acked) && ctx.Err() == nil {
		fs := consumer.PollFetches(ctx)
		fs.EachError(func(_ string, _ int32, err error) { t.Logf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)]++ })
	}
	for v := range acked {
		if seen[v] != 1 {
			t.Errorf("acknowledged %s read %d times", v, seen[v])
		}
	}
	for v := range seen {
		if !acked[v] {
			t.Errorf("read %s, which was never acknowledged", v)
		}
	}
}

// scrape returns the body of a GET of url.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
