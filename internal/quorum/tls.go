package quorum

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"
)

// TLS secures the controller address when the controller listener is SSL or SASL_SSL: every
// accepted connection completes a TLS handshake (on its own goroutine, bounded by
// HandshakeTimeout) before its first four bytes are sniffed, so Raft, the membership exchange
// and the Kafka protocol all run inside TLS; Raft and hello dial with Client.
//
// Raft and hello carry no Kafka principal, so the accepting side takes them only from a peer
// that presented a certificate its truststore verified, whatever ssl.client.auth says: that
// is how controllers authenticate each other. To let them present one, the server side asks
// every client for a certificate (ssl.client.auth=none becomes "verify if given" on the
// controller address; the Kafka streams' principal still follows ssl.client.auth, see
// the broker's controller listener).
type TLS struct {
	// Server is the accepting side's configuration (tlsconf.Server.Config).
	Server *tls.Config
	// Client returns the configuration for dialing another node's controller address
	// (tlsconf.Client.Config): its keystore is this node's client certificate.
	Client func(addr string) *tls.Config
	// HandshakeTimeout bounds an accepted connection's handshake (0: 10 s).
	HandshakeTimeout time.Duration
	// Observe, if set, is told each accepted handshake's outcome; it must not block.
	Observe func(err error)
}

// serverConfig is t.Server with client certificates requested and verified when given.
func (t *TLS) serverConfig() *tls.Config {
	c := t.Server.Clone()
	c.ClientAuth = raiseClientAuth(c.ClientAuth)
	if get := t.Server.GetConfigForClient; get != nil {
		c.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
			hc, err := get(hi)
			if err != nil || hc == nil {
				return hc, err
			}
			hc = hc.Clone()
			hc.ClientAuth = raiseClientAuth(hc.ClientAuth)
			return hc, nil
		}
	}
	return c
}

func raiseClientAuth(a tls.ClientAuthType) tls.ClientAuthType {
	switch a {
	case tls.NoClientCert, tls.RequestClientCert:
		return tls.VerifyClientCertIfGiven
	case tls.RequireAnyClientCert:
		return tls.RequireAndVerifyClientCert
	}
	return a
}

func (t *TLS) handshakeTimeout() time.Duration {
	if t.HandshakeTimeout > 0 {
		return t.HandshakeTimeout
	}
	return 10 * time.Second
}

// errNoPeerCertificate refuses a Raft or hello stream from a peer without a verified
// certificate.
var errNoPeerCertificate = errors.New("no client certificate verified by the truststore")

// peerVerified reports whether c is a TLS connection whose peer presented a certificate the
// truststore verified.
func peerVerified(c net.Conn) bool {
	tc, ok := c.(*tls.Conn)
	return ok && len(tc.ConnectionState().VerifiedChains) > 0
}

// dialController connects to hostport's controller address: TCP, then TLS when t is set.
func dialController(ctx context.Context, t *TLS, hostport string, timeout time.Duration) (net.Conn, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", hostport)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return c, nil
	}
	tc := tls.Client(c, t.Client(hostport))
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("TLS handshake with controller address %s: %w", hostport, err)
	}
	return tc, nil
}
