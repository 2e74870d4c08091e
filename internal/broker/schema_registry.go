package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	franzsasl "github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/registry"
	"github.com/sluicehq/sluice/internal/registry/store"
	"github.com/sluicehq/sluice/internal/security/sasl"
)

// schemaRegistry is this node's schema registry (issue 16): its listener
// (--schema-registry-addr), the service answering Confluent's REST API on it, and the store
// that keeps the service's state in _schemas. Start binds the listener before the broker
// registers (the registration carries its URL as the endpoint store.EndpointName, so every
// node learns the writer's URL from its metadata Image) and starts the store and the HTTP
// server once the Kafka listeners serve (the store reads _schemas through them). Close stops
// the HTTP server (requests in flight finish), then the store, before the Kafka listeners.
type schemaRegistry struct {
	ln    net.Listener // bound by listenRegistry; TLS-wrapped when the HTTP listener is TLS
	https bool
	store *store.Store
	// service answers Confluent's REST API over state, which the store feeds (registry.Applier).
	// Server-side schema id validation (helper srclients) asks service/state.
	service   *registry.Service
	state     *registry.State
	srv       *http.Server
	served    chan struct{}
	unobserve func()
}

// listenRegistry binds the registry listener when --schema-registry-addr is set.
func (b *Broker) listenRegistry(brokerCfg *config.Resolved) error {
	if b.cfg.SchemaRegistryAddr == "" {
		return nil
	}
	_, tlsCfg, err := b.httpSecurity(brokerCfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", b.cfg.SchemaRegistryAddr)
	if err != nil {
		return fmt.Errorf("schema registry listener: %w", err)
	}
	r := &schemaRegistry{ln: ln}
	if tlsCfg != nil {
		cfg := tlsCfg.Clone()
		cfg.NextProtos = []string{"http/1.1"}
		r.ln, r.https = tls.NewListener(ln, cfg), true
	}
	b.schemas = r
	return nil
}

// registryEndpoint is the registration endpoint carrying this node's registry URL: the bound
// address, with the machine's host name for an unspecified host (as advertisedFor does).
func (b *Broker) registryEndpoint() (kmsg.BrokerRegistrationRequestListener, bool) {
	if b.schemas == nil {
		return kmsg.BrokerRegistrationRequestListener{}, false
	}
	adv := advertisedFor(config.Listener{}, b.schemas.ln, false)
	if host, _, err := net.SplitHostPort(b.cfg.SchemaRegistryAddr); err == nil && host != "" {
		if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
			adv.Host = host // a name or address given: advertised as given
		}
	}
	e := store.Endpoint(adv.Host, adv.Port, b.schemas.https)
	l := kmsg.NewBrokerRegistrationRequestListener()
	l.Name, l.Host, l.Port, l.SecurityProtocol = e.Listener, e.Host, uint16(e.Port), e.SecurityProtocol
	return l, true
}

// startRegistry starts the store (its reader and writer election) and serves the registry
// listener; the Kafka listeners already serve.
func (b *Broker) startRegistry(brokerCfg *config.Resolved) error {
	r := b.schemas
	if r == nil {
		return nil
	}
	opts, err := b.storeOptions()
	if err != nil {
		return err
	}
	// The state exists before the store reads, so that it is given every record from offset 0;
	// the service is built on the store.
	r.state = registry.NewState()
	opts.Applier = r.state
	if r.store, err = store.Open(opts); err != nil {
		return fmt.Errorf("schema registry: %w", err)
	}
	if r.service, err = b.newRegistryService(brokerCfg, r.store, r.state); err != nil {
		r.store.Close()
		r.store = nil
		return fmt.Errorf("schema registry: %w", err)
	}
	b.env.SchemaIDs.SetRegistry(r.service) // Produce's schema id validation (schema_ids.go)
	r.unobserve = b.quorum.Subscribe(func(_, _ *metadata.Image) { r.store.Observe() })
	auth, _, _ := b.httpSecurity(brokerCfg)
	handler := r.service.Handler()
	if auth != nil {
		handler = auth.WrapAll(handler)
	}
	r.srv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	r.served = make(chan struct{})
	go func() {
		defer close(r.served)
		if err := r.srv.Serve(r.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.logger.Error("schema registry listener stopped", "err", err)
		}
	}()
	b.logger.Info("schema registry listening", "addr", r.ln.Addr().String(), "https", r.https)
	return nil
}

// storeOptions connect the store to this broker: its inter-broker listener (with the
// inter-broker TLS and SASL credentials, so it works wherever replication does), its
// partitions, the active controller and the metadata Image.
func (b *Broker) storeOptions() (store.Options, error) {
	var seed string
	for _, kl := range b.listeners {
		if kl.cfg.Name == b.listenerSet.InterBroker {
			seed = net.JoinHostPort(kl.advertised.Host, strconv.Itoa(kl.advertised.Port))
		}
	}
	if seed == "" {
		return store.Options{}, fmt.Errorf("schema registry: no inter-broker listener %s to read _schemas through", b.listenerSet.InterBroker)
	}
	opts := store.Options{NodeID: b.cfg.NodeID, Seeds: []string{seed}, Partitions: b.partitions, Creator: b.remote,
		Image: b.quorum.Image, Metrics: store.NewMetrics(b.registry), Logger: b.logger.With("component", "schema-registry")}
	if b.interBrokerTLS != nil {
		tlsFor := b.interBrokerTLS
		opts.Dial = func(ctx context.Context, network, host string) (net.Conn, error) {
			d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: tlsFor(host)}
			return d.DialContext(ctx, network, host)
		}
	}
	if c := b.interBrokerSASL; c != nil {
		m, err := franzMechanism(c.Mechanism, c.User, c.Password)
		if err != nil {
			return store.Options{}, fmt.Errorf("schema registry: %w", err)
		}
		opts.SASL = m
	}
	return opts, nil
}

// franzMechanism is the franz-go SASL mechanism of the inter-broker credentials.
func franzMechanism(mechanism, user, password string) (franzsasl.Mechanism, error) {
	switch mechanism {
	case sasl.Plain:
		return plain.Auth{User: user, Pass: password}.AsMechanism(), nil
	case sasl.ScramSHA256:
		return scram.Auth{User: user, Pass: password}.AsSha256Mechanism(), nil
	case sasl.ScramSHA512:
		return scram.Auth{User: user, Pass: password}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("inter-broker SASL mechanism %s cannot read _schemas", mechanism)
}

// closeRegistry stops the registry listener (requests in flight finish, at most 5 s), then the
// store.
func (b *Broker) closeRegistry() error {
	r := b.schemas
	if r == nil {
		return nil
	}
	var err error
	if r.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = r.srv.Shutdown(ctx)
		cancel()
		<-r.served
	} else {
		r.ln.Close() // bound, never served
	}
	if r.unobserve != nil {
		r.unobserve()
	}
	if r.store != nil {
		r.store.Close()
	}
	if err != nil {
		return fmt.Errorf("schema registry listener: %w", err)
	}
	return nil
}

// SchemaRegistryAddr is the address the registry listener is bound to, "" when disabled.
func (b *Broker) SchemaRegistryAddr() string {
	if b.schemas == nil {
		return ""
	}
	return b.schemas.ln.Addr().String()
}
