package quorum

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// raftMagic opens every Raft connection. The controller address is shared by two protocols:
// Raft between voters and the Kafka protocol for the controller APIs (broker registration and
// heartbeats, forwarded admin requests, DescribeQuorum). A Kafka request starts with its int32
// size, so its first byte is 0x00 for any request under 16 MiB; 'S' (0x53) would announce a
// request of over 1.3 GB, which no listener accepts. So four bytes tell them apart.
//
// Raft connections to a server whose address names a directory id ("host:port/dir", see
// identity.go) open with raftDirMagic and the 16 bytes of that id instead; the accepting side
// takes the connection only if the id is its own, and a node with a directory id refuses
// raftMagic. So an RPC meant for the old voter of a replaced disk never reaches the new log.
// helloMagic opens a membership exchange (hello.go).
var (
	raftMagic    = []byte("SLR1")
	raftDirMagic = []byte("SLR2")
	helloMagic   = []byte("SLH1")
)

// sniffTimeout bounds how long an accepted connection may take to send its first four bytes
// before it is dropped, so that silent connections cannot pile up.
const sniffTimeout = 10 * time.Second

// streamLayer is Raft's TCP stream layer over a listener we own, so that tests can hand in a
// listener on port 0 and the advertised address can differ from the bound one. It demultiplexes
// the controller address: connections that open with raftMagic go to Raft, every other one to
// the Kafka listener returned by kafka().
//
// It also remembers the connections it accepted and closes them on Close: hashicorp's
// NetworkTransport stops accepting on Close but leaves each accepted connection's handler
// blocked in a read until the peer hangs up, which would leave goroutines behind a closed
// quorum.
type streamLayer struct {
	ln        net.Listener
	advertise net.Addr
	// dir is this node's directory id as its Raft address names it (zero: an address without
	// one, from before directory ids).
	dir    DirectoryID
	hello  func(net.Conn) // serves one membership exchange
	logger *slog.Logger
	// refused holds the directory ids of refused Raft connections already logged at Warn.
	refused sync.Map
	// tls, if set, makes the controller address TLS (tls.go); tlsServer is its server side.
	tls       *TLS
	tlsServer *tls.Config
	// unverified holds the remote hosts whose Raft or hello streams without a verified
	// certificate were already logged at Warn.
	unverified sync.Map

	raftCh  chan net.Conn
	kafkaCh chan net.Conn
	done    chan struct{}
	wg      sync.WaitGroup

	mu struct {
		sync.Mutex
		conns  map[io.Closer]struct{}
		closed bool
	}
}

func newStreamLayer(ln net.Listener, advertise net.Addr, dir DirectoryID, hello func(net.Conn), t *TLS, logger *slog.Logger) *streamLayer {
	s := &streamLayer{ln: ln, advertise: advertise, dir: dir, hello: hello, logger: logger, raftCh: make(chan net.Conn), kafkaCh: make(chan net.Conn), done: make(chan struct{})}
	if t != nil {
		s.tls, s.tlsServer = t, t.serverConfig()
	}
	s.mu.conns = map[io.Closer]struct{}{}
	s.wg.Add(1)
	go s.acceptLoop()
	return s
}

// acceptLoop accepts every connection and sniffs each on its own goroutine, so that one slow
// peer holds up nobody.
func (s *streamLayer) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go s.sniff(c)
	}
}

// sniff reads an accepted connection's first four bytes (after its TLS handshake on a TLS
// controller address) and hands it to Raft, the membership exchange or the Kafka listener.
// raw is the accepted TCP connection, the key it is tracked under.
func (s *streamLayer) sniff(raw net.Conn) {
	defer s.wg.Done()
	c := raw
	if s.tls != nil {
		tc := tls.Server(raw, s.tlsServer)
		ctx, cancel := context.WithTimeout(context.Background(), s.tls.handshakeTimeout())
		err := tc.HandshakeContext(ctx)
		cancel()
		if s.tls.Observe != nil {
			s.tls.Observe(err)
		}
		if err != nil {
			// Kafka logs failed handshakes at INFO.
			s.logger.Info("closing controller-address connection: TLS handshake failed", "remote", raw.RemoteAddr().String(), "err", err)
			s.untrack(raw)
			raw.Close()
			return
		}
		c = tc
	}
	head := make([]byte, len(raftMagic))
	c.SetReadDeadline(time.Now().Add(sniffTimeout))
	n, err := io.ReadFull(c, head)
	c.SetReadDeadline(time.Time{})
	if err != nil && n == 0 {
		s.untrack(raw)
		c.Close()
		return
	}
	if err == nil && s.tls != nil && !peerVerified(c) &&
		(bytes.Equal(head, helloMagic) || bytes.Equal(head, raftDirMagic) || bytes.Equal(head, raftMagic)) {
		level := slog.LevelWarn
		host := remoteHost(c)
		if _, seen := s.unverified.LoadOrStore(host, true); seen {
			level = slog.LevelDebug
		}
		s.logger.Log(context.Background(), level, "refused a Raft or membership connection on the TLS controller address: the peer presented "+
			"no certificate the truststore verifies (controllers authenticate each other with their ssl.keystore certificates)",
			"remote", c.RemoteAddr().String(), "err", errNoPeerCertificate)
		s.untrack(raw)
		c.Close()
		return
	}
	var out chan net.Conn
	var conn net.Conn
	switch {
	case err == nil && bytes.Equal(head, helloMagic):
		s.hello(c)
		s.untrack(raw)
		c.Close()
		return
	case err == nil && bytes.Equal(head, raftDirMagic):
		var want DirectoryID
		c.SetReadDeadline(time.Now().Add(sniffTimeout))
		_, err := io.ReadFull(c, want[:])
		c.SetReadDeadline(time.Time{})
		if err != nil || want != s.dir || want.IsZero() {
			if err == nil {
				s.logger.Log(context.Background(), s.refusalLevel(want), "refused a Raft connection meant for another directory of this node id (a replaced disk?)",
					"wanted_directory_id", want.String(), "directory_id", s.dir.String(), "remote", c.RemoteAddr().String())
			}
			s.untrack(raw)
			c.Close()
			return
		}
		out, conn = s.raftCh, &trackedConn{Conn: c, key: raw, layer: s}
	case err == nil && bytes.Equal(head, raftMagic):
		if !s.dir.IsZero() {
			s.logger.Log(context.Background(), s.refusalLevel(DirectoryID{}), "refused a Raft connection that names no directory id: this node has one (directory_id), so the sender's configuration names an older directory of it",
				"directory_id", s.dir.String(), "remote", c.RemoteAddr().String())
			s.untrack(raw)
			c.Close()
			return
		}
		out, conn = s.raftCh, &trackedConn{Conn: c, key: raw, layer: s}
	default:
		// Not Raft: a Kafka client. Replay what was read; a short read (the peer sent fewer
		// than four bytes and then closed or stalled) reaches the Kafka server, which
		// answers it as it would any truncated frame.
		out, conn = s.kafkaCh, &trackedConn{Conn: c, key: raw, layer: s, prefix: head[:n]}
	}
	select {
	case out <- conn:
	case <-s.done:
		conn.Close()
	}
}

