package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure the HTTP listener.
type Options struct {
	// Addr is the listen address, host:port; port 0 picks a free port.
	Addr string
	// Gatherer supplies /metrics.
	Gatherer prometheus.Gatherer
	// Ready reports whether the broker serves clients; nil error means ready. /readyz answers
	// 503 with the error text otherwise.
	Ready  func() error
	Logger *slog.Logger
	// TLS, if set, makes the listener HTTPS (its GetConfigForClient may reload certificates).
	TLS *tls.Config
	// Auth, if set, requires callers to authenticate (see Auth).
	Auth *Auth
	// Console, if set, serves every path the listener's own endpoints do not (the web console,
	// internal/console). It signs its users in itself, so Auth does not cover it.
	Console http.Handler
}

// Server is a running HTTP listener.
type Server struct {
	srv *http.Server
	ln  net.Listener
	// done is closed when the Serve goroutine has returned.
	done chan struct{}
}

// Start listens on opts.Addr and serves in a goroutine until Close.
func Start(opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("http listener: %w", err)
	}
	if opts.TLS != nil {
		cfg := opts.TLS.Clone()
		cfg.NextProtos = []string{"http/1.1"}
		ln = tls.NewListener(ln, cfg)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if opts.Ready != nil {
			if err := opts.Ready(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintln(w, "not ready:", err)
				return
			}
		}
		fmt.Fprintln(w, "ready")
	})
	// Go's profiler, for operators diagnosing CPU or memory use (Kafka users reach for JMX).
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	var handler http.Handler = mux
	if opts.Auth != nil {
		handler = opts.Auth.wrap(mux)
	}
	if opts.Console != nil {
		handler = withConsole(handler, opts.Console)
	}
	s := &Server{
		srv: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("http server stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr is the address the listener is bound to.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the listener, waits up to five seconds for in-flight requests, and returns once
// the serving goroutine has exited.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}

// withConsole sends the listener's own endpoints (/metrics, /healthz, /readyz, /debug/pprof/)
// to own and every other path to the console.
func withConsole(own, console http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/metrics", p == "/healthz", p == "/readyz", strings.HasPrefix(p, "/debug/pprof/"):
			own.ServeHTTP(w, r)
		default:
			console.ServeHTTP(w, r)
		}
	})
}
