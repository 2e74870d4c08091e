package tlsconf

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"testing"
)

func TestPrincipalMappingRules(t *testing.T) {
	tests := []struct {
		name, rules, dn, want string
		wantErr               error
	}{
		{name: "default", rules: "DEFAULT", dn: "CN=alice,OU=eng,O=acme", want: "CN=alice,OU=eng,O=acme"},
		{name: "empty is default", rules: "", dn: "CN=alice", want: "CN=alice"},
		{name: "CN only", rules: "RULE:^CN=(.*?),OU=(.*?),O=(.*?)$/$1/,DEFAULT", dn: "CN=alice,OU=eng,O=acme", want: "alice"},
		{name: "lower case", rules: "RULE:^CN=(.*?),OU=(.*?)$/$1@$2/L", dn: "CN=Alice,OU=ENG", want: "alice@eng"},
		{name: "upper case", rules: "RULE:^CN=(.*)$/$1/U", dn: "CN=alice", want: "ALICE"},
		{name: "first match wins", rules: "RULE:^CN=(.*?),OU=ServiceUsers.*$/svc-$1/, RULE:^CN=(.*?),.*$/$1/", dn: "CN=kafka,OU=ServiceUsers,O=acme", want: "svc-kafka"},
		{name: "falls through to default", rules: "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,DEFAULT", dn: "CN=bob,OU=eng", want: "CN=bob,OU=eng"},
		{name: "escaped slash and comma in pattern", rules: `RULE:^CN=([^,]*)\/x,O=(.*)$/$2\/$1/,DEFAULT`, dn: "CN=a/x,O=b", want: "b/a"},
		{name: "literal dollar", rules: `RULE:^CN=(.*)$/\$$1/`, dn: "CN=a", want: "$a"},
		{name: "no rule matches", rules: "RULE:^CN=(.*),OU=x$/$1/", dn: "CN=a,OU=y", wantErr: ErrNoMatchingRule},
		{name: "Kafka's doc example", rules: "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,DEFAULT", dn: "CN=Kafka-Server.Example,OU=x", want: "kafka"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pm, err := ParsePrincipalMappingRules(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pm.Map(tt.dn)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Map(%q) = %q, %v; want %q", tt.dn, got, err, tt.want)
			}
		})
	}
}

func TestPrincipalMappingRulesInvalid(t *testing.T) {
	for _, rules := range []string{"RULE:abc", "RULE:a/b", "DEFAULTX", "KERBEROS", "RULE:(/x/", "DEFAULT;RULE:a/b/", "DEFAULT,,x"} {
		if _, err := ParsePrincipalMappingRules(rules); err == nil {
			t.Errorf("%q parsed", rules)
		}
	}
}

func FuzzPrincipalMappingRules(f *testing.F) {
	for _, s := range []string{"DEFAULT", "RULE:^CN=(.*?),OU=(.*?)$/$1/L,DEFAULT", `RULE:a\/b/c\\/U`, "RULE:(/$9$/", ""} {
		f.Add(s, "CN=alice,OU=eng,O=acme")
	}
	f.Fuzz(func(t *testing.T, rules, dn string) {
		pm, err := ParsePrincipalMappingRules(rules)
		if err != nil {
			return
		}
		if len(pm.rules) == 0 {
			t.Fatalf("%q parsed to no rules", rules)
		}
		pm.Map(dn)
	})
}

func TestSubjectDN(t *testing.T) {
	oidDC := asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	oidEmail := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	tests := []struct {
		name string
		seq  pkix.RDNSequence
		want string
	}{
		{name: "openssl order", seq: rdns(
			[2]any{asn1.ObjectIdentifier{2, 5, 4, 10}, "acme"},
			[2]any{asn1.ObjectIdentifier{2, 5, 4, 11}, "eng"},
			[2]any{asn1.ObjectIdentifier{2, 5, 4, 3}, "alice"}), want: "CN=alice,OU=eng,O=acme"},
		{name: "escapes", seq: rdns([2]any{asn1.ObjectIdentifier{2, 5, 4, 3}, "Smith, John+x"}), want: `CN=Smith\, John\+x`},
		{name: "DC and unknown OID", seq: rdns([2]any{oidDC, "com"}, [2]any{oidEmail, "a@b"}),
			want: "1.2.840.113549.1.9.1=#0c03614062,DC=com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := asn1.Marshal(tt.seq)
			if err != nil {
				t.Fatal(err)
			}
			got, err := SubjectDN(&x509.Certificate{RawSubject: raw})
			if err != nil || got != tt.want {
				t.Fatalf("SubjectDN = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func rdns(atvs ...[2]any) pkix.RDNSequence {
	var seq pkix.RDNSequence
	for _, a := range atvs {
		seq = append(seq, pkix.RelativeDistinguishedNameSET{{Type: a[0].(asn1.ObjectIdentifier), Value: a[1]}})
	}
	return seq
}
