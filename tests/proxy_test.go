package tests

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// faultProxy forwards Kafka connections to a broker and breaks some of them
// on purpose: it reads the frames in both directions (size-prefixed, as
// Kafka frames them), remembers which API each in-flight request is, and
// for every cutEvery-th Produce response forwards only the first half of
// the frame and then closes both sides. The broker has appended those
// records; the client sees a dead connection and must retry — the case
// idempotent producers exist for.
type faultProxy struct {
	t        *testing.T
	ln       net.Listener
	target   string
	cutEvery int64
	maxCuts  int64

	produceResponses atomic.Int64
	cuts             atomic.Int64
	wg               sync.WaitGroup

	// holdAfterCut, when set, makes the proxy refuse connections (accept
	// and close at once) after its next cut until Release, and signals the
	// cut on cutHappened: a test can then restart the broker while the
	// producer's retry is held back.
	holdAfterCut atomic.Bool
	holding      atomic.Bool
	cutHappened  chan struct{}

	mu struct {
		sync.Mutex
		conns  map[net.Conn]struct{}
		closed bool
	}
}

func startFaultProxy(t *testing.T, target string, cutEvery, maxCuts int64) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{t: t, ln: ln, target: target, cutEvery: cutEvery, maxCuts: maxCuts, cutHappened: make(chan struct{}, 1)}
	p.mu.conns = make(map[net.Conn]struct{})
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is where clients connect.
func (p *faultProxy) Addr() string { return p.ln.Addr().String() }

// HoldAfterNextCut arms the hold: after the next cut, connections are
// refused until Release; CutHappened receives once then.
func (p *faultProxy) HoldAfterNextCut() { p.holdAfterCut.Store(true) }

// CutHappened receives after a cut that started a hold.
func (p *faultProxy) CutHappened() <-chan struct{} { return p.cutHappened }

// Release ends a hold.
func (p *faultProxy) Release() { p.holding.Store(false) }

// Cuts is how many produce responses were cut so far.
func (p *faultProxy) Cuts() int64 { return p.cuts.Load() }

func (p *faultProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.holding.Load() {
			client.Close()
			continue
		}
		broker, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		if !p.track(client, broker) {
			return
		}
		pc := &proxiedConn{p: p, client: client, broker: broker, inFlight: make(map[int32]int16)}
		p.wg.Add(2)
		go pc.requests()
		go pc.responses()
	}
}

func (p *faultProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.closed {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.mu.conns[c] = struct{}{}
	}
	return true
}

func (p *faultProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	p.mu.closed = true
	for c := range p.mu.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// proxiedConn is one client connection and its broker connection.
type proxiedConn struct {
	p              *faultProxy
	client, broker net.Conn
	mu             sync.Mutex
	inFlight       map[int32]int16 // correlation id → API key
}

func (c *proxiedConn) shut() {
	c.client.Close()
	c.broker.Close()
}

// readFrame reads one size-prefixed frame (prefix included).
func readFrame(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 4 || n > 200<<20 {
		return nil, errors.New("proxy: bad frame size")
	}
	frame := make([]byte, 4+n)
	copy(frame, size[:])
	_, err := io.ReadFull(r, frame[4:])
	return frame, err
}

// requests forwards client frames, noting each request's API key.
func (c *proxiedConn) requests() {
	defer c.p.wg.Done()
	defer c.shut()
	for {
		frame, err := readFrame(c.client)
		if err != nil || len(frame) < 12 {
			return
		}
		key := int16(binary.BigEndian.Uint16(frame[4:]))
		corr := int32(binary.BigEndian.Uint32(frame[8:]))
		c.mu.Lock()
		c.inFlight[corr] = key
		c.mu.Unlock()
		if _, err := c.broker.Write(frame); err != nil {
			return
		}
	}
}

// responses forwards broker frames, cutting the chosen Produce responses
// in half.
func (c *proxiedConn) responses() {
	defer c.p.wg.Done()
	defer c.shut()
	for {
		frame, err := readFrame(c.broker)
		if err != nil || len(frame) < 8 {
			return
		}
		corr := int32(binary.BigEndian.Uint32(frame[4:]))
		c.mu.Lock()
		key, ok := c.inFlight[corr]
		delete(c.inFlight, corr)
		c.mu.Unlock()
		if ok && key == 0 && c.p.produceResponses.Add(1)%c.p.cutEvery == 0 && c.p.cuts.Load() < c.p.maxCuts {
			c.p.cuts.Add(1)
			if c.p.holdAfterCut.CompareAndSwap(true, false) {
				c.p.holding.Store(true)
				select {
				case c.p.cutHappened <- struct{}{}:
				default:
				}
			}
			_, _ = c.client.Write(frame[:len(frame)/2])
			return
		}
		if _, err := c.client.Write(frame); err != nil {
			return
		}
	}
}
