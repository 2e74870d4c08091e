package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Limits on what clients can make the broker hold, after Kafka's configs of the same names:
// connections in all and per address (max.connections, max.connections.per.ip and its
// overrides) and request bytes read but not yet answered (queued.max.request.bytes). Frames
// themselves are read into buffers that grow as their bytes arrive (readFrame), so a size
// prefix costs nothing until the client sends what it announced.

// ErrRequestBudget is returned when a frame could not grow within queued.max.request.bytes
// for frameGrowWait; the connection is closed and its bytes released.
var ErrRequestBudget = errors.New("server: queued.max.request.bytes exhausted")

// Reasons a connection is refused at accept, as told to Observer.ConnectionRejected.
const (
	RejectMaxConnections      = "max.connections"
	RejectMaxConnectionsPerIP = "max.connections.per.ip"
)

const (
	// firstFrameChunk is the buffer a frame starts in; it doubles as bytes arrive (a 1 MB
	// produce frame pays six doublings, copying its bytes once more in all). It is not charged
	// to queued.max.request.bytes, so requests that fit it (most but produce and large
	// commits) are never held back by the budget.
	firstFrameChunk = 16 << 10
	// DefaultMaxInFlightBytes bounds the request bytes of one connection read but not yet
	// answered; a single request of any size is still read when nothing else is owed.
	DefaultMaxInFlightBytes = 16 << 20
	// readBufferSize is each connection's read buffer: small, since 10,000 idle connections
	// hold one each; frames of this size or more are read straight into their own buffer.
	readBufferSize = 4 << 10
)

// frameGrowWait bounds how long a partly read frame waits for budget past twice
// queued.max.request.bytes before its connection is closed: frames that already started cannot
// all wait for each other forever. A variable so tests can shorten it.
var frameGrowWait = 10 * time.Second

// connLimiter counts live connections per address and refuses those past the limits.
type connLimiter struct {
	max, perIP int // 0: no limit; < 0: none allowed
	overrides  map[netip.Addr]int

	mu struct {
		sync.Mutex
		total int
		perIP map[netip.Addr]int
	}
}

func newConnLimiter(max, perIP int, overrides map[string]int) (*connLimiter, error) {
	l := &connLimiter{max: max, perIP: perIP, overrides: make(map[netip.Addr]int, len(overrides))}
	for ip, n := range overrides {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return nil, fmt.Errorf("server: max.connections.per.ip.overrides: %w", err)
		}
		l.overrides[addr.Unmap()] = n
	}
	l.mu.perIP = make(map[netip.Addr]int)
	return l, nil
}

// remoteAddr is the address a connection is counted under (the zero Addr for non-IP peers).
func remoteAddr(nc net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// admit counts a new connection from addr, or returns the limit it would pass. A limit of 0
// is no limit, a negative one refuses every connection (Kafka's 0, e.g. max.connections.per.ip
// 0 with overrides naming the addresses allowed).
func (l *connLimiter) admit(addr netip.Addr) (reason string) {
	limit, ok := l.overrides[addr]
	if !ok {
		limit = l.perIP
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.max != 0 && l.mu.total >= max(l.max, 0):
		return RejectMaxConnections
	case (ok || limit != 0) && l.mu.perIP[addr] >= max(limit, 0):
		return RejectMaxConnectionsPerIP
	}
	l.mu.total++
	l.mu.perIP[addr]++
	return ""
}

func (l *connLimiter) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.total--
	if l.mu.perIP[addr]--; l.mu.perIP[addr] <= 0 {
		delete(l.mu.perIP, addr)
	}
}

// requestBudget is queued.max.request.bytes: the bytes of request frames read (or being
// read) and not yet recycled, across all connections. A connection starts reading a frame
// only while the total is below the limit, and waits otherwise (Kafka mutes such sockets);
// a frame already started charges its growth, waiting only past twice the limit. Frames
// started under the limit are what lets the total pass it, never by more than they are.
type requestBudget struct {
	limit int64 // <= 0: no limit

	mu struct {
		sync.Mutex
		used int64
		wake chan struct{} // closed and replaced by every release
	}
}

