package broker

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/security/sasl"
	"github.com/sluicehq/sluice/internal/server"
)

// listenerValue is config name for listener: its listener.name.<listener>.<name> override if
// set, else the broker-wide value ("" when neither is set).
func listenerValue(static map[string]string, brokerCfg *config.Resolved, listener string, name config.Name) string {
	if v, ok := static[config.ListenerOverride(listener, name)]; ok {
		return v
	}
	if e, ok := brokerCfg.Entry(name); ok && !e.Null {
		return e.Value
	}
	return ""
}

// jaasConfig is the sasl.jaas.config for mechanism on listener: Kafka's
// listener.name.<listener>.<mechanism>.sasl.jaas.config, else listener.name.<listener>.sasl.jaas.config,
// else sasl.jaas.config. Zero if none is set.
func (b *Broker) jaasConfig(brokerCfg *config.Resolved, listener, mechanism string) (sasl.JAASConfig, bool, error) {
	raw, ok := b.static[config.ListenerMechanismOverride(listener, mechanism, config.SaslJaasConfig)]
	if !ok {
		raw = listenerValue(b.static, brokerCfg, listener, config.SaslJaasConfig)
	}
	if raw == "" {
		return sasl.JAASConfig{}, false, nil
	}
	j, err := sasl.ParseJAAS(raw)
	if err != nil {
		return j, false, fmt.Errorf("listener %s: %s sasl.jaas.config: %w", listener, mechanism, err)
	}
	return j, true, nil
}

// saslFor is the SASL gate of listener l; nil unless its protocol is SASL_PLAINTEXT or SASL_SSL.
func (b *Broker) saslFor(brokerCfg *config.Resolved, l config.Listener) (*server.SASLConfig, error) {
	if !l.Protocol.SASL() {
		return nil, nil
	}
	if b.saslMetrics == nil {
		b.saslMetrics = sasl.NewMetrics(b.registry)
	}
	return b.saslConfig(brokerCfg, l.Name, b.saslMetrics)
}

// saslConfig builds the SASL gate of a SASL_PLAINTEXT or SASL_SSL listener.
func (b *Broker) saslConfig(brokerCfg *config.Resolved, listener string, m *sasl.Metrics) (*server.SASLConfig, error) {
	cfg := sasl.Config{ScramCredentials: b.scramLookup}
	if e, _ := brokerCfg.Entry(config.SaslEnabledMechanisms); e.Source != config.SourceDefault {
		cfg.Mechanisms = splitList(listenerValue(b.static, brokerCfg, listener, config.SaslEnabledMechanisms))
	} else if v, ok := b.static[config.ListenerOverride(listener, config.SaslEnabledMechanisms)]; ok {
		cfg.Mechanisms = splitList(v)
	}
	users, err := b.plainUsers(brokerCfg, listener)
	if err != nil {
		return nil, err
	}
	if len(users) > 0 {
		cfg.PlainUsers = users
	}
	v, err := b.tokenValidator(brokerCfg, listener)
	if err != nil {
		return nil, err
	}
	if v != nil {
		b.tokenValidators = append(b.tokenValidators, v)
		cfg.OAuth = v
	}
	auth, err := sasl.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("listener %s: %w", listener, err)
	}
	return &server.SASLConfig{
		Authenticator:   auth,
		MaxReauth:       time.Duration(atoi(listenerValue(b.static, brokerCfg, listener, config.ConnectionsMaxReauthMs))) * time.Millisecond,
		MaxReceiveBytes: int32(atoi(listenerValue(b.static, brokerCfg, listener, config.SaslServerMaxReceiveSize))),
		Metrics:         m,
	}, nil
}

// scramLookup reads SCRAM credentials from the latest metadata Image.
func (b *Broker) scramLookup(mechanism, user string) (sasl.ScramCredential, bool) {
	var m int8
	switch mechanism {
	case sasl.ScramSHA256:
		m = metadata.ScramSHA256
	case sasl.ScramSHA512:
		m = metadata.ScramSHA512
	default:
		return sasl.ScramCredential{}, false
	}
	c, ok := b.quorum.Image().ScramCredential(user, m)
	if !ok {
		return sasl.ScramCredential{}, false
	}
	return sasl.ScramCredential{Salt: c.Salt, StoredKey: c.StoredKey, ServerKey: c.ServerKey, Iterations: c.Iterations}, true
}

