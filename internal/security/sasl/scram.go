package sasl

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/security/scram"
)

// ScramCredential is what the broker stores for a SCRAM user and mechanism (Kafka's
// UserScramCredentialRecord): StoredKey = H(ClientKey), ServerKey = HMAC(SaltedPassword,
// "Server Key"), with SaltedPassword = PBKDF2(password, Salt, Iterations).
type ScramCredential struct {
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
	Iterations int32
}

// ScramLookup returns the credential of user for mechanism (ScramSHA256 or ScramSHA512);
// false if there is none. It must not block (it reads the metadata Image).
type ScramLookup func(mechanism, user string) (ScramCredential, bool)

// scramHash describes one SCRAM mechanism.
type scramHash struct {
	name          string
	newHash       func() hash.Hash
	minIterations int32
}

// Kafka's ScramMechanism: 4096 iterations at least, for both.
var (
	sha256Scram = scramHash{name: ScramSHA256, newHash: sha256.New, minIterations: 4096}
	sha512Scram = scramHash{name: ScramSHA512, newHash: sha512.New, minIterations: 4096}
)

// MaxScramIterations bounds the iterations Sluice accepts for a credential (Kafka's limit,
// 16384), which bounds the work a login costs the client.
const MaxScramIterations = 16384

const (
	scramReceiveClientFirst = iota
	scramReceiveClientFinal
	scramComplete
	scramFailed
)

// scramSession is the server side of SCRAM (RFC 5802 §5, RFC 7677). Channel binding is not
// supported: the GS2 header must be "n,," or "n,a=<authzid>,", and an authzid must equal the
// user name. Kafka's delegation-token extension (tokenauth=true) is refused: Sluice has no
// delegation tokens.
type scramSession struct {
	h      scramHash
	lookup ScramLookup
	state  int

	user            string
	gs2Header       string
	clientFirstBare string
	serverFirst     string
	clientNonce     string
	nonce           string // client nonce + server nonce
	cred            ScramCredential
}

func newScramSession(h scramHash, lookup ScramLookup) *scramSession {
	return &scramSession{h: h, lookup: lookup}
}

func (s *scramSession) Principal() string {
	if s.state != scramComplete {
		return ""
	}
	return s.user
}

func (s *scramSession) Expiry() time.Time { return time.Time{} }

func (s *scramSession) Step(msg []byte) ([]byte, bool, error) {
	switch s.state {
	case scramReceiveClientFirst:
		reply, err := s.clientFirst(msg)
		if err != nil {
			s.fail()
			return nil, false, err
		}
		s.state = scramReceiveClientFinal
		return reply, false, nil
	case scramReceiveClientFinal:
		reply, err := s.clientFinal(msg)
		if err != nil {
			s.fail()
			return nil, false, err
		}
		s.state = scramComplete
		return reply, true, nil
	default:
		return nil, false, failed("%s: unexpected message in state %d", s.h.name, s.state)
	}
}

func (s *scramSession) fail() {
	s.state = scramFailed
	s.cred = ScramCredential{}
}

func (s *scramSession) clientFirst(msg []byte) ([]byte, error) {
	first, err := ParseScramClientFirst(string(msg))
	if err != nil {
		return nil, err
	}
	if first.Extensions["tokenauth"] == "true" {
		return nil, failed("%s: delegation token authentication (tokenauth) is not supported", s.h.name)
	}
	cred, ok := s.lookup(s.h.name, first.User)
	if !ok {
		return nil, failed("Authentication failed: Invalid user credentials")
	}
	if first.AuthzID != "" && first.AuthzID != first.User {
		return nil, &AuthError{Message: "Authentication failed: Client requested an authorization id that is different from username"}
	}
	if cred.Iterations < s.h.minIterations || cred.Iterations > MaxScramIterations {
		return nil, failed("Iterations %d is outside [%d, %d] for %s", cred.Iterations, s.h.minIterations, MaxScramIterations, s.h.name)
	}
	s.user, s.gs2Header, s.clientFirstBare, s.cred = first.User, first.GS2Header, first.Bare, cred
	s.clientNonce = first.Nonce
	s.nonce = first.Nonce + serverNonce()
	s.serverFirst = "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString(cred.Salt) + ",i=" + strconv.Itoa(int(cred.Iterations))
	return []byte(s.serverFirst), nil
}

func (s *scramSession) clientFinal(msg []byte) ([]byte, error) {
	final, err := ParseScramClientFinal(string(msg))
	if err != nil {
		return nil, err
	}
	if final.ChannelBinding != base64.StdEncoding.EncodeToString([]byte(s.gs2Header)) {
		return nil, failed("%s: channel binding %q does not match the GS2 header", s.h.name, final.ChannelBinding)
	}
	// librdkafka (2.0.2, Debian's kcat and confluent-kafka) echoes its own nonce before the
	// server's whole nonce (which already starts with it); accepted, as it still carries the
	// whole server nonce and the proof covers the message as sent.
	if final.Nonce != s.nonce && final.Nonce != s.clientNonce+s.nonce {
		return nil, failed("Invalid client nonce in the final client message: %q, want %q", truncate(final.Nonce), truncate(s.nonce))
	}
	authMessage := s.clientFirstBare + "," + s.serverFirst + "," + final.WithoutProof
	clientSignature := s.hmac(s.cred.StoredKey, authMessage)
	if len(final.Proof) != len(clientSignature) {
		return nil, failed("Invalid client credentials")
	}
	clientKey := make([]byte, len(clientSignature))
	for i := range clientKey {
		clientKey[i] = final.Proof[i] ^ clientSignature[i]
	}
	h := s.h.newHash()
	h.Write(clientKey)
	if subtle.ConstantTimeCompare(h.Sum(nil), s.cred.StoredKey) != 1 {
		return nil, failed("Invalid client credentials")
	}
	serverSignature := s.hmac(s.cred.ServerKey, authMessage)
	s.cred = ScramCredential{}
	return []byte("v=" + base64.StdEncoding.EncodeToString(serverSignature)), nil
}

