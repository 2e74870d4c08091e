package quorum

import (
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// streamLayer is Raft's TCP stream layer over a listener we own, so that tests can hand in a
// listener on port 0 and the advertised address can differ from the bound one.
//
// It also remembers the connections it accepted and closes them on Close: hashicorp's
// NetworkTransport stops accepting on Close but leaves each accepted connection's handler
// blocked in a read until the peer hangs up, which would leave goroutines behind a closed
// quorum.
type streamLayer struct {
	ln        net.Listener
	advertise net.Addr

	mu struct {
		sync.Mutex
		conns  map[*trackedConn]struct{}
		closed bool
	}
}

func (s *streamLayer) Accept() (net.Conn, error) {
	c, err := s.ln.Accept()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	if s.mu.conns == nil {
		s.mu.conns = map[*trackedConn]struct{}{}
	}
	tc := &trackedConn{Conn: c, layer: s}
	s.mu.conns[tc] = struct{}{}
	return tc, nil
}

func (s *streamLayer) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	s.mu.closed = true
	conns := s.mu.conns
	s.mu.conns = nil
	s.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
	return err
}

func (s *streamLayer) Addr() net.Addr { return s.advertise }

func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return (&net.Dialer{Timeout: timeout}).Dial("tcp", string(address))
}

type trackedConn struct {
	net.Conn
	layer *streamLayer
}

func (c *trackedConn) Close() error {
	c.layer.mu.Lock()
	delete(c.layer.mu.conns, c)
	c.layer.mu.Unlock()
	return c.Conn.Close()
}
