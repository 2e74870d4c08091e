package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/security/quota"
)

var (
	// ErrFrameSize is returned for a size prefix outside
	// [minFrameSize, socket.request.max.bytes]; nothing is allocated for it.
	ErrFrameSize = errors.New("server: request frame size out of bounds")
	// ErrUnsupportedRequest is returned for an api key Sluice does not serve,
	// or a version outside its range (other than ApiVersions, which is
	// answered): Kafka closes such connections.
	ErrUnsupportedRequest = errors.New("server: unsupported request")

	errDraining = errors.New("server: draining")
	errIdle     = errors.New("server: connection idle")
)

// conn is one client connection.
//
// Goroutines: the read loop (serve's caller) owns br and runs handlers; the
// write loop owns fw; each Finish runs on its own goroutine and hands its
// result over through inflight.done. The queue carries requests in arrival
// order from the read loop to the write loop, which is what keeps responses
// in request order.
type conn struct {
	srv    *Server
	nc     net.Conn
	br     *bufio.Reader
	info   api.ConnInfo
	sasl   *saslConn // nil unless the listener is a SASL listener (sasl.go)
	logger *slog.Logger

	// workCtx is handed to handlers and Finish; it is canceled when the
	// connection drains or aborts, so waits end promptly.
	workCtx    context.Context
	cancelWork context.CancelFunc
	draining   atomic.Bool
	abortOnce  sync.Once
	aborted    chan struct{} // closed by abort: stop writing, close the socket
	ended      chan struct{} // closed when serve returns (api.ConnInfo.Closed)

	queue        chan *inflight
	inFlight     atomic.Int32  // requests queued or being written
	heldBytes    atomic.Int64  // bytes of frames read and not yet released (MaxInFlightBytes)
	released     chan struct{} // signaled (never closed) when a frame is released
	lastActivity atomic.Int64  // unix nanoseconds of the last byte read or response written
	mutedUntil   atomic.Int64  // unix nanoseconds until which no request is handled (quota throttling, throttle.go)
	finishWG     sync.WaitGroup
}

// inflight is a request whose response is pending.
type inflight struct {
	key           int16
	version       int16
	start         time.Time // when the request's frame was read (Observer latency)
	correlationID int32
	frame         []byte        // the request's frame, recycled once the response is written
	done          chan struct{} // closed once resp and err are set
	resp          api.Response
	err           error
	rawToken      []byte // with key rawTokenKey: a SASL token written without a header (sasl.go)
}

func newConn(s *Server, nc net.Conn) *conn {
	nc = s.wrapTLS(nc)
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{})
	c := &conn{
		srv: s,
		nc:  nc,
		br:  bufio.NewReaderSize(nc, readBufferSize),
		info: api.ConnInfo{Listener: s.cfg.ListenerName, Local: nc.LocalAddr(), Remote: nc.RemoteAddr(),
			Host: api.RemoteHost(nc.RemoteAddr()), Closed: ended},
		logger:     s.logger.With("remote", nc.RemoteAddr().String()),
		workCtx:    ctx,
		cancelWork: cancel,
		aborted:    make(chan struct{}),
		ended:      ended,
		queue:      make(chan *inflight, s.cfg.MaxInFlight),
		released:   make(chan struct{}, 1),
	}
	if s.cfg.SASL != nil {
		c.sasl = newSASLConn(s.cfg.SASL, s.cfg.ListenerName)
	}
	c.info.Quotas = new(quota.ConnQuotas)
	c.touch()
	return c
}

