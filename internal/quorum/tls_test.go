package quorum

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/security/tlsconf/tlstest"
)

// tlsFor is a controller address's TLS with cert as both server and client certificate,
// trusting ca. The server side asks for no client certificate (ssl.client.auth=none): the
// stream layer must still ask for one.
func tlsFor(ca *tlstest.CA, cert tlstest.Issued) *TLS {
	c := cert.TLSCertificate()
	return &TLS{
		Server: &tls.Config{Certificates: []tls.Certificate{c}, ClientCAs: ca.Pool(), ClientAuth: tls.NoClientCert, MinVersion: tls.VersionTLS12},
		Client: func(addr string) *tls.Config {
			host, _, _ := net.SplitHostPort(addr)
			return &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{c}, ServerName: host, MinVersion: tls.VersionTLS12}
		},
	}
}

// TestTLSControllerAddress: three voters whose controller addresses are TLS form a quorum,
// elect a leader and commit; the Kafka side of the address gets TLS connections with the
// client's certificate; Raft and hello streams are refused in plain TCP, over TLS without a
// client certificate and from a certificate another CA signed.
func TestTLSControllerAddress(t *testing.T) {
	ca := tlstest.NewCA(t)
	certs := []tlstest.Issued{
		ca.Issue("c1", pkix.Name{CommonName: "controller-1"}),
		ca.Issue("c2", pkix.Name{CommonName: "controller-2"}),
		ca.Issue("c3", pkix.Name{CommonName: "controller-3"}),
	}
	c := newClusterWith(t, 3, func(o *Options) {
		o.TLS = tlsFor(ca, certs[int(o.NodeID)-1])
	})
	leader := c.nodes[c.leader()]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := leader.Propose(ctx, nil); err != nil {
		t.Fatal(err)
	}
	c.converge(c.leader())

	addr := c.specs[0].addr
	// The membership exchange over TLS with the CA's certificate answers.
	if r, err := c.nodes[1].hello(ctx, addr, helloRequest{Op: "hello"}); err != nil || r.NodeID != 1 {
		t.Fatalf("hello over TLS: %+v, %v", r, err)
	}

	// A Kafka-protocol connection over TLS reaches the controller listener, certificate and all.
	ln := c.nodes[0].ControllerListener()
	defer ln.Close()
	alice := ca.Issue("alice", pkix.Name{CommonName: "alice"})
	kc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{alice.TLSCertificate()}, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	payload := []byte{0, 0, 0, 8, 0, 18, 0, 3, 0, 0, 0, 1}
	kc.Write(payload)
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	sc.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(sc, got); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("controller listener read %q, %v", got, err)
	}
	st := sc.(interface{ ConnectionState() tls.ConnectionState }).ConnectionState()
	if len(st.VerifiedChains) == 0 || st.PeerCertificates[0].Subject.CommonName != "alice" {
		t.Fatalf("controller listener's connection state has no verified alice certificate: %+v", st.PeerCertificates)
	}

	// Refused: Raft's magic in plain TCP (the TLS handshake fails), over TLS without a client
	// certificate, and with a certificate of another CA (the handshake fails).
	refused := func(name string, dial func() (net.Conn, error)) {
		t.Helper()
		conn, err := dial()
		if err != nil {
			return // refused at the handshake
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		conn.Write(raftMagic)
		if _, err := conn.Read(make([]byte, 1)); err == nil {
			t.Errorf("%s: the connection answered", name)
		}
	}
	refused("plain TCP", func() (net.Conn, error) { return net.Dial("tcp", addr) })
	refused("TLS without a certificate", func() (net.Conn, error) {
		return tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"})
	})
	other := tlstest.NewCA(t)
	rogue := other.Issue("rogue", pkix.Name{CommonName: "controller-9"})
	refused("another CA's certificate", func() (net.Conn, error) {
		return tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{rogue.TLSCertificate()}, ServerName: "127.0.0.1"})
	})
	// A node of the other CA cannot even run the membership exchange.
	q := &Quorum{opts: Options{TLS: tlsFor(other, rogue)}}
	if _, err := q.hello(ctx, addr, helloRequest{Op: "hello"}); err == nil {
		t.Fatal("hello with another CA's certificate answered")
	}
	// And one without TLS neither.
	if _, err := (&Quorum{}).hello(ctx, addr, helloRequest{Op: "hello"}); err == nil {
		t.Fatal("plain hello to a TLS controller address answered")
	}

	// Raft still works: a proposal commits after the refused attempts.
	if _, err := c.nodes[c.leader()].Propose(ctx, nil); err != nil {
		t.Fatal(err)
	}
	c.converge(c.leader())
}
