package tests

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// faultNet is a Kafka-aware TCP proxy for fault injection: it listens on loopback, forwards
// every accepted connection to one target, reads the size-prefixed frames both ways, knows the
// API key of each in-flight request by correlation id (so responses are matched to their API
// too), and applies rules that a test changes while traffic flows. One faultNet stands for one
// link (client→broker, or broker→broker when the broker is told to dial it); a cluster test
// puts one in front of each node and routes clients with faultDialer.
//
// Rules (faultRule) are matched per frame by direction and API key; the rule added last among
// those that match decides. A frame waiting in a hold is looked at again whenever the rules
// change, so removing the rule releases it. Frames of one direction of one connection stay in
// order: a held or delayed frame holds back those behind it, as a slow link would.
//
// Safe for concurrent use. Everything is closed at test cleanup.
type faultNet struct {
	t   testing.TB
	ln  net.Listener
	raw bool // forward chunks of bytes, not frames: for links that are not Kafka (the Raft quorum)
	// classify, when set, names the source of a connection (the node it comes from, say) from
	// its request header's client id, or in raw mode from the first bytes it sent (up to
	// classifyHead); "" while it cannot tell. Rules with From match only connections so named.
	classify func(head []byte) string

	mu struct {
		sync.Mutex
		rules   []faultRule
		nextID  int
		refuse  bool
		target  string
		changed chan struct{} // closed and replaced when rules change
		conns   map[*faultConn]struct{}
		closed  bool
	}
	wg sync.WaitGroup

	// Counters of what the proxy did.
	Accepted, Refused, Forwarded, Delayed, Dropped, Held, Resets atomic.Int64
}

// faultDir is the direction a frame travels.
type faultDir uint8

const (
	anyDir       faultDir = 0
	toBroker     faultDir = 1 // requests
	toClient     faultDir = 2 // responses
	anyAPI                = int16(-1)
	maxFrameSz            = 200 << 20
	classifyHead          = 2048
)

func (d faultDir) String() string {
	switch d {
	case toBroker:
		return "requests"
	case toClient:
		return "responses"
	}
	return "both"
}

// faultAction is what a rule does to the frames it matches.
type faultAction uint8

const (
	actPass      faultAction = iota // forward
	actDelay                        // forward after Delay
	actBlackHole                    // drop the frame; the connection stays open
	actReset                        // close both sides with RST
	actHold                         // keep the frame (and those behind it) until the rule goes
)

func (a faultAction) String() string {
	return [...]string{"pass", "delay", "black-hole", "reset", "hold"}[a]
}

// faultRule selects frames by direction (anyDir: both), API key (anyAPI: all) and, when From
// is set, the source the proxy's classifier gave the connection ("node-3": the traffic node 3
// sends and the answers it gets).
type faultRule struct {
	Action faultAction
	Dir    faultDir
	APIKey int16
	From   string
	Delay  time.Duration
	id     int
}

// from scopes r to connections whose classified source is src.
func (r faultRule) from(src string) faultRule { r.From = src; return r }

func (r faultRule) String() string {
	api := "any api"
	if r.APIKey != anyAPI {
		api = fmt.Sprintf("api %d", r.APIKey)
	}
	s := fmt.Sprintf("%v %v of %s", r.Action, r.Dir, api)
	if r.From != "" {
		s += " from " + r.From
	}
	if r.Action == actDelay {
		s += " by " + r.Delay.String()
	}
	return s
}

func (r faultRule) matches(d faultDir, key int16, src string) bool {
	return (r.Dir == anyDir || r.Dir == d) && (r.APIKey == anyAPI || r.APIKey == key) && (r.From == "" || r.From == src)
}

