package tests

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/testkit"
)

// TestClusterControllerListenerTLS: three processes whose controller address is SSL with
// client certificates required (each node its own certificate CN=node-N from one CA, the
// brokers' certificate principals super users under the StandardAuthorizer): the quorum
// forms and the brokers register over TLS; CreateTopics is forwarded to the controller over
// it; the active controller is SIGKILLed and a new one elected, and CreateTopics works again.
// A plaintext client and a certificate of another CA get nothing from the controller address;
// the killed node restarted with such a certificate cannot join (its Raft, membership and
// Kafka connections are refused), and with its own certificate again it rejoins.
func TestClusterControllerListenerTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("three processes and a failover")
	}
	ca := newTestCA(t)
	keystores := map[int32]string{}
	for id := int32(1); id <= 3; id++ {
		keystores[id] = ca.serverCert(fmt.Sprintf("node-%d", id), fmt.Sprintf("/CN=node-%d", id)).PEMFile
	}
	common := []string{
		"--override", "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SSL",
		"--override", "listener.name.controller.ssl.client.auth=required",
		"--override", "ssl.keystore.type=PEM",
		"--override", "ssl.truststore.type=PEM",
		"--override", "ssl.truststore.location=" + ca.CertFile,
		"--override", "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"--override", "allow.everyone.if.no.acl.found=true",
		"--override", "super.users=User:CN=node-1;User:CN=node-2;User:CN=node-3",
	}
	c := startProcClusterEach(t, 3, false, func(id int32) []string {
		return []string{"--override", "ssl.keystore.location=" + keystores[id]}
	}, common...)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	create := func(via int32, topic string) {
		t.Helper()
		resp, err := kadm.NewClient(c.node(via).client()).CreateTopic(ctx, 3, 3, nil, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			t.Fatalf("create %s through node %d: %v\n%s", topic, via, err, c.logTails(30))
		}
	}
	first := c.controller()
	create(c.other(first), "before-failover") // forwarded over the TLS controller listener

	// Nothing for a plaintext client or another CA's certificate.
	addr := c.node(first).controllerAddr
	if answered(t, func() (net.Conn, error) { return net.Dial("tcp", addr) }, apiVersionsFrame()) {
		t.Fatal("a plaintext client got an answer from the TLS controller address")
	}
	rogueCA := newTestCA(t)
	rogue := rogueCA.serverCert("rogue", "/CN=node-3")
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(ca.CertFile)
	pool.AppendCertsFromPEM(caPEM)
	rogueCert, err := tls.LoadX509KeyPair(rogue.CertFile, rogue.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if answered(t, func() (net.Conn, error) {
		return tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{rogueCert}, ServerName: "127.0.0.1"})
	}, apiVersionsFrame()) {
		t.Fatal("a certificate of another CA got an answer from the controller address")
	}

	// SIGKILL the active controller: the other two elect a new one over TLS.
	c.node(first).kill()
	c.waitFor("a new controller", 60*time.Second, func(v testkit.View) bool { return v.Controller != first })
	create(c.other(first), "after-failover")

	// The killed node with another CA's certificate cannot rejoin.
	nd := c.node(first)
	good := nd.extraArgs
	nd.extraArgs = slices.Clone(good)
	for i, a := range nd.extraArgs {
		if strings.HasPrefix(a, "ssl.keystore.location=") {
			nd.extraArgs[i] = "ssl.keystore.location=" + rogue.PEMFile
		}
	}
	if err := nd.launch(); err != nil {
		t.Fatal(err)
	}
	if err := nd.waitReady(15 * time.Second); err == nil {
		t.Fatalf("node %d with another CA's certificate became ready", first)
	}
	peer := c.node(c.other(first))
	refusedFrom := "127.0.0." + fmt.Sprint(first)
	if log, _ := os.ReadFile(peer.logPath); !strings.Contains(string(log), "TLS handshake failed") || !strings.Contains(string(log), refusedFrom) {
		t.Fatalf("node %d logged no refused handshake from %s\n%s", peer.id, refusedFrom, peer.logTail(40))
	}
	if v, err := peer.describe(); err != nil || v.Controller == first {
		t.Fatalf("node %d sees node %d with another CA's certificate as the controller: %+v %v", peer.id, first, v, err)
	}
	nd.kill()

	// With its own certificate it rejoins, and the cluster serves all three brokers again.
	nd.extraArgs = good
	nd.restart()
	c.waitFor("three unfenced brokers", 60*time.Second, func(v testkit.View) bool { return len(v.Active) == 3 })
	create(first, "after-rejoin")
}

// apiVersionsFrame is an ApiVersions v0 request.
func apiVersionsFrame() []byte {
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("probe")).AppendRequest(nil, kmsg.NewPtrApiVersionsRequest(), 1)
}

// answered reports whether a connection from dial that sends payload reads anything back
// within 10 s (a refused dial or handshake answers nothing).
func answered(t *testing.T, dial func() (net.Conn, error), payload []byte) bool {
	t.Helper()
	conn, err := dial()
	if err != nil {
		return false
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(payload); err != nil {
		return false
	}
	n, err := conn.Read(make([]byte, 64))
	return err == nil && n > 0
}
