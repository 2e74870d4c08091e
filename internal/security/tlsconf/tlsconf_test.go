package tlsconf

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"software.sslmate.com/src/go-pkcs12"
)

// testPKI is a CA and certificates it signed, made in Go for unit tests (tests/ uses openssl).
type testPKI struct {
	t      *testing.T
	dir    string
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	serial int64
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return &testPKI{t: t, dir: t.TempDir(), caCert: ca, caKey: key, serial: 1}
}

func (p *testPKI) issue(subject pkix.Name) (*x509.Certificate, *ecdsa.PrivateKey) {
	p.t.Helper()
	p.serial++
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.serial), Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		p.t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

// pemKeystore writes key and chain (leaf, CA) into one PEM file.
func (p *testPKI) pemKeystore(name string, c *x509.Certificate, key *ecdsa.PrivateKey) string {
	p.t.Helper()
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.caCert.Raw})...)
	return p.write(name, data)
}

func (p *testPKI) caPEM() string {
	return p.write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.caCert.Raw}))
}

func (p *testPKI) write(name string, data []byte) string {
	p.t.Helper()
	path := filepath.Join(p.dir, name)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		p.t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		p.t.Fatal(err)
	}
	return path
}

func defaults() Settings {
	return Settings{KeystoreType: "PEM", TruststoreType: "PEM", ClientAuth: "none",
		EnabledProtocols: []string{"TLSv1.2", "TLSv1.3"}, Protocol: "TLSv1.3", EndpointIdentificationAlgorithm: "https",
		PrincipalMappingRules: "DEFAULT"}
}

// handshake runs one TLS handshake between srv and a client with clientCfg and returns the
// principal the server derived and the certificate it served, or the first error.
func handshake(t *testing.T, srv *Server, clientCfg *tls.Config) (string, *x509.Certificate, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	errc := make(chan error, 1)
	var served *x509.Certificate // the server's certificate as the client saw it
	go func() {
		c, err := tls.Dial("tcp", ln.Addr().String(), clientCfg)
		if err == nil {
			served = c.ConnectionState().PeerCertificates[0]
			// TLS 1.3 clients finish before the server checks their certificate: read
			// until the server answers (its alert) or closes.
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = c.Read(make([]byte, 1))
			if err == io.EOF {
				err = nil
			}
			c.Close()
		}
		errc <- err
	}()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	sc := tls.Server(nc, srv.Config())
	sc.SetDeadline(time.Now().Add(5 * time.Second))
	serr := sc.Handshake()
	var principal string
	if serr == nil {
		principal, serr = srv.Principal(sc.ConnectionState())
	}
	sc.Close()
	cerr := <-errc
	if serr != nil {
		return "", nil, serr
	}
	return principal, served, cerr
}

func TestServerMutualTLSAndPrincipal(t *testing.T) {
	p := newPKI(t)
	srvCert, srvKey := p.issue(pkix.Name{CommonName: "broker"})
	cliCert, cliKey := p.issue(pkix.Name{CommonName: "alice", OrganizationalUnit: []string{"eng"}, Organization: []string{"acme"}})
	s := defaults()
	s.KeystoreLocation = p.pemKeystore("broker.pem", srvCert, srvKey)
	s.TruststoreLocation = p.caPEM()
	s.ClientAuth = "required"
	s.PrincipalMappingRules = "RULE:^CN=(.*?),OU=(.*?),O=(.*?)$/$1/L,DEFAULT"
	srv, err := NewServer(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.caCert)
	// Without a client certificate: refused.
	if _, _, err := handshake(t, srv, &tls.Config{RootCAs: roots, ServerName: "localhost"}); err == nil {
		t.Fatal("handshake without a client certificate succeeded under ssl.client.auth=required")
	}
	cli := tls.Certificate{Certificate: [][]byte{cliCert.Raw}, PrivateKey: cliKey}
	principal, _, err := handshake(t, srv, &tls.Config{RootCAs: roots, ServerName: "localhost", Certificates: []tls.Certificate{cli}})
	if err != nil {
		t.Fatal(err)
	}
	if principal != "User:alice" {
		t.Fatalf("principal %q, want User:alice", principal)
	}
	// Go's pkix.Name encodes O, OU, CN in that order: Java prints the reverse.
	if dn, _ := SubjectDN(cliCert); dn != "CN=alice,OU=eng,O=acme" {
		t.Fatalf("DN %q", dn)
	}
}

