// Package tlstest makes throwaway certificate authorities and certificates in Go for tests of
// TLS listeners (tests/ also makes them with openssl, as operators do).
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority valid for an hour; its files live in a test's temporary
// directory.
type CA struct {
	t      testing.TB
	Dir    string
	Cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	serial int64
	// CertFile is the CA certificate in PEM: a truststore (ssl.truststore.type=PEM).
	CertFile string
}

// NewCA makes a CA.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Sluice test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &CA{t: t, Dir: t.TempDir(), Cert: cert, key: key, serial: 1}
	ca.CertFile = ca.Write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return ca
}

// Issued is a certificate the CA signed.
type Issued struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// PEMFile is key, certificate and CA certificate in one file: a PEM keystore.
	PEMFile string
}

// TLSCertificate is the certificate and key for a tls.Config.
func (i Issued) TLSCertificate() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{i.Cert.Raw}, PrivateKey: i.Key, Leaf: i.Cert}
}

// Issue signs a certificate for subject, valid for 127.0.0.1 and localhost, for server and
// client authentication, and writes its PEM keystore as name.pem (replacing it atomically).
func (ca *CA) Issue(name string, subject pkix.Name) Issued {
	ca.t.Helper()
	ca.serial++
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		ca.t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(ca.serial), Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})...)
	return Issued{Cert: cert, Key: key, PEMFile: ca.Write(name+".pem", data)}
}

// Pool is a certificate pool of the CA alone.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Write writes data to name in the CA's directory through a rename, so a reader never sees
// half a file, and returns its path.
func (ca *CA) Write(name string, data []byte) string {
	ca.t.Helper()
	path := filepath.Join(ca.Dir, name)
	if err := os.WriteFile(path+".tmp", data, 0o600); err != nil {
		ca.t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		ca.t.Fatal(err)
	}
	return path
}
