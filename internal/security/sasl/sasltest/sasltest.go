// Package sasltest issues JWTs for tests: a throwaway signing key, its JWKS file, and tokens
// signed with it. It is only for tests (keys are generated per Issuer and never persisted
// beyond the JWKS file it writes).
package sasltest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Issuer signs tokens with one key, published in a JWKS.
type Issuer struct {
	Alg string // RS256, PS384, ES256, ...
	Kid string
	key crypto.Signer
}

// NewIssuer generates a key for alg (RS*/PS*: RSA 2048; ES256/384/512: P-256/384/521).
func NewIssuer(alg, kid string) (*Issuer, error) {
	var key crypto.Signer
	var err error
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		key, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	default:
		return nil, fmt.Errorf("sasltest: unknown alg %s", alg)
	}
	if err != nil {
		return nil, err
	}
	return &Issuer{Alg: alg, Kid: kid, key: key}, nil
}

// JWK returns the issuer's public key as a JWK object.
func (is *Issuer) JWK() map[string]string {
	b64 := base64.RawURLEncoding.EncodeToString
	m := map[string]string{"kid": is.Kid, "alg": is.Alg, "use": "sig"}
	switch k := is.key.Public().(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64(k.N.Bytes()), b64(big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		m["kty"], m["crv"] = "EC", k.Curve.Params().Name
		m["x"], m["y"] = b64(k.X.FillBytes(make([]byte, size))), b64(k.Y.FillBytes(make([]byte, size)))
	}
	return m
}

// WriteJWKS writes a JWKS holding the issuers' keys to dir/jwks.json and returns its file://
// URL.
func WriteJWKS(dir string, issuers ...*Issuer) (string, error) {
	var keys []map[string]string
	for _, is := range issuers {
		keys = append(keys, is.JWK())
	}
	data, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", err
	}
	return "file://" + path, nil
}

// Claims returns the usual claims: sub, iss, aud, iat now, exp after ttl.
func Claims(sub, iss, aud string, ttl time.Duration) map[string]any {
	now := time.Now()
	return map[string]any{"sub": sub, "iss": iss, "aud": aud, "iat": now.Unix(), "exp": now.Add(ttl).Unix()}
}

// Sign returns the compact JWS of claims.
func (is *Issuer) Sign(claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": is.Alg, "kid": is.Kid, "typ": "JWT"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(header) + "." + b64(payload)
	var h crypto.Hash
	switch is.Alg[2:] {
	case "256":
		h = crypto.SHA256
	case "384":
		h = crypto.SHA384
	default:
		h = crypto.SHA512
	}
	var digest []byte
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256([]byte(input))
		digest = d[:]
	case crypto.SHA384:
		d := sha512.Sum384([]byte(input))
		digest = d[:]
	default:
		d := sha512.Sum512([]byte(input))
		digest = d[:]
	}
	var sig []byte
	switch k := is.key.(type) {
	case *rsa.PrivateKey:
		if is.Alg[0] == 'P' {
			sig, err = rsa.SignPSS(rand.Reader, k, h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, h, digest)
		}
	case *ecdsa.PrivateKey:
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, k, digest)
		if err == nil {
			size := (k.Curve.Params().BitSize + 7) / 8
			sig = append(r.FillBytes(make([]byte, size)), s.FillBytes(make([]byte, size))...)
		}
	}
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}
