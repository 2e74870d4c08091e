package tlsconf

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/internal/config"
)

// Settings are one listener's (or the inter-broker client's) ssl.* configs.
type Settings struct {
	KeystoreType, KeystoreLocation, KeystorePassword, KeyPassword string
	KeystoreKey, KeystoreCertificateChain                         string // inline PEM
	TruststoreType, TruststoreLocation, TruststorePassword        string
	TruststoreCertificates                                        string // inline PEM
	ClientAuth                                                    string // none, requested, required
	EnabledProtocols                                              []string
	Protocol                                                      string
	CipherSuites                                                  []string
	EndpointIdentificationAlgorithm                               string
	PrincipalMappingRules                                         string
}

// source reads ssl.* configs for one listener: listener.name.<listener>.<name> from the
// static configs if present, else the broker-wide value.
type source struct {
	r        *config.Resolved
	static   map[string]string
	listener string
}

func (s source) String(name config.Name) string {
	if v, ok := s.override(name); ok {
		return v
	}
	return s.r.String(name)
}

func (s source) List(name config.Name) []string {
	if v, ok := s.override(name); ok {
		var out []string
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
		return out
	}
	return s.r.List(name)
}

func (s source) override(name config.Name) (string, bool) {
	if s.listener == "" {
		return "", false
	}
	v, ok := s.static[config.ListenerOverride(s.listener, name)]
	return v, ok
}

// FromConfig reads the ssl.* configs of listener (its listener.name.<listener>.ssl.*
// overrides win over the broker-wide values); static is the broker's static configs in
// canonical form. An empty listener reads the broker-wide values alone.
func FromConfig(r *config.Resolved, static map[string]string, listener string) Settings {
	s := source{r: r, static: static, listener: listener}
	return Settings{
		KeystoreType:                    s.String(config.SslKeystoreType),
		KeystoreLocation:                s.String(config.SslKeystoreLocation),
		KeystorePassword:                s.String(config.SslKeystorePassword),
		KeyPassword:                     s.String(config.SslKeyPassword),
		KeystoreKey:                     s.String(config.SslKeystoreKey),
		KeystoreCertificateChain:        s.String(config.SslKeystoreCertificateChain),
		TruststoreType:                  s.String(config.SslTruststoreType),
		TruststoreLocation:              s.String(config.SslTruststoreLocation),
		TruststorePassword:              s.String(config.SslTruststorePassword),
		TruststoreCertificates:          s.String(config.SslTruststoreCertificates),
		ClientAuth:                      s.String(config.SslClientAuth),
		EnabledProtocols:                s.List(config.SslEnabledProtocols),
		Protocol:                        s.String(config.SslProtocol),
		CipherSuites:                    s.List(config.SslCipherSuites),
		EndpointIdentificationAlgorithm: s.String(config.SslEndpointIdentificationAlgorithm),
		PrincipalMappingRules:           s.String(config.SslPrincipalMappingRules),
	}
}

var protocolVersions = map[string]uint16{
	"TLSv1": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11, "TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13,
}

// versions is the [min, max] TLS version range of ssl.enabled.protocols, capped by
// ssl.protocol.
func (s *Settings) versions() (uint16, uint16, error) {
	var lo, hi uint16
	for _, p := range s.EnabledProtocols {
		v, ok := protocolVersions[p]
		if !ok {
			return 0, 0, fmt.Errorf("%s: unknown protocol %q (want TLSv1.2, TLSv1.3, …)", config.SslEnabledProtocols, p)
		}
		if lo == 0 || v < lo {
			lo = v
		}
		hi = max(hi, v)
	}
	if lo == 0 {
		lo, hi = tls.VersionTLS12, tls.VersionTLS13
	}
	if p := s.Protocol; p != "" && p != "TLS" {
		v, ok := protocolVersions[p]
		if !ok {
			return 0, 0, fmt.Errorf("%s: unknown protocol %q", config.SslProtocol, p)
		}
		hi = min(hi, v)
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("%s %s enables no version of %s=%s", config.SslEnabledProtocols, strings.Join(s.EnabledProtocols, ","), config.SslProtocol, s.Protocol)
	}
	return lo, hi, nil
}

// cipherSuites maps ssl.cipher.suites' IANA names to Go's ids; nil (Go's defaults) when empty.
func (s *Settings) cipherSuites() ([]uint16, error) {
	if len(s.CipherSuites) == 0 {
		return nil, nil
	}
	known := make(map[string]uint16)
	for _, c := range tls.CipherSuites() {
		known[c.Name] = c.ID
	}
	for _, c := range tls.InsecureCipherSuites() {
		known[c.Name] = c.ID
	}
	out := make([]uint16, 0, len(s.CipherSuites))
	for _, name := range s.CipherSuites {
		id, ok := known[strings.TrimSpace(name)]
		if !ok {
			return nil, fmt.Errorf("%s: unknown cipher suite %q (IANA names such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)", config.SslCipherSuites, name)
		}
		out = append(out, id)
	}
	return out, nil
}

func (s *Settings) clientAuth() (tls.ClientAuthType, error) {
	switch s.ClientAuth {
	case "", "none":
		return tls.NoClientCert, nil
	case "requested":
		return tls.VerifyClientCertIfGiven, nil
	case "required":
		return tls.RequireAndVerifyClientCert, nil
	}
	return 0, fmt.Errorf("%s: %q is not none, requested or required", config.SslClientAuth, s.ClientAuth)
}
