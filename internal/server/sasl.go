package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/security/sasl"
)

// DefaultSASLMaxReceiveBytes is Kafka's sasl.server.max.receive.size: the largest frame a
// connection may send before it has authenticated.
const DefaultSASLMaxReceiveBytes = 512 << 10

// minReauthInterval: a connection may start a re-authentication at most once a second (as
// Kafka); a SaslHandshake sooner is answered by the API layer (ILLEGAL_SASL_STATE).
const minReauthInterval = time.Second

// SASLConfig makes a listener a SASL listener (SASL_PLAINTEXT or SASL_SSL).
type SASLConfig struct {
	// Authenticator holds the enabled mechanisms (sasl.enabled.mechanisms) and credentials.
	Authenticator *sasl.Authenticator
	// MaxReauth is connections.max.reauth.ms: a session ends this long after authentication
	// unless the client re-authenticates (KIP-368). 0: only a credential's own expiry (an
	// OAUTHBEARER token's exp) ends it.
	MaxReauth time.Duration
	// MaxReceiveBytes is sasl.server.max.receive.size (DefaultSASLMaxReceiveBytes if 0).
	MaxReceiveBytes int32
	// Metrics counts successes and failures (nil: not counted).
	Metrics *sasl.Metrics
}

var (
	// ErrUnauthenticated is returned for a request other than ApiVersions, SaslHandshake or
	// SaslAuthenticate before a SASL connection has authenticated: Kafka closes it.
	ErrUnauthenticated = errors.New("server: request before SASL authentication")
	// ErrSessionExpired is returned for a request after the connection's SASL session
	// expired (KIP-368) without a re-authentication: Kafka closes it.
	ErrSessionExpired = errors.New("server: SASL session expired")
	// errAuthenticationFailed ends a connection after its failure response is written.
	errAuthenticationFailed = errors.New("server: SASL authentication failed")
)

// The states of a SASL connection, as Kafka's SaslServerAuthenticator.
const (
	saslHandshake    = iota // ApiVersions or SaslHandshake expected
	saslAuthenticate        // SaslAuthenticate expected (handshake v1)
	saslRawToken            // a raw, size-prefixed token expected (handshake v0)
	saslComplete            // authenticated
)

// saslConn is one connection's authentication state; the read loop owns it.
type saslConn struct {
	cfg       *SASLConfig
	listener  string
	state     int
	mechanism string
	session   sasl.Session

	// principal is the authenticated name ("" before); during a re-authentication, the one
	// the new credentials must match.
	principal        string
	reauthenticating bool
	badMechanism     string // set when a re-authentication asked for another mechanism
	supportsReauth   bool   // the client sent SaslAuthenticate v1+
	expiry           time.Time
	lastReauthStart  time.Time
	failureCounted   bool // the exchange's failure is counted (saslFailed)
}

func newSASLConn(cfg *SASLConfig, listener string) *saslConn {
	return &saslConn{cfg: cfg, listener: listener}
}

// frameLimit is the largest frame the connection may send now.
func (c *conn) frameLimit() int32 {
	limit := c.srv.cfg.MaxRequestBytes
	if c.sasl != nil && c.sasl.state != saslComplete {
		max := c.sasl.cfg.MaxReceiveBytes
		if max <= 0 {
			max = DefaultSASLMaxReceiveBytes
		}
		limit = min(limit, max)
	}
	return limit
}

