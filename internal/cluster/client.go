// Package cluster is a node's side of the cluster's control plane that travels over the
// network: the client that reaches the active controller's listener (forwarded requests,
// broker registration and heartbeats, producer id blocks, topic creation), the broker
// lifecycle that registers this node and keeps its session alive, and the remote face of the
// controller that a node which is not the active controller hands its handlers.
//
// The controller side of these requests is internal/api's controller-listener handlers over
// metadata.Controller; the quorum that elects the controller is internal/quorum.
package cluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
)

// ErrNoController: the active controller is not known (an election is under way) or could not
// be reached before the request's context ended.
var ErrNoController = errors.New("cluster: no reachable active controller")

// maxResponseBytes bounds a controller's answer read by the client (a forwarded
// DescribeConfigs of many topics is the largest); a bigger size prefix is a broken stream.
const maxResponseBytes = 100 << 20

// retryBackoff is the wait between attempts while the controller is unknown or moving.
const retryBackoff = 50 * time.Millisecond

// Options configure a Client.
type Options struct {
	// NodeID is this node's id, sent as the client id "sluice-node-N".
	NodeID int32
	// Controller returns the active controller's id and controller address (the quorum's
	// leader), if one is known.
	Controller func() (id int32, addr string, ok bool)
	// Local reports whether this node is the active controller.
	Local func() bool
	// ClientID replaces the client id "sluice-node-N" when set (the replica fetchers send
	// "sluice-replica-N", so that a broker's logs and a test's proxy can tell them apart).
	ClientID string
	// SASL, if set, authenticates every connection to a Kafka listener (Send, SendInto); not
	// those to the controller listener (ToController, Envelope): ControllerSASL does (sasl.go).
	SASL *SASLCredentials
	// ControllerTLS and ControllerSASL secure the connections to controller listeners
	// (ToController, Envelope) when the controller listener is SSL or SASL_SSL; nil: plain TCP,
	// no authentication.
	ControllerTLS  func(addr string) *tls.Config
	ControllerSASL *SASLCredentials
	// DialTimeout bounds a connection attempt (0: 5 s), its TLS handshake included.
	DialTimeout time.Duration
	// TLS, if set, returns the TLS configuration for connecting to addr on a Kafka listener
	// (Send, SendInto; the inter-broker listener is SSL or SASL_SSL: tlsconf.Client.Config);
	// nil connects in plain TCP.
	TLS    func(addr string) *tls.Config
	Logger *slog.Logger
}

// Client sends requests to controller listeners. It keeps a few idle connections per address
// and negotiates versions once per connection (ApiVersions), so nodes of different builds
// speak what both know.
//
// Concurrency: safe for concurrent use; each request has a connection to itself.
type Client struct {
	opts     Options
	clientID string

	mu struct {
		sync.Mutex
		idle   map[string][]*conn
		closed bool
	}
}

// maxIdle is the number of idle connections kept per address.
const maxIdle = 4

// NewClient returns a client; Close releases its connections.
func NewClient(opts Options) *Client {
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{opts: opts, clientID: fmt.Sprintf("sluice-node-%d", opts.NodeID)}
	if opts.ClientID != "" {
		c.clientID = opts.ClientID
	}
	c.mu.idle = make(map[string][]*conn)
	return c
}

// ControllerIsLocal reports whether this node is the active controller (api.Forwarder).
func (c *Client) ControllerIsLocal() bool { return c.opts.Local != nil && c.opts.Local() }

// ActiveController returns the active controller's id and address, if known.
func (c *Client) ActiveController() (int32, string, bool) {
	if c.opts.Controller == nil {
		return -1, "", false
	}
	return c.opts.Controller()
}

