package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testCA is a throwaway certificate authority made with openssl for one test: its
// certificate and the certificates it signs live in a temporary directory.
type testCA struct {
	t   testing.TB
	dir string
	// CertFile is the CA's certificate (PEM): the truststore of clients and brokers.
	CertFile string
	keyFile  string
	serial   int
}

// certFiles are one signed certificate's files.
type certFiles struct {
	KeyFile  string // the private key (PEM, unencrypted PKCS#8)
	CertFile string // the certificate (PEM)
	// PEMFile is key, certificate and CA certificate in one file: a PEM keystore
	// (ssl.keystore.type=PEM, ssl.keystore.location), KIP-651.
	PEMFile string
}

func requireOpenSSL(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is needed (apt-get install openssl; scripts/install-test-deps.sh installs it)")
	}
}

// newTestCA makes a CA valid for a day with an EC P-256 key.
func newTestCA(t testing.TB) *testCA {
	t.Helper()
	requireOpenSSL(t)
	ca := &testCA{t: t, dir: t.TempDir()}
	ca.CertFile, ca.keyFile = filepath.Join(ca.dir, "ca.pem"), filepath.Join(ca.dir, "ca.key")
	ca.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", ca.keyFile, "-out", ca.CertFile, "-days", "1", "-subj", "/CN=Sluice Test CA",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	return ca
}

func (ca *testCA) openssl(args ...string) {
	ca.t.Helper()
	out, err := exec.Command("openssl", args...).CombinedOutput()
	if err != nil {
		ca.t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// serverCert issues a certificate for 127.0.0.1 (and 127.0.0.2-3, localhost) usable by a
// broker as server and as client (inter-broker traffic), with subject subject (e.g.
// "/CN=broker-1").
func (ca *testCA) serverCert(name, subject string) certFiles {
	return ca.issue(name, subject, "subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,DNS:localhost\n"+
		"extendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
}

// clientCert issues a client certificate with subject subject in openssl's order, most
// significant RDN first: "/O=acme/OU=eng/CN=alice" is the RFC 2253 DN "CN=alice,OU=eng,O=acme"
// that Kafka's principal mapping rules see.
func (ca *testCA) clientCert(name, subject string) certFiles {
	return ca.issue(name, subject, "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n")
}

func (ca *testCA) issue(name, subject, extensions string) certFiles {
	ca.t.Helper()
	ca.serial++
	f := certFiles{
		KeyFile:  filepath.Join(ca.dir, name+".key"),
		CertFile: filepath.Join(ca.dir, name+".crt"),
		PEMFile:  filepath.Join(ca.dir, name+".pem"),
	}
	csr, ext := filepath.Join(ca.dir, name+".csr"), filepath.Join(ca.dir, name+".ext")
	if err := os.WriteFile(ext, []byte(extensions), 0o600); err != nil {
		ca.t.Fatal(err)
	}
	ca.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", f.KeyFile, "-out", csr, "-subj", subject)
	ca.openssl("x509", "-req", "-in", csr, "-CA", ca.CertFile, "-CAkey", ca.keyFile,
		"-set_serial", fmt.Sprint(1000+ca.serial), "-days", "1", "-out", f.CertFile, "-extfile", ext)
	var pem []byte
	for _, p := range []string{f.KeyFile, f.CertFile, ca.CertFile} {
		b, err := os.ReadFile(p)
		if err != nil {
			ca.t.Fatal(err)
		}
		pem = append(pem, b...)
	}
	if err := os.WriteFile(f.PEMFile, pem, 0o600); err != nil {
		ca.t.Fatal(err)
	}
	return f
}

// pkcs12 bundles a certificate's key and chain into a PKCS#12 keystore protected by password
// (ssl.keystore.type=PKCS12). legacy uses the older RC2/3DES encryption some readers need.
func (ca *testCA) pkcs12(f certFiles, password string, legacy bool) string {
	ca.t.Helper()
	out := strings.TrimSuffix(f.PEMFile, ".pem") + ".p12"
	args := []string{"pkcs12", "-export", "-in", f.CertFile, "-inkey", f.KeyFile, "-certfile", ca.CertFile,
		"-out", out, "-passout", "pass:" + password}
	if legacy {
		args = append(args, "-legacy")
	}
	ca.openssl(args...)
	return out
}

// TestTestCA checks the CA helper itself: the issued chains verify against the CA.
func TestTestCA(t *testing.T) {
	ca := newTestCA(t)
	srv := ca.serverCert("broker", "/CN=broker-1")
	cli := ca.clientCert("alice", "/O=acme/OU=eng/CN=alice")
	for _, f := range []certFiles{srv, cli} {
		ca.openssl("verify", "-CAfile", ca.CertFile, f.CertFile)
	}
	out, err := exec.Command("openssl", "x509", "-in", cli.CertFile, "-noout", "-subject", "-nameopt", "RFC2253").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "CN=alice,OU=eng,O=acme") {
		t.Fatalf("client subject: %s %v", out, err)
	}
	ca.pkcs12(srv, "secret", false)
}