// Rule constructors; key is an API key or anyAPI, dir a direction or anyDir.
func delayRule(dir faultDir, key int16, d time.Duration) faultRule {
	return faultRule{Action: actDelay, Dir: dir, APIKey: key, Delay: d}
}
func blackHoleRule(dir faultDir, key int16) faultRule {
	return faultRule{Action: actBlackHole, Dir: dir, APIKey: key}
}
func resetRule(dir faultDir, key int16) faultRule {
	return faultRule{Action: actReset, Dir: dir, APIKey: key}
}
func holdRule(dir faultDir, key int16) faultRule {
	return faultRule{Action: actHold, Dir: dir, APIKey: key}
}
func passRule(dir faultDir, key int16) faultRule {
	return faultRule{Action: actPass, Dir: dir, APIKey: key}
}

// startFaultNet listens on a free loopback port and forwards to target ("" until SetTarget:
// a broker can then be started with the proxy's address as its advertised address, so that
// every client and broker that learns it from metadata goes through the proxy).
func startFaultNet(t testing.TB, target string) *faultNet {
	return startFaultNetOn(t, "127.0.0.1", target, false)
}

// startRawFaultNet is a faultNet for a link that does not speak Kafka (the metadata quorum's
// Raft transport): it forwards chunks of bytes as they come; only rules for any API apply
// (delay, black-hole, hold and reset of everything in a direction), and refusal.
func startRawFaultNet(t testing.TB, target string) *faultNet {
	return startFaultNetOn(t, "127.0.0.1", target, true)
}

func startFaultNetOn(t testing.TB, host, target string, raw bool) *faultNet {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	p := &faultNet{t: t, ln: ln, raw: raw}
	p.mu.target = target
	p.mu.conns = make(map[*faultConn]struct{})
	p.mu.changed = make(chan struct{})
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr is where clients connect.
func (p *faultNet) Addr() string { return p.ln.Addr().String() }

// SetTarget changes where new connections go.
func (p *faultNet) SetTarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.target = target
}

// target is where new connections go.
func (p *faultNet) target() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.target
}

// Add installs a rule and returns its id for Remove.
func (p *faultNet) Add(r faultRule) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.nextID++
	r.id = p.mu.nextID
	p.mu.rules = append(p.mu.rules, r)
	p.changedLocked()
	return r.id
}

// Remove takes a rule out (held frames it matched are looked at again).
func (p *faultNet) Remove(id int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range p.mu.rules {
		if r.id == id {
			p.mu.rules = append(p.mu.rules[:i:i], p.mu.rules[i+1:]...)
			break
		}
	}
	p.changedLocked()
}

// Heal removes every rule and stops refusing connections.
func (p *faultNet) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.rules = nil
	p.mu.refuse = false
	p.changedLocked()
}

// Refuse makes new connections be reset as soon as they are accepted (on) or forwarded (off).
func (p *faultNet) Refuse(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.refuse = on
}

// ResetAll resets every open connection now (RST to both sides).
func (p *faultNet) ResetAll() int {
	p.mu.Lock()
	conns := make([]*faultConn, 0, len(p.mu.conns))
	for c := range p.mu.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.reset()
	}
	return len(conns)
}

// Conns is how many proxied connections are open.
func (p *faultNet) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.mu.conns)
}

// Sources is the classified sources of the open connections, sorted ("" for those not
// classified).
func (p *faultNet) Sources() []string {
	p.mu.Lock()
	conns := make([]*faultConn, 0, len(p.mu.conns))
	for c := range p.mu.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	var srcs []string
	for _, c := range conns {
		srcs = append(srcs, c.source())
	}
	sort.Strings(srcs)
	return srcs
}

// Stats is a one-line summary of the counters.
func (p *faultNet) Stats() string {
	return fmt.Sprintf("accepted %d refused %d forwarded %d delayed %d dropped %d held %d resets %d",
		p.Accepted.Load(), p.Refused.Load(), p.Forwarded.Load(), p.Delayed.Load(), p.Dropped.Load(), p.Held.Load(), p.Resets.Load())
}

