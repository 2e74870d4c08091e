package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/security/tlsconf"
	"github.com/sluicehq/sluice/internal/server"
)

// kafkaListener is one of the broker's Kafka listeners: its configuration, its socket (bound by
// listen, before registration, so that port 0 is known), the server that answers on it and
// what it is advertised as.
type kafkaListener struct {
	cfg        config.Listener
	advertised config.Listener // port and host filled in from the bound socket when unset
	ln         net.Listener
	srv        *server.Server
	served     chan error // Serve's result, once serve started it
}

// resolveListeners reads listeners, advertised.listeners, listener.security.protocol.map,
// inter.broker.listener.name and controller.listener.names. Without listeners, the broker has
// the one PLAINTEXT listener of Config.KafkaAddr, advertised as Config.AdvertisedAddr.
// legacy reports the --kafka-addr form without --advertised-addr, whose listener is advertised
// as the address it is bound to.
func resolveListeners(cfg Config, brokerCfg *config.Resolved) (set *config.ListenerSet, legacy bool, err error) {
	entry, _ := brokerCfg.Entry(config.Listeners)
	c := config.ListenerConfigs{
		Listeners:           strings.Join(brokerCfg.List(config.Listeners), ","),
		Advertised:          strings.Join(brokerCfg.List(config.AdvertisedListeners), ","),
		ProtocolMap:         brokerCfg.String(config.ListenerSecurityProtocolMap),
		InterBrokerName:     brokerCfg.String(config.InterBrokerListenerName),
		InterBrokerProtocol: brokerCfg.String(config.SecurityInterBrokerProtocol),
		ControllerNames:     brokerCfg.List(config.ControllerListenerNames),
	}
	if e, _ := brokerCfg.Entry(config.SecurityInterBrokerProtocol); e.Source != config.SourceDefault {
		c.InterBrokerProtocolSet = true
	}
	if entry.Source == config.SourceDefault || c.Listeners == "" {
		// The --kafka-addr form: one PLAINTEXT listener; advertised.listeners still applies.
		c.Listeners = "PLAINTEXT://" + cfg.KafkaAddr
		if c.Advertised == "" && cfg.AdvertisedAddr != "" {
			c.Advertised = "PLAINTEXT://" + cfg.AdvertisedAddr
		}
		legacy = c.Advertised == ""
	}
	if set, err = config.ResolveListeners(c); err != nil {
		return nil, false, fmt.Errorf("broker configs: %w", err)
	}
	return set, legacy, nil
}

// listen binds every Kafka listener and builds its server; nothing is served yet (serve).
func (b *Broker) listen(brokerCfg *config.Resolved) error {
	overrides, err := connectionOverrides(brokerCfg.String(config.MaxConnectionsPerIPOverrides))
	if err != nil {
		return err
	}
	for i, l := range b.listenerSet.Broker {
		ln, err := net.Listen("tcp", l.Addr())
		if err != nil {
			return fmt.Errorf("kafka listener %s: %w", l, err)
		}
		kl := &kafkaListener{cfg: l, ln: ln, advertised: advertisedFor(b.listenerSet.Advertised[i], ln, b.legacyListener)}
		b.listeners = append(b.listeners, kl)
		saslCfg, err := b.saslFor(brokerCfg, l)
		if err != nil {
			return err
		}
		tlsCfg, err := b.listenerTLS(brokerCfg, l)
		if err != nil {
			return err
		}
		srv, err := server.New(server.Config{
			Env:                          b.env,
			Logger:                       b.logger.With("listener", l.Name),
			ListenerName:                 l.Name,
			Lookup:                       api.LookupFor(api.BrokerListener), // whatever its name
			SecurityProtocol:             l.Protocol.String(),
			SASL:                         saslCfg,
			MaxRequestBytes:              brokerCfg.Int(config.SocketRequestMaxBytes),
			IdleTimeout:                  time.Duration(brokerCfg.Int64(config.ConnectionsMaxIdleMs)) * time.Millisecond,
			QueuedMaxRequestBytes:        brokerCfg.Int64(config.QueuedMaxRequestBytes),
			MaxConnections:               kafkaLimit(brokerCfg.Int(config.MaxConnections)),
			MaxConnectionsPerIP:          kafkaLimit(brokerCfg.Int(config.MaxConnectionsPerIP)),
			MaxConnectionsPerIPOverrides: overrides,
			Observer:                     b.metrics,
			TLS:                          tlsCfg,
		})
		if err != nil {
			return fmt.Errorf("kafka listener %s: %w", l.Name, err)
		}
		kl.srv = srv
	}
	return nil
}

// listenerTLS is a TLS listener's server side (its ssl.* configs, listener.name.<name>.ssl.*
// first), or nil for a listener without TLS.
func (b *Broker) listenerTLS(brokerCfg *config.Resolved, l config.Listener) (*server.TLS, error) {
	if !l.Protocol.TLS() {
		return nil, nil
	}
	settings := tlsconf.FromConfig(brokerCfg, b.static, l.Name)
	if l.Protocol.SASL() {
		// KIP-684: on a SASL_SSL listener only the listener's own ssl.client.auth asks for
		// client certificates; the broker-wide value is for SSL listeners.
		if _, ok := b.static[config.ListenerOverride(l.Name, config.SslClientAuth)]; !ok {
			settings.ClientAuth = "none"
		}
	}
	srv, err := tlsconf.NewServer(settings,
		tlsconf.Options{Listener: l.Name, Logger: b.logger.With("listener", l.Name), Metrics: b.tlsMetricsOnce()})
	if err != nil {
		return nil, fmt.Errorf("kafka listener %s: %w", l.Name, err)
	}
	metrics := b.tlsMetrics
	return &server.TLS{Config: srv.Config(), Principal: srv.Principal, Observe: func(err error) { metrics.Handshake(l.Name, err) }}, nil
}