// closeTokenValidators stops the JWKS refreshers.
func (b *Broker) closeTokenValidators() {
	for _, v := range b.tokenValidators {
		v.Close()
	}
	b.tokenValidators = nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}

// interBrokerCredentials are what this broker authenticates to other brokers' inter-broker
// listener with when that listener is SASL: sasl.mechanism.inter.broker.protocol and the
// username and password options of the listener's sasl.jaas.config for that mechanism, as
// Kafka's brokers take them. Nil when the listener does not use SASL.
func (b *Broker) interBrokerCredentials(brokerCfg *config.Resolved) (*cluster.SASLCredentials, error) {
	l, ok := b.listenerSet.Lookup(b.listenerSet.InterBroker)
	if !ok || !l.Protocol.SASL() {
		return nil, nil
	}
	mech := brokerCfg.String(config.SaslMechanismInterBrokerProtocol)
	j, ok, err := b.jaasConfig(brokerCfg, l.Name, mech)
	if err != nil {
		return nil, err
	}
	user, password := j.Options["username"], j.Options["password"]
	if !ok || user == "" || password == "" {
		return nil, fmt.Errorf("inter-broker listener %s is %s: set username and password in %s (sasl.mechanism.inter.broker.protocol=%s)",
			l.Name, l.Protocol, config.ListenerMechanismOverride(l.Name, mech, config.SaslJaasConfig), mech)
	}
	return &cluster.SASLCredentials{Mechanism: mech, User: user, Password: password}, nil
}

// SASLMetrics are the broker's authentication counters (nil without a SASL listener).
func (b *Broker) SASLMetrics() *sasl.Metrics { return b.saslMetrics }

// plainUsers are listener's PLAIN users: the user_<name> options of its PLAIN JAAS config and
// the users of sluice.sasl.plain.users.file.
func (b *Broker) plainUsers(brokerCfg *config.Resolved, listener string) (map[string]string, error) {
	users := map[string]string{}
	j, ok, err := b.jaasConfig(brokerCfg, listener, sasl.Plain)
	if err != nil {
		return nil, err
	}
	if ok {
		maps.Copy(users, j.PlainUsers())
	}
	if path := listenerValue(b.static, brokerCfg, listener, config.SluiceSaslPlainUsersFile); path != "" {
		fileUsers, err := sasl.ReadPlainUsersFile(path)
		if err != nil {
			return nil, fmt.Errorf("listener %s: %w", listener, err)
		}
		maps.Copy(users, fileUsers)
	}
	return users, nil
}

// tokenValidator is listener's OAUTHBEARER token validator from the sasl.oauthbearer.* configs
// (listener.name.<listener>.sasl.oauthbearer.* first); nil without a JWKS URL. The caller
// closes it.
func (b *Broker) tokenValidator(brokerCfg *config.Resolved, listener string) (*sasl.TokenValidator, error) {
	url := listenerValue(b.static, brokerCfg, listener, config.SaslOauthbearerJwksEndpointURL)
	if url == "" {
		return nil, nil
	}
	v, err := sasl.NewTokenValidator(sasl.OAuthConfig{
		JWKSURL:          url,
		Refresh:          time.Duration(atoi(listenerValue(b.static, brokerCfg, listener, config.SaslOauthbearerJwksEndpointRefreshMs))) * time.Millisecond,
		ClockSkew:        time.Duration(atoi(listenerValue(b.static, brokerCfg, listener, config.SaslOauthbearerClockSkewSeconds))) * time.Second,
		ExpectedIssuer:   listenerValue(b.static, brokerCfg, listener, config.SaslOauthbearerExpectedIssuer),
		ExpectedAudience: splitList(listenerValue(b.static, brokerCfg, listener, config.SaslOauthbearerExpectedAudience)),
		SubClaimName:     listenerValue(b.static, brokerCfg, listener, config.SaslOauthbearerSubClaimName),
		ScopeClaimName:   listenerValue(b.static, brokerCfg, listener, config.SaslOauthbearerScopeClaimName),
		Logger:           b.logger.With("listener", listener),
	})
	if err != nil {
		return nil, fmt.Errorf("listener %s: %w", listener, err)
	}
	return v, nil
}
