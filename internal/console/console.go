// Package console is Sluice's web console: server-rendered pages for topics, messages,
// consumer groups, schemas, connectors, brokers, security and quotas. It is a client of the
// cluster like any other: it speaks the Kafka protocol (franz-go) and the schema registry's and
// Kafka Connect's HTTP APIs, as the signed-in user, so the cluster's own ACLs decide what each
// user sees and may do. Templates and assets are embedded; nothing is fetched from elsewhere.
package console

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Options configure a console.
type Options struct {
	// Brokers returns the seed brokers (host:port); asked when a session's client is made, so
	// a broker can hand over its listener before it is bound.
	Brokers func() []string
	// ClientOpts are the Kafka connection options other than credentials (TLS for SSL
	// listeners, a client id); the console adds SASL for signed-in users.
	ClientOpts []kgo.Opt
	// SignIn requires every page to be used by a signed-in user, whose credentials become the
	// SASL credentials of that user's Kafka client and the basic credentials of its registry
	// and Connect requests. Without it, the console uses the cluster anonymously.
	SignIn bool
	// Mechanisms are the SASL mechanisms offered on the sign-in page, first the default:
	// SCRAM-SHA-256, SCRAM-SHA-512, PLAIN, OAUTHBEARER (the token is the password).
	Mechanisms []string
	// RegistryURL is the schema registry's base URL ("" when there is none).
	RegistryURL string
	// ConnectURL is the Kafka Connect REST API's base URL ("" when there is none).
	ConnectURL string
	// HTTPTLS, if set, is the TLS configuration for the registry and Connect requests.
	HTTPTLS *tls.Config
	// Gatherer, if set, is the local broker's metrics, sampled for the overview's charts.
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
}

// Console serves the pages. It is safe for concurrent use.
type Console struct {
	opts    Options
	logger  *slog.Logger
	handler http.Handler
	http    *http.Client

	mu       sync.Mutex
	sessions map[string]*Session // by cookie value
	anon     *Session            // the one session when SignIn is off, made on first use

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	samp      *sampler      // the overview's throughput samples (sampler.go)
	msgs      *messageState // the message browser's searches, tails and schemas (messages.go)
}

// sessionCookie names the cookie holding a signed-in user's session id.
const sessionCookie = "sluice_console"

// maxSessions bounds the signed-in sessions (each holds a Kafka client); past it, signing in
// ends the least recently used one.
const maxSessions = 256

// sessionIdle is how long an unused session (and its Kafka client) is kept.
const sessionIdle = 8 * time.Hour

