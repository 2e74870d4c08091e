package sasl

import (
	"bytes"
	"crypto/subtle"
	"time"
)

// plainSession is SASL/PLAIN (RFC 4616): one client message, authzid NUL authcid NUL
// password, answered with an empty reply. As Kafka's PlainSaslServer, authzid must be empty
// or equal the user name.
type plainSession struct {
	users     map[string]string
	principal string
	done      bool
}

func (s *plainSession) Step(msg []byte) ([]byte, bool, error) {
	if s.done {
		return nil, false, failed("PLAIN: unexpected message after authentication")
	}
	authzid, user, password, err := ParsePlain(msg)
	if err != nil {
		return nil, false, err
	}
	want, ok := s.users[user]
	// Compare even for an unknown user, so the time taken does not tell whether it exists.
	if !ok {
		want = "\x00unknown user"
	}
	if subtle.ConstantTimeCompare([]byte(password), []byte(want)) != 1 || !ok {
		return nil, false, &AuthError{Message: "Authentication failed: Invalid username or password"}
	}
	if authzid != "" && authzid != user {
		return nil, false, &AuthError{Message: "Authentication failed: Client requested an authorization id that is different from username"}
	}
	s.principal, s.done = user, true
	return []byte{}, true, nil
}

func (s *plainSession) Principal() string { return s.principal }
func (s *plainSession) Expiry() time.Time { return time.Time{} }

// ParsePlain splits a PLAIN client message into authzid, user name and password, with
// Kafka's checks: exactly three NUL-separated tokens, user name and password not empty.
func ParsePlain(msg []byte) (authzid, user, password string, err error) {
	if n := bytes.Count(msg, []byte{0}) + 1; n != 3 {
		return "", "", "", failed("Invalid SASL/PLAIN response: expected 3 tokens, got %d", n)
	}
	parts := bytes.SplitN(msg, []byte{0}, 3)
	if len(parts[1]) == 0 {
		return "", "", "", failed("Authentication failed: username not specified")
	}
	if len(parts[2]) == 0 {
		return "", "", "", failed("Authentication failed: password not specified")
	}
	return string(parts[0]), string(parts[1]), string(parts[2]), nil
}
