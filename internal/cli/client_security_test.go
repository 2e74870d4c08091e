package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadClientProperties(t *testing.T) {
	path := filepath.Join(t.TempDir(), "client.properties")
	text := "# a comment\n! another\nsecurity.protocol=SASL_SSL\nsasl.mechanism : SCRAM-SHA-512\n" +
		"sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n" +
		"   username=\"alice\" password=\"p\\\"w\";\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	props, err := readClientProperties(path)
	if err != nil {
		t.Fatal(err)
	}
	if props["security.protocol"] != "SASL_SSL" || props["sasl.mechanism"] != "SCRAM-SHA-512" {
		t.Fatalf("props = %v", props)
	}
	jaas := jaasOptions(props["sasl.jaas.config"])
	if jaas["username"] != "alice" || jaas["password"] != `p"w` {
		t.Fatalf("jaas options = %v from %q", jaas, props["sasl.jaas.config"])
	}
	if opts, err := clientSecurityOpts(props); err != nil || len(opts) != 2 {
		t.Fatalf("opts: %d, %v", len(opts), err)
	}
}

func TestClientSecurityOptsErrors(t *testing.T) {
	for _, tc := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"security.protocol": "KERBEROS"}, "security.protocol"},
		{map[string]string{"ssl.keystore.password": "x"}, "unsupported client property"},
		{map[string]string{"security.protocol": "SASL_PLAINTEXT"}, "GSSAPI"},
		{map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN"}, "username"},
		{map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER"}, "token.file"},
		{map[string]string{"security.protocol": "SSL", "ssl.truststore.type": "JKS"}, "PEM files only"},
		{map[string]string{"security.protocol": "SSL", "ssl.truststore.location": "/nonexistent"}, "ssl.truststore.location"},
	} {
		_, err := clientSecurityOpts(tc.props)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error about %q", tc.props, err, tc.want)
		}
	}
	if opts, err := clientSecurityOpts(map[string]string{"security.protocol": "plaintext"}); err != nil || len(opts) != 0 {
		t.Errorf("PLAINTEXT: %d opts, %v", len(opts), err)
	}
}