// refusalLevel is Warn for the first refused connection meant for directory want and Debug for
// later ones: the leader retries an old voter until an operator removes it.
func (s *streamLayer) refusalLevel(want DirectoryID) slog.Level {
	if _, seen := s.refused.LoadOrStore(want, true); seen {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

func (s *streamLayer) track(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return false
	}
	s.mu.conns[c] = struct{}{}
	return true
}

func (s *streamLayer) untrack(c io.Closer) {
	s.mu.Lock()
	delete(s.mu.conns, c)
	s.mu.Unlock()
}

// Accept returns the next Raft connection.
func (s *streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.raftCh:
		return c, nil
	case <-s.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes every connection accepted for Raft or not yet handed to
// the Kafka listener. Connections the Kafka server took are its own to close.
func (s *streamLayer) Close() error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.closed = true
	close(s.done)
	conns := s.mu.conns
	s.mu.conns = nil
	s.mu.Unlock()
	err := s.ln.Close()
	for c := range conns {
		c.Close()
	}
	s.wg.Wait()
	return err
}

func (s *streamLayer) Addr() net.Addr { return s.advertise }

func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	hostport, dir, err := splitServerAddress(address)
	if err != nil {
		return nil, err
	}
	head := raftMagic
	if !dir.IsZero() {
		head = append(append([]byte(nil), raftDirMagic...), dir[:]...)
	}
	c, err := dialController(context.Background(), s.tls, hostport, timeout)
	if err != nil {
		return nil, err
	}
	c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write(head); err != nil {
		c.Close()
		return nil, err
	}
	c.SetWriteDeadline(time.Time{})
	return c, nil
}

// kafka returns a listener of the controller address's Kafka connections. Closing it stops
// its Accept; the shared TCP listener closes with the quorum.
func (s *streamLayer) kafka() net.Listener {
	return &kafkaListener{s: s, closed: make(chan struct{})}
}

type kafkaListener struct {
	s      *streamLayer
	closed chan struct{}
	once   sync.Once
}

func (l *kafkaListener) Accept() (net.Conn, error) {
	select {
	case <-l.closed:
		return nil, net.ErrClosed
	case c := <-l.s.kafkaCh:
		// The Kafka server owns it from here: stop tracking, so Close of the quorum does not
		// cut a connection the server is answering on (the server closes its own).
		tc := c.(*trackedConn)
		l.s.untrack(tc.key)
		tc.layer = nil
		return tc, nil
	case <-l.s.done:
		return nil, net.ErrClosed
	}
}

func (l *kafkaListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// Addr is the controller address (host:port, without the directory id Raft's address has).
func (l *kafkaListener) Addr() net.Addr {
	hp, _, _ := splitServerAddress(raft.ServerAddress(l.s.advertise.String()))
	if a, err := net.ResolveTCPAddr("tcp", hp); err == nil {
		return a
	}
	return raftAddr(hp)
}

// trackedConn is an accepted connection; prefix holds bytes read while sniffing that the
// reader still has to see.
type trackedConn struct {
	net.Conn
	key    net.Conn // the accepted TCP connection (Conn itself, or the TLS connection over it)
	layer  *streamLayer
	prefix []byte
}

// ConnectionState is the TLS connection's state (zero on a plain controller address): the
// Kafka server takes the principal from it (server.TLS with a nil Config).
func (c *trackedConn) ConnectionState() tls.ConnectionState {
	if tc, ok := c.Conn.(*tls.Conn); ok {
		return tc.ConnectionState()
	}
	return tls.ConnectionState{}
}

// remoteHost is c's remote IP (or address).
func remoteHost(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return c.RemoteAddr().String()
}

func (c *trackedConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *trackedConn) Close() error {
	if c.layer != nil {
		c.layer.untrack(c.key)
	}
	return c.Conn.Close()
}
