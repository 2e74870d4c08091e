package broker

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"

	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/quorum"
	"github.com/sluicehq/sluice/internal/security/tlsconf"
	"github.com/sluicehq/sluice/internal/server"
)

// controllerSecurity secures the controller address when the controller listener
// (controller.listener.names' first, its protocol from listener.security.protocol.map) is SSL
// or SASL_SSL; zero on PLAINTEXT.
//
//   - quorum: the stream layer's TLS (Raft, hello and the Kafka side all inside TLS; Raft and
//     hello peers must present a verified certificate, internal/quorum/tls.go).
//   - serverTLS, serverSASL: the controller listener's Kafka server. Its connections arrive
//     with their handshake done (serverTLS.Config is nil); their principal is the mapped
//     certificate subject (SSL; none when ssl.client.auth=none, as Kafka) or the SASL one.
//   - clientTLS, clientSASL: this node's connections to the active controller's listener
//     (registration, heartbeats, forwarding, AlterPartition ...): the listener's keystore as
//     client certificate, sasl.mechanism.controller.protocol with the listener's JAAS
//     username and password.
type controllerSecurity struct {
	protocol   config.SecurityProtocol
	quorum     *quorum.TLS
	serverTLS  *server.TLS
	serverSASL *server.SASLConfig
	clientTLS  func(addr string) *tls.Config
	clientSASL *cluster.SASLCredentials
	// principal describes who this node is on the controller listener (lifecycle's error).
	principal string
}

// startControllerSecurity reads the controller listener's ssl.* (listener.name.<name>.ssl.*
// first) and SASL configs into b.ctlSec.
func (b *Broker) startControllerSecurity(brokerCfg *config.Resolved) error {
	p := b.listenerSet.ControllerProtocol
	name := b.listenerSet.ControllerName()
	b.ctlSec = controllerSecurity{protocol: p}
	if !p.TLS() {
		return nil
	}
	settings := tlsconf.FromConfig(brokerCfg, b.static, name)
	logger := b.logger.With("listener", name)
	srv, err := tlsconf.NewServer(settings, tlsconf.Options{Listener: name, Logger: logger, Metrics: b.tlsMetricsOnce()})
	if err != nil {
		return fmt.Errorf("controller listener %s: %w", name, err)
	}
	client, err := tlsconf.NewClient(settings, tlsconf.Options{Listener: name, Logger: logger.With("side", "client"), Metrics: b.tlsMetricsOnce()})
	if err != nil {
		return fmt.Errorf("controller listener %s: %w", name, err)
	}
	metrics := b.tlsMetrics
	serverCfg := srv.Config()
	principal := srv.Principal
	if serverCfg.ClientAuth == tls.NoClientCert {
		// ssl.client.auth=none: the stream layer still asks for a certificate (Raft's peers
		// need one), but the Kafka side ignores it, as Kafka's listener would.
		principal = func(tls.ConnectionState) (string, error) { return "", nil }
	}
	b.ctlSec.quorum = &quorum.TLS{Server: serverCfg, Client: client.Config,
		Observe: func(err error) { metrics.Handshake(name, err) }}
	b.ctlSec.serverTLS = &server.TLS{Principal: principal}
	b.ctlSec.clientTLS = client.Config
	if p.SASL() {
		if b.ctlSec.serverSASL, err = b.saslFor(brokerCfg, config.Listener{Name: name, Protocol: p}); err != nil {
			return fmt.Errorf("controller listener %s: %w", name, err)
		}
		mech := brokerCfg.String(config.SaslMechanismControllerProtocol)
		j, ok, err := b.jaasConfig(brokerCfg, name, mech)
		if err != nil {
			return err
		}
		user, password := j.Options["username"], j.Options["password"]
		if !ok || user == "" || password == "" {
			return fmt.Errorf("controller listener %s is %s: set username and password in %s (%s=%s)",
				name, p, config.ListenerMechanismOverride(name, mech, config.SaslJaasConfig), config.SaslMechanismControllerProtocol, mech)
		}
		b.ctlSec.clientSASL = &cluster.SASLCredentials{Mechanism: mech, User: user, Password: password}
		b.ctlSec.principal = "User:" + user + " (" + mech + ")"
		return nil
	}
	b.ctlSec.principal = certificatePrincipal(client.Config(""), principal)
	return nil
}

// certificatePrincipal is the principal the controller listener maps this node's client
// certificate to (its own mapping rules: every node is configured alike), described for logs.
func certificatePrincipal(cfg *tls.Config, principal func(tls.ConnectionState) (string, error)) string {
	if cfg.GetClientCertificate == nil {
		return "User:ANONYMOUS (no ssl.keystore certificate)"
	}
	cert, err := cfg.GetClientCertificate(nil)
	if err != nil || cert == nil || len(cert.Certificate) == 0 {
		return "User:ANONYMOUS (no ssl.keystore certificate)"
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return "its ssl.keystore certificate's principal"
	}
	p, err := principal(tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{{leaf}}})
	switch {
	case err != nil:
		return "none: ssl.principal.mapping.rules maps no rule to its certificate (" + err.Error() + ")"
	case p == "":
		return "User:ANONYMOUS (ssl.client.auth=none)"
	}
	return p + " (its ssl.keystore certificate)"
}
