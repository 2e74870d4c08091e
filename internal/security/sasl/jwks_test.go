package sasl

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/security/sasl/sasltest"
)

// jwksServer serves a JWKS over HTTP whose keys the test can change.
type jwksServer struct {
	mu      sync.Mutex
	issuers []*sasltest.Issuer
	fetches int
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	var keys []map[string]string
	for _, is := range s.issuers {
		keys = append(keys, is.JWK())
	}
	json.NewEncoder(w).Encode(map[string]any{"keys": keys})
}

func (s *jwksServer) set(issuers ...*sasltest.Issuer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issuers = issuers
}

func mustIssuer(t *testing.T, alg, kid string) *sasltest.Issuer {
	t.Helper()
	is, err := sasltest.NewIssuer(alg, kid)
	if err != nil {
		t.Fatal(err)
	}
	return is
}

func waitValid(t *testing.T, v *TokenValidator, tok string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := v.Validate(tok, time.Now())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("token still refused: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestJWKSOverHTTPRotation: keys come from an http JWKS endpoint; a token naming a key id the
// validator does not know makes it fetch the JWKS again at once (the rotated key is then
// accepted), and the periodic refresh replaces a key under the same id.
func TestJWKSOverHTTPRotation(t *testing.T) {
	old := mustIssuer(t, "RS256", "old")
	srv := &jwksServer{}
	srv.set(old)
	hs := httptest.NewServer(srv)
	defer hs.Close()

	v, err := NewTokenValidator(OAuthConfig{JWKSURL: hs.URL + "/jwks"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	tok, _ := old.Sign(sasltest.Claims("alice", "i", "a", time.Hour))
	if _, err := v.Validate(tok, time.Now()); err != nil {
		t.Fatal(err)
	}

	rotated := mustIssuer(t, "ES256", "new")
	srv.set(old, rotated)
	tok, _ = rotated.Sign(sasltest.Claims("alice", "i", "a", time.Hour))
	waitValid(t, v, tok) // the first attempt asks for the refresh

	// Same kid, new key: only the periodic refresh notices.
	v2, err := NewTokenValidator(OAuthConfig{JWKSURL: hs.URL + "/jwks", Refresh: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	replaced := mustIssuer(t, "RS256", "old")
	srv.set(replaced)
	tok, _ = replaced.Sign(sasltest.Claims("alice", "i", "a", time.Hour))
	waitValid(t, v2, tok)
}

func TestJWKSUnreachableAtStart(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	defer hs.Close()
	if _, err := NewTokenValidator(OAuthConfig{JWKSURL: hs.URL}); err == nil {
		t.Fatal("a JWKS answering 404 was accepted")
	}
	if _, err := NewTokenValidator(OAuthConfig{JWKSURL: "file:///nonexistent/jwks.json"}); err == nil {
		t.Fatal("a missing JWKS file was accepted")
	}
	if _, err := NewTokenValidator(OAuthConfig{JWKSURL: "ftp://x/jwks"}); err == nil {
		t.Fatal("an ftp URL was accepted")
	}
}
