package sasl

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.uber.org/goleak"

	kgosasl "github.com/twmb/franz-go/pkg/sasl"

	"github.com/sluicehq/sluice/internal/security/sasl/sasltest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// exchange runs client against a server session the way a broker does and returns the
// server's outcome.
func exchange(t *testing.T, a *Authenticator, client kgosasl.Mechanism) (Session, error) {
	t.Helper()
	s, ok := a.Start(client.Name())
	if !ok {
		t.Fatalf("mechanism %s not enabled", client.Name())
	}
	cs, msg, err := client.Authenticate(context.Background(), "broker:9092")
	if err != nil {
		t.Fatalf("client start: %v", err)
	}
	for range 5 {
		reply, done, err := s.Step(msg)
		if err != nil {
			return s, err
		}
		clientDone, next, cerr := cs.Challenge(reply)
		if cerr != nil {
			t.Fatalf("client refused the server's reply %q: %v", reply, cerr)
		}
		if done {
			if !clientDone {
				t.Fatalf("server done but client not")
			}
			return s, nil
		}
		msg = next
	}
	t.Fatal("exchange did not finish")
	return nil, nil
}

func scramLookup(t *testing.T, users map[string]string) ScramLookup {
	creds := map[string]ScramCredential{}
	for _, mech := range []string{ScramSHA256, ScramSHA512} {
		for u, p := range users {
			salt := make([]byte, 16)
			rand.Read(salt)
			c, ok := NewScramCredential(mech, p, salt, 4096)
			if !ok {
				t.Fatal("NewScramCredential")
			}
			creds[mech+"/"+u] = c
		}
	}
	return func(mech, user string) (ScramCredential, bool) {
		c, ok := creds[mech+"/"+user]
		return c, ok
	}
}

func TestPlain(t *testing.T) {
	a, err := New(Config{Mechanisms: []string{Plain}, PlainUsers: map[string]string{"alice": "alice-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		auth      plain.Auth
		wantError string // "" = success; else the message the client is sent
	}{
		{"good", plain.Auth{User: "alice", Pass: "alice-secret"}, ""},
		{"authzid equal", plain.Auth{Zid: "alice", User: "alice", Pass: "alice-secret"}, ""},
		{"wrong password", plain.Auth{User: "alice", Pass: "nope"}, "Authentication failed: Invalid username or password"},
		{"unknown user", plain.Auth{User: "mallory", Pass: "alice-secret"}, "Authentication failed: Invalid username or password"},
		{"other authzid", plain.Auth{Zid: "bob", User: "alice", Pass: "alice-secret"}, "Authentication failed: Client requested an authorization id that is different from username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := exchange(t, a, tc.auth.AsMechanism())
			if tc.wantError == "" {
				if err != nil || s.Principal() != "alice" {
					t.Fatalf("err %v principal %q", err, s.Principal())
				}
				return
			}
			if got := ClientMessage(err, Plain, false); got != tc.wantError {
				t.Fatalf("message %q, want %q", got, tc.wantError)
			}
		})
	}
	s, _ := a.Start(Plain)
	if _, _, err := s.Step([]byte("alice\x00alice-secret")); err == nil || ClientMessage(err, Plain, false) != GenericFailureMessage(Plain, false) {
		t.Fatalf("two tokens: %v", err)
	}
}

func TestScram(t *testing.T) {
	a, err := New(Config{Mechanisms: []string{ScramSHA256, ScramSHA512}, ScramCredentials: scramLookup(t, map[string]string{"alice": "alice-secret", "a,b=c": "x"})})
	if err != nil {
		t.Fatal(err)
	}
	for _, mech := range []string{ScramSHA256, ScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			m := func(a scram.Auth) kgosasl.Mechanism {
				if mech == ScramSHA256 {
					return a.AsSha256Mechanism()
				}
				return a.AsSha512Mechanism()
			}
			s, err := exchange(t, a, m(scram.Auth{User: "alice", Pass: "alice-secret"}))
			if err != nil || s.Principal() != "alice" {
				t.Fatalf("good password: err %v principal %q", err, s.Principal())
			}
			s, err = exchange(t, a, m(scram.Auth{User: "a,b=c", Pass: "x"}))
			if err != nil || s.Principal() != "a,b=c" {
				t.Fatalf("escaped name: err %v principal %q", err, s.Principal())
			}
			for name, auth := range map[string]scram.Auth{
				"wrong password":   {User: "alice", Pass: "nope"},
				"unknown user":     {User: "mallory", Pass: "alice-secret"},
				"delegation token": {User: "alice", Pass: "alice-secret", IsToken: true},
			} {
				_, err := exchange(t, a, m(auth))
				if err == nil {
					t.Fatalf("%s: authenticated", name)
				}
				if got := ClientMessage(err, mech, false); got != GenericFailureMessage(mech, false) {
					t.Fatalf("%s: message %q", name, got)
				}
			}
		})
	}
	s, _ := a.Start(ScramSHA256)
	if _, _, err := s.Step([]byte("y,,n=alice,r=abc")); err == nil {
		t.Fatal("channel binding flag y accepted")
	}
}

