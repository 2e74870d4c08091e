package broker

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/registry"
	"github.com/sluicehq/sluice/internal/registry/avro"
	"github.com/sluicehq/sluice/internal/registry/format"
	"github.com/sluicehq/sluice/internal/registry/jsonschema"
	"github.com/sluicehq/sluice/internal/registry/protobuf"
	"github.com/sluicehq/sluice/internal/registry/store"
	"github.com/sluicehq/sluice/internal/security/tlsconf"
)

// registryFormats are the schema formats the registry serves.
func registryFormats() map[format.SchemaType]format.Format {
	return map[format.SchemaType]format.Format{
		format.Avro:     avro.New(),
		format.JSON:     jsonschema.New(),
		format.Protobuf: protobuf.New(),
	}
}

// newRegistryService builds the registry service over the store; state is what the store
// feeds. Server-side schema id validation reaches the registry through Broker.schemas.service.
func (b *Broker) newRegistryService(brokerCfg *config.Resolved, st *store.Store, state *registry.State) (*registry.Service, error) {
	client, err := b.registryForwardClient(brokerCfg)
	if err != nil {
		return nil, err
	}
	return registry.New(registry.Options{
		Log:        st,
		State:      state,
		Formats:    registryFormats(),
		Registerer: b.registry,
		Logger:     b.logger.With("component", "schema-registry"),
		ClusterID:  b.quorum.Image().ClusterID(),
		HTTPClient: client,
	}), nil
}

// registryForwardClient is the client the registry forwards writes to the writer with: plain
// HTTP, or HTTPS trusting the HTTP listener's truststore when the registry listener is TLS (the
// nodes' registry listeners share the HTTP listener's TLS configuration).
func (b *Broker) registryForwardClient(brokerCfg *config.Resolved) (*http.Client, error) {
	const timeout = 30 * time.Second
	if !brokerCfg.Bool(config.SluiceHTTPSSLEnabled) {
		return &http.Client{Timeout: timeout}, nil
	}
	c, err := tlsconf.NewClient(tlsconf.FromConfig(brokerCfg, b.static, config.HTTPListenerName),
		tlsconf.Options{Listener: config.HTTPListenerName, Logger: b.logger.With("listener", config.HTTPListenerName, "side", "client"), Metrics: b.tlsMetricsOnce()})
	if err != nil {
		return nil, err
	}
	transport := &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: c.Config(addr)}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 4,
	}
	return &http.Client{Timeout: timeout, Transport: transport}, nil
}