func newRequestBudget(limit int64) *requestBudget {
	b := &requestBudget{limit: limit}
	b.mu.wake = make(chan struct{})
	return b
}

// admit waits until a new frame may start: the bytes in use are below the limit.
func (b *requestBudget) admit(ctx context.Context) error {
	if b.limit <= 0 {
		return nil
	}
	for {
		b.mu.Lock()
		if b.mu.used < b.limit {
			b.mu.Unlock()
			return nil
		}
		wake := b.mu.wake
		b.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// grow charges n more bytes of a frame that already holds own. It waits while that would
// pass twice the limit and others hold bytes, at most frameGrowWait.
func (b *requestBudget) grow(ctx context.Context, n, own int64) error {
	if b.limit <= 0 {
		return nil
	}
	var timeout <-chan time.Time
	for {
		b.mu.Lock()
		if b.mu.used+n <= 2*b.limit || b.mu.used == own {
			b.mu.used += n
			b.mu.Unlock()
			return nil
		}
		wake := b.mu.wake
		b.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(frameGrowWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-wake:
		case <-timeout:
			return fmt.Errorf("%w: %d bytes in use, limit %d", ErrRequestBudget, b.used(), b.limit)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (b *requestBudget) release(n int64) {
	if b.limit <= 0 || n == 0 {
		return
	}
	b.mu.Lock()
	b.mu.used -= n
	close(b.mu.wake)
	b.mu.wake = make(chan struct{})
	b.mu.Unlock()
}

func (b *requestBudget) used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mu.used
}

// readFrame reads a frame of size bytes into a buffer that starts at firstFrameChunk and
// doubles as bytes arrive: a client that announces 100 MiB and trickles costs what it sent, not
// what it announced. Each doubling is charged to the broker's request budget; the first chunk
// is not (it is part of what a connection costs, bounded by the connections), so connections
// that announce frames and send nothing cannot spend queued.max.request.bytes.
func (c *conn) readFrame(size int) ([]byte, error) {
	budget := c.srv.budget
	frame := getFrame(min(size, firstFrameChunk))
	for n := 0; ; {
		if err := c.readFull(frame[n:]); err != nil {
			c.recycleFrame(frame, false)
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("truncated frame of %d bytes: %w", size, err)
		}
		n = len(frame)
		if n == size {
			c.heldBytes.Add(int64(n))
			return frame, nil
		}
		next := min(size, 2*n)
		if err := budget.grow(c.workCtx, int64(next-n), charged(n)); err != nil {
			c.recycleFrame(frame, false)
			if c.workCtx.Err() != nil {
				return nil, errDraining // drain or abort ended the wait
			}
			return nil, err
		}
		grown := getFrame(next)
		copy(grown, frame)
		putFrame(frame)
		frame = grown
	}
}

// charged is what a frame buffer of n bytes holds of the request budget: all but its first chunk.
func charged(n int) int64 { return int64(n - min(n, firstFrameChunk)) }

// recycleFrame returns a frame's bytes to the budget and its buffer to the pool (unless a
// failed handler may still hold it: reuse false).
func (c *conn) recycleFrame(frame []byte, reuse bool) {
	c.srv.budget.release(charged(len(frame)))
	if reuse {
		putFrame(frame)
	}
}

// releaseFrame recycles a frame readFrame returned, once its request is answered or dropped.
func (c *conn) releaseFrame(frame []byte, reuse bool) {
	c.heldBytes.Add(-int64(len(frame)))
	c.recycleFrame(frame, reuse)
	select {
	case c.released <- struct{}{}:
	default:
	}
}

// waitForRoom blocks the read loop before a frame of size bytes while the connection's
// unanswered requests hold MaxInFlightBytes (a single request is always read), then while
// the broker's request budget is spent.
func (c *conn) waitForRoom(size int) error {
	for {
		held := c.heldBytes.Load()
		if held == 0 || held+int64(size) <= int64(c.srv.cfg.MaxInFlightBytes) {
			break
		}
		select {
		case <-c.released:
		case <-c.workCtx.Done():
			return errDraining
		}
	}
	if err := c.srv.budget.admit(c.workCtx); err != nil {
		return errDraining
	}
	return nil
}
