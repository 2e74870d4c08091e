package tlsconf

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

// FuzzPEMStore feeds arbitrary bytes to the PEM keystore and truststore readers (files on
// disk and inline config values): errors, never panics.
func FuzzPEMStore(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg-----END PRIVATE KEY-----"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n\\ AAAA \\\n-----END PRIVATE KEY-----"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pemCertificates(data)
		pemKeyPair(data, data)
		s := Settings{KeystoreType: "PEM", TruststoreType: "PEM", KeystoreKey: string(data), KeystoreCertificateChain: string(data),
			TruststoreCertificates: string(data)}
		s.build(nil)
	})
}

// FuzzSubjectDN formats arbitrary subject encodings (a peer certificate's raw subject).
func FuzzSubjectDN(f *testing.F) {
	seed, _ := asn1.Marshal(pkix.RDNSequence{
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "alice"}},
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 11}, Value: " #eng,+"}, {Type: asn1.ObjectIdentifier{1, 2, 3}, Value: 7}},
	})
	f.Add(seed)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		dn, err := SubjectDN(&x509.Certificate{RawSubject: raw})
		if err == nil && len(raw) > 2 && dn == "" && raw[1] != 0 {
			// A non-empty sequence of RDNs prints at least one attribute.
			var seq []rawRDNSET
			if _, err := asn1.Unmarshal(raw, &seq); err == nil && len(seq) > 0 && len(seq[0]) > 0 {
				t.Fatalf("subject %x printed as an empty DN", raw)
			}
		}
	})
}
