package sasl

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"
)

// Defaults of Kafka's sasl.oauthbearer.* broker configs.
const (
	DefaultJWKSRefresh    = time.Hour        // sasl.oauthbearer.jwks.endpoint.refresh.ms
	DefaultClockSkew      = 30 * time.Second // sasl.oauthbearer.clock.skew.seconds
	DefaultSubClaimName   = "sub"            // sasl.oauthbearer.sub.claim.name
	DefaultScopeClaimName = "scope"          // sasl.oauthbearer.scope.claim.name
)

// maxJWKSBytes bounds a JWKS document read from a file or URL.
const maxJWKSBytes = 1 << 20

// expediteInterval is the least time between two refreshes asked for by tokens naming an
// unknown key id, so that clients cannot make the broker hammer the JWKS endpoint.
const expediteInterval = 10 * time.Second

// OAuthConfig configures OAUTHBEARER token validation, with Kafka's config names.
type OAuthConfig struct {
	// JWKSURL is sasl.oauthbearer.jwks.endpoint.url: https://, http:// or file://.
	JWKSURL string
	// Refresh is sasl.oauthbearer.jwks.endpoint.refresh.ms (DefaultJWKSRefresh if zero).
	Refresh time.Duration
	// ClockSkew is sasl.oauthbearer.clock.skew.seconds (DefaultClockSkew if zero; negative
	// means none).
	ClockSkew time.Duration
	// ExpectedIssuer is sasl.oauthbearer.expected.issuer ("" = not checked).
	ExpectedIssuer string
	// ExpectedAudience is sasl.oauthbearer.expected.audience (empty = not checked): the
	// token's aud must contain one of them.
	ExpectedAudience []string
	// SubClaimName and ScopeClaimName are sasl.oauthbearer.sub.claim.name and
	// sasl.oauthbearer.scope.claim.name ("sub" and "scope" if empty).
	SubClaimName   string
	ScopeClaimName string
	// HTTPClient fetches an http(s) JWKS (a client with a 10 s timeout if nil).
	HTTPClient *http.Client
	// Logger receives refresh failures and, at debug, why tokens were refused.
	Logger *slog.Logger
}

// TokenValidator verifies JWTs against a JWKS it keeps refreshed. It is safe for concurrent
// use. Goroutines: one refresher, stopped by Close.
type TokenValidator struct {
	cfg    OAuthConfig
	check  claimsCheck
	logger *slog.Logger
	keys   atomic.Pointer[keySet]

	expedite     chan struct{} // a token named an unknown key id
	lastExpedite atomic.Int64  // unix nanoseconds of the last expedited refresh asked for
	stop         chan struct{}
	done         chan struct{}
}

// keySet is one fetched JWKS.
type keySet struct {
	keys []jwk
}

type jwk struct {
	kid string
	alg string // "" if the JWK does not restrict it
	key crypto.PublicKey
}