func TestServerWithoutClientCertIsAnonymous(t *testing.T) {
	p := newPKI(t)
	c, k := p.issue(pkix.Name{CommonName: "broker"})
	s := defaults()
	s.KeystoreLocation = p.pemKeystore("broker.pem", c, k)
	s.ClientAuth = "requested"
	srv, err := NewServer(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.caCert)
	principal, _, err := handshake(t, srv, &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil || principal != "" {
		t.Fatalf("principal %q, %v; want anonymous", principal, err)
	}
}

// TestReload: a keystore replaced on disk is served by the next handshake; a broken one keeps
// the previous certificate.
func TestReload(t *testing.T) {
	p := newPKI(t)
	c1, k1 := p.issue(pkix.Name{CommonName: "first"})
	s := defaults()
	s.KeystoreLocation = p.pemKeystore("broker.pem", c1, k1)
	metrics := NewMetrics(prometheus.NewRegistry())
	srv, err := NewServer(s, Options{Listener: "SSL", Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.caCert)
	client := &tls.Config{RootCAs: roots, ServerName: "localhost"}
	served := func() string {
		t.Helper()
		_, cert, err := handshake(t, srv, client)
		if err != nil {
			t.Fatal(err)
		}
		return cert.Subject.CommonName
	}
	if got := served(); got != "first" {
		t.Fatalf("served %q", got)
	}
	c2, k2 := p.issue(pkix.Name{CommonName: "second"})
	p.pemKeystore("broker.pem", c2, k2)
	if got := served(); got != "second" {
		t.Fatalf("after replacing the keystore served %q, want second", got)
	}
	p.write("broker.pem", []byte("not a keystore"))
	if got := served(); got != "second" {
		t.Fatalf("after a broken keystore served %q, want the previous (second)", got)
	}
	c3, k3 := p.issue(pkix.Name{CommonName: "third"})
	p.pemKeystore("broker.pem", c3, k3)
	if got := served(); got != "third" {
		t.Fatalf("after fixing the keystore served %q, want third", got)
	}
	ok, failed := testutil.ToFloat64(metrics.reloads.WithLabelValues("SSL", "ok")), testutil.ToFloat64(metrics.reloads.WithLabelValues("SSL", "failed"))
	if ok != 2 || failed != 1 {
		t.Fatalf("reloads ok=%v failed=%v, want 2 and 1", ok, failed)
	}
	if exp := testutil.ToFloat64(metrics.notAfter.WithLabelValues("SSL")); exp != float64(c3.NotAfter.Unix()) {
		t.Fatalf("expiry gauge %v, want %d (the third certificate's)", exp, c3.NotAfter.Unix())
	}
}

func TestPKCS12AndInline(t *testing.T) {
	p := newPKI(t)
	c, k := p.issue(pkix.Name{CommonName: "broker"})
	p12, err := pkcs12.Modern.Encode(k, c, []*x509.Certificate{p.caCert}, "secret")
	if err != nil {
		t.Fatal(err)
	}
	trust, err := pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{p.caCert}, "trust")
	if err != nil {
		t.Fatal(err)
	}
	s := defaults()
	s.KeystoreType, s.KeystoreLocation, s.KeystorePassword = "PKCS12", p.write("ks.p12", p12), "secret"
	s.TruststoreType, s.TruststoreLocation, s.TruststorePassword = "PKCS12", p.write("ts.p12", trust), "trust"
	if _, err := NewServer(s, Options{}); err != nil {
		t.Fatalf("PKCS12: %v", err)
	}
	s.KeystorePassword = "wrong"
	if _, err := NewServer(s, Options{}); err == nil {
		t.Fatal("PKCS12 with a wrong password loaded")
	}
	// Inline PEM with its line breaks lost, as a properties file continuation joins them.
	pemFile, _ := os.ReadFile(p.pemKeystore("broker.pem", c, k))
	blocks := strings.SplitAfter(string(pemFile), "-----END PRIVATE KEY-----\n")
	in := defaults()
	in.KeystoreKey = strings.ReplaceAll(blocks[0], "\n", "")
	in.KeystoreCertificateChain = blocks[1]
	in.TruststoreCertificates = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.caCert.Raw}))
	if _, err := NewServer(in, Options{}); err != nil {
		t.Fatalf("inline PEM: %v", err)
	}
}

