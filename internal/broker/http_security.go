package broker

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/httpapi"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/security/scram"
	"github.com/sluicehq/sluice/internal/security/tlsconf"
)

// errBadCredentials is every failed HTTP authentication; the reason goes to the debug log only.
var errBadCredentials = errors.New("invalid credentials")

// httpAuth builds the HTTP listener's authentication (sluice.http.authentication.methods);
// nil when it is off.
func (b *Broker) httpAuth(brokerCfg *config.Resolved) (*httpapi.Auth, error) {
	methods := brokerCfg.List(config.SluiceHTTPAuthenticationMethods)
	if len(methods) == 0 {
		return nil, nil
	}
	const listener = config.HTTPListenerName
	auth := &httpapi.Auth{OpenMetrics: !brokerCfg.Bool(config.SluiceHTTPMetricsAuthentication)}
	for _, m := range methods {
		switch m {
		case "basic":
			users, err := b.plainUsers(brokerCfg, listener)
			if err != nil {
				return nil, err
			}
			v := &passwordVerifier{plain: users, image: b.httpImage, cache: make(map[[32]byte][]byte)}
			auth.Basic = v.verify
		case "bearer":
			tv, err := b.tokenValidator(brokerCfg, listener)
			if err != nil {
				return nil, err
			}
			if tv == nil {
				return nil, fmt.Errorf("%s: bearer needs %s (or listener.name.http.%s)", config.SluiceHTTPAuthenticationMethods,
					config.SaslOauthbearerJwksEndpointURL, config.SaslOauthbearerJwksEndpointURL)
			}
			b.httpTokenValidator = tv
			auth.Bearer = func(_ context.Context, token string) (string, error) {
				t, err := tv.Validate(token, time.Now())
				if err != nil {
					b.logger.Debug("http bearer token refused", "err", err)
					return "", errBadCredentials
				}
				return "User:" + t.Principal, nil
			}
		}
	}
	if b.authorizer != nil {
		authz := b.authorizer
		auth.Authorize = func(principal, host string) bool {
			return authz.Authorize(principal, host, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeCluster, "kafka-cluster")
		}
	}
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sluice_http_authentications_total",
		Help: "HTTP listener authentication attempts by method (basic, bearer, none) and result (ok, failed)."},
		[]string{"method", "result"})
	b.registry.MustRegister(attempts)
	auth.Observe = func(method string, ok bool) {
		result := "failed"
		if ok {
			result = "ok"
		}
		attempts.WithLabelValues(method, result).Inc()
	}
	return auth, nil
}

// httpImage is the latest metadata Image once the quorum is open, else nil (the HTTP listener
// starts before it).
func (b *Broker) httpImage() *metadata.Image {
	if q := b.openedQuorum.Load(); q != nil {
		return q.Image()
	}
	return nil
}

// passwordVerifier checks HTTP basic credentials against the PLAIN users and the cluster's
// SCRAM credentials. A SCRAM check derives the salted password (thousands of HMAC rounds), so
// passwords that verified are remembered, keyed by a hash of user, password and the
// credential's salt: a changed credential misses, a deleted user is not found first.
type passwordVerifier struct {
	plain map[string]string
	image func() *metadata.Image

	mu    sync.Mutex
	cache map[[32]byte][]byte // hash → the StoredKey it verified against
}

const passwordCacheMax = 1024

func (v *passwordVerifier) verify(_ context.Context, user, password string) (string, error) {
	if want, ok := v.plain[user]; ok {
		if subtle.ConstantTimeCompare([]byte(want), []byte(password)) == 1 {
			return "User:" + user, nil
		}
		return "", errBadCredentials
	}
	img := v.image()
	if img == nil {
		return "", errBadCredentials
	}
	for _, m := range []int8{metadata.ScramSHA512, metadata.ScramSHA256} {
		c, ok := img.ScramCredential(user, m)
		if !ok {
			continue
		}
		if v.scramMatches(m, c, user, password) {
			return "User:" + user, nil
		}
		return "", errBadCredentials
	}
	return "", errBadCredentials
}

func (v *passwordVerifier) scramMatches(m int8, c metadata.ScramCredential, user, password string) bool {
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00%s\x00%s\x00", m, user, password)
	h.Write(c.Salt)
	var key [32]byte
	h.Sum(key[:0])
	v.mu.Lock()
	stored, hit := v.cache[key]
	v.mu.Unlock()
	if hit {
		return subtle.ConstantTimeCompare(stored, c.StoredKey) == 1
	}
	salted, err := scram.SaltedPassword(m, password, c.Salt, int(c.Iterations))
	if err != nil {
		return false
	}
	storedKey, _, err := scram.Keys(m, salted)
	if err != nil || subtle.ConstantTimeCompare(storedKey, c.StoredKey) != 1 {
		return false
	}
	v.mu.Lock()
	if len(v.cache) >= passwordCacheMax {
		clear(v.cache)
	}
	v.cache[key] = storedKey
	v.mu.Unlock()
	return true
}

// httpTLS is the HTTP listener's TLS configuration (sluice.http.ssl.enabled): the ssl.*
// configs with listener.name.http.ssl.* first, reloaded as the Kafka listeners' are; nil when
// off. With a verified client certificate, the principal it maps to (ssl.principal.mapping.rules)
// authenticates the caller.
func (b *Broker) httpTLS(brokerCfg *config.Resolved) (*tls.Config, func(tls.ConnectionState) (string, error), error) {
	if !brokerCfg.Bool(config.SluiceHTTPSSLEnabled) {
		return nil, nil, nil
	}
	srv, err := tlsconf.NewServer(tlsconf.FromConfig(brokerCfg, b.static, config.HTTPListenerName),
		tlsconf.Options{Listener: config.HTTPListenerName, Logger: b.logger.With("listener", config.HTTPListenerName), Metrics: b.tlsMetricsOnce()})
	if err != nil {
		return nil, nil, fmt.Errorf("http listener: %w", err)
	}
	return srv.Config(), srv.Principal, nil
}
