package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/sluicehq/sluice/internal/config"
)

// Options are what NewServer and NewClient need besides the settings.
type Options struct {
	// Listener names the listener in logs and metrics.
	Listener string
	Logger   *slog.Logger // nil discards
	Metrics  *Metrics     // nil counts nothing
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server is a TLS listener's configuration.
type Server struct {
	base   *tls.Config // versions, suites, client auth; certificates come from store
	store  *store
	mapper *PrincipalMapper
}

// NewServer checks s and reads its keystore (required) and truststore.
func NewServer(s Settings, o Options) (*Server, error) {
	o.defaults()
	if err := s.checkTypes(); err != nil {
		return nil, err
	}
	if s.KeystoreLocation == "" && s.KeystoreKey == "" {
		return nil, fmt.Errorf("a TLS listener needs a certificate: set %s (or %s and %s)",
			config.SslKeystoreLocation, config.SslKeystoreKey, config.SslKeystoreCertificateChain)
	}
	lo, hi, err := s.versions()
	if err != nil {
		return nil, err
	}
	suites, err := s.cipherSuites()
	if err != nil {
		return nil, err
	}
	auth, err := s.clientAuth()
	if err != nil {
		return nil, err
	}
	mapper, err := ParsePrincipalMappingRules(s.PrincipalMappingRules)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.SslPrincipalMappingRules, err)
	}
	st, err := newStore(s, o, o.Listener)
	if err != nil {
		return nil, err
	}
	srv := &Server{store: st, mapper: mapper,
		base: &tls.Config{MinVersion: lo, MaxVersion: hi, CipherSuites: suites, ClientAuth: auth}}
	return srv, nil
}

// Config is the listener's tls.Config: every handshake takes the current (reloaded if
// changed) certificate and client CAs.
func (srv *Server) Config() *tls.Config {
	c := srv.base.Clone()
	c.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		m := srv.store.current()
		hc := srv.base.Clone()
		hc.Certificates = []tls.Certificate{*m.cert}
		hc.ClientCAs = m.roots
		return hc, nil
	}
	return c
}

// Principal is the principal of a connection after its handshake: "User:" and the mapped
// subject of its verified client certificate, or "" (User:ANONYMOUS) without one. A subject
// no mapping rule matches is an error (Kafka refuses the connection).
func (srv *Server) Principal(cs tls.ConnectionState) (string, error) {
	if len(cs.VerifiedChains) == 0 || len(cs.PeerCertificates) == 0 {
		return "", nil
	}
	dn, err := SubjectDN(cs.PeerCertificates[0])
	if err != nil {
		return "", err
	}
	name, err := srv.mapper.Map(dn)
	if err != nil {
		return "", err
	}
	return "User:" + name, nil
}

// Client is the TLS side of inter-broker connections (replica fetchers, transaction markers):
// the keystore is the client certificate, the truststore verifies the other broker.
type Client struct {
	base     *tls.Config
	store    *store
	checkDNS bool // ssl.endpoint.identification.algorithm=https
}

// NewClient checks s and reads its keystore (optional) and truststore.
func NewClient(s Settings, o Options) (*Client, error) {
	o.defaults()
	if err := s.checkTypes(); err != nil {
		return nil, err
	}
	lo, hi, err := s.versions()
	if err != nil {
		return nil, err
	}
	suites, err := s.cipherSuites()
	if err != nil {
		return nil, err
	}
	var checkDNS bool
	switch s.EndpointIdentificationAlgorithm {
	case "https", "HTTPS":
		checkDNS = true
	case "":
	default:
		return nil, fmt.Errorf("%s: %q is not https or empty", config.SslEndpointIdentificationAlgorithm, s.EndpointIdentificationAlgorithm)
	}
	st, err := newStore(s, o, o.Listener+"-client")
	if err != nil {
		return nil, err
	}
	return &Client{store: st, checkDNS: checkDNS, base: &tls.Config{MinVersion: lo, MaxVersion: hi, CipherSuites: suites}}, nil
}

// Config is the tls.Config for dialing addr (host:port), with the current material.
func (c *Client) Config(addr string) *tls.Config {
	m := c.store.current()
	cfg := c.base.Clone()
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	cfg.ServerName = host
	cfg.RootCAs = m.roots
	if m.cert != nil {
		cert := *m.cert
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	if !c.checkDNS {
		// Verify the chain, not the name: crypto/tls can only skip both, so the chain is
		// checked here.
		cfg.InsecureSkipVerify = true
		roots := m.roots
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("tls: the server sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, ic := range cs.PeerCertificates[1:] {
				inter.AddCert(ic)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		}
	}
	return cfg
}