func TestScramFinalChecks(t *testing.T) {
	a, err := New(Config{Mechanisms: []string{ScramSHA256}, ScramCredentials: scramLookup(t, map[string]string{"alice": "pw"})})
	if err != nil {
		t.Fatal(err)
	}
	for name, final := range map[string]string{
		"other nonce":           "c=biws,r=%sX,p=AAAA",
		"channel binding p":     "c=cD10bHMtdW5pcXVlLCw=,r=%s,p=AAAA",
		"no proof":              "c=biws,r=%s",
		"short proof":           "c=biws,r=%s,p=AAAA",
		"bad proof base64":      "c=biws,r=%s,p=!!",
		"reserved m= extension": "c=biws,r=%s,m=x,p=AAAA",
	} {
		s, _ := a.Start(ScramSHA256)
		reply, _, err := s.Step([]byte("n,,n=alice,r=clientnonce"))
		if err != nil {
			t.Fatal(err)
		}
		nonce := strings.TrimPrefix(strings.Split(string(reply), ",")[0], "r=")
		if _, done, err := s.Step([]byte(strings.Replace(final, "%s", nonce, 1))); err == nil || done {
			t.Fatalf("%s: accepted", name)
		}
		if s.Principal() != "" {
			t.Fatalf("%s: principal set after failure", name)
		}
	}
}

func newIssuerAndValidator(t *testing.T, alg string, cfg OAuthConfig) (*sasltest.Issuer, *TokenValidator) {
	t.Helper()
	is, err := sasltest.NewIssuer(alg, "k-"+alg)
	if err != nil {
		t.Fatal(err)
	}
	url, err := sasltest.WriteJWKS(t.TempDir(), is)
	if err != nil {
		t.Fatal(err)
	}
	cfg.JWKSURL = url
	v, err := NewTokenValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return is, v
}

