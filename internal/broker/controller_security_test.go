package broker

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/security/tlsconf/tlstest"
)

// securedNodes starts three combined nodes whose controller listener is secured by common
// (plus, per node, its own PEM keystore with subject CN=node-N), and returns them.
func securedNodes(t *testing.T, ca *tlstest.CA, common map[string]string) []*Broker {
	t.Helper()
	ctl := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	peers := make([]string, len(ctl))
	for i, a := range ctl {
		peers[i] = fmt.Sprintf("%d@%s", i+1, a)
	}
	cfgs := make([]Config, 3)
	for i := range cfgs {
		o := maps.Clone(common)
		o["ssl.keystore.type"], o["ssl.truststore.type"] = "PEM", "PEM"
		o["ssl.keystore.location"] = ca.Issue(fmt.Sprintf("node-%d", i+1), pkix.Name{CommonName: fmt.Sprintf("node-%d", i+1)}).PEMFile
		o["ssl.truststore.location"] = ca.CertFile
		cfgs[i] = Config{NodeID: int32(i + 1), DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", ControllerAddr: ctl[i],
			Peers: peers, Overrides: o, Logger: testLogger(t, i+1)}
	}
	return startNodes(t, cfgs, closeTogether)
}

// exerciseCluster creates a replicated topic through node 0 (forwarded to the controller over
// the secured controller listener unless node 0 is it) and produces to it.
func exerciseCluster(t *testing.T, nodes []*Broker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, n := range nodes {
		waitUntil(t, "three active brokers", 30*time.Second, func() bool { return activeBrokers(n) == 3 })
	}
	cl := mustClient(t, nodes[0].KafkaAddr())
	for _, n := range nodes {
		if c := mustClient(t, n.KafkaAddr()); c != nil {
			topic := fmt.Sprintf("via-%d", n.cfg.NodeID)
			if _, err := kadm.NewClient(c).CreateTopic(ctx, 3, 3, nil, topic); err != nil {
				t.Fatalf("create %s: %v", topic, err)
			}
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("x")}).FirstErr(); err != nil {
				t.Fatalf("produce to %s: %v", topic, err)
			}
		}
	}
}

// plainKafkaRefused: a PLAINTEXT Kafka client gets no ApiVersions answer from a TLS controller
// address.
func plainKafkaRefused(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := kmsg.NewPtrApiVersionsRequest()
	c.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("plain")).AppendRequest(nil, req, 1))
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	if n, err := c.Read(make([]byte, 64)); err == nil {
		t.Fatalf("a plaintext client read %d bytes from the TLS controller address", n)
	}
}