// saslGate runs before a parsed request is dispatched on a SASL listener. handled reports
// that the request was answered here (or the connection must close: err).
func (c *conn) saslGate(h requestHeader, body, frame []byte, start time.Time) (handled bool, err error) {
	s := c.sasl
	switch s.state {
	case saslComplete:
		now := time.Now()
		if h.key == 17 && !s.expiry.IsZero() && s.supportsReauth && now.Sub(s.lastReauthStart) >= minReauthInterval {
			s.lastReauthStart = now
			s.reauthenticating = true
			s.state = saslHandshake
			return true, c.saslHandshake(h, body, frame, start)
		}
		if !s.expiry.IsZero() && now.After(s.expiry) {
			c.releaseFrame(frame, true)
			return true, fmt.Errorf("%w: principal %s, expired %s ago", ErrSessionExpired, c.info.Principal, now.Sub(s.expiry).Round(time.Millisecond))
		}
		return false, nil
	case saslHandshake:
		switch {
		case h.key == 17:
			return true, c.saslHandshake(h, body, frame, start)
		case h.key == 18 && !s.reauthenticating:
			return false, nil
		}
		c.releaseFrame(frame, true)
		return true, fmt.Errorf("%w: unexpected request of key %d during the SASL handshake", ErrUnauthenticated, h.key)
	case saslAuthenticate:
		if h.key == 36 {
			return true, c.saslAuthenticate(h, body, frame, start)
		}
		c.releaseFrame(frame, true)
		return true, fmt.Errorf("%w: unexpected request of key %d during SASL authentication", ErrUnauthenticated, h.key)
	}
	c.releaseFrame(frame, true)
	return true, fmt.Errorf("%w: state %d", ErrUnauthenticated, s.state)
}

// decodeSASL decodes a SaslHandshake or SaslAuthenticate at a version the server serves.
func (c *conn) decodeSASL(h requestHeader, body []byte) (kmsg.Request, error) {
	a, ok := c.srv.cfg.Lookup(h.key)
	if !ok || !a.Supports(h.version) {
		return nil, fmt.Errorf("%w: key %d v%d during SASL authentication", ErrUnsupportedRequest, h.key, h.version)
	}
	return decodeRequest(h.key, h.version, body)
}

// saslHandshake answers SaslHandshake: the mechanism must be enabled (and, when
// re-authenticating, the one authenticated with).
func (c *conn) saslHandshake(h requestHeader, body, frame []byte, start time.Time) error {
	s := c.sasl
	msg, err := c.decodeSASL(h, body)
	if err != nil {
		c.releaseFrame(frame, true)
		return err
	}
	req := msg.(*kmsg.SASLHandshakeRequest)
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	resp.SupportedMechanisms = s.cfg.Authenticator.Mechanisms()
	session, ok := s.cfg.Authenticator.Start(req.Mechanism)
	if !ok {
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		c.enqueue(h, start, api.Reply(resp), frame)
		s.cfg.Metrics.Failed(s.listener, "unsupported") // not the client's text: labels stay bounded
		return fmt.Errorf("%w: unsupported mechanism %q", errAuthenticationFailed, req.Mechanism)
	}
	s.badMechanism = ""
	if s.reauthenticating && req.Mechanism != s.mechanism {
		s.badMechanism = fmt.Sprintf("SASL mechanism '%s' requested by client is not supported for re-authentication of mechanism '%s'", req.Mechanism, s.mechanism)
	}
	s.mechanism, s.session = req.Mechanism, session
	if h.version == 0 {
		s.state = saslRawToken
	} else {
		s.state = saslAuthenticate
	}
	c.enqueue(h, start, api.Reply(resp), frame)
	return nil
}

// saslAuthenticate answers SaslAuthenticate with the session's next step.
func (c *conn) saslAuthenticate(h requestHeader, body, frame []byte, start time.Time) error {
	s := c.sasl
	msg, err := c.decodeSASL(h, body)
	if err != nil {
		c.releaseFrame(frame, true)
		return err
	}
	req := msg.(*kmsg.SASLAuthenticateRequest)
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	if h.version > 0 {
		s.supportsReauth = true
	}
	reply, lifetime, err := s.step(req.SASLAuthBytes)
	if err != nil {
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		m := sasl.ClientMessage(err, s.mechanism, s.reauthenticating)
		resp.ErrorMessage = &m
		c.enqueue(h, start, api.Reply(resp), frame)
		return c.saslFailed(err)
	}
	resp.SASLAuthBytes = reply
	if resp.SASLAuthBytes == nil {
		resp.SASLAuthBytes = []byte{}
	}
	resp.SessionLifetimeMillis = lifetime.Milliseconds()
	if s.state == saslComplete {
		c.saslSucceeded()
	}
	c.enqueue(h, start, api.Reply(resp), frame)
	return nil
}

