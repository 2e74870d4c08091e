package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
)

// Mechanisms, Kafka's numbering (ScramMechanism.type()).
const (
	SHA256 int8 = 1
	SHA512 int8 = 2
)

// Kafka's bounds on the iteration count (ScramMechanism.minIterations/maxIterations) and the
// default of its tools.
const (
	MinIterations     = 4096
	MaxIterations     = 16384
	DefaultIterations = 4096
)

// ErrInvalid: a credential specification or value Kafka would refuse.
var ErrInvalid = errors.New("scram: invalid credential")

// MechanismName returns "SCRAM-SHA-256" or "SCRAM-SHA-512", "" for an unknown mechanism.
func MechanismName(m int8) string {
	switch m {
	case SHA256:
		return "SCRAM-SHA-256"
	case SHA512:
		return "SCRAM-SHA-512"
	}
	return ""
}

// MechanismByName is the inverse of MechanismName (case-insensitive); 0 when unknown.
func MechanismByName(name string) int8 {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "SCRAM-SHA-256":
		return SHA256
	case "SCRAM-SHA-512":
		return SHA512
	}
	return 0
}

// HashFunc returns the mechanism's hash; nil when unknown.
func HashFunc(m int8) func() hash.Hash {
	switch m {
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	}
	return nil
}

// SaltedPassword is Hi(password, salt, iterations) for the mechanism.
func SaltedPassword(m int8, password string, salt []byte, iterations int) ([]byte, error) {
	h := HashFunc(m)
	if h == nil {
		return nil, fmt.Errorf("%w: mechanism %d", ErrInvalid, m)
	}
	if iterations <= 0 || len(salt) == 0 {
		return nil, fmt.Errorf("%w: %d iterations, %d-byte salt", ErrInvalid, iterations, len(salt))
	}
	return pbkdf2.Key(h, password, salt, iterations, h().Size())
}

// Keys returns the StoredKey and ServerKey of a salted password.
func Keys(m int8, saltedPassword []byte) (storedKey, serverKey []byte, err error) {
	h := HashFunc(m)
	if h == nil {
		return nil, nil, fmt.Errorf("%w: mechanism %d", ErrInvalid, m)
	}
	mac := hmac.New(h, saltedPassword)
	mac.Write([]byte("Client Key"))
	clientKey := mac.Sum(nil)
	d := h()
	d.Write(clientKey)
	storedKey = d.Sum(nil)
	mac = hmac.New(h, saltedPassword)
	mac.Write([]byte("Server Key"))
	return storedKey, mac.Sum(nil), nil
}

// NewSalt returns 32 random bytes read from r (crypto/rand when nil). Kafka's tools use the
// text of a random 130-bit number; any random bytes serve, the salt is sent base64-encoded.
func NewSalt(r io.Reader) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	salt := make([]byte, 32)
	if _, err := io.ReadFull(r, salt); err != nil {
		return nil, fmt.Errorf("scram salt: %w", err)
	}
	return salt, nil
}

// Spec is one parsed credential specification.
type Spec struct {
	Mechanism      int8
	Name           string
	Password       string // "" when SaltedPassword is given
	Iterations     int    // 0: DefaultIterations
	Salt           []byte // nil: random
	SaltedPassword []byte // nil: derived from Password
}

// Credential is what the metadata stores for a user and mechanism.
type Credential struct {
	Mechanism  int8
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
	Iterations int32
}

// Credential derives the stored credential of s, drawing a salt from r (crypto/rand when nil)
// when s has none.
func (s Spec) Credential(r io.Reader) (Credential, error) {
	iterations := s.Iterations
	if iterations == 0 {
		iterations = DefaultIterations
	}
	if iterations < MinIterations || iterations > MaxIterations {
		return Credential{}, fmt.Errorf("%w: %d iterations; Kafka allows %d..%d", ErrInvalid, iterations, MinIterations, MaxIterations)
	}
	salt := s.Salt
	if salt == nil {
		var err error
		if salt, err = NewSalt(r); err != nil {
			return Credential{}, err
		}
	}
	salted := s.SaltedPassword
	if salted == nil {
		var err error
		if salted, err = SaltedPassword(s.Mechanism, s.Password, salt, iterations); err != nil {
			return Credential{}, err
		}
	}
	stored, server, err := Keys(s.Mechanism, salted)
	if err != nil {
		return Credential{}, err
	}
	return Credential{Mechanism: s.Mechanism, Salt: salt, StoredKey: stored, ServerKey: server, Iterations: int32(iterations)}, nil
}