// Pending lists, per open connection, the API keys of the requests forwarded and not yet
// answered ("conn 3: [0 0 1]"): what a stuck client is waiting for.
func (p *faultNet) Pending() string {
	p.mu.Lock()
	conns := make([]*faultConn, 0, len(p.mu.conns))
	for c := range p.mu.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	var parts []string
	for _, c := range conns {
		c.mu.Lock()
		keys := make([]int, 0, len(c.inFlight))
		for _, k := range c.inFlight {
			keys = append(keys, int(k))
		}
		c.mu.Unlock()
		sort.Ints(keys)
		parts = append(parts, fmt.Sprintf("conn %d: %v", c.id, keys))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

func (p *faultNet) changedLocked() {
	close(p.mu.changed)
	p.mu.changed = make(chan struct{})
}

// decide returns the rule for a frame (the last added that matches; pass if none) and the
// channel that is closed when the rules change next.
func (p *faultNet) decide(d faultDir, key int16, src string) (faultRule, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.mu.rules) - 1; i >= 0; i-- {
		if p.mu.rules[i].matches(d, key, src) {
			return p.mu.rules[i], p.mu.changed
		}
	}
	return faultRule{Action: actPass}, p.mu.changed
}

// Close stops listening and closes every connection; it waits for the proxy's goroutines.
func (p *faultNet) Close() {
	p.ln.Close()
	p.mu.Lock()
	p.mu.closed = true
	conns := make([]*faultConn, 0, len(p.mu.conns))
	for c := range p.mu.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	p.wg.Wait()
}

func setLinger0(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
}

func (p *faultNet) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse, target := p.mu.refuse, p.mu.target
		p.mu.Unlock()
		if refuse || target == "" {
			p.Refused.Add(1)
			setLinger0(client)
			client.Close()
			continue
		}
		broker, err := net.DialTimeout("tcp", target, 5*time.Second)
		if err != nil {
			setLinger0(client)
			client.Close()
			continue
		}
		c := &faultConn{p: p, id: p.Accepted.Load() + 1, client: client, broker: broker, done: make(chan struct{}), inFlight: make(map[int32]int16)}
		p.mu.Lock()
		if p.mu.closed {
			p.mu.Unlock()
			client.Close()
			broker.Close()
			return
		}
		p.mu.conns[c] = struct{}{}
		p.mu.Unlock()
		p.Accepted.Add(1)
		p.wg.Add(2)
		go c.pump(toBroker)
		go c.pump(toClient)
	}
}

// faultConn is one client connection and its connection to the target.
type faultConn struct {
	p              *faultNet
	id             int64
	client, broker net.Conn
	done           chan struct{}
	once           sync.Once

	mu       sync.Mutex
	inFlight map[int32]int16 // correlation id → API key
	src      string          // the classifier's name for the source ("" unknown)
	head     []byte          // raw mode: the first bytes sent, until classified
}

// source is the connection's classified source.
func (c *faultConn) source() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.src
}

// learn feeds the classifier what the client sent: a request's client id, or in raw mode the
// next chunk of the stream.
func (c *faultConn) learn(b []byte) {
	if c.p.classify == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.src != "" {
		return
	}
	if !c.p.raw {
		c.src = c.p.classify(b)
		return
	}
	if len(c.head) >= classifyHead {
		return
	}
	c.head = append(c.head, b[:min(len(b), classifyHead-len(c.head))]...)
	c.src = c.p.classify(c.head)
}

func (c *faultConn) close() {
	c.once.Do(func() {
		// Forget the connection before closing it: once the client sees the close, Conns and
		// ResetAll must no longer count it.
		c.p.mu.Lock()
		delete(c.p.mu.conns, c)
		c.p.mu.Unlock()
		close(c.done)
		c.client.Close()
		c.broker.Close()
	})
}

func (c *faultConn) reset() {
	setLinger0(c.client)
	setLinger0(c.broker)
	c.p.Resets.Add(1)
	c.close()
}