// Envelope forwards a client's request to the active controller (api.Forwarder), retrying
// while the controller is unknown, unreachable or answers NOT_CONTROLLER.
func (c *Client) Envelope(ctx context.Context, req *kmsg.EnvelopeRequest) (*kmsg.EnvelopeResponse, error) {
	resp, err := c.ToController(ctx, req, func(r kmsg.Response) bool {
		return r.(*kmsg.EnvelopeResponse).ErrorCode == kerr.NotController.Code
	})
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.EnvelopeResponse), nil
}

// ToController sends req to the active controller and returns its answer. It tries again
// after a short wait while no controller is known, the connection fails, or notController
// (if set) says the answer came from a node that is no longer the controller, until ctx ends.
func (c *Client) ToController(ctx context.Context, req kmsg.Request, notController func(kmsg.Response) bool) (kmsg.Response, error) {
	var last error = ErrNoController
	for {
		if _, addr, ok := c.ActiveController(); ok {
			resp, err := c.send(ctx, addr, req, true)
			switch {
			case err == nil && (notController == nil || !notController(resp)):
				return resp, nil
			case err == nil:
				last = fmt.Errorf("%w: %s answered NOT_CONTROLLER", ErrNoController, addr)
			default:
				last = fmt.Errorf("%w: %s: %w", ErrNoController, addr, err)
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (%w)", last, ctx.Err())
		case <-time.After(retryBackoff):
		}
	}
}

// Send sends req to the controller listener at addr at the highest version both sides
// support and returns the answer. A request without a deadline in ctx gets 30 s.
func (c *Client) Send(ctx context.Context, addr string, req kmsg.Request) (kmsg.Response, error) {
	return c.send(ctx, addr, req, false)
}

func (c *Client) send(ctx context.Context, addr string, req kmsg.Request, controllerListener bool) (kmsg.Response, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	cn, err := c.get(ctx, addr, controllerListener)
	if err != nil {
		return nil, err
	}
	resp, err := cn.roundTrip(ctx, req)
	if err != nil {
		cn.close()
		return nil, err
	}
	c.put(addr, cn)
	return resp, nil
}

// SendInto is Send reading the answer into *body, which it grows as needed and keeps for the
// next call: the answer (its byte fields, a Fetch response's records) points into *body, so the
// caller must be done with it before it reuses *body. The replica fetchers use it to read every
// fetch response into one buffer instead of a new zeroed one each time.
func (c *Client) SendInto(ctx context.Context, addr string, req kmsg.Request, body *[]byte) (kmsg.Response, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	cn, err := c.get(ctx, addr, false)
	if err != nil {
		return nil, err
	}
	cn.body = body
	resp, err := cn.roundTrip(ctx, req)
	cn.body = nil
	if err != nil {
		cn.close()
		return nil, err
	}
	c.put(addr, cn)
	return resp, nil
}

// Close closes the idle connections; requests in flight finish on their own.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.closed = true
	for addr, conns := range c.mu.idle {
		for _, cn := range conns {
			cn.close()
		}
		delete(c.mu.idle, addr)
	}
}

func (c *Client) get(ctx context.Context, addr string, controllerListener bool) (*conn, error) {
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return nil, errors.New("cluster: client closed")
	}
	for conns := c.mu.idle[addr]; len(conns) > 0; conns = c.mu.idle[addr] {
		cn := conns[len(conns)-1]
		c.mu.idle[addr] = conns[:len(conns)-1]
		if !cn.retireAt.IsZero() && time.Now().After(cn.retireAt) {
			cn.close() // its SASL session is about to end
			continue
		}
		c.mu.Unlock()
		return cn, nil
	}
	c.mu.Unlock()
	return c.dial(ctx, addr, controllerListener)
}

func (c *Client) put(addr string, cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.closed || len(c.mu.idle[addr]) >= maxIdle {
		cn.close()
		return
	}
	c.mu.idle[addr] = append(c.mu.idle[addr], cn)
}

