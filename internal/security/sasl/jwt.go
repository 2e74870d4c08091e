package sasl

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	_ "crypto/sha256" // registers SHA-256 for crypto.Hash
	_ "crypto/sha512" // registers SHA-384 and SHA-512
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
)

// Token is a validated OAUTHBEARER token.
type Token struct {
	Principal string    // the sub claim (sasl.oauthbearer.sub.claim.name)
	Expiry    time.Time // the exp claim
	Scope     []string  // the scope claim (sasl.oauthbearer.scope.claim.name), if any
}

// ErrInvalidToken wraps every reason a token is refused; the text is for the broker's log.
var ErrInvalidToken = errors.New("sasl: invalid token")

func invalidToken(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, fmt.Sprintf(format, args...))
}

// jwsAlgorithm is one JWS signature algorithm (RFC 7518 §3).
type jwsAlgorithm struct {
	hash crypto.Hash
	kty  string // "RSA" or "EC"
	pss  bool
	crv  string // for EC: the curve the key must be on
}

var jwsAlgorithms = map[string]jwsAlgorithm{
	"RS256": {hash: crypto.SHA256, kty: "RSA"},
	"RS384": {hash: crypto.SHA384, kty: "RSA"},
	"RS512": {hash: crypto.SHA512, kty: "RSA"},
	"PS256": {hash: crypto.SHA256, kty: "RSA", pss: true},
	"PS384": {hash: crypto.SHA384, kty: "RSA", pss: true},
	"PS512": {hash: crypto.SHA512, kty: "RSA", pss: true},
	"ES256": {hash: crypto.SHA256, kty: "EC", crv: "P-256"},
	"ES384": {hash: crypto.SHA384, kty: "EC", crv: "P-384"},
	"ES512": {hash: crypto.SHA512, kty: "EC", crv: "P-521"},
}

// jwsHeader is the part of a JOSE header Sluice reads.
type jwsHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// ParsedJWT is a compact JWS split and decoded, before its signature is checked.
type ParsedJWT struct {
	Header       jwsHeader
	Claims       map[string]json.RawMessage
	SigningInput string // header.payload, as signed
	Signature    []byte
}

// ParseJWT splits and decodes a compact JWS (RFC 7515 §7.1) without verifying it.
func ParseJWT(token string) (ParsedJWT, error) {
	var p ParsedJWT
	first := strings.IndexByte(token, '.')
	last := strings.LastIndexByte(token, '.')
	if first < 0 || first == last {
		return p, invalidToken("not a compact JWS (want three dot-separated parts)")
	}
	header, err := base64.RawURLEncoding.DecodeString(token[:first])
	if err != nil {
		return p, invalidToken("header: %v", err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(token[first+1 : last])
	if err != nil {
		return p, invalidToken("payload: %v", err)
	}
	if p.Signature, err = base64.RawURLEncoding.DecodeString(token[last+1:]); err != nil {
		return p, invalidToken("signature: %v", err)
	}
	if err := json.Unmarshal(header, &p.Header); err != nil {
		return p, invalidToken("header: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&p.Claims); err != nil || p.Claims == nil {
		return p, invalidToken("claims are not a JSON object")
	}
	p.SigningInput = token[:last]
	return p, nil
}

// verifySignature checks p's signature with key under p's algorithm.
func verifySignature(alg jwsAlgorithm, key crypto.PublicKey, signingInput string, sig []byte) bool {
	h := alg.hash.New()
	h.Write([]byte(signingInput))
	digest := h.Sum(nil)
	switch k := key.(type) {
	case *rsa.PublicKey:
		if alg.kty != "RSA" {
			return false
		}
		if alg.pss {
			return rsa.VerifyPSS(k, alg.hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
		return rsa.VerifyPKCS1v15(k, alg.hash, digest, sig) == nil
	case *ecdsa.PublicKey:
		if alg.kty != "EC" || k.Curve.Params().Name != alg.crv {
			return false
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(k, digest, r, s)
	}
	return false
}

// claimsCheck are the claim rules of sasl.oauthbearer.*.
type claimsCheck struct {
	clockSkew      time.Duration
	issuer         string
	audience       []string
	subClaimName   string
	scopeClaimName string
}

// check applies Kafka's broker-side JWT rules (BrokerJwtValidator): exp and iat are required;
// exp, nbf and iat are compared with now allowing clockSkew; iss and aud must match when
// expected values are configured; the sub claim names the principal.
func (c claimsCheck) check(claims map[string]json.RawMessage, now time.Time) (Token, error) {
	var tok Token
	exp, ok, err := numericDate(claims, "exp")
	if err != nil || !ok {
		return tok, invalidToken("no valid exp claim")
	}
	if !now.Before(exp.Add(c.clockSkew)) {
		return tok, invalidToken("expired at %s", exp.UTC().Format(time.RFC3339))
	}
	iat, ok, err := numericDate(claims, "iat")
	if err != nil || !ok {
		return tok, invalidToken("no valid iat claim")
	}
	if iat.After(now.Add(c.clockSkew)) {
		return tok, invalidToken("issued in the future (%s)", iat.UTC().Format(time.RFC3339))
	}
	nbf, ok, err := numericDate(claims, "nbf")
	if err != nil {
		return tok, invalidToken("invalid nbf claim")
	}
	if ok && nbf.After(now.Add(c.clockSkew)) {
		return tok, invalidToken("not valid before %s", nbf.UTC().Format(time.RFC3339))
	}
	if c.issuer != "" {
		var iss string
		if json.Unmarshal(claims["iss"], &iss) != nil || iss != c.issuer {
			return tok, invalidToken("issuer %q is not the expected %q", iss, c.issuer)
		}
	}
	if len(c.audience) > 0 {
		aud, err := stringOrList(claims["aud"])
		if err != nil || !intersects(aud, c.audience) {
			return tok, invalidToken("audience %q is not one of %q", aud, c.audience)
		}
	}
	var sub string
	if json.Unmarshal(claims[c.subClaimName], &sub) != nil || strings.TrimSpace(sub) == "" {
		return tok, invalidToken("no %s claim to name the principal", c.subClaimName)
	}
	tok.Principal, tok.Expiry = sub, exp
	if raw, ok := claims[c.scopeClaimName]; ok {
		scope, err := stringOrList(raw)
		if err != nil {
			return tok, invalidToken("invalid %s claim", c.scopeClaimName)
		}
		if len(scope) == 1 {
			scope = strings.Fields(scope[0])
		}
		tok.Scope = scope
	}
	return tok, nil
}

// numericDate reads a NumericDate claim (seconds since the epoch, possibly fractional).
func numericDate(claims map[string]json.RawMessage, name string) (time.Time, bool, error) {
	raw, ok := claims[name]
	if !ok {
		return time.Time{}, false, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return time.Time{}, false, err
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || f < 0 || f > 1e12 {
		return time.Time{}, false, fmt.Errorf("claim %s: not a date", name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

// stringOrList reads a claim that is a string or an array of strings.
func stringOrList(raw json.RawMessage) ([]string, error) {
	if raw == nil {
		return nil, errors.New("missing")
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, nil
	}
	var l []string
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, err
	}
	return l, nil
}

func intersects(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}