// New returns a console; Close releases its clients and goroutines.
func New(opts Options) (*Console, error) {
	if opts.Brokers == nil {
		return nil, errors.New("console: no brokers")
	}
	if len(opts.Mechanisms) == 0 {
		opts.Mechanisms = []string{"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"}
	}
	for _, m := range opts.Mechanisms {
		if _, err := mechanism(m, "u", "p"); err != nil {
			return nil, err
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := parseTemplates(); err != nil {
		return nil, err
	}
	c := &Console{
		opts:     opts,
		logger:   opts.Logger,
		sessions: make(map[string]*Session),
		http: &http.Client{Timeout: 30 * time.Second,
			Transport: &http.Transport{TLSClientConfig: opts.HTTPTLS, MaxIdleConnsPerHost: 4}},
		stop: make(chan struct{}),
		done: make(chan struct{}),
		msgs: &messageState{jobs: make(map[string]*searchJob), closed: make(chan struct{})},
	}
	mux := http.NewServeMux()
	c.routes(mux)
	// State-changing requests from other sites are refused (Sec-Fetch-Site / Origin): an
	// anonymous console has no cookie to guard it, and a signed-in one gains a second guard.
	c.handler = http.NewCrossOriginProtection().Handler(c.authenticate(mux))
	go c.janitor()
	c.startSampler()
	return c, nil
}

// ServeHTTP serves the console's pages.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("X-Frame-Options", "DENY")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			c.logger.Error("console handler panicked", "path", r.URL.Path, "panic", v)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	c.handler.ServeHTTP(w, r)
}

// Close ends every session and search, closes the live tails and stops the console's
// goroutines.
func (c *Console) Close() {
	c.closeOnce.Do(c.close)
}

func (c *Console) close() {
	close(c.stop)
	<-c.done
	<-c.samp.done
	c.msgs.close()
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, s := range c.sessions {
		s.close()
		delete(c.sessions, id)
	}
	if c.anon != nil {
		c.anon.close()
		c.anon = nil
	}
}

// Session is one user's view of the cluster: a Kafka client with that user's credentials and
// the credentials for the registry and Connect.
type Session struct {
	// Principal is "User:name" for a signed-in user, "" for anonymous use.
	Principal string
	user      string
	pass      string // or the bearer token for OAUTHBEARER
	mech      string
	// Kafka is the session's client; Admin wraps it.
	Kafka *kgo.Client
	Admin *kadm.Client
	used  atomic.Int64 // unix seconds of the last request
}

func (s *Session) close() {
	if s.Kafka != nil {
		s.Kafka.Close()
	}
}

type sessionKey struct{}

// sessionOf is the request's session; the authenticate middleware puts it in every handler's
// request (pages other than /login, /logout and /static/ are never reached without one).
func sessionOf(r *http.Request) *Session {
	s, _ := r.Context().Value(sessionKey{}).(*Session)
	return s
}

// newClient makes a Kafka client for the given credentials (none: anonymous) and checks that
// the cluster accepts them with a Metadata request.
func (c *Console) newClient(ctx context.Context, mech, user, pass string, extra ...kgo.Opt) (*kgo.Client, error) {
	opts := append([]kgo.Opt{kgo.SeedBrokers(c.opts.Brokers()...), kgo.ClientID("sluice-console")}, c.opts.ClientOpts...)
	if mech != "" {
		m, err := mechanism(mech, user, pass)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	opts = append(opts, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}

// NewClient is a further Kafka client with the session's credentials, for work that needs
// its own client (a consumer for the message browser, a producer); the caller closes it.
func (c *Console) NewClient(ctx context.Context, s *Session, extra ...kgo.Opt) (*kgo.Client, error) {
	return c.newClient(ctx, s.mech, s.user, s.pass, extra...)
}

// mechanism is the SASL mechanism of that name with those credentials.
func mechanism(name, user, pass string) (sasl.Mechanism, error) {
	switch name {
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "OAUTHBEARER":
		return oauth.Auth{Token: pass}.AsMechanism(), nil
	}
	return nil, fmt.Errorf("console: unknown SASL mechanism %q (use SCRAM-SHA-256, SCRAM-SHA-512, PLAIN or OAUTHBEARER)", name)
}

// signIn makes a session for the credentials, or says why the cluster refused them.
func (c *Console) signIn(ctx context.Context, mech, user, pass string) (id string, err error) {
	cl, err := c.newClient(ctx, mech, user, pass)
	if err != nil {
		return "", err
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		cl.Close()
		return "", err
	}
	id = hex.EncodeToString(raw[:])
	principal := "User:" + user
	if mech == "OAUTHBEARER" {
		principal = "User:" + tokenSubject(pass) // the cluster accepted the token: its sub is the principal
	}
	s := &Session{Principal: principal, user: user, pass: pass, mech: mech, Kafka: cl, Admin: kadm.NewClient(cl)}
	s.used.Store(time.Now().Unix())
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.stop: // closed meanwhile
		cl.Close()
		return "", errors.New("console: closed")
	default:
	}
	if len(c.sessions) >= maxSessions {
		// The least recently used session ends: each holds a Kafka client and its connections.
		oldest := ""
		for k, o := range c.sessions {
			if oldest == "" || o.used.Load() < c.sessions[oldest].used.Load() {
				oldest = k
			}
		}
		c.sessions[oldest].close()
		delete(c.sessions, oldest)
	}
	c.sessions[id] = s
	return id, nil
}

// tokenSubject is the sub claim of a JWT, read without checking the signature (the cluster
// has checked it), for showing who is signed in; "(token)" when it cannot be read.
func tokenSubject(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[1]) > 16<<10 {
		return "(token)"
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "(token)"
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Sub == "" {
		return "(token)"
	}
	return claims.Sub
}

// anonymous is the shared session when sign-in is off. Its client is made (and pinged)
// without c.mu held; of two racing first requests, one client is kept.
func (c *Console) anonymous(ctx context.Context) (*Session, error) {
	c.mu.Lock()
	s := c.anon
	c.mu.Unlock()
	if s != nil {
		return s, nil
	}
	cl, err := c.newClient(ctx, "", "", "")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.stop: // closed meanwhile
		cl.Close()
		return nil, errors.New("console: closed")
	default:
	}
	if c.anon != nil {
		cl.Close()
		return c.anon, nil
	}
	c.anon = &Session{Kafka: cl, Admin: kadm.NewClient(cl)}
	return c.anon, nil
}

// janitor ends sessions idle for longer than sessionIdle.
func (c *Console) janitor() {
	defer close(c.done)
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		cutoff := time.Now().Add(-sessionIdle).Unix()
		c.mu.Lock()
		for id, s := range c.sessions {
			if s.used.Load() < cutoff {
				s.close()
				delete(c.sessions, id)
			}
		}
		c.mu.Unlock()
	}
}