func (s *scramSession) hmac(key []byte, msg string) []byte {
	m := hmac.New(s.h.newHash, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// serverNonce is 32 random printable characters (no ',').
func serverNonce() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ScramClientFirst is a parsed client-first-message.
type ScramClientFirst struct {
	GS2Header  string // "n,," or "n,a=<authzid>,"
	AuthzID    string
	Bare       string // client-first-message-bare, as sent
	User       string // saslname unescaped (=2C is ',', =3D is '=')
	Nonce      string
	Extensions map[string]string
}

// ParseScramClientFirst parses gs2-header client-first-message-bare:
// "n,[a=authzid],n=user,r=nonce[,ext=value]...". Channel binding ("y" or "p") and the
// reserved "m=" attribute are refused.
func ParseScramClientFirst(msg string) (ScramClientFirst, error) {
	var f ScramClientFirst
	if !strings.HasPrefix(msg, "n,") {
		return f, failed("SCRAM: channel binding is not supported (GS2 header must start with \"n,\")")
	}
	rest := msg[2:]
	comma := strings.IndexByte(rest, ',')
	if comma < 0 {
		return f, failed("SCRAM: invalid client first message: no GS2 header end")
	}
	if a := rest[:comma]; a != "" {
		if !strings.HasPrefix(a, "a=") {
			return f, failed("SCRAM: invalid authzid in GS2 header")
		}
		authz, ok := unescapeSaslName(a[2:])
		if !ok {
			return f, failed("SCRAM: invalid authzid in GS2 header")
		}
		f.AuthzID = authz
	}
	f.GS2Header = msg[:2+comma+1]
	f.Bare = rest[comma+1:]
	attrs := strings.Split(f.Bare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return f, failed("SCRAM: invalid client first message: want n=<user>,r=<nonce>")
	}
	user, ok := unescapeSaslName(attrs[0][2:])
	if !ok || user == "" {
		return f, failed("SCRAM: invalid user name")
	}
	f.User = user
	f.Nonce = attrs[1][2:]
	if !validNonce(f.Nonce) {
		return f, failed("SCRAM: invalid client nonce")
	}
	ext, err := scramExtensions(attrs[2:])
	if err != nil {
		return f, err
	}
	f.Extensions = ext
	return f, nil
}

// ScramClientFinal is a parsed client-final-message.
type ScramClientFinal struct {
	ChannelBinding string // c=, base64 of the GS2 header
	Nonce          string
	Proof          []byte
	WithoutProof   string // client-final-message-without-proof, as sent
}

// ParseScramClientFinal parses "c=<cbind>,r=<nonce>[,ext=value]...,p=<proof>".
func ParseScramClientFinal(msg string) (ScramClientFinal, error) {
	var f ScramClientFinal
	at := strings.LastIndex(msg, ",p=")
	if at < 0 {
		return f, failed("SCRAM: invalid client final message: no proof")
	}
	f.WithoutProof = msg[:at]
	proof, err := base64.StdEncoding.DecodeString(msg[at+3:])
	if err != nil || len(proof) == 0 {
		return f, failed("SCRAM: invalid client proof")
	}
	f.Proof = proof
	attrs := strings.Split(f.WithoutProof, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") {
		return f, failed("SCRAM: invalid client final message: want c=<binding>,r=<nonce>")
	}
	f.ChannelBinding, f.Nonce = attrs[0][2:], attrs[1][2:]
	if _, err := scramExtensions(attrs[2:]); err != nil {
		return f, err
	}
	return f, nil
}

// scramExtensions parses key=value attributes after the nonce (Kafka's SCRAM extensions).
func scramExtensions(attrs []string) (map[string]string, error) {
	if len(attrs) == 0 {
		return nil, nil
	}
	ext := make(map[string]string, len(attrs))
	for _, a := range attrs {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" || k == "m" {
			return nil, failed("SCRAM: invalid extension %q", truncate(a))
		}
		ext[k] = v
	}
	return ext, nil
}

// validNonce: printable ASCII except ',' (RFC 5802 §7).
func validNonce(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

// unescapeSaslName undoes RFC 5802's escaping: "=2C" is ',', "=3D" is '='; any other '='
// is invalid.
func unescapeSaslName(s string) (string, bool) {
	if !strings.Contains(s, "=") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", false
		}
		i += 2
	}
	return b.String(), true
}

func truncate(s string) string {
	if len(s) > 128 {
		return s[:128] + "..."
	}
	return s
}

// NewScramCredential computes the stored credential for password (tests, and the broker's
// bootstrap users): SaltedPassword = PBKDF2-HMAC(password, salt, iterations).
func NewScramCredential(mechanism, password string, salt []byte, iterations int32) (ScramCredential, bool) {
	m := scram.MechanismByName(mechanism)
	if m == 0 {
		return ScramCredential{}, false
	}
	salted, err := scram.SaltedPassword(m, password, salt, int(iterations))
	if err != nil {
		return ScramCredential{}, false
	}
	storedKey, serverKey, err := scram.Keys(m, salted)
	if err != nil {
		return ScramCredential{}, false
	}
	return ScramCredential{Salt: salt, StoredKey: storedKey, ServerKey: serverKey, Iterations: iterations}, true
}