// tlsMetricsOnce registers the TLS metrics the first time a TLS listener or client needs them.
func (b *Broker) tlsMetricsOnce() *tlsconf.Metrics {
	if b.tlsMetrics == nil {
		b.tlsMetrics = tlsconf.NewMetrics(b.registry)
	}
	return b.tlsMetrics
}

// startInterBrokerTLS reads the TLS client side of inter-broker connections when the
// inter-broker listener is SSL or SASL_SSL: the listener's ssl.* configs, its keystore as the
// client certificate and its truststore to verify the other brokers.
func (b *Broker) startInterBrokerTLS(brokerCfg *config.Resolved) error {
	l, _ := b.listenerSet.Lookup(b.listenerSet.InterBroker)
	if !l.Protocol.TLS() {
		return nil
	}
	c, err := tlsconf.NewClient(tlsconf.FromConfig(brokerCfg, b.static, l.Name),
		tlsconf.Options{Listener: l.Name, Logger: b.logger.With("listener", l.Name, "side", "client"), Metrics: b.tlsMetricsOnce()})
	if err != nil {
		return fmt.Errorf("inter-broker listener %s: %w", l.Name, err)
	}
	b.interBrokerTLS = c.Config
	return nil
}

// advertisedFor fills an advertised listener's unset parts from the bound socket: port 0
// becomes the bound port; an empty or unspecified host becomes the machine's host name, as
// Kafka advertises its canonical host name. legacy keeps the single --kafka-addr listener's
// old form, the bound address itself.
func advertisedFor(adv config.Listener, ln net.Listener, legacy bool) config.Listener {
	tcp, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return adv
	}
	if legacy {
		adv.Host, adv.Port = tcp.IP.String(), tcp.Port
		return adv
	}
	if adv.Port == 0 {
		adv.Port = tcp.Port
	}
	if ip := net.ParseIP(adv.Host); adv.Host == "" || ip != nil && ip.IsUnspecified() {
		if name, err := os.Hostname(); err == nil && name != "" {
			adv.Host = name
		} else {
			adv.Host = tcp.IP.String()
		}
	}
	return adv
}

// serve starts answering on every Kafka listener bound by listen. Start calls it only once the
// controller has unfenced this broker, which it does only once the broker's metadata caught up
// (as Kafka enables request processing only after the initial metadata catch-up): until then
// the broker may be applying old metadata — a restarted or wiped node replaying the log would
// otherwise answer Metadata with leaderships long moved and take writes as a leader it no
// longer is. Connections made meanwhile wait in the listen backlog.
func (b *Broker) serve() {
	for _, kl := range b.listeners {
		kl.served = make(chan error, 1)
		go func() { kl.served <- kl.srv.Serve(kl.ln) }()
	}
}

// shutdownListeners stops every Kafka listener: requests already read finish (at most 10 s).
func (b *Broker) shutdownListeners() []error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, kl := range b.listeners {
		if kl.served == nil {
			kl.ln.Close() // bound, never served
			continue
		}
		if err := kl.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("kafka listener %s: %w", kl.cfg.Name, err))
		}
		if err := <-kl.served; err != nil && !errors.Is(err, server.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errs
}

// registrationListeners are the advertised listeners as BrokerRegistration carries them.
func (b *Broker) registrationListeners() []kmsg.BrokerRegistrationRequestListener {
	out := make([]kmsg.BrokerRegistrationRequestListener, 0, len(b.listeners))
	for _, kl := range b.listeners {
		l := kmsg.NewBrokerRegistrationRequestListener()
		l.Name, l.Host, l.Port, l.SecurityProtocol = kl.advertised.Name, kl.advertised.Host, uint16(kl.advertised.Port), int16(kl.advertised.Protocol)
		out = append(out, l)
	}
	// Last, so that it is never a broker's first endpoint (Endpoint("") answers with the first).
	if l, ok := b.registryEndpoint(); ok {
		out = append(out, l)
	}
	return out
}

// ClusterID is the cluster's id (from the metadata image).
func (b *Broker) ClusterID() string { return b.quorum.Image().ClusterID() }

// KafkaAddr is the address the first Kafka listener is bound to ("" on a controller-only
// node, which has none).
func (b *Broker) KafkaAddr() string {
	if len(b.listeners) == 0 {
		return ""
	}
	return b.listeners[0].ln.Addr().String()
}

// ListenerAddr is the address the Kafka listener named name (upper case, as in listeners) is
// bound to, and whether there is one.
func (b *Broker) ListenerAddr(name string) (string, bool) {
	for _, kl := range b.listeners {
		if kl.cfg.Name == name {
			return kl.ln.Addr().String(), true
		}
	}
	return "", false
}