// serve runs the connection until the peer leaves, a frame is bad, the
// connection idles out or the server stops.
func (c *conn) serve() {
	if err := c.handshake(); err != nil {
		// Kafka logs failed handshakes at INFO ("SSL handshake failed").
		c.logger.Info("closing connection: TLS handshake failed", "err", err)
		c.cancelWork()
		c.nc.Close()
		close(c.ended)
		return
	}
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	if idle := c.srv.cfg.IdleTimeout; idle > 0 {
		c.nc.SetReadDeadline(time.Now().Add(idle))
	}
	err := c.readLoop()
	if c.sasl != nil {
		c.saslConnectionEnded()
	}
	switch {
	case err == nil, errors.Is(err, errDraining):
	case errors.Is(err, errIdle):
		c.logger.Debug("closing idle connection")
	case errors.Is(err, errAuthenticationFailed):
		// The failure response (if any) is queued: written before the socket closes.
	case errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrSessionExpired):
		c.logger.Info("closing connection", "err", err)
		c.abort()
	case errors.Is(err, ErrHandlerPanic):
		c.logger.Error("closing connection after a handler panic", "err", err)
		c.abort()
	case errors.Is(err, ErrMalformedRequest), errors.Is(err, ErrFrameSize), errors.Is(err, ErrRequestBudget),
		errors.Is(err, ErrUnsupportedRequest), errors.Is(err, io.ErrUnexpectedEOF):
		c.logger.Warn("closing connection after bad request", "err", err)
		c.abort()
	default:
		c.logger.Debug("closing connection", "err", err)
		c.abort()
	}
	close(c.queue)
	<-writerDone
	c.finishWG.Wait()
	c.cancelWork()
	c.nc.Close()
	close(c.ended)
}

// drain stops the connection gracefully: no new request is read, waits in
// handlers end, responses already owed are written.
func (c *conn) drain() {
	c.draining.Store(true)
	c.cancelWork()
	c.nc.SetReadDeadline(time.Now())
}

// abort closes the connection at once; owed responses are dropped.
func (c *conn) abort() {
	c.abortOnce.Do(func() {
		close(c.aborted)
		c.cancelWork()
		c.nc.Close()
	})
}

func (c *conn) isAborted() bool {
	select {
	case <-c.aborted:
		return true
	default:
		return false
	}
}

func (c *conn) touch() { c.lastActivity.Store(time.Now().UnixNano()) }

// readLoop reads and handles frames until an error; nil means the peer
// closed the connection between frames.
func (c *conn) readLoop() error {
	var sizeBuf [4]byte
	for {
		if err := c.readFull(sizeBuf[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
		if limit := c.frameLimit(); size < minFrameSize || size > limit {
			return fmt.Errorf("%w: %d bytes (limit %d, socket.request.max.bytes or, before SASL authentication, sasl.server.max.receive.size)", ErrFrameSize, size, limit)
		}
		if err := c.waitForRoom(int(size)); err != nil {
			return err
		}
		frame, err := c.readFrame(int(size))
		if err != nil {
			return err
		}
		if err := c.waitMuted(); err != nil {
			c.releaseFrame(frame, true)
			return err
		}
		if err := c.handleFrame(frame); err != nil {
			return err
		}
	}
}

// readFull fills p, riding out read deadlines while the connection is not
// idle. io.EOF means the peer closed before the first byte of p.
func (c *conn) readFull(p []byte) error {
	for n := 0; n < len(p); {
		m, err := c.br.Read(p[n:])
		n += m
		if m > 0 {
			c.touch()
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF) && n > 0:
			return io.ErrUnexpectedEOF
		case !isTimeout(err):
			return err
		case c.draining.Load():
			return errDraining
		case !c.extendDeadline():
			if c.draining.Load() {
				return errDraining
			}
			return errIdle
		}
	}
	return nil
}

// extendDeadline moves the read deadline after a timeout; false if the
// connection has been idle for connections.max.idle.ms. A connection is busy
// while it owes responses, however long they take (long polls).
func (c *conn) extendDeadline() bool {
	idle := c.srv.cfg.IdleTimeout
	if idle <= 0 {
		c.nc.SetReadDeadline(time.Time{})
	} else {
		last := time.Unix(0, c.lastActivity.Load())
		next := last.Add(idle)
		if c.inFlight.Load() > 0 {
			next = time.Now().Add(idle)
		} else if !next.After(time.Now()) {
			return false
		}
		c.nc.SetReadDeadline(next)
	}
	// drain may have set its immediate deadline before ours replaced it.
	return !c.draining.Load()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
