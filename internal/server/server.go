package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("server: closed")

// Defaults follow Kafka's broker configs of the same names.
const (
	DefaultMaxRequestBytes = 100 << 20        // socket.request.max.bytes
	DefaultIdleTimeout     = 10 * time.Minute // connections.max.idle.ms
	DefaultMaxInFlight     = 32
)

// Config configures a Server.
type Config struct {
	// Env is handed to every handler.
	Env *api.Env
	// Logger receives connection-level events; nil discards them.
	Logger *slog.Logger
	// ListenerName names the listener in api.ConnInfo ("PLAINTEXT" if empty).
	ListenerName string
	// SecurityProtocol is the listener's security protocol, by Kafka's name: PLAINTEXT
	// (if empty), SSL, SASL_PLAINTEXT or SASL_SSL.
	SecurityProtocol string
	// MaxRequestBytes bounds a request frame (socket.request.max.bytes);
	// larger size prefixes close the connection before anything is allocated.
	MaxRequestBytes int32
	// IdleTimeout closes connections with no request and no response in
	// progress for this long (connections.max.idle.ms). Negative disables.
	IdleTimeout time.Duration
	// MaxInFlight bounds the requests of one connection handled but not yet
	// answered; the connection is not read further until one is written.
	MaxInFlight int
	// MaxInFlightBytes bounds the request bytes of one connection read but
	// not yet answered (DefaultMaxInFlightBytes if zero); a request that
	// would pass it waits for earlier ones to be answered, unless none is
	// owed. Kafka reads one request per connection at a time.
	MaxInFlightBytes int
	// QueuedMaxRequestBytes bounds the request bytes read (or being read)
	// and not yet answered across all connections (queued.max.request.bytes);
	// past it, connections wait before reading another frame. <= 0: no bound.
	QueuedMaxRequestBytes int64
	// MaxConnections refuses (closes at accept) connections past this many
	// (max.connections); MaxConnectionsPerIP past this many from one
	// address (max.connections.per.ip), unless MaxConnectionsPerIPOverrides
	// names the address (IP literal → limit). 0: no limit; negative: refuse
	// all (Kafka's 0; an override of 0 refuses its address).
	MaxConnections               int
	MaxConnectionsPerIP          int
	MaxConnectionsPerIPOverrides map[string]int
	// Lookup finds the API for a request key; nil means api.LookupFor the kind of
	// ListenerName (the broker listener's APIs, Forward ones forwarding). The
	// in-process test cluster wraps it to intercept or delay requests of a
	// given key. New wraps it with Env.Versions.Lookup, so the versions it serves
	// follow sluice.protocol.legacy.versions.enable.
	Lookup func(key int16) (api.API, bool)
	// SASL, if set, makes this a SASL listener: a connection authenticates (SaslHandshake,
	// SaslAuthenticate) before any request but ApiVersions (sasl.go).
	SASL *SASLConfig
	// TLS, if set, makes the listener TLS (tls.go): the handshake runs on each connection's
	// goroutine before its first request.
	TLS *TLS
	// Observer, if set, is told about connections and answered requests
	// (the broker's metrics). Its methods run on connection goroutines and
	// must not block.
	Observer Observer
}

// Observer watches the server's connections and requests.
type Observer interface {
	// ConnectionOpened is called once per accepted connection, before its
	// first request is read; ConnectionClosed once when it is gone.
	ConnectionOpened()
	ConnectionClosed()
	// ObserveRequest is called once per request when its response is ready
	// to write: latency runs from the frame being read to then; resp is nil
	// when no response is sent (acks=0 Produce) and is read-only.
	ObserveRequest(key, version int16, latency time.Duration, resp kmsg.Response)
	// ConnectionRejected is called for a connection closed at accept;
	// reason is RejectMaxConnections, RejectMaxConnectionsPerIP or
	// RejectConnectionRate (closed after its throttle time).
	ConnectionRejected(reason string)
	// PanicRecovered is called when a request's decoding ("decode"), its
	// handler ("handler") or its Finish ("finish") panicked; the panic cost
	// its connection only.
	PanicRecovered(where string)
}

// Server accepts Kafka connections and serves them with the api handlers.
//
// Concurrency: Serve runs an accept loop on its caller's goroutine; every
// connection has a read loop goroutine (reads frames, runs handlers in
// request order), a write goroutine (writes responses in request order) and
// one short-lived goroutine per request whose handler returned Finish.
type Server struct {
	cfg     Config
	logger  *slog.Logger
	limiter *connLimiter
	budget  *requestBudget

	mu struct {
		sync.Mutex
		closed    bool
		listeners map[net.Listener]struct{}
		conns     map[*conn]struct{}
	}
	connWG sync.WaitGroup // one per live connection
}

