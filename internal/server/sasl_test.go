package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	kgosasl "github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/security/sasl"
	"github.com/sluicehq/sluice/internal/security/sasl/sasltest"
)

// saslHarness is a SASL listener whose Metadata handler records the principal each request
// was served as.
type saslHarness struct {
	addr    string
	logs    *syncBuffer // the server's log, at debug
	metrics *sasl.Metrics
	reg     *prometheus.Registry
	issuer  *sasltest.Issuer

	mu         sync.Mutex
	principals []string
}

func (h *saslHarness) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.principals...)
}

func startSASL(t *testing.T, maxReauth time.Duration) *saslHarness {
	t.Helper()
	h := &saslHarness{reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	h.metrics = sasl.NewMetrics(h.reg)
	creds := map[string]sasl.ScramCredential{}
	for _, mech := range []string{sasl.ScramSHA256, sasl.ScramSHA512} {
		salt := make([]byte, 16)
		rand.Read(salt)
		c, _ := sasl.NewScramCredential(mech, "scram-secret", salt, 4096)
		creds[mech+"/carol"] = c
	}
	var err error
	h.issuer, err = sasltest.NewIssuer("RS256", "k1")
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := sasltest.WriteJWKS(t.TempDir(), h.issuer)
	if err != nil {
		t.Fatal(err)
	}
	v, err := sasl.NewTokenValidator(sasl.OAuthConfig{JWKSURL: jwks, ExpectedAudience: []string{"kafka"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	auth, err := sasl.New(sasl.Config{
		PlainUsers: map[string]string{"alice": "alice-secret", "bob": "bob-secret"},
		ScramCredentials: func(mech, user string) (sasl.ScramCredential, bool) {
			c, ok := creds[mech+"/"+user]
			return c, ok
		},
		OAuth: v,
	})
	if err != nil {
		t.Fatal(err)
	}
	metadata := api.API{Key: 3, MinVersion: 0, MaxVersion: 13, Handle: func(_ context.Context, _ *api.Env, req *api.Request) (api.Response, error) {
		h.mu.Lock()
		h.principals = append(h.principals, req.Conn.Principal)
		h.mu.Unlock()
		return api.Reply(req.Msg.(*kmsg.MetadataRequest).ResponseKind()), nil
	}}
	lookup := api.LookupFor(api.BrokerListener)
	_, h.addr = startServer(t, Config{
		ListenerName: "SASL_PLAINTEXT",
		Logger:       slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		SASL:         &SASLConfig{Authenticator: auth, Metrics: h.metrics, MaxReauth: maxReauth},
		Lookup: func(key int16) (api.API, bool) {
			if key == 3 {
				return metadata, true
			}
			return lookup(key)
		},
	})
	return h
}

func (h *saslHarness) token(t *testing.T, sub string, ttl time.Duration) string {
	t.Helper()
	tok, err := h.issuer.Sign(sasltest.Claims(sub, "issuer", "kafka", ttl))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (h *saslHarness) count(outcome, mech string) float64 {
	if outcome == "failure" {
		return testutil.ToFloat64(h.metrics.FailuresVec().WithLabelValues("SASL_PLAINTEXT", mech))
	}
	return testutil.ToFloat64(h.metrics.SuccessesVec().WithLabelValues("SASL_PLAINTEXT", mech))
}

// metadataWith sends one Metadata request through a franz-go client using mech.
func metadataWith(t *testing.T, addr string, mech kgosasl.Mechanism) error {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.SASL(mech), kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	_, err = req.RequestWith(ctx, cl)
	return err
}

func TestSASLMechanismsWithFranzGo(t *testing.T) {
	h := startSASL(t, 0)
	for _, tc := range []struct {
		name      string
		mech      kgosasl.Mechanism
		principal string // "" = refused
		errText   string
	}{
		{"PLAIN", plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism(), "User:alice", ""},
		{"PLAIN wrong password", plain.Auth{User: "alice", Pass: "wrong"}.AsMechanism(), "", "Authentication failed: Invalid username or password"},
		{"PLAIN unknown user", plain.Auth{User: "mallory", Pass: "alice-secret"}.AsMechanism(), "", "Authentication failed: Invalid username or password"},
		{"SCRAM-SHA-256", scram.Auth{User: "carol", Pass: "scram-secret"}.AsSha256Mechanism(), "User:carol", ""},
		{"SCRAM-SHA-512", scram.Auth{User: "carol", Pass: "scram-secret"}.AsSha512Mechanism(), "User:carol", ""},
		{"SCRAM-SHA-256 wrong password", scram.Auth{User: "carol", Pass: "wrong"}.AsSha256Mechanism(), "", "invalid credentials with SASL mechanism SCRAM-SHA-256"},
		{"SCRAM-SHA-512 unknown user", scram.Auth{User: "mallory", Pass: "scram-secret"}.AsSha512Mechanism(), "", "invalid credentials with SASL mechanism SCRAM-SHA-512"},
		{"OAUTHBEARER", oauth.Auth{Token: h.token(t, "dave", time.Hour)}.AsMechanism(), "User:dave", ""},
		{"OAUTHBEARER expired", oauth.Auth{Token: h.token(t, "dave", -time.Hour)}.AsMechanism(), "", "unexpected data in oauth response"}, // franz-go stops at the RFC 7628 error JSON
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.seen())
			err := metadataWith(t, h.addr, tc.mech)
			if tc.principal == "" {
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("error %v, want one containing %q", err, tc.errText)
				}
				if len(h.seen()) != before {
					t.Fatal("a refused client's request was served")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if seen := h.seen(); len(seen) != before+1 || seen[before] != tc.principal {
				t.Fatalf("served as %q, want %q", seen[before:], tc.principal)
			}
		})
	}
	if got := h.count("failure", sasl.Plain); got != 2 {
		t.Errorf("PLAIN failures counted: %v, want 2", got)
	}
	for deadline := time.Now().Add(10 * time.Second); h.count("failure", sasl.OAuthBearer) != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) { // counted once the client hangs up on the error reply
			t.Fatalf("OAUTHBEARER failures counted: %v, want 1", h.count("failure", sasl.OAuthBearer))
		}
	}
	if got := h.count("success", sasl.ScramSHA512); got != 1 {
		t.Errorf("SCRAM-SHA-512 successes counted: %v, want 1", got)
	}
}

// authenticateV1 runs SaslHandshake v1 and PLAIN through SaslAuthenticate v1 on c.
func authenticateV1(t *testing.T, c *client, user, pass string) *kmsg.SASLAuthenticateResponse {
	t.Helper()
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "PLAIN"
	c.send(hs, 1)
	if msg, _ := c.recv(hs); msg.(*kmsg.SASLHandshakeResponse).ErrorCode != 0 {
		t.Fatalf("handshake: %+v", msg)
	}
	au := kmsg.NewPtrSASLAuthenticateRequest()
	au.Version, au.SASLAuthBytes = 1, []byte("\x00"+user+"\x00"+pass)
	c.send(au, 2)
	msg, _ := c.recv(au)
	return msg.(*kmsg.SASLAuthenticateResponse)
}

func metadataRequest() *kmsg.MetadataRequest {
	r := kmsg.NewPtrMetadataRequest()
	r.Version = 1
	return r
}

func TestSASLGate(t *testing.T) {
	h := startSASL(t, 0)
	t.Run("request before authentication closes", func(t *testing.T) {
		c := dial(t, h.addr)
		c.send(metadataRequest(), 1)
		c.expectClosed()
	})
	t.Run("ApiVersions before authentication is answered", func(t *testing.T) {
		c := dial(t, h.addr)
		req := apiVersionsRequest(3)
		c.send(req, 1)
		if msg, _ := c.recv(req); msg.(*kmsg.ApiVersionsResponse).ErrorCode != 0 {
			t.Fatal("ApiVersions refused")
		}
		if resp := authenticateV1(t, c, "alice", "alice-secret"); resp.ErrorCode != 0 {
			t.Fatalf("authenticate: %+v", resp)
		}
	})
	t.Run("unsupported mechanism", func(t *testing.T) {
		c := dial(t, h.addr)
		hs := kmsg.NewPtrSASLHandshakeRequest()
		hs.Version, hs.Mechanism = 1, "GSSAPI"
		c.send(hs, 1)
		msg, _ := c.recv(hs)
		resp := msg.(*kmsg.SASLHandshakeResponse)
		if resp.ErrorCode != kerr.UnsupportedSaslMechanism.Code || strings.Join(resp.SupportedMechanisms, ",") != "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER" {
			t.Fatalf("%+v", resp)
		}
		c.expectClosed()
	})
	t.Run("failure is answered then closed", func(t *testing.T) {
		c := dial(t, h.addr)
		resp := authenticateV1(t, c, "alice", "wrong")
		if resp.ErrorCode != kerr.SaslAuthenticationFailed.Code || resp.ErrorMessage == nil || *resp.ErrorMessage != "Authentication failed: Invalid username or password" {
			t.Fatalf("%+v", resp)
		}
		c.expectClosed()
	})
	t.Run("other request during authentication closes", func(t *testing.T) {
		c := dial(t, h.addr)
		hs := kmsg.NewPtrSASLHandshakeRequest()
		hs.Version, hs.Mechanism = 1, "SCRAM-SHA-256"
		c.send(hs, 1)
		c.recv(hs)
		c.send(metadataRequest(), 2)
		c.expectClosed()
	})
	t.Run("handshake v0 then raw tokens", func(t *testing.T) {
		c := dial(t, h.addr)
		hs := kmsg.NewPtrSASLHandshakeRequest()
		hs.Version, hs.Mechanism = 0, "PLAIN"
		c.send(hs, 1)
		if msg, _ := c.recv(hs); msg.(*kmsg.SASLHandshakeResponse).ErrorCode != 0 {
			t.Fatal("handshake v0 refused")
		}
		token := []byte("\x00bob\x00bob-secret")
		c.sendRaw(binary.BigEndian.AppendUint32(nil, uint32(len(token))))
		c.sendRaw(token)
		if frame, err := c.readFrame(); err != nil || len(frame) != 0 {
			t.Fatalf("raw reply %q %v, want an empty token", frame, err)
		}
		before := len(h.seen())
		req := metadataRequest()
		c.send(req, 3)
		c.recv(req)
		if seen := h.seen(); len(seen) != before+1 || seen[before] != "User:bob" {
			t.Fatalf("served as %q", seen[before:])
		}
	})
	t.Run("handshake v0 failure closes without an answer", func(t *testing.T) {
		c := dial(t, h.addr)
		hs := kmsg.NewPtrSASLHandshakeRequest()
		hs.Version, hs.Mechanism = 0, "PLAIN"
		c.send(hs, 1)
		c.recv(hs)
		token := []byte("\x00bob\x00wrong")
		c.sendRaw(append(binary.BigEndian.AppendUint32(nil, uint32(len(token))), token...))
		c.expectClosed()
	})
	t.Run("frame over sasl.server.max.receive.size before authentication closes", func(t *testing.T) {
		c := dial(t, h.addr)
		c.sendRaw(binary.BigEndian.AppendUint32(nil, DefaultSASLMaxReceiveBytes+1))
		c.expectClosed()
	})
	t.Run("SaslHandshake after authentication is ILLEGAL_SASL_STATE", func(t *testing.T) {
		c := dial(t, h.addr)
		authenticateV1(t, c, "alice", "alice-secret")
		hs := kmsg.NewPtrSASLHandshakeRequest()
		hs.Version, hs.Mechanism = 1, "PLAIN"
		c.send(hs, 5)
		if msg, _ := c.recv(hs); msg.(*kmsg.SASLHandshakeResponse).ErrorCode != kerr.IllegalSaslState.Code {
			t.Fatalf("%+v", msg)
		}
	})
}

func TestSASLReauthentication(t *testing.T) {
	h := startSASL(t, time.Hour)
	t.Run("session lifetime and re-authentication", func(t *testing.T) {
		c := dial(t, h.addr)
		resp := authenticateV1(t, c, "alice", "alice-secret")
		if resp.ErrorCode != 0 || resp.SessionLifetimeMillis != time.Hour.Milliseconds() {
			t.Fatalf("%+v", resp)
		}
		resp = authenticateV1(t, c, "alice", "alice-secret")
		if resp.ErrorCode != 0 || resp.SessionLifetimeMillis != time.Hour.Milliseconds() {
			t.Fatalf("re-authentication: %+v", resp)
		}
		req := metadataRequest()
		c.send(req, 9)
		c.recv(req)
	})
	t.Run("re-authentication as another principal is refused", func(t *testing.T) {
		c := dial(t, h.addr)
		authenticateV1(t, c, "alice", "alice-secret")
		resp := authenticateV1(t, c, "bob", "bob-secret")
		if resp.ErrorCode != kerr.SaslAuthenticationFailed.Code || resp.ErrorMessage == nil ||
			*resp.ErrorMessage != "Cannot change principals during re-authentication from User.alice: User.bob" {
			t.Fatalf("%+v", resp)
		}
		c.expectClosed()
	})
	t.Run("token expiry bounds the session", func(t *testing.T) {
		c := dial(t, h.addr)
		hs := kmsg.NewPtrSASLHandshakeRequest()
		hs.Version, hs.Mechanism = 1, "OAUTHBEARER"
		c.send(hs, 1)
		c.recv(hs)
		au := kmsg.NewPtrSASLAuthenticateRequest()
		au.Version = 1
		au.SASLAuthBytes = []byte("n,,\x01auth=Bearer " + h.token(t, "dave", time.Minute) + "\x01\x01")
		c.send(au, 2)
		msg, _ := c.recv(au)
		resp := msg.(*kmsg.SASLAuthenticateResponse)
		if resp.ErrorCode != 0 || resp.SessionLifetimeMillis <= 0 || resp.SessionLifetimeMillis > time.Minute.Milliseconds() {
			t.Fatalf("%+v", resp)
		}
	})
}

func TestSASLTokenExpiryWithoutReauthConfig(t *testing.T) {
	h := startSASL(t, 0) // connections.max.reauth.ms=0: the token's exp still ends the session
	c := dial(t, h.addr)
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "OAUTHBEARER"
	c.send(hs, 1)
	c.recv(hs)
	au := kmsg.NewPtrSASLAuthenticateRequest()
	au.Version = 1
	au.SASLAuthBytes = []byte("n,,\x01auth=Bearer " + h.token(t, "dave", time.Minute) + "\x01\x01")
	c.send(au, 2)
	msg, _ := c.recv(au)
	if resp := msg.(*kmsg.SASLAuthenticateResponse); resp.ErrorCode != 0 || resp.SessionLifetimeMillis <= 0 || resp.SessionLifetimeMillis > time.Minute.Milliseconds() {
		t.Fatalf("%+v", resp)
	}
}

func TestSASLProtocolNeedsConfig(t *testing.T) {
	if _, err := New(Config{Env: &api.Env{}, ListenerName: "SASL_SSL", SecurityProtocol: "SASL_SSL"}); err == nil {
		t.Fatal("a SASL_SSL listener without SASL configuration was accepted")
	}
}

func TestSASLSessionExpiryCloses(t *testing.T) {
	h := startSASL(t, 50*time.Millisecond)
	c := dial(t, h.addr)
	if resp := authenticateV1(t, c, "alice", "alice-secret"); resp.SessionLifetimeMillis != 50 {
		t.Fatalf("%+v", resp)
	}
	time.Sleep(100 * time.Millisecond) // past the session's end, not a timing assertion
	c.send(metadataRequest(), 3)
	c.expectClosed()
}

func TestSASLHandshakeOnPlaintextListener(t *testing.T) {
	_, addr := startServer(t, Config{})
	c := dial(t, addr)
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "PLAIN"
	c.send(hs, 1)
	if msg, _ := c.recv(hs); msg.(*kmsg.SASLHandshakeResponse).ErrorCode != kerr.IllegalSaslState.Code {
		t.Fatalf("%+v", msg)
	}
}

// TestSASLReauthenticationWithFranzGo: franz-go re-authenticates before the session
// lifetime the server answered (KIP-368) and its requests keep being served.
func TestSASLReauthenticationWithFranzGo(t *testing.T) {
	// franz-go re-authenticates about a second before the end; Kafka (and Sluice) refuse a
	// re-authentication within a second of the last, so the lifetime must be longer than that.
	h := startSASL(t, 3*time.Second)
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.addr), kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	}
	logins := h.count("success", sasl.Plain)
	for h.count("success", sasl.Plain) <= logins { // until a re-authentication
		if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl); err != nil {
			t.Fatalf("request after %v successful logins: %v", h.count("success", sasl.Plain), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := h.count("failure", sasl.Plain); got != 0 {
		t.Fatalf("%v failed logins", got)
	}
	if !strings.Contains(h.logs.String(), "reauthentication=true") {
		t.Fatalf("no re-authentication on a live connection in the log:\n%s", h.logs.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test's.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