// TestSSLControllerListener: the controller listener on SSL with client certificates
// required: the quorum forms over TLS, brokers register and heartbeat over it, forwarded
// CreateTopics reach the controller, and a plaintext client is refused there. With the
// authorizer on, the brokers' certificate principals are super users.
func TestSSLControllerListener(t *testing.T) {
	if testing.Short() {
		t.Skip("three nodes")
	}
	ca := tlstest.NewCA(t)
	nodes := securedNodes(t, ca, map[string]string{
		"listener.security.protocol.map":                 "CONTROLLER:SSL,PLAINTEXT:PLAINTEXT",
		"listener.name.controller.ssl.client.auth":       "required",
		"authorizer.class.name":                          "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"allow.everyone.if.no.acl.found":                 "true",
		"super.users":                                    "User:CN=node-1;User:CN=node-2;User:CN=node-3",
		"listener.name.controller.ssl.enabled.protocols": "TLSv1.3",
	})
	exerciseCluster(t, nodes)
	plainKafkaRefused(t, nodes[1].cfg.ControllerAddr)
	// A TLS client certified by the CA reaches the controller listener's Kafka side.
	cl, err := kgo.NewClient(kgo.SeedBrokers(nodes[2].cfg.ControllerAddr),
		kgo.DialTLSConfig(&tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{ca.Issue("ops", pkix.Name{CommonName: "ops"}).TLSCertificate()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl); err != nil {
		t.Fatalf("ApiVersions over TLS to the controller address: %v", err)
	}
}

// TestSASLSSLControllerListener: the controller listener on SASL_SSL: brokers authenticate
// with sasl.mechanism.controller.protocol=PLAIN and the listener's JAAS username/password
// (their principal User:ctl, the only super user), Raft with the node certificates.
func TestSASLSSLControllerListener(t *testing.T) {
	if testing.Short() {
		t.Skip("three nodes")
	}
	ca := tlstest.NewCA(t)
	nodes := securedNodes(t, ca, map[string]string{
		"listener.security.protocol.map":     "CONTROLLER:SASL_SSL,PLAINTEXT:PLAINTEXT",
		"sasl.mechanism.controller.protocol": "PLAIN",
		"listener.name.controller.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
			`username="ctl" password="ctl-secret" user_ctl="ctl-secret";`,
		"authorizer.class.name":          "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"allow.everyone.if.no.acl.found": "true",
		"super.users":                    "User:ctl",
	})
	exerciseCluster(t, nodes)
	plainKafkaRefused(t, nodes[0].cfg.ControllerAddr)
}

// TestControllerListenerAuthorizationError: a broker whose principal on the controller
// listener (its certificate's subject) lacks ClusterAction never registers, and says so at
// ERROR with its principal; with that principal in super.users (and no ACL at all) it starts.
func TestControllerListenerAuthorizationError(t *testing.T) {
	ca := tlstest.NewCA(t)
	keystore := ca.Issue("node-1", pkix.Name{CommonName: "node-1", Organization: []string{"acme"}}).PEMFile
	logs := &lockedBuffer{}
	cfg := func(superUsers string) Config {
		return Config{NodeID: 1, DataDir: t.TempDir(), ControllerAddr: freeAddr(t), KafkaAddr: "127.0.0.1:0",
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
			Overrides: map[string]string{
				"listener.security.protocol.map": "CONTROLLER:SSL,PLAINTEXT:PLAINTEXT",
				"ssl.keystore.type":              "PEM",
				"ssl.keystore.location":          keystore,
				"ssl.truststore.type":            "PEM",
				"ssl.truststore.location":        ca.CertFile,
				"ssl.client.auth":                "required",
				"authorizer.class.name":          "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
				"super.users":                    superUsers,
			}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	b, err := Start(ctx, cfg("User:admin"))
	if err == nil {
		b.Close()
		t.Fatal("a broker without ClusterAction on the controller listener started")
	}
	ctx, cancel = context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err = Start(ctx, cfg("User:admin;User:CN=node-1,O=acme"))
	if err != nil {
		t.Fatalf("a broker whose certificate principal is a super user: %v", err)
	}
	b.Close()
	out := logs.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "CLUSTER_AUTHORIZATION_FAILED") ||
		!strings.Contains(out, "User:CN=node-1,O=acme") || !strings.Contains(out, "ClusterAction") {
		t.Fatalf("no ERROR naming the principal and ClusterAction; logs:\n%s", out)
	}
}

// TestSASLPlaintextControllerListenerRefused: SASL_PLAINTEXT on the controller listener would
// leave Raft unauthenticated; the node refuses to start.
func TestSASLPlaintextControllerListenerRefused(t *testing.T) {
	_, err := Start(context.Background(), Config{NodeID: 1, DataDir: t.TempDir(), ControllerAddr: freeAddr(t), KafkaAddr: "127.0.0.1:0",
		Overrides: map[string]string{"listener.security.protocol.map": "CONTROLLER:SASL_PLAINTEXT,PLAINTEXT:PLAINTEXT"}})
	if err == nil || !strings.Contains(err.Error(), "SASL_PLAINTEXT") {
		t.Fatalf("start: %v", err)
	}
}

// TestDedicatedControllersSSL: process.roles split over an SSL controller listener: two
// controller-only nodes and a combined one form the quorum over TLS, a broker-only node joins
// as an observer (its "observe" hello and the leader's polls run over TLS), registers, and
// DescribeQuorum asked of it lists the three voters and the observer.
func TestDedicatedControllersSSL(t *testing.T) {
	if testing.Short() {
		t.Skip("four nodes")
	}
	ca := tlstest.NewCA(t)
	ctl := []string{freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)}
	peers := []string{"1@" + ctl[0], "2@" + ctl[1], "3@" + ctl[2]}
	roles := []string{"controller", "controller", "broker,controller", "broker"}
	cfgs := make([]Config, len(roles))
	for i := range cfgs {
		cfgs[i] = Config{NodeID: int32(i + 1), DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0",
			ControllerAddr: ctl[i], Peers: peers, Logger: testLogger(t, i+1), Overrides: map[string]string{
				"process.roles":                  roles[i],
				"listener.security.protocol.map": "CONTROLLER:SSL,PLAINTEXT:PLAINTEXT",
				"ssl.client.auth":                "required",
				"ssl.keystore.type":              "PEM",
				"ssl.keystore.location":          ca.Issue(fmt.Sprintf("node-%d", i+1), pkix.Name{CommonName: fmt.Sprintf("node-%d", i+1)}).PEMFile,
				"ssl.truststore.type":            "PEM",
				"ssl.truststore.location":        ca.CertFile,
			}}
	}
	nodes := startNodes(t, cfgs, func(nodes []*Broker) {
		for i := len(nodes) - 1; i >= 0; i-- { // brokers first: a controlled shutdown needs the quorum
			if nodes[i] != nil {
				nodes[i].Close()
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	waitUntil(t, "two active brokers", 20*time.Second, func() bool { return activeBrokers(nodes[3]) == 2 })
	if _, err := kadm.NewClient(mustClient(t, nodes[3].KafkaAddr())).CreateTopic(ctx, 2, 2, nil, "on-brokers"); err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrDescribeQuorumRequest()
	tp := kmsg.NewDescribeQuorumRequestTopic()
	tp.Topic = "__cluster_metadata"
	tp.Partitions = []kmsg.DescribeQuorumRequestTopicPartition{kmsg.NewDescribeQuorumRequestTopicPartition()}
	req.Topics = append(req.Topics, tp)
	resp, err := req.RequestWith(ctx, mustClient(t, nodes[3].KafkaAddr()))
	if err != nil || resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("describe quorum: %+v %v", resp, err)
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 || len(p.CurrentVoters) != 3 || len(p.Observers) != 1 || p.Observers[0].ReplicaID != 4 {
		t.Fatalf("describe quorum: %+v", p)
	}
}
