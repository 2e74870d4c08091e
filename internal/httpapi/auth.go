package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
)

// Auth makes the HTTP listener authenticate its callers with the cluster's own users: HTTP
// basic against the SCRAM and PLAIN users, or a bearer token validated as OAUTHBEARER's JWTs
// are. /healthz and /readyz stay open (probes reveal nothing and cannot authenticate);
// /metrics stays open when OpenMetrics is set.
type Auth struct {
	// Basic verifies a user name and password and returns the principal ("User:alice");
	// nil refuses basic authentication.
	Basic func(ctx context.Context, user, password string) (principal string, err error)
	// Bearer verifies a bearer token and returns its principal; nil refuses bearer tokens.
	Bearer func(ctx context.Context, token string) (principal string, err error)
	// Certificate, if set, maps a TLS connection's verified client certificate to its
	// principal ("" without one): such a caller is authenticated (method "certificate").
	Certificate func(tls.ConnectionState) (string, error)
	// OpenMetrics leaves /metrics open to unauthenticated scrapers.
	OpenMetrics bool
	// Authorize, if set, decides whether an authenticated principal connecting from host may
	// use the listener's other endpoints (the broker asks its authorizer for Describe on the
	// cluster); nil lets every authenticated principal in.
	Authorize func(principal, host string) bool
	// Observe, if set, counts each authentication attempt: method "basic", "bearer",
	// "certificate" or "none",
	// ok whether it succeeded.
	Observe func(method string, ok bool)
}

type principalKey struct{}

// Principal is the authenticated principal of an HTTP request ("" when the endpoint is open
// or authentication is off).
func Principal(ctx context.Context) string {
	p, _ := ctx.Value(principalKey{}).(string)
	return p
}

// WrapAll puts authentication (and authorization) in front of every path of next, none left
// open: for listeners other than the HTTP listener that share its users (the schema registry's).
func (a *Auth) WrapAll(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.serveAuthenticated(w, r, next)
	})
}

// errNoCredentials: the request carried no Authorization header of an accepted kind.
var errNoCredentials = errors.New("authentication required")

// wrap puts authentication (and authorization) in front of next.
func (a *Auth) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/healthz", r.URL.Path == "/readyz", a.OpenMetrics && r.URL.Path == "/metrics":
			next.ServeHTTP(w, r)
			return
		}
		a.serveAuthenticated(w, r, next)
	})
}

// serveAuthenticated authenticates (and authorizes) r and hands it to next with its principal.
func (a *Auth) serveAuthenticated(w http.ResponseWriter, r *http.Request, next http.Handler) {
	principal, method, err := a.authenticate(r)
	if a.Observe != nil {
		a.Observe(method, err == nil)
	}
	if err != nil {
		a.challenge(w)
		msg := "authentication failed"
		if errors.Is(err, errNoCredentials) {
			msg = err.Error()
		}
		http.Error(w, msg, http.StatusUnauthorized)
		return
	}
	if a.Authorize != nil && !a.Authorize(principal, remoteHost(r.RemoteAddr)) {
		http.Error(w, "forbidden: "+principal+" may not use this endpoint", http.StatusForbidden)
		return
	}
	next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, principal)))
}

func (a *Auth) authenticate(r *http.Request) (principal, method string, err error) {
	if a.Certificate != nil && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && r.Header.Get("Authorization") == "" {
		p, err := a.Certificate(*r.TLS)
		if err == nil && p != "" {
			return p, "certificate", nil
		}
		if err != nil {
			return "", "certificate", err
		}
	}
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Basic") && a.Basic != nil:
		user, pass, ok := r.BasicAuth()
		if !ok {
			return "", "basic", errors.New("malformed basic credentials")
		}
		p, err := a.Basic(r.Context(), user, pass)
		return p, "basic", err
	case strings.EqualFold(scheme, "Bearer") && a.Bearer != nil && cred != "":
		p, err := a.Bearer(r.Context(), cred)
		return p, "bearer", err
	}
	return "", "none", errNoCredentials
}

// challenge names the schemes the listener accepts (RFC 9110 §11.6.1).
func (a *Auth) challenge(w http.ResponseWriter) {
	if a.Basic != nil {
		w.Header().Add("WWW-Authenticate", `Basic realm="sluice", charset="UTF-8"`)
	}
	if a.Bearer != nil {
		w.Header().Add("WWW-Authenticate", `Bearer realm="sluice"`)
	}
}

func remoteHost(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