// NewTokenValidator loads the JWKS (an error if it cannot be read or holds no usable key) and
// starts refreshing it every cfg.Refresh.
func NewTokenValidator(cfg OAuthConfig) (*TokenValidator, error) {
	if cfg.JWKSURL == "" {
		return nil, errors.New("sasl: sasl.oauthbearer.jwks.endpoint.url is required for OAUTHBEARER")
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultJWKSRefresh
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = DefaultClockSkew
	} else if cfg.ClockSkew < 0 {
		cfg.ClockSkew = 0
	}
	if cfg.SubClaimName == "" {
		cfg.SubClaimName = DefaultSubClaimName
	}
	if cfg.ScopeClaimName == "" {
		cfg.ScopeClaimName = DefaultScopeClaimName
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	v := &TokenValidator{
		cfg: cfg,
		check: claimsCheck{clockSkew: cfg.ClockSkew, issuer: cfg.ExpectedIssuer, audience: cfg.ExpectedAudience,
			subClaimName: cfg.SubClaimName, scopeClaimName: cfg.ScopeClaimName},
		logger:   logger,
		expedite: make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	ks, err := v.fetch(context.Background())
	if err != nil {
		return nil, err
	}
	v.keys.Store(ks)
	go v.refreshLoop()
	return v, nil
}

// Close stops the refresher.
func (v *TokenValidator) Close() {
	select {
	case <-v.stop:
	default:
		close(v.stop)
	}
	<-v.done
}

// Validate verifies token's signature with a key of the JWKS and its claims at now.
func (v *TokenValidator) Validate(token string, now time.Time) (Token, error) {
	p, err := ParseJWT(token)
	if err != nil {
		return Token{}, err
	}
	if p.Header.Crit != nil {
		return Token{}, invalidToken("critical header parameters are not supported")
	}
	alg, ok := jwsAlgorithms[p.Header.Alg]
	if !ok {
		return Token{}, invalidToken("algorithm %q is not accepted", p.Header.Alg)
	}
	var matched, verified bool
	for _, k := range v.keys.Load().keys {
		if p.Header.Kid != "" && k.kid != p.Header.Kid || k.alg != "" && k.alg != p.Header.Alg {
			continue
		}
		matched = true
		if verifySignature(alg, k.key, p.SigningInput, p.Signature) {
			verified = true
			break
		}
	}
	if !matched {
		v.requestRefresh()
		return Token{}, invalidToken("no key in the JWKS for kid %q and alg %s", p.Header.Kid, p.Header.Alg)
	}
	if !verified {
		return Token{}, invalidToken("signature does not verify")
	}
	return v.check.check(p.Claims, now)
}

func (v *TokenValidator) logFailure(err error) {
	v.logger.Debug("OAUTHBEARER token refused", "err", err)
}

// requestRefresh asks the refresher to fetch the JWKS now, at most once per expediteInterval.
func (v *TokenValidator) requestRefresh() {
	now := time.Now().UnixNano()
	last := v.lastExpedite.Load()
	if now-last < int64(expediteInterval) || !v.lastExpedite.CompareAndSwap(last, now) {
		return
	}
	select {
	case v.expedite <- struct{}{}:
	default:
	}
}

func (v *TokenValidator) refreshLoop() {
	defer close(v.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-v.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	t := time.NewTicker(v.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-t.C:
		case <-v.expedite:
		}
		ks, err := v.fetch(ctx)
		if err != nil {
			// Keep the keys we have, as Kafka does; the next tick tries again.
			v.logger.Warn("refreshing the OAUTHBEARER JWKS failed; keeping the previous keys", "url", v.cfg.JWKSURL, "err", err)
			continue
		}
		v.keys.Store(ks)
	}
}

// fetch reads and parses the JWKS.
func (v *TokenValidator) fetch(ctx context.Context) (*keySet, error) {
	data, err := v.read(ctx)
	if err != nil {
		return nil, fmt.Errorf("sasl: read JWKS %s: %w", v.cfg.JWKSURL, err)
	}
	ks, err := parseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("sasl: JWKS %s: %w", v.cfg.JWKSURL, err)
	}
	return ks, nil
}

func (v *TokenValidator) read(ctx context.Context) ([]byte, error) {
	u, err := url.Parse(v.cfg.JWKSURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "file":
		f, err := os.Open(u.Path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readLimited(f)
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := v.cfg.HTTPClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("HTTP %s", resp.Status)
		}
		return readLimited(resp.Body)
	default:
		return nil, fmt.Errorf("unsupported scheme %q (want https, http or file)", u.Scheme)
	}
}

func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJWKSBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxJWKSBytes)
	}
	return data, nil
}

// minRSABits is the smallest RSA key accepted (jose4j's rule, which Kafka's validator uses).
const minRSABits = 2048

// parseJWKS parses a JSON Web Key Set (RFC 7517 §5), keeping the RSA and EC public keys usable
// for signatures; other keys are skipped. A set with no usable key is an error.
func parseJWKS(data []byte) (*keySet, error) {
	var doc struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			Alg string `json:"alg"`
			N   string `json:"n"`
			E   string `json:"e"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Y   string `json:"y"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a JWKS: %w", err)
	}
	ks := &keySet{}
	for _, k := range doc.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if k.Alg != "" {
			if _, ok := jwsAlgorithms[k.Alg]; !ok {
				continue
			}
		}
		var pub crypto.PublicKey
		switch k.Kty {
		case "RSA":
			n, err1 := base64.RawURLEncoding.DecodeString(k.N)
			e, err2 := base64.RawURLEncoding.DecodeString(k.E)
			if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
				continue
			}
			key := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
			if key.N.BitLen() < minRSABits || key.E < 3 || key.E%2 == 0 {
				continue
			}
			pub = key
		case "EC":
			var curve elliptic.Curve
			switch k.Crv {
			case "P-256":
				curve = elliptic.P256()
			case "P-384":
				curve = elliptic.P384()
			case "P-521":
				curve = elliptic.P521()
			default:
				continue
			}
			size := (curve.Params().BitSize + 7) / 8
			x, err1 := base64.RawURLEncoding.DecodeString(k.X)
			y, err2 := base64.RawURLEncoding.DecodeString(k.Y)
			if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
				continue
			}
			point := append(append([]byte{4}, x...), y...)
			key, err := ecdsa.ParseUncompressedPublicKey(curve, point)
			if err != nil {
				continue
			}
			pub = key
		default:
			continue
		}
		ks.keys = append(ks.keys, jwk{kid: k.Kid, alg: k.Alg, key: pub})
	}
	if len(ks.keys) == 0 {
		return nil, errors.New("no usable RSA or EC signing key")
	}
	return ks, nil
}
