package config

// The HTTP listener's security configs (Sluice's own; rows in brokerTable). The HTTP listener
// takes its TLS material from the ssl.* configs, overridden per listener as
// listener.name.http.ssl.*, and its users from the SASL configs resolved for the listener
// named HTTP (listener.name.http.plain.sasl.jaas.config, sluice.sasl.plain.users.file,
// sasl.oauthbearer.*), plus the SCRAM users of the cluster.
const (
	SluiceHTTPSSLEnabled            Name = "sluice.http.ssl.enabled"
	SluiceHTTPAuthenticationMethods Name = "sluice.http.authentication.methods"
	SluiceHTTPMetricsAuthentication Name = "sluice.http.metrics.authentication"
	HTTPListenerName                     = "HTTP"
)