func TestOAuthBearerAlgorithms(t *testing.T) {
	for _, alg := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"} {
		t.Run(alg, func(t *testing.T) {
			is, v := newIssuerAndValidator(t, alg, OAuthConfig{})
			a, err := New(Config{Mechanisms: []string{OAuthBearer}, OAuth: v})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := is.Sign(sasltest.Claims("alice", "iss", "kafka", time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			s, err := exchange(t, a, oauth.Auth{Token: tok}.AsMechanism())
			if err != nil || s.Principal() != "alice" {
				t.Fatalf("err %v principal %q", err, s.Principal())
			}
			if exp := s.Expiry(); exp.Before(time.Now()) || exp.After(time.Now().Add(time.Minute+time.Second)) {
				t.Fatalf("expiry %v", exp)
			}
		})
	}
}

func TestOAuthBearerRefusals(t *testing.T) {
	is, v := newIssuerAndValidator(t, "RS256", OAuthConfig{ExpectedIssuer: "https://issuer", ExpectedAudience: []string{"kafka", "other"}, ClockSkew: 5 * time.Second})
	other, err := sasltest.NewIssuer("RS256", "k-RS256") // same kid, different key
	if err != nil {
		t.Fatal(err)
	}
	good := func() map[string]any { return sasltest.Claims("alice", "https://issuer", "kafka", time.Minute) }
	with := func(k string, val any) map[string]any {
		c := good()
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	now := time.Now()
	for _, tc := range []struct {
		name   string
		signer *sasltest.Issuer
		claims map[string]any
		ok     bool
	}{
		{"good", is, good(), true},
		{"audience list", is, with("aud", []string{"x", "other"}), true},
		{"expired", is, with("exp", now.Add(-10*time.Second).Unix()), false},
		{"expired within skew", is, with("exp", now.Add(-2*time.Second).Unix()), true},
		{"no exp", is, with("exp", nil), false},
		{"no iat", is, with("iat", nil), false},
		{"issued in the future", is, with("iat", now.Add(time.Minute).Unix()), false},
		{"not yet valid", is, with("nbf", now.Add(time.Minute).Unix()), false},
		{"wrong issuer", is, with("iss", "https://evil"), false},
		{"wrong audience", is, with("aud", "nope"), false},
		{"no sub", is, with("sub", nil), false},
		{"string exp", is, with("exp", "tomorrow"), false},
		{"other key", other, good(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tc.signer.Sign(tc.claims)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Validate(tok, time.Now())
			if tc.ok != (err == nil) {
				t.Fatalf("Validate: %v (want ok %v)", err, tc.ok)
			}
			if tc.ok && got.Principal != "alice" {
				t.Fatalf("principal %q", got.Principal)
			}
		})
	}
	tok, _ := is.Sign(good())
	parts := strings.Split(tok, ".")
	for name, bad := range map[string]string{
		"alg none":        "eyJhbGciOiJub25lIn0." + parts[1] + ".",
		"tampered claims": parts[0] + "." + parts[1] + "x." + parts[2],
		"two parts":       parts[0] + "." + parts[1],
	} {
		if _, err := v.Validate(bad, time.Now()); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestOAuthBearerFailureIsJSONThenFailure(t *testing.T) {
	is, v := newIssuerAndValidator(t, "ES256", OAuthConfig{})
	a, err := New(Config{Mechanisms: []string{OAuthBearer}, OAuth: v})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := is.Sign(sasltest.Claims("alice", "i", "a", -time.Hour))
	s, _ := a.Start(OAuthBearer)
	reply, done, err := s.Step([]byte("n,,\x01auth=Bearer " + tok + "\x01\x01"))
	if err != nil || done || string(reply) != `{"status":"invalid_token"}` {
		t.Fatalf("first step: %q %v %v", reply, done, err)
	}
	_, done, err = s.Step([]byte{1})
	if done || err == nil || ClientMessage(err, OAuthBearer, false) != `{"status":"invalid_token"}` {
		t.Fatalf("second step: %v %v", done, err)
	}
	// authzid other than the token's subject
	tok, _ = is.Sign(sasltest.Claims("alice", "i", "a", time.Hour))
	s, _ = a.Start(OAuthBearer)
	if _, _, err := s.Step([]byte("n,a=bob,\x01auth=Bearer " + tok + "\x01\x01")); err == nil || !strings.Contains(ClientMessage(err, OAuthBearer, false), "different from the token's principal name") {
		t.Fatalf("authzid bob: %v", err)
	}
}

func TestParseOAuthClientFirst(t *testing.T) {
	f, err := ParseOAuthClientFirst([]byte("n,a=alice,\x01host=x\x01auth=bearer abc.def.ghi\x01port=9\x01\x01"))
	if err != nil || f.AuthzID != "alice" || f.Token != "abc.def.ghi" || f.Extensions["host"] != "x" {
		t.Fatalf("%+v %v", f, err)
	}
	for _, bad := range []string{"", "n,,", "y,,\x01auth=Bearer a\x01\x01", "n,,\x01auth=Basic a\x01\x01", "n,,\x01\x01", "n,,\x01auth=Bearer a\x01", "n,,\x01auth=Bearer a b\x01\x01", "n,,\x01a1=x\x01auth=Bearer a\x01\x01"} {
		if _, err := ParseOAuthClientFirst([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNewChecksMechanisms(t *testing.T) {
	users := map[string]string{"a": "b"}
	if _, err := New(Config{Mechanisms: []string{"GSSAPI"}, PlainUsers: users}); err == nil {
		t.Error("GSSAPI accepted")
	}
	if _, err := New(Config{Mechanisms: []string{ScramSHA256}, PlainUsers: users}); err == nil {
		t.Error("SCRAM without credentials accepted")
	}
	a, err := New(Config{PlainUsers: users})
	if err != nil || strings.Join(a.Mechanisms(), ",") != "PLAIN" {
		t.Errorf("default mechanisms with PLAIN users only: %v %v", a, err)
	}
	if _, err := New(Config{}); err == nil {
		t.Error("no mechanism accepted")
	}
}

func TestParseJAAS(t *testing.T) {
	j, err := ParseJAAS(`org.apache.kafka.common.security.plain.PlainLoginModule required
		username="admin" password="admin-secret" user_admin="admin-secret" user_alice="a\"lice;=" user_bob=bob;`)
	if err != nil {
		t.Fatal(err)
	}
	users := j.PlainUsers()
	if j.LoginModule != PlainLoginModule || j.Options["username"] != "admin" || len(users) != 3 || users["alice"] != `a"lice;=` || users["bob"] != "bob" {
		t.Fatalf("%+v %v", j, users)
	}
	for _, bad := range []string{"", "x required", `x required a="b"`, `x sometimes a="b";`, `x required a= ;`, `x required a="b;`} {
		if _, err := ParseJAAS(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
