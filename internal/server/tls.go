package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// DefaultHandshakeTimeout bounds a TLS handshake when TLS.HandshakeTimeout is zero.
const DefaultHandshakeTimeout = 10 * time.Second

// tlsWriteBufferSize is the write buffer of a TLS connection: a response's parts (header,
// length prefixes, record sets) are gathered into TLS records of up to 16 KiB instead of one
// record (and one write) per part.
const tlsWriteBufferSize = 64 << 10

// TLS makes a listener speak TLS (security protocols SSL and SASL_SSL).
type TLS struct {
	// Config is the server side's configuration (tlsconf.Server.Config: certificates,
	// client authentication, versions and suites, reloaded per handshake). Nil: the listener
	// hands over connections whose handshake is already done (the TLS controller address,
	// whose stream layer must read inside TLS to tell Raft from Kafka); they implement
	// ConnectionState, and Principal applies to it.
	Config *tls.Config
	// Principal, if set, derives the connection's principal from the finished handshake
	// ("" is User:ANONYMOUS); an error refuses the connection (a certificate subject no
	// ssl.principal.mapping.rules rule maps).
	Principal func(tls.ConnectionState) (string, error)
	// HandshakeTimeout bounds the handshake (DefaultHandshakeTimeout if zero).
	HandshakeTimeout time.Duration
	// Observe, if set, is told each handshake's outcome (nil: it succeeded, principal
	// included) on the connection's goroutine; it must not block.
	Observe func(err error)
}

// wrapTLS returns nc as a TLS server connection when the listener is TLS. No I/O happens
// here (the accept loop calls it); the handshake runs on the connection's goroutine.
func (s *Server) wrapTLS(nc net.Conn) net.Conn {
	if s.cfg.TLS == nil || s.cfg.TLS.Config == nil {
		return nc
	}
	return tls.Server(nc, s.cfg.TLS.Config)
}

// handshake completes a TLS connection's handshake, bounded by the handshake timeout and
// ended early by drain or abort, and sets the connection's principal. It runs on the read
// loop's goroutine before the first request is read.
func (c *conn) handshake() error {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		if cs, ok := c.nc.(connectionStater); ok && c.srv.cfg.TLS != nil {
			return c.tlsPrincipal(cs.ConnectionState())
		}
		return nil
	}
	err := c.tlsHandshake(tc)
	if obs := c.srv.cfg.TLS.Observe; obs != nil {
		obs(err)
	}
	return err
}

func (c *conn) tlsHandshake(tc *tls.Conn) error {
	cfg := c.srv.cfg.TLS
	timeout := cfg.HandshakeTimeout
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	ctx, cancel := context.WithTimeout(c.workCtx, timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	c.touch()
	return c.tlsPrincipal(tc.ConnectionState())
}

// connectionStater is a connection whose TLS handshake the listener already completed.
type connectionStater interface {
	ConnectionState() tls.ConnectionState
}

// tlsPrincipal sets the connection's principal from its finished handshake.
func (c *conn) tlsPrincipal(st tls.ConnectionState) error {
	if p := c.srv.cfg.TLS.Principal; p != nil {
		principal, err := p(st)
		if err != nil {
			return fmt.Errorf("TLS principal: %w", err)
		}
		c.info.Principal = principal
	}
	c.logger.Debug("TLS handshake complete", "principal", principalOrAnonymous(c.info.Principal),
		"version", tls.VersionName(st.Version), "cipher_suite", tls.CipherSuiteName(st.CipherSuite))
	return nil
}

// responseWriter is where the write loop writes responses, and the flush that ends each
// response (nil when writes go straight to the socket). A TLS connection's responses go
// through a buffer lent from a pool for the length of one response: record sets cannot be
// spliced through crypto/tls (sendfile would bypass the encryption; a storage.Region sees no
// syscall.Conn and copies through its own 64 KiB buffer), and unbuffered, each part of a
// response (header, length prefixes, record sets) would be a TLS record and a write of its
// own. An idle connection holds no buffer.
func (c *conn) responseWriter() (io.Writer, func() error) {
	if _, ok := c.nc.(connectionStater); !ok || c.srv.cfg.TLS == nil {
		return c.nc, nil
	}
	w := &pooledWriter{nc: c.nc}
	return w, w.flush
}

var tlsWriteBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, tlsWriteBufferSize) }}

// pooledWriter buffers one response at a time in a pooled bufio.Writer. It is owned by the
// connection's write loop.
type pooledWriter struct {
	nc net.Conn
	bw *bufio.Writer // nil between responses
}

func (p *pooledWriter) Write(b []byte) (int, error) {
	if p.bw == nil {
		p.bw = tlsWriteBuffers.Get().(*bufio.Writer)
		p.bw.Reset(p.nc)
	}
	return p.bw.Write(b)
}

// flush writes the buffered response out and gives the buffer back.
func (p *pooledWriter) flush() error {
	if p.bw == nil {
		return nil
	}
	err := p.bw.Flush()
	p.bw.Reset(nil)
	tlsWriteBuffers.Put(p.bw)
	p.bw = nil
	return err
}

func principalOrAnonymous(p string) string {
	if p == "" {
		return "User:ANONYMOUS"
	}
	return p
}
