package sasl

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/sluicehq/sluice/internal/security/sasl/sasltest"
)

// BenchmarkServerSide measures what one login costs the broker, per mechanism: the client's
// messages are prepared outside the timer where the protocol allows (PLAIN, OAUTHBEARER);
// SCRAM's second message depends on the server's nonce, so the client's PBKDF2 (the same
// iterations as the server's stored credential, 4096) is excluded by stopping the timer.
func BenchmarkServerSide(b *testing.B) {
	b.Run("PLAIN", func(b *testing.B) {
		a, _ := New(Config{Mechanisms: []string{Plain}, PlainUsers: map[string]string{"alice": "alice-secret"}})
		msg := []byte("\x00alice\x00alice-secret")
		for b.Loop() {
			s, _ := a.Start(Plain)
			if _, done, err := s.Step(msg); !done || err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SCRAM-SHA-256", func(b *testing.B) {
		salt := make([]byte, 16)
		rand.Read(salt)
		cred, _ := NewScramCredential(ScramSHA256, "pw", salt, 4096)
		a, _ := New(Config{Mechanisms: []string{ScramSHA256}, ScramCredentials: func(string, string) (ScramCredential, bool) { return cred, true }})
		for b.Loop() {
			b.StopTimer()
			cs, first, _ := scram.Auth{User: "alice", Pass: "pw"}.AsSha256Mechanism().Authenticate(context.Background(), "")
			b.StartTimer()
			s, _ := a.Start(ScramSHA256)
			reply, _, err := s.Step(first)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			_, final, err := cs.Challenge(reply)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, done, err := s.Step(final); !done || err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, alg := range []string{"RS256", "ES256"} {
		b.Run("OAUTHBEARER-"+alg, func(b *testing.B) {
			is, _ := sasltest.NewIssuer(alg, "k")
			url, _ := sasltest.WriteJWKS(b.TempDir(), is)
			v, err := NewTokenValidator(OAuthConfig{JWKSURL: url})
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			a, _ := New(Config{Mechanisms: []string{OAuthBearer}, OAuth: v})
			tok, _ := is.Sign(sasltest.Claims("alice", "i", "a", time.Hour))
			msg := []byte("n,,\x01auth=Bearer " + tok + "\x01\x01")
			for b.Loop() {
				s, _ := a.Start(OAuthBearer)
				if _, done, err := s.Step(msg); !done || err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