// New returns a server for cfg, filling Kafka's defaults for zero fields.
func New(cfg Config) (*Server, error) {
	if cfg.Env == nil {
		return nil, errors.New("server: Config.Env is required")
	}
	if cfg.ListenerName == "" {
		cfg.ListenerName = "PLAINTEXT"
	}
	if cfg.SecurityProtocol == "" {
		cfg.SecurityProtocol = "PLAINTEXT"
	}
	if strings.HasPrefix(cfg.SecurityProtocol, "SASL_") && (cfg.SASL == nil || cfg.SASL.Authenticator == nil) {
		return nil, fmt.Errorf("server: listener %s is %s but has no SASL configuration", cfg.ListenerName, cfg.SecurityProtocol)
	}
	if cfg.MaxRequestBytes == 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.MaxRequestBytes < minFrameSize {
		return nil, fmt.Errorf("server: MaxRequestBytes %d is below the smallest request", cfg.MaxRequestBytes)
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Lookup == nil {
		cfg.Lookup = api.LookupFor(api.ListenerKind(cfg.ListenerName))
	}
	if cfg.Env != nil {
		cfg.Lookup = cfg.Env.Versions.Lookup(cfg.Lookup) // legacy versions (api/versions.go)
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.MaxInFlightBytes <= 0 {
		cfg.MaxInFlightBytes = DefaultMaxInFlightBytes
	}
	limiter, err := newConnLimiter(cfg.MaxConnections, cfg.MaxConnectionsPerIP, cfg.MaxConnectionsPerIPOverrides)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, logger: logger, limiter: limiter, budget: newRequestBudget(cfg.QueuedMaxRequestBytes)}
	s.mu.listeners = make(map[net.Listener]struct{})
	s.mu.conns = make(map[*conn]struct{})
	return s, nil
}

// Serve accepts connections on ln until Shutdown or Close, then returns
// ErrServerClosed. It closes ln when it returns. Serve may be called for
// several listeners at once.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.mu.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.mu.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if retryableAccept(err) {
				// Out of file descriptors and the like: wait rather than spin.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger.Warn("accept failed; retrying", "err", err, "backoff", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("server: accept on %s: %w", ln.Addr(), err)
		}
		backoff = 0
		if !s.startConn(nc) {
			nc.Close()
			return ErrServerClosed
		}
	}
}

// retryableAccept reports whether an accept error is worth waiting out:
// running out of file descriptors, or a timeout.
func retryableAccept(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() ||
		errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.closed
}

// startConn registers and starts a connection; false if the server closed.
// A connection past max.connections or max.connections.per.ip is closed at
// once, as Kafka closes it.
func (s *Server) startConn(nc net.Conn) bool {
	addr := remoteAddr(nc)
	if reason := s.limiter.admit(addr); reason != "" {
		// Counted before the close, so whoever sees the close sees the count.
		if obs := s.cfg.Observer; obs != nil {
			obs.ConnectionRejected(reason)
		}
		s.logger.Debug("connection refused", "remote", nc.RemoteAddr().String(), "limit", reason)
		nc.Close()
		return !s.isClosed()
	}
	if d := s.connectionThrottle(addr); d > 0 {
		s.limiter.release(addr)
		s.closeThrottled(nc, d)
		return !s.isClosed()
	}
	c := newConn(s, nc)
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		s.limiter.release(addr)
		return false
	}
	s.mu.conns[c] = struct{}{}
	s.connWG.Add(1)
	s.mu.Unlock()
	if obs := s.cfg.Observer; obs != nil {
		obs.ConnectionOpened()
	}
	go func() {
		defer s.connWG.Done()
		defer s.limiter.release(addr)
		defer s.forget(c)
		if obs := s.cfg.Observer; obs != nil {
			defer obs.ConnectionClosed()
		}
		c.serve()
	}()
	return true
}

// panicked counts a recovered panic.
func (s *Server) panicked(where string) {
	if obs := s.cfg.Observer; obs != nil {
		obs.PanicRecovered(where)
	}
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.mu.conns, c)
	s.mu.Unlock()
}

// Shutdown stops accepting, stops reading new requests, lets requests
// already read finish (long polls answer at once with what they have) and
// writes their responses, then closes every connection. If ctx ends first,
// the remaining connections are closed abruptly and ctx's error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	conns := s.closeListeners()
	for _, c := range conns {
		c.drain()
	}
	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.Close()
		<-done
		return ctx.Err()
	}
}

// Close closes the listeners and every connection at once, abandoning
// in-flight requests, and waits for the connection goroutines to end.
func (s *Server) Close() error {
	for _, c := range s.closeListeners() {
		c.abort()
	}
	s.connWG.Wait()
	return nil
}

// closeListeners marks the server closed, closes its listeners and returns
// the live connections.
func (s *Server) closeListeners() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.closed = true
	for ln := range s.mu.listeners {
		ln.Close()
	}
	conns := make([]*conn, 0, len(s.mu.conns))
	for c := range s.mu.conns {
		conns = append(conns, c)
	}
	return conns
}
