package tlsconf

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/sluicehq/sluice/internal/config"
)

// maxStoreBytes bounds a keystore or truststore file read.
const maxStoreBytes = 4 << 20

// material is the key and trust material built from Settings at one moment.
type material struct {
	cert  *tls.Certificate // nil without a keystore
	roots *x509.CertPool   // nil: the system's CAs
}

// files are the keystore and truststore paths the material is read from.
func (s *Settings) files() []string {
	var out []string
	if s.KeystoreLocation != "" {
		out = append(out, s.KeystoreLocation)
	}
	if s.TruststoreLocation != "" {
		out = append(out, s.TruststoreLocation)
	}
	return out
}

// checkTypes refuses what cannot be read: JKS stores and contradicting settings.
func (s *Settings) checkTypes() error {
	switch {
	case s.KeystoreKey != "" && s.KeystoreLocation != "":
		return fmt.Errorf("set %s or %s, not both", config.SslKeystoreKey, config.SslKeystoreLocation)
	case (s.KeystoreKey == "") != (s.KeystoreCertificateChain == ""):
		return fmt.Errorf("%s and %s go together", config.SslKeystoreKey, config.SslKeystoreCertificateChain)
	case s.KeystoreKey != "" && s.KeystoreType != "PEM":
		return fmt.Errorf("%s needs %s=PEM", config.SslKeystoreKey, config.SslKeystoreType)
	case s.KeystoreLocation != "" && s.KeystoreType == "JKS":
		return fmt.Errorf("%s %s: JKS keystores are not supported; convert it to PKCS12 (keytool -importkeystore -deststoretype PKCS12) and set %s=PKCS12",
			config.SslKeystoreLocation, s.KeystoreLocation, config.SslKeystoreType)
	case s.TruststoreCertificates != "" && s.TruststoreLocation != "":
		return fmt.Errorf("set %s or %s, not both", config.SslTruststoreCertificates, config.SslTruststoreLocation)
	case s.TruststoreCertificates != "" && s.TruststoreType != "PEM":
		return fmt.Errorf("%s needs %s=PEM", config.SslTruststoreCertificates, config.SslTruststoreType)
	case s.TruststoreLocation != "" && s.TruststoreType == "JKS":
		return fmt.Errorf("%s %s: JKS truststores are not supported; convert it to PKCS12 (keytool -importkeystore -deststoretype PKCS12) and set %s=PKCS12",
			config.SslTruststoreLocation, s.TruststoreLocation, config.SslTruststoreType)
	}
	return nil
}

// contents are the files' bytes, in files() order.
type contents [][]byte

func readFiles(paths []string) (contents, error) {
	out := make(contents, len(paths))
	for i, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		st, err := f.Stat()
		if err == nil && st.Size() > maxStoreBytes {
			err = fmt.Errorf("%s is %d bytes, more than a keystore should be", p, st.Size())
		}
		if err == nil {
			out[i], err = readAll(f)
		}
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func readAll(f *os.File) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, maxStoreBytes+1))
	if err == nil && len(data) > maxStoreBytes {
		err = fmt.Errorf("%s grew past %d bytes", f.Name(), maxStoreBytes)
	}
	return data, err
}

// build parses the material from the settings and the files' contents (files() order).
func (s *Settings) build(data contents) (*material, error) {
	m := &material{}
	next := 0
	var err error
	switch {
	case s.KeystoreKey != "":
		m.cert, err = pemKeyPair([]byte(s.KeystoreCertificateChain), []byte(s.KeystoreKey))
	case s.KeystoreLocation != "":
		file := data[next]
		next++
		if s.KeystoreType == "PEM" {
			m.cert, err = pemKeyPair(file, file)
		} else {
			m.cert, err = pkcs12KeyPair(file, s.KeystorePassword, s.KeyPassword)
		}
		if err != nil {
			err = fmt.Errorf("%s %s: %w", config.SslKeystoreLocation, s.KeystoreLocation, err)
		}
	}
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	switch {
	case s.TruststoreCertificates != "":
		certs, err = pemCertificates([]byte(s.TruststoreCertificates))
	case s.TruststoreLocation != "":
		if s.TruststoreType == "PEM" {
			certs, err = pemCertificates(data[next])
		} else {
			certs, err = pkcs12Certificates(data[next], s.TruststorePassword)
		}
		if err != nil {
			err = fmt.Errorf("%s %s: %w", config.SslTruststoreLocation, s.TruststoreLocation, err)
		}
	}
	if err != nil {
		return nil, err
	}
	if certs != nil {
		m.roots = x509.NewCertPool()
		for _, c := range certs {
			m.roots.AddCert(c)
		}
	}
	return m, nil
}