// saslRawToken handles a token sent after SaslHandshake v0: the frame is the token itself,
// and the reply goes back as a size-prefixed frame with no header. A failure closes the
// connection without an answer (there is no way to carry an error), as in Kafka.
func (c *conn) saslRawToken(frame []byte) error {
	s := c.sasl
	reply, _, err := s.step(frame)
	if err != nil {
		c.releaseFrame(frame, true)
		return c.saslFailed(err)
	}
	if s.state == saslComplete {
		c.saslSucceeded()
	}
	c.enqueueRaw(reply, frame)
	return nil
}

// step feeds the session and, once it is done, completes the authentication: the principal
// (unchanged on re-authentication) and the session's lifetime.
func (s *saslConn) step(msg []byte) (reply []byte, lifetime time.Duration, err error) {
	if s.badMechanism != "" {
		return nil, 0, &sasl.AuthError{Message: s.badMechanism}
	}
	reply, done, err := s.session.Step(msg)
	if err != nil || !done {
		return reply, 0, err
	}
	principal := "User:" + s.session.Principal()
	if s.reauthenticating && principal != s.principal {
		return nil, 0, &sasl.AuthError{Message: fmt.Sprintf("Cannot change principals during re-authentication from %s: %s",
			kafkaPrincipalText(s.principal), kafkaPrincipalText(principal))}
	}
	now := time.Now()
	s.expiry = time.Time{}
	credExpiry := s.session.Expiry()
	if !credExpiry.IsZero() || s.cfg.MaxReauth > 0 {
		switch {
		case credExpiry.IsZero():
			lifetime = s.cfg.MaxReauth
		case s.cfg.MaxReauth <= 0:
			lifetime = max(0, credExpiry.Sub(now))
		default:
			lifetime = max(0, min(credExpiry.Sub(now), s.cfg.MaxReauth))
		}
		s.expiry = now.Add(lifetime)
	}
	s.principal, s.state, s.session = principal, saslComplete, nil
	return reply, lifetime, nil
}

// kafkaPrincipalText writes "User:alice" as Kafka's message does, "User.alice".
func kafkaPrincipalText(p string) string {
	for i := 0; i < len(p); i++ {
		if p[i] == ':' {
			return p[:i] + "." + p[i+1:]
		}
	}
	return p
}

func (c *conn) saslSucceeded() {
	s := c.sasl
	c.info.Principal = s.principal
	s.cfg.Metrics.Succeeded(s.listener, s.mechanism)
	c.logger.Debug("SASL authentication succeeded", "mechanism", s.mechanism, "principal", s.principal, "reauthentication", s.reauthenticating)
	s.reauthenticating = false
}

// saslConnectionEnded counts an exchange the client abandoned as a failure: franz-go, for
// one, hangs up on OAUTHBEARER's error reply instead of sending 0x01.
func (c *conn) saslConnectionEnded() {
	s := c.sasl
	if s.session != nil && !s.failureCounted {
		s.cfg.Metrics.Failed(s.listener, s.mechanism)
		c.logger.Info("SASL authentication abandoned by the client", "mechanism", s.mechanism, "reauthentication", s.reauthenticating)
	}
}

func (c *conn) saslFailed(err error) error {
	s := c.sasl
	s.failureCounted = true
	s.cfg.Metrics.Failed(s.listener, s.mechanism)
	c.logger.Info("SASL authentication failed", "mechanism", s.mechanism, "reauthentication", s.reauthenticating, "err", err)
	return fmt.Errorf("%w: %s: %w", errAuthenticationFailed, s.mechanism, err)
}

// rawToken marks an inflight whose response is a raw SASL token (after SaslHandshake v0).
const rawTokenKey = -1

// enqueueRaw queues token to be written as a size-prefixed frame with no response header.
func (c *conn) enqueueRaw(token []byte, frame []byte) {
	if token == nil {
		token = []byte{}
	}
	f := &inflight{key: rawTokenKey, start: time.Now(), frame: frame, rawToken: token, done: make(chan struct{})}
	close(f.done)
	c.inFlight.Add(1)
	c.queue <- f
}
