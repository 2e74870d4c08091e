package sasl

import (
	"testing"
	"time"
)

// The parsers below read bytes from clients that have not authenticated: none may panic.

func FuzzParsePlain(f *testing.F) {
	f.Add([]byte("\x00alice\x00secret"))
	f.Add([]byte("a\x00b\x00c\x00d"))
	users := map[string]string{"alice": "secret"}
	f.Fuzz(func(t *testing.T, msg []byte) {
		s := &plainSession{users: users}
		_, done, err := s.Step(msg)
		if done != (err == nil) || done && s.Principal() != "alice" {
			t.Fatalf("done %v err %v principal %q", done, err, s.Principal())
		}
	})
}

func FuzzScramSession(f *testing.F) {
	f.Add([]byte("n,,n=alice,r=abc"), []byte("c=biws,r=abc,p=AAAA"))
	f.Add([]byte("n,a=alice,n=al=2Cice,r=x,tokenauth=true"), []byte("c=biws,r=x,ext=1,p=dGVzdA=="))
	cred, _ := NewScramCredential(ScramSHA256, "secret", []byte("salt"), 4096)
	lookup := func(mech, user string) (ScramCredential, bool) { return cred, user == "alice" }
	f.Fuzz(func(t *testing.T, first, final []byte) {
		s := newScramSession(sha256Scram, lookup)
		if _, _, err := s.Step(first); err != nil {
			return
		}
		// The proof cannot be right without the password: the exchange must fail.
		if _, done, err := s.Step(final); done || err == nil {
			t.Fatalf("authenticated by a guessed proof: %q %q", first, final)
		}
	})
}

func FuzzOAuthClientFirst(f *testing.F) {
	f.Add([]byte("n,,\x01auth=Bearer a.b.c\x01\x01"))
	f.Add([]byte("n,a=x=2C,\x01k=v\x01auth=bearer  t\x01\x01"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		ParseOAuthClientFirst(msg)
	})
}

func FuzzValidateJWT(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln")
	f.Add("eyJhbGciOiJFUzI1NiIsImtpZCI6ImsifQ.eyJleHAiOjEuNWU5LCJpYXQiOjF9.AAAA")
	f.Add("..")
	ks, err := parseJWKS([]byte(`{"keys":[{"kty":"EC","crv":"P-256","kid":"k","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}`))
	if err != nil {
		f.Fatal(err)
	}
	v := &TokenValidator{check: claimsCheck{subClaimName: "sub", scopeClaimName: "scope"}, expedite: make(chan struct{}, 1)}
	v.keys.Store(ks)
	f.Fuzz(func(t *testing.T, token string) {
		if _, err := v.Validate(token, time.Unix(1e9, 0)); err == nil {
			t.Fatalf("forged token accepted: %q", token)
		}
	})
}

func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseJWKS(data)
	})
}

func FuzzParseJAAS(f *testing.F) {
	f.Add(`org.apache.kafka.common.security.plain.PlainLoginModule required user_a="b\"";`)
	f.Fuzz(func(t *testing.T, s string) {
		ParseJAAS(s)
	})
}