// ParseSpec parses 'SCRAM-SHA-256=[name=alice,password=secret]' with the optional keys
// iterations, salt (base64) and saltedpassword (base64, instead of password; needs salt), as
// kafka-storage format --add-scram does. Values may be double-quoted to hold ',' or ']'.
func ParseSpec(text string) (Spec, error) {
	mech, rest, ok := strings.Cut(strings.TrimSpace(text), "=")
	if !ok {
		return Spec{}, fmt.Errorf("%w: %q is not MECHANISM=[key=value,...]", ErrInvalid, text)
	}
	s := Spec{Mechanism: MechanismByName(mech)}
	if s.Mechanism == 0 {
		return Spec{}, fmt.Errorf("%w: unknown SCRAM mechanism %q (SCRAM-SHA-256 or SCRAM-SHA-512)", ErrInvalid, mech)
	}
	rest = strings.TrimSpace(rest)
	if len(rest) < 2 || rest[0] != '[' || rest[len(rest)-1] != ']' {
		return Spec{}, fmt.Errorf("%w: %q: the credential must be in [...]", ErrInvalid, text)
	}
	kvs, err := splitPairs(rest[1 : len(rest)-1])
	if err != nil {
		return Spec{}, fmt.Errorf("%w: %q: %v", ErrInvalid, text, err)
	}
	var hasPassword bool
	for _, kv := range kvs {
		switch strings.ToLower(kv[0]) {
		case "name":
			s.Name = kv[1]
		case "password":
			s.Password, hasPassword = kv[1], true
		case "iterations":
			n, err := strconv.Atoi(kv[1])
			if err != nil {
				return Spec{}, fmt.Errorf("%w: iterations %q", ErrInvalid, kv[1])
			}
			s.Iterations = n
		case "salt":
			if s.Salt, err = decodeBase64(kv[1]); err != nil {
				return Spec{}, fmt.Errorf("%w: salt: %v", ErrInvalid, err)
			}
		case "saltedpassword":
			if s.SaltedPassword, err = decodeBase64(kv[1]); err != nil {
				return Spec{}, fmt.Errorf("%w: saltedpassword: %v", ErrInvalid, err)
			}
		default:
			return Spec{}, fmt.Errorf("%w: unknown key %q (name, password, iterations, salt, saltedpassword)", ErrInvalid, kv[0])
		}
	}
	switch {
	case s.Name == "":
		return Spec{}, fmt.Errorf("%w: %q has no name", ErrInvalid, text)
	case hasPassword && s.Password == "":
		return Spec{}, fmt.Errorf("%w: %q has an empty password", ErrInvalid, text)
	case hasPassword == (s.SaltedPassword != nil):
		return Spec{}, fmt.Errorf("%w: %q needs exactly one of password and saltedpassword", ErrInvalid, text)
	case s.SaltedPassword != nil && s.Salt == nil:
		return Spec{}, fmt.Errorf("%w: %q: saltedpassword needs salt", ErrInvalid, text)
	}
	return s, nil
}

func decodeBase64(v string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(v)
	}
	if err == nil && len(b) == 0 {
		err = errors.New("empty")
	}
	return b, err
}

// splitPairs splits 'k=v,k2="v,2"' into pairs.
func splitPairs(s string) ([][2]string, error) {
	var out [][2]string
	for len(strings.TrimSpace(s)) > 0 {
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not key=value", s)
		}
		k = strings.TrimSpace(k)
		var v string
		if strings.HasPrefix(rest, "\"") {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote in %q", rest)
			}
			v, rest = rest[1:1+end], rest[2+end:]
			if t := strings.TrimSpace(rest); t != "" && t[0] != ',' {
				return nil, fmt.Errorf("text after the quoted value of %s", k)
			}
		} else {
			v, rest, _ = strings.Cut(rest, ",")
			rest = "," + rest
		}
		out = append(out, [2]string{k, v})
		_, s, _ = strings.Cut(rest, ",")
	}
	return out, nil
}
