package sasl

import (
	"bytes"
	"strings"
	"time"
)

// oauthSession is the server side of OAUTHBEARER (RFC 7628) as Kafka's OAuthBearerSaslServer:
// the client's first message carries the token; a valid one is answered with an empty reply
// and the exchange is done. An invalid one is answered with RFC 7628's JSON error
// ({"status":"invalid_token"}); the client then sends a single 0x01 byte and the exchange fails
// with that JSON as the message.
type oauthSession struct {
	v         *TokenValidator
	now       func() time.Time // nil: time.Now
	errJSON   string
	principal string
	expiry    time.Time
	done      bool
}

func (s *oauthSession) Principal() string { return s.principal }
func (s *oauthSession) Expiry() time.Time { return s.expiry }

func (s *oauthSession) Step(msg []byte) ([]byte, bool, error) {
	if s.done {
		return nil, false, failed("OAUTHBEARER: unexpected message after authentication")
	}
	if s.errJSON != "" {
		if len(msg) == 1 && msg[0] == 0x01 {
			return nil, false, &AuthError{Message: s.errJSON}
		}
		return nil, false, failed("OAUTHBEARER: expected 0x01 after the error reply")
	}
	first, err := ParseOAuthClientFirst(msg)
	if err != nil {
		return nil, false, err
	}
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	tok, err := s.v.Validate(first.Token, now())
	if err != nil {
		s.errJSON = `{"status":"invalid_token"}`
		s.v.logFailure(err)
		return []byte(s.errJSON), false, nil
	}
	if first.AuthzID != "" && first.AuthzID != tok.Principal {
		return nil, false, &AuthError{Message: "Authentication failed: Client requested an authorization id (" + first.AuthzID +
			") that is different from the token's principal name (" + tok.Principal + ")"}
	}
	s.principal, s.expiry, s.done = tok.Principal, tok.Expiry, true
	return []byte{}, true, nil
}

// OAuthClientFirst is a parsed OAUTHBEARER client first message.
type OAuthClientFirst struct {
	AuthzID    string
	Token      string
	Extensions map[string]string // KIP-342 extensions (key=value pairs other than auth); ignored
}

// ParseOAuthClientFirst parses RFC 7628's initial client response as Kafka does:
// gs2-header ("n,," or "n,a=<authzid>,"), then 0x01, then key=value pairs each ended by
// 0x01, then a final 0x01. The auth pair must be "Bearer <token>" (scheme case-insensitive).
func ParseOAuthClientFirst(msg []byte) (OAuthClientFirst, error) {
	var f OAuthClientFirst
	header, rest, ok := bytes.Cut(msg, []byte{0x01})
	if !ok {
		return f, failed("OAUTHBEARER: invalid client response: no 0x01 after the GS2 header")
	}
	h := string(header)
	if !strings.HasPrefix(h, "n,") || !strings.HasSuffix(h, ",") || len(h) < 3 {
		return f, failed("OAUTHBEARER: invalid GS2 header (channel binding is not supported)")
	}
	if a := h[2 : len(h)-1]; a != "" {
		if !strings.HasPrefix(a, "a=") {
			return f, failed("OAUTHBEARER: invalid authzid in GS2 header")
		}
		authz, ok := unescapeSaslName(a[2:])
		if !ok {
			return f, failed("OAUTHBEARER: invalid authzid in GS2 header")
		}
		f.AuthzID = authz
	}
	if !bytes.HasSuffix(rest, []byte{0x01, 0x01}) {
		return f, failed("OAUTHBEARER: invalid client response: not ended by 0x01 0x01")
	}
	rest = rest[:len(rest)-2]
	var auth string
	var haveAuth bool
	for len(rest) > 0 {
		var kv []byte
		kv, rest, _ = bytes.Cut(rest, []byte{0x01})
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok || !validOAuthKey(k) {
			return f, failed("OAUTHBEARER: invalid key=value pair in client response")
		}
		if k == "auth" {
			auth, haveAuth = v, true
			continue
		}
		if f.Extensions == nil {
			f.Extensions = make(map[string]string)
		}
		f.Extensions[k] = v
	}
	if !haveAuth {
		return f, failed("OAUTHBEARER: invalid client response: no auth")
	}
	scheme, token, ok := strings.Cut(auth, " ")
	token = strings.TrimLeft(token, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" || !validTokenChars(token) {
		return f, failed("OAUTHBEARER: invalid auth value: want \"Bearer <token>\"")
	}
	f.Token = token
	return f, nil
}

// validOAuthKey: RFC 7628 key = 1*(ALPHA).
func validOAuthKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// validTokenChars: the characters Kafka's pattern allows in a bearer token, [-_.a-zA-Z0-9].
func validTokenChars(t string) bool {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