// pump forwards the frames of one direction, applying the rules to each.
func (c *faultConn) pump(d faultDir) {
	defer c.p.wg.Done()
	defer c.close()
	defer c.closeLate(d)
	src, dst := c.client, c.broker
	if d == toClient {
		src, dst = c.broker, c.client
	}
	if c.p.raw {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 && d == toBroker {
				c.learn(buf[:n])
			}
			if n > 0 && !c.apply(d, anyAPI-1, 0, append([]byte(nil), buf[:n]...), dst) {
				return
			}
			if err != nil {
				return
			}
		}
	}
	for {
		frame, err := readFrame(src)
		if err != nil || len(frame) < 8 {
			return
		}
		var key int16
		corr := int32(binary.BigEndian.Uint32(frame[4:]))
		if d == toBroker {
			if len(frame) < 12 {
				return
			}
			key = int16(binary.BigEndian.Uint16(frame[4:]))
			corr = int32(binary.BigEndian.Uint32(frame[8:]))
			c.mu.Lock()
			c.inFlight[corr] = key
			c.mu.Unlock()
			if id, ok := requestClientID(frame); ok {
				c.learn(id)
			}
		} else {
			c.mu.Lock()
			k, ok := c.inFlight[corr]
			delete(c.inFlight, corr)
			c.mu.Unlock()
			if !ok {
				k = anyAPI - 1 // a response to nothing we saw: matches only any-API rules
			}
			key = k
		}
		if !c.apply(d, key, corr, frame, dst) {
			return
		}
	}
}

// closeLate delays passing on the end of src's stream while a black-hole or hold rule for
// every API covers the direction: a partitioned link does not deliver the peer's close either.
func (c *faultConn) closeLate(d faultDir) {
	for {
		r, changed := c.p.decide(d, anyAPI-1, c.source())
		if r.Action != actBlackHole && r.Action != actHold {
			return
		}
		select {
		case <-changed:
		case <-c.done:
			return
		}
	}
}

// apply runs the rules on one frame; false ends the connection.
func (c *faultConn) apply(d faultDir, key int16, corr int32, frame []byte, dst net.Conn) bool {
	held := false
	for {
		r, changed := c.p.decide(d, key, c.source())
		switch r.Action {
		case actHold:
			if !held {
				held = true
				c.p.Held.Add(1)
			}
			select {
			case <-changed:
				continue
			case <-c.done:
				return false
			}
		case actReset:
			c.reset()
			return false
		case actBlackHole:
			c.p.Dropped.Add(1)
			if d == toBroker && !c.p.raw { // no response will come for it
				c.mu.Lock()
				delete(c.inFlight, corr)
				c.mu.Unlock()
			}
			return true
		case actDelay:
			c.p.Delayed.Add(1)
			tm := time.NewTimer(r.Delay)
			select {
			case <-tm.C:
			case <-c.done:
				tm.Stop()
				return false
			}
		}
		c.p.Forwarded.Add(1) // before the write: a test that saw the frame sees it counted
		if _, err := dst.Write(frame); err != nil {
			return false
		}
		return true
	}
}

// faultDialer routes a client's connections to broker addresses through their proxies
// (addresses not in the map are dialed directly): use it as kgo.Dialer so that the brokers'
// advertised addresses, learned from Metadata, still go through the faults.
func faultDialer(routes map[string]*faultNet) func(ctx context.Context, network, host string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, host string) (net.Conn, error) {
		if p, ok := routes[host]; ok {
			host = p.Addr()
		}
		return d.DialContext(ctx, network, host)
	}
}

// requestClientID is the client id of a request frame (size, then header v1+: api key,
// version, correlation id, client id as a nullable int16-length string); false for a header
// without one (v0) or a null id.
func requestClientID(frame []byte) ([]byte, bool) {
	if len(frame) < 14 {
		return nil, false
	}
	n := int16(binary.BigEndian.Uint16(frame[12:]))
	if n < 0 || len(frame) < 14+int(n) {
		return nil, false
	}
	return frame[14 : 14+int(n)], true
}