func TestSettingsErrors(t *testing.T) {
	p := newPKI(t)
	c, k := p.issue(pkix.Name{CommonName: "broker"})
	ks := p.pemKeystore("broker.pem", c, k)
	tests := []struct {
		name, want string
		edit       func(*Settings)
	}{
		{"no keystore", "needs a certificate", func(s *Settings) { s.KeystoreLocation = "" }},
		{"JKS", "JKS keystores are not supported", func(s *Settings) { s.KeystoreType = "JKS" }},
		{"unknown cipher", `unknown cipher suite "TLS_NOPE"`, func(s *Settings) { s.CipherSuites = []string{"TLS_NOPE"} }},
		{"no version", "enables no version", func(s *Settings) { s.EnabledProtocols = []string{"TLSv1.3"}; s.Protocol = "TLSv1.2" }},
		{"bad rules", "ssl.principal.mapping.rules", func(s *Settings) { s.PrincipalMappingRules = "RULE:x" }},
		{"missing file", "no such file", func(s *Settings) { s.KeystoreLocation = filepath.Join(p.dir, "nope.pem") }},
		{"key mismatch", "does not match", func(s *Settings) {
			_, other := p.issue(pkix.Name{CommonName: "other"})
			kd, _ := x509.MarshalPKCS8PrivateKey(other)
			data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
			data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
			s.KeystoreLocation = p.write("mismatch.pem", data)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := defaults()
			s.KeystoreLocation = ks
			tt.edit(&s)
			_, err := NewServer(s, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := NewServer(func() Settings {
		s := defaults()
		s.KeystoreLocation = ks
		s.CipherSuites = []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}
		return s
	}(), Options{}); err != nil {
		t.Fatalf("known cipher suite refused: %v", err)
	}
}

// TestClientVerifiesServer: the inter-broker client checks the other broker's chain, and its
// name unless ssl.endpoint.identification.algorithm is empty.
func TestClientVerifiesServer(t *testing.T) {
	p := newPKI(t)
	c, k := p.issue(pkix.Name{CommonName: "broker"})
	s := defaults()
	s.KeystoreLocation = p.pemKeystore("broker.pem", c, k)
	s.TruststoreLocation = p.caPEM()
	srv, err := NewServer(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := NewClient(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := handshake(t, srv, cl.Config("127.0.0.1:9093")); err != nil {
		t.Fatalf("to a name in the certificate: %v", err)
	}
	if _, _, err := handshake(t, srv, cl.Config("other.example:9093")); err == nil {
		t.Fatal("https endpoint identification accepted a certificate without the host")
	}
	s.EndpointIdentificationAlgorithm = ""
	cl, _ = NewClient(s, Options{})
	if _, _, err := handshake(t, srv, cl.Config("other.example:9093")); err != nil {
		t.Fatalf("without endpoint identification: %v", err)
	}
	other := newPKI(t)
	s.TruststoreLocation = other.caPEM()
	cl, _ = NewClient(s, Options{})
	if _, _, err := handshake(t, srv, cl.Config("other.example:9093")); err == nil {
		t.Fatal("a certificate of another CA was accepted")
	}
}

// TestReloadSameStamp: a keystore rewritten with the same size and modification time (a file
// system's coarse timestamps make that happen when two writes come close together) is still
// noticed while its stamp is younger than racyWindow.
func TestReloadSameStamp(t *testing.T) {
	p := newPKI(t)
	c1, k1 := p.issue(pkix.Name{CommonName: "first"})
	s := defaults()
	path := p.pemKeystore("broker.pem", c1, k1)
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Room to pad the second keystore to this one's size (ECDSA signatures vary in length).
	p.write("broker.pem", append(first, bytes.Repeat([]byte("\n"), 64)...))
	s.KeystoreLocation = path
	srv, err := NewServer(s, Options{Listener: "SSL", Metrics: NewMetrics(prometheus.NewRegistry())})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.caCert)
	served := func() string {
		t.Helper()
		_, cert, err := handshake(t, srv, &tls.Config{RootCAs: roots, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		return cert.Subject.CommonName
	}
	if got := served(); got != "first" {
		t.Fatalf("served %q", got)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// A second keystore padded (PEM ignores text between blocks) to the first one's size and
	// stamped with its modification time: only the contents differ.
	c2, k2 := p.issue(pkix.Name{CommonName: "second"})
	p.pemKeystore("broker.pem", c2, k2)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) > before.Size() {
		t.Fatalf("second keystore is %d bytes, longer than the padded first (%d)", len(data), before.Size())
	}
	data = append(data, bytes.Repeat([]byte("\n"), int(before.Size())-len(data))...)
	p.write("broker.pem", data)
	if err := os.Chtimes(path, before.ModTime(), before.ModTime()); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Size() != before.Size() || !st.ModTime().Equal(before.ModTime()) {
		t.Fatalf("stamp %v/%d, want %v/%d", st.ModTime(), st.Size(), before.ModTime(), before.Size())
	}
	if got := served(); got != "second" {
		t.Fatalf("after a same-stamp rewrite served %q, want second", got)
	}
}