func (c *Client) dial(ctx context.Context, addr string, controllerListener bool) (*conn, error) {
	d := net.Dialer{Timeout: c.opts.DialTimeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tlsFor, creds := c.opts.TLS, c.opts.SASL
	if controllerListener {
		tlsFor, creds = c.opts.ControllerTLS, c.opts.ControllerSASL
	}
	if tlsFor != nil {
		hctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
		tc := tls.Client(nc, tlsFor(addr))
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
		}
		nc = tc
	}
	cn := &conn{nc: nc, br: bufio.NewReader(nc), format: kmsg.NewRequestFormatter(kmsg.FormatterClientID(c.clientID))}
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	av.ClientSoftwareName, av.ClientSoftwareVersion = "sluice", "cluster"
	resp, err := cn.exchange(ctx, av)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("api versions from %s: %w", addr, err)
	}
	r := resp.(*kmsg.ApiVersionsResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		nc.Close()
		return nil, fmt.Errorf("api versions from %s: %w", addr, err)
	}
	cn.versions = make(map[int16][2]int16, len(r.ApiKeys))
	for _, k := range r.ApiKeys {
		cn.versions[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
	}
	if creds != nil {
		start := time.Now()
		lifetime, err := cn.authenticate(ctx, addr, creds)
		if err != nil {
			nc.Close()
			return nil, err
		}
		if lifetime > 0 {
			cn.retireAt = start.Add(time.Duration(float64(lifetime) * reauthMargin))
		}
	}
	return cn, nil
}

// conn is one connection to a controller listener, used by one request at a time.
type conn struct {
	nc       net.Conn
	br       *bufio.Reader
	format   *kmsg.RequestFormatter
	corr     int32
	versions map[int16][2]int16 // key → the peer's [min, max]
	buf      []byte
	body     *[]byte   // set by SendInto for one exchange: the buffer to read the answer into
	retireAt time.Time // when its SASL session nears its end (zero: never); see get
}

func (cn *conn) close() { cn.nc.Close() }

// roundTrip sends req at the highest version both sides serve.
func (cn *conn) roundTrip(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	r, ok := cn.versions[req.Key()]
	v := min(req.MaxVersion(), api.MaxVersion(req.Key()), r[1])
	if !ok || v < r[0] {
		return nil, fmt.Errorf("%s: not served on %s's controller listener", kmsg.NameForKey(req.Key()), cn.nc.RemoteAddr())
	}
	req.SetVersion(v)
	return cn.exchange(ctx, req)
}

// exchange writes req and reads its answer; ctx's end interrupts both.
func (cn *conn) exchange(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	stop := context.AfterFunc(ctx, func() { cn.nc.SetDeadline(time.Now()) })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		cn.nc.SetDeadline(d)
	}
	cn.corr++
	cn.buf = cn.format.AppendRequest(cn.buf[:0], req, cn.corr)
	if _, err := cn.nc.Write(cn.buf); err != nil {
		return nil, ctxErr(ctx, err)
	}
	var size [4]byte
	if _, err := io.ReadFull(cn.br, size[:]); err != nil {
		return nil, ctxErr(ctx, err)
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > maxResponseBytes {
		return nil, fmt.Errorf("response of %d bytes from %s", n, cn.nc.RemoteAddr())
	}
	var body []byte
	if cn.body != nil {
		if cap(*cn.body) < int(n) {
			*cn.body = make([]byte, n)
		}
		body = (*cn.body)[:n]
	} else {
		body = make([]byte, n)
	}
	if _, err := io.ReadFull(cn.br, body); err != nil {
		return nil, ctxErr(ctx, err)
	}
	resp, corr, err := api.DecodeResponse(req, body)
	if err != nil {
		return nil, fmt.Errorf("%s response from %s: %w", kmsg.NameForKey(req.Key()), cn.nc.RemoteAddr(), err)
	}
	if corr != cn.corr {
		return nil, fmt.Errorf("%s response from %s: correlation id %d, want %d", kmsg.NameForKey(req.Key()), cn.nc.RemoteAddr(), corr, cn.corr)
	}
	return resp, nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
