package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// securityOptions is how client commands reach a secured listener: a Kafka client properties
// file (--command-config, as kafka-topics.sh and the other Kafka tools take it) with
// security.protocol, ssl.* and sasl.* settings.
type securityOptions struct {
	commandConfig string
}

func (s *securityOptions) register(f *pflag.FlagSet) {
	f.StringVar(&s.commandConfig, "command-config", os.Getenv("SLUICE_COMMAND_CONFIG"),
		"Kafka client properties file for secured listeners: security.protocol, ssl.truststore.location, ssl.keystore.location, sasl.mechanism, sasl.jaas.config … (env SLUICE_COMMAND_CONFIG)")
}

// opts are the client options the properties file asks for (none without one).
func (s *securityOptions) opts() ([]kgo.Opt, error) {
	if s.commandConfig == "" {
		return nil, nil
	}
	props, err := readClientProperties(s.commandConfig)
	if err != nil {
		return nil, fmt.Errorf("--command-config: %w", err)
	}
	opts, err := clientSecurityOpts(props)
	if err != nil {
		return nil, fmt.Errorf("--command-config %s: %w", s.commandConfig, err)
	}
	return opts, nil
}

// readClientProperties reads a Java properties file: key=value or key: value lines, # and !
// comments, backslash line continuations.
func readClientProperties(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	props := make(map[string]string)
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + strings.TrimSpace(lines[i])
		}
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if c := strings.IndexByte(line, ':'); c >= 0 && (!ok || c < len(k)) {
			k, v, ok = line[:c], line[c+1:], true
		}
		if !ok {
			return nil, fmt.Errorf("%s:%d: want key=value, got %q", path, i+1, line)
		}
		props[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return props, nil
}

// clientSecurityOpts turns Kafka client properties into franz-go options. Certificates and
// keys are PEM files (ssl.truststore.type / ssl.keystore.type PEM, KIP-651); the SASL
// credentials come from sasl.jaas.config's username and password options (PLAIN and SCRAM) or,
// for OAUTHBEARER, from the token in sluice.sasl.oauthbearer.token.file.
func clientSecurityOpts(props map[string]string) ([]kgo.Opt, error) {
	known := map[string]bool{
		"security.protocol": true, "ssl.truststore.location": true, "ssl.truststore.type": true,
		"ssl.keystore.location": true, "ssl.keystore.type": true, "ssl.endpoint.identification.algorithm": true,
		"sasl.mechanism": true, "sasl.jaas.config": true, "sluice.sasl.oauthbearer.token.file": true,
	}
	for k := range props {
		if !known[k] {
			return nil, fmt.Errorf("unsupported client property %q", k)
		}
	}
	protocol := strings.ToUpper(props["security.protocol"])
	if protocol == "" {
		protocol = "PLAINTEXT"
	}
	var useTLS, useSASL bool
	switch protocol {
	case "PLAINTEXT":
	case "SSL":
		useTLS = true
	case "SASL_PLAINTEXT":
		useSASL = true
	case "SASL_SSL":
		useTLS, useSASL = true, true
	default:
		return nil, fmt.Errorf("security.protocol %q: use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", props["security.protocol"])
	}
	var opts []kgo.Opt
	if useTLS {
		cfg, err := clientTLSConfig(props)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if useSASL {
		mech, err := clientSASL(props)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(mech))
	}
	return opts, nil
}

func clientTLSConfig(props map[string]string) (*tls.Config, error) {
	for _, k := range []string{"ssl.truststore.type", "ssl.keystore.type"} {
		if t := props[k]; t != "" && !strings.EqualFold(t, "PEM") {
			return nil, fmt.Errorf("%s %q: the command-line client reads PEM files only", k, t)
		}
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if path := props["ssl.truststore.location"]; path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("ssl.truststore.location: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("ssl.truststore.location %s: no PEM certificate in it", path)
		}
		cfg.RootCAs = pool
	}
	if path := props["ssl.keystore.location"]; path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("ssl.keystore.location: %w", err)
		}
		cert, err := tls.X509KeyPair(data, data) // the key and its chain in one PEM file
		if err != nil {
			return nil, fmt.Errorf("ssl.keystore.location %s: %w", path, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if alg, ok := props["ssl.endpoint.identification.algorithm"]; ok && alg == "" {
		// Kafka's way to turn host name verification off: the chain is still verified.
		cfg.InsecureSkipVerify = true
		cfg.VerifyPeerCertificate = verifyChainOnly(cfg)
	}
	return cfg, nil
}

// verifyChainOnly verifies the server's chain against the configured roots (or the system's)
// without checking the host name.
func verifyChainOnly(cfg *tls.Config) func(raw [][]byte, _ [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("tls: the server sent no certificate")
		}
		certs := make([]*x509.Certificate, len(raw))
		for i, b := range raw {
			c, err := x509.ParseCertificate(b)
			if err != nil {
				return err
			}
			certs[i] = c
		}
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		_, err := certs[0].Verify(x509.VerifyOptions{Roots: cfg.RootCAs, Intermediates: inter})
		return err
	}
}

var jaasOption = regexp.MustCompile(`(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"`)

// jaasOptions are the quoted options of a sasl.jaas.config value.
func jaasOptions(jaas string) map[string]string {
	out := make(map[string]string)
	for _, m := range jaasOption.FindAllStringSubmatch(jaas, -1) {
		out[m[1]] = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(m[2])
	}
	return out
}

func clientSASL(props map[string]string) (sasl.Mechanism, error) {
	mech := strings.ToUpper(props["sasl.mechanism"])
	if mech == "" {
		return nil, errors.New("sasl.mechanism is not set (Kafka's default, GSSAPI, is not offered): use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER")
	}
	jaas := jaasOptions(props["sasl.jaas.config"])
	user, pass := jaas["username"], jaas["password"]
	needUser := func() error {
		if user == "" {
			return fmt.Errorf("sasl.mechanism %s needs sasl.jaas.config with username=\"…\" password=\"…\"", mech)
		}
		return nil
	}
	switch mech {
	case "PLAIN":
		if err := needUser(); err != nil {
			return nil, err
		}
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		if err := needUser(); err != nil {
			return nil, err
		}
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		if err := needUser(); err != nil {
			return nil, err
		}
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	case "OAUTHBEARER":
		path := props["sluice.sasl.oauthbearer.token.file"]
		if path == "" {
			return nil, errors.New("sasl.mechanism OAUTHBEARER needs sluice.sasl.oauthbearer.token.file (a file holding the JWT)")
		}
		return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
			data, err := os.ReadFile(path)
			if err != nil {
				return oauth.Auth{}, err
			}
			return oauth.Auth{Token: strings.TrimSpace(string(data))}, nil
		}), nil
	}
	return nil, fmt.Errorf("sasl.mechanism %q: use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER", props["sasl.mechanism"])
}