// pemBlockRE finds PEM blocks even when a properties file joined their lines (inline values
// continued with backslashes lose their newlines, which Kafka's PEM reader tolerates too).
var pemBlockRE = regexp.MustCompile(`-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s\\]*?)-----END ([A-Z0-9 ]+)-----`)

// pemBlocks decodes every PEM block of data, tolerating missing line breaks.
func pemBlocks(data []byte) ([]*pem.Block, error) {
	var out []*pem.Block
	for _, m := range pemBlockRE.FindAllSubmatch(data, -1) {
		if string(m[1]) != string(m[3]) {
			return nil, fmt.Errorf("PEM block BEGIN %s ends with END %s", m[1], m[3])
		}
		body := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\n' || r == '\r' || r == '\t' || r == '\\' {
				return -1
			}
			return r
		}, string(m[2]))
		var b strings.Builder
		b.WriteString("-----BEGIN " + string(m[1]) + "-----\n")
		for len(body) > 64 {
			b.WriteString(body[:64] + "\n")
			body = body[64:]
		}
		b.WriteString(body + "\n-----END " + string(m[1]) + "-----\n")
		block, _ := pem.Decode([]byte(b.String()))
		if block == nil {
			return nil, fmt.Errorf("PEM block %s does not decode", m[1])
		}
		out = append(out, block)
	}
	return out, nil
}

func pemCertificates(data []byte) ([]*x509.Certificate, error) {
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, b := range blocks {
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return out, nil
}

// pemKeyPair reads a certificate chain (first the leaf) from certData and one private key
// from keyData (they may be the same file).
func pemKeyPair(certData, keyData []byte) (*tls.Certificate, error) {
	chain, err := pemCertificates(certData)
	if err != nil {
		return nil, err
	}
	blocks, err := pemBlocks(keyData)
	if err != nil {
		return nil, err
	}
	var key crypto.PrivateKey
	for _, b := range blocks {
		switch b.Type {
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the private key is encrypted; Sluice reads unencrypted PEM keys only (or use a PKCS12 keystore)")
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		break
	}
	if key == nil {
		return nil, errors.New("no PEM private key found")
	}
	return keyPair(key, chain)
}

// keyPair checks that key belongs to the chain's leaf.
func keyPair(key crypto.PrivateKey, chain []*x509.Certificate) (*tls.Certificate, error) {
	type publicKeyer interface{ Public() crypto.PublicKey }
	pk, ok := key.(publicKeyer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", key)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
	default:
		return nil, fmt.Errorf("unsupported private key type %T", key)
	}
	if eq, ok := pk.Public().(equaler); !ok || !eq.Equal(chain[0].PublicKey) {
		return nil, errors.New("the private key does not match the first certificate")
	}
	c := &tls.Certificate{PrivateKey: key, Leaf: chain[0]}
	for _, x := range chain {
		c.Certificate = append(c.Certificate, x.Raw)
	}
	return c, nil
}

// pkcs12KeyPair reads a PKCS#12 keystore: one key and its chain. The store's password
// protects both unless ssl.key.password gives the key's own.
func pkcs12KeyPair(data []byte, storePassword, keyPassword string) (*tls.Certificate, error) {
	key, leaf, cas, err := pkcs12.DecodeChain(data, storePassword)
	if err != nil && keyPassword != "" && keyPassword != storePassword {
		key, leaf, cas, err = pkcs12.DecodeChain(data, keyPassword)
	}
	if err != nil {
		return nil, fmt.Errorf("PKCS12: %w", err)
	}
	return keyPair(key, append([]*x509.Certificate{leaf}, cas...))
}

// pkcs12Certificates reads a PKCS#12 truststore: Java's trusted-certificate entries (as
// keytool -importcert writes them), else the certificates of a store that also holds a key.
// Certificates without Java's trust attribute in a store without keys (openssl 3.0's
// "pkcs12 -export -nokeys") are refused, as Java ignores them.
func pkcs12Certificates(data []byte, password string) ([]*x509.Certificate, error) {
	certs, err := pkcs12.DecodeTrustStore(data, password)
	if err == nil && len(certs) > 0 {
		return certs, nil
	}
	blocks, perr := pkcs12.ToPEM(data, password)
	if perr != nil {
		if err != nil && strings.Contains(err.Error(), "not marked as trusted") {
			return nil, fmt.Errorf("PKCS12: its certificates are not marked trusted (Java's trusted-certificate attribute, "+
				"which keytool -importcert and openssl 3.2+ pkcs12 -export -jdktrust anyExtendedKeyUsage set; Java ignores "+
				"unmarked ones too): make it with keytool, or use a PEM truststore: %w", err)
		}
		if err == nil {
			err = perr
		}
		return nil, fmt.Errorf("PKCS12: %w", err)
	}
	for _, b := range blocks {
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PKCS12 certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("PKCS12: no certificate found")
	}
	return certs, nil
}
