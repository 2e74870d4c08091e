package scram

import (
	"bytes"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"testing"
)

// TestRFC7677 checks the derived keys against the SCRAM-SHA-256 exchange of RFC 7677 §3: the
// server signature the RFC shows comes from ServerKey, and the client proof it shows matches
// StoredKey.
func TestRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	spec := Spec{Mechanism: SHA256, Name: "user", Password: "pencil", Salt: salt, Iterations: 4096}
	cred, err := spec.Credential(nil)
	if err != nil {
		t.Fatal(err)
	}
	authMessage := "n=user,r=rOprNGfwEbeRWgbNEkqO," +
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	mac := hmac.New(HashFunc(SHA256), cred.ServerKey)
	mac.Write([]byte(authMessage))
	if got := base64.StdEncoding.EncodeToString(mac.Sum(nil)); got != "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" {
		t.Fatalf("server signature %s", got)
	}
	proof, _ := base64.StdEncoding.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	mac = hmac.New(HashFunc(SHA256), cred.StoredKey)
	mac.Write([]byte(authMessage))
	clientKey := mac.Sum(nil)
	for i := range clientKey {
		clientKey[i] ^= proof[i]
	}
	h := HashFunc(SHA256)()
	h.Write(clientKey)
	if !bytes.Equal(h.Sum(nil), cred.StoredKey) {
		t.Fatal("the RFC's client proof does not verify against StoredKey")
	}
}

func TestParseSpec(t *testing.T) {
	good := []struct {
		in   string
		want Spec
	}{
		{"SCRAM-SHA-256=[name=admin,password=admin-secret]", Spec{Mechanism: SHA256, Name: "admin", Password: "admin-secret"}},
		{"scram-sha-512=[name=bob,iterations=8192,password=\"p,w]d\"]", Spec{Mechanism: SHA512, Name: "bob", Iterations: 8192, Password: "p,w]d"}},
		{"SCRAM-SHA-256=[name=x,salt=c2FsdA==,saltedpassword=cHc=]", Spec{Mechanism: SHA256, Name: "x", Salt: []byte("salt"), SaltedPassword: []byte("pw")}},
	}
	for _, tc := range good {
		got, err := ParseSpec(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got.Mechanism != tc.want.Mechanism || got.Name != tc.want.Name || got.Password != tc.want.Password ||
			got.Iterations != tc.want.Iterations || !bytes.Equal(got.Salt, tc.want.Salt) || !bytes.Equal(got.SaltedPassword, tc.want.SaltedPassword) {
			t.Errorf("%s: got %+v want %+v", tc.in, got, tc.want)
		}
	}
	bad := []string{
		"", "SCRAM-SHA-1=[name=a,password=b]", "SCRAM-SHA-256=name=a,password=b", "SCRAM-SHA-256=[password=b]",
		"SCRAM-SHA-256=[name=a]", "SCRAM-SHA-256=[name=a,password=b,saltedpassword=cHc=,salt=c2FsdA==]",
		"SCRAM-SHA-256=[name=a,saltedpassword=cHc=]", "SCRAM-SHA-256=[name=a,password=b,color=red]",
		"SCRAM-SHA-256=[name=a,password=b,iterations=many]", "SCRAM-SHA-256=[name=a,password=\"b]", "SCRAM-SHA-256=[name=a,password=]",
	}
	for _, in := range bad {
		if _, err := ParseSpec(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: err %v, want ErrInvalid", in, err)
		}
	}
}

func TestCredentialIterationBounds(t *testing.T) {
	for _, n := range []int{4095, 16385} {
		if _, err := (Spec{Mechanism: SHA512, Name: "a", Password: "b", Iterations: n}).Credential(nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("%d iterations: %v", n, err)
		}
	}
	c, err := Spec{Mechanism: SHA512, Name: "a", Password: "b"}.Credential(nil)
	if err != nil || c.Iterations != DefaultIterations || len(c.Salt) != 32 || len(c.StoredKey) != 64 || len(c.ServerKey) != 64 {
		t.Fatalf("%+v %v", c, err)
	}
}

// FuzzParseSpec: no text panics the --add-scram parser, and an accepted spec has a known
// mechanism, a name and exactly one of a password and a salted password.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"SCRAM-SHA-256=[name=admin,password=admin-secret]",
		`SCRAM-SHA-512=[name="a,b",iterations=8192,password="x]y"]`, "SCRAM-SHA-256=[name=x,salt=c2FsdA==,saltedpassword=cHc=]", "=[", `SCRAM-SHA-256=["]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseSpec(text)
		if err != nil {
			return
		}
		if MechanismName(s.Mechanism) == "" || s.Name == "" || (s.Password != "") == (s.SaltedPassword != nil) ||
			s.SaltedPassword != nil && s.Salt == nil {
			t.Fatalf("accepted %q as %+v", text, s)
		}
	})
}
