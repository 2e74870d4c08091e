package config

import "strings"

// SASL configs (Kafka's names; their rows are in brokerTable). Each may also be set per
// listener as listener.name.<listener>.<name>; sasl.jaas.config as
// listener.name.<listener>.<mechanism>.sasl.jaas.config, as Kafka's brokers read it.
const (
	SaslEnabledMechanisms                Name = "sasl.enabled.mechanisms"
	SaslMechanismInterBrokerProtocol     Name = "sasl.mechanism.inter.broker.protocol"
	SaslMechanismControllerProtocol      Name = "sasl.mechanism.controller.protocol"
	SaslJaasConfig                       Name = "sasl.jaas.config"
	SaslServerMaxReceiveSize             Name = "sasl.server.max.receive.size"
	ConnectionsMaxReauthMs               Name = "connections.max.reauth.ms"
	SaslOauthbearerJwksEndpointURL       Name = "sasl.oauthbearer.jwks.endpoint.url"
	SaslOauthbearerJwksEndpointRefreshMs Name = "sasl.oauthbearer.jwks.endpoint.refresh.ms"
	SaslOauthbearerClockSkewSeconds      Name = "sasl.oauthbearer.clock.skew.seconds"
	SaslOauthbearerExpectedIssuer        Name = "sasl.oauthbearer.expected.issuer"
	SaslOauthbearerExpectedAudience      Name = "sasl.oauthbearer.expected.audience"
	SaslOauthbearerSubClaimName          Name = "sasl.oauthbearer.sub.claim.name"
	SaslOauthbearerScopeClaimName        Name = "sasl.oauthbearer.scope.claim.name"
	SluiceSaslPlainUsersFile             Name = "sluice.sasl.plain.users.file"
)

// saslMechanismPrefixes are the lower-case mechanism names Kafka accepts between a listener
// and sasl.jaas.config (listener.name.sasl_plaintext.plain.sasl.jaas.config).
var saslMechanismPrefixes = []string{"plain.", "scram-sha-256.", "scram-sha-512.", "oauthbearer."}

// stripMechanismPrefix turns "plain.sasl.jaas.config" into "sasl.jaas.config".
func stripMechanismPrefix(config string) string {
	for _, p := range saslMechanismPrefixes {
		if rest, ok := strings.CutPrefix(config, p); ok && strings.HasPrefix(rest, "sasl.") {
			return rest
		}
	}
	return config
}

// ListenerMechanismOverride is the key of a mechanism's per-listener sasl.jaas.config
// (listener.name.<listener>.<mechanism>.sasl.jaas.config), with Kafka's lower-case names.
func ListenerMechanismOverride(listener, mechanism string, name Name) string {
	return listenerNamePrefix + strings.ToLower(listener) + "." + strings.ToLower(mechanism) + "." + string(name)
}
